"""The cache: Redis when REDIS_URL is set (tested against a real Redis; skipped, saying so, when none answers),
local memory otherwise; tenant-aware keys for throttles and cached values, one shared routing cache."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
from django.core.cache import caches
from django.db import connection

from conftest import cache_keys
from p360.actors import SYSTEM
from p360.caches import cache_settings
from tenants import services
from tenants.models import Tenant, TenantStatus
from users.tests.test_auth import assert_problem

REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"


def test_settings_use_redis_only_when_a_url_is_given():
    local = cache_settings(None)
    shared = cache_settings("redis://cache.internal:6379/2")

    assert {c["BACKEND"] for c in local.values()} == {"django.core.cache.backends.locmem.LocMemCache"}
    assert local["default"].get("LOCATION", "") != local["routing"]["LOCATION"]  # two separate stores
    assert {c["BACKEND"] for c in shared.values()} == {REDIS_BACKEND}
    assert {c["LOCATION"] for c in shared.values()} == {"redis://cache.internal:6379/2"}
    for config in (local, shared):
        assert config["default"]["KEY_FUNCTION"] == "django_tenants.cache.make_key"
        assert config["default"]["KEY_PREFIX"] != config["routing"]["KEY_PREFIX"]
        assert config["routing"]["TIMEOUT"] == 60
    assert shared["default"]["OPTIONS"]["socket_timeout"] <= 1


@pytest.mark.django_db
def test_values_cached_in_one_tenant_are_not_seen_by_another_on_redis(redis_caches, tenant_a, tenant_b):
    connection.set_tenant(tenant_a)
    caches["default"].set("greeting", "from alpha")
    connection.set_tenant(tenant_b)
    in_b = caches["default"].get("greeting")
    caches["default"].set("greeting", "from beta")
    connection.set_tenant(tenant_a)

    assert in_b is None
    assert caches["default"].get("greeting") == "from alpha"
    assert sorted(k for k in cache_keys() if k.endswith(":greeting")) == [
        "t_alpha:p360:1:greeting",
        "t_beta:p360:1:greeting",
    ]


@pytest.mark.django_db
def test_one_email_has_a_separate_login_bucket_in_each_tenant_on_redis(redis_caches, api_a, api_b, settings):
    settings.P360_LOGIN_RATE_EMAIL = "2/min"
    attempt = {"email": "Same@Example.test", "password": "wrong-password-1"}
    for _ in range(2):
        assert api_a.post("/api/v1/auth/token", attempt, format="json").status_code == 401

    throttled = api_a.post("/api/v1/auth/token", attempt, format="json")
    in_b = api_b.post("/api/v1/auth/token", attempt, format="json")

    assert_problem(throttled, 429, "throttled")
    assert in_b.status_code == 401
    email_keys = [k for k in cache_keys() if "login_email" in k]
    assert len(email_keys) == 2
    assert {k.split(":")[0] for k in email_keys} == {"t_alpha", "t_beta"}  # django-tenants' prefix
    assert all(k.count("t_alpha") + k.count("t_beta") == 2 for k in email_keys)  # and the throttle's own
    assert not any("same@example.test" in k.lower() for k in cache_keys())  # hashed, never the address


@pytest.mark.django_db
def test_routing_entries_live_in_redis_and_a_suspension_drops_them(redis_caches, api_a, tenant_a):
    assert api_a.get("/api/v1/auth/me").status_code == 401
    assert "p360-routing:1:host:alpha.localhost" in cache_keys("routing")

    services.tenant_set_status(actor=SYSTEM, tenant=tenant_a, status=TenantStatus.SUSPENDED)

    assert "p360-routing:1:host:alpha.localhost" not in cache_keys("routing")
    assert_problem(api_a.get("/api/v1/auth/me"), 403, "tenant_suspended")


# --- other processes (gunicorn servers) see a suspension at once, with Redis or their own cache ---


def _status(server, host: str) -> int:
    request = urllib.request.Request(server.url + "/api/v1/auth/me", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.e2e
def _settled(server, host: str, expected: int, within: float = 1.0) -> int:
    """The server's answer once it is `expected`, or its last one after `within` seconds (notifications are
    delivered a few ms after the commit)."""
    deadline = time.monotonic() + within
    while (status := _status(server, host)) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return status


def test_a_suspension_reaches_other_processes_at_once_with_redis_and_without(
    redis_caches, live_server_factory, django_db_blocker
):
    shared = live_server_factory(workers=2, env={"REDIS_URL": redis_caches})
    local = live_server_factory(workers=1, env={"REDIS_URL": ""})  # a cache of its own, kept by its listener
    host = "e2e-b.localhost"
    assert (_status(shared, host), _status(local, host)) == (401, 401)  # both have routed (and cached) it
    assert caches["routing"].get("host:" + host)["status"] == TenantStatus.ACTIVE  # the server's entry

    with django_db_blocker.unblock():  # committed, as an operator's command would
        tenant = Tenant.objects.get(slug="e2e-b")
        try:
            services.tenant_set_status(actor=SYSTEM, tenant=tenant, status=TenantStatus.SUSPENDED)
            on_redis = {_settled(shared, host, 403) for _ in range(4)}  # whichever worker answers
            on_local = _settled(local, host, 403)
        finally:
            services.tenant_set_status(actor=SYSTEM, tenant=tenant, status=TenantStatus.ACTIVE)
            connection.set_schema_to_public()
        reactivated = {_settled(shared, host, 401) for _ in range(4)} | {_settled(local, host, 401)}

    assert on_redis == {403}
    assert on_local == 403  # without Redis too: its listener dropped the entry (tenants/routing.py)
    assert reactivated == {401}


# --- Redis down: the cache only saves work, so requests still get their real answers ---


@pytest.mark.django_db
def test_with_redis_down_requests_route_and_log_in_from_the_database(api_a, in_a, settings, caplog):
    from conftest import login
    from users.tests.factories import UserFactory

    UserFactory(email="down@example.test")
    settings.CACHES = cache_settings("redis://127.0.0.1:1/0")  # nothing listens on port 1
    settings.P360_LOGIN_RATE_EMAIL = "1/min"

    tokens = [login(api_a, "down@example.test")["access"] for _ in range(2)]  # not throttled: fails open
    wrong = api_a.post("/api/v1/auth/token", {"email": "down@example.test", "password": "x"}, format="json")
    services.tenant_set_status(actor=SYSTEM, tenant=Tenant.objects.get(slug="alpha"), status=TenantStatus.SUSPENDED)
    suspended = api_a.get("/api/v1/auth/me")

    assert all(tokens)
    assert_problem(wrong, 401, "invalid_credentials")
    assert_problem(suspended, 403, "tenant_suspended")  # read from the database: no stale entry to trust
    messages = [r.getMessage() for r in caplog.records if r.name == "p360.cache"]
    assert any("routing cache unavailable (ConnectionError" in m for m in messages)
    assert any("login_email throttle not applied" in m for m in messages)
