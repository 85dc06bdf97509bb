"""Users in and out of the API: output shapes apart from input shapes."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from rest_framework import serializers

from p360.api.serializers import PlainTextField, StrictSerializer, TrimmedNameField
from users.models import User, UserRole

_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class UserOrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="organization.id")
    name = serializers.CharField(source="organization.name")
    role = serializers.CharField()


class UserSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    organizations = UserOrganizationSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = User
        fields = [
            "id", "email", "first_name", "last_name", "full_name", "role", "status", "job_title", "phone",
            "timezone", "locale", "organizations", "last_login", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


def user_list_rows(rows: list[dict]) -> list[dict]:
    """What UserSerializer(many=True) gives for these rows (users.selectors.user_rows), built directly: the shape
    that the directory's SQL writes as JSON (users.selectors.DirectoryRow), held to it by the parity tests."""
    return [
        {
            "id": str(row["id"]),
            "email": row["email"],
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "full_name": f"{row['first_name']} {row['last_name']}".strip(),
            "role": row["role"],
            "status": row["status"],
            "job_title": row["job_title"],
            "phone": row["phone"],
            "timezone": row["timezone"],
            "locale": row["locale"],
            "organizations": row["organizations"],
            "last_login": row["last_login_text"],
            "created_at": row["created_at_text"],
            "updated_at": row["updated_at_text"],
        }
        for row in rows
    ]


class PlatformUserSerializer(UserSerializer):
    """Platform staff (public schema): no organizations there."""

    class Meta(UserSerializer.Meta):
        fields = [f for f in UserSerializer.Meta.fields if f != "organizations"]
        read_only_fields = fields


def user_serializer_class():
    """The user shape of the current schema: tenant users have organizations, platform staff do not."""
    from django.db import connection

    return PlatformUserSerializer if connection.schema_name == "public" else UserSerializer


class MembershipOfUserSerializer(serializers.Serializer):
    """GET /users/{id}/organizations: the user's organizations with their role in each."""

    id = serializers.UUIDField(source="organization.id")
    name = serializers.CharField(source="organization.name")
    slug = serializers.CharField(source="organization.slug")
    role = serializers.CharField()


class _LocaleAndTimezone(StrictSerializer):
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


class ProfileUpdateSerializer(_LocaleAndTimezone):
    """What a user may change of their own profile (PATCH /auth/me)."""

    first_name = TrimmedNameField(required=False)
    last_name = TrimmedNameField(required=False)
    job_title = PlainTextField(required=False, max_length=200)
    phone = PlainTextField(required=False, max_length=50)


class UserCreateSerializer(ProfileUpdateSerializer):
    email = serializers.EmailField(max_length=254)
    first_name = TrimmedNameField()
    last_name = TrimmedNameField()
    role = serializers.ChoiceField(choices=UserRole.choices, required=False)
    password = serializers.CharField(required=False, max_length=4096, trim_whitespace=False, write_only=True)


class UserUpdateSerializer(ProfileUpdateSerializer):
    email = serializers.EmailField(max_length=254, required=False)
    role = serializers.ChoiceField(choices=UserRole.choices, required=False)


BULK_ACTIONS = (
    "suspend",
    "activate",
    "deactivate",
    "restore",
    "set_role",
    "add_to_organization",
    "remove_from_organization",
)


class BulkSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=1000)
    role = serializers.ChoiceField(choices=UserRole.choices, required=False)
    organization = serializers.UUIDField(required=False)

    def validate(self, data):
        if data["action"] == "set_role" and "role" not in data:
            raise serializers.ValidationError({"role": ["Required for set_role."]}, code="required")
        if data["action"].endswith("organization") and "organization" not in data:
            raise serializers.ValidationError({"organization": ["Required for this action."]}, code="required")
        return data


class BulkItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ok = serializers.BooleanField()
    code = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class BulkResultSerializer(serializers.Serializer):
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BulkItemSerializer(many=True)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV: email, first_name, last_name, role, job_title, phone, organizations (slugs, `;`-separated)."
    )


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    dry_run = serializers.BooleanField()


class InvitationAcceptSerializer(StrictSerializer):
    token = serializers.CharField(max_length=200)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    first_name = TrimmedNameField(required=False)
    last_name = TrimmedNameField(required=False)


class PasswordResetSerializer(StrictSerializer):
    email = serializers.CharField(max_length=254)


class PasswordResetConfirmSerializer(StrictSerializer):
    token = serializers.CharField(max_length=200)
    new_password = serializers.CharField(max_length=4096, trim_whitespace=False)


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


class SessionSerializer(serializers.Serializer):
    """A session (a sign-in, one refresh-token family); `current` when it is the caller's own request's."""

    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    current = serializers.SerializerMethodField()

    def get_current(self, session) -> bool:
        return str(session.pk) == self.context.get("current")


class SessionsRevokedSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="How many sessions ended.")
