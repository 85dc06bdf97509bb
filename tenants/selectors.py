"""Reads across tenants: user counts for a page of tenants in one query."""

from __future__ import annotations

from django.db import connection
from django.db.models import Prefetch, QuerySet

from tenants.models import Domain, Tenant


def tenant_list() -> QuerySet[Tenant]:
    return Tenant.objects.prefetch_related(
        Prefetch("domains", queryset=Domain.objects.order_by("-is_primary", "domain"))
    )


def user_counts(tenants) -> dict:
    """{tenant id: users that are not deactivated}, one UNION ALL over the tenants' schemas."""
    tenants = list(tenants)
    if not tenants:
        return {}
    parts, params = [], []
    for tenant in tenants:
        parts.append(
            f"SELECT %s::text, count(*) FROM \"{tenant.schema_name}\".users_user WHERE status <> 'deactivated'"
        )
        params.append(str(tenant.pk))
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return dict(cursor.fetchall())
