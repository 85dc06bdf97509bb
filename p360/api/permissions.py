"""Permission classes and route scopes shared by the domain apps; one rule each.

Every route that API keys may call declares its scopes on the view: `api_scopes = (read, write)`, the scope a
GET/HEAD/OPTIONS needs and the scope any other method needs (None: keys may not). A route without the
declaration is refused to keys (service_accounts.authentication checks it as it accepts a key)."""

from rest_framework.permissions import BasePermission

ADMIN_ROLES = frozenset({"owner", "admin"})
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def route_scope(view, method: str) -> str | None:
    """The scope a key needs for this view and method, or None when keys may not call it."""
    scopes = getattr(view, "api_scopes", None)
    if not scopes:
        return None
    read, write = scopes
    return read if method.upper() in _READS else write


class IsTenantAdmin(BasePermission):
    """Owners and admins of the tenant (and service accounts, within an admin's limits)."""

    def has_permission(self, request, view):
        from p360.actors import request_actor

        user = request.user
        return bool(user and user.is_authenticated and request_actor(request).role in ADMIN_ROLES)
