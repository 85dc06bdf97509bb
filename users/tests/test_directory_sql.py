"""The directory's page mode in SQL (users.selectors.DirectoryRows) against the ORM's list (UserFilter, ordering,
user_rows): the same rows in the same order, the same counts and the same planner estimate, for every filter,
combinations of them and every ordering, on people made to hit the edges (NULL logins, ties on every sort key,
LIKE wildcards and backslashes, case, several memberships)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import orjson
import pytest
from django.db import connection
from django.http import QueryDict

from organizations.services import membership_add, organization_create
from p360.actors import SYSTEM
from p360.api.counts import estimate_count
from p360.api.ordering import OrderKey, parse_ordering
from users import selectors
from users.api.filters import UserFilter
from users.api.serializers import user_list_rows
from users.api.users import UserViewSet
from users.models import User, UserRole, UserStatus
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users"
BASE = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FIRST = ["Ana", "ana", "Bo", "Åsa", "Zoë", "Li"]
LAST = ["Johnson", "JOHNSON", "Peterson", "Øster", "Kim", "O'Neil"]
TITLES = ["Engineer", "Person 100%_", "back\\slash", "", "Sales engineer", "Recruiter"]
STATUSES = list(UserStatus.values)
ROLES = [UserRole.MEMBER, UserRole.MEMBER, UserRole.ADMIN, UserRole.OWNER]


@pytest.fixture
def directory(in_a):
    """36 people of every status and role, with ties on names and timestamps, and 3 organizations."""
    orgs = [organization_create(actor=SYSTEM, name=name) for name in ("Zeta", "Alpha", "Mid")]
    people = []
    for n in range(36):
        user = UserFactory(
            email=f"p{n:02d}.x{n % 6}@{'example' if n % 3 else 'other'}.test",
            first_name=FIRST[n % 6],
            last_name=LAST[(n // 2) % 6],
            job_title=TITLES[n % 6],
            role=ROLES[n % 4],
        )
        User.objects.filter(pk=user.pk).update(
            status=STATUSES[n % 4],
            created_at=BASE + timedelta(days=n // 3),  # three people share each creation time
            last_login=None if n % 5 == 0 else BASE + timedelta(hours=n % 7, microseconds=n),
        )
        for org in orgs[: n % 4]:
            membership_add(actor=SYSTEM, org=org, user=user)
        people.append(user)
    # what JSON must escape or keep, and whitespace that str.strip() removes around a full name
    odd = UserFactory(email="odd@example.test", first_name="\u3000", last_name='Q "x" \\ \t\x01 \u2028 😀\u00a0')
    odd_org = organization_create(actor=SYSTEM, name='Ünïcode "org" \\')
    membership_add(actor=SYSTEM, org=odd_org, user=odd)
    membership_add(actor=SYSTEM, org=orgs[1], user=odd)
    people.append(odd)
    return {"people": people, "orgs": orgs}


def _orm(params: QueryDict, keys: list[OrderKey]):
    filterset = UserFilter(params, queryset=selectors.user_directory())
    assert filterset.is_valid(), filterset.errors
    queryset = filterset.qs.order_by(*(key.expression() for key in keys))
    return filterset, queryset


def _both(query: str, ordering: str | None):
    params = QueryDict(query)
    keys = parse_ordering(_Request(ordering), UserViewSet, User)
    filterset, queryset = _orm(params, keys)
    page = selectors.DirectoryRows(filterset.form.cleaned_data, filterset.hides_deactivated, keys)
    return queryset, page


def _api(rows) -> list[dict]:
    """The SQL's rows (DirectoryRow: the API's JSON written by PostgreSQL) as the API's dicts; PostgreSQL wrote
    each byte for byte as the API's renderer (orjson) writes that dict."""
    for row in rows:
        assert row.json.encode() == orjson.dumps(row.data()), row.json
    return [row.data() for row in rows]


class _Request:
    def __init__(self, ordering):
        self.query_params = QueryDict(urlencode({"ordering": ordering}) if ordering else "")


def _filter_cases(orgs) -> list[str]:
    one, two = str(orgs[0].pk), str(orgs[1].pk)
    return [
        "",
        "status=active",
        "status=active,invited",
        "status=active&status=suspended",
        "status=deactivated",
        "status=invited,active,suspended,deactivated",  # every value: no filter at all, deactivated included
        "status=,",  # a value with nothing in it
        "status=active&status=",  # the last value empty: deactivated hidden, and active only
        "role=admin",
        "role=owner,member&status=suspended",
        "search=johnson",
        "search=%20JOHN%20",
        "search=100%25_",  # LIKE's wildcards are literal
        "search=%25",
        "search=_",
        "search=back%5Cslash",  # a backslash
        "search=%C3%A5sa",  # åsa: case-insensitive beyond ASCII
        "search=other.test&role=member",
        "search=zz-nobody",
        "search=%F0%9F%98%80",  # the odd one
        f"organization={one}",
        f"organization={one},{two}&status=active,invited",
        f"organization={one}&organization={one}",
        "organization=00000000-0000-4000-8000-000000000000",
        "created_after=2025-06-03",
        "created_before=2025-06-05T12:00:00Z&created_after=2025-06-02T12:00:00%2B00:00",
        "last_login_after=2025-06-01T15:00:00Z",
        "last_login_before=2025-06-01T14:00:00%2B02:00&search=example",
        f"search=engineer&status=active,invited,suspended&role=member,admin&organization={two}"
        "&created_after=2025-06-02&last_login_after=2025-06-01",
    ]


ORDERINGS = [None, "email", "-email", "first_name", "-first_name", "last_name", "-last_name", "role", "-role",
             "status", "-status", "created_at", "-created_at", "last_login", "-last_login",
             "last_name,-last_login", "-status,first_name,email"]  # fmt: skip


def test_every_filter_and_ordering_reads_the_rows_the_orm_reads(directory):
    compared = 0
    for query in _filter_cases(directory["orgs"]):
        for ordering in ORDERINGS:
            queryset, page = _both(query, ordering)
            expected = user_list_rows(list(selectors.user_rows(queryset)))

            assert _api(page.rows(0, 1000)) == expected, (query, ordering)
            assert _api(page.rows(3, 5)) == expected[3:8], (query, ordering)
            assert page.bounded_count(1000) == queryset.count() == len(expected), (query, ordering)
            compared += 1
    assert compared == 29 * len(ORDERINGS)


def test_the_sql_and_the_orm_match_the_same_rows_in_every_case_that_matches_any(directory):
    """A guard on the cases above: most of them match some people and leave others out."""
    total = User.objects.count()
    matched = [_both(query, None)[0].count() for query in _filter_cases(directory["orgs"])]
    assert sum(0 < n < total for n in matched) >= 20, matched


def test_counts_are_bounded_and_estimated_as_the_orm_counts_and_estimates(directory):
    for query in _filter_cases(directory["orgs"]):
        queryset, page = _both(query, "email")
        full = queryset.count()
        assert page.bounded_count(3) == min(full, 3), query
        # the planner sees the same conditions: the same estimate
        assert page.estimated_count() == estimate_count(queryset), query


def test_value_counts_are_the_orms_per_value_counts_in_every_case(directory):
    """What facets read: the directory's GROUP BY in SQL against the ORM's, under every filter."""
    from django.db.models import Count

    from p360.api.rows import QuerySetRows

    for query in _filter_cases(directory["orgs"]):
        queryset, page = _both(query, None)
        for field in ("status", "role"):
            expected = dict(queryset.order_by().values_list(field).annotate(n=Count("pk")).values_list(field, "n"))
            assert page.value_counts(field) == expected == QuerySetRows(queryset).value_counts(field), (query, field)
    with pytest.raises(ValueError, match="not a facet"):
        page.value_counts("email")


def test_a_page_mode_response_is_the_cursor_modes_first_page(directory, as_role):
    """Through the API: page mode reads in SQL, cursor mode through the ORM; the two first pages agree."""
    client = as_role(UserRole.MEMBER)
    one = str(directory["orgs"][0].pk)
    for query in ("", "status=active,suspended&ordering=-last_login", f"organization={one}&ordering=last_name",
                  "search=son&ordering=-created_at", "role=member&ordering=first_name,-email"):  # fmt: skip
        paged = client.get(f"{USERS}?{query}&page_size=7")
        cursor = client.get(f"{USERS}?{query}&page_size=7&pagination=cursor")
        assert paged.status_code == cursor.status_code == 200, (paged.content, cursor.content)
        assert paged.json()["results"] == cursor.json()["results"], query
        assert paged.json()["results"], query


def test_page_mode_keeps_the_lists_400s(directory, as_role):
    member = as_role(UserRole.MEMBER)
    for query, field in (("status=retired", "status"), ("created_after=yesterday", "created_after"),
                         ("organization=not-a-uuid", "organization"), ("ordering=password", "ordering"),
                         ("ordering=nope&status=retired", "status"), ("page=0", "page")):  # fmt: skip
        response = member.get(f"{USERS}?{query}")
        assert response.status_code == 400, (query, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
        assert field in response.content.decode(), (query, response.content)


def test_only_the_directorys_columns_can_order_it():
    with pytest.raises(ValueError, match="password"):
        selectors.directory_order_by([OrderKey("password", False, False)])


def test_a_deep_page_looks_up_organizations_for_its_own_rows_only(directory):
    """The page is cut (ORDER BY, LIMIT, OFFSET) before its rows get their organizations: the subquery runs once
    per row returned, not once per row skipped."""
    import json

    from django.test.utils import CaptureQueriesContext

    _queryset, page = _both("", "last_name")
    with CaptureQueriesContext(connection) as captured:
        rows = page.rows(20, 5)
    assert len(rows) == 5
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + captured[-1]["sql"])
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def subplan_loops(node):
        here = [node["Actual Loops"]] if node.get("Parent Relationship") == "SubPlan" else []
        return here + [n for child in node.get("Plans", []) for n in subplan_loops(child)]

    loops = subplan_loops(plan[0]["Plan"])
    assert loops and max(loops) == 5, loops


def _orm_source(queryset, keys):
    from p360.api.rows import QuerySetRows

    return QuerySetRows(queryset, keys, rows_of=selectors.user_rows, value_of=selectors.user_row_value)


WALK_FILTERS = ["", "status=active,suspended", "search=son", "role=member&status=invited,active"]


def test_rows_past_any_position_are_the_orms_in_both_directions(directory):
    """Cursor mode and deep pages read past a position (DirectoryRows.after): the same rows as the ORM's keyset
    filter, forwards and backwards, from rows with NULL logins, ties and the ends of the list."""
    checked = 0
    for query in WALK_FILTERS:
        for ordering in ORDERINGS:
            queryset, page = _both(query, ordering)
            orm = _orm_source(queryset, page.keys)
            everyone = page.rows(0, 1000)
            assert [orm.key_values(row) for row in orm.rows(0, 1000)] == [page.key_values(r) for r in everyone]
            positions = {0, len(everyone) // 2, len(everyone) - 1} & set(range(len(everyone)))
            positions |= {i for i, row in enumerate(everyone) if row.data()["last_login"] is None}
            for at in sorted(positions):
                values = page.key_values(everyone[at])
                for backwards in (False, True):
                    expected = user_list_rows(orm.after(values, backwards, 1000))
                    assert _api(page.after(values, backwards, 1000)) == expected, (query, ordering, at)
                    assert _api(page.after(values, backwards, 4, 2)) == expected[2:6]
                    # past row `at`, forwards, is the rest of the list; backwards, what came before it, reversed
                    ids = [row.data()["id"] for row in everyone]
                    want = ids[at + 1 :] if not backwards else ids[:at][::-1]
                    assert [row["id"] for row in expected] == want, (query, ordering, at, backwards)
                    checked += 1
            assert page.after(None, False, 1000) == everyone
    assert checked > 300


def test_a_cursor_walk_through_the_api_reads_every_row_once_in_order(directory, as_role):
    """Forwards to the end by next_cursor, then back to the start by previous_cursor: every row of page mode's
    order, once, for orderings on NULLable and tied keys."""
    client = as_role(UserRole.MEMBER)
    for query in ("", "ordering=-last_login", "ordering=last_name,-last_login", "status=active,invited&ordering=role"):
        everyone = client.get(f"{USERS}?{query}&page_size=100").json()["results"]
        assert len(everyone) > 20
        walked, pages = [], []
        response = client.get(f"{USERS}?{query}&pagination=cursor&page_size=4").json()
        while True:
            pages.append(response)
            walked += response["results"]
            if not response["next_cursor"]:
                break
            response = client.get(f"{USERS}?{query}&page_size=4&cursor={response['next_cursor']}").json()
        assert walked == everyone, query
        back = []
        response = pages[-1]
        while response["previous_cursor"]:
            response = client.get(f"{USERS}?{query}&page_size=4&cursor={response['previous_cursor']}").json()
            back = response["results"] + back
        assert back == everyone[: len(everyone) - len(pages[-1]["results"])], query


def test_an_export_selects_only_the_directorys_columns_never_the_password():
    page = selectors.DirectoryRows({}, True, [OrderKey("id", False, False)])
    assert page.select_sql(["id", "email"])[0].startswith('SELECT "users_user"."id", "users_user"."email" FROM')
    with pytest.raises(ValueError, match="password"):
        page.select_sql(["id", "password"])
