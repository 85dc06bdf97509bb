"""Tenant selection for operator commands (by slug), without importing the tenants app's models."""

from __future__ import annotations

from django.core.management.base import CommandError
from django_tenants.utils import get_tenant_model


def tenant_by_slug(slug: str):
    tenant = get_tenant_model().objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(f"no tenant with the slug {slug!r}")
    return tenant


def all_tenants():
    return list(get_tenant_model().objects.order_by("slug"))
