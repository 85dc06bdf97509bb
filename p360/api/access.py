"""Which rule each API route applies, in one place: every API view names, per action, the rule of its domain's
policy (users.policy, organizations.policy, service_accounts.policy) that its service checks, as an `Access`:
the part of the rule that does not depend on the target.

- API keys pass a route only with the scope its rule names (service_accounts.authentication, `route_scope`): a
  route whose rule names no scope, or that declares none, is closed to keys.
- The access matrix test (p360/tests/test_access_matrix.py) derives from the same declarations, for every route
  of the URLconf, who may call it: a route without one fails it.

What depends on the target (owners, oneself, an organization's admins on theirs) is the services' to check."""

from __future__ import annotations

from dataclasses import dataclass

ALL_ROLES = frozenset({"owner", "admin", "member"})


@dataclass(frozen=True)
class Access:
    roles: frozenset  # the tenant roles that may, on a record not their own (or any organization)
    scope: str | None  # what an API key needs (None: keys may not)
    organization_admins: bool = False  # besides, an organization's admins, on theirs and their subtree
    anonymous: bool = False  # the credentials are in the body (sign-in, refresh, resets): no token needed


OWN_ACCOUNT = Access(ALL_ROLES, None)  # the caller's own profile, password and sessions: people, never keys
CREDENTIALS_IN_BODY = Access(frozenset(), None, anonymous=True)


def access_of(view_class, actions: dict | None, method: str) -> Access | None:
    """The access a view declares for an HTTP method: by action for viewsets (`actions`: method -> action), by
    method for plain views. HEAD and OPTIONS are reads."""
    declared = getattr(view_class, "access", None) or {}
    method = method.lower()
    if method in ("head", "options"):
        method = "get"
    name = actions.get(method) if actions is not None else method
    return declared.get(name)


def route_scope(view, method: str) -> str | None:
    """The scope an API key needs for this view and method, or None when keys may not call it."""
    access = access_of(type(view), getattr(view, "action_map", None), method)
    return access.scope if access is not None else None
