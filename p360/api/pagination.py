"""The paginator of every list: page mode (default) and keyset cursor mode (`pagination=cursor`).

A view hands it a row source (p360.api.rows): a list's filters, ordering and reads. Page mode counts by the count
policy (p360.api.counts) and reads deep pages from anchors; cursor mode pages by the list's ordering keys (ties
broken by id), so it is stable under concurrent inserts and as fast deep as on the first page. A cursor
(p360.api.cursors) carries its ordering and position, not the page size.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from p360.api.counts import PAGINATION_PARAMS, count_with_policy, estimate_key
from p360.api.cursors import decode_cursor, encode_cursor
from p360.api.params import bounded_int
from p360.api.problems import FieldErrors, Problem
from p360.api.rows import RowSource, page_rows, queryset_rows

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE", "MAX_PAGE_SIZE", "PAGINATION_PARAMS", "Pagination"]

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000  # deeper is what cursor mode is for


class Pagination(BasePagination):
    """Pages of a row source (paginate), or of a queryset as it stands (paginate_queryset: DRF's generic
    views), ordered by the keys OrderingFilter parsed."""

    def paginate_queryset(self, queryset, request, view=None):
        return self.paginate(queryset_rows(queryset, request, view), request)

    def paginate(self, source: RowSource, request) -> list:
        self.request = request
        self._url = None
        params = request.query_params
        self.page_size = bounded_int(params, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        mode = params.get("pagination", "page")
        if mode not in ("page", "cursor"):
            raise FieldErrors(
                [("pagination", "invalid_choice", f"pagination must be 'page' or 'cursor', not {mode!r}.")]
            )
        self.mode = "cursor" if self.wants_cursor(request) else "page"
        if self.mode == "cursor":
            return self._paginate_cursor(source)
        return self._paginate_page(source)

    @staticmethod
    def wants_cursor(request) -> bool:
        """Whether the request asks for cursor mode (an invalid `pagination=` is refused by paginate)."""
        params = request.query_params
        return params.get("pagination") == "cursor" or bool(params.get("cursor"))

    # --- page mode ---

    def _paginate_page(self, source):
        params = self.request.query_params
        self.page = bounded_int(params, "page", 1, 1, MAX_PAGE)
        key = estimate_key(self.request)
        self.count, self.count_exact = count_with_policy(source, key)
        last = max(1, math.ceil(self.count / self.page_size))
        if self.count_exact and self.page > last:
            raise Problem(
                f"Page {self.page} does not exist; the last page is {last}.",
                "page_out_of_range",
                status_code=404,
                title="Not found",
            )
        offset = (self.page - 1) * self.page_size
        # an estimated count cannot tell where the list ends: one row more than the page does
        extra = 0 if self.count_exact else 1
        rows, scanned = page_rows(source, offset, self.page_size + extra, None if self.count_exact else key)
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if scanned is not None:  # the deep pages' scan counted the list: report that rather than the estimate
            self.count = scanned
        if not self.count_exact:
            self.count = max(self.count, offset + len(rows) + more)
        self.total_pages = max(1, math.ceil(self.count / self.page_size))
        self.has_next = self.page < self.total_pages if self.count_exact else more
        return rows

    # --- cursor mode ---

    def _paginate_cursor(self, source):
        self.keys = source.keys
        raw = self.request.query_params.get("cursor")
        values, backwards = None, False
        if raw:
            values, direction = decode_cursor(raw, self.keys, source.model)
            backwards = direction == "p"
        rows = source.after(values, backwards, self.page_size + 1)
        has_more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()
            self.next_cursor = self._cursor_at(source, rows[-1], "n") if rows else None
            self.previous_cursor = self._cursor_at(source, rows[0], "p") if has_more else None
        else:
            self.next_cursor = self._cursor_at(source, rows[-1], "n") if has_more else None
            self.previous_cursor = self._cursor_at(source, rows[0], "p") if (raw and rows) else None
        return rows

    def _cursor_at(self, source, row, direction):
        return encode_cursor(self.keys, source.key_values(row), direction)

    def _cursor_link(self, cursor):
        return None if cursor is None else self._link(page=None, pagination="cursor", cursor=cursor)

    # --- links ---

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
