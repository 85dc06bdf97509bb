"""The user directory API: list, single users, roles, lifecycle, invitations, resets, bulk, import, export."""

import csv
import io
import re

import pytest
from django.core import mail
from django.db import connection

from activity.models import ActivityEntry
from conftest import PASSWORD, login
from organizations.models import Membership, MembershipRole
from organizations.services import membership_add, organization_create
from p360.actors import SYSTEM
from users.models import User, UserRole, UserStatus
from users.tests.factories import UserFactory
from users.tests.test_auth import assert_problem

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users"


@pytest.fixture
def owner(as_role):
    return as_role(UserRole.OWNER)


@pytest.fixture
def admin(as_role):
    return as_role(UserRole.ADMIN)


@pytest.fixture
def member(as_role):
    return as_role(UserRole.MEMBER)


def emails(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["email"] for row in response.json()["results"]]


# --- list ---


@pytest.fixture
def people(in_a):
    rows = [
        ("ana.johnson@example.test", "Ana", "Johnson", "Designer", UserRole.MEMBER, UserStatus.ACTIVE),
        ("bo.peterson@example.test", "Bo", "Peterson", "Engineer", UserRole.ADMIN, UserStatus.ACTIVE),
        ("cy.larsson@example.test", "Cy", "Larsson", "Recruiter", UserRole.MEMBER, UserStatus.INVITED),
        ("di.tanaka@example.test", "Di", "Tanaka", "Engineer", UserRole.MEMBER, UserStatus.SUSPENDED),
        ("ed.kim@example.test", "Ed", "Kim", "Person 100%_", UserRole.MEMBER, UserStatus.DEACTIVATED),
    ]
    made = {}
    for email, first, last, title, role, status in rows:
        made[first] = UserFactory(email=email, first_name=first, last_name=last, job_title=title, role=role)
        User.objects.filter(pk=made[first].pk).update(status=status)
    return made


def test_list_shape_and_default_excludes_deactivated(member, people):
    body = member.get(USERS, {"ordering": "email", "search": "example.test"}).json()

    assert body["count"] == 4 and body["count_exact"] is True
    row = body["results"][0]
    assert set(row) == {
        "id", "email", "first_name", "last_name", "full_name", "role", "status", "job_title", "phone", "timezone",
        "locale", "organizations", "last_login", "created_at", "updated_at",
    }  # fmt: skip
    assert "ed.kim@example.test" not in emails(member.get(USERS, {"page_size": 100}))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"search": "SON"}, ["ana.johnson@example.test", "bo.peterson@example.test", "cy.larsson@example.test"]),
        ({"search": "engineer"}, ["bo.peterson@example.test", "di.tanaka@example.test"]),
        ({"search": "ana johnson"}, ["ana.johnson@example.test"]),
        ({"search": "100%_"}, []),
        ({"search": "100%_", "status": "deactivated"}, ["ed.kim@example.test"]),
        ({"status": "invited,suspended"}, ["cy.larsson@example.test", "di.tanaka@example.test"]),
        ({"role": "admin", "search": "example"}, ["bo.peterson@example.test"]),
    ],
)
def test_search_and_filters(member, people, params, expected):
    assert emails(member.get(USERS, {"ordering": "email", **params})) == expected


def test_repeated_multi_value_params_and_organization_filter(member, people):
    org = organization_create(actor=SYSTEM, name="Design")
    membership_add(actor=SYSTEM, org=org, user=people["Ana"])
    membership_add(actor=SYSTEM, org=org, user=people["Di"], role=MembershipRole.ADMIN)

    repeated = member.get(f"{USERS}?status=invited&status=suspended&ordering=email")
    in_org = member.get(USERS, {"organization": str(org.id), "ordering": "email"})

    assert emails(repeated) == ["cy.larsson@example.test", "di.tanaka@example.test"]
    assert emails(in_org) == ["ana.johnson@example.test", "di.tanaka@example.test"]
    assert in_org.json()["results"][1]["organizations"] == [{"id": str(org.id), "name": "Design", "role": "admin"}]


def test_a_page_written_by_postgresql_is_the_same_json_compact_or_indented(member, people):
    """The directory's rows arrive as JSON that PostgreSQL wrote (embedded as it is); an indented answer
    (`Accept: ...; indent=2`, DRF's renderer) reads it back first: the same document both ways."""
    import json

    compact = member.get(USERS, {"page_size": 3})
    indented = member.get(USERS, {"page_size": 3}, HTTP_ACCEPT="application/json; indent=2")
    assert compact.status_code == indented.status_code == 200
    assert b"\n  " in indented.content and b"\n" not in compact.content
    assert json.loads(indented.content) == json.loads(compact.content)
    assert len(json.loads(compact.content)["results"]) == 3


def test_facets_count_under_the_other_filters(member, people):
    body = member.get(USERS, {"facets": "status,role", "search": "example.test", "status": "active"}).json()

    assert body["facets"]["status"] == {"invited": 1, "active": 2, "suspended": 1, "deactivated": 1}
    assert body["facets"]["role"] == {"owner": 0, "admin": 1, "member": 1}


def test_ordering_and_range_filters(member, people):
    from datetime import timedelta

    from django.utils import timezone

    User.objects.filter(pk=people["Bo"].pk).update(last_login=timezone.now() - timedelta(days=1))
    User.objects.filter(pk=people["Ana"].pk).update(last_login=timezone.now() - timedelta(days=3))

    by_login = emails(member.get(USERS, {"ordering": "-last_login", "search": "example.test"}))
    recent = emails(
        member.get(
            USERS, {"last_login_after": (timezone.now() - timedelta(days=2)).isoformat(), "search": "example.test"}
        )
    )
    by_last_name = emails(member.get(USERS, {"ordering": "last_name", "search": "example.test"}))

    assert by_login[:2] == ["bo.peterson@example.test", "ana.johnson@example.test"]  # then those who never logged in
    assert recent == ["bo.peterson@example.test"]
    assert by_last_name == [
        "ana.johnson@example.test",
        "cy.larsson@example.test",
        "bo.peterson@example.test",
        "di.tanaka@example.test",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "gone"}, "status"), ({"role": "god"}, "role"), ({"organization": "x"}, "organization"),
     ({"ordering": "password"}, "ordering"), ({"facets": "email"}, "facets"),
     ({"created_before": "nope"}, "created_before"),
     ({"page_size": "101"}, "page_size"), ({"is_staff": "1"}, "is_staff")],
)  # fmt: skip
def test_bad_list_parameters_are_400_naming_them(member, params, field):
    body = assert_problem(member.get(USERS, params), 400, "invalid")

    assert field in {e["field"] for e in body["errors"]}


def test_list_query_count_is_the_same_for_page_sizes_1_and_100(member, django_assert_max_num_queries):
    orgs = [organization_create(actor=SYSTEM, name=f"Org {n}") for n in range(3)]
    for n in range(100):
        user = UserFactory(email=f"bulk{n:03d}@example.test")
        membership_add(actor=SYSTEM, org=orgs[n % 3], user=user)
    for size in (1, 100):
        # SET search_path, the caller, bounded count, page, memberships of the page
        with django_assert_max_num_queries(5):
            assert len(member.get(USERS, {"page_size": size}).json()["results"]) == size
        with django_assert_max_num_queries(4):
            assert len(member.get(USERS, {"page_size": size, "pagination": "cursor"}).json()["results"]) == size


def test_cursor_walk_over_every_ordering(member, people):
    for ordering in ("email", "-last_login", "last_login", "created_at", "-created_at", "role,-email", "status"):
        expected = emails(member.get(USERS, {"ordering": ordering, "page_size": 100}))
        seen, url, params = [], USERS, {"ordering": ordering, "pagination": "cursor", "page_size": 2}
        while url:
            body = member.get(url, params).json()
            seen += [r["email"] for r in body["results"]]
            url, params = body["next"], None
        assert seen == expected, ordering


# --- single users ---


def test_create_with_password_is_active_and_recorded(admin):
    response = admin.post(
        USERS,
        {
            "email": " New@Example.test ",
            "first_name": " Nia ",
            "last_name": "Long",
            "password": "a-Strong-pass-123",
            "job_title": "QA",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["first_name"], body["status"], body["role"]) == (
        "New@Example.test",
        "Nia",
        "active",
        "member",
    )
    assert response["Location"] == f"{USERS}/{body['id']}"
    assert ActivityEntry.objects.filter(verb="user.created", target_id=body["id"]).count() == 1
    assert not mail.outbox


def test_create_without_password_invites_and_accepting_logs_in(admin, api_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            USERS, {"email": "inv@example.test", "first_name": "In", "last_name": "Vited"}, format="json"
        )

    assert response.json()["status"] == "invited"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["inv@example.test"]
    token = re.search(r"token=([\w-]+)", mail.outbox[0].body).group(1)
    assert "tenant=alpha" in mail.outbox[0].body
    accepted = api_a.post(
        "/api/v1/auth/invitations/accept",
        {"token": token, "password": "my-Own-pass-123", "first_name": "Ina"},
        format="json",
    )
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["user"]["status"] == "active" and accepted.json()["user"]["first_name"] == "Ina"
    assert login(api_a, "inv@example.test", "my-Own-pass-123")["access"]
    again = api_a.post(
        "/api/v1/auth/invitations/accept", {"token": token, "password": "my-Own-pass-123"}, format="json"
    )
    assert_problem(again, 400, "invalid_token")


def test_resend_invitation_replaces_the_old_link(admin, api_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user_id = admin.post(
            USERS, {"email": "re@example.test", "first_name": "Re", "last_name": "Send"}, format="json"
        ).json()["id"]
    first = re.search(r"token=([\w-]+)", mail.outbox[0].body).group(1)

    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(f"{USERS}/{user_id}/resend-invitation").status_code == 202
    second = re.search(r"token=([\w-]+)", mail.outbox[1].body).group(1)
    stale = api_a.post(
        "/api/v1/auth/invitations/accept", {"token": first, "password": "my-Own-pass-123"}, format="json"
    )
    fresh = api_a.post(
        "/api/v1/auth/invitations/accept", {"token": second, "password": "my-Own-pass-123"}, format="json"
    )

    assert_problem(stale, 400, "invalid_token")
    assert fresh.status_code == 200
    assert_problem(admin.post(f"{USERS}/{user_id}/resend-invitation"), 409, "invalid_transition")


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"email": "not-an-email"}, "email", "invalid"),
        ({"first_name": "   "}, "first_name", "blank"),
        ({"last_name": "x" * 151}, "last_name", "max_length"),
        ({"first_name": "Tab\there"}, "first_name", "invalid"),
        ({"password": "short"}, "password", "invalid"),
        ({"status": "active"}, "status", "not_allowed"),
        ({"is_staff": True}, "is_staff", "not_allowed"),
        ({"role": "owner"}, "role", "not_allowed"),
        ({"timezone": "Nowhere/City"}, "timezone", "invalid"),
    ],
)
def test_create_rejects_bad_or_forbidden_fields(admin, payload, field, code):
    body = {"email": "ok@example.test", "first_name": "Ok", "last_name": "Fine", **payload}

    problem = assert_problem(admin.post(USERS, body, format="json"), 400, "invalid")

    assert {"field": field, "code": code} in [{k: e[k] for k in ("field", "code")} for e in problem["errors"]]
    assert not User.objects.filter(email="ok@example.test").exists()


def test_a_taken_email_is_409_case_insensitively(admin, people):
    response = admin.post(
        USERS, {"email": "ANA.JOHNSON@example.test", "first_name": "A", "last_name": "B"}, format="json"
    )

    assert_problem(response, 409, "email_taken")


def test_get_patch_with_etag_and_stale_if_match(admin, people):
    url = f"{USERS}/{people['Ana'].id}"
    etag = admin.get(url)["ETag"]

    ok = admin.patch(
        url, {"job_title": "Lead Designer", "email": "ana@example.test"}, format="json", HTTP_IF_MATCH=etag
    )
    stale = admin.patch(url, {"job_title": "Intern"}, format="json", HTTP_IF_MATCH=etag)

    assert ok.status_code == 200 and ok.json()["email"] == "ana@example.test"
    assert ok["ETag"] != etag
    assert_problem(stale, 412, "precondition_failed")
    assert User.objects.get(pk=people["Ana"].pk).job_title == "Lead Designer"
    assert ActivityEntry.objects.get(verb="user.updated").changes["email"] == {
        "old": "ana.johnson@example.test",
        "new": "ana@example.test",
    }


def test_patch_to_a_taken_email_is_409(admin, people):
    response = admin.patch(f"{USERS}/{people['Ana'].id}", {"email": "Bo.Peterson@example.test"}, format="json")

    assert_problem(response, 409, "email_taken")


def test_delete_deactivates_softly_and_restore_brings_back(admin, people):
    url = f"{USERS}/{people['Ana'].id}"

    deleted = admin.delete(url)
    after = admin.get(url).json()
    restored = admin.post(f"{url}/restore").json()

    assert deleted.status_code == 204
    assert after["status"] == "deactivated"
    assert restored["status"] == "active"


def test_members_edit_only_their_own_profile(member, people):
    own = member.patch(f"{USERS}/{member.user.id}", {"job_title": "Self-titled"}, format="json")
    own_role = member.patch(f"{USERS}/{member.user.id}", {"role": "admin"}, format="json")
    other = member.patch(f"{USERS}/{people['Ana'].id}", {"job_title": "Hacked"}, format="json")

    assert own.status_code == 200
    assert_problem(own_role, 400, "invalid")
    assert_problem(other, 403, "permission_denied")
    assert User.objects.get(pk=people["Ana"].pk).job_title == "Designer"


def test_mass_assignment_by_a_member_changes_nothing(member):
    before = User.objects.get(pk=member.user.pk)

    response = member.patch(
        f"{USERS}/{member.user.id}",
        {"role": "owner", "status": "active", "is_staff": True, "email": "x@example.test"},
        format="json",
    )

    assert response.status_code == 400
    after = User.objects.get(pk=member.user.pk)
    assert (after.role, after.email, after.is_staff, after.updated_at) == (
        before.role,
        before.email,
        before.is_staff,
        before.updated_at,
    )


# --- roles and lifecycle ---


ACTIONS = {
    "get": lambda c, u: c.get(f"{USERS}/{u.id}"),
    "patch": lambda c, u: c.patch(f"{USERS}/{u.id}", {"job_title": "X"}, format="json"),
    "suspend": lambda c, u: c.post(f"{USERS}/{u.id}/suspend"),
    "delete": lambda c, u: c.delete(f"{USERS}/{u.id}"),
    "promote": lambda c, u: c.patch(f"{USERS}/{u.id}", {"role": "admin"}, format="json"),
    "make_owner": lambda c, u: c.patch(f"{USERS}/{u.id}", {"role": "owner"}, format="json"),
    "create": lambda c, u: c.post(
        USERS, {"email": "m@example.test", "first_name": "M", "last_name": "N"}, format="json"
    ),
}


@pytest.mark.parametrize(
    ("caller", "target", "expected"),
    [
        (
            "owner",
            "member",
            {"get": 200, "patch": 200, "suspend": 200, "delete": 204, "promote": 200, "make_owner": 200, "create": 201},
        ),
        (
            "admin",
            "member",
            {"get": 200, "patch": 200, "suspend": 200, "delete": 204, "promote": 200, "make_owner": 400, "create": 201},
        ),
        (
            "admin",
            "owner",
            {"get": 200, "patch": 403, "suspend": 403, "delete": 403, "promote": 403, "make_owner": 403},
        ),
        (
            "member",
            "member",
            {"get": 200, "patch": 403, "suspend": 403, "delete": 403, "promote": 403, "make_owner": 403, "create": 403},
        ),
        ("anonymous", "member", {"get": 401, "patch": 401, "suspend": 401, "delete": 401, "create": 401}),
    ],
)
def test_role_by_action_matrix(as_role, api_a, caller, target, expected):
    client = api_a if caller == "anonymous" else as_role(caller)
    for name, status in expected.items():
        victim = UserFactory(email=f"victim-{name}@example.test", role=target)
        response = ACTIONS[name](client, victim)
        assert response.status_code == status, (caller, target, name, response.content)


def test_nobody_changes_their_own_role_or_status(owner):
    me = f"{USERS}/{owner.user.id}"

    for response in (
        owner.patch(me, {"role": "admin"}, format="json"),
        owner.post(f"{me}/suspend"),
        owner.delete(me),
    ):
        assert_problem(response, 403, "cannot_change_self")


def test_the_last_owner_stays(owner, as_role):
    other_owner = as_role(UserRole.OWNER)
    first = owner.patch(f"{USERS}/{other_owner.user.id}", {"role": "admin"}, format="json")
    # the tenant's own owner from setup is still there: demote it too
    setup_owner = User.objects.get(email="owner@alpha.test")
    second = owner.patch(f"{USERS}/{setup_owner.id}", {"role": "member"}, format="json")
    last = User.objects.get(pk=owner.user.pk)
    from users import services

    assert first.status_code == 200 and second.status_code == 200
    with pytest.raises(services.LastOwner):
        services.user_set_role(actor=SYSTEM, user=last, role=UserRole.ADMIN)
    with pytest.raises(services.LastOwner):
        services.user_suspend(actor=SYSTEM, user=last)


@pytest.mark.parametrize(
    ("status", "action", "ok"),
    [
        ("active", "suspend", True), ("suspended", "suspend", False), ("suspended", "activate", True),
        ("active", "activate", False), ("invited", "activate", False), ("deactivated", "restore", True),
        ("active", "restore", False), ("invited", "suspend", False),
    ],
)  # fmt: skip
def test_lifecycle_state_machine(admin, status, action, ok):
    user = UserFactory(email="life@example.test")
    User.objects.filter(pk=user.pk).update(status=status)

    response = admin.post(f"{USERS}/{user.id}/{action}")

    if ok:
        assert response.status_code == 200, response.content
    else:
        assert_problem(response, 409, "invalid_transition")


def test_a_suspended_users_token_is_401_on_the_next_request(admin, client_for, tenant_a, api_a):
    victim = UserFactory(email="sus@example.test")
    client = client_for(tenant_a, login(api_a, "sus@example.test")["access"])
    assert client.get(USERS).status_code == 200

    admin.post(f"{USERS}/{victim.id}/suspend")

    assert_problem(client.get(USERS), 401, "token_not_valid")


def test_an_id_of_another_tenant_is_404(admin, tenant_b):
    connection.set_tenant(tenant_b)
    foreign = UserFactory(email="foreign@example.test")
    connection.set_schema_to_public()

    for response in (
        admin.get(f"{USERS}/{foreign.id}"),
        admin.patch(f"{USERS}/{foreign.id}", {"job_title": "x"}, format="json"),
        admin.post(f"{USERS}/{foreign.id}/suspend"),
        admin.delete(f"{USERS}/{foreign.id}"),
        admin.get(f"{USERS}/{foreign.id}/organizations"),
        admin.get(f"{USERS}/{foreign.id}/activity"),
    ):
        assert_problem(response, 404, "not_found")


def test_user_organizations_and_activity(admin, member, people):
    org = organization_create(actor=SYSTEM, name="Guild")
    membership_add(actor=SYSTEM, org=org, user=people["Bo"], role=MembershipRole.ADMIN)
    admin.patch(f"{USERS}/{people['Bo'].id}", {"job_title": "Staff Engineer"}, format="json")

    orgs = admin.get(f"{USERS}/{people['Bo'].id}/organizations").json()
    activity = admin.get(f"{USERS}/{people['Bo'].id}/activity").json()

    assert orgs == [{"id": str(org.id), "name": "Guild", "slug": "guild", "role": "admin"}]
    assert [row["verb"] for row in activity["results"]] == ["user.updated", "membership.added"]
    assert_problem(member.get(f"{USERS}/{people['Bo'].id}/activity"), 403, "permission_denied")
    assert member.get(f"{USERS}/{member.user.id}/activity").status_code == 200


def test_idempotent_create_replays(admin):
    body = {"email": "idem@example.test", "first_name": "I", "last_name": "D", "password": "a-Strong-pass-123"}

    first = admin.post(USERS, body, format="json", HTTP_IDEMPOTENCY_KEY="u-1")
    replay = admin.post(USERS, body, format="json", HTTP_IDEMPOTENCY_KEY="u-1")

    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["id"] == first.json()["id"]
    assert User.objects.filter(email="idem@example.test").count() == 1


# --- password reset ---


def test_password_reset_flow_and_no_enumeration(api_a, in_a, django_capture_on_commit_callbacks):
    UserFactory(email="forgot@example.test")

    with django_capture_on_commit_callbacks(execute=True):
        known = api_a.post("/api/v1/auth/password/reset", {"email": "forgot@example.test"}, format="json")
        unknown = api_a.post("/api/v1/auth/password/reset", {"email": "nobody@example.test"}, format="json")

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert len(mail.outbox) == 1
    token = re.search(r"token=([\w-]+)", mail.outbox[0].body).group(1)
    weak = api_a.post("/api/v1/auth/password/reset/confirm", {"token": token, "new_password": "123"}, format="json")
    assert_problem(weak, 400, "invalid")
    done = api_a.post(
        "/api/v1/auth/password/reset/confirm", {"token": token, "new_password": "brand-New-pass-9"}, format="json"
    )
    assert done.status_code == 204
    assert login(api_a, "forgot@example.test", "brand-New-pass-9")["access"]
    reused = api_a.post(
        "/api/v1/auth/password/reset/confirm", {"token": token, "new_password": "other-New-pass-9"}, format="json"
    )
    assert_problem(reused, 400, "invalid_token")
    assert_problem(
        api_a.post(
            "/api/v1/auth/password/reset/confirm", {"token": "forged", "new_password": "x-New-pass-99"}, format="json"
        ),
        400,
        "invalid_token",
    )
    entries = ActivityEntry.objects.filter(verb__in=["auth.password_reset_requested", "auth.password_changed"])
    assert entries.count() == 2
    assert token not in str(list(entries.values_list("changes", "metadata")))


def test_an_expired_reset_token_is_refused(api_a, in_a, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from users.models import UserToken

    UserFactory(email="late@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        api_a.post("/api/v1/auth/password/reset", {"email": "late@example.test"}, format="json")
    token = re.search(r"token=([\w-]+)", mail.outbox[0].body).group(1)
    UserToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api_a.post(
        "/api/v1/auth/password/reset/confirm", {"token": token, "new_password": "brand-New-pass-9"}, format="json"
    )

    assert_problem(response, 400, "invalid_token")


# --- bulk ---


def test_bulk_reports_each_item(admin, owner, people):
    ids = [str(people["Ana"].id), str(people["Di"].id), str(owner.user.id), "00000000-0000-0000-0000-000000000000"]

    body = admin.post(f"{USERS}/bulk", {"action": "suspend", "ids": ids}, format="json").json()

    results = {r["id"]: r for r in body["results"]}
    assert (body["succeeded"], body["failed"]) == (1, 3)
    assert results[ids[0]]["ok"] is True
    assert results[ids[1]]["code"] == "invalid_transition"  # already suspended
    assert results[ids[2]]["code"] == "permission_denied"  # admins cannot touch owners
    assert results[ids[3]]["code"] == "not_found"
    assert User.objects.get(pk=people["Ana"].pk).status == "suspended"


def test_bulk_set_role_and_organization_actions(admin, people):
    org = organization_create(actor=SYSTEM, name="Crew")
    ids = [str(people["Ana"].id), str(people["Bo"].id)]

    roles = admin.post(f"{USERS}/bulk", {"action": "set_role", "ids": ids, "role": "admin"}, format="json").json()
    added = admin.post(
        f"{USERS}/bulk", {"action": "add_to_organization", "ids": ids, "organization": str(org.id)}, format="json"
    ).json()
    removed = admin.post(
        f"{USERS}/bulk",
        {"action": "remove_from_organization", "ids": ids[:1], "organization": str(org.id)},
        format="json",
    ).json()

    assert roles["succeeded"] == 2
    assert added["succeeded"] == 2
    assert removed["succeeded"] == 1
    assert list(Membership.objects.filter(organization=org).values_list("user__email", flat=True)) == [
        "bo.peterson@example.test"
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "explode", "ids": ["00000000-0000-0000-0000-000000000000"]},
        {"action": "suspend", "ids": []},
        {"action": "suspend", "ids": ["x"]},
        {"action": "set_role", "ids": ["00000000-0000-0000-0000-000000000000"]},
        {"action": "add_to_organization", "ids": ["00000000-0000-0000-0000-000000000000"]},
        {"action": "suspend", "ids": ["00000000-0000-0000-0000-000000000000"] * 1001},
    ],
)
def test_bulk_rejects_bad_requests(admin, payload):
    assert_problem(admin.post(f"{USERS}/bulk", payload, format="json"), 400, "invalid")


def test_bulk_is_for_admins(member):
    assert_problem(
        member.post(f"{USERS}/bulk", {"action": "suspend", "ids": [str(member.user.id)]}, format="json"),
        403,
        "permission_denied",
    )


# --- import and export ---


def _upload(client, text: str, **params):
    from django.core.files.uploadedfile import SimpleUploadedFile

    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    return client.post(
        f"{USERS}/import{query}",
        {"file": SimpleUploadedFile("people.csv", text.encode(), "text/csv")},
        format="multipart",
    )


def test_import_creates_updates_and_counts_unchanged(admin, people):
    organization_create(actor=SYSTEM, name="Ops")
    text = (
        "email,first_name,last_name,role,job_title,phone,organizations\n"
        "new.one@example.test,New,One,member,Analyst,,ops\n"
        "ANA.JOHNSON@example.test,Ana,Johnson,member,Principal Designer,,\n"
        "bo.peterson@example.test,Bo,Peterson,admin,Engineer,,\n"
    )

    dry = _upload(admin, text, dry_run="true").json()
    assert dry == {"created": 1, "updated": 1, "unchanged": 1, "dry_run": True}
    assert not User.objects.filter(email="new.one@example.test").exists()

    body = _upload(admin, text).json()

    assert body == {"created": 1, "updated": 1, "unchanged": 1, "dry_run": False}
    created = User.objects.get(email="new.one@example.test")
    assert created.status == "invited"
    assert list(created.memberships.values_list("organization__slug", flat=True)) == ["ops"]
    assert User.objects.get(pk=people["Ana"].pk).job_title == "Principal Designer"
    assert ActivityEntry.objects.filter(verb="users.imported").count() == 1
    assert ActivityEntry.objects.filter(verb="user.invited", target_id=str(created.id)).exists()


def test_import_with_a_bad_row_reports_every_error_and_writes_nothing(admin, people):
    text = (
        "email,first_name,last_name,role\n"
        "good@example.test,Good,Row,member\n"
        "not-an-email,,Row,member\n"
        "good@example.test,Dup,Row,boss\n"
    )
    before = (User.objects.count(), ActivityEntry.objects.count())

    body = assert_problem(_upload(admin, text), 400, "invalid_rows")

    found = {(e["row"], e["field"], e["code"]) for e in body["errors"]}
    assert found == {
        (3, "email", "invalid"),
        (3, "first_name", "required"),
        (4, "email", "duplicate"),
        (4, "role", "invalid_choice"),
    }
    assert (User.objects.count(), ActivityEntry.objects.count()) == before


@pytest.mark.parametrize(
    ("text", "code"),
    [("name,email\nx,y\n", "missing_column"), ("email,first_name,last_name,shoe_size\n", "unknown_column")],
)
def test_import_rejects_bad_headers(admin, text, code):
    body = assert_problem(_upload(admin, text), 400, "invalid")

    assert code in {e["code"] for e in body["errors"]}


def test_import_accepts_a_raw_csv_body_and_rejects_non_utf8(admin):
    raw = admin.generic(
        "POST", f"{USERS}/import", b"email,first_name,last_name\nraw@example.test,Raw,Body\n", content_type="text/csv"
    )
    latin = admin.generic(
        "POST",
        f"{USERS}/import",
        "email,first_name,last_name\nz@example.test,Zoë,X\n".encode("latin-1"),
        content_type="text/csv",
    )

    assert raw.json()["created"] == 1
    assert_problem(latin, 400, "invalid")


def test_export_streams_the_filtered_list_with_formulas_neutralised(admin, people):
    UserFactory(
        email="evil@example.test",
        first_name='=HYPERLINK("http://evil.test","click")',
        last_name="+1",
        job_title="@SUM(A1)",
    )

    response = admin.get(f"{USERS}/export", {"ordering": "email", "search": "e"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    evil = next(r for r in rows if r["email"] == "evil@example.test")
    assert evil["first_name"] == '\'=HYPERLINK("http://evil.test","click")'
    assert (evil["last_name"], evil["job_title"]) == ("'+1", "'@SUM(A1)")
    assert [r["email"] for r in rows] == sorted(r["email"] for r in rows)
    assert "ed.kim@example.test" not in {r["email"] for r in rows}  # the list's default filter holds
    assert_problem(admin.get(f"{USERS}/export", {"status": "nope"}), 400, "invalid")


def test_export_is_for_admins(member):
    assert_problem(member.get(f"{USERS}/export"), 403, "permission_denied")


def test_password_never_appears_in_responses(admin, people):
    listed = admin.get(USERS, {"page_size": 100}).content.decode()
    exported = b"".join(admin.get(f"{USERS}/export").streaming_content).decode()

    for text in (listed, exported):
        assert "password" not in text and "md5$" not in text and PASSWORD not in text


# --- operator commands ---


def _command(name, *args):
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_and_export_commands(in_a, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("email,first_name,last_name,job_title\ncmd@example.test,Cee,Emdee,=1+1\n", encoding="utf-8")
    connection.set_schema_to_public()

    dry, _ = _command("import_users", "--tenant", "alpha", str(source), "--dry-run", "--json")
    done, _ = _command("import_users", "--tenant", "alpha", str(source))
    _, exported = _command("export_users", "--tenant", "alpha", "-o", str(tmp_path / "out.csv"))
    printed, _ = _command("export_users", "--tenant", "alpha")

    assert '"created": 1' in dry and "created 1" in done
    rows = {r["email"]: r for r in csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8"))}
    assert rows["cmd@example.test"]["job_title"] == "'=1+1"
    assert exported.strip() == f"exported {len(rows):,} users of alpha"  # the owner and the imported person
    assert printed.encode() == (tmp_path / "out.csv").read_bytes()
    connection.set_tenant(in_a)
    assert ActivityEntry.objects.get(verb="users.imported").actor_type == "cli"


def test_import_command_errors_are_listed_and_exit_non_zero(in_a, tmp_path):
    from django.core.management import CommandError

    bad = tmp_path / "bad.csv"
    bad.write_text("email,first_name,last_name\nnope,,X\n", encoding="utf-8")
    connection.set_schema_to_public()

    with pytest.raises(CommandError, match="nothing was imported"):
        _command("import_users", "--tenant", "alpha", str(bad))
    with pytest.raises(CommandError, match="no such file"):
        _command("import_users", "--tenant", "alpha", str(tmp_path / "missing.csv"))


def test_search_is_served_by_the_trigram_index_on_a_populated_table(in_a):
    """Both ways the list searches: the ORM's (cursor mode, exports) and page mode's SQL (DirectoryRows)."""
    from p360.api.ordering import OrderKey
    from users.selectors import DirectoryRows, user_list, user_search

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users_user (id, email, first_name, last_name, role, status, job_title, phone, timezone,"
            " locale, is_staff, is_superuser, token_version, password, created_at, updated_at)"
            " SELECT gen_random_uuid(), 'p' || n || '@example.test', md5(n::text), 'Last' || (n % 97), 'member',"
            " 'active', '', '', 'UTC', 'en', false, false, 0, '!', now(), now() FROM generate_series(1, 30000) AS n"
        )
        cursor.execute("ANALYZE users_user")
        cursor.execute("SELECT substr(md5('4242'), 5, 8)")
        fragment = cursor.fetchone()[0]
        sql, params = user_search(user_list(), fragment).order_by("-created_at", "-id")[:25].query.sql_with_params()
        # Whether the planner prefers the trigram index or a scan of the newest rows depends on how rare the
        # fragment looks; with ordered index scans off, only an index that matches the expression can serve.
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        page = DirectoryRows({"search": fragment}, True, [OrderKey("created_at", True, False)])
        cursor.execute(f'EXPLAIN SELECT 1 FROM "users_user"{page.where}', page.params)
        page_plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "users_user_search_trgm_idx" in plan, plan
    assert "users_user_search_trgm_idx" in page_plan, page_plan


def test_an_idempotent_bulk_replays_its_per_item_results(admin, people):
    body = {"action": "suspend", "ids": [str(people["Ana"].id)]}

    first = admin.post(f"{USERS}/bulk", body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    replay = admin.post(f"{USERS}/bulk", body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")

    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json() and replay["Idempotent-Replayed"] == "true"


def test_list_rows_are_exactly_what_the_user_serializer_gives(in_a, people):
    from datetime import timedelta

    from django.utils import timezone

    from users import selectors
    from users.api.serializers import UserSerializer, user_list_rows

    first, second = organization_create(actor=SYSTEM, name="Zeta"), organization_create(actor=SYSTEM, name="Alpha")
    membership_add(actor=SYSTEM, org=first, user=people["Ana"])
    membership_add(actor=SYSTEM, org=second, user=people["Ana"], role=MembershipRole.ADMIN)
    User.objects.filter(pk=people["Bo"].pk).update(last_login=timezone.now() - timedelta(microseconds=7))
    queryset = selectors.user_list().filter(email__endswith="@example.test").order_by("email")

    fast = user_list_rows(list(selectors.user_rows(queryset)))

    assert fast == UserSerializer(queryset, many=True).data
    assert [org["name"] for org in fast[0]["organizations"]] == ["Alpha", "Zeta"]
    assert fast[1]["last_login"].endswith("Z") and fast[2]["last_login"] is None


@pytest.mark.parametrize(
    "value",
    [
        "2025-03-04T05:06:07+00:00",  # whole seconds: no fraction, as isoformat() writes them
        "2025-03-04T05:06:07.5+00:00",  # trailing zeros of the microseconds kept
        "2025-03-04T05:06:07.000001+00:00",
        "2025-03-04T23:30:00.123456+05:30",  # written with another offset: the API gives the UTC instant
        "2024-02-29T23:59:59.999999-11:00",  # the UTC date is the next day (a leap day before it)
        "0999-12-31T23:59:59.25+00:00",  # a year of three digits is padded as isoformat() pads it
    ],
)
def test_list_row_timestamps_are_the_serializers_text_for_every_kind_of_value(in_a, people, value):
    from datetime import datetime

    from users import selectors
    from users.api.serializers import UserSerializer, user_list_rows

    moment = datetime.fromisoformat(value)
    User.objects.filter(pk=people["Ana"].pk).update(created_at=moment, updated_at=moment, last_login=moment)
    queryset = selectors.user_list().filter(pk=people["Ana"].pk)

    [fast] = user_list_rows(list(selectors.user_rows(queryset)))
    [slow] = UserSerializer(queryset, many=True).data

    assert fast == slow
    assert fast["created_at"] == fast["updated_at"] == fast["last_login"] == slow["created_at"]
    assert selectors.user_row_value(next(iter(selectors.user_rows(queryset))), "created_at") == moment


def test_user_list_cursors_carry_the_exact_timestamps_of_the_rows(member, people):
    import base64
    import json

    from django.utils import timezone

    User.objects.filter(pk=people["Bo"].pk).update(created_at=timezone.now().replace(microsecond=0))
    for ordering, field in (("-created_at", "created_at"), ("last_login", "last_login")):
        body = member.get(USERS, {"ordering": ordering, "pagination": "cursor", "page_size": 1}).json()
        while body["next"]:
            payload = json.loads(base64.urlsafe_b64decode(body["next_cursor"] + "=" * (-len(body["next_cursor"]) % 4)))
            last = User.objects.get(pk=body["results"][-1]["id"])
            value = getattr(last, field)
            # the same text the model's own datetime gives (isoformat, +00:00): cursors made before still work
            assert payload["v"] == [value.isoformat() if value else None, str(last.pk)], ordering
            body = member.get(body["next"]).json()
