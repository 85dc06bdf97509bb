"""manage.py prune_activity (--tenant T | --all) --older-than DAYS: the retention policy, the only delete."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from activity.models import ActivityEntry
from p360.commands import OperatorCommand
from p360.tenancy import all_tenants, tenant_by_slug

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


class Command(OperatorCommand):
    help = "Delete activity entries older than a number of days, for one tenant or all."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--tenant", help="Tenant slug.")
        target.add_argument("--all", action="store_true", help="Every tenant.")
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, tenant, all, older_than, json, **options):
        from django.core.management.base import CommandError

        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day")
        tenants = all_tenants() if all else [tenant_by_slug(tenant)]
        results = {}
        for each in tenants:
            with each:
                results[each.slug] = prune(
                    timedelta(days=older_than),
                    progress=lambda n, slug=each.slug: self.stderr.write(f"  {slug}: {n} deleted..."),
                )
        if json:
            import json as jsonlib

            self.stdout.write(jsonlib.dumps({"deleted": results}))
        else:
            for slug, count in results.items():
                self.stdout.write(f"{slug}: deleted {count} entries older than {older_than} days")
