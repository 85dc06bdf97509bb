"""Permission classes shared by the domain apps; one rule each."""

from rest_framework.permissions import BasePermission

ADMIN_ROLES = frozenset({"owner", "admin"})


class IsTenantAdmin(BasePermission):
    """Owners and admins of the tenant."""

    def has_permission(self, request, view):
        return bool(
            request.user and request.user.is_authenticated and getattr(request.user, "role", None) in ADMIN_ROLES
        )
