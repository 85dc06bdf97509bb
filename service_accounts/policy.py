"""Who manages service accounts and their keys: tenant owners and admins, never a service account (not even its
own: a key cannot widen its scopes or mint keys). The CLI and the system are not bound by roles."""

from __future__ import annotations

from p360.actors import Actor
from p360.api.access import Access
from p360.api.problems import InsufficientScope
from users.policy import ADMIN_ROLES, Forbidden

_REFUSAL = "Only owners and admins manage service accounts."
ACTIONS = frozenset({"read", "create", "update", "delete", "create_key", "revoke_key"})


def _known(action: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown service account action {action!r}")


def require(actor: Actor, action: str) -> None:
    _known(action)
    if actor.unrestricted:
        return
    if actor.service_account is not None:
        raise InsufficientScope(None)  # no scope opens service-account management to a key
    if actor.role not in ADMIN_ROLES:
        raise Forbidden(_REFUSAL)


def allows(actor: Actor, action: str) -> bool:
    try:
        require(actor, action)
    except (Forbidden, InsufficientScope):
        return False
    return True


def access(action: str) -> Access:
    """What a route applying this rule declares (p360.api.access): owners and admins, never a key."""
    _known(action)
    return Access(ADMIN_ROLES, None)
