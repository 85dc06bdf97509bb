"""Two Django admins: the platform's (base domain: tenants, platform staff) and each tenant's (its people,
organizations and activity). A model is registered in the one it belongs to, never both."""

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm

from p360.actors import Actor
from p360.api.problems import Problem


def _tenant_staff(user) -> bool:
    """A tenant's staff: whom users.policy lets use its admin (owners and admins)."""
    from users import policy

    return bool(user.is_active and getattr(user, "role", None) and policy.allows(Actor.person(user), "use_admin"))


class TenantAdminAuthenticationForm(AdminAuthenticationForm):
    """A tenant's owners and admins are its staff (the is_staff flag is for platform staff)."""

    def confirm_login_allowed(self, user):
        if not _tenant_staff(user):
            raise forms.ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class PlatformAdminSite(AdminSite):
    site_header = "P360 platform"
    site_title = "P360 platform"
    index_title = "Tenants and platform staff"


class TenantAdminSite(AdminSite):
    site_header = "P360"
    site_title = "P360"
    index_title = "People, organizations and activity"
    login_form = TenantAdminAuthenticationForm

    def has_permission(self, request):
        """Owners and admins of the tenant."""
        return _tenant_staff(request.user)


platform_admin = PlatformAdminSite(name="platform_admin")
tenant_admin = TenantAdminSite(name="tenant_admin")


def apply_to_each(modeladmin, request, queryset, act, *, label, noun: str, done: str) -> None:
    """An admin action over the selected rows: `act(obj)` per row (a service call, so each change is
    recorded under the staff member); refusals become warnings naming the row, the rest one success line."""
    succeeded, failed = 0, []
    for obj in queryset:
        try:
            act(obj)
            succeeded += 1
        except Problem as exc:
            failed.append(f"{label(obj)}: {exc.detail}")
    if succeeded:
        modeladmin.message_user(request, f"{succeeded} {noun}(s) {done}.", messages.SUCCESS)
    for line in failed[:10]:
        modeladmin.message_user(request, line, messages.WARNING)
    if len(failed) > 10:
        modeladmin.message_user(request, f"... and {len(failed) - 10} more refused.", messages.WARNING)
