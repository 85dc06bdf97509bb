"""The activity log in the tenant admin and the platform admin: read-only."""

from django.contrib import admin

from activity import selectors
from activity.models import ActivityEntry
from activity.verbs import PREFIXES
from p360.admin_lists import LargeListAdmin
from p360.admin_sites import platform_admin, tenant_admin


class VerbPrefixFilter(admin.SimpleListFilter):
    """What happened, by the verbs' prefix (as the API's `verb=user.*`; the verb index serves it)."""

    title = "event"
    parameter_name = "verb"

    def lookups(self, request, model_admin):
        return [(prefix, prefix) for prefix in sorted(PREFIXES)]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(verb__startswith=f"{value}.") if value in PREFIXES else queryset


class ActivityEntryAdmin(LargeListAdmin):
    list_display = ("occurred_at", "verb", "actor", "actor_type", "target_type", "target_repr", "ip")
    list_filter = ("actor_type", VerbPrefixFilter)
    search_fields = ("target_repr",)
    list_select_related = ("actor",)
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        """The API's search (activity.selectors.activity_search, trigram-served), not an icontains per word."""
        return selectors.activity_search(queryset, search_term), False

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
