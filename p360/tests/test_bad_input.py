"""Hostile input on every list and a few bodies: 4xx, never a 500, nothing written."""

import pytest

from conftest import login
from p360.actors import SYSTEM
from users.models import User, UserRole
from users.tests.factories import UserFactory
from users.tests.test_auth import assert_problem

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/users",
    "/api/v1/organizations",
    "/api/v1/activity",
    "/api/v1/users/export",
    "/api/v1/activity/export",
]
HOSTILE = ["'; DROP TABLE users_user; --", "%", "_", "100%_off", "\\", "a\x00b", "\u202e", "😀" * 50, "x" * 201]


@pytest.fixture
def admin(in_a, client_for, tenant_a, api_a):
    UserFactory(email="bad-input-admin@example.test", role=UserRole.ADMIN)
    return client_for(tenant_a, login(api_a, "bad-input-admin@example.test")["access"])


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_search_and_ordering_never_500(admin, path, text):
    search = admin.get(path, {"search": text})
    ordering = admin.get(path, {"ordering": text})

    assert search.status_code in (200, 400), search.content[:300]
    if search.status_code == 400:
        assert search.json()["errors"][0]["field"] == "search"
    assert_problem(ordering, 400, "invalid")
    assert User.objects.filter(email="bad-input-admin@example.test").exists()


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/organizations", "/api/v1/activity"])
@pytest.mark.parametrize(
    "params",
    [{"page_size": "99999999999999999999"}, {"page": "-1"}, {"page": "1e9"}, {"page": "99999999"},
     {"cursor": "\x00"}, {"created_after": "\x00"}, {"status": "\x00"}],
)  # fmt: skip
def test_hostile_paging_and_filters_are_400(admin, path, params):
    response = admin.get(path, params)

    assert response.status_code == 400, response.content[:300]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a\x00@example.test", "password": "x"},
        {"email": "owner@alpha.test", "password": "p\x00ss"},
        {"email": "x" * 10_000, "password": "x"},
        {"email": ["not", "a", "string"], "password": "x"},
        {"email": {"$ne": None}, "password": {"$ne": None}},
    ],
)
def test_hostile_login_bodies_are_4xx(api_a, body):
    response = api_a.post("/api/v1/auth/token", body, format="json")

    assert 400 <= response.status_code < 500, response.content[:300]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "nul\x00@example.test", "first_name": "A", "last_name": "B"},
        {"email": "ok@example.test", "first_name": "A\x00", "last_name": "B"},
        {"email": "ok@example.test", "first_name": "A", "last_name": "B", "job_title": "x\x00"},
        {"email": "ok@example.test", "first_name": "A", "last_name": "B", "phone": "1" * 51},
        {"email": "ok@example.test", "first_name": "A", "last_name": "B", "locale": "\x00"},
    ],
)
def test_hostile_user_bodies_are_400_and_write_nothing(admin, body):
    response = admin.post("/api/v1/users", body, format="json")

    assert_problem(response, 400, "invalid")
    assert not User.objects.filter(first_name="A", last_name="B").exists()


@pytest.mark.parametrize(
    "value", ["5972-12-19T00:30:13.850+23:34", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]
)
def test_datetimes_with_extreme_offsets_are_400_or_served_never_500(admin, value):
    response = admin.get("/api/v1/users", {"last_login_after": value})

    assert response.status_code in (200, 400), response.content[:300]


def test_a_malformed_id_is_404_not_400(admin):
    response = admin.post("/api/v1/users/cf2e60DBad219bC6E306864B605b4Ad-cE44/suspend")

    assert_problem(response, 404, "not_found")


ORDERED_LISTS = {
    "/api/v1/users": "email",
    "/api/v1/organizations": "name",
    "/api/v1/activity": "occurred_at",
    "/api/v1/users/export": "email",
    "/api/v1/activity/export": "occurred_at",
}


@pytest.mark.parametrize("path", sorted(ORDERED_LISTS))
@pytest.mark.parametrize("shape", ["--{}", "---{}", "-", "+{}", "{}-", "-{}-", "{},--{}"])
def test_an_ordering_term_that_is_not_field_or_minus_field_is_400_naming_it(admin, path, shape):
    field = ORDERED_LISTS[path]
    assert admin.get(path, {"ordering": f"-{field}"}).status_code == 200  # the field itself is allowed
    term = shape.format(field, field).split(",")[-1]

    response = admin.get(path, {"ordering": shape.format(field, field)})

    body = assert_problem(response, 400, "invalid")
    assert body["errors"][0]["field"] == "ordering"
    assert repr(term) in body["errors"][0]["message"], body


def test_an_ordering_twice_negated_is_400_on_the_members_list_too(admin):
    from organizations.services import organization_create

    org = organization_create(actor=SYSTEM, name="Ordering")
    path = f"/api/v1/organizations/{org.id}/members"
    assert admin.get(path, {"ordering": "-email"}).status_code == 200

    body = assert_problem(admin.get(path, {"ordering": "--email"}), 400, "invalid")
    assert "'--email'" in body["errors"][0]["message"]
