"""Reads of the activity log, with the joins a page needs."""

from django.db.models import ExpressionWrapper, F, QuerySet

from activity.models import ActivityEntry
from p360.db import FastJSONField

ENTRY_FIELDS = [field.name for field in ActivityEntry._meta.concrete_fields]
ACTOR_FIELDS = ["actor__id", "actor__email", "actor__first_name", "actor__last_name"]  # never the password hash


def activity_list() -> QuerySet[ActivityEntry]:
    return ActivityEntry.objects.select_related("actor").only(*ENTRY_FIELDS, *ACTOR_FIELDS)


# A row of the list API, read without model instances (actor through the same LEFT JOIN).
ROW_FIELDS = (
    "id", "occurred_at", "actor__id", "actor__email", "actor__first_name", "actor__last_name", "actor_type", "verb",
    "target_type", "target_id", "target_repr", "changes", "metadata", "ip", "user_agent", "request_id",
)  # fmt: skip


_JSON_FIELDS = ("changes", "metadata")
_PLAIN_FIELDS = tuple(f for f in ROW_FIELDS if f not in _JSON_FIELDS)
_FAST_JSON = {f"{name}_json": ExpressionWrapper(F(name), output_field=FastJSONField()) for name in _JSON_FIELDS}


def activity_rows(queryset: QuerySet[ActivityEntry]) -> QuerySet[dict]:
    """ROW_FIELDS as dicts; `changes` and `metadata` come as `changes_json`/`metadata_json`, decoded by orjson."""
    return queryset.values(*_PLAIN_FIELDS, **_FAST_JSON)


def activity_about(subject_id) -> QuerySet[ActivityEntry]:
    """Entries that concern an object: as target, or as the user or organization of a membership."""
    return activity_list().filter(subject_ids__contains=[str(subject_id)])
