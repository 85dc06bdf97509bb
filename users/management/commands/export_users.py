"""manage.py export_users --tenant T [-o FILE] [--all]: the directory as CSV, oldest first, written by PostgreSQL
as the API's export is (users.exports: one COPY, formulas neutralised)."""

from __future__ import annotations

import codecs
import sys

from p360.api.exports import copy_stream
from p360.api.ordering import OrderKey
from p360.commands import OperatorCommand
from p360.tenancy import tenant_by_slug
from users.exports import EXPORT_HEADER, export_copy_sql
from users.selectors import DirectoryRows

OLDEST_FIRST = [OrderKey("created_at", False, False), OrderKey("id", False, False)]


class Command(OperatorCommand):
    help = "Export a tenant's users as CSV, oldest first (deactivated users with --all)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("-o", "--output", help="File to write (default: stdout).")
        parser.add_argument("--all", action="store_true", help="Include deactivated users.")

    def handle(self, *args, tenant, output, all, **options):
        source = DirectoryRows({}, hides_deactivated=not all, keys=OLDEST_FIRST)  # the API's export, oldest first
        copied = []
        with tenant_by_slug(tenant):
            chunks = copy_stream(EXPORT_HEADER, *export_copy_sql(source), copied=copied.append)
            if output:
                with open(output, "wb") as stream:
                    for chunk in chunks:
                        stream.write(chunk)
            else:
                decoder = codecs.getincrementaldecoder("utf-8")()  # a chunk may end inside a character
                for chunk in chunks:
                    self.stdout.write(decoder.decode(chunk), ending="")
                self.stdout.write(decoder.decode(b"", final=True), ending="")
                sys.stdout.flush()
        self.stderr.write(f"exported {copied[0]:,} users of {tenant}")
