"""Service accounts and keys in and out of the API (API.md, "Service accounts and API keys")."""

from __future__ import annotations

from rest_framework import serializers

from p360.api.serializers import StrictSerializer, TrimmedNameField
from service_accounts.models import ApiKey, Scope, ServiceAccount, ServiceAccountStatus


class KeySerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class CreatedKeySerializer(serializers.Serializer):
    """A new key, with its secret: the only answer that ever holds it."""

    id = serializers.UUIDField()
    prefix = serializers.CharField()
    secret = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class ServiceAccountSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="The latest use of any of its keys.")
    keys = KeySerializer(many=True)

    class Meta:
        model = ServiceAccount
        fields = ["id", "name", "description", "scopes", "status", "created_at", "updated_at", "last_used_at", "keys"]
        read_only_fields = fields


class ServiceAccountCreateSerializer(StrictSerializer):
    name = TrimmedNameField(max_length=150)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), max_length=20, default=list)


class ServiceAccountUpdateSerializer(StrictSerializer):
    name = TrimmedNameField(max_length=150, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), max_length=20, required=False)
    status = serializers.ChoiceField(choices=ServiceAccountStatus.choices, required=False)


class KeyCreateSerializer(StrictSerializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
