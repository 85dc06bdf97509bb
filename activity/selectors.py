"""Reads of the activity log, with the joins a page needs."""

from django.db.models import QuerySet

from activity.models import ActivityEntry

ENTRY_FIELDS = [field.name for field in ActivityEntry._meta.concrete_fields]
ACTOR_FIELDS = ["actor__id", "actor__email", "actor__first_name", "actor__last_name"]  # never the password hash


def activity_list() -> QuerySet[ActivityEntry]:
    return ActivityEntry.objects.select_related("actor").only(*ENTRY_FIELDS, *ACTOR_FIELDS)


def activity_for_target(*, target_type: str, target_id) -> QuerySet[ActivityEntry]:
    return activity_list().filter(target_type=target_type, target_id=str(target_id))
