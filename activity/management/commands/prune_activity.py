"""manage.py prune_activity (--tenant T | --all) --older-than DAYS: the retention policy, the only delete."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from activity.models import ActivityEntry
from p360.commands import RetentionCommand

BATCH = 10_000


def prune(older_than: timedelta, batch: int = BATCH, progress=None) -> int:
    """Deletes entries older than the cutoff in the current schema, in batches; returns how many."""
    cutoff = timezone.now() - older_than
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            ids = list(ActivityEntry.objects.filter(occurred_at__lt=cutoff).values_list("id", flat=True)[:batch])
            if not ids:
                return total
            cursor.execute("SET LOCAL p360.activity_prune = 'on'")  # the trigger lets this transaction delete
            try:
                deleted, _ = ActivityEntry.objects.filter(id__in=ids).delete()
            finally:
                # SET LOCAL lasts to the end of the outermost transaction: switch it off as soon as we are done
                cursor.execute("SET LOCAL p360.activity_prune = 'off'")
        total += deleted
        if progress:
            progress(total)


class Command(RetentionCommand):
    help = "Delete activity entries older than a number of days, for one tenant or all."
    noun = "entries"

    def prune(self, older_than, progress):
        return prune(older_than, progress=progress)
