"""A service account (a tenant's identity for a machine) and its API keys (only a keyed hash of each secret)."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models


class Scope(models.TextChoices):
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    ORGANIZATIONS_READ = "organizations:read"
    ORGANIZATIONS_WRITE = "organizations:write"
    ACTIVITY_READ = "activity:read"
    EVENTS_READ = "events:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    ATTRIBUTES_MANAGE = "attributes:manage"
    SCIM = "scim"


class ServiceAccountStatus(models.TextChoices):
    ACTIVE = "active"
    DISABLED = "disabled"


class ServiceAccount(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=150, unique=True)
    description = models.TextField(blank=True, default="")
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), default=list, blank=True)
    status = models.CharField(max_length=16, choices=ServiceAccountStatus.choices, default=ServiceAccountStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def last_used_at(self):
        """The latest use of any of its keys (derived from them, never stored twice; prefetch `keys` for a list)."""
        return max((key.last_used_at for key in self.keys.all() if key.last_used_at), default=None)


class ApiKey(models.Model):
    """The secret is `p360_sk_<id as 32 hex digits>_<random>`: the id finds the key (its primary key), the
    keyed hash of the whole secret proves it. Neither the secret nor an unkeyed hash of it is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service_account = models.ForeignKey(ServiceAccount, on_delete=models.CASCADE, related_name="keys")
    secret_hash = models.CharField(max_length=64)  # HMAC-SHA256, hex
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.prefix

    @property
    def prefix(self) -> str:
        return f"p360_sk_{self.id.hex}"
