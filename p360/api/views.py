"""The base of every P360 list: unknown query parameters are a 400 naming them."""

from __future__ import annotations

from p360.api.counts import PAGINATION_PARAMS
from p360.api.problems import FieldErrors
from p360.api.rows import RowSource, queryset_rows

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

    def get_object(self):
        """Single objects by id alone: list filters (and their defaults) never hide one."""
        from django.shortcuts import get_object_or_404

        lookup = self.lookup_url_kwarg or self.lookup_field
        obj = get_object_or_404(self.get_queryset(), **{self.lookup_field: self.kwargs[lookup]})
        self.check_object_permissions(self.request, obj)
        return obj


class FacetsMixin:
    """`facets=status,role` adds counts per value under every current filter except the facet's own.

    A view declares `facet_fields = {"status": ("status", Status.choices)}`: api name -> (field, choices).
    """

    facet_fields: dict = {}

    def serialize_page(self, rows) -> list:
        """Override when a page needs more than the serializer (e.g. one query for every row's path)."""
        return self.get_serializer(rows, many=True).data

    def list(self, request, *args, **kwargs):
        base = self.get_queryset()
        rows = self.paginator.paginate(self.row_source(request, base), request)
        response = self.get_paginated_response(self.serialize_page(rows))
        facets = self.facets(request, base)
        if facets is not None:
            response.data["facets"] = facets
        return response

    def row_source(self, request, base, params=None) -> RowSource:
        """The filtered, ordered list as the paginator and the facets read it; `params`: these query parameters
        instead of the request's (a facet's, its own filter off). Override to read it otherwise (the users
        directory: in SQL)."""
        if params is None:
            return queryset_rows(self.filter_queryset(base), request, self)
        return queryset_rows(self.filterset_class(params, queryset=base, request=request).qs, request, self)

    def allowed_query_params(self) -> set[str]:
        return super().allowed_query_params() | ({"facets"} if self.facet_fields else set())

    def facets(self, request, base_queryset) -> dict | None:
        from p360.api.params import multi_value

        requested = multi_value(request.query_params, "facets")
        if not requested:
            return None
        unknown = [name for name in requested if name not in self.facet_fields]
        if unknown:
            allowed = ", ".join(sorted(self.facet_fields)) or "none"
            raise FieldErrors(
                [("facets", "invalid_choice", f"Unknown facet {name!r}; allowed: {allowed}.") for name in unknown]
            )
        result = {}
        for name in dict.fromkeys(requested):
            field, choices = self.facet_fields[name]
            params = request.query_params.copy()
            params.setlist(name, [",".join(value for value, _label in choices)])  # every value: its own filter is off
            counts = self.row_source(request, base_queryset, params).value_counts(field)
            result[name] = {value: counts.get(value, 0) for value, _label in choices}
        return result
