"""Host -> tenant lookup, cached so that a warm request spends no query on it, and dropped from every
process's cache within milliseconds of a change.

Every change of a tenant or a domain notifies the `p360_routing` channel when it commits (a trigger, so
whatever made the change: services, admin, shell, SQL; tenants/migrations/0002). Each serving process keeps
one connection of its own that LISTENs on it, with a thread that drops the named hosts from the cache as
the notification arrives (`Listener`). So a host's entry is trusted only while that listener is connected:
before it first connects, and from the moment it loses its connection until it has it back, the process
routes from the database and caches nothing. The delay between a commit and every worker's refusal is
then the notification's delivery (a few ms on one host), with the local-memory cache (one per process) as
with Redis (shared). A lookup made while a notification arrives is not cached (`_generation`), so a reading
of the old state cannot be put back after its invalidation.

In-process, saving or deleting a tenant or domain also drops its hosts at once and again when the
transaction commits (signals), for the process that made the change and for tests, which run without the
listener (P360_ROUTING_LISTEN=off): there, entries expire within the cache's TIMEOUT. While Redis is down
every request reads the database (logged).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections, transaction
from django.db.models.signals import post_delete, post_save

from p360.caches import CACHE_ERRORS

logger = logging.getLogger("p360.cache")

MISSING = "-"  # cached marker for an unknown host, so that floods of bad hosts stay cheap
MISSING_TIMEOUT = 10
CHANNEL = "p360_routing"


@dataclass(frozen=True)
class RoutedTenant:
    id: str
    slug: str
    schema_name: str
    status: str

    def as_tenant(self):
        """An unsaved-looking Tenant instance, enough for connection.set_tenant, built without a query."""
        from tenants.models import Tenant

        tenant = Tenant(id=self.id, slug=self.slug, schema_name=self.schema_name, status=self.status)
        tenant._state.adding = False
        return tenant


def _cache():
    return caches["routing"]


def _key(host: str) -> str:
    return "host:" + host


def tenant_for_host(host: str) -> RoutedTenant | None:
    """The tenant that answers on `host`, or None. May raise a DatabaseError on a cold cache."""
    from tenants.models import Domain

    trusted = cache_is_trusted()
    if trusted:
        cached = _cache_call("get", _key(host))
        if cached == MISSING:
            return None
        if cached is not None:
            return RoutedTenant(**cached)
    generation = _generation
    row = (
        Domain.objects.filter(domain=host)
        .values("tenant_id", "tenant__slug", "tenant__schema_name", "tenant__status")
        .first()
    )
    if row is None:
        _cache_unless_notified(trusted, generation, host, MISSING, MISSING_TIMEOUT)
        return None
    routed = RoutedTenant(
        id=str(row["tenant_id"]),
        slug=row["tenant__slug"],
        schema_name=row["tenant__schema_name"],
        status=row["tenant__status"],
    )
    _cache_unless_notified(trusted, generation, host, routed.__dict__)
    return routed


def _cache_unless_notified(trusted: bool, generation: int, host: str, value, *timeout) -> None:
    """Caches what was read unless a notification came meanwhile. The listener bumps the generation before it
    deletes: a bump seen after the set is followed by our delete, one not seen yet by the listener's."""
    if not trusted or generation != _generation:
        return
    _cache_call("set", _key(host), value, *timeout)
    if generation != _generation:
        _cache_call("delete", _key(host))


def forget_hosts(hosts) -> None:
    keys = [_key(host) for host in hosts]
    if not keys:
        return
    _cache_call("delete_many", keys)
    transaction.on_commit(lambda: _cache_call("delete_many", keys))


def _cache_call(method: str, *args):
    try:
        return getattr(_cache(), method)(*args)
    except CACHE_ERRORS as exc:
        logger.warning("routing cache unavailable (%s: %s): %s skipped", exc.__class__.__name__, exc, method)
        return None


def _on_tenant_change(sender, instance, **kwargs):
    from tenants.models import Domain

    forget_hosts(list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True)))


def _on_domain_change(sender, instance, **kwargs):
    forget_hosts([instance.domain])


def connect_invalidation() -> None:
    # Signals, not services, because every way of saving (admin, shell, services) must invalidate.
    from tenants.models import Domain, Tenant

    post_save.connect(_on_tenant_change, sender=Tenant, dispatch_uid="tenants.routing.tenant_save")
    post_delete.connect(_on_domain_change, sender=Domain, dispatch_uid="tenants.routing.domain_delete")
    post_save.connect(_on_domain_change, sender=Domain, dispatch_uid="tenants.routing.domain_save")


# --- the listener: cross-process invalidation ---

_generation = 0  # bumped by the listener on every notification and (re)connection
_listener: Listener | None = None
_listener_lock = threading.Lock()


def cache_is_trusted() -> bool:
    """Whether cached routing may be used: the listener is connected (starting it in this process if need be)."""
    if not settings.P360_ROUTING_LISTEN:
        return True
    listener = _listener
    if listener is None or listener.pid != os.getpid():  # first use, or a forked child
        listener = start_listening()
    return listener.connected.is_set()


def start_listening() -> Listener:
    global _listener
    with _listener_lock:
        if _listener is None or _listener.pid != os.getpid():
            _listener = Listener()
            _listener.start()
        return _listener


def stop_listening() -> None:
    global _listener
    with _listener_lock:
        if _listener is not None and _listener.pid == os.getpid():
            _listener.stop()
        _listener = None


def _forget(payload: str) -> None:
    global _generation
    _generation += 1
    try:
        hosts = [host for host in json.loads(payload) if host]
    except (ValueError, TypeError):
        logger.warning("routing notification not understood: %r", payload[:200])
        _forget_all()
        return
    if hosts:
        _cache_call("delete_many", [_key(host) for host in hosts])


def _forget_all() -> None:
    """After a gap in listening: the local cache is emptied (Redis is shared, and kept by the other processes
    and by the writers' own deletes)."""
    global _generation
    _generation += 1
    if isinstance(_cache(), LocMemCache):
        _cache_call("clear")


class Listener:
    """A connection of its own that LISTENs on the routing channel, and a daemon thread that waits on it.

    The first connection is made by the caller (the first request), so that a new worker trusts its cache from
    its first request on; reconnections are the thread's, at most a second apart. TCP keepalives find a
    connection whose server vanished without a word within about 10 s (requests fail on theirs meanwhile).
    """

    RETRY_MAX = 1.0

    def __init__(self):
        self.pid = os.getpid()
        self.connected = threading.Event()
        self._stopping = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="p360-routing-listener", daemon=True)

    def start(self) -> None:
        try:
            self._connect()
        except psycopg.Error as exc:
            logger.warning("routing listener cannot connect (%s); routing reads the database", exc)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self._close()

    def _connect(self) -> None:
        params = connections["default"].get_connection_params()
        for name in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(name, None)
        params.setdefault("application_name", "p360-routing-listener")
        params.update(keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2)
        conn = psycopg.connect(**params, autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        self._conn = conn
        _forget_all()  # whatever changed before this connection listened
        self.connected.set()

    def _close(self) -> None:
        self.connected.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _run(self) -> None:
        delay = 0.05
        while not self._stopping.is_set():
            if self._conn is None:
                try:
                    self._connect()
                    logger.info("routing listener connected")
                    delay = 0.05
                except psycopg.Error:
                    self._stopping.wait(delay)
                    delay = min(delay * 2, self.RETRY_MAX)
                    continue
            try:
                for notify in self._conn.notifies(timeout=1.0):
                    _forget(notify.payload)
            except psycopg.Error as exc:
                logger.warning("routing listener lost its connection (%s); routing reads the database", exc)
                self._close()
