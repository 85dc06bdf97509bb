"""Tenants in and out of the platform API."""

from rest_framework import serializers

from p360.api.serializers import StrictSerializer, TrimmedNameField
from tenants.models import Tenant, TenantStatus


class TenantSerializer(serializers.ModelSerializer):
    domains = serializers.SerializerMethodField()
    user_count = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["id", "slug", "name", "status", "domains", "created_at", "user_count"]
        read_only_fields = fields

    def get_domains(self, tenant) -> list[str]:
        return [domain.domain for domain in tenant.domains.all()]

    def get_user_count(self, tenant) -> int:
        return self.context["user_counts"].get(str(tenant.pk), 0)


class OwnerSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    first_name = TrimmedNameField(required=False)
    last_name = TrimmedNameField(required=False)
    password = serializers.CharField(required=False, max_length=4096, trim_whitespace=False, write_only=True)


class TenantCreateSerializer(StrictSerializer):
    slug = serializers.CharField(max_length=40)
    name = TrimmedNameField(max_length=200)
    domain = serializers.CharField(max_length=253, required=False)
    owner = OwnerSerializer()


class TenantUpdateSerializer(StrictSerializer):
    name = TrimmedNameField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=TenantStatus.choices, required=False)
