"""Database helpers: fast jsonb reads (`FastJSONField`) and COPY for bulk writes.

COPY for bulk writes: rows go to PostgreSQL as one stream, without a model instance or an INSERT per batch.

`copy_insert(Model, fields, rows)` fills every concrete column of the model's table (in the current schema):
the named fields (attnames: `user_id`, not `user`) from each row's values, in that order, and the others
from the model: auto_now/auto_now_add fields get one `now` for the whole call, callable defaults (uuid4)
are called per row, other defaults are computed once, nullable fields without a default are NULL. A field
with none of these raises ValueError before anything is sent. JSON fields take Python values. Nothing here
validates: callers validate first, and the database's constraints still hold (a violation raises Django's
IntegrityError, as an INSERT would).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson
from django.db import connection
from django.db.models import DateField, JSONField, Model
from django.utils import timezone
from psycopg.types.json import Jsonb

_LONG_NUMBER = re.compile(r"\d{19}")


class FastJSONField(JSONField):
    """An output field for jsonb read by a page of rows: decoded by orjson (a fraction of json.loads' CPU, the
    same values). orjson reads integers beyond 64 bits as floats, so text with a run of 19+ digits goes to
    json.loads, which keeps them exact."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if _LONG_NUMBER.search(value):
            return json.loads(value)
        return orjson.loads(value)


def copy_insert(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence], *, now: datetime | None = None):
    """COPYs the rows into the model's table; returns how many were sent."""
    now = now or timezone.now()
    given = list(fields)
    unknown = set(given) - {f.attname for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model.__name__}: no such fields {sorted(unknown)}")
    constant, per_row = [], []  # (attname, value) and (attname, callable)
    for field in model._meta.concrete_fields:
        if field.attname in given:
            continue
        if isinstance(field, DateField) and (field.auto_now or field.auto_now_add):
            constant.append((field.attname, now))
        elif field.has_default() and callable(field.default):
            per_row.append((field.attname, field.default))
        elif field.has_default():
            constant.append((field.attname, field.get_default()))
        elif field.null:
            constant.append((field.attname, None))
        else:
            raise ValueError(f"{model.__name__}.{field.attname}: no value and no default")
    json = {f.attname for f in model._meta.concrete_fields if isinstance(f, JSONField)}
    per_row = [(name, _as_json(make) if name in json else make) for name, make in per_row]
    constant = [(name, Jsonb(value) if name in json and value is not None else value) for name, value in constant]
    names = given + [name for name, _ in per_row] + [name for name, _ in constant]
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in _fields(model, names))
    tail = tuple(value for _, value in constant)
    makers = [make for _, make in per_row]
    wrap = [i for i, name in enumerate(given) if name in json]
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    count = 0
    # Django's exception classes (IntegrityError...), as for any other query
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            if wrap:
                row = [Jsonb(v) if i in wrap and v is not None else v for i, v in enumerate(row)]
            copy.write_row((*row, *(make() for make in makers), *tail) if makers else (*row, *tail))
            count += 1
    return count


def _as_json(make):
    return lambda: Jsonb(make())


def _fields(model: type[Model], attnames: list[str]) -> list[str]:
    """Field names for attnames (`user_id` -> `user`), for _meta.get_field."""
    by_attname = {f.attname: f.name for f in model._meta.concrete_fields}
    return [by_attname[a] for a in attnames]
