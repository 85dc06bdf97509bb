"""Tenant lifecycle: create (schema cloned from the template, owner inside), suspend, activate, delete."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context, schema_exists

from activity.services import activity_record
from p360.actors import SYSTEM, Actor
from p360.api.problems import Conflict, FieldErrors
from tenants.models import RESERVED_SLUGS, Domain, Tenant, TenantStatus, schema_name_for
from users.models import User, UserRole, UserStatus
from users.services.accounts import target_of


def default_domain(slug: str) -> str:
    return f"{slug}.{settings.P360_BASE_DOMAIN}"


def validate_new_slug(slug: str, name: str) -> None:
    """A valid slug that is not reserved and whose tenant and schema do not exist yet (else a Problem)."""
    tenant = Tenant(slug=slug, name=name, schema_name=schema_name_for(slug))
    try:
        tenant.full_clean(exclude=["schema_name"], validate_unique=False)
    except ValidationError as exc:
        raise FieldErrors([(f, "invalid", m) for f, ms in exc.message_dict.items() for m in ms]) from None
    if slug in RESERVED_SLUGS:
        raise FieldErrors([("slug", "reserved", f"The slug {slug!r} is reserved.")])
    if Tenant.objects.filter(slug=slug).exists() or schema_exists(schema_name_for(slug)):
        raise Conflict(f"A tenant with the slug {slug!r} exists.", "slug_taken")


def domain_is_free(domain: str) -> bool:
    return domain != settings.P360_BASE_DOMAIN and not Domain.objects.filter(domain=domain).exists()


def _validate_new_tenant(slug: str, name: str, domain: str, owner_email: str, owner_password: str | None) -> None:
    validate_new_slug(slug, name)
    try:
        validate_email(owner_email)
    except ValidationError:
        raise FieldErrors([("owner.email", "invalid", f"{owner_email!r} is not a valid email address.")]) from None
    if not domain_is_free(domain):
        raise Conflict(f"The domain {domain!r} is in use.", "domain_taken")
    if owner_password is not None:
        try:
            password_validation.validate_password(owner_password, User(email=owner_email))
        except ValidationError as exc:
            raise FieldErrors([("owner.password", "invalid", m) for m in exc.messages]) from None


@transaction.atomic
def tenant_create(
    *,
    actor: Actor,
    slug: str,
    name: str,
    owner_email: str,
    owner_first_name: str = "Tenant",
    owner_last_name: str = "Owner",
    owner_password: str | None = None,
    domain: str | None = None,
) -> tuple[Tenant, User]:
    """One transaction: the tenant row, its schema (cloned from the template), its domain and its owner."""
    slug = slug.strip().lower()
    domain = (domain or default_domain(slug)).strip().lower()
    owner_email = owner_email.strip()
    _validate_new_tenant(slug, name, domain, owner_email, owner_password)
    try:
        tenant = Tenant(slug=slug, name=name.strip(), schema_name=schema_name_for(slug))
        tenant.save(verbosity=0)
        Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
        activity_record(
            verb="tenant.created",
            actor=actor,
            metadata={"domain": domain, "owner_email": owner_email},
            **_target(tenant),
        )
    except IntegrityError:
        raise Conflict(f"A tenant with the slug {slug!r} or the domain {domain!r} exists.", "slug_taken") from None
    with schema_context(tenant.schema_name):
        owner = User.objects.create_user(
            owner_email,
            owner_password,
            first_name=owner_first_name,
            last_name=owner_last_name,
            role=UserRole.OWNER,
            status=UserStatus.ACTIVE if owner_password else UserStatus.INVITED,
            is_staff=True,
            is_superuser=True,  # within this tenant's schema only: the owner may do everything there
        )
        activity_record(
            verb="user.created" if owner_password else "user.invited",
            actor=_in_tenant(actor),
            changes={"role": {"old": None, "new": UserRole.OWNER}, "status": {"old": None, "new": owner.status}},
            metadata={"tenant_created": True},
            **target_of(owner),
        )
    return tenant, owner


def _in_tenant(actor: Actor) -> Actor:
    """The actor as a tenant's log records it: platform staff are no person of the tenant (their id would name
    nobody there), so their entries there say `system`; the CLI stays the CLI."""
    return actor if actor.user is None else SYSTEM


def _target(tenant: Tenant) -> dict:
    return {"target_type": "tenant", "target_id": tenant.pk, "target_repr": tenant.slug}


@transaction.atomic
def tenant_set_status(*, actor: Actor, tenant: Tenant, status: str) -> Tenant:
    if status not in TenantStatus.values:
        raise FieldErrors([("status", "invalid_choice", f"Unknown status {status!r}.")])
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.status != status:
        old, tenant.status = tenant.status, status
        tenant.save(update_fields=["status", "updated_at"])
        verb = "tenant.suspended" if status == TenantStatus.SUSPENDED else "tenant.activated"
        activity_record(verb=verb, actor=actor, changes={"status": {"old": old, "new": status}}, **_target(tenant))
    return tenant


@transaction.atomic
def tenant_update(*, actor: Actor, tenant: Tenant, data: dict) -> Tenant:
    """Name and status (the slug and schema never change)."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if "name" in data and data["name"] != tenant.name:
        old, tenant.name = tenant.name, data["name"]
        tenant.save(update_fields=["name", "updated_at"])
        activity_record(
            verb="tenant.updated", actor=actor, changes={"name": {"old": old, "new": tenant.name}}, **_target(tenant)
        )
    if "status" in data:
        tenant = tenant_set_status(actor=actor, tenant=tenant, status=data["status"])
    return tenant


@transaction.atomic
def tenant_delete(*, actor: Actor, tenant: Tenant) -> None:
    """Drops the tenant's schema with all its data, then its row and domains."""
    activity_record(verb="tenant.deleted", actor=actor, metadata={"schema": tenant.schema_name}, **_target(tenant))
    tenant.delete(force_drop=True)
