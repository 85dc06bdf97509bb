"""Reads of the activity log, with the joins a page needs."""

from django.db.models import ExpressionWrapper, F, QuerySet

from activity.models import ActivityEntry
from p360.api.keyset import row_value
from p360.api.serializers import api_timestamp, parse_api_timestamp
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
_PLAIN_FIELDS = tuple(f for f in ROW_FIELDS if f not in (*_JSON_FIELDS, "occurred_at"))
_COMPUTED = {
    **{f"{name}_json": ExpressionWrapper(F(name), output_field=FastJSONField()) for name in _JSON_FIELDS},
    # the API's text of the time, written by PostgreSQL (no datetime parsed and formatted again per row)
    "occurred_at_text": api_timestamp("activity_activityentry.occurred_at"),
}


def activity_rows(queryset: QuerySet[ActivityEntry]) -> QuerySet[dict]:
    """ROW_FIELDS as dicts; `changes` and `metadata` come as `changes_json`/`metadata_json`, decoded by orjson,
    and `occurred_at` as `occurred_at_text`, the API's text (activity_row_value reads it back for a cursor)."""
    return queryset.values(*_PLAIN_FIELDS, **_COMPUTED)


def activity_row_value(row: dict, path: str):
    """The value of an ordering key on an activity_rows row (a cursor's)."""
    return parse_api_timestamp(row["occurred_at_text"]) if path == "occurred_at" else row_value(row, path)


def activity_about(subject_id) -> QuerySet[ActivityEntry]:
    """Entries that concern an object: as target, or as the user or organization of a membership."""
    return activity_list().filter(subject_ids__contains=[str(subject_id)])


def activity_search(queryset: QuerySet[ActivityEntry], text: str) -> QuerySet[ActivityEntry]:
    """Case-insensitive substring of the target's name, served by the trigram index on UPPER(target_repr)."""
    text = text.strip()[:200]
    return queryset.filter(target_repr__icontains=text) if text else queryset
