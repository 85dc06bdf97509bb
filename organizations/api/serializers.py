"""Organizations and members in and out of the API."""

from __future__ import annotations

import re

from rest_framework import serializers

from organizations.models import Membership, MembershipRole, Organization
from p360.api.serializers import StrictSerializer, TrimmedNameField


class PathItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class OrganizationSerializer(serializers.ModelSerializer):
    parent = serializers.UUIDField(source="parent_id", allow_null=True)
    path = serializers.SerializerMethodField()
    member_count = serializers.IntegerField()
    child_count = serializers.IntegerField()

    class Meta:
        model = Organization
        fields = [
            "id", "name", "slug", "description", "parent", "path", "status", "member_count", "child_count",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_path(self, org) -> list[dict]:
        return PathItemSerializer(self.context["paths"].get(org.pk, []), many=True).data


class DescriptionField(serializers.CharField):
    """Free text: newlines and tabs are fine, other control characters are not."""

    def __init__(self, **kwargs):
        super().__init__(max_length=2000, required=False, allow_blank=True, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", value):
            raise serializers.ValidationError(
                "Control characters other than newlines and tabs are not allowed.", code="invalid"
            )
        return value


class OrganizationWriteSerializer(StrictSerializer):
    name = TrimmedNameField(max_length=200)
    slug = serializers.RegexField(
        r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=100, required=False,
        error_messages={"invalid": "Lowercase letters, digits and single hyphens."},
    )  # fmt: skip
    description = DescriptionField()
    parent = serializers.UUIDField(required=False, allow_null=True)


class OrganizationUpdateSerializer(OrganizationWriteSerializer):
    name = TrimmedNameField(max_length=200, required=False)


class MemberUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    status = serializers.CharField()


class MemberSerializer(serializers.ModelSerializer):
    user = MemberUserSerializer()
    organization = PathItemSerializer(
        help_text="The organization of this membership (differs with include_descendants)."
    )

    class Meta:
        model = Membership
        fields = ["user", "role", "joined_at", "organization"]
        read_only_fields = fields


class MemberCreateSerializer(StrictSerializer):
    user = serializers.UUIDField()
    role = serializers.ChoiceField(choices=MembershipRole.choices, default=MembershipRole.MEMBER)


class MemberUpdateSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=MembershipRole.choices)
