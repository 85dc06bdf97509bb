"""End to end over real HTTP: gunicorn against the test database, real concurrency, real outages."""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import psycopg
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from conftest import PASSWORD
from users.models import User

# django_db: the servers need the test database set up (their requests commit on their own connections).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def call(base_url: str, method: str, path: str, host: str, body=None, token: str | None = None):
    split = urlsplit(base_url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=20)
    headers = {"Host": host, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    payload = json.loads(raw) if raw else None
    return response.status, dict(response.getheaders()), payload


def login(base_url: str, slug: str) -> dict:
    status, _, body = call(
        base_url,
        "POST",
        "/api/v1/auth/token",
        f"{slug}.localhost",
        {"email": f"owner@{slug}.test", "password": PASSWORD},
    )
    assert status == 200, body
    return body


def test_login_then_me_over_http(live_server_url):
    tokens = login(live_server_url, "e2e-a")

    status, headers, me = call(live_server_url, "GET", "/api/v1/auth/me", "e2e-a.localhost", token=tokens["access"])

    assert status == 200
    assert me["email"] == "owner@e2e-a.test" and me["role"] == "owner"
    assert headers["X-Request-ID"] and headers["ETag"]


def test_parallel_refreshes_of_one_token_exactly_one_wins(live_server_factory):
    server = live_server_factory(workers=2, threads=8)  # 16 requests in flight at once
    refresh = login(server.url, "e2e-a")["refresh"]
    start = threading.Barrier(12)

    def attempt(_):
        start.wait()
        return call(server.url, "POST", "/api/v1/auth/token/refresh", "e2e-a.localhost", {"refresh": refresh})[0]

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = sorted(pool.map(attempt, range(12)))

    assert statuses == [200] + [401] * 11


def test_parallel_requests_to_two_tenants_never_mix(live_server_url):
    tokens = {slug: login(live_server_url, slug)["access"] for slug in ("e2e-a", "e2e-b")}

    def me(slug):
        status, _, body = call(live_server_url, "GET", "/api/v1/auth/me", f"{slug}.localhost", token=tokens[slug])
        return slug, status, body["email"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(me, ["e2e-a", "e2e-b"] * 40))

    assert all(status == 200 and email == f"owner@{slug}.test" for slug, status, email in results)


def test_an_unreachable_database_is_a_503_problem_from_the_tenant_middleware(live_server_factory):
    server = live_server_factory("postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=2", workers=1)

    status, headers, body = call(server.url, "GET", "/api/v1/auth/me", "e2e-a.localhost")
    health = call(server.url, "GET", "/healthz", "e2e-a.localhost")
    ready = call(server.url, "GET", "/readyz", "e2e-a.localhost")

    assert status == 503
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Retry-After"] == "5"
    assert body["code"] == "database_unavailable" and body["request_id"] == headers["X-Request-ID"]
    assert health[0] == 200
    assert ready[0] == 503 and ready[1]["Retry-After"]


def _admin_connection():
    settings = connection.settings_dict
    host = settings.get("HOST") or settings.get("OPTIONS", {}).get("host")
    return psycopg.connect(
        host=host, port=settings.get("PORT") or None, user=settings["USER"], dbname="postgres", autocommit=True
    )


def test_a_database_outage_mid_request_is_503_and_recovery_is_immediate(live_server_factory, django_db_blocker):
    app = "p360-e2e-outage"
    server = live_server_factory(workers=1, application_name=app)
    token = login(server.url, "e2e-a")["access"]
    assert call(server.url, "GET", "/api/v1/auth/me", "e2e-a.localhost", token=token)[0] == 200  # routing now cached
    with django_db_blocker.unblock():
        database = connection.settings_dict["NAME"]
    admin = _admin_connection()
    try:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", [app])
        status, headers, body = call(server.url, "GET", "/api/v1/auth/me", "e2e-a.localhost", token=token)
    finally:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        admin.close()
    started = time.monotonic()
    while call(server.url, "GET", "/api/v1/auth/me", "e2e-a.localhost", token=token)[0] != 200:
        assert time.monotonic() - started < 5, "no recovery within 5 s"
        time.sleep(0.1)

    assert status == 503, body
    assert headers["Content-Type"] == "application/problem+json" and headers["Retry-After"] == "5"
    assert body["code"] == "database_unavailable"


def test_parallel_creates_with_one_idempotency_key_make_one_object(live_server_factory):
    server = live_server_factory(workers=2, threads=8)
    token = login(server.url, "e2e-a")["access"]
    start = threading.Barrier(8)

    def create(_):
        start.wait()
        split = urlsplit(server.url)
        conn = http.client.HTTPConnection(split.hostname, split.port, timeout=20)
        headers = {"Host": "e2e-a.localhost", "Content-Type": "application/json", "Authorization": f"Bearer {token}",
                   "Idempotency-Key": "parallel-create-1"}  # fmt: skip
        conn.request("POST", "/api/v1/organizations", body=json.dumps({"name": "Parallel Org"}), headers=headers)
        response = conn.getresponse()
        body = json.loads(response.read())
        conn.close()
        return response.status, body.get("id")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(8)))

    assert {status for status, _ in results} == {201}
    assert len({org_id for _, org_id in results}) == 1
    _, _, listed = call(server.url, "GET", "/api/v1/organizations?search=Parallel", "e2e-a.localhost", token=token)
    assert listed["count"] == 1


def _parallel(server, requests: list[tuple[str, str, dict | None, str]], host: str) -> list[tuple[int, dict]]:
    """Sends (method, path, body, token) requests at the same instant; returns (status, body) in order."""
    start = threading.Barrier(len(requests))

    def send(request):
        method, path, body, token = request
        start.wait()
        status, _, payload = call(server.url, method, path, host, body, token=token)
        return status, payload

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_parallel_creates_with_one_email_exactly_one_wins(live_server_factory):
    server = live_server_factory(workers=2, threads=8)
    token = login(server.url, "e2e-a")["access"]
    body = {
        "email": "Racer@Example.test",
        "first_name": "Race",
        "last_name": "Condition",
        "password": "a-Strong-pass-123",
    }
    variants = [
        {**body, "email": email} for email in ("Racer@Example.test", "racer@example.test", " RACER@example.test")
    ]

    results = _parallel(
        server, [("POST", "/api/v1/users", variants[n % 3], token) for n in range(8)], "e2e-a.localhost"
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 7, results
    assert all(payload["code"] == "email_taken" for status, payload in results if status == 409)


def test_two_owners_demoting_each_other_at_once_leave_one_owner(live_server_factory):
    server = live_server_factory(workers=2, threads=4)
    host = "e2e-b.localhost"
    first = login(server.url, "e2e-b")
    status, _, second_owner = call(
        server.url, "POST", "/api/v1/users", host,
        {"email": "second-owner@e2e-b.test", "first_name": "Second", "last_name": "Owner", "password": PASSWORD,
         "role": "owner"},
        token=first["access"],
    )  # fmt: skip
    assert status == 201, second_owner
    _, _, second = call(
        server.url, "POST", "/api/v1/auth/token", host, {"email": "second-owner@e2e-b.test", "password": PASSWORD}
    )
    first_id = first["user"]["id"]

    results = _parallel(
        server,
        [
            ("PATCH", f"/api/v1/users/{second_owner['id']}", {"role": "member"}, first["access"]),
            ("PATCH", f"/api/v1/users/{first_id}", {"role": "member"}, second["access"]),
        ],
        host,
    )

    statuses = sorted(status for status, _ in results)
    assert statuses[0] == 200 and statuses[1] in (401, 409), results  # 401: the loser's token was revoked first
    with schema_context("t_e2e_b"):
        assert User.objects.filter(role="owner", status="active").count() == 1


def _revoked_under_load(server, host: str, credential: str, path: str, revoke) -> None:
    """Requests with the credential run in parallel while `revoke()` ends it: each request that began after the
    revocation's answer arrived (its transaction committed) is 401; those answered before it began were 200."""
    stop, results = threading.Event(), []

    def use():
        while not stop.is_set():
            began = time.monotonic()
            status = call(server.url, "GET", path, host, token=credential)[0]
            results.append((began, time.monotonic(), status))

    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(6):
            pool.submit(use)
        time.sleep(0.5)
        revoking = time.monotonic()
        revoke()
        committed = time.monotonic()
        time.sleep(0.5)
        stop.set()
    before = [status for _began, ended, status in results if ended < revoking]
    after = [status for began, _ended, status in results if began > committed]
    assert before and set(before) == {200}, sorted(set(before))
    assert after and set(after) == {401}, sorted(set(after))  # not one request got through once it committed


def test_no_request_is_authenticated_after_a_session_ends(live_server_factory):
    server = live_server_factory(workers=2, threads=4)
    host = "e2e-a.localhost"
    used, revoker = login(server.url, "e2e-a"), login(server.url, "e2e-a")
    _, _, sessions = call(server.url, "GET", "/api/v1/auth/sessions", host, token=used["access"])
    session_id = next(s["id"] for s in sessions if s["current"])

    def revoke():
        status, _, body = call(server.url, "DELETE", f"/api/v1/auth/sessions/{session_id}", host,
                               token=revoker["access"])  # fmt: skip
        assert status == 204, body

    _revoked_under_load(server, host, used["access"], "/api/v1/auth/me", revoke)


def test_no_request_is_authenticated_after_an_api_key_is_revoked(live_server_factory):
    server = live_server_factory(workers=2, threads=4, env={"P360_API_KEY_RATE": "100000/min"})
    host = "e2e-a.localhost"
    owner = login(server.url, "e2e-a")["access"]
    status, _, account = call(server.url, "POST", "/api/v1/service-accounts", host,
                              {"name": "e2e revocation", "scopes": ["users:read"]}, token=owner)  # fmt: skip
    assert status == 201, account
    status, _, key = call(server.url, "POST", f"/api/v1/service-accounts/{account['id']}/keys", host, {}, token=owner)
    assert status == 201, key

    def revoke():
        path = f"/api/v1/service-accounts/{account['id']}/keys/{key['id']}"
        assert call(server.url, "DELETE", path, host, token=owner)[0] == 204

    _revoked_under_load(server, host, key["secret"], "/api/v1/users?page_size=1", revoke)
