"""Who may do what to whom (API.md, "Roles"): one rule each."""

from __future__ import annotations

from p360.api.problems import FieldErrors, Problem
from users.models import User, UserRole

ADMIN_ROLES = frozenset({UserRole.OWNER, UserRole.ADMIN})


class Forbidden(Problem):
    status_code = 403
    default_code = "permission_denied"
    default_detail = "You may not do this."
    title = "Forbidden"


def is_admin(user: User) -> bool:
    """Owners and admins manage users."""
    return getattr(user, "role", None) in ADMIN_ROLES


def require_admin(actor: User) -> None:
    if not is_admin(actor):
        raise Forbidden("Only owners and admins manage users.")


def require_may_manage(actor: User, target: User) -> None:
    """Admins manage users but not owners; owners manage everyone."""
    require_admin(actor)
    if target.role == UserRole.OWNER and actor.role != UserRole.OWNER:
        raise Forbidden("Only owners may change owners.")


def require_not_self(actor: User, target: User, what: str) -> None:
    """Nobody changes their own role or status."""
    if actor.pk == target.pk:
        raise Forbidden(f"You cannot change your own {what}.", "cannot_change_self")


def require_may_grant(actor: User, role: str) -> None:
    """Only owners grant the owner role: to anyone else the field value is not allowed (400)."""
    if role == UserRole.OWNER and actor.role != UserRole.OWNER:
        raise FieldErrors([("role", "not_allowed", "Only owners may grant the owner role.")])
