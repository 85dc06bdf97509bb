"""Filters of the user directory (list and export)."""

import django_filters

from p360.api.filters import DateOrDateTimeFilter, FilterSet, MultiValueChoiceFilter, MultiValueUUIDFilter
from users.models import User, UserRole, UserStatus
from users.selectors import members_of, user_search


class UserFilter(FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=200, help_text="Email, names or job title.")
    status = MultiValueChoiceFilter(choices=UserStatus.choices, help_text="Default: every status but deactivated.")
    role = MultiValueChoiceFilter(choices=UserRole.choices)
    organization = MultiValueUUIDFilter(method="filter_organization", help_text="Members of these organizations.")
    created_after = DateOrDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateOrDateTimeFilter(field_name="created_at", lookup_expr="lt")
    last_login_after = DateOrDateTimeFilter(field_name="last_login", lookup_expr="gte")
    last_login_before = DateOrDateTimeFilter(field_name="last_login", lookup_expr="lt")

    class Meta:
        model = User
        fields = []

    @property
    def hides_deactivated(self) -> bool:
        """Without a `status=` value, deactivated people are left out."""
        return not self.data.get("status")

    @property
    def qs(self):
        queryset = super().qs
        if self.hides_deactivated:
            queryset = queryset.exclude(status=UserStatus.DEACTIVATED)
        return queryset

    def filter_search(self, queryset, name, value):
        return user_search(queryset, value.strip()) if value.strip() else queryset

    def filter_organization(self, queryset, name, values):
        return queryset.filter(members_of(values)) if values else queryset
