"""Service accounts and their API keys over the API: management by owners and admins only, the secret shown
once, keys bound to their tenant and scopes, every bad key the same 401, and what a key does recorded as the
service account."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activity.models import ActivityEntry
from p360.actors import SYSTEM
from service_accounts import services
from service_accounts.models import ApiKey, ServiceAccount
from users.models import UserRole
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/service-accounts"


def _key(scopes, name="sync", **kwargs) -> tuple[ServiceAccount, str]:
    account = services.service_account_create(actor=SYSTEM, name=name, scopes=scopes)
    created = services.key_create(actor=SYSTEM, account=account, **kwargs)
    return account, created.secret


@pytest.fixture
def keyed(in_a, client_for, tenant_a):
    """keyed(scopes) -> (a client of tenant alpha sending a new key of those scopes, its account, its secret)."""
    counter = iter(range(100))

    def make(scopes, **kwargs):
        account, secret = _key(scopes, name=f"sync-{next(counter)}", **kwargs)
        return client_for(tenant_a, secret), account, secret

    return make


def test_admins_manage_accounts_and_see_a_keys_secret_once(as_role):
    admin = as_role(UserRole.ADMIN)
    created = admin.post(ACCOUNTS, {"name": "HR sync", "description": "Workday", "scopes": ["users:write"]})
    assert created.status_code == 201, created.content
    account = created.json()
    assert (account["name"], account["scopes"], account["status"], account["keys"]) == (
        "HR sync",
        ["users:write"],
        "active",
        [],
    )

    key = admin.post(f"{ACCOUNTS}/{account['id']}/keys", {"expires_at": None})
    assert key.status_code == 201 and key["Cache-Control"] == "no-store"
    body = key.json()
    assert body["secret"].startswith(body["prefix"] + "_") and body["expires_at"] is None
    listed = admin.get(ACCOUNTS).content.decode()
    assert body["prefix"] in listed and body["secret"] not in listed
    stored = ApiKey.objects.get(pk=body["id"])
    assert body["secret"] not in stored.secret_hash and len(stored.secret_hash) == 64
    entries = ActivityEntry.objects.filter(target_id=account["id"])
    assert {e.verb for e in entries} == {"service_account.created", "service_account.key_created"}
    assert all(body["secret"] not in str(e.metadata) + str(e.changes) for e in entries)

    assert admin.patch(f"{ACCOUNTS}/{account['id']}", {"scopes": ["users:read", "nope"]}).status_code == 400
    revoked = admin.delete(f"{ACCOUNTS}/{account['id']}/keys/{body['id']}")
    assert revoked.status_code == 204
    assert admin.get(f"{ACCOUNTS}/{account['id']}").json()["keys"][0]["revoked_at"] is not None


def test_members_and_keys_never_manage_service_accounts(as_role, keyed):
    member = as_role(UserRole.MEMBER)
    assert member.get(ACCOUNTS).status_code == 403
    assert member.post(ACCOUNTS, {"name": "x"}).status_code == 403
    every_scope = [
        "users:write", "organizations:write", "activity:read", "events:read", "webhooks:manage",
        "attributes:manage", "scim",
    ]  # fmt: skip
    client, account, _secret = keyed(every_scope)
    for method, path in (("get", ACCOUNTS), ("post", ACCOUNTS), ("post", f"{ACCOUNTS}/{account.pk}/keys")):
        response = getattr(client, method)(path, {"name": "mine"} if method == "post" else None)
        assert response.status_code == 403 and response.json()["code"] == "insufficient_scope", (method, path)
    widened = client.patch(f"{ACCOUNTS}/{account.pk}", {"scopes": ["users:write"]})
    assert widened.status_code == 403
    assert ApiKey.objects.filter(service_account=account).count() == 1


def test_a_key_reads_what_its_scopes_open_and_nothing_else(keyed):
    reader, _account, _secret = keyed(["users:read"])
    assert reader.get("/api/v1/users").status_code == 200
    refused = reader.get("/api/v1/organizations")
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    assert refused["WWW-Authenticate"] == 'Bearer realm="p360", error="insufficient_scope", scope="organizations:read"'
    assert (
        reader.post("/api/v1/users", {"email": "x@example.test", "first_name": "X", "last_name": "Y"}).status_code
        == 403
    )
    me = reader.get("/api/v1/auth/me")  # a route that declares no scope: closed to keys
    assert me.status_code == 403 and me.json()["code"] == "insufficient_scope"

    writer, _account, _secret = keyed(["organizations:write"])
    assert writer.get("/api/v1/organizations").status_code == 200  # write holds read
    assert writer.post("/api/v1/organizations", {"name": "By key"}).status_code == 201


def test_what_a_key_does_is_recorded_as_its_service_account_within_an_admins_limits(keyed, in_a):
    client, account, secret = keyed(["users:write"])
    owner = UserFactory(email="the-owner@example.test", role=UserRole.OWNER)

    created = client.post("/api/v1/users", {"email": "by-key@example.test", "first_name": "B", "last_name": "K"})
    assert created.status_code == 201, created.content
    entry = ActivityEntry.objects.get(verb="user.invited", target_repr="by-key@example.test")
    key_id = ApiKey.objects.get(service_account=account).pk
    assert (entry.actor_type, entry.actor_id) == ("service", account.pk)
    assert entry.metadata == {"key_id": str(key_id), "service_account": account.name}
    assert secret not in str(entry.metadata)
    auditor, _, _ = keyed(["activity:read"])
    listed = auditor.get("/api/v1/activity", {"verb": "user.invited"}).json()["results"]
    assert [e["actor"] for e in listed] == [{"id": str(account.pk), "email": None, "full_name": account.name}]
    assert listed[0]["actor_type"] == "service"

    assert client.post(f"/api/v1/users/{owner.pk}/suspend").status_code == 403  # never owners
    granted = client.post(
        "/api/v1/users", {"email": "o2@example.test", "first_name": "O", "last_name": "T", "role": "owner"}
    )
    assert granted.status_code == 400 and granted.json()["errors"][0]["field"] == "role"


def test_every_bad_key_is_the_same_401(keyed, client_for, tenant_a, tenant_b, in_a):
    _client, _account, good = keyed(["users:read"])
    answers = {}

    def attempt(label, header):
        client = client_for(tenant_a)
        response = client.get("/api/v1/users", HTTP_AUTHORIZATION=header)
        answers[label] = (response.status_code, response.json()["code"], response.json()["detail"])

    _rev, revoked = _key(["users:read"], name="revoked")
    services.key_revoke(actor=SYSTEM, account=_rev, key_id=ApiKey.objects.get(service_account=_rev).pk)
    _exp, expired = _key(["users:read"], name="expired", expires_at=timezone.now() + timedelta(seconds=1))
    ApiKey.objects.filter(service_account=_exp).update(expires_at=timezone.now() - timedelta(seconds=1))
    _dis, disabled = _key(["users:read"], name="disabled")
    services.service_account_update(actor=SYSTEM, account=_dis, data={"status": "disabled"})
    _gone, deleted = _key(["users:read"], name="deleted")
    services.service_account_delete(actor=SYSTEM, account=_gone)
    connection.set_tenant(tenant_b)
    _other, other_tenant = _key(["users:read"], name="elsewhere")
    connection.set_tenant(tenant_a)

    attempt("revoked", f"Bearer {revoked}")
    attempt("expired", f"Bearer {expired}")
    attempt("disabled", f"Bearer {disabled}")
    attempt("deleted account", f"Bearer {deleted}")
    attempt("other tenant", f"Bearer {other_tenant}")
    attempt("wrong secret", f"Bearer {good[:-4]}{'A' if good[-4] != 'A' else 'B'}{good[-3:]}")
    attempt("truncated", f"Bearer {good[:-1]}")
    attempt("extra characters", f"Bearer {good}x")
    attempt("unknown id", f"Bearer p360_sk_{'0' * 32}_{good[-43:]}")
    assert set(answers.values()) == {(401, "invalid_token", "The API key is invalid, expired or revoked.")}, answers
    wrong_header = client_for(tenant_a).get("/api/v1/users", HTTP_AUTHORIZATION=f"Token {good}")
    assert wrong_header.status_code == 401
    assert client_for(tenant_a).get("/api/v1/users", HTTP_X_API_KEY=good).status_code == 401
    assert client_for(tenant_a, good).get("/api/v1/users").status_code == 200


def test_every_bad_key_costs_the_same_work_one_lookup_and_one_keyed_hash(keyed, client_for, tenant_a, tenant_b,
                                                                         in_a, monkeypatch):  # fmt: skip
    """Similar time, by construction rather than by a stopwatch: whatever is wrong with a well-formed key, the
    answer comes after the same statement and the same HMAC (a malformed one skips the statement, which tells
    nothing about any key)."""
    from service_accounts import keys

    _client, _account, good = keyed(["users:read"])
    _rev, revoked = _key(["users:read"], name="revoked-w")
    services.key_revoke(actor=SYSTEM, account=_rev, key_id=ApiKey.objects.get(service_account=_rev).pk)
    _dis, disabled = _key(["users:read"], name="disabled-w")
    services.service_account_update(actor=SYSTEM, account=_dis, data={"status": "disabled"})
    connection.set_tenant(tenant_b)
    _other, other_tenant = _key(["users:read"], name="elsewhere-w")
    connection.set_tenant(tenant_a)
    hashes = []
    real = keys.secret_hash
    monkeypatch.setattr(keys, "secret_hash", lambda secret: hashes.append(secret) or real(secret))
    well_formed = {
        "revoked": revoked,
        "disabled": disabled,
        "other tenant": other_tenant,
        "wrong secret": f"{good[:-4]}{'A' if good[-4] != 'A' else 'B'}{good[-3:]}",
        "unknown id": f"p360_sk_{'0' * 32}_{good[-43:]}",
    }
    statements = {}
    client_for(tenant_a).get("/api/v1/users", HTTP_AUTHORIZATION=f"Bearer {revoked}")  # the host, now known
    for label, secret in {**well_formed, "truncated": good[:-1], "extra characters": f"{good}x"}.items():
        hashes.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client_for(tenant_a).get("/api/v1/users", HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 401, label
        assert hashes == [secret], label  # one keyed hash, also when no key was found
        lookups = [q for q in queries.captured_queries if "service_accounts_apikey" in q["sql"]]
        assert len(lookups) == (1 if label in well_formed else 0), (label, lookups)
        statements[label] = len(queries.captured_queries) - len(lookups)  # the tenant's routing, the same for all
    assert len(set(statements.values())) == 1, statements  # and nothing else before the 401


def test_the_platform_api_never_takes_a_key(keyed, client_for):
    _client, _account, secret = keyed(["users:read"])
    response = client_for(None, secret).get("/api/v1/tenants")
    assert response.status_code == 401


def test_a_revoked_key_stops_at_once_and_last_use_is_written_once_a_minute(keyed, as_role):
    client, account, _secret = keyed(["users:read"])
    jwt = as_role(UserRole.ADMIN)
    jwt.get("/api/v1/users?page_size=1")
    with CaptureQueriesContext(connection) as by_jwt:
        jwt.get("/api/v1/users?page_size=1")
    assert client.get("/api/v1/users?page_size=1").status_code == 200  # the first use: written
    key = ApiKey.objects.get(service_account=account)
    first_use = key.last_used_at
    assert first_use is not None and ServiceAccount.objects.get(pk=account.pk).last_used_at is not None
    with CaptureQueriesContext(connection) as by_key:
        assert client.get("/api/v1/users?page_size=1").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == first_use  # within the minute: not written again
    assert len(by_key) <= len(by_jwt), ([q["sql"] for q in by_key], [q["sql"] for q in by_jwt])

    services.key_revoke(actor=SYSTEM, account=account, key_id=key.pk)
    assert client.get("/api/v1/users").status_code == 401


def test_the_cli_creates_an_account_with_a_key_that_works_and_revokes_it(in_a, client_for, tenant_a):
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "service_accounts", "create", "--tenant", tenant_a.slug, "--name", "Okta", "--scopes", "users:read",
        "--key", "--json", stdout=out,
    )  # fmt: skip
    made = json.loads(out.getvalue())
    assert made["service_account"]["scopes"] == ["users:read"] and made["secret"].startswith(made["prefix"])
    assert client_for(tenant_a, made["secret"]).get("/api/v1/users").status_code == 200
    entry = ActivityEntry.objects.get(verb="service_account.key_created")
    assert (entry.actor_type, entry.actor_id) == ("cli", None)

    listed = io.StringIO()
    call_command("service_accounts", "list", "--tenant", tenant_a.slug, "--json", stdout=listed)
    assert made["secret"] not in listed.getvalue() and made["prefix"] in listed.getvalue()
    call_command("service_accounts", "revoke", "Okta", made["key_id"], "--tenant", tenant_a.slug, stdout=io.StringIO())
    assert client_for(tenant_a, made["secret"]).get("/api/v1/users").status_code == 401


def test_each_key_is_throttled_on_its_own_and_says_where_it_stands(keyed, as_role, settings):
    settings.P360_THROTTLE = True
    settings.P360_API_KEY_RATE = "3/min"
    first, _a, _s = keyed(["users:read"])
    second, _b, _t = keyed(["users:read"])

    answers = [first.get("/api/v1/users?page_size=1") for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert {r["RateLimit-Limit"] for r in answers} == {"3"}
    assert 0 < int(answers[0]["RateLimit-Reset"]) <= 60
    assert answers[3].json()["code"] == "throttled" and 0 < int(answers[3]["Retry-After"]) <= 60
    assert second.get("/api/v1/users?page_size=1").status_code == 200  # another key: its own count
    person = as_role(UserRole.ADMIN).get("/api/v1/users?page_size=1")
    assert person.status_code == 200 and "RateLimit-Limit" not in person
