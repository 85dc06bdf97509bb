"""The routing listener in this process: notifications drop hosts, a lost connection stops the cache from being
trusted until it is back, and the triggers name the hosts of a changed tenant or domain."""

import json
import time

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import database_url
from tenants import routing

pytestmark = pytest.mark.django_db


def _raw():
    return psycopg.connect(database_url(connection.settings_dict), autocommit=True)


def _eventually(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.01)


@pytest.fixture
def listening(settings):
    settings.P360_ROUTING_LISTEN = True
    listener = routing.start_listening()
    assert listener.connected.is_set()
    yield listener
    routing.stop_listening()


def _routing_queries(queries) -> int:
    return len([q for q in queries.captured_queries if "tenants_domain" in q["sql"]])


def test_a_notification_drops_the_hosts_it_names(listening, tenant_a):
    routing.tenant_for_host("alpha.localhost")
    assert routing._cache().get(routing._key("alpha.localhost")) is not None

    with _raw() as raw:
        raw.execute("SELECT pg_notify(%s, %s)", [routing.CHANNEL, json.dumps(["alpha.localhost", None])])

    _eventually(lambda: routing._cache().get(routing._key("alpha.localhost")) is None)


def test_without_its_listener_a_process_routes_from_the_database_and_caches_nothing(listening, tenant_a, monkeypatch):
    routing.tenant_for_host("alpha.localhost")
    with CaptureQueriesContext(connection) as warm:
        routing.tenant_for_host("alpha.localhost")
    assert _routing_queries(warm) == 0

    reconnect = listening._connect

    def unreachable():
        raise psycopg.OperationalError("the database is unreachable (test)")

    monkeypatch.setattr(listening, "_connect", unreachable)
    with _raw() as raw:
        raw.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                    ["p360-routing-listener"])  # fmt: skip
    _eventually(lambda: not listening.connected.is_set())
    with CaptureQueriesContext(connection) as cold:
        assert routing.tenant_for_host("alpha.localhost").slug == "alpha"
        assert routing.tenant_for_host("alpha.localhost").slug == "alpha"
    assert _routing_queries(cold) == 2  # each read the database: a notification may be missed meanwhile

    monkeypatch.setattr(listening, "_connect", reconnect)
    _eventually(listening.connected.is_set)  # back on its own (retried at most a second apart)
    routing.tenant_for_host("alpha.localhost")
    with CaptureQueriesContext(connection) as warm_again:
        routing.tenant_for_host("alpha.localhost")
    assert _routing_queries(warm_again) == 0


def test_a_read_overtaken_by_a_notification_is_not_cached():
    generation = routing._generation  # a lookup starts
    routing._forget("[]")  # a notification arrives while it reads the database
    routing._cache_unless_notified(True, generation, "alpha.localhost", {"slug": "stale"})

    assert routing._cache().get(routing._key("alpha.localhost")) is None


def test_the_triggers_name_the_hosts_of_a_changed_domain_and_tenant(tenant_a):
    with _raw() as listener, _raw() as writer:
        listener.execute(f"LISTEN {routing.CHANNEL}")
        tenant_id = writer.execute("SELECT id FROM tenants_tenant WHERE slug = 'alpha'").fetchone()[0]
        writer.execute("UPDATE tenants_tenant SET name = name WHERE id = %s", [tenant_id])
        writer.execute(
            "INSERT INTO tenants_domain (domain, tenant_id, is_primary) VALUES ('people.alpha.example', %s, false)",
            [tenant_id],
        )
        writer.execute("UPDATE tenants_domain SET domain = 'staff.alpha.example' WHERE domain = 'people.alpha.example'")
        writer.execute("DELETE FROM tenants_domain WHERE domain = 'staff.alpha.example'")

        payloads = [json.loads(n.payload) for n in listener.notifies(timeout=2, stop_after=4)]

    assert payloads == [
        ["alpha.localhost"],
        [None, "people.alpha.example"],
        ["people.alpha.example", "staff.alpha.example"],
        ["staff.alpha.example", None],
    ]
