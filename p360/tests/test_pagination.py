"""Page and cursor pagination, ordering and the count policy, on a list view built from the shared plumbing."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory

from p360.api.counts import count_with_policy
from p360.api.cursors import encode_cursor
from p360.api.ordering import OrderingFilter
from users.models import User
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class _Row(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "last_name", "last_login", "created_at"]


class PeopleList(generics.ListAPIView):
    """A list as every P360 list is built: ordering backend + the default paginator."""

    permission_classes = [AllowAny]
    authentication_classes = []
    serializer_class = _Row
    filter_backends = [OrderingFilter]
    ordering_fields = {
        "email": "email",
        "last_name": "last_name",
        "last_login": "last_login",
        "created_at": "created_at",
    }
    default_ordering = "-created_at"

    def get_queryset(self):
        return User.objects.all()


def get(path: str, **params):
    return _call(APIRequestFactory().get(path, params, HTTP_HOST="alpha.localhost"))


def _call(request):
    request.request_id = "test"
    response = PeopleList.as_view()(request)
    response.render()
    response.json = lambda: json.loads(response.content)
    return response


def follow(url: str):
    from urllib.parse import parse_qsl, urlsplit

    split = urlsplit(url)
    return get(split.path, **dict(parse_qsl(split.query)))


@pytest.fixture
def people(in_a):
    base = timezone.now()
    users = [UserFactory(email=f"p{n:02d}@example.test", last_name=f"Name{n % 4}") for n in range(12)]
    for n, user in enumerate(users):  # distinct, known creation times; every third never logged in
        User.objects.filter(pk=user.pk).update(
            created_at=base - timedelta(minutes=n), last_login=None if n % 3 == 0 else base - timedelta(hours=n)
        )
    return list(User.objects.order_by("-created_at", "-id"))


def test_page_mode_shape_and_links(people):
    response = get("/people", page_size=5, page=2)
    body = response.json()

    assert response.status_code == 200
    assert {k: body[k] for k in ("count", "count_exact", "page", "page_size", "total_pages")} == {
        "count": 13, "count_exact": True, "page": 2, "page_size": 5, "total_pages": 3,
    }  # fmt: skip
    assert [row["email"] for row in body["results"]] == [u.email for u in people[5:10]]
    assert "page=3" in body["next"] and "page_size=5" in body["next"]
    assert "page=" not in body["previous"]


def test_default_page_size_and_bounds(people):
    assert get("/people").json()["page_size"] == 25
    for bad in ({"page_size": 101}, {"page_size": 0}, {"page_size": "ten"}, {"page": 0}, {"pagination": "offset"}):
        response = get("/people", **bad)
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["field"] in bad


def test_a_page_past_the_end_is_404(people):
    response = get("/people", page_size=5, page=4)

    assert response.status_code == 404
    assert response.json()["code"] == "page_out_of_range"


def test_ordering_multi_field_comma_or_repeated_with_id_tie_break(people):
    comma = get("/people", ordering="last_name,-email", page_size=100).json()["results"]
    expected = sorted(people, key=lambda u: u.email, reverse=True)
    expected = sorted(expected, key=lambda u: u.last_name)

    assert [r["email"] for r in comma] == [u.email for u in expected]
    repeated = _call(
        APIRequestFactory().get("/people?ordering=last_name&ordering=-email&page_size=100", HTTP_HOST="alpha.localhost")
    )
    assert [r["email"] for r in repeated.json()["results"]] == [u.email for u in expected]


@pytest.mark.parametrize("ordering", ["password", "-token_version", "email;drop table", "%", "email,__class__"])
def test_unknown_ordering_fields_are_400_naming_them(people, ordering):
    response = get("/people", ordering=ordering)

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("ordering", "invalid_choice")
    assert "allowed: created_at, email, last_login, last_name" in error["message"]


def _walk(first_params: dict, key="next") -> list[str]:
    seen, response = [], get("/people", **first_params)
    while True:
        body = response.json()
        assert response.status_code == 200, body
        seen += [row["email"] for row in body["results"]]
        if not body[key]:
            return seen
        response = follow(body[key])


@pytest.mark.parametrize("ordering", ["-created_at", "email", "last_name,-email", "last_login", "-last_login"])
def test_cursor_mode_walks_every_row_once_in_list_order(people, ordering):
    expected = [row["email"] for row in get("/people", ordering=ordering, page_size=100).json()["results"]]

    walked = _walk({"pagination": "cursor", "page_size": 4, "ordering": ordering})

    assert walked == expected


def test_cursor_mode_shape_and_walking_back(people):
    first = get("/people", pagination="cursor", page_size=5).json()
    second = follow(first["next"]).json()
    back = follow(second["previous"]).json()

    assert set(first) == {"next", "previous", "next_cursor", "previous_cursor", "results"}
    assert first["previous"] is None and first["previous_cursor"] is None
    assert "page_size=5" in first["next"] and first["next_cursor"] in first["next"]
    assert [r["email"] for r in back["results"]] == [r["email"] for r in first["results"]]
    assert back["previous"] is None


def test_cursor_is_stable_under_concurrent_inserts(people):
    first = get("/people", pagination="cursor", page_size=5).json()
    UserFactory(email="newcomer@example.test")  # newest: sorts before the cursor

    second = follow(first["next"]).json()

    assert [r["email"] for r in second["results"]] == [u.email for u in people[5:10]]


def test_a_cursor_does_not_depend_on_page_size(people):
    first = get("/people", pagination="cursor", page_size=3).json()

    bigger = get("/people", cursor=first["next_cursor"], page_size=6).json()

    assert [r["email"] for r in bigger["results"]] == [u.email for u in people[3:9]]


@pytest.mark.parametrize("cursor", ["garbage", "e30", encode_cursor([], [], "n"), "!!!!"])
def test_bad_cursors_are_400(people, cursor):
    response = get("/people", cursor=cursor)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_cursor"


def test_a_cursor_of_another_ordering_is_400(people):
    cursor = get("/people", pagination="cursor", page_size=2, ordering="email").json()["next_cursor"]

    response = get("/people", cursor=cursor, ordering="last_name")

    assert response.status_code == 400
    assert "another ordering" in response.json()["errors"][0]["message"]


def test_a_cursor_with_a_wrongly_typed_value_is_400(people):
    from p360.api.ordering import OrderKey

    keys = [OrderKey("created_at", True, False), OrderKey("id", True, False)]
    cursor = encode_cursor(keys, ["not-a-date", "not-a-uuid"], "n")

    assert get("/people", cursor=cursor).status_code == 400


def test_query_count_is_constant_in_page_size(people, django_assert_num_queries):
    for size in (1, 100):
        with django_assert_num_queries(2):  # bounded count + page
            get("/people", page_size=size)
        with django_assert_num_queries(1):  # the page (+1 row to know about the next)
            get("/people", pagination="cursor", page_size=size)


def test_count_policy_is_exact_below_the_limit_and_an_estimate_above(people, settings):
    settings.P360_EXACT_COUNT_LIMIT = 5
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE users_user")

    exact = count_with_policy(User.objects.filter(email="p01@example.test"))
    estimated = count_with_policy(User.objects.all())
    response = get("/people", page_size=5)

    assert exact == (1, True)
    assert estimated[1] is False and estimated[0] >= 6
    assert response.json()["count_exact"] is False
    assert response.json()["next"] is not None


def test_a_single_direction_cursor_uses_one_row_comparison_that_an_index_can_serve(people):
    from django.test.utils import CaptureQueriesContext

    cursor = get("/people", pagination="cursor", page_size=2).json()["next_cursor"]
    with CaptureQueriesContext(connection) as queries:
        get("/people", cursor=cursor, page_size=2)

    sql = queries.captured_queries[-1]["sql"]
    assert '("users_user"."created_at", "users_user"."id") <' in sql
    assert " OR " not in sql


def test_a_count_estimate_is_reused_but_an_exact_count_never_is(people, settings, django_assert_num_queries):
    settings.P360_EXACT_COUNT_LIMIT = 5
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE users_user")
    small = User.objects.filter(email__in=["p01@example.test", "p02@example.test"])

    first = count_with_policy(User.objects.all(), "all")
    with django_assert_num_queries(0):  # neither the bounded count nor the planner again
        again = count_with_policy(User.objects.all(), "all")
    for _ in range(2):
        with django_assert_num_queries(1):  # exact: counted afresh every time
            assert count_with_policy(small, "small") == (2, True)
    with django_assert_num_queries(2):  # no key: bounded count + planner
        count_with_policy(User.objects.all())
    settings.P360_COUNT_ESTIMATE_SECONDS = 0
    with django_assert_num_queries(2):  # reuse off
        count_with_policy(User.objects.filter(email__endswith="@example.test"), "other")

    assert first[1] is False and again == first


def test_the_count_key_is_the_lists_filters_and_caller_not_its_paging_or_ordering(rf):
    from types import SimpleNamespace

    from rest_framework.request import Request

    from p360.api.counts import estimate_key

    def key(query, user=1, path="/people"):
        request = Request(rf.get(f"{path}?{query}"))
        request._user = SimpleNamespace(pk=user)
        return estimate_key(request)

    assert key("status=a&page=2&ordering=-x&page_size=5") == key("status=a")
    assert key("a=1&b=2") == key("b=2&a=1")
    assert len({key("status=a"), key("status=b"), key("status=a", user=2), key("status=a", path="/other")}) == 4
