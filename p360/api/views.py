"""The base of every P360 list: unknown query parameters are a 400 naming them."""

from __future__ import annotations

from p360.api.pagination import PAGINATION_PARAMS
from p360.api.problems import FieldErrors

COMMON_LIST_PARAMS = frozenset({*PAGINATION_PARAMS, "ordering", "search"})


class StrictQueryParamsMixin:
    """Checks `request.query_params` against the filterset's filters and the common list parameters."""

    extra_query_params: frozenset[str] = frozenset()

    def allowed_query_params(self) -> set[str]:
        filterset_class = getattr(self, "filterset_class", None)
        filters = set(filterset_class.base_filters) if filterset_class else set()
        return set(COMMON_LIST_PARAMS) | filters | set(self.extra_query_params)

    def check_query_params(self, request) -> None:
        unknown = sorted(set(request.query_params) - self.allowed_query_params())
        if unknown:
            raise FieldErrors(
                [(name, "unknown_parameter", f"Unknown query parameter {name!r}.") for name in unknown],
                detail=f"Unknown query parameter(s): {', '.join(unknown)}.",
            )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "GET":
            self.check_query_params(request)
