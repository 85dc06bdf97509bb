"""Page mode (default) and keyset cursor mode (`pagination=cursor`) for every list.

Page mode counts exactly while that is cheap (up to P360_EXACT_COUNT_LIMIT rows) and otherwise reports
the planner's estimate with `count_exact: false`; such an estimate is remembered for a while
(P360_COUNT_ESTIMATE_SECONDS) per tenant and query, so that paging through a large result does not count
10,001 rows again on every page (exact counts are never remembered). Cursor mode pages by the list's ordering keys (ties
broken by id), so it is stable under concurrent inserts and as fast deep as on the first page; a cursor
carries its ordering and position, not the page size.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection
from django.db.models import BooleanField, F, Q
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from p360.api.ordering import OrderKey, parse_ordering
from p360.api.params import bounded_int
from p360.api.problems import FieldErrors, Problem

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000  # deeper is what cursor mode is for (an OFFSET that deep is slow anyway)
PAGINATION_PARAMS = ("page", "page_size", "pagination", "cursor")


def _exact_count_limit() -> int:
    return getattr(settings, "P360_EXACT_COUNT_LIMIT", 10_000)


def estimate_count(queryset) -> int:
    """The planner's row estimate for the queryset (cheap, approximate)."""
    return planned_rows(*queryset.order_by().query.sql_with_params())


def planned_rows(sql: str, params) -> int:
    """The planner's row estimate for a SELECT."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def estimate_key(request) -> str:
    """What a list's count depends on: its path, its filters (every parameter but paging and ordering) and the
    caller (lists may scope rows by who asks). The cache's key function adds the tenant's schema."""
    params = sorted((k, v) for k, vs in request.query_params.lists() if k not in _NOT_FILTERS for v in vs)
    user = getattr(request.user, "pk", None)
    raw = f"{request.path}\x00{params!r}\x00{user}"
    return "count-estimate:" + hashlib.sha256(raw.encode()).hexdigest()


_NOT_FILTERS = frozenset({*PAGINATION_PARAMS, "ordering", "facets"})


class QuerySetRows:
    """A filtered queryset as what page mode reads: counted on itself, its page's rows read through `rows_of`
    (a view's page_queryset). A list read otherwise (e.g. in SQL) gives the paginator an object with the same
    three methods (Pagination.paginate_source)."""

    def __init__(self, queryset, rows_of=None):
        self.queryset = queryset
        self.rows_of = rows_of or (lambda queryset: queryset)

    def bounded_count(self, limit: int) -> int:
        """The number of rows, or `limit` when there are at least that many."""
        return self.queryset.order_by()[:limit].count()

    def estimated_count(self) -> int:
        return estimate_count(self.queryset)

    def rows(self, offset: int, limit: int) -> list:
        return list(self.rows_of(self.queryset)[offset : offset + limit])


def count_with_policy(source, key: str | None = None) -> tuple[int, bool]:
    """(count, exact) of a queryset or page source (QuerySetRows' methods): exact up to the limit, else the
    planner's estimate (never below the limit).

    Counting limit + 1 rows is what costs (2-100 ms on 1M users, the whole of a search request): with a `key`
    (estimate_key), once a list is known to pass the limit its estimate is reused for
    P360_COUNT_ESTIMATE_SECONDS. A result that shrinks below the limit meanwhile still says `count_exact:
    false`, which stays true to the contract."""
    if not hasattr(source, "bounded_count"):
        source = QuerySetRows(source)
    limit = _exact_count_limit()
    timeout = getattr(settings, "P360_COUNT_ESTIMATE_SECONDS", 60)
    key = key if timeout else None
    remembered = cache.get(key) if key else None
    if remembered is not None:
        return remembered, False
    bounded = source.bounded_count(limit + 1)
    if bounded <= limit:
        return bounded, True
    estimate = max(source.estimated_count(), limit + 1)
    if key:
        cache.set(key, estimate, timeout)
    return estimate, False


# --- cursors ---


def _encode_value(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    return value


def encode_cursor(keys: list[OrderKey], values: list, direction: str) -> str:
    payload = {
        "o": [[key.field, key.descending] for key in keys],
        "v": [_encode_value(value) for value in values],
        "d": direction,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid_cursor(message="The cursor is invalid or has expired; start again from the first page."):
    return FieldErrors([("cursor", "invalid_cursor", message)], detail=message)


def decode_cursor(raw: str, keys: list[OrderKey], model) -> tuple[list, str]:
    """Checks that the cursor belongs to this ordering and converts its values back to Python."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        order, values, direction = payload["o"], payload["v"], payload["d"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _invalid_cursor() from None
    if order != [[key.field, key.descending] for key in keys]:
        raise _invalid_cursor("The cursor was made for another ordering; start again from the first page.")
    if direction not in ("n", "p") or not isinstance(values, list) or len(values) != len(keys):
        raise _invalid_cursor()
    converted = []
    for key, value in zip(keys, values, strict=True):
        if value is None:
            if not key.nullable:
                raise _invalid_cursor()
            converted.append(None)
            continue
        field = _model_field(model, key.field)
        if field is None:  # an annotation: P360's are counts, so whole numbers only
            if not isinstance(value, int) or isinstance(value, bool):
                raise _invalid_cursor()
            converted.append(value)
            continue
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise _invalid_cursor()
        try:
            converted.append(field.to_python(value))
        except (ValidationError, TypeError, ValueError):
            raise _invalid_cursor() from None
    return converted, direction


def _model_field(model, path: str):
    field = None
    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        model = getattr(field, "related_model", None) or model
    return field


def _beyond(key: OrderKey, value, backwards: bool) -> Q | None:
    """Rows strictly past `value` on this key, walking forwards or backwards (NULLs sort last)."""
    if not backwards:
        if value is None:
            return None  # nothing sorts after NULL
        q = Q(**{f"{key.field}__{'lt' if key.descending else 'gt'}": value})
        return q | Q(**{f"{key.field}__isnull": True}) if key.nullable else q
    if value is None:
        return Q(**{f"{key.field}__isnull": False})
    return Q(**{f"{key.field}__{'gt' if key.descending else 'lt'}": value})


def _equal(key: OrderKey, value) -> Q:
    return Q(**{f"{key.field}__isnull": True}) if value is None else Q(**{key.field: value})


def _local_column(model, path: str) -> str | None:
    """The column of a concrete field of the model itself (not across a relation), or None."""
    if "__" in path:
        return None
    try:
        field = model._meta.get_field("id" if path == "pk" else path)
    except FieldDoesNotExist:
        return None
    return getattr(field, "column", None) if field.concrete and not field.is_relation else None


def keyset_filter(keys: list[OrderKey], values: list, backwards: bool, model=None):
    """The rows after (or before) the cursor's row.

    Keys all NOT NULL and in one direction: a row comparison `(k1, k2) > (v1, v2)`, which one index
    serves. Otherwise: (k1 past v1) OR (k1 = v1 AND k2 past v2) OR ...
    """
    if all(not key.nullable for key in keys) and len({key.descending for key in keys}) == 1:
        before = keys[0].descending != backwards
        columns = [_local_column(model, key.field) for key in keys] if model is not None else [None]
        if all(columns):
            # the row comparison as SQL: the ORM's Tuple lookup writes the same, at a few times the CPU
            table = connection.ops.quote_name(model._meta.db_table)
            row = ", ".join(f"{table}.{connection.ops.quote_name(column)}" for column in columns)
            placeholders = ", ".join(["%s"] * len(values))
            sql = f"({row}) {'<' if before else '>'} ({placeholders})"
            return RawSQL(sql, tuple(values), output_field=BooleanField())  # noqa: S611 - columns of the model
        lookup = TupleLessThan if before else TupleGreaterThan
        return lookup(Tuple(*(F(key.field) for key in keys)), tuple(values))
    condition = Q(pk__in=[])
    prefix = Q()
    for key, value in zip(keys, values, strict=True):
        beyond = _beyond(key, value, backwards)
        if beyond is not None:
            condition |= prefix & beyond
        prefix &= _equal(key, value)
    return condition


def row_value(row, path: str):
    """The value of an ordering key on a row (`a__b` follows relations; a related object gives its pk).
    Rows read with .values() are dicts keyed by the same paths."""
    if isinstance(row, dict):
        return row[path]
    value = row
    for part in path.split("__"):
        value = getattr(value, part) if value is not None else None
    return value.pk if hasattr(value, "_meta") else value


class Pagination(BasePagination):
    """Pages of a list. A view may define `page_queryset(queryset)`: the queryset that a page's rows are read
    with (e.g. plain rows with what only a page needs), while counts run on the filtered queryset itself; and
    `page_row_value(row, path)` when those rows hold an ordering key otherwise than row_value() reads it.
    A list read without a queryset in page mode goes through paginate_source()."""

    def paginate_queryset(self, queryset, request, view=None):
        self._begin(request, view)
        if self.mode == "cursor":
            return self._paginate_cursor(queryset, request, view)
        return self._paginate_page(QuerySetRows(queryset, self.rows_of))

    def paginate_source(self, source, request, view=None):
        """Page mode over a source with QuerySetRows' methods (a list read without a queryset); the caller
        checked wants_cursor() first."""
        self._begin(request, view)
        if self.mode != "page":
            raise ValueError("paginate_source is for page mode; cursor mode pages a queryset")
        return self._paginate_page(source)

    @staticmethod
    def wants_cursor(request) -> bool:
        """Whether the request asks for cursor mode (an invalid `pagination=` is refused by either paginate)."""
        params = request.query_params
        return params.get("pagination") == "cursor" or bool(params.get("cursor"))

    def _begin(self, request, view):
        self.request = request
        self._url = None
        self.rows_of = getattr(view, "page_queryset", None) or (lambda queryset: queryset)
        self.value_of = getattr(view, "page_row_value", None) or row_value
        params = request.query_params
        self.page_size = bounded_int(params, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        mode = params.get("pagination", "page")
        if mode not in ("page", "cursor"):
            raise FieldErrors(
                [("pagination", "invalid_choice", f"pagination must be 'page' or 'cursor', not {mode!r}.")]
            )
        self.mode = "cursor" if self.wants_cursor(request) else "page"

    # --- page mode ---

    def _paginate_page(self, source):
        params = self.request.query_params
        self.page = bounded_int(params, "page", 1, 1, MAX_PAGE)
        self.count, self.count_exact = count_with_policy(source, estimate_key(self.request))
        self.total_pages = max(1, math.ceil(self.count / self.page_size))
        if self.count_exact and self.page > self.total_pages:
            raise Problem(
                f"Page {self.page} does not exist; the last page is {self.total_pages}.",
                "page_out_of_range",
                status_code=404,
                title="Not found",
            )
        rows = source.rows((self.page - 1) * self.page_size, self.page_size)
        self.has_next = self.page < self.total_pages if self.count_exact else len(rows) == self.page_size
        return rows

    def _page_link(self, number):
        return self._link(page=None if number == 1 else number)

    def _link(self, **replace) -> str:
        """The request's URL with these query parameters replaced (None: removed), as DRF's replace_query_param
        and remove_query_param write it (parameters sorted); the URL is parsed once per request, not per link."""
        if self._url is None:
            scheme, netloc, path, query, fragment = urlsplit(self.request.build_absolute_uri())
            self._url = (scheme, netloc, path, parse_qs(query, keep_blank_values=True), fragment)
        scheme, netloc, path, params, fragment = self._url
        params = dict(params)
        for key, value in replace.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = [str(value)]
        return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))

    # --- cursor mode ---

    def _paginate_cursor(self, queryset, request, view):
        keys = getattr(request, "ordering_keys", None) or parse_ordering(request, view, queryset.model)
        self.keys = keys
        raw = request.query_params.get("cursor")
        backwards = False
        if raw:
            values, direction = decode_cursor(raw, keys, queryset.model)
            backwards = direction == "p"
            queryset = queryset.filter(keyset_filter(keys, values, backwards, queryset.model))
        if backwards:
            queryset = queryset.order_by(*(key.expression(reverse=True) for key in keys))
        else:
            queryset = queryset.order_by(*(key.expression() for key in keys))
        rows = list(self.rows_of(queryset)[: self.page_size + 1])
        has_more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()
            self.next_cursor = self._cursor_at(rows[-1], "n") if rows else None
            self.previous_cursor = self._cursor_at(rows[0], "p") if has_more else None
        else:
            self.next_cursor = self._cursor_at(rows[-1], "n") if has_more else None
            self.previous_cursor = self._cursor_at(rows[0], "p") if (raw and rows) else None
        return rows

    def _cursor_at(self, row, direction):
        return encode_cursor(self.keys, [self.value_of(row, key.field) for key in self.keys], direction)

    def _cursor_link(self, cursor):
        return None if cursor is None else self._link(page=None, pagination="cursor", cursor=cursor)

    # --- responses ---

    def get_paginated_response(self, data):
        if self.mode == "cursor":
            return Response(
                {
                    "next": self._cursor_link(self.next_cursor),
                    "previous": self._cursor_link(self.previous_cursor),
                    "next_cursor": self.next_cursor,
                    "previous_cursor": self.previous_cursor,
                    "results": data,
                }
            )
        return Response(
            {
                "count": self.count,
                "count_exact": self.count_exact,
                "page": self.page,
                "page_size": self.page_size,
                "total_pages": self.total_pages,
                "next": self._page_link(self.page + 1) if self.has_next else None,
                "previous": self._page_link(self.page - 1) if self.page > 1 else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        nullable_uri = {"type": "string", "format": "uri", "nullable": True}
        nullable_str = {"type": "string", "nullable": True}
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": "Page mode: total rows (an estimate when count_exact is false).",
                },
                "count_exact": {"type": "boolean", "description": "Page mode: false when count is an estimate."},
                "page": {"type": "integer", "description": "Page mode."},
                "page_size": {"type": "integer", "description": "Page mode."},
                "total_pages": {"type": "integer", "description": "Page mode."},
                "next": nullable_uri,
                "previous": nullable_uri,
                "next_cursor": {**nullable_str, "description": "Cursor mode: pass as `cursor=` for the next page."},
                "previous_cursor": {
                    **nullable_str,
                    "description": "Cursor mode: pass as `cursor=` for the previous page.",
                },
                "results": schema,
                "facets": {
                    "type": "object",
                    "description": "With `facets=`: counts per value under every other current filter.",
                    "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}},
                },
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "page",
                "required": False,
                "in": "query",
                "schema": {"type": "integer", "minimum": 1},
                "description": "Page number (page mode).",
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
                "description": "Rows per page, both modes.",
            },
            {
                "name": "pagination",
                "required": False,
                "in": "query",
                "schema": {"type": "string", "enum": ["page", "cursor"], "default": "page"},
                "description": "`cursor` for keyset pagination (stable, as fast deep as on page 1).",
            },
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "schema": {"type": "string"},
                "description": "Cursor mode: the `next_cursor` or `previous_cursor` of a previous page.",
            },
        ]
