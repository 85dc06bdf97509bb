"""manage.py import_users --tenant T FILE [--dry-run]: the API's CSV import, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import CommandError

from p360.actors import CLI
from p360.commands import OperatorCommand
from p360.tenancy import tenant_by_slug
from users.services.imports import users_import


class Command(OperatorCommand):
    help = (
        "Import users from CSV (email, first_name, last_name, role, job_title, phone, organizations); upsert by email."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("file", help="CSV file, UTF-8.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count; write nothing.")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, tenant, file, dry_run, json: bool = False, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        with tenant_by_slug(tenant):
            self.stderr.write(f"importing {path.stat().st_size:,} bytes into {tenant}...")
            try:
                result = users_import(raw=path.read_bytes(), actor=CLI, dry_run=dry_run)
            except Exception as exc:
                errors = getattr(exc, "errors", None)
                if errors:
                    for error in errors[:50]:
                        where = f"row {error['row']}: " if "row" in error else ""
                        self.stderr.write(f"  {where}{error['field']}: {error['message']}")
                    raise CommandError(f"{len(errors)} error(s); nothing was imported") from None
                raise
        verb = "would create" if dry_run else "created"
        summary = f"{verb} {result['created']}, updated {result['updated']}, unchanged {result['unchanged']}"
        self.stdout.write(_dumps(result) if json else summary)


def _dumps(data) -> str:
    return json.dumps(data)
