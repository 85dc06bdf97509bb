"""Authentication: login, refresh rotation, logout, me, password change, revocation and throttling."""

import pytest
from django.db import connection

from conftest import PASSWORD, cache_keys, login
from p360.actors import SYSTEM
from users import services
from users.models import User, UserRole, UserStatus
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == response["X-Request-ID"]
    return body


# --- login ---


def test_login_returns_tokens_and_user_and_records_last_login(api_a, in_a):
    user = UserFactory(email="Ada@Example.test")

    body = login(api_a, "ada@example.TEST ")

    assert set(body) == {"access", "refresh", "user"}
    assert body["user"]["id"] == str(user.id)
    assert body["user"]["email"] == "Ada@Example.test"
    assert "password" not in body["user"]
    assert body["user"]["last_login"] is not None
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize("case", ["wrong_password", "unknown_email", "suspended", "deactivated", "invited"])
def test_login_failures_all_look_the_same(api_a, in_a, case):
    UserFactory(email="bob@example.test")
    if case in ("suspended", "deactivated", "invited"):
        User.objects.filter(email="bob@example.test").update(status=case)
    email = "nobody@example.test" if case == "unknown_email" else "bob@example.test"
    password = "wrong-password-123" if case == "wrong_password" else PASSWORD

    response = api_a.post("/api/v1/auth/token", {"email": email, "password": password}, format="json")

    body = assert_problem(response, 401, "invalid_credentials")
    assert body["detail"] == "Invalid email or password."
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_login_rejects_missing_and_unknown_fields(api_a):
    response = api_a.post("/api/v1/auth/token", {"email": "a@b.test", "is_staff": True}, format="json")

    body = assert_problem(response, 400, "invalid")
    fields = {error["field"]: error["code"] for error in body["errors"]}
    assert fields == {"password": "required", "is_staff": "not_allowed"}


def test_login_of_a_user_of_another_tenant_fails(api_b, in_a):
    UserFactory(email="only-in-alpha@example.test")

    response = api_b.post(
        "/api/v1/auth/token", {"email": "only-in-alpha@example.test", "password": PASSWORD}, format="json"
    )

    assert_problem(response, 401, "invalid_credentials")


# --- throttling ---


def test_login_is_throttled_per_email(api_a, in_a, settings):
    settings.P360_LOGIN_RATE_EMAIL = "3/min"
    UserFactory(email="carol@example.test")
    for _ in range(3):
        api_a.post("/api/v1/auth/token", {"email": "carol@example.test", "password": "nope-nope-1"}, format="json")

    response = api_a.post("/api/v1/auth/token", {"email": "CAROL@example.test", "password": PASSWORD}, format="json")
    other = api_a.post("/api/v1/auth/token", {"email": "dave@example.test", "password": "x"}, format="json")

    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert other.status_code == 401  # another email is not throttled


def test_login_is_throttled_per_ip(api_a, settings):
    settings.P360_LOGIN_RATE_IP = "2/min"
    for n in range(2):
        api_a.post("/api/v1/auth/token", {"email": f"x{n}@example.test", "password": "x"}, format="json")

    response = api_a.post("/api/v1/auth/token", {"email": "fresh@example.test", "password": "x"}, format="json")
    spoofed = api_a.post(
        "/api/v1/auth/token",
        {"email": "y@example.test", "password": "x"},
        format="json",
        HTTP_X_FORWARDED_FOR="10.9.9.9",
    )

    assert_problem(response, 429, "throttled")
    assert spoofed.status_code == 429  # X-Forwarded-For is not trusted without configured proxies


def test_throttle_counters_are_per_tenant(api_a, api_b, settings):
    settings.P360_LOGIN_RATE_IP = "1/min"
    api_a.post("/api/v1/auth/token", {"email": "x@example.test", "password": "x"}, format="json")
    assert (
        api_a.post("/api/v1/auth/token", {"email": "x@example.test", "password": "x"}, format="json").status_code == 429
    )

    response = api_b.post("/api/v1/auth/token", {"email": "x@example.test", "password": "x"}, format="json")

    assert response.status_code == 401


def test_throttling_off_disables_login_throttles(api_a, settings):
    settings.P360_LOGIN_RATE_IP = "1/min"
    settings.P360_THROTTLE = False

    codes = {
        api_a.post("/api/v1/auth/token", {"email": "x@e.test", "password": "x"}, format="json").status_code
        for _ in range(3)
    }

    assert codes == {401}


# --- refresh and logout ---


def test_refresh_rotates_and_the_old_refresh_token_is_spent(api_a, in_a):
    UserFactory(email="eve@example.test")
    first = login(api_a, "eve@example.test")

    rotated = api_a.post("/api/v1/auth/token/refresh", {"refresh": first["refresh"]}, format="json")
    replay = api_a.post("/api/v1/auth/token/refresh", {"refresh": first["refresh"]}, format="json")

    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"}
    assert rotated.json()["refresh"] != first["refresh"]
    assert_problem(replay, 401, "token_not_valid")
    again = api_a.post("/api/v1/auth/token/refresh", {"refresh": rotated.json()["refresh"]}, format="json")
    assert again.status_code == 200


def test_access_token_is_not_a_refresh_token_and_vice_versa(api_a, client_for, tenant_a, in_a):
    UserFactory(email="fay@example.test")
    tokens = login(api_a, "fay@example.test")

    as_refresh = api_a.post("/api/v1/auth/token/refresh", {"refresh": tokens["access"]}, format="json")
    as_access = client_for(tenant_a, tokens["refresh"]).get("/api/v1/auth/me")

    assert_problem(as_refresh, 401, "token_not_valid")
    assert_problem(as_access, 401, "token_not_valid")


def test_logout_spends_the_refresh_token(api_a, in_a):
    UserFactory(email="gus@example.test")
    tokens = login(api_a, "gus@example.test")

    response = api_a.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    refresh = api_a.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    twice = api_a.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 204
    assert_problem(refresh, 401, "token_not_valid")
    assert_problem(twice, 401, "token_not_valid")


def test_refresh_of_a_deleted_user_is_401_not_500(api_a, in_a):
    user = UserFactory(email="hal@example.test")
    tokens = login(api_a, "hal@example.test")
    user.delete()

    response = api_a.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")

    assert_problem(response, 401, "token_not_valid")


def test_refresh_with_a_stale_token_version_is_401(api_a, in_a):
    user = UserFactory(email="ivy@example.test")
    tokens = login(api_a, "ivy@example.test")
    services.user_set_status(actor=SYSTEM, user=user, status=UserStatus.SUSPENDED)
    services.user_set_status(actor=SYSTEM, user=user, status=UserStatus.ACTIVE)

    response = api_a.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")

    assert_problem(response, 401, "token_not_valid")


def test_a_refresh_token_of_tenant_a_is_401_on_tenant_b(api_a, api_b, in_a):
    UserFactory(email="jon@example.test")
    tokens = login(api_a, "jon@example.test")

    response = api_b.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")

    assert_problem(response, 401, "token_not_valid")


# --- me ---


def test_me_returns_the_caller_with_an_etag(client_for, tenant_a, api_a, in_a):
    user = UserFactory(email="kim@example.test", job_title="Engineer")
    token = login(api_a, "kim@example.test")["access"]

    response = client_for(tenant_a, token).get("/api/v1/auth/me")

    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)
    assert response.json()["job_title"] == "Engineer"
    assert response["ETag"].startswith('"')


def test_me_without_a_token_is_401_with_a_bearer_challenge(api_a):
    response = api_a.get("/api/v1/auth/me")

    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="p360"'


def test_patch_me_updates_the_profile_and_trims_names(client_for, tenant_a, api_a, in_a):
    UserFactory(email="lea@example.test")
    client = client_for(tenant_a, login(api_a, "lea@example.test")["access"])

    response = client.patch(
        "/api/v1/auth/me",
        {"first_name": "  Léa ", "timezone": "Europe/Paris", "locale": "fr-FR", "phone": "+33 1 23"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["first_name"], body["timezone"], body["locale"], body["phone"]) == (
        "Léa",
        "Europe/Paris",
        "fr-FR",
        "+33 1 23",
    )
    assert User.objects.get(email="lea@example.test").first_name == "Léa"


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"role": "owner"}, "role", "not_allowed"),
        ({"status": "active"}, "status", "not_allowed"),
        ({"email": "other@example.test"}, "email", "not_allowed"),
        ({"is_staff": True}, "is_staff", "not_allowed"),
        ({"first_name": "   "}, "first_name", "blank"),
        ({"first_name": "x" * 151}, "first_name", "max_length"),
        ({"last_name": "Bad\x07Name"}, "last_name", "invalid"),
        ({"timezone": "Mars/Olympus"}, "timezone", "invalid"),
        ({"locale": "not a locale"}, "locale", "invalid"),
    ],
)
def test_patch_me_rejects_forbidden_and_invalid_fields(client_for, tenant_a, api_a, in_a, payload, field, code):
    user = UserFactory(email="max@example.test")
    client = client_for(tenant_a, login(api_a, "max@example.test")["access"])

    response = client.patch("/api/v1/auth/me", payload, format="json")

    body = assert_problem(response, 400, "invalid")
    assert {"field": field, "code": code} == {k: body["errors"][0][k] for k in ("field", "code")}
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.role, fresh.status, fresh.email, fresh.is_staff) == (
        UserRole.MEMBER,
        UserStatus.ACTIVE,
        "max@example.test",
        False,
    )


def test_patch_me_with_a_stale_if_match_is_412_and_changes_nothing(client_for, tenant_a, api_a, in_a):
    UserFactory(email="ned@example.test", first_name="Ned")
    client = client_for(tenant_a, login(api_a, "ned@example.test")["access"])
    etag = client.get("/api/v1/auth/me")["ETag"]
    assert client.patch("/api/v1/auth/me", {"job_title": "CTO"}, format="json", HTTP_IF_MATCH=etag).status_code == 200

    stale = client.patch("/api/v1/auth/me", {"first_name": "Edward"}, format="json", HTTP_IF_MATCH=etag)

    assert_problem(stale, 412, "precondition_failed")
    assert User.objects.get(email="ned@example.test").first_name == "Ned"


# --- password change and revocation ---


def test_password_change_revokes_every_earlier_token(client_for, tenant_a, api_a, in_a):
    UserFactory(email="oli@example.test")
    tokens = login(api_a, "oli@example.test")
    client = client_for(tenant_a, tokens["access"])

    response = client.post(
        "/api/v1/auth/password/change",
        {"current_password": PASSWORD, "new_password": "a-brand-new-Secret-9"},
        format="json",
    )

    assert response.status_code == 204
    assert_problem(client.get("/api/v1/auth/me"), 401, "token_not_valid")
    assert api_a.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert login(api_a, "oli@example.test", "a-brand-new-Secret-9")["access"]


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        ("wrong-current-pass", "a-brand-new-Secret-9", "current_password"),
        (PASSWORD, "short", "new_password"),
        (PASSWORD, "12345678901", "new_password"),
    ],
)
def test_password_change_failures_change_nothing(client_for, tenant_a, api_a, in_a, current, new, field):
    UserFactory(email="pam@example.test")
    client = client_for(tenant_a, login(api_a, "pam@example.test")["access"])

    response = client.post(
        "/api/v1/auth/password/change", {"current_password": current, "new_password": new}, format="json"
    )

    body = assert_problem(response, 400, "invalid")
    assert body["errors"][0]["field"] == field
    assert client.get("/api/v1/auth/me").status_code == 200
    assert User.objects.get(email="pam@example.test").check_password(PASSWORD)


@pytest.mark.parametrize(
    "change",
    [
        lambda user: services.user_set_status(actor=SYSTEM, user=user, status=UserStatus.SUSPENDED),
        lambda user: services.user_set_status(actor=SYSTEM, user=user, status=UserStatus.DEACTIVATED),
        lambda user: services.user_set_role(actor=SYSTEM, user=user, role=UserRole.MEMBER),
    ],
    ids=["suspend", "deactivate", "demote"],
)
def test_revoking_changes_end_tokens_on_the_next_request(client_for, tenant_a, api_a, in_a, change):
    user = UserFactory(email="quinn@example.test", role=UserRole.ADMIN)
    client = client_for(tenant_a, login(api_a, "quinn@example.test")["access"])
    assert client.get("/api/v1/auth/me").status_code == 200

    change(User.objects.get(pk=user.pk))

    assert_problem(client.get("/api/v1/auth/me"), 401, "token_not_valid")


def test_promotion_keeps_tokens(client_for, tenant_a, api_a, in_a):
    user = UserFactory(email="rae@example.test")
    client = client_for(tenant_a, login(api_a, "rae@example.test")["access"])

    services.user_set_role(actor=SYSTEM, user=user, role=UserRole.ADMIN)

    assert client.get("/api/v1/auth/me").json()["role"] == "admin"


# --- tenant binding and forged tokens ---


def test_a_token_of_tenant_a_is_401_on_tenant_b_for_a_user_id_present_in_both(client_for, tenant_a, tenant_b, api_a):
    connection.set_tenant(tenant_a)
    twin = UserFactory(email="twin@example.test")
    connection.set_tenant(tenant_b)
    User.objects.create_user("twin@example.test", PASSWORD, id=twin.id, first_name="Twin", last_name="B")
    token = login(api_a, "twin@example.test")["access"]

    on_b = client_for(tenant_b, token).get("/api/v1/auth/me")
    on_a = client_for(tenant_a, token).get("/api/v1/auth/me")

    assert_problem(on_b, 401, "token_not_valid")
    assert on_a.status_code == 200


def test_a_tenant_token_is_401_on_the_platform_host(client_for, tenant_a, api_a, in_a):
    UserFactory(email="sam@example.test")
    token = login(api_a, "sam@example.test")["access"]

    response = client_for(None, token).get("/api/v1/auth/me")

    assert_problem(response, 401, "token_not_valid")


def _forge(payload: dict, key: str = "", algorithm: str = "HS256") -> str:
    import jwt
    from django.conf import settings

    return jwt.encode(payload, key or settings.SECRET_KEY, algorithm=algorithm)


def _claims_of(token: str) -> dict:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize("attack", ["alg_none", "tampered", "wrong_key", "expired", "garbage", "no_tenant"])
def test_forged_tokens_are_401_never_500(client_for, tenant_a, api_a, in_a, attack):
    import base64
    import json
    import time

    UserFactory(email="tom@example.test")
    token = login(api_a, "tom@example.test")["access"]
    claims = _claims_of(token)
    if attack == "alg_none":
        header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        forged = f"{header}.{body}."
    elif attack == "tampered":
        head, _body, signature = token.split(".")
        other = UserFactory(email="victim@example.test", role=UserRole.OWNER)
        body = base64.urlsafe_b64encode(json.dumps({**claims, "user_id": str(other.id)}).encode()).rstrip(b"=").decode()
        forged = f"{head}.{body}.{signature}"
    elif attack == "wrong_key":
        forged = _forge(claims, key="not-the-server-key-but-long-enough-0123456789")
    elif attack == "expired":
        forged = _forge({**claims, "exp": int(time.time()) - 10})
    elif attack == "no_tenant":
        forged = _forge({k: v for k, v in claims.items() if k != "tenant"})
    else:
        forged = "not.a.jwt"

    response = client_for(tenant_a, forged).get("/api/v1/auth/me")

    assert_problem(response, 401, "token_not_valid")


def test_throttle_cache_keys_name_the_tenant(api_a, settings):
    settings.P360_LOGIN_RATE_IP = "5/min"
    api_a.post("/api/v1/auth/token", {"email": "u@e.test", "password": "x"}, format="json")

    keys = cache_keys()

    assert any("t_alpha" in key and "login_ip" in key for key in keys), keys


def test_production_settings_hash_passwords_with_argon2id():
    from django.contrib.auth.hashers import make_password

    from p360 import settings as production

    hashed = make_password("some-password-123", hasher=_first_hasher(production.PASSWORD_HASHERS))

    assert hashed.startswith("argon2$argon2id$")


def _first_hasher(dotted_paths):
    from django.utils.module_loading import import_string

    return import_string(dotted_paths[0])()


def test_the_admin_login_is_throttled_and_recorded(in_a, settings):
    from django.test import Client

    from activity.models import ActivityEntry

    settings.P360_LOGIN_RATE_EMAIL = "3/min"
    UserFactory(email="staff@example.test", role=UserRole.OWNER, is_staff=True)
    client = Client(HTTP_HOST="alpha.localhost")
    statuses = [
        client.post("/admin/login/", {"username": "staff@example.test", "password": "wrong-password"}).status_code
        for _ in range(4)
    ]

    assert statuses == [200, 200, 200, 429]
    assert ActivityEntry.objects.filter(verb="auth.login_failed", metadata__email="staff@example.test").count() == 3
    settings.P360_LOGIN_RATE_EMAIL = "100/min"
    ok = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="10.0.0.9").post(
        "/admin/login/", {"username": "other@example.test", "password": "x"}
    )
    assert ok.status_code == 200


# --- the per-process cache of verified access tokens ---


def _cached_client(client_for, tenant_a, api_a, email, **fields):
    from users import authentication

    user = UserFactory(email=email, **fields)
    token = login(api_a, email)["access"]
    client = client_for(tenant_a, token)
    assert client.get("/api/v1/auth/me").status_code == 200
    assert token.encode() in authentication._verified
    return user, token, client


def _no_verification(monkeypatch):
    """Any token not served from the cache fails: proves the next requests use it."""
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken

    def fail(self, raw_token):
        raise InvalidToken("verified again")

    monkeypatch.setattr(JWTAuthentication, "get_validated_token", fail)


def test_a_cached_token_that_has_expired_is_401_and_forgotten(client_for, tenant_a, api_a, in_a, monkeypatch):
    from datetime import timedelta

    from django.conf import settings
    from rest_framework_simplejwt.utils import aware_utcnow

    from users import authentication

    _user, token, client = _cached_client(client_for, tenant_a, api_a, "uma@example.test")
    _no_verification(monkeypatch)
    assert client.get("/api/v1/auth/me").status_code == 200  # from the cache
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    monkeypatch.setattr(authentication, "aware_utcnow", lambda: aware_utcnow() + lifetime + timedelta(seconds=1))

    assert_problem(client.get("/api/v1/auth/me"), 401, "token_not_valid")
    assert token.encode() not in authentication._verified


@pytest.mark.parametrize(
    "change",
    [
        lambda user: services.user_set_status(actor=SYSTEM, user=user, status=UserStatus.SUSPENDED),
        lambda user: User.objects.filter(pk=user.pk).update(token_version=user.token_version + 1),
        lambda user: User.objects.filter(pk=user.pk).delete(),
    ],
    ids=["suspend", "new_token_version", "deleted"],
)
def test_a_cached_token_still_checks_its_user_on_every_request(client_for, tenant_a, api_a, in_a, monkeypatch, change):
    user, _token, client = _cached_client(client_for, tenant_a, api_a, "vic@example.test")
    _no_verification(monkeypatch)
    assert client.get("/api/v1/auth/me").status_code == 200

    change(User.objects.get(pk=user.pk))

    assert_problem(client.get("/api/v1/auth/me"), 401, "token_not_valid")


def test_a_cached_token_is_still_401_on_another_tenant(client_for, tenant_a, tenant_b, api_a, in_a, monkeypatch):
    _user, token, _client = _cached_client(client_for, tenant_a, api_a, "wes@example.test")
    _no_verification(monkeypatch)

    assert_problem(client_for(tenant_b, token).get("/api/v1/auth/me"), 401, "token_not_valid")


def test_the_token_cache_is_bounded_and_drops_the_oldest_first(client_for, tenant_a, api_a, in_a, monkeypatch):
    from users import authentication

    authentication.forget_verified_tokens()
    monkeypatch.setattr(authentication, "VERIFIED_TOKENS_MAX", 2)
    UserFactory(email="xia@example.test")
    tokens = [login(api_a, "xia@example.test")["access"] for _ in range(3)]
    for token in tokens:
        assert client_for(tenant_a, token).get("/api/v1/auth/me").status_code == 200

    assert list(authentication._verified) == [tokens[1].encode(), tokens[2].encode()]
