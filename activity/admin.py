"""The activity log in the tenant admin and the platform admin: read-only."""

from django.contrib import admin

from activity.models import ActivityEntry
from p360.admin_sites import platform_admin, tenant_admin


class ActivityEntryAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "verb", "actor", "actor_type", "target_type", "target_repr", "ip")
    list_filter = ("actor_type", "target_type")
    search_fields = ("target_repr",)
    list_select_related = ("actor",)
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ActivityEntry._meta.fields] + ["subject_ids"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return getattr(request.user, "role", None) in ("owner", "admin") or request.user.is_superuser

    def has_module_permission(self, request):
        return self.has_view_permission(request)


tenant_admin.register(ActivityEntry, ActivityEntryAdmin)
platform_admin.register(ActivityEntry, ActivityEntryAdmin)
