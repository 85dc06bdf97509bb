"""Operator command plumbing: domain problems become one clear line on stderr and a non-zero exit."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError

from p360.api.problems import Problem


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
