"""Row sources: what a list is to the paginator, whichever way it is read.

A row source (RowSource) holds a list's filters and ordering and answers what page mode, cursor mode and deep
pages ask of it: a bounded count and the planner's estimate (the count policy, p360.api.counts), the rows at an
offset, the rows past a position (a cursor's, or a deep page's anchor), a row's ordering-key values (its
position), the SQL of every row's keys in order (for anchors) and of chosen columns (for exports), and the
counts per value of a field (facets). QuerySetRows is one for any queryset; the
users directory has one in SQL (users.selectors.DirectoryRows). Views build a source and hand it to the
paginator; nothing calls back into the view.

Deep pages: an OFFSET skips every row before the page (500,000 rows: 120 ms even over a covering index). A page
past the first `P360_PAGE_ANCHOR_STEP` rows of a list too long to count exactly is read from the nearest anchor
before it instead: the position of every step-th row, found by one scan of the list's keys and remembered for
P360_PAGE_ANCHOR_SECONDS per tenant, list, filters, caller and ordering. Such a page then skips fewer than a
step's rows, whatever its depth. Like the count estimate beside it, it reflects the list as it was up to that
long ago: a row inserted before an anchor since shifts deep pages by one. Cursor mode is the exact walk.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from p360.api.counts import estimate_count, remember_estimate
from p360.api.cursors import decode_cursor, encode_cursor
from p360.api.keyset import keyset_filter, row_value
from p360.api.ordering import OrderKey, parse_ordering


class RowSource:
    """The protocol (see the module's docstring). `model` converts cursor values back to Python."""

    model = None
    keys: list[OrderKey]

    def bounded_count(self, limit: int) -> int:
        """The number of rows, or `limit` when there are at least that many."""
        raise NotImplementedError

    def estimated_count(self) -> int:
        raise NotImplementedError

    def rows(self, offset: int, limit: int) -> list:
        """The rows at this offset, in the list's order."""
        raise NotImplementedError

    def after(self, values: list | None, backwards: bool, limit: int, offset: int = 0) -> list:
        """Rows strictly past the position `values` (None: from the start), in walking order (backwards: the
        list's order reversed), skipping `offset` of them."""
        raise NotImplementedError

    def key_values(self, row) -> list:
        """A row's position: its values of the ordering keys."""
        raise NotImplementedError

    def key_scan(self) -> tuple[str, list]:
        """SQL and parameters selecting the ordering keys (in the keys' order) of every row, in the list's order."""
        raise NotImplementedError

    def select_sql(self, columns: list[str]) -> tuple[str, list]:
        """SQL and parameters selecting these columns (the model's own) of every row, unordered: what an export
        formats and sorts (p360.api.exports.copy_csv_sql)."""
        raise NotImplementedError

    def value_counts(self, field: str) -> dict:
        """The number of rows per value of this field (a facet's counts); values without rows are absent."""
        raise NotImplementedError


class QuerySetRows(RowSource):
    """A filtered queryset as a row source; a page's rows are read through `rows_of` (e.g. plain rows with what
    only a page needs) and their key values through `value_of` (row_value: fields, paths, dict keys)."""

    def __init__(self, queryset, keys: list[OrderKey] | None = None, rows_of=None, value_of=None):
        self.queryset = queryset
        self.model = queryset.model
        self.keys = keys or []
        self.rows_of = rows_of or (lambda queryset: queryset)
        self.value_of = value_of or row_value

    def _ordered(self, queryset, reverse: bool = False):
        if not self.keys:
            return queryset
        return queryset.order_by(*(key.expression(reverse=reverse) for key in self.keys))

    def bounded_count(self, limit: int) -> int:
        return self.queryset.order_by()[:limit].count()

    def estimated_count(self) -> int:
        return estimate_count(self.queryset)

    def rows(self, offset: int, limit: int) -> list:
        return list(self.rows_of(self._ordered(self.queryset))[offset : offset + limit])

    def after(self, values, backwards, limit, offset=0):
        queryset = self.queryset
        if values is not None:
            queryset = queryset.filter(keyset_filter(self.keys, values, backwards, self.model))
        return list(self.rows_of(self._ordered(queryset, reverse=backwards))[offset : offset + limit])

    def key_values(self, row) -> list:
        return [self.value_of(row, key.field) for key in self.keys]

    def key_scan(self):
        queryset = self._ordered(self.queryset).values_list(*(key.field for key in self.keys))
        return queryset.query.sql_with_params()

    def select_sql(self, columns):
        sql, params = self.queryset.order_by().prefetch_related(None).values_list(*columns).query.sql_with_params()
        return sql, list(params)

    def value_counts(self, field):
        from django.db.models import Count

        grouped = self.queryset.order_by().prefetch_related(None).values_list(field).annotate(n=Count("pk"))
        return dict(grouped.values_list(field, "n"))


def queryset_rows(queryset, request, view, rows_of=None, value_of=None) -> QuerySetRows:
    """A filtered queryset as a row source, ordered by the keys OrderingFilter parsed (or the view's default)."""
    keys = getattr(request, "ordering_keys", None) or parse_ordering(request, view, queryset.model)
    return QuerySetRows(queryset, keys, rows_of=rows_of, value_of=value_of)


# --- deep pages ---


def anchor_step() -> int:
    return getattr(settings, "P360_PAGE_ANCHOR_STEP", 1_000)


def _anchor_seconds() -> int:
    return getattr(settings, "P360_PAGE_ANCHOR_SECONDS", 300)


def scan_anchors(source: RowSource, step: int) -> tuple[int, list[str]]:
    """(rows in the list, the positions of its step-th, 2*step-th, ... rows), in one scan of its keys. A position
    is kept as a cursor's text: a thousand of them load from the cache in microseconds (as datetimes and UUIDs,
    pickled: milliseconds), and a page decodes only its own."""
    sql, params = source.key_scan()
    width = len(source.keys)
    # row_number() over the ordered subquery numbers its rows in their order; lead() marks the last row, whose
    # number is the count (the window streams: nothing is held but the rows kept)
    wrapped = (
        "SELECT * FROM (SELECT s.*, row_number() OVER () AS p360_position, lead(1) OVER () IS NULL AS p360_last"
        f" FROM ({sql}) s) a WHERE a.p360_position %% %s = 0 OR a.p360_last"
    )
    with connection.cursor() as cursor:
        cursor.execute(wrapped, [*params, step])
        records = cursor.fetchall()
    total = 0
    values = []
    for record in records:
        position, last = record[width], record[width + 1]
        if position % step == 0:
            values.append(encode_cursor(source.keys, list(record[:width]), "n"))
        if last:
            total = position
    return total, values


_SCAN_LOCK_SECONDS = 60
_SCAN_WAIT_SECONDS = 5.0


def _await_scan(key: str):
    """The anchors another request is scanning for (one scan per list at a time, not one per request that
    arrives meanwhile), or None after _SCAN_WAIT_SECONDS or when that scan gave up."""
    deadline = time.monotonic() + _SCAN_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        remembered = cache.get(key)
        if remembered is not None or cache.get(key + ":scanning") is None:
            return remembered
    return None


def anchors_key(count_key: str, keys: list[OrderKey]) -> str:
    ordering = ",".join(f"{'-' if key.descending else ''}{key.field}" for key in keys)
    return "page-anchors:" + hashlib.sha256(f"{count_key}\x00{ordering}".encode()).hexdigest()


def page_rows(source: RowSource, offset: int, limit: int, count_key: str | None) -> tuple[list, int | None]:
    """A page's rows, read from the nearest anchor before it when it lies past the first step's rows; with the
    list's length as the anchors' scan counted it (else None), which the scan also leaves as the list's count
    estimate. `count_key` (estimate_key) names the
    list; without one, or for a list counted exactly, the page is read with an OFFSET."""
    step = anchor_step()
    if count_key is None or offset < step or not _anchor_seconds():
        return source.rows(offset, limit), None
    key = anchors_key(count_key, source.keys)
    remembered = cache.get(key)
    if remembered is None and cache.add(key + ":scanning", 1, _SCAN_LOCK_SECONDS):
        try:
            remembered = scan_anchors(source, step)
            cache.set(key, remembered, _anchor_seconds())
            remember_estimate(count_key, remembered[0])  # the list's count, as the scan found it
        finally:
            cache.delete(key + ":scanning")
    elif remembered is None:
        remembered = _await_scan(key)
        if remembered is None:  # the scan is still running elsewhere: this page by OFFSET
            return source.rows(offset, limit), None
    total, values = remembered
    index = min(offset // step, len(values))
    if index == 0:
        return source.rows(offset, limit), total
    anchor, _direction = decode_cursor(values[index - 1], source.keys, source.model)
    return source.after(anchor, False, limit, offset - index * step), total
