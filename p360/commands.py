"""Operator command plumbing: domain problems become one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import json as jsonlib
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError

from p360.api.problems import Problem
from p360.tenancy import all_tenants, tenant_by_slug


class OperatorCommand(BaseCommand):
    """Base of P360's commands: they act as p360.actors.CLI (the services record it); problems end in one line
    and exit 1."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except Problem as exc:
            errors = getattr(exc, "errors", None) or []
            fields = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            raise CommandError(f"{exc.code}: {fields or exc.detail}") from None
        except OperationalError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            raise CommandError(f"database unavailable: {first_line}") from None
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            text = "; ".join(f"{field}: {m}" if field else m for field, ms in messages.items() for m in ms)
            raise CommandError(f"invalid: {text}") from None


def tenant_options(*parsers) -> None:
    """`--tenant SLUG` (required) and `--json` on each (sub)command parser."""
    for parser in parsers:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--json", action="store_true")


class RetentionCommand(OperatorCommand):
    """`(--tenant T | --all) --older-than DAYS [--json]`: deletes what `prune(timedelta)` deletes in each tenant's
    schema (it returns how many), and reports per tenant."""

    noun = "rows"
    default_days: int | None = None  # None: --older-than is required

    def prune(self, older_than, progress):
        raise NotImplementedError

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--tenant", help="Tenant slug.")
        target.add_argument("--all", action="store_true", help="Every tenant.")
        parser.add_argument(
            "--older-than", type=int, required=self.default_days is None, default=self.default_days, metavar="DAYS"
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, tenant, all, older_than, json, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day")
        results = {}
        for each in all_tenants() if all else [tenant_by_slug(tenant)]:
            with each:
                results[each.slug] = self.prune(
                    timedelta(days=older_than),
                    progress=lambda n, slug=each.slug: self.stderr.write(f"  {slug}: {n} deleted..."),
                )
        if json:
            self.stdout.write(jsonlib.dumps({"deleted": results}))
        else:
            for slug, count in results.items():
                self.stdout.write(f"{slug}: deleted {count} {self.noun} older than {older_than} days")
