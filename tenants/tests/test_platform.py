"""The platform: tenants API for platform staff, and both Django admins."""

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from activity.models import ActivityEntry
from conftest import PASSWORD, login
from organizations.services import organization_create
from p360.actors import SYSTEM
from tenants.models import Tenant
from users.models import User, UserRole, UserStatus
from users.tests.factories import UserFactory
from users.tests.test_auth import assert_problem

pytestmark = pytest.mark.django_db

TENANTS = "/api/v1/tenants"


@pytest.fixture
def staff(client_for, db):
    connection.set_schema_to_public()
    User.objects.create_superuser("ops@platform.test", PASSWORD, first_name="Platform", last_name="Ops")
    return client_for(None, login(client_for(None), "ops@platform.test")["access"])


def test_staff_list_tenants_with_domains_and_user_counts(staff, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):  # caller, count, page, domains, user counts (+ search_path)
        body = staff.get(TENANTS, {"page_size": 100}).json()

    rows = {row["slug"]: row for row in body["results"]}
    assert rows["alpha"]["domains"] == ["alpha.localhost"]
    assert rows["alpha"]["user_count"] == 1 and rows["alpha"]["status"] == "active"
    assert set(rows["alpha"]) == {"id", "slug", "name", "status", "domains", "created_at", "user_count"}


def test_staff_create_a_tenant_that_answers_at_once(staff, client_for):
    response = staff.post(
        TENANTS,
        {"slug": "lambda", "name": "Lambda", "owner": {"email": "boss@lambda.test", "password": "a-Strong-pass-123"}},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response["Location"] == f"{TENANTS}/lambda"
    assert response.json()["user_count"] == 1
    tenant = Tenant.objects.get(slug="lambda")
    tokens = login(client_for(tenant), "boss@lambda.test", "a-Strong-pass-123")
    assert tokens["user"]["role"] == "owner"
    connection.set_schema_to_public()
    assert ActivityEntry.objects.filter(verb="tenant.created", target_repr="lambda").exists()


def test_the_tenants_list_refuses_a_twice_negated_ordering(staff):
    assert staff.get(TENANTS, {"ordering": "-slug"}).status_code == 200

    body = assert_problem(staff.get(TENANTS, {"ordering": "--slug"}), 400, "invalid")
    assert body["errors"][0]["field"] == "ordering" and "'--slug'" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"slug": "Bad Slug", "name": "X", "owner": {"email": "o@x.test"}}, "slug"),
        ({"slug": "mu", "name": "X", "owner": {"email": "nope"}}, "owner.email"),
        ({"slug": "mu", "name": "X"}, "owner"),
        ({"slug": "mu", "name": "X", "owner": {"email": "o@x.test", "role": "admin"}}, "owner.role"),
    ],
)
def test_create_rejects_bad_input(staff, payload, field):
    body = assert_problem(staff.post(TENANTS, payload, format="json"), 400, "invalid")

    assert field in {e["field"] for e in body["errors"]}
    assert not Tenant.objects.filter(slug="mu").exists()


def test_a_taken_slug_is_409(staff):
    response = staff.post(TENANTS, {"slug": "alpha", "name": "Again", "owner": {"email": "o@a.test"}}, format="json")

    assert_problem(response, 409, "slug_taken")


def test_suspend_then_activate_takes_effect_on_the_tenant_host(staff, api_a):
    suspended = staff.patch(f"{TENANTS}/alpha", {"status": "suspended"}, format="json")
    on_host = api_a.get("/api/v1/users")
    renamed = staff.patch(f"{TENANTS}/alpha", {"status": "active", "name": "Alpha Co"}, format="json")

    assert suspended.json()["status"] == "suspended"
    assert_problem(on_host, 403, "tenant_suspended")
    assert renamed.json()["name"] == "Alpha Co" and renamed.json()["status"] == "active"
    assert api_a.get("/api/v1/users").status_code == 401
    connection.set_schema_to_public()  # the platform's log
    verbs = set(ActivityEntry.objects.filter(target_repr="alpha").values_list("verb", flat=True))
    assert {"tenant.suspended", "tenant.activated", "tenant.updated"} <= verbs


def test_delete_needs_the_slug_as_confirmation_and_drops_the_schema(staff):
    staff.post(TENANTS, {"slug": "nu", "name": "Nu", "owner": {"email": "o@nu.test"}}, format="json")

    unconfirmed = staff.delete(f"{TENANTS}/nu")
    wrong = staff.delete(f"{TENANTS}/nu?confirm=alpha")
    done = staff.delete(f"{TENANTS}/nu?confirm=nu")

    assert_problem(unconfirmed, 400, "invalid")
    assert_problem(wrong, 400, "invalid")
    assert done.status_code == 204
    assert not Tenant.objects.filter(slug="nu").exists() and not schema_exists("t_nu")
    assert_problem(staff.get(f"{TENANTS}/nu"), 404, "not_found")


def test_only_platform_staff(client_for, api_a, in_a):
    UserFactory(email="tenant-owner@example.test", role=UserRole.OWNER)
    tenant_token = login(api_a, "tenant-owner@example.test")["access"]
    connection.set_schema_to_public()
    User.objects.create_user("plain@platform.test", PASSWORD, first_name="Plain", last_name="User")
    plain = client_for(None, login(client_for(None), "plain@platform.test")["access"])

    assert_problem(client_for(None).get(TENANTS), 401, "not_authenticated")
    assert_problem(client_for(None, tenant_token).get(TENANTS), 401, "token_not_valid")
    assert_problem(plain.get(TENANTS), 403, "permission_denied")


def test_the_tenants_api_is_not_served_on_tenant_hosts(api_a):
    assert_problem(api_a.get(TENANTS), 404, "not_found")


# --- the admins ---


def _admin_client(host: str, email: str) -> Client:
    client = Client(HTTP_HOST=host)
    response = client.post("/admin/login/", {"username": email, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302, response.content[:500]
    return client


def test_the_tenant_admin_lists_users_organizations_and_activity(in_a, django_assert_max_num_queries):
    owner = UserFactory(email="boss@example.test", role=UserRole.OWNER)
    root = organization_create(actor=SYSTEM, name="HQ")
    for n in range(30):
        organization_create(actor=SYSTEM, name=f"Team {n}", parent=root)
        UserFactory(email=f"u{n}@example.test")
    client = _admin_client("alpha.localhost", owner.email)

    for path in (
        "/admin/",
        "/admin/users/user/",
        "/admin/organizations/organization/",
        "/admin/activity/activityentry/",
    ):
        assert client.get(path).status_code == 200, path
    with django_assert_max_num_queries(25):  # constant: counts and parents come with the page
        assert client.get("/admin/organizations/organization/").status_code == 200
    assert client.get(f"/admin/organizations/organization/{root.pk}/change/").status_code == 200
    assert client.get("/admin/activity/activityentry/add/").status_code == 403
    assert client.get("/admin/tenants/tenant/").status_code == 404  # platform models stay on the platform


def test_a_tenant_admin_action_calls_the_service_and_records_the_staff_member(in_a):
    owner = UserFactory(email="boss2@example.test", role=UserRole.OWNER)
    victim = UserFactory(email="victim@example.test")
    client = _admin_client("alpha.localhost", owner.email)

    response = client.post(
        "/admin/users/user/", {"action": "suspend", "_selected_action": [str(victim.pk)], "index": "0"}, follow=True
    )

    assert response.status_code == 200
    assert User.objects.get(pk=victim.pk).status == UserStatus.SUSPENDED
    entry = ActivityEntry.objects.get(verb="user.suspended", target_id=str(victim.pk))
    assert entry.actor_id == owner.pk and entry.actor_type == "user"


def test_a_tenant_admin_action_reports_each_refused_row_and_applies_the_rest(in_a):
    admin = UserFactory(email="staff-admin@example.test", role=UserRole.ADMIN)
    owner = UserFactory(email="untouchable@example.test", role=UserRole.OWNER)
    plain = UserFactory(email="plain-member@example.test")
    client = _admin_client("alpha.localhost", admin.email)
    selected = [str(admin.pk), str(owner.pk), str(plain.pk)]

    response = client.post(
        "/admin/users/user/", {"action": "suspend", "_selected_action": selected, "index": "0"}, follow=True
    )

    shown = [str(m) for m in response.context["messages"]]
    assert "1 user(s) suspended." in shown
    assert any(m.startswith("staff-admin@example.test: ") for m in shown)  # not oneself
    assert any(m.startswith("untouchable@example.test: ") for m in shown)  # admins don't touch owners
    statuses = dict(User.objects.filter(pk__in=selected).values_list("email", "status"))
    assert statuses == {
        "staff-admin@example.test": UserStatus.ACTIVE,
        "untouchable@example.test": UserStatus.ACTIVE,
        "plain-member@example.test": UserStatus.SUSPENDED,
    }
    assert ActivityEntry.objects.filter(verb="user.suspended").count() == 1


def test_the_organization_archive_action_goes_through_the_service(in_a):
    owner = UserFactory(email="org-staff@example.test", role=UserRole.OWNER)
    orgs = [organization_create(actor=SYSTEM, name=f"Archivable {n}") for n in range(2)]
    client = _admin_client("alpha.localhost", owner.email)

    response = client.post(
        "/admin/organizations/organization/",
        {"action": "archive", "_selected_action": [str(o.pk) for o in orgs], "index": "0"},
        follow=True,
    )

    assert "2 organization(s) archived." in [str(m) for m in response.context["messages"]]
    entries = ActivityEntry.objects.filter(verb="organization.archived")
    assert sorted(e.target_id for e in entries) == sorted(str(o.pk) for o in orgs)
    assert {e.actor_id for e in entries} == {owner.pk}


def test_members_cannot_enter_the_tenant_admin(in_a):
    member = UserFactory(email="member@example.test")
    client = Client(HTTP_HOST="alpha.localhost")
    client.post("/admin/login/", {"username": member.email, "password": PASSWORD})

    assert client.get("/admin/users/user/").status_code == 302  # back to the login page


def test_the_platform_admin_creates_and_lists_tenants(db):
    connection.set_schema_to_public()
    User.objects.create_superuser("root@platform.test", PASSWORD, first_name="Root", last_name="Ops")
    client = _admin_client("localhost", "root@platform.test")

    created = client.post(
        "/admin/tenants/tenant/add/",
        {"slug": "xi", "name": "Xi", "domain": "", "owner_email": "o@xi.test", "owner_password": "a-Strong-pass-123"},
    )
    listing = client.get("/admin/tenants/tenant/")

    assert created.status_code == 302, created.content[:2000]
    assert schema_exists("t_xi")
    with schema_context("t_xi"):
        assert User.objects.get().email == "o@xi.test"
    assert b"xi.localhost" in listing.content
    assert client.get("/admin/users/user/").status_code == 200  # platform staff


def test_the_tenant_admin_searches_people_as_the_api_does(in_a):
    from django.db import connection

    owner = UserFactory(email="boss3@example.test", role=UserRole.OWNER)
    UserFactory(email="ghost.kim@example.test", first_name="Ghost", last_name="Kim", job_title="Quack doctor")
    UserFactory(email="other@example.test", first_name="Other", last_name="Person")
    client = _admin_client("alpha.localhost", owner.email)
    statements = []

    def seen(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(seen):
        found = client.get("/admin/users/user/", {"q": "kim@exa"})
    by_title = client.get("/admin/users/user/", {"q": "quack DOC"})

    assert found.status_code == 200 and "ghost.kim@example.test" in found.content.decode()
    assert "other@example.test" not in found.content.decode()
    assert "ghost.kim@example.test" in by_title.content.decode()
    searched = [sql for sql in statements if "LIKE UPPER" in sql]
    assert searched and all("|| ' ' ||" in sql for sql in searched)  # the trigram index's expression, not per field
