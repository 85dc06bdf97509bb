"""Serializer bases: unknown and read-only fields in a request body are a 400, never silently ignored."""

from __future__ import annotations

import re
from datetime import datetime

from django.db.models import CharField
from django.db.models.expressions import RawSQL
from django.utils import timezone
from rest_framework import serializers

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def validated(serializer_class, request) -> dict:
    """The request body through `serializer_class`; invalid: a 400 naming every field at fault."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            not_allowed = serializers.ErrorDetail("This field cannot be set here.", code="not_allowed")
            unknown = {name: [not_allowed] for name in sorted(set(data) - writable)}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            raise serializers.ValidationError({**detail, **unknown}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


class TrimmedNameField(serializers.CharField):
    """A person's name: trimmed, 1-150 characters, no control characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 150)
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("trim_whitespace", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if _CONTROL_CHARS.search(value):
            raise serializers.ValidationError("Control characters are not allowed.", code="invalid")
        return value


class PlainTextField(TrimmedNameField):
    """Short free text (job title, phone): trimmed, may be blank, no control characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_length", None)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)


# --- list rows without serializers: what a page of a large list is rendered with ---


def timestamp(value, tz=None) -> str | None:
    """A datetime as DRF's DateTimeField writes it (ISO 8601 in the current time zone, `Z` for UTC). A page
    passes `tz` (timezone.get_current_timezone()) once for all its rows: looking it up is most of the cost."""
    if value is None:
        return None
    text = value.astimezone(tz or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# The same text computed by PostgreSQL, for a page's rows: no datetime to parse, make aware and format again per
# value. The API's time zone is UTC (settings.TIME_ZONE, never activated otherwise); like isoformat(), whole
# seconds have no fraction. NULL stays NULL.
_API_TIMESTAMP_SQL = (
    "replace(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"
)


def api_timestamp_sql(column: str) -> str:
    """The SQL of api_timestamp, for statements written whole (the exports' COPY)."""
    return _API_TIMESTAMP_SQL.format(column=column)


def api_timestamp(column: str) -> RawSQL:
    """A timestamptz column (`table.column`, a constant of the code, never input) as `timestamp()` writes it,
    computed in SQL. Raw SQL: compiling it costs a fraction of an equivalent Func's (which resolves the field)."""
    return RawSQL(_API_TIMESTAMP_SQL.format(column=column), (), output_field=CharField())  # noqa: S611 - constant


def parse_api_timestamp(text: str | None) -> datetime | None:
    """The datetime that api_timestamp's text stands for (exact: both keep microseconds), e.g. for a cursor."""
    return None if text is None else datetime.fromisoformat(text)
