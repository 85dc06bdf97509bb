"""The admin's changelists on the API's list policies, for lists of a million rows.

- Counts: the API's count policy (exact up to P360_EXACT_COUNT_LIMIT rows, else the planner's estimate,
  remembered per tenant, list, filters and staff member), never a count(*) of every row per page load.
- Deep pages (`?p=`): read from the list's anchors (p360.api.rows.page_rows) once past the exact count, not
  with an OFFSET over every row before the page.
- Date drill-down: the years, months or days that have rows, each found by one index probe (EXISTS over the
  period), in one statement, instead of a DISTINCT over every row.
- Facet counts are off (each would be a count of the whole list per filter value).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connections, router
from django.db.models import Max, Min, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from p360.api.counts import count_with_policy, list_key
from p360.api.ordering import OrderKey, is_nullable
from p360.api.rows import QuerySetRows, page_rows

_NOT_FILTERS = frozenset({"p", "o", "e", "_changelist_filters", "_to_field", "_popup"})
MAX_PERIODS = 400  # more periods than that (centuries of years): Django's own DISTINCT


def admin_count_key(request) -> str:
    params = [(k, v) for k, vs in request.GET.lists() if k not in _NOT_FILTERS for v in vs]
    return list_key("admin-count", request.path, params, getattr(request.user, "pk", None))


def order_keys(queryset) -> list[OrderKey] | None:
    """The queryset's ordering as ordering keys, when it is plain fields (`-created_at`, `pk`), else None.

    The keys run in the first key's direction, ties broken by the primary key in that direction too (as the API's
    lists are ordered), so that one index serves the sort and a position past a row is one range: the terms that
    the changelist appends after a sorted column (the default ordering, then `-pk`) would mix directions, and
    only ever order rows equal on the column."""
    keys = []
    for term in queryset.query.order_by:
        if not isinstance(term, str) or "__" in term or term.startswith("?"):
            return None
        descending = term.startswith("-")
        name = "id" if term.lstrip("-") == "pk" else term.lstrip("-")
        if keys and (name == "id" or descending != keys[0].descending):
            break
        keys.append(OrderKey(name, descending, is_nullable(queryset.model, name)))
    if keys and keys[-1].field != "id":
        keys.append(OrderKey("id", keys[0].descending, False))
    return keys or None


class ListPaginator(Paginator):
    """Django's paginator with the count policy and deep pages read from anchors."""

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, count_key=None):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.count_key = count_key
        self.count_exact = True

    @cached_property
    def count(self) -> int:
        count, self.count_exact = count_with_policy(self.object_list, self.count_key)
        # an estimate is never one page or less: the changelist would read the whole list as its only page
        return count if self.count_exact else max(count, self.per_page + 1)

    def validate_number(self, number):
        """An estimated count does not know the last page: any page is asked for, and one past the end is empty."""
        self.count  # noqa: B018 - counted first: whether it is exact decides the check
        if self.count_exact:
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number):
        number = self.validate_number(number)
        keys = order_keys(self.object_list)
        if self.count_exact or keys is None:
            return super().page(number)
        offset = (number - 1) * self.per_page
        rows, _total = page_rows(QuerySetRows(self.object_list, keys), offset, self.per_page, self.count_key)
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        return self._get_page(rows, number, self)


class ProbedDatesMixin:
    """`.datetimes(field, "year" | "month" | "day")` (the date hierarchy's) by probing each period between the
    first and last value (two index ends) for a row: one EXISTS per period, in one statement."""

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        if kind not in ("year", "month", "day") or order != "ASC" or self.query.is_sliced:
            return super().datetimes(field_name, kind, order, tzinfo)
        tz = tzinfo or timezone.get_current_timezone()
        bounds = self.order_by().aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        starts = _periods(timezone.localtime(bounds["first"], tz), timezone.localtime(bounds["last"], tz), kind, tz)
        if len(starts) > MAX_PERIODS:
            return super().datetimes(field_name, kind, order, tzinfo)
        probes, params = [], []
        for start, end in zip(starts, [*starts[1:], _next(starts[-1], kind, tz)], strict=True):
            period = self.order_by().filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
            sql, period_params = period.values("pk")[:1].query.sql_with_params()
            probes.append(f"EXISTS ({sql})")
            params += period_params
        connection = connections[router.db_for_read(self.model)]
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(probes), params)
            present = cursor.fetchone()
        return [start for start, found in zip(starts, present, strict=True) if found]


def _start(value: dt.datetime, kind: str, tz) -> dt.datetime:
    fields = {
        "year": (value.year, 1, 1),
        "month": (value.year, value.month, 1),
        "day": (value.year, value.month, value.day),
    }
    return timezone.make_aware(dt.datetime(*fields[kind]), tz)


def _next(start: dt.datetime, kind: str, tz) -> dt.datetime:
    if kind == "year":
        return timezone.make_aware(dt.datetime(start.year + 1, 1, 1), tz)
    if kind == "month":
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        return timezone.make_aware(dt.datetime(year, month, 1), tz)
    following = dt.date(start.year, start.month, start.day) + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime(following.year, following.month, following.day), tz)


def _periods(first: dt.datetime, last: dt.datetime, kind: str, tz) -> list[dt.datetime]:
    starts = [_start(first, kind, tz)]
    while len(starts) <= MAX_PERIODS:
        following = _next(starts[-1], kind, tz)
        if following > last:
            break
        starts.append(following)
    return starts


_PROBED: dict[type, type] = {}


def with_probed_dates(queryset: QuerySet) -> QuerySet:
    cls = type(queryset)
    if issubclass(cls, ProbedDatesMixin):
        return queryset
    probed = _PROBED.get(cls) or _PROBED.setdefault(cls, type(f"Probed{cls.__name__}", (ProbedDatesMixin, cls), {}))
    clone = queryset._chain()
    clone.__class__ = probed
    return clone


class LargeListAdmin(admin.ModelAdmin):
    """A ModelAdmin whose changelist holds at a million rows (see the module's docstring)."""

    paginator = ListPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, count_key=admin_count_key(request))

    def get_queryset(self, request):
        return with_probed_dates(super().get_queryset(request))
