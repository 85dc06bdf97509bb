"""Routing across processes: two gunicorn servers (one worker each, so each answer is one known process),
both warm, while the CLI, SQL and the platform API suspend, reactivate and delete a tenant. Every worker
refuses within the bound (ROUTING_BOUND), with the local-memory cache (one per process) and with Redis
(shared), and a request to a deleted tenant's host is the unknown host's 404: never a query against
`public` (the platform staff password checked there) and never a 500."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psycopg
import pytest
from django.db import connection

from conftest import PASSWORD, ROOT, database_url
from p360.tests.test_e2e import call

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

ROUTING_BOUND = 1.0  # seconds from the change's commit (or the CLI's exit) to every worker's new answer
STAFF = "ops@routing.test"


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _until(servers, probe, expected, started: float) -> list[float]:
    """Polls every server until `probe` gives `expected`; the seconds each took from `started`."""
    took = []
    for server in servers:
        deadline = started + 10
        while True:
            answer = probe(server)
            if answer == expected:
                took.append(time.monotonic() - started)
                break
            assert answer[0] < 500, answer
            assert time.monotonic() < deadline, f"{server.url} still answers {answer}, expected {expected}"
            time.sleep(0.01)
    return took


def _platform_staff(env: dict) -> None:
    """A platform staff member in public, whose password a deleted tenant's host must not check."""
    make = (
        f"from users.models import User; User.objects.filter(email={STAFF!r}).exists() or "
        f"User.objects.create_superuser({STAFF!r}, {PASSWORD!r}, first_name='Platform', last_name='Ops')"
    )
    _manage(env, "shell", "-c", make)


@pytest.fixture
def cli_env():
    """The environment of `manage.py` against the test database; what the test committed is removed after."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "p360.settings_test",
        "DATABASE_URL": database_url(connection.settings_dict),
    }
    yield env  # the platform staff member stays (like the session's tenants); the test's tenants go
    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as raw:
        for slug in ("zy-locmem", "zy-redis", "zy-dropped"):
            raw.execute(f'DROP SCHEMA IF EXISTS "t_{slug.replace("-", "_")}" CASCADE')
            raw.execute(
                "DELETE FROM tenants_domain WHERE tenant_id IN (SELECT id FROM tenants_tenant WHERE slug = %s)", [slug]
            )
            raw.execute("DELETE FROM tenants_tenant WHERE slug = %s", [slug])


@pytest.mark.parametrize("cache", ["locmem", "redis"])
def test_every_worker_refuses_a_suspended_or_deleted_tenant_within_the_bound(
    cache, live_server_factory, cli_env, request
):
    env = {}
    if cache == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    else:
        cli_env.pop("REDIS_URL", None)
        env["REDIS_URL"] = ""
    cli_env.update(env)
    slug = f"zy-{cache}"
    host = f"{slug}.localhost"
    _manage(cli_env, "tenants", "create", slug, "--name", "Zy", "--owner-email", f"owner@{slug}.test",
            "--owner-password", PASSWORD)  # fmt: skip
    _platform_staff(cli_env)
    servers = [live_server_factory(workers=1, env=env) for _ in range(2)]

    tokens = {}
    for server in servers:  # warm: each worker has routed the host (and cached it)
        status, _, body = call(server.url, "POST", "/api/v1/auth/token", host,
                               {"email": f"owner@{slug}.test", "password": PASSWORD})  # fmt: skip
        assert status == 200, body
        tokens[server.url] = body["access"]

    def me(server):
        status, _, body = call(server.url, "GET", "/api/v1/auth/me", host, token=tokens[server.url])
        return status, (body or {}).get("code", "ok")

    assert [me(server) for server in servers] == [(200, "ok")] * 2

    _manage(cli_env, "tenants", "suspend", slug)
    suspended = _until(servers, me, (403, "tenant_suspended"), time.monotonic())

    _manage(cli_env, "tenants", "activate", slug)
    activated = _until(servers, me, (200, "ok"), time.monotonic())

    # through SQL, timed from the commit itself: the trigger notifies whatever made the change
    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as raw:
        raw.execute("UPDATE tenants_tenant SET status = 'suspended' WHERE slug = %s", [slug])
        committed = time.monotonic()
        by_sql = _until(servers, me, (403, "tenant_suspended"), committed)
        raw.execute("UPDATE tenants_tenant SET status = 'active' WHERE slug = %s", [slug])
        reactivated_by_sql = _until(servers, me, (200, "ok"), time.monotonic())

    # through the platform API (staff on the base domain of one server): both servers follow
    status, _, body = call(
        servers[0].url, "POST", "/api/v1/auth/token", "localhost", {"email": STAFF, "password": PASSWORD}
    )
    assert status == 200, body
    staff = body["access"]
    status, _, body = call(
        servers[0].url, "PATCH", f"/api/v1/tenants/{slug}", "localhost", {"status": "suspended"}, staff
    )
    assert status == 200, body
    by_api = _until(servers, me, (403, "tenant_suspended"), time.monotonic())
    status, _, body = call(servers[1].url, "PATCH", f"/api/v1/tenants/{slug}", "localhost", {"status": "active"}, staff)
    assert status == 200, body
    reactivated_by_api = _until(servers, me, (200, "ok"), time.monotonic())

    _manage(cli_env, "tenants", "delete", slug, "--yes")
    deleted = _until(servers, me, (404, "tenant_not_found"), time.monotonic())

    for server in servers:
        status, _, body = call(server.url, "POST", "/api/v1/auth/token", host, {"email": STAFF, "password": PASSWORD})
        assert (status, body["code"]) == (404, "tenant_not_found")  # not the platform's staff table
    delays = {"cli suspend": suspended, "cli activate": activated, "sql suspend": by_sql,
              "sql activate": reactivated_by_sql, "api suspend": by_api, "api activate": reactivated_by_api,
              "cli delete": deleted}  # fmt: skip
    assert max(max(took) for took in delays.values()) <= ROUTING_BOUND, delays


def test_a_schema_dropped_behind_the_routing_cache_is_404_never_the_public_tables(live_server_factory, cli_env):
    """The routing still holds the host (no change of tenant or domain was made): the request runs with a
    search_path whose tenant schema is gone, and the schema guard stops its first query."""
    cli_env["REDIS_URL"] = ""
    slug = "zy-dropped"
    host = f"{slug}.localhost"
    _manage(cli_env, "tenants", "create", slug, "--name", "Zy", "--owner-email", f"owner@{slug}.test",
            "--owner-password", PASSWORD)  # fmt: skip
    _platform_staff(cli_env)
    server = live_server_factory(workers=1, env={"REDIS_URL": ""})
    status, _, body = call(server.url, "POST", "/api/v1/auth/token", host,
                           {"email": f"owner@{slug}.test", "password": PASSWORD})  # fmt: skip
    assert status == 200, body
    token = body["access"]

    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as raw:
        raw.execute(f'DROP SCHEMA "t_{slug.replace("-", "_")}" CASCADE')

    attempts = [
        call(server.url, "POST", "/api/v1/auth/token", host, {"email": STAFF, "password": PASSWORD}),
        call(server.url, "GET", "/api/v1/auth/me", host, token=token),
        call(server.url, "GET", "/api/v1/users", host, token=token),
        call(server.url, "POST", "/api/v1/auth/token", host, {"email": STAFF, "password": PASSWORD}),
    ]
    assert [(status, body["code"]) for status, _, body in attempts] == [(404, "tenant_not_found")] * 4
