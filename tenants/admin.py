"""Tenants in the platform admin: domains, status and user counts; creating one provisions its schema
and owner, suspending one stops its hosts at once."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import connection

from p360.actors import request_actor
from p360.admin_lists import LargeListAdmin, with_probed_dates
from p360.admin_sites import platform_admin
from tenants import selectors, services
from tenants.models import Domain, Tenant


class TenantForm(forms.ModelForm):
    domain = forms.CharField(required=False, help_text="Default: {slug}.{P360_BASE_DOMAIN}.")
    owner_email = forms.EmailField(required=False)
    owner_password = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Empty: the owner is invited."
    )

    class Meta:
        model = Tenant
        fields = ("slug", "name", "status")

    def clean(self):
        data = super().clean()
        if not self.instance.pk and not data.get("owner_email"):
            self.add_error("owner_email", "A new tenant needs an owner.")
        return data


class DomainInline(admin.TabularInline):
    model = Domain
    fields = ("domain", "is_primary")
    extra = 0


class TenantAdmin(LargeListAdmin):
    form = TenantForm
    list_display = ("slug", "name", "status", "domain_list", "user_count", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name", "domains__domain")
    ordering = ("slug",)
    inlines = (DomainInline,)

    def get_queryset(self, request):
        return with_probed_dates(selectors.tenant_list())

    def get_fields(self, request, obj=None):
        return (
            ("slug", "name", "domain", "owner_email", "owner_password")
            if obj is None
            else ("slug", "name", "status", "schema_name")
        )

    def get_readonly_fields(self, request, obj=None):
        return ("slug", "schema_name") if obj else ()

    def get_inlines(self, request, obj):
        return (DomainInline,) if obj else ()

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        counts = selectors.user_counts(changelist.result_list)  # one query for the page, not one per row
        for tenant in changelist.result_list:
            tenant.user_count_value = counts.get(str(tenant.pk), 0)
        return changelist

    @admin.display(description="domains")
    def domain_list(self, tenant):
        return ", ".join(domain.domain for domain in tenant.domains.all())

    @admin.display(description="users")
    def user_count(self, tenant):
        return getattr(tenant, "user_count_value", "")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                services.tenant_update(
                    actor=request_actor(request),
                    tenant=Tenant.objects.get(pk=obj.pk),
                    data={"name": data["name"], "status": data["status"]},
                )
            else:
                tenant, _owner = services.tenant_create(
                    actor=request_actor(request),
                    slug=data["slug"], name=data["name"], domain=data.get("domain") or None,
                    owner_email=data["owner_email"], owner_password=data.get("owner_password") or None,
                )  # fmt: skip
                obj.pk = tenant.pk
        finally:
            connection.set_schema_to_public()

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def delete_model(self, request, obj):
        services.tenant_delete(actor=request_actor(request), tenant=obj)

    def delete_queryset(self, request, queryset):
        for tenant in queryset:
            services.tenant_delete(actor=request_actor(request), tenant=tenant)

    def response_add(self, request, obj, post_url_continue=None):
        return super().response_add(request, Tenant.objects.get(pk=obj.pk), post_url_continue)


platform_admin.register(Tenant, TenantAdmin)
