"""Who may manage an organization: tenant owners and admins anywhere, organization admins in their subtree."""

from __future__ import annotations

from organizations.models import Organization
from organizations.selectors import admin_organization_ids
from p360.api.permissions import ADMIN_ROLES
from p360.api.problems import Problem


class NotAllowed(Problem):
    status_code = 403
    default_code = "permission_denied"
    default_detail = "You may not manage this organization."
    title = "Forbidden"


def is_tenant_admin(user) -> bool:
    return getattr(user, "role", None) in ADMIN_ROLES


def can_manage(user, org: Organization | None) -> bool:
    """`org=None` asks about the root level, which only tenant owners and admins manage."""
    if is_tenant_admin(user):
        return True
    if org is None:
        return False
    return bool(admin_organization_ids(user) & {org.pk, *org.ancestors})


def can_manage_somewhere(user) -> bool:
    """Tenant owners and admins, and anyone who administers at least one organization."""
    return is_tenant_admin(user) or bool(admin_organization_ids(user))


def require_manage(user, org: Organization | None) -> None:
    if not can_manage(user, org):
        raise NotAllowed()
