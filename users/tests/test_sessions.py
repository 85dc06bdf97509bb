"""Sessions (API.md, "Sessions"): one per sign-in (a refresh-token family), listed with their use; ended by their
user one at a time or all but the current, by an owner or admin all at once, by any change of credentials;
an ended session's refresh and access tokens stop on their next request, and every ending is recorded."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from activity.models import ActivityEntry
from conftest import PASSWORD, login
from p360.actors import SYSTEM
from service_accounts import services as sa_services
from users import services
from users.models import SessionEnd, UserRole, UserSession, UserStatus
from users.tests.factories import UserFactory
from users.tests.test_auth import assert_problem

pytestmark = pytest.mark.django_db

SESSIONS = "/api/v1/auth/sessions"


def sign_in(client_for, tenant, api, user, agent="TestAgent/1.0"):
    """A new session of the user: (a client sending its access token, its tokens)."""
    tokens = login(api, user.email) if agent is None else _login_as(api, user.email, agent)
    return client_for(tenant, tokens["access"]), tokens


def _login_as(api, email, agent):
    response = api.post(
        "/api/v1/auth/token", {"email": email, "password": PASSWORD}, format="json", HTTP_USER_AGENT=agent
    )
    assert response.status_code == 200, response.content
    return response.json()


def _refresh(api, refresh):
    return api.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")


def _revocations(user, verb="auth.session"):
    return ActivityEntry.objects.filter(verb__startswith=verb, target_id=user.pk).order_by("occurred_at")


def test_each_sign_in_is_a_session_listed_with_its_use_and_which_is_current(api_a, client_for, tenant_a, in_a):
    user = UserFactory(email="sam@example.test")
    laptop, _ = sign_in(client_for, tenant_a, api_a, user, agent="Laptop/1.0")
    sign_in(client_for, tenant_a, api_a, user, agent="Phone/2.0")

    response = laptop.get(SESSIONS)

    assert response.status_code == 200
    sessions = response.json()
    assert [s["user_agent"] for s in sessions] == ["Phone/2.0", "Laptop/1.0"]  # the most recently used first
    assert [s["current"] for s in sessions] == [False, True]
    assert set(sessions[0]) == {"id", "created_at", "last_used_at", "ip", "user_agent", "current"}
    assert sessions[1]["ip"] == "127.0.0.1"
    assert sessions[1]["created_at"].endswith("Z") and sessions[1]["last_used_at"].endswith("Z")


def test_a_refresh_keeps_the_session_and_a_sign_out_ends_it_with_its_access_tokens(api_a, client_for, tenant_a, in_a):
    user = UserFactory(email="ann@example.test")
    client, tokens = sign_in(client_for, tenant_a, api_a, user)
    session_id = client.get(SESSIONS).json()[0]["id"]

    rotated = _refresh(api_a, tokens["refresh"]).json()
    renewed = client_for(tenant_a, rotated["access"])
    assert [s["id"] for s in renewed.get(SESSIONS).json()] == [session_id]
    assert renewed.get(SESSIONS).json()[0]["current"] is True

    assert api_a.post("/api/v1/auth/logout", {"refresh": rotated["refresh"]}, format="json").status_code == 204
    assert_problem(renewed.get("/api/v1/auth/me"), 401, "token_not_valid")  # at once, not at the token's expiry
    assert_problem(client.get("/api/v1/auth/me"), 401, "token_not_valid")
    assert UserSession.objects.get(pk=session_id).end_reason == SessionEnd.LOGOUT


def test_ending_one_session_stops_its_tokens_at_once_and_is_recorded(api_a, client_for, tenant_a, in_a):
    user = UserFactory(email="bea@example.test")
    laptop, _ = sign_in(client_for, tenant_a, api_a, user)
    phone, phone_tokens = sign_in(client_for, tenant_a, api_a, user)
    phone_id = next(s["id"] for s in phone.get(SESSIONS).json() if s["current"])

    response = laptop.delete(f"{SESSIONS}/{phone_id}")

    assert response.status_code == 204
    assert_problem(phone.get("/api/v1/auth/me"), 401, "token_not_valid")
    assert_problem(_refresh(api_a, phone_tokens["refresh"]), 401, "token_not_valid")
    assert laptop.get("/api/v1/auth/me").status_code == 200
    assert [s["id"] for s in laptop.get(SESSIONS).json()] != [phone_id]
    entry = _revocations(user).get()
    assert entry.verb == "auth.session_revoked" and entry.actor_id == user.pk
    assert entry.metadata == {"reason": "revoked", "count": 1, "sessions": [phone_id]}
    assert_problem(laptop.delete(f"{SESSIONS}/{phone_id}"), 404, "not_found")  # ended: no longer there


def test_a_session_of_someone_else_or_unknown_is_404_and_ending_the_current_one_signs_out(
    api_a, client_for, tenant_a, in_a
):
    mine = UserFactory(email="cal@example.test")
    theirs = UserFactory(email="dee@example.test")
    client, _ = sign_in(client_for, tenant_a, api_a, mine)
    other, _ = sign_in(client_for, tenant_a, api_a, theirs)
    their_id = other.get(SESSIONS).json()[0]["id"]

    assert_problem(client.delete(f"{SESSIONS}/{their_id}"), 404, "not_found")
    assert_problem(client.delete(f"{SESSIONS}/00000000-0000-0000-0000-000000000000"), 404, "not_found")
    assert client.delete(f"{SESSIONS}/not-a-uuid").status_code == 404
    assert other.get("/api/v1/auth/me").status_code == 200

    current = client.get(SESSIONS).json()[0]["id"]
    assert client.delete(f"{SESSIONS}/{current}").status_code == 204
    assert_problem(client.get("/api/v1/auth/me"), 401, "token_not_valid")


def test_revoke_others_keeps_only_the_current_session(api_a, client_for, tenant_a, in_a):
    user = UserFactory(email="eli@example.test")
    others = [sign_in(client_for, tenant_a, api_a, user)[0] for _ in range(3)]
    current, _ = sign_in(client_for, tenant_a, api_a, user)

    response = current.post(f"{SESSIONS}/revoke-others")
    again = current.post(f"{SESSIONS}/revoke-others")

    assert response.status_code == 200 and response.json() == {"revoked": 3}
    assert again.json() == {"revoked": 0}
    assert all(c.get("/api/v1/auth/me").status_code == 401 for c in others)
    assert current.get("/api/v1/auth/me").status_code == 200
    assert [s["current"] for s in current.get(SESSIONS).json()] == [True]
    entry = _revocations(user).get()  # one entry for the three; none for the call that ended nothing
    assert entry.verb == "auth.sessions_revoked" and entry.metadata["count"] == 3


def test_admins_list_and_end_a_users_sessions_within_the_limits_on_owners(as_role, api_a, client_for, tenant_a):
    admin, member = as_role("admin"), as_role("member")
    owner = as_role("owner")
    target = UserFactory(email="fox@example.test")
    device, _ = sign_in(client_for, tenant_a, api_a, target)
    sign_in(client_for, tenant_a, api_a, target)

    listed = admin.get(f"/api/v1/users/{target.pk}/sessions")
    assert listed.status_code == 200 and len(listed.json()) == 2
    assert {s["current"] for s in listed.json()} == {False}
    assert_problem(member.get(f"/api/v1/users/{target.pk}/sessions"), 403, "permission_denied")
    assert_problem(member.post(f"/api/v1/users/{target.pk}/sessions/revoke"), 403, "permission_denied")
    assert member.get(f"/api/v1/users/{member.user.pk}/sessions").status_code == 200  # their own
    assert_problem(admin.get(f"/api/v1/users/{owner.user.pk}/sessions"), 403, "permission_denied")
    assert_problem(admin.post(f"/api/v1/users/{owner.user.pk}/sessions/revoke"), 403, "permission_denied")
    assert owner.get(f"/api/v1/users/{admin.user.pk}/sessions").status_code == 200
    assert_problem(admin.get("/api/v1/users/00000000-0000-0000-0000-000000000000/sessions"), 404, "not_found")

    response = admin.post(f"/api/v1/users/{target.pk}/sessions/revoke")

    assert response.status_code == 200 and response.json() == {"revoked": 2}
    assert_problem(device.get("/api/v1/auth/me"), 401, "token_not_valid")
    assert admin.get(f"/api/v1/users/{target.pk}/sessions").json() == []
    entry = _revocations(target).get()
    assert entry.actor_id == admin.user.pk and entry.metadata["reason"] == "revoked_by_admin"
    assert owner.get("/api/v1/auth/me").status_code == 200  # the owner's own session is untouched


def test_keys_end_sessions_with_users_write_and_never_reach_their_own_routes_or_owners(as_role, api_a, client_for,
                                                                                       tenant_a):  # fmt: skip
    owner = as_role("owner")
    target = UserFactory(email="gil@example.test")
    device, _ = sign_in(client_for, tenant_a, api_a, target)

    def key(scopes):
        account = sa_services.service_account_create(actor=SYSTEM, name=f"k-{'-'.join(scopes)}", scopes=scopes)
        return client_for(tenant_a, sa_services.key_create(actor=SYSTEM, account=account).secret)

    reader, writer = key(["users:read"]), key(["users:write"])

    assert reader.get(f"/api/v1/users/{target.pk}/sessions").status_code == 200
    assert_problem(reader.post(f"/api/v1/users/{target.pk}/sessions/revoke"), 403, "insufficient_scope")
    assert_problem(writer.post(f"/api/v1/users/{owner.user.pk}/sessions/revoke"), 403, "permission_denied")
    assert_problem(writer.get(SESSIONS), 403, "insufficient_scope")  # a key has no session of its own
    assert_problem(writer.post(f"{SESSIONS}/revoke-others"), 403, "insufficient_scope")

    assert writer.post(f"/api/v1/users/{target.pk}/sessions/revoke").json() == {"revoked": 1}
    assert device.get("/api/v1/auth/me").status_code == 401
    entry = _revocations(target).get()
    assert entry.actor_type == "service" and entry.metadata["reason"] == "revoked_by_admin"


@pytest.mark.parametrize(
    "change",
    [
        lambda user: services.user_suspend(actor=SYSTEM, user=user),
        lambda user: services.user_deactivate(actor=SYSTEM, user=user),
        lambda user: services.user_set_role(actor=SYSTEM, user=user, role=UserRole.MEMBER),
    ],
    ids=["suspend", "deactivate", "demote"],
)
def test_a_change_of_status_or_a_lower_role_ends_every_session_and_says_how_many(
    change, api_a, client_for, tenant_a, in_a
):
    user = UserFactory(email="hap@example.test", role=UserRole.ADMIN)
    clients = [sign_in(client_for, tenant_a, api_a, user)[0] for _ in range(2)]

    change(user)

    assert UserSession.objects.filter(user=user, ended_at__isnull=True).count() == 0
    assert set(UserSession.objects.filter(user=user).values_list("end_reason", flat=True)) == {"credentials_changed"}
    assert all(c.get("/api/v1/auth/me").status_code == 401 for c in clients)
    entry = ActivityEntry.objects.filter(target_id=user.pk).exclude(verb="auth.login").latest("occurred_at")
    assert entry.metadata["sessions_ended"] == 2


def test_a_password_change_ends_every_session_the_current_one_included(api_a, client_for, tenant_a, in_a):
    user = UserFactory(email="ida@example.test")
    other, _ = sign_in(client_for, tenant_a, api_a, user)
    client, _ = sign_in(client_for, tenant_a, api_a, user)

    response = client.post(
        "/api/v1/auth/password/change",
        {"current_password": PASSWORD, "new_password": "An0ther-long-passphrase"},
        format="json",
    )

    assert response.status_code == 204
    assert other.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 401
    assert ActivityEntry.objects.get(verb="auth.password_changed").metadata["sessions_ended"] == 2


def test_a_spent_refresh_token_after_the_grace_ends_its_session(api_a, client_for, tenant_a, in_a, settings):
    user = UserFactory(email="jay@example.test")
    _client, tokens = sign_in(client_for, tenant_a, api_a, user)
    rotated = _refresh(api_a, tokens["refresh"]).json()

    within = _refresh(api_a, tokens["refresh"])  # a retry of a refresh whose answer was lost
    assert_problem(within, 401, "token_not_valid")
    assert client_for(tenant_a, rotated["access"]).get("/api/v1/auth/me").status_code == 200

    settings.P360_REFRESH_REUSE_GRACE_SECONDS = 0
    UserSession.objects.filter(user=user).update(refreshed_at=timezone.now() - timedelta(seconds=1))
    replay = _refresh(api_a, tokens["refresh"])  # someone else holds the family's old token

    assert_problem(replay, 401, "token_not_valid")
    assert client_for(tenant_a, rotated["access"]).get("/api/v1/auth/me").status_code == 401
    assert_problem(_refresh(api_a, rotated["refresh"]), 401, "token_not_valid")
    entry = _revocations(user).get()
    assert entry.actor_type == "system" and entry.metadata["reason"] == "refresh_reused"


def test_beyond_the_limit_the_least_recently_used_sessions_end(api_a, client_for, tenant_a, in_a, settings):
    settings.P360_SESSIONS_PER_USER = 2
    user = UserFactory(email="kit@example.test")
    oldest, _ = sign_in(client_for, tenant_a, api_a, user)
    UserSession.objects.filter(user=user).update(last_used_at=timezone.now() - timedelta(hours=1))
    sign_in(client_for, tenant_a, api_a, user)
    newest, _ = sign_in(client_for, tenant_a, api_a, user)

    assert oldest.get("/api/v1/auth/me").status_code == 401
    assert len(newest.get(SESSIONS).json()) == 2
    assert UserSession.objects.filter(end_reason=SessionEnd.LIMIT).count() == 1


def test_last_use_is_written_at_most_once_a_minute(api_a, client_for, tenant_a, in_a):
    user = UserFactory(email="lea@example.test")
    client, _ = sign_in(client_for, tenant_a, api_a, user)
    client.get("/api/v1/auth/me")

    with CaptureQueriesContext(connection) as warm:
        assert client.get("/api/v1/auth/me").status_code == 200
    assert not [q for q in warm.captured_queries if "users_usersession" in q["sql"] and "UPDATE" in q["sql"]]

    an_hour_ago = timezone.now() - timedelta(hours=1)
    UserSession.objects.filter(user=user).update(last_used_at=an_hour_ago)
    with CaptureQueriesContext(connection) as stale:
        assert client.get("/api/v1/auth/me", HTTP_USER_AGENT="Later/3.0").status_code == 200
    assert len([q for q in stale.captured_queries if "UPDATE" in q["sql"]]) == 1
    session = UserSession.objects.get(user=user)
    assert session.last_used_at > an_hour_ago and session.user_agent == "Later/3.0"


def test_a_token_without_a_session_or_of_an_unknown_session_is_401(api_a, client_for, tenant_a, in_a):
    user = UserFactory(email="max@example.test")
    bare = RefreshToken()
    bare["user_id"], bare["tenant"], bare["tv"] = str(user.pk), connection.schema_name, user.token_version
    assert_problem(client_for(tenant_a, str(bare.access_token)).get("/api/v1/auth/me"), 401, "token_not_valid")
    assert_problem(_refresh(api_a, str(bare)), 401, "token_not_valid")
    bare["sid"] = "00000000-0000-0000-0000-000000000000"
    assert_problem(client_for(tenant_a, str(bare.access_token)).get("/api/v1/auth/me"), 401, "token_not_valid")
    bare["sid"] = "not-a-uuid"
    assert_problem(client_for(tenant_a, str(bare.access_token)).get("/api/v1/auth/me"), 401, "token_not_valid")


def test_a_request_with_a_token_reads_user_and_session_in_one_statement(api_a, client_for, tenant_a, in_a,
                                                                    django_assert_max_num_queries):  # fmt: skip
    user = UserFactory(email="ned@example.test")
    client, _ = sign_in(client_for, tenant_a, api_a, user)
    client.get("/api/v1/auth/me")

    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/auth/me")
    auth = [q["sql"] for q in queries.captured_queries if "users_usersession" in q["sql"]]
    assert len(auth) == 1 and "FROM users_user u JOIN users_usersession" in auth[0]  # one statement, both rows
    assert len(queries.captured_queries) == 2  # and the user's organizations, which /auth/me shows
    with django_assert_max_num_queries(2):
        assert client.get(SESSIONS).status_code == 200


def test_the_status_of_a_suspended_user_cannot_be_outlived_by_a_session(api_a, client_for, tenant_a, in_a):
    """Sessions end with the change; a later activation does not bring them back."""
    user = UserFactory(email="oli@example.test")
    client, tokens = sign_in(client_for, tenant_a, api_a, user)
    services.user_set_status(actor=SYSTEM, user=user, status=UserStatus.SUSPENDED)
    services.user_set_status(actor=SYSTEM, user=user, status=UserStatus.ACTIVE)

    assert client.get("/api/v1/auth/me").status_code == 401
    assert_problem(_refresh(api_a, tokens["refresh"]), 401, "token_not_valid")
    assert client_for(tenant_a, login(api_a, user.email)["access"]).get(SESSIONS).json()[0]["current"] is True


def test_the_tenant_admin_shows_live_sessions_and_ends_them_through_the_service(api_a, client_for, tenant_a, in_a):
    from tenants.tests.test_platform import _admin_client

    admin = UserFactory(email="desk@example.test", role=UserRole.ADMIN, is_staff=True)
    owner = UserFactory(email="top@example.test", role=UserRole.OWNER)
    target = UserFactory(email="pat@example.test")
    device, _ = sign_in(client_for, tenant_a, api_a, target, agent="Device/9.9")
    owners_device, _ = sign_in(client_for, tenant_a, api_a, owner)
    staff = _admin_client("alpha.localhost", admin.email)

    page = staff.get(f"/admin/users/user/{target.pk}/change/")
    assert page.status_code == 200 and b"Device/9.9" in page.content
    response = staff.post(
        "/admin/users/user/",
        {"action": "end_sessions", "_selected_action": [str(target.pk), str(owner.pk)], "index": "0"},
        follow=True,
    )

    shown = [str(m) for m in response.context["messages"]]
    assert "1 user(s) signed out everywhere." in shown
    assert any(m.startswith("top@example.test: ") for m in shown)  # admins don't touch owners
    assert device.get("/api/v1/auth/me").status_code == 401
    assert owners_device.get("/api/v1/auth/me").status_code == 200
    entry = _revocations(target).get()
    assert entry.actor_id == admin.pk and entry.metadata["reason"] == "revoked_by_admin"
    assert b"Device/9.9" not in staff.get(f"/admin/users/user/{target.pk}/change/").content


def test_prune_sessions_deletes_only_sessions_that_ended_or_expired_long_ago(api_a, client_for, tenant_a, in_a):
    import io
    import json

    from django.core.management import call_command

    user = UserFactory(email="quin@example.test")
    live, _ = sign_in(client_for, tenant_a, api_a, user)
    for _ in range(3):
        sign_in(client_for, tenant_a, api_a, user)
    ids = list(UserSession.objects.filter(user=user).order_by("created_at").values_list("id", flat=True))
    long_ago = timezone.now() - timedelta(days=40)
    UserSession.objects.filter(pk=ids[1]).update(ended_at=long_ago, end_reason=SessionEnd.LOGOUT)
    UserSession.objects.filter(pk=ids[2]).update(expires_at=long_ago)
    UserSession.objects.filter(pk=ids[3]).update(ended_at=timezone.now() - timedelta(days=2))
    connection.set_schema_to_public()

    out = io.StringIO()
    call_command("prune_sessions", "--tenant", "alpha", "--json", stdout=out)

    assert json.loads(out.getvalue()) == {"deleted": {"alpha": 2}}
    connection.set_tenant(tenant_a)
    assert set(UserSession.objects.filter(user=user).values_list("id", flat=True)) == {ids[0], ids[3]}
    assert live.get("/api/v1/auth/me").status_code == 200


def test_platform_staff_have_sessions_on_the_base_domain_too(client_for, db):
    from users.models import User

    connection.set_schema_to_public()
    staff = User.objects.create_superuser("ops-sessions@platform.test", PASSWORD, first_name="Ops", last_name="S")
    first = client_for(None, login(client_for(None), staff.email)["access"])
    second = client_for(None, login(client_for(None), staff.email)["access"])

    assert len(first.get(SESSIONS).json()) == 2
    assert first.post(f"{SESSIONS}/revoke-others").json() == {"revoked": 1}
    assert second.get("/api/v1/auth/me").status_code == 401
    assert first.get("/api/v1/auth/me").status_code == 200


def test_an_operator_lists_and_ends_a_users_sessions_from_the_cli(api_a, client_for, tenant_a, in_a):
    import io
    import json

    from django.core.management import CommandError, call_command

    user = UserFactory(email="Rex@Example.test")
    device, _ = sign_in(client_for, tenant_a, api_a, user, agent="Kiosk/1.0")
    connection.set_schema_to_public()

    def run(*args):
        out = io.StringIO()
        call_command("sessions", *args, "--tenant", "alpha", stdout=out)
        return out.getvalue()

    listed = json.loads(run("list", "--email", "rex@example.test", "--json"))
    assert [s["user_agent"] for s in listed["sessions"]] == ["Kiosk/1.0"]
    assert "Kiosk/1.0" in run("list", "--email", " REX@example.test ")
    assert json.loads(run("revoke", "--email", "rex@example.test", "--json")) == {"user": user.email, "revoked": 1}
    assert "no live session" in run("list", "--email", "rex@example.test")
    with pytest.raises(CommandError, match="no user"):
        run("revoke", "--email", "nobody@example.test")

    connection.set_tenant(tenant_a)
    assert device.get("/api/v1/auth/me").status_code == 401
    entry = _revocations(user).get()
    assert entry.actor_type == "cli" and entry.metadata["reason"] == "revoked_by_admin"
