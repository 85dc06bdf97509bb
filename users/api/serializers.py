"""Users in and out of the API: output shapes apart from input shapes."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from rest_framework import serializers

from p360.api.serializers import PlainTextField, StrictSerializer, TrimmedNameField
from users.models import User

_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class UserSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id", "email", "first_name", "last_name", "full_name", "role", "status", "job_title", "phone",
            "timezone", "locale", "last_login", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ProfileUpdateSerializer(StrictSerializer):
    """What a user may change of their own profile (PATCH /auth/me)."""

    first_name = TrimmedNameField(required=False)
    last_name = TrimmedNameField(required=False)
    job_title = PlainTextField(required=False, max_length=200)
    phone = PlainTextField(required=False, max_length=50)
    timezone = serializers.CharField(required=False, max_length=64)
    locale = serializers.CharField(required=False, max_length=35)

    def validate_timezone(self, value: str) -> str:
        if value not in _timezones():
            raise serializers.ValidationError(f"Unknown time zone {value!r}; use an IANA name such as Europe/Paris.")
        return value

    def validate_locale(self, value: str) -> str:
        if not _LOCALE.match(value):
            raise serializers.ValidationError(f"Invalid locale {value!r}; use a BCP 47 tag such as en or pt-BR.")
        return value.replace("_", "-")


class LoginSerializer(StrictSerializer):
    email = serializers.CharField(max_length=254, trim_whitespace=True)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class RefreshSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=4096)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LoginResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class PasswordChangeSerializer(StrictSerializer):
    current_password = serializers.CharField(max_length=4096, trim_whitespace=False)
    new_password = serializers.CharField(max_length=4096, trim_whitespace=False)
