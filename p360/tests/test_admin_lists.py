"""The admin's changelists at scale (p360.admin_lists): the count policy instead of count(*), deep pages from
anchors (the same rows as Django's OFFSET), the date drill-down by index probes (the same periods as Django's
DISTINCT), filters through the API's selectors, constant query counts, and an action on 1,000 selected rows."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activity.models import ActivityEntry
from organizations.models import Membership
from organizations.services import membership_add, organization_create
from p360.actors import SYSTEM
from p360.admin_lists import order_keys, with_probed_dates
from tenants.tests.test_platform import _admin_client
from users.models import User, UserRole, UserStatus
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

USERS = "/admin/users/user/"
BASE = dt.datetime(2024, 12, 30, 22, 0, tzinfo=dt.UTC)


@pytest.fixture
def people(in_a):
    owner = UserFactory(email="boss@example.test", role=UserRole.OWNER)
    for n in range(60):
        user = UserFactory(email=f"p{n:02d}@example.test", last_name=f"L{n % 5}")
        # across a year's end, months and days, with ties
        User.objects.filter(pk=user.pk).update(
            created_at=BASE + dt.timedelta(hours=7 * (n // 2)), status=("active", "suspended", "invited")[n % 3]
        )
    return owner


def _emails(page) -> list[str]:
    return re.findall(r'class="field-email"><a href="[^"]+">([^<]+)</a>', page.content.decode())


def _all_pages(client, query: str) -> list[str]:
    emails = []
    for number in range(1, 40):
        response = client.get(f"{USERS}?{query}&p={number}")
        if response.status_code == 302:  # past the end: the admin's "?e=1"
            return emails
        assert response.status_code == 200
        found = _emails(response)
        emails += found
        if len(found) < 50:  # the last page (a list of one page is shown whole whatever `p` says)
            return emails
    raise AssertionError(f"no end to {query!r}: {len(emails)} rows, {len(set(emails))} different")


@pytest.mark.parametrize("query", ["", "o=1", "o=-1", "o=6", "status__exact=active", "q=example"])
def test_deep_admin_pages_read_from_anchors_are_djangos_pages(people, settings, query):
    client = _admin_client("alpha.localhost", people.email)
    settings.P360_PAGE_ANCHOR_SECONDS = 0  # Django's pages: OFFSET, exact counts
    settings.P360_EXACT_COUNT_LIMIT = 10_000
    expected = _all_pages(client, query)
    settings.P360_EXACT_COUNT_LIMIT = 8  # estimated: pages past the first step from anchors
    settings.P360_PAGE_ANCHOR_SECONDS = 300
    settings.P360_PAGE_ANCHOR_STEP = 5
    got = _all_pages(client, query)
    assert len(expected) > 50 or query.startswith(("status", "q=")), query
    assert sorted(got) == sorted(expected), query
    assert len(got) == len(set(got)), query


def test_the_changelist_keys_run_in_one_direction_with_the_id_last(people):
    queryset = User.objects.order_by("email", "-created_at", "-pk")
    keys = order_keys(queryset)
    assert [(k.field, k.descending) for k in keys] == [("email", False), ("id", False)]
    assert [(k.field, k.descending) for k in order_keys(User.objects.order_by("-created_at", "-pk"))] == [
        ("created_at", True),
        ("id", True),
    ]
    assert order_keys(User.objects.order_by("memberships__organization__name")) is None


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_the_date_drill_down_probes_find_djangos_periods(people, zone):
    tz = ZoneInfo(zone)
    base = User.objects.all()
    probed = with_probed_dates(base)
    for queryset, plain in ((probed, base), (probed.filter(status="active"), base.filter(status="active"))):
        years = queryset.datetimes("created_at", "year", tzinfo=tz)
        assert years == list(plain.datetimes("created_at", "year", tzinfo=tz)) and len(years) >= 2
        for year in years:
            in_year = {"created_at__year": year.year}
            months = queryset.filter(**in_year).datetimes("created_at", "month", tzinfo=tz)
            assert months == list(plain.filter(**in_year).datetimes("created_at", "month", tzinfo=tz))
            for month in months:
                in_month = {**in_year, "created_at__month": month.month}
                days = queryset.filter(**in_month).datetimes("created_at", "day", tzinfo=tz)
                assert days == list(plain.filter(**in_month).datetimes("created_at", "day", tzinfo=tz)), month
    assert with_probed_dates(User.objects.none()).datetimes("created_at", "year") == []


def test_the_drill_down_costs_the_same_queries_at_every_level(people, django_assert_max_num_queries):
    client = _admin_client("alpha.localhost", people.email)
    for query in ("", "created_at__year=2025", "created_at__year=2025&created_at__month=1",
                  "created_at__year=2025&created_at__month=1&created_at__day=2"):  # fmt: skip
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{USERS}?{query}")
        assert response.status_code == 200, query
        assert not any("DISTINCT" in q["sql"] for q in captured.captured_queries), query
        assert len(captured.captured_queries) <= 14, (query, [q["sql"][:80] for q in captured.captured_queries])


@pytest.mark.parametrize(
    "query", ["", "q=example", "status__exact=active", "p=2", "o=1&p=2", "created_at__year=2025", "organization={org}"]
)
def test_a_users_changelist_runs_as_many_queries_for_130_people_as_for_60(in_a, settings, query):
    settings.P360_EXACT_COUNT_LIMIT = 8
    settings.P360_PAGE_ANCHOR_STEP = 5
    owner = UserFactory(email="boss@example.test", role=UserRole.OWNER)
    org = organization_create(actor=SYSTEM, name="Ops")
    client = _admin_client("alpha.localhost", owner.email)
    counts = []
    for size in (60, 130):
        while User.objects.count() < size:
            membership_add(actor=SYSTEM, org=org, user=UserFactory())
        path = f"{USERS}?{query.format(org=org.pk)}"
        assert client.get(path).status_code == 200  # warm: the count's estimate, anchors
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        counts.append(len(captured.captured_queries))
        assert not any(re.search(r"SELECT COUNT\(\*\) AS .__count. FROM .users_user.\s*$", q["sql"]) for q in captured)
    assert counts[0] == counts[1], (query, counts)


def test_no_count_of_every_row_on_a_large_list(people, settings):
    settings.P360_EXACT_COUNT_LIMIT = 8
    client = _admin_client("alpha.localhost", people.email)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(USERS)
    assert response.status_code == 200
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql for sql in counts), counts  # bounded counts only


def test_the_organization_filter_is_the_apis_members_of(people):
    org = organization_create(actor=SYSTEM, name="Ops")
    members = list(User.objects.exclude(pk=people.pk)[:3])
    for user in members:
        membership_add(actor=SYSTEM, org=org, user=user)
    client = _admin_client("alpha.localhost", people.email)
    shown = _emails(client.get(USERS, {"organization": str(org.pk)}))
    assert sorted(shown) == sorted(user.email for user in members)
    assert "Ops" in client.get(USERS).content.decode()  # among the filter's choices
    response = client.get(USERS, {"organization": "not-an-id"})
    assert response.status_code == 302 and "e=1" in response["Location"]  # the admin's "invalid filter"


def test_an_action_on_1000_selected_people_changes_every_one(in_a):
    owner = UserFactory(email="boss@example.test", role=UserRole.OWNER)
    User.objects.bulk_create(
        [User(email=f"bulk{n:04d}@example.test", first_name="B", last_name=str(n), password="!") for n in range(1000)]
    )
    selected = [str(pk) for pk in User.objects.filter(email__startswith="bulk").values_list("id", flat=True)]
    client = _admin_client("alpha.localhost", owner.email)
    response = client.post(USERS, {"action": "suspend", "_selected_action": selected, "index": "0"}, follow=True)
    assert response.status_code == 200
    assert "1000 user(s) suspended." in [str(m) for m in response.context["messages"]]
    assert User.objects.filter(email__startswith="bulk", status=UserStatus.SUSPENDED).count() == 1000
    assert ActivityEntry.objects.filter(verb="user.suspended").count() == 1000


def test_an_organization_page_shows_its_first_members_and_links_to_all(in_a):
    from organizations.admin import INLINE_MEMBERS

    owner = UserFactory(email="boss@example.test", role=UserRole.OWNER)
    org = organization_create(actor=SYSTEM, name="Big")
    for n in range(INLINE_MEMBERS + 5):
        membership_add(actor=SYSTEM, org=org, user=UserFactory(email=f"m{n:03d}@example.test"))
    client = _admin_client("alpha.localhost", owner.email)
    page = client.get(f"/admin/organizations/organization/{org.pk}/change/").content.decode()
    assert re.search(r'-INITIAL_FORMS" value="(\d+)"', page).group(1) == str(INLINE_MEMBERS)
    first = Membership.objects.filter(organization=org).order_by("user__email")[:INLINE_MEMBERS]
    shown = set(re.findall(r'-id" value="([0-9a-f-]+)"', page))
    assert shown == {str(m.pk) for m in first}
    assert f"{USERS}?organization={org.pk}" in page and f"{INLINE_MEMBERS + 5} — " in page


def test_activity_filters_by_event_and_searches_as_the_api_does(people):
    from django.db import transaction

    from activity.services import activity_record

    client = _admin_client("alpha.localhost", people.email)
    with transaction.atomic():
        activity_record(
            actor=SYSTEM,
            verb="organization.created",
            target_type="organization",
            target_id="x",
            target_repr="Quackers Inc",
        )
    page = client.get("/admin/activity/activityentry/", {"verb": "organization"}).content.decode()
    assert "Quackers Inc" in page
    assert "Quackers Inc" not in client.get("/admin/activity/activityentry/", {"verb": "user"}).content.decode()
    assert "Quackers Inc" in client.get("/admin/activity/activityentry/", {"q": "ACKERS i"}).content.decode()


def test_the_members_inline_changes_memberships_through_the_services(in_a):
    owner = UserFactory(email="boss@example.test", role=UserRole.OWNER)
    org = organization_create(actor=SYSTEM, name="Inline")
    member, newcomer = UserFactory(email="member@example.test"), UserFactory(email="new@example.test")
    membership = membership_add(actor=SYSTEM, org=org, user=member)
    client = _admin_client("alpha.localhost", owner.email)
    page = client.get(f"/admin/organizations/organization/{org.pk}/change/").content.decode()
    prefix = re.search(r'name="([\w-]+)-TOTAL_FORMS"', page).group(1)
    data = {
        "name": org.name, "slug": org.slug, "description": "", "parent": "", "_save": "Save",
        f"{prefix}-TOTAL_FORMS": "2", f"{prefix}-INITIAL_FORMS": "1", f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
        f"{prefix}-0-id": str(membership.pk), f"{prefix}-0-organization": str(org.pk),
        f"{prefix}-0-user": str(member.pk), f"{prefix}-0-role": "admin",
        f"{prefix}-1-organization": str(org.pk), f"{prefix}-1-user": str(newcomer.pk), f"{prefix}-1-role": "member",
    }  # fmt: skip
    response = client.post(f"/admin/organizations/organization/{org.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    roles = dict(Membership.objects.filter(organization=org).values_list("user__email", "role"))
    assert roles == {"member@example.test": "admin", "new@example.test": "member"}
    verbs = set(ActivityEntry.objects.filter(actor_id=owner.pk).values_list("verb", flat=True))
    assert {"membership.updated", "membership.added"} <= verbs
