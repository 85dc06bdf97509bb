"""Filters of the organization list and of an organization's members."""

import django_filters
from django.db.models import Q
from rest_framework.exceptions import ValidationError

from organizations.models import Membership, MembershipRole, Organization, OrganizationStatus
from p360.api.filters import DateOrDateTimeFilter, FilterSet, MultiValueChoiceFilter


class OrganizationFilter(FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=200, help_text="Name, slug or description.")
    status = MultiValueChoiceFilter(choices=OrganizationStatus.choices)
    parent = django_filters.CharFilter(method="filter_parent", help_text="An organization id, or `root`.")
    ancestor = django_filters.UUIDFilter(method="filter_ancestor", help_text="An organization id: all its descendants.")
    created_after = DateOrDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateOrDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Organization
        fields = []

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value) | Q(description__icontains=value))

    def filter_parent(self, queryset, name, value):
        if value == "root":
            return queryset.filter(parent__isnull=True)
        try:
            parent_id = Organization._meta.pk.to_python(value)
        except Exception:
            raise ValidationError(
                {"parent": [f"Expected an organization id or `root`, not {value!r}."]}, code="invalid"
            ) from None
        return queryset.filter(parent_id=parent_id)

    def filter_ancestor(self, queryset, name, value):
        return queryset.filter(ancestors__contains=[value])


class MemberFilter(FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=200, help_text="Email or name.")
    role = MultiValueChoiceFilter(choices=MembershipRole.choices)
    status = MultiValueChoiceFilter(
        field_name="user__status",
        choices=[
            ("invited", "Invited"),
            ("active", "Active"),
            ("suspended", "Suspended"),
            ("deactivated", "Deactivated"),
        ],
    )
    include_descendants = django_filters.BooleanFilter(
        method="filter_noop", help_text="Members of sub-organizations too."
    )

    class Meta:
        model = Membership
        fields = []

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(user__email__icontains=value) | Q(user__first_name__icontains=value) | Q(user__last_name__icontains=value)
        )

    def filter_noop(self, queryset, name, value):
        return queryset  # applied by the view, which chooses the organizations
