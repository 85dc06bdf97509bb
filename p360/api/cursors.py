"""The cursor format of cursor mode: the list's ordering and the position (the ordering keys' values of a row),
base64url JSON. A cursor carries no page size; it is refused, naming `cursor`, when it was made for another
ordering or does not decode to values of the keys' types."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.core.exceptions import FieldDoesNotExist, ValidationError

from p360.api.ordering import OrderKey
from p360.api.problems import FieldErrors


def _encode_value(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    return value


def encode_cursor(keys: list[OrderKey], values: list, direction: str) -> str:
    payload = {
        "o": [[key.field, key.descending] for key in keys],
        "v": [_encode_value(value) for value in values],
        "d": direction,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid_cursor(message="The cursor is invalid or has expired; start again from the first page."):
    return FieldErrors([("cursor", "invalid_cursor", message)], detail=message)


def decode_cursor(raw: str, keys: list[OrderKey], model) -> tuple[list, str]:
    """Checks that the cursor belongs to this ordering and converts its values back to Python."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        order, values, direction = payload["o"], payload["v"], payload["d"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid_cursor() from None
    if order != [[key.field, key.descending] for key in keys]:
        raise invalid_cursor("The cursor was made for another ordering; start again from the first page.")
    if direction not in ("n", "p") or not isinstance(values, list) or len(values) != len(keys):
        raise invalid_cursor()
    converted = []
    for key, value in zip(keys, values, strict=True):
        if value is None:
            if not key.nullable:
                raise invalid_cursor()
            converted.append(None)
            continue
        field = model_field(model, key.field)
        if field is None:  # an annotation: P360's are counts, so whole numbers only
            if not isinstance(value, int) or isinstance(value, bool):
                raise invalid_cursor()
            converted.append(value)
            continue
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise invalid_cursor()
        try:
            converted.append(field.to_python(value))
        except (ValidationError, TypeError, ValueError):
            raise invalid_cursor() from None
    return converted, direction


def model_field(model, path: str):
    field = None
    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        model = getattr(field, "related_model", None) or model
    return field
