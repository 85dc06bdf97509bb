"""manage.py export_users --tenant T [-o FILE] [--all]: the directory as CSV (formulas neutralised)."""

from __future__ import annotations

from p360.api.exports import csv_stream, in_batches
from p360.api.ordering import OrderKey
from p360.commands import OperatorCommand
from p360.tenancy import tenant_by_slug
from users.exports import EXPORT_HEADER, export_row
from users.models import UserStatus
from users.selectors import user_list

PROGRESS_EVERY = 50_000


class Command(OperatorCommand):
    help = "Export a tenant's users as CSV, oldest first (deactivated users with --all)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("-o", "--output", help="File to write (default: stdout).")
        parser.add_argument("--all", action="store_true", help="Include deactivated users.")

    def handle(self, *args, tenant, output, all, **options):
        queryset = user_list() if all else user_list().exclude(status=UserStatus.DEACTIVATED)
        keys = [OrderKey("created_at", False, False), OrderKey("id", False, False)]
        count = 0
        with tenant_by_slug(tenant):
            chunks = csv_stream(EXPORT_HEADER, (export_row(user) for user in in_batches(queryset, keys)))
            stream = open(output, "w", encoding="utf-8", newline="") if output else None  # noqa: SIM115
            try:
                for index, chunk in enumerate(chunks):
                    if stream:
                        stream.write(chunk)
                    else:
                        self.stdout.write(chunk, ending="")
                    count = index
                    if output and index and index % PROGRESS_EVERY == 0:
                        self.stderr.write(f"  {index:,} users...")
            finally:
                if stream:
                    stream.close()
        self.stderr.write(f"exported {count:,} users of {tenant}")
