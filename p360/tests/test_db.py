"""copy_insert: COPY with the model's defaults, Django's exceptions, and nothing half-written."""

import uuid

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from activity.models import ActivityEntry
from organizations.models import Organization
from p360.db import copy_insert

pytestmark = pytest.mark.django_db


def test_columns_a_row_does_not_give_come_from_the_fields(in_a):
    now = timezone.now()
    parent = Organization.objects.create(name="Root", slug="root")

    sent = copy_insert(Organization, ("name", "slug"), [("A", "a"), ("B", "b")], now=now)
    copy_insert(Organization, ("slug", "name", "parent_id", "ancestors"), [("c", "C", parent.pk, [parent.pk])])

    assert sent == 2
    a, b, c = (Organization.objects.get(slug=slug) for slug in "abc")
    assert a.pk != b.pk and isinstance(a.pk, uuid.UUID)  # a callable default is called per row
    assert (a.description, a.status, a.parent_id, a.ancestors) == ("", "active", None, [])
    assert a.created_at == a.updated_at == b.created_at == now  # auto_now and auto_now_add: the call's instant
    assert (c.name, c.parent_id, c.ancestors) == ("C", parent.pk, [parent.pk])


def test_json_and_array_columns_take_python_values(in_a):
    copy_insert(
        ActivityEntry,
        ("verb", "changes", "subject_ids"),
        [("user.updated", {"name": {"old": "a\tb", "new": "c\\d\n"}}, ["x", "y"])],
    )

    entry = ActivityEntry.objects.get(verb="user.updated")
    assert entry.changes == {"name": {"old": "a\tb", "new": "c\\d\n"}}
    assert entry.subject_ids == ["x", "y"] and entry.metadata == {} and entry.ip is None


def test_a_field_without_value_or_default_or_an_unknown_one_is_an_error_before_anything_is_sent(in_a):
    with pytest.raises(ValueError, match=r"Organization\.name: no value and no default"):
        copy_insert(Organization, ("slug",), [("a",)])
    with pytest.raises(ValueError, match="no such fields"):
        copy_insert(Organization, ("name", "slug", "colour"), [("A", "a", "red")])

    assert not Organization.objects.exists()


def test_a_constraint_violation_is_djangos_integrity_error(in_a):
    Organization.objects.create(name="Taken", slug="taken")

    with pytest.raises(IntegrityError), transaction.atomic():
        copy_insert(Organization, ("name", "slug"), [("Other", "other"), ("Again", "taken")])

    assert list(Organization.objects.values_list("slug", flat=True)) == ["taken"]


# --- the backend's health check (p360/dbbackend) ---


@pytest.fixture
def second_connection():
    """A connection of its own (the test's is inside its transaction), closed at the end."""
    from django.db import connections

    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _wait_readable(wrapper, seconds=5.0):
    import select
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if select.select([wrapper.connection.fileno()], [], [], 0.05)[0]:
            return
    raise AssertionError("the server never wrote to the ended session")


def test_an_idle_connection_is_checked_without_a_query(second_connection, monkeypatch):
    raw = second_connection.connection

    def no_query(*args, **kwargs):
        raise AssertionError("the health check sent a query")

    monkeypatch.setattr(raw, "cursor", no_query)
    assert second_connection.is_usable() is True
    second_connection.health_check_done = False
    second_connection.close_if_health_check_failed()
    assert second_connection.connection is raw  # kept


def test_a_session_the_server_ended_fails_the_check_and_is_replaced(second_connection):
    from django.db import connection

    with second_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True
    _wait_readable(second_connection)

    assert second_connection.is_usable() is False
    second_connection.health_check_done = False
    second_connection.close_if_health_check_failed()
    assert second_connection.connection is None
    with second_connection.cursor() as cursor:  # the next use connects again
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_closed_connection_is_not_usable(second_connection):
    second_connection.connection.close()
    assert second_connection.is_usable() is False


def test_a_list_requests_statements_are_prepared_once_and_read_the_requests_tenant(as_role, tenant_b):
    """Server-side binding with prepared statements (P360_DB_PREPARE_THRESHOLD): after a few runs a list's page
    statement is prepared on the connection, and a prepared statement still reads the schema of the request's
    search_path (PostgreSQL plans it again when the search_path differs), so another tenant's rows never show."""
    from django.db import connection

    from conftest import host_of, login
    from users.tests.factories import UserFactory

    client = as_role("member")
    for _ in range(8):
        assert client.get("/api/v1/users?page_size=5").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%users_user%"])
        assert cursor.fetchone()[0] >= 1
    connection.set_tenant(tenant_b)
    UserFactory(email="only-in-beta@example.test")
    from rest_framework.test import APIClient

    beta = APIClient(HTTP_HOST=host_of(tenant_b))
    beta.credentials(HTTP_AUTHORIZATION=f"Bearer {login(beta, 'only-in-beta@example.test')['access']}")
    for _ in range(3):
        emails = [row["email"] for row in beta.get("/api/v1/users?page_size=5").json()["results"]]
        assert "only-in-beta@example.test" in emails and not any(e.endswith("@staff.test") for e in emails)
        alpha = [row["email"] for row in client.get("/api/v1/users?page_size=5").json()["results"]]
        assert "only-in-beta@example.test" not in alpha and alpha
