"""`ordering=` for every list: the view's allowed fields, comma-separated or repeated, ties broken by id.

A view declares `ordering_fields = {"api_name": "model_field", ...}` and `default_ordering = "-created_at"`.
The parsed ordering is kept on the request for the cursor paginator, which pages by the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F
from rest_framework.filters import BaseFilterBackend

from p360.api.params import multi_value
from p360.api.problems import FieldErrors


@dataclass(frozen=True)
class OrderKey:
    field: str  # model field path
    descending: bool
    nullable: bool

    def expression(self, reverse: bool = False):
        """Nullable keys sort NULLs last in the list's direction (first when walking it backwards)."""
        descending = self.descending != reverse
        expr = F(self.field)
        if not self.nullable:
            return expr.desc() if descending else expr.asc()
        nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
        return expr.desc(**nulls) if descending else expr.asc(**nulls)


def is_nullable(model, path: str) -> bool:
    """Whether a sort key can be NULL; annotations (counts) are declared NOT NULL by the views that add them."""
    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if field.null:
            return True
        model = getattr(field, "related_model", None) or model
    return False


def parse_ordering(request, view, model) -> list[OrderKey]:
    allowed: dict[str, str] = getattr(view, "ordering_fields", {}) or {}
    raw = multi_value(request.query_params, "ordering") or [
        part for part in getattr(view, "default_ordering", "-created_at").split(",") if part
    ]
    keys: list[OrderKey] = []
    seen = set()
    for term in raw:
        descending = term.startswith("-")
        name = term[1:] if descending else term  # one `-` at most: `--email` is no field's name
        if name not in allowed:
            choices = ", ".join(sorted(allowed)) or "none"
            raise FieldErrors(
                [
                    (
                        "ordering",
                        "invalid_choice",
                        f"Unknown ordering term {term!r}; allowed: {choices}, each with or without a leading '-'.",
                    )
                ],
                detail=f"Unknown ordering term {term!r}.",
            )
        if name in seen:
            continue
        seen.add(name)
        path = allowed[name]
        keys.append(OrderKey(path, descending, is_nullable(model, path)))
    if not any(key.field in ("id", "pk") for key in keys):
        # The tie-breaker follows the first key's direction so that a single index can serve the sort.
        keys.append(OrderKey("id", keys[0].descending if keys else False, False))
    return keys


class OrderingFilter(BaseFilterBackend):
    """Applies `ordering=`; unknown fields are a 400 naming them."""

    def filter_queryset(self, request, queryset, view):
        keys = parse_ordering(request, view, queryset.model)
        request.ordering_keys = keys
        return queryset.order_by(*(key.expression() for key in keys))

    def get_schema_operation_parameters(self, view):
        allowed = sorted(getattr(view, "ordering_fields", {}) or {})
        choices = allowed + ["-" + name for name in allowed]
        return [
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "description": "Sort keys, comma-separated or repeated; `-` for descending. Ties are broken by id.",
                "schema": {"type": "array", "items": {"type": "string", "enum": choices}},
                "style": "form",
                "explode": True,
            }
        ]
