"""Who may do what to whom among the tenant's people (API.md, "Roles"): one table of rules, checked by the
services (users.services) whichever way a change arrives: the API, bulk, the CSV import, the admin, the CLI.
Entry points never check a rule themselves; they may ask `allows` to choose what to offer (a form, a serializer).

A rule names the tenant roles that may take the action, the scope an API key needs for it, and, when the action
has a target person, whether an owner is protected (only owners act on owners) and what of their own the actor
may not change. A service account acts within an admin's limits and its key's scopes; the CLI and the system are
not bound by roles (p360.actors).
"""

from __future__ import annotations

from dataclasses import dataclass

from p360.actors import Actor
from p360.api.access import ALL_ROLES, Access
from p360.api.problems import FieldErrors, InsufficientScope, Problem
from users.models import User, UserRole

ADMIN_ROLES = frozenset({UserRole.OWNER, UserRole.ADMIN})
OWNERS = frozenset({UserRole.OWNER})


class Forbidden(Problem):
    status_code = 403
    default_code = "permission_denied"
    default_detail = "You may not do this."
    title = "Forbidden"


@dataclass(frozen=True)
class Rule:
    roles: frozenset
    refusal: str  # the 403's detail when the actor's role may not
    scope: str | None  # what an API key needs (None: keys never may)
    protects_owners: bool = False  # on a target: only owners act on owners
    not_self: str | None = None  # on a target: what the actor may not change of their own ("status", "role")
    self_may: bool = False  # on a target: a person may do it to themselves whatever their role


_MANAGE = "Only owners and admins manage users."
_W, _R = "users:write", "users:read"
RULES: dict[str, Rule] = {
    "read": Rule(ALL_ROLES, "", _R),  # the directory: every tenant user
    "create": Rule(ADMIN_ROLES, _MANAGE, _W),
    "update": Rule(ADMIN_ROLES, _MANAGE, _W, protects_owners=True),
    "update_profile": Rule(
        ADMIN_ROLES, "Members edit only their own profile.", _W, protects_owners=True, self_may=True
    ),
    "set_role": Rule(ADMIN_ROLES, _MANAGE, _W, protects_owners=True, not_self="role"),
    "set_status": Rule(ADMIN_ROLES, _MANAGE, _W, protects_owners=True, not_self="status"),
    "invite": Rule(ADMIN_ROLES, _MANAGE, _W, protects_owners=True),
    "bulk": Rule(ADMIN_ROLES, _MANAGE, _W),
    "import": Rule(ADMIN_ROLES, _MANAGE, _W),
    "export": Rule(ADMIN_ROLES, _MANAGE, _R),
    "read_activity": Rule(ADMIN_ROLES, _MANAGE, "activity:read", self_may=True),
    "read_log": Rule(ADMIN_ROLES, "Only owners and admins read the activity log.", "activity:read"),
    "read_sessions": Rule(ADMIN_ROLES, _MANAGE, _R, protects_owners=True, self_may=True),
    "revoke_sessions": Rule(ADMIN_ROLES, _MANAGE, _W, protects_owners=True, self_may=True),
    "use_admin": Rule(ADMIN_ROLES, "Only owners and admins use the tenant admin.", None),
    "grant_owner": Rule(OWNERS, "Only owners may grant the owner role.", None),
}


def refusal(actor: Actor, action: str, target: User | None = None) -> Problem | None:
    """Why the actor may not take this action (on this person), or None when they may."""
    rule = RULES[action]
    if actor.unrestricted:
        return None
    if not actor.has_scope(rule.scope):
        return InsufficientScope(rule.scope)
    if rule.self_may and actor.is_user(target):
        return None
    if actor.role not in rule.roles:
        return Forbidden(rule.refusal)
    if target is None:
        return None
    if rule.protects_owners and target.role == UserRole.OWNER and actor.role != UserRole.OWNER:
        return Forbidden("Only owners may change owners.")
    if rule.not_self and actor.is_user(target):
        return Forbidden(f"You cannot change your own {rule.not_self}.", "cannot_change_self")
    return None


def allows(actor: Actor, action: str, target: User | None = None) -> bool:
    return refusal(actor, action, target) is None


def require(actor: Actor, action: str, target: User | None = None) -> None:
    refused = refusal(actor, action, target)
    if refused is not None:
        raise refused


def require_may_grant(actor: Actor, role: str | None) -> None:
    """Granting the owner role is for owners: to anyone else that value of the field is not allowed (400)."""
    if role == UserRole.OWNER and not allows(actor, "grant_owner"):
        raise FieldErrors([("role", "not_allowed", RULES["grant_owner"].refusal)])


def access(action: str) -> Access:
    """What a route applying this rule declares (p360.api.access)."""
    rule = RULES[action]
    return Access(rule.roles, rule.scope)
