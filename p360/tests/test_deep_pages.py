"""Deep pages read from anchors (p360.api.rows.page_rows): the same rows as an OFFSET, for every list kind (the
users directory in SQL, the activity log and organizations through the ORM), with a step and an exact-count
limit small enough that a few dozen rows are "deep"; the anchors' scan counts the list, runs once per list and
ordering while remembered, and a warm deep page costs what page 1 costs in queries."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from organizations.services import organization_create
from p360.actors import SYSTEM
from users.models import User, UserRole
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/users",
    "/api/v1/users?ordering=-last_login",
    "/api/v1/users?ordering=last_name,-created_at&status=active,suspended",
    "/api/v1/users?search=example",
    "/api/v1/activity",
    "/api/v1/organizations",
    "/api/v1/organizations?ordering=-member_count",
]


@pytest.fixture
def deep(settings, in_a):
    settings.P360_PAGE_ANCHOR_STEP = 5
    settings.P360_EXACT_COUNT_LIMIT = 8
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(40):
        user = UserFactory(email=f"deep{n:02d}@example.test", last_name=f"L{n % 4}")
        User.objects.filter(pk=user.pk).update(
            created_at=base + timedelta(hours=n // 2),  # ties on the sort key
            last_login=None if n % 3 == 0 else base + timedelta(minutes=n % 7),
            status=("active", "suspended", "invited")[n % 3],
        )
    for n in range(33):
        organization_create(actor=SYSTEM, name=f"Org {n:02d}")
    return settings


def _pages(client, path: str, size: int) -> list[list]:
    sep = "&" if "?" in path else "?"
    pages, number = [], 1
    while True:
        response = client.get(f"{path}{sep}page_size={size}&page={number}")
        assert response.status_code == 200, (path, number, response.content)
        body = response.json()
        pages.append(body["results"])
        if not body["next"]:
            return pages
        number += 1


def test_pages_read_from_anchors_are_the_pages_an_offset_reads(deep, as_role):
    admin = as_role(UserRole.ADMIN)
    for path in LISTS:
        with_anchors = _pages(admin, path, 3)
        deep.P360_PAGE_ANCHOR_SECONDS = 0  # no anchors: every page by OFFSET
        with_offsets = _pages(admin, path, 3)
        deep.P360_PAGE_ANCHOR_SECONDS = 300
        assert len(with_anchors) > 9, path  # pages past several anchors
        assert with_anchors == with_offsets, path
        rows = [row["id"] for page in with_anchors for row in page]
        assert len(rows) == len(set(rows)), path


def test_the_scan_counts_the_list_and_runs_once_per_list_and_ordering(deep, as_role):
    admin = as_role(UserRole.ADMIN)
    exact = User.objects.exclude(status="deactivated").count()
    first = admin.get("/api/v1/users?page_size=3&page=2").json()
    assert first["count_exact"] is False  # past the (test's) exact limit: the estimate
    with CaptureQueriesContext(connection) as scanning:
        deep_page = admin.get("/api/v1/users?page_size=3&page=4").json()
    assert sum("p360_position" in q["sql"] for q in scanning.captured_queries) == 1
    assert deep_page["count"] == exact and deep_page["count_exact"] is False
    assert deep_page["total_pages"] == -(-exact // 3)
    # the last page by that count is the list's real end
    last = admin.get(f"/api/v1/users?page_size=3&page={deep_page['total_pages']}").json()
    assert last["results"] and last["next"] is None
    with CaptureQueriesContext(connection) as warm:
        for page in (5, 7, deep_page["total_pages"]):
            assert admin.get(f"/api/v1/users?page_size=3&page={page}").status_code == 200
    assert not any("p360_position" in q["sql"] for q in warm.captured_queries)
    # another ordering is another list of positions
    with CaptureQueriesContext(connection) as other:
        admin.get("/api/v1/users?page_size=3&page=4&ordering=email")
    assert sum("p360_position" in q["sql"] for q in other.captured_queries) == 1


@pytest.mark.parametrize("path", LISTS)
def test_a_warm_deep_page_runs_as_many_queries_as_page_one(deep, as_role, path, django_assert_max_num_queries):
    admin = as_role(UserRole.ADMIN)
    sep = "&" if "?" in path else "?"
    admin.get(f"{path}{sep}page_size=3&page=2")  # the count's estimate, remembered
    admin.get(f"{path}{sep}page_size=3&page=9")  # the anchors, remembered
    with CaptureQueriesContext(connection) as first:
        assert admin.get(f"{path}{sep}page_size=3&page=2").status_code == 200
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert admin.get(f"{path}{sep}page_size=3&page=10").status_code == 200


def test_a_page_past_the_end_of_an_estimated_list_is_empty_not_an_error(deep, as_role):
    admin = as_role(UserRole.ADMIN)
    body = admin.get("/api/v1/users?page_size=3&page=500").json()
    assert body["results"] == [] and body["next"] is None


def _directory_source():
    from p360.api.ordering import OrderKey
    from users.selectors import DirectoryRows

    return DirectoryRows({}, True, [OrderKey("created_at", True, False), OrderKey("id", True, False)])


def test_one_scan_at_a_time_per_list_the_others_wait_or_read_by_offset(deep, monkeypatch):
    """While a scan runs (its lock is taken), another request for that list waits for its anchors instead of
    scanning too; when none arrive in time, it reads its page by OFFSET (the same rows)."""
    from django.core.cache import cache

    from p360.api import rows as rows_module

    source = _directory_source()
    expected = source.rows(17, 3)
    key = rows_module.anchors_key("count-estimate:x", source.keys)
    monkeypatch.setattr(rows_module, "_SCAN_WAIT_SECONDS", 0.2)
    cache.set(key + ":scanning", 1)
    with CaptureQueriesContext(connection) as waiting:
        assert rows_module.page_rows(source, 17, 3, "count-estimate:x") == (expected, None)
    assert not any("p360_position" in q["sql"] for q in waiting.captured_queries)
    assert cache.get(key) is None
    # the scan lands while the request waits: it uses those anchors
    anchors = rows_module.scan_anchors(source, 5)
    real_sleep = rows_module.time.sleep

    def land(seconds):
        cache.set(key, anchors)
        real_sleep(seconds)

    monkeypatch.setattr(rows_module.time, "sleep", land)
    rows, total = rows_module.page_rows(source, 17, 3, "count-estimate:x")
    assert (rows, total) == (expected, anchors[0])
    # a finished scan releases the lock
    cache.delete(key)
    cache.delete(key + ":scanning")
    monkeypatch.setattr(rows_module.time, "sleep", real_sleep)
    assert rows_module.page_rows(source, 17, 3, "count-estimate:x") == (expected, anchors[0])
    assert cache.get(key + ":scanning") is None and cache.get(key) == anchors


def test_anchors_are_every_steps_row_and_the_count(deep):
    from p360.api import rows as rows_module

    source = _directory_source()
    everyone = source.rows(0, 1000)
    total, values = rows_module.scan_anchors(source, 5)
    assert total == len(everyone)
    from p360.api.cursors import decode_cursor

    decoded = [decode_cursor(value, source.keys, User)[0] for value in values]
    assert decoded == [source.key_values(everyone[i]) for i in range(4, len(everyone), 5)]
