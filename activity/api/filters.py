"""Filters of the activity list and export: actor, verb (with `prefix.*`), target, time range, search."""

import django_filters
from django.db.models import Q
from rest_framework.exceptions import ValidationError

from activity.models import ActivityEntry
from activity.selectors import activity_search
from activity.verbs import PREFIXES, VERBS
from p360.api.filters import DateOrDateTimeFilter, FilterSet, MultiValueCharFilter, MultiValueUUIDFilter


class ActivityFilter(FilterSet):
    actor = MultiValueUUIDFilter(field_name="actor_id", help_text="User ids (comma-separated or repeated).")
    verb = MultiValueCharFilter(method="filter_verb", help_text="Verbs; `user.*` matches every verb of a prefix.")
    target_type = MultiValueCharFilter(field_name="target_type")
    target_id = MultiValueCharFilter(field_name="target_id")
    occurred_after = DateOrDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = DateOrDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    search = django_filters.CharFilter(
        method="filter_search", max_length=200, help_text="Case-insensitive substring of the target's name."
    )

    class Meta:
        model = ActivityEntry
        fields = []

    def filter_verb(self, queryset, name, values):
        exact, prefixes, unknown = [], [], []
        for value in values:
            if value.endswith(".*") and value[:-2] in PREFIXES:
                prefixes.append(value[:-1])
            elif value in VERBS:
                exact.append(value)
            else:
                unknown.append(value)
        if unknown:
            raise ValidationError({"verb": [f"Unknown verb {v!r}." for v in unknown]}, code="invalid_choice")
        condition = Q(verb__in=exact) if exact else Q()
        for prefix in prefixes:
            condition |= Q(verb__startswith=prefix)
        return queryset.filter(condition)

    def filter_search(self, queryset, name, value):
        return activity_search(queryset, value)
