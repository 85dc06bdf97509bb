"""Host -> tenant lookup, cached so that a warm request spends no query on it.

Entries are dropped when a tenant or domain is saved or deleted (and again when that transaction
commits, so that a concurrent request cannot re-cache the old state). With a local-memory cache
each process has its own copy, bounded by the cache TIMEOUT; Redis shares one. While Redis is down every
request reads the database (logged); entries it could not drop then expire within the TIMEOUT.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from p360.caches import CACHE_ERRORS

logger = logging.getLogger("p360.cache")

MISSING = "-"  # cached marker for an unknown host, so that floods of bad hosts stay cheap
MISSING_TIMEOUT = 10


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

    cached = _cache_call("get", _key(host))
    if cached == MISSING:
        return None
    if cached is not None:
        return RoutedTenant(**cached)
    row = (
        Domain.objects.filter(domain=host)
        .values("tenant_id", "tenant__slug", "tenant__schema_name", "tenant__status")
        .first()
    )
    if row is None:
        _cache_call("set", _key(host), MISSING, MISSING_TIMEOUT)
        return None
    routed = RoutedTenant(
        id=str(row["tenant_id"]),
        slug=row["tenant__slug"],
        schema_name=row["tenant__schema_name"],
        status=row["tenant__status"],
    )
    _cache_call("set", _key(host), routed.__dict__)
    return routed


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
