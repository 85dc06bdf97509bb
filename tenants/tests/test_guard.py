"""The schema guard: a tenant request whose schema is gone fails (and is the unknown host's 404), it never
falls back to the platform's tables in `public`."""

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django_tenants.postgresql_backend.base import FakeTenant

from conftest import PASSWORD
from organizations.models import Organization
from p360.dbbackend.base import GUARD_SCHEMA, is_guard_error
from tenants import guard
from tenants.routing import RoutedTenant, _cache, _key
from users.models import User
from users.tests.test_auth import assert_problem

pytestmark = pytest.mark.django_db

STAFF = "ops@platform.test"
GONE = "t_gone"


@pytest.fixture
def platform_staff(db):
    connection.set_schema_to_public()
    User.objects.create_superuser(STAFF, PASSWORD, first_name="Platform", last_name="Ops")
    return STAFF


def _in_missing_schema():
    connection.set_tenant(FakeTenant(GONE))


def _fails_on_the_guard(action):
    with pytest.raises((DatabaseError, psycopg.Error)) as caught, transaction.atomic():
        action()
    assert is_guard_error(caught.value), caught.value
    return caught.value


@pytest.mark.parametrize(
    "action",
    [
        lambda: User.objects.filter(email=STAFF).first(),
        lambda: User.objects.count(),
        lambda: User.objects.filter(email=STAFF).exists(),
        lambda: User.objects.create_user("new@x.test", PASSWORD),
        lambda: User.objects.filter(email=STAFF).update(first_name="Mallory"),
        lambda: User.objects.filter(email=STAFF).delete(),
        lambda: Organization.objects.count(),  # a tenant-only table
    ],
    ids=["get", "count", "exists", "insert", "update", "delete", "tenant-only table"],
)
def test_every_query_of_a_missing_tenant_schema_fails_instead_of_reading_public(platform_staff, action):
    _in_missing_schema()
    assert connection.search_path_set_schemas is None or GONE in connection.search_path_set_schemas

    _fails_on_the_guard(action)

    connection.set_schema_to_public()
    staff = User.objects.get(email=STAFF)  # public's table was there to be read, and is unchanged
    assert staff.first_name == "Platform"
    assert not User.objects.filter(email="new@x.test").exists()


def test_copy_into_a_missing_tenant_schema_fails(platform_staff):
    _in_missing_schema()

    def copy():
        with connection.cursor() as cursor, cursor.copy("COPY users_user (email) FROM STDIN") as copy:
            copy.write_row(["copied@x.test"])

    _fails_on_the_guard(copy)


def test_a_tenant_search_path_puts_the_guard_between_the_tenant_and_public(tenant_a):
    connection.set_tenant(tenant_a)
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == f"t_alpha, {GUARD_SCHEMA}, public"
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == "public"


def test_the_guard_mirrors_every_relation_of_the_template_with_its_columns():
    template = guard.guarded_relations("tenant_template")
    mirrored = guard.guarded_relations(GUARD_SCHEMA)

    assert {"users_user", "organizations_membership", "activity_activityentry", "django_migrations"} <= set(template)
    assert mirrored == template


def test_the_guard_is_rebuilt_when_the_template_changes_and_only_then():
    assert guard.sync_guard() is False  # current: nothing to do

    with connection.cursor() as cursor:
        cursor.execute('CREATE TABLE "tenant_template".users_extra (id bigint, label text)')
    assert guard.sync_guard() is True

    assert guard.guarded_relations(GUARD_SCHEMA)["users_extra"] == [("id", "bigint"), ("label", "text")]
    assert guard.sync_guard() is False


def _stale_route(host: str) -> None:
    """What a worker holds when a tenant was deleted behind its cache: a route to a schema that is gone."""
    route = RoutedTenant(id="00000000-0000-0000-0000-000000000360", slug="gone", schema_name=GONE, status="active")
    _cache().set(_key(host), route.__dict__)


def test_a_request_routed_to_a_vanished_schema_is_the_unknown_host_404_not_the_platform_login(platform_staff):
    host = "gone.localhost"
    _stale_route(host)
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST=host)
    with transaction.atomic():  # a request's own failure, as in autocommit: the test's transaction goes on
        response = client.post("/api/v1/auth/token", {"email": STAFF, "password": PASSWORD}, format="json")

    body = assert_problem(response, 404, "tenant_not_found")
    assert host in body["detail"]
    assert _cache().get(_key(host)) is None  # forgotten: the next request reads the (empty) domain table
    assert_problem(client.post("/api/v1/auth/token", {"email": STAFF, "password": PASSWORD}), 404, "tenant_not_found")


def test_the_admin_routed_to_a_vanished_schema_is_404(platform_staff):
    host = "gone.localhost"
    _stale_route(host)

    with transaction.atomic():
        response = Client(HTTP_HOST=host).post("/admin/login/", {"username": STAFF, "password": PASSWORD})

    assert response.status_code == 404
    assert response.json()["code"] == "tenant_not_found"
