"""manage.py export_activity --tenant T [--since DATE] [--format csv|ndjson] [-o FILE]"""

from __future__ import annotations

from django.core.management.base import CommandError

from activity.api.serializers import EXPORT_HEADER, export_record, export_row
from activity.selectors import activity_list
from p360.api.exports import csv_stream, in_batches, ndjson_stream
from p360.api.filters import DateOrDateTimeField
from p360.api.ordering import OrderKey
from p360.commands import OperatorCommand
from p360.tenancy import tenant_by_slug

PROGRESS_EVERY = 10_000


class Command(OperatorCommand):
    help = "Export a tenant's activity log, oldest first, as CSV or NDJSON (to stdout or a file)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--since", help="Only entries at or after this ISO date or date-time.")
        parser.add_argument("--format", choices=["csv", "ndjson"], default="csv")
        parser.add_argument("-o", "--output", help="File to write (default: stdout).")

    def handle(self, *args, tenant, since, format, output, **options):
        queryset = activity_list()
        if since:
            try:
                queryset = queryset.filter(occurred_at__gte=DateOrDateTimeField().clean(since))
            except Exception as exc:
                raise CommandError(f"--since: {'; '.join(getattr(exc, 'messages', [str(exc)]))}") from None
        with tenant_by_slug(tenant):
            keys = [OrderKey("occurred_at", False, False), OrderKey("id", False, False)]
            records = (export_record(entry) for entry in in_batches(queryset, keys))
            if format == "csv":
                chunks = csv_stream(EXPORT_HEADER, (export_row(r) for r in records))
            else:
                chunks = ndjson_stream(records)
            written = self._write(chunks, output, skip_header=format == "csv")
        self.stderr.write(f"exported {written} entries of {tenant}")

    def _write(self, chunks, output, skip_header: bool) -> int:
        stream = open(output, "w", encoding="utf-8", newline="") if output else None  # noqa: SIM115
        count = -1 if skip_header else 0
        try:
            for chunk in chunks:
                if stream:
                    stream.write(chunk)
                else:
                    self.stdout.write(chunk, ending="")
                count += 1
                if output and count and count % PROGRESS_EVERY == 0:
                    self.stderr.write(f"  {count} entries...")
        finally:
            if output:
                stream.close()
        return max(count, 0)
