"""Organizations (a hierarchy of any depth, as a materialized path of ancestor ids) and memberships."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Lower, Upper


class OrganizationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class MembershipRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(max_length=2000, blank=True, default="")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # Ids of the ancestors, root first: `path`, the `ancestor` filter, descendants and cycle checks are one
    # indexed query each (`ancestors @> {id}`), whatever the depth. Kept by the services on create and move.
    ancestors = ArrayField(models.UUIDField(), default=list, blank=True)
    status = models.CharField(max_length=16, choices=OrganizationStatus.choices, default=OrganizationStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # siblings have distinct names (case-insensitively); roots count as siblings of each other
            models.UniqueConstraint("parent", Lower("name"), name="org_sibling_name_unique", nulls_distinct=False),
            models.CheckConstraint(condition=models.Q(status__in=OrganizationStatus.values), name="org_status_valid"),
        ]
        indexes = [
            GinIndex(fields=["ancestors"], name="org_ancestors_idx"),
            models.Index(fields=["-created_at", "-id"], name="org_created_idx"),
            models.Index(fields=["name", "id"], name="org_name_idx"),
            models.Index(fields=["-updated_at", "-id"], name="org_updated_idx"),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="org_name_trgm_idx"),
            GinIndex(OpClass(Upper("slug"), name="gin_trgm_ops"), name="org_slug_trgm_idx"),
            GinIndex(OpClass(Upper("description"), name="gin_trgm_ops"), name="org_description_trgm_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.status == OrganizationStatus.ARCHIVED


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # no single-column indexes: membership_user_idx (user, role) and membership_unique (organization, user)
    # serve every lookup by user and by organization, cascades included; imports write two indexes less
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    role = models.CharField(max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique"),
            models.CheckConstraint(condition=models.Q(role__in=MembershipRole.values), name="membership_role_valid"),
        ]
        indexes = [
            models.Index(fields=["organization", "-joined_at", "-id"], name="membership_org_joined_idx"),
            # covering: a directory page reads each person's organizations and roles from this index alone
            models.Index(fields=["user", "role"], include=["organization"], name="membership_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} ({self.role})"
