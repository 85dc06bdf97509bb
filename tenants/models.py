"""Tenants (one PostgreSQL schema each) and the domains that route to them."""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import connection, models
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.postgresql_backend.base import _check_schema_name
from django_tenants.utils import get_creation_fakes_migrations, schema_exists

SLUG_PATTERN = r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$"
RESERVED_SLUGS = frozenset({"public", "www", "api", "admin", "static", "template", "tenant-template", "platform"})


class TenantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


def schema_name_for(slug: str) -> str:
    """The PostgreSQL schema of the tenant with this slug (slugs have no underscores, so this is one-to-one)."""
    return "t_" + slug.replace("-", "_")


class Tenant(TenantMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.CharField(
        max_length=40,
        unique=True,
        validators=[
            RegexValidator(SLUG_PATTERN, "2-40 lowercase letters, digits and hyphens, starting with a letter.")
        ],
    )
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=TenantStatus.choices, default=TenantStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Schemas are created by tenant_create and dropped only by tenant_delete, explicitly.
    auto_create_schema = True
    auto_drop_schema = False
    clone_mode = "DATA"

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_suspended(self) -> bool:
        return self.status == TenantStatus.SUSPENDED

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """Clones the template schema (tenants/schemas.py) when there is one and creation fakes migrations;
        otherwise django-tenants' way: an empty schema and every migration replayed into it."""
        base_schema = settings.TENANT_BASE_SCHEMA
        if not (sync_schema and get_creation_fakes_migrations() and schema_exists(base_schema)):
            return super().create_schema(check_if_exists, sync_schema, verbosity)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        from tenants.schemas import clone_schema

        _check_schema_name(self.schema_name)
        connection.set_schema_to_public()
        clone_schema(source=base_schema, target=self.schema_name)
        return True


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
