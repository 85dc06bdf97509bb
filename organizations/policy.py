"""Who may change an organization, its place in the tree and its members: one table of rules, checked by the
services (organizations.services) whichever way a change arrives (the API, bulk, the admin, the CLI). Entry
points ask the same rules early (`require`, `allows`) so that a refusal comes before the body's errors.

Tenant owners and admins manage every organization; an organization's admins manage it and its descendants.
The root of the tree (an organization without a parent) is the tenant's: only tenant owners and admins create
there or move an organization there. A service account with the rule's scope manages as a tenant admin; the
CLI and the system are not bound by roles (p360.actors).
"""

from __future__ import annotations

from dataclasses import dataclass

from organizations.models import Organization
from organizations.selectors import admin_organization_ids
from p360.actors import Actor
from p360.api.access import ALL_ROLES, Access
from users.policy import ADMIN_ROLES, Forbidden


class NotAllowed(Forbidden):
    default_detail = "You may not manage this organization."


@dataclass(frozen=True)
class Rule:
    tenant_roles: frozenset  # tenant roles that may, on any organization and at the root
    organization_admins: bool  # the admins of the organization (or of an ancestor) may
    scope: str  # what an API key needs (its service account then manages every organization)


_W = "organizations:write"
RULES: dict[str, Rule] = {
    "read": Rule(ALL_ROLES, False, "organizations:read"),  # the tree and its members: every tenant user
    "create": Rule(ADMIN_ROLES, True, _W),  # the target is the parent (None: the root)
    "update": Rule(ADMIN_ROLES, True, _W),
    "move": Rule(ADMIN_ROLES, True, _W),  # the target is the destination (None: the root)
    "delete": Rule(ADMIN_ROLES, True, _W),
    "archive": Rule(ADMIN_ROLES, True, _W),
    "manage_members": Rule(ADMIN_ROLES, True, _W),
    "read_activity": Rule(ADMIN_ROLES, True, "activity:read"),
}


def _administered(actor: Actor) -> set:
    """The organizations the person administers directly, read once per actor (a request's)."""
    if "administered" not in actor.memo:
        actor.memo["administered"] = admin_organization_ids(actor.user)
    return actor.memo["administered"]


def allows(actor: Actor, action: str, org: Organization | None) -> bool:
    rule = RULES[action]
    if not actor.has_scope(rule.scope):
        return False
    if actor.unrestricted or actor.role in rule.tenant_roles:
        return True
    if org is None or not rule.organization_admins or actor.user is None:
        return False
    return bool(_administered(actor) & {org.pk, *org.ancestors})


def allows_somewhere(actor: Actor, action: str) -> bool:
    """Whether the actor may take this action on at least one organization (tenant admins, organization admins)."""
    rule = RULES[action]
    if not actor.has_scope(rule.scope):
        return False
    if actor.unrestricted or actor.role in rule.tenant_roles:
        return True
    return rule.organization_admins and actor.user is not None and bool(_administered(actor))


def require(actor: Actor, action: str, org: Organization | None) -> None:
    actor.require_scope(RULES[action].scope)
    if not allows(actor, action, org):
        raise NotAllowed()


def access(action: str) -> Access:
    """What a route applying this rule declares (p360.api.access)."""
    rule = RULES[action]
    return Access(rule.tenant_roles, rule.scope, organization_admins=rule.organization_admins)
