"""Users in the tenant admin (owners and admins) and platform staff in the platform admin; writes call the
services, so every change is checked and recorded with the staff member as actor."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models.functions import Lower

from organizations.models import Membership, Organization
from p360.actors import request_actor
from p360.admin_lists import LargeListAdmin
from p360.admin_sites import apply_to_each, platform_admin, tenant_admin
from p360.api.problems import Problem
from users import policy, selectors, services
from users.models import User, UserRole, UserSession

PROFILE = ("email", "first_name", "last_name", "role", "job_title", "phone", "timezone", "locale")


class UserForm(forms.ModelForm):
    password = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave empty to send an invitation instead."
    )

    class Meta:
        model = User
        fields = PROFILE

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        taken = User.objects.alias(email_lower=Lower("email")).filter(email_lower=email.lower())
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("A user with this email exists in this tenant.")
        return email

    def clean_password(self):
        password = self.cleaned_data.get("password")
        if password:
            try:
                services.validate_new_password(password)
            except Problem as exc:
                raise forms.ValidationError([e["message"] for e in exc.errors]) from None
        return password


class MembershipOfUserInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    fields = ("organization", "role", "joined_at")
    readonly_fields = ("organization", "role", "joined_at")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # the directory: every tenant user reads memberships (the site admits owners and admins)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")


class SessionOfUserInline(admin.TabularInline):
    """The user's live sessions (API sign-ins), read-only: the action "End every session" ends them."""

    model = UserSession
    verbose_name_plural = "live sessions"
    fields = ("created_at", "last_used_at", "ip", "user_agent")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):  # obj: the user whose page it is
        return policy.allows(request_actor(request), "read_sessions", obj)

    def get_queryset(self, request):
        return super().get_queryset(request).live()


def _each(modeladmin, request, queryset, service, done: str):
    actor = request_actor(request)

    def act(user):
        service(actor=actor, user=user)  # the service checks users.policy

    apply_to_each(modeladmin, request, queryset, act, label=lambda user: user.email, noun="user", done=done)


@admin.action(description="Suspend selected users")
def suspend(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, services.user_suspend, "suspended")


@admin.action(description="Activate selected users")
def activate(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, services.user_activate, "activated")


@admin.action(description="Deactivate selected users")
def deactivate(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, services.user_deactivate, "deactivated")


@admin.action(description="End every session of selected users")
def end_sessions(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, services.user_sessions_end, "signed out everywhere")


@admin.action(description="Resend invitation to selected users")
def resend_invitation(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, services.invitation_send, "invited again")


class MemberOfFilter(admin.SimpleListFilter):
    """Members of one organization, as the API's `organization=` filters (users.selectors.members_of: EXISTS,
    not a join that repeats people and asks for DISTINCT)."""

    title = "organization"
    parameter_name = "organization"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in Organization.objects.order_by("name", "id").values_list("id", "name")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            organization = uuid.UUID(self.value())
        except ValueError:
            raise IncorrectLookupParameters(f"{self.value()!r} is not an organization id.") from None
        return queryset.filter(selectors.members_of([organization]))


class TenantUserAdmin(LargeListAdmin):
    form = UserForm
    list_display = ("email", "full_name", "role", "status", "last_login", "created_at")
    list_filter = ("status", "role", MemberOfFilter)
    search_fields = ("email", "first_name", "last_name", "job_title")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    readonly_fields = ("id", "status", "last_login", "created_at", "updated_at")
    actions = (suspend, activate, deactivate, end_sessions, resend_invitation)
    inlines = (MembershipOfUserInline, SessionOfUserInline)
    list_per_page = 50
    show_full_result_count = False  # no count(*) over a million rows on every page

    def get_queryset(self, request):
        return super().get_queryset(request).defer("password")

    def get_search_results(self, request, queryset, search_term):
        """The API's search (users.selectors.user_search: a substring of email, names and job title, served by
        the trigram index), not the admin's OR of icontains per field and word, which scans every row."""
        term = search_term.strip()
        if not term:
            return queryset, False
        return selectors.user_search(queryset, term[:200]), False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if not policy.allows(request_actor(request), "grant_owner"):  # the owner role: offered to owners only
            form.base_fields["role"].choices = [(v, label) for v, label in UserRole.choices if v != UserRole.OWNER]
        return form

    def get_fieldsets(self, request, obj=None):
        fields = [*PROFILE, *(["password"] if obj is None else [])]
        return [(None, {"fields": fields}), ("Record", {"fields": self.readonly_fields})]

    def has_delete_permission(self, request, obj=None):
        return False  # users are deactivated, not deleted

    def has_view_permission(self, request, obj=None):
        return policy.allows(request_actor(request), "update")

    def has_change_permission(self, request, obj=None):
        return policy.allows(request_actor(request), "update", obj)

    def has_add_permission(self, request):
        return policy.allows(request_actor(request), "create")

    def save_model(self, request, obj, form, change):
        """Through the services, which check users.policy (a role granted, one's own role) and record the change."""
        actor = request_actor(request)
        data = {field: form.cleaned_data[field] for field in form.changed_data if field in PROFILE}
        if change:
            services.user_update(actor=actor, user=User.objects.get(pk=obj.pk), data=data)
        else:
            user = services.user_create(
                actor=actor,
                **{f: form.cleaned_data[f] for f in PROFILE},
                password=form.cleaned_data.get("password") or None,
            )
            obj.pk = user.pk

    def save_related(self, request, form, formsets, change):
        pass  # memberships are shown, not edited, here: organizations manage their members


class PlatformStaffAdmin(LargeListAdmin):
    list_display = ("email", "full_name", "is_staff", "is_superuser", "status", "last_login")
    search_fields = ("email", "first_name", "last_name")
    fields = ("email", "first_name", "last_name", "is_staff", "is_superuser", "status")
    ordering = ("email",)


tenant_admin.register(User, TenantUserAdmin)
platform_admin.register(User, PlatformStaffAdmin)
