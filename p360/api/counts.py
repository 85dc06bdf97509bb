"""The count policy of every list: exact while that is cheap, else the planner's estimate, remembered a while.

A page counts exactly up to P360_EXACT_COUNT_LIMIT rows and otherwise reports the planner's estimate with
`count_exact: false`; such an estimate is remembered for P360_COUNT_ESTIMATE_SECONDS per tenant, list, filters
and caller (estimate_key), so that paging through a large result does not count 10,001 rows again on every
page. Exact counts are never remembered.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.cache import cache
from django.db import connection

PAGINATION_PARAMS = ("page", "page_size", "pagination", "cursor")
_NOT_FILTERS = frozenset({*PAGINATION_PARAMS, "ordering", "facets"})


def exact_count_limit() -> int:
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
    params = [(k, v) for k, vs in request.query_params.lists() if k not in _NOT_FILTERS for v in vs]
    return list_key("count-estimate", request.path, params, getattr(request.user, "pk", None))


def list_key(prefix: str, path: str, params: list[tuple[str, str]], user) -> str:
    """A cache key for one list: its path, filter parameters (in any order) and caller."""
    raw = f"{path}\x00{sorted(params)!r}\x00{user}"
    return f"{prefix}:" + hashlib.sha256(raw.encode()).hexdigest()


def _estimate_seconds() -> int:
    return getattr(settings, "P360_COUNT_ESTIMATE_SECONDS", 60)


def count_with_policy(source, key: str | None = None) -> tuple[int, bool]:
    """(count, exact) of a row source (p360.api.rows) or a queryset: exact up to the limit, else the planner's
    estimate (never below the limit).

    Counting limit + 1 rows is what costs (2-100 ms on 1M users, the whole of a search request): with a `key`
    (estimate_key), once a list is known to pass the limit its estimate is reused for
    P360_COUNT_ESTIMATE_SECONDS. A result that shrinks below the limit meanwhile still says `count_exact:
    false`, which stays true to the contract."""
    if not hasattr(source, "bounded_count"):
        from p360.api.rows import QuerySetRows

        source = QuerySetRows(source)
    limit = exact_count_limit()
    key = key if _estimate_seconds() else None
    remembered = cache.get(key) if key else None
    if remembered is not None:
        return remembered, False
    bounded = source.bounded_count(limit + 1)
    if bounded <= limit:
        return bounded, True
    estimate = max(source.estimated_count(), limit + 1)
    remember_estimate(key, estimate)
    return estimate, False


def remember_estimate(key: str | None, count: int) -> None:
    """Keeps a count that is past the exact limit for the list of `key` (a deep page's scan knows it exactly)."""
    if key and _estimate_seconds() and count > exact_count_limit():
        cache.set(key, count, _estimate_seconds())
