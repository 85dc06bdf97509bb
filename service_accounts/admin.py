"""Service accounts in the tenant admin (owners and admins): writes through the services, so every change is
checked by service_accounts.policy and recorded; a new key's secret is shown once, on a page of its own
(`Cache-Control: no-store`), never in a message (messages are stored in the session or a cookie)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse

from p360.actors import request_actor
from p360.admin_sites import tenant_admin
from service_accounts import policy, services
from service_accounts.models import ApiKey, Scope, ServiceAccount

_FIELDS = ("name", "description", "scopes", "status")


class ServiceAccountForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, required=False, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ServiceAccount
        fields = _FIELDS


class KeyInline(admin.TabularInline):
    model = ApiKey
    fields = readonly_fields = ("prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return policy.allows(request_actor(request), "read")


@admin.action(description="Create an API key for the selected service account")
def create_key(modeladmin, request, queryset):
    accounts = list(queryset[:2])
    if len(accounts) != 1:
        modeladmin.message_user(request, "Select one service account.", level="warning")
        return None
    account = accounts[0]
    created = services.key_create(actor=request_actor(request), account=account)
    back = reverse("tenant_admin:service_accounts_serviceaccount_change", args=[account.pk])
    context = {**tenant_admin.each_context(request), "account": account, "key": created.key,
               "secret": created.secret, "back": back}  # fmt: skip
    response = TemplateResponse(request, "admin/service_accounts/key_created.html", context)
    response["Cache-Control"] = "no-store"
    return response


class ServiceAccountAdmin(admin.ModelAdmin):
    form = ServiceAccountForm
    list_display = ("name", "scope_list", "status", "last_used_at", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = ("created_at", "updated_at", "last_used_at")
    inlines = [KeyInline]
    actions = [create_key]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("keys")  # last_used_at: the latest of its keys'

    @admin.display(description="scopes")
    def scope_list(self, account):
        return ", ".join(account.scopes) or "-"

    def has_module_permission(self, request):
        return policy.allows(request_actor(request), "read")

    def has_view_permission(self, request, obj=None):
        return policy.allows(request_actor(request), "read")

    def has_add_permission(self, request):
        return policy.allows(request_actor(request), "create")

    def has_change_permission(self, request, obj=None):
        return policy.allows(request_actor(request), "update")

    def has_delete_permission(self, request, obj=None):
        return policy.allows(request_actor(request), "delete")

    def save_model(self, request, obj, form, change):
        actor = request_actor(request)
        data = {field: form.cleaned_data[field] for field in _FIELDS if field in form.cleaned_data}
        if change:
            changed = {f: v for f, v in data.items() if f in form.changed_data}
            services.service_account_update(actor=actor, account=ServiceAccount.objects.get(pk=obj.pk), data=changed)
        else:
            data.pop("status", None)
            obj.pk = services.service_account_create(actor=actor, **data).pk

    def save_formset(self, request, form, formset, change):
        """Keys are created by the action and revoked through the API or the CLI, never edited here."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj):
        services.service_account_delete(actor=request_actor(request), account=obj)

    def delete_queryset(self, request, queryset):
        for account in queryset:
            self.delete_model(request, account)


tenant_admin.register(ServiceAccount, ServiceAccountAdmin)
