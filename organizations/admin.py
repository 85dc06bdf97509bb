"""Organizations in the tenant admin: the hierarchy visible, members inline, writes through the services."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from organizations import policy, selectors, services
from organizations.models import Membership, Organization
from p360.actors import request_actor
from p360.admin_lists import LargeListAdmin, with_probed_dates
from p360.admin_sites import apply_to_each, tenant_admin


def _tenant_wide(request) -> bool:
    """Whether the staff member manages every organization (organizations.policy at the root: tenant owners and
    admins); organization admins manage theirs through the API, not the admin."""
    return policy.allows(request_actor(request), "update", None)


class TenantAdminsOnly:
    """The organization admin's rule, for the organization and its members inline alike (_tenant_wide), not
    Django's per-model permissions, which P360's roles do not grant. The services check each change again."""

    def has_module_permission(self, request):
        return _tenant_wide(request)

    def has_view_permission(self, request, obj=None):
        return _tenant_wide(request)

    def has_change_permission(self, request, obj=None):
        return _tenant_wide(request)

    def has_add_permission(self, request, obj=None):
        return _tenant_wide(request)

    def has_delete_permission(self, request, obj=None):
        return _tenant_wide(request)


INLINE_MEMBERS = 50  # an organization's page shows its first members; the users list filters by organization


class FirstMembersFormSet(BaseInlineFormSet):
    """The organization's first INLINE_MEMBERS memberships (by email), not every one of its thousands."""

    def get_queryset(self):
        if not hasattr(self, "_first_members"):
            self._first_members = super().get_queryset().order_by("user__email", "id")[:INLINE_MEMBERS]
        return self._first_members


class MembershipInline(TenantAdminsOnly, admin.TabularInline):
    model = Membership
    formset = FirstMembersFormSet
    fields = ("user", "role", "joined_at")
    readonly_fields = ("joined_at",)
    raw_id_fields = ("user",)
    extra = 1
    verbose_name_plural = f"memberships (the first {INLINE_MEMBERS} by email; every member: the link above)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.action(description="Archive selected organizations")
def archive(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, services.organization_archive, "archived")


@admin.action(description="Unarchive selected organizations")
def unarchive(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, services.organization_unarchive, "unarchived")


def _each(modeladmin, request, queryset, service, done):
    actor = request_actor(request)
    act = lambda org: service(actor=actor, org=org)  # noqa: E731
    apply_to_each(modeladmin, request, queryset, act, label=lambda org: org.name, noun="organization", done=done)


class OrganizationAdmin(TenantAdminsOnly, LargeListAdmin):
    list_display = ("indented_name", "parent", "status", "member_count", "child_count", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug", "description")
    list_select_related = ("parent",)
    ordering = ("name",)
    date_hierarchy = "created_at"
    fields = ("name", "slug", "description", "parent", "status", "path_display", "members_display")
    readonly_fields = ("status", "path_display", "members_display")
    raw_id_fields = ("parent",)
    inlines = (MembershipInline,)
    actions = (archive, unarchive)
    show_full_result_count = False

    def get_queryset(self, request):
        return with_probed_dates(selectors.organization_list().select_related("parent"))

    @admin.display(description="name", ordering="name")
    def indented_name(self, org):
        return format_html("{}{}", "— " * len(org.ancestors), org.name)

    @admin.display(description="members", ordering="member_count")
    def member_count(self, org):
        return org.member_count

    @admin.display(description="sub-organizations", ordering="child_count")
    def child_count(self, org):
        return org.child_count

    @admin.display(description="members")
    def members_display(self, org):
        if not org.pk:
            return "-"
        url = reverse("tenant_admin:users_user_changelist") + "?" + urlencode({"organization": str(org.pk)})
        return format_html('{} — <a href="{}">every member in the users list</a>', org.member_count, url)

    @admin.display(description="path")
    def path_display(self, org):
        path = selectors.organization_paths([org]).get(org.pk, [])
        return " / ".join(item["name"] for item in path) or "(root)"

    def save_model(self, request, obj, form, change):
        actor = request_actor(request)
        data = {f: form.cleaned_data[f] for f in ("name", "slug", "description", "parent") if f in form.cleaned_data}
        if change:
            changed = {f: v for f, v in data.items() if f in form.changed_data}
            services.organization_update(actor=actor, org=Organization.objects.get(pk=obj.pk), data=changed)
        else:
            created = services.organization_create(actor=actor, **data)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        services.organization_delete(actor=request_actor(request), org=obj)

    def save_formset(self, request, form, formset, change):
        """Each membership change through its service; what changed is left on the formset as formset.save()
        would leave it, for the admin's change message."""
        org, actor = Organization.objects.get(pk=form.instance.pk), request_actor(request)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for deleted in formset.deleted_forms:
            if deleted.instance.pk:
                services.membership_remove(actor=actor, membership=deleted.instance)
                formset.deleted_objects.append(deleted.instance)
        for inline_form in formset.forms:
            if inline_form in formset.deleted_forms or not inline_form.has_changed() or not inline_form.cleaned_data:
                continue
            membership = inline_form.instance
            if membership.pk and Membership.objects.filter(pk=membership.pk).exists():
                services.membership_update(actor=actor, membership=membership, role=inline_form.cleaned_data["role"])
                formset.changed_objects.append((membership, inline_form.changed_data))
            else:
                added = services.membership_add(
                    actor=actor, org=org, user=inline_form.cleaned_data["user"], role=inline_form.cleaned_data["role"]
                )
                formset.new_objects.append(added)


tenant_admin.register(Organization, OrganizationAdmin)
