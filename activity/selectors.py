"""Reads of the activity log, with the joins a page needs."""

from django.db.models import QuerySet

from activity.models import ActivityEntry

ENTRY_FIELDS = [field.name for field in ActivityEntry._meta.concrete_fields]
ACTOR_FIELDS = ["actor__id", "actor__email", "actor__first_name", "actor__last_name"]  # never the password hash


def activity_list() -> QuerySet[ActivityEntry]:
    return ActivityEntry.objects.select_related("actor").only(*ENTRY_FIELDS, *ACTOR_FIELDS)


def activity_about(subject_id) -> QuerySet[ActivityEntry]:
    """Entries that concern an object: as target, or as the user or organization of a membership."""
    return activity_list().filter(subject_ids__contains=[str(subject_id)])
