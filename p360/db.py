"""COPY for bulk writes: rows go to PostgreSQL as one stream, without a model instance or an INSERT per batch.

`copy_insert(Model, rows)` fills every concrete column of the model's table (in the current schema) from
each row's dict, keyed by attname (`user_id`, not `user`), and, for a column a row does not give, from
the field: auto_now/auto_now_add fields get one `now` for the whole call, callable defaults (uuid4) are
called per row, other defaults are computed once; a column with neither raises ValueError (and the COPY is
abandoned). JSON fields take Python values. Nothing here validates: callers validate first,
and the database's constraints still hold (a violation raises IntegrityError as an INSERT would).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import DateField, JSONField, Model
from django.utils import timezone
from psycopg.types.json import Jsonb


def copy_insert(model: type[Model], rows: Iterable[dict], *, now: datetime | None = None) -> int:
    """COPYs the rows into the model's table; returns how many were sent."""
    now = now or timezone.now()
    fields = model._meta.concrete_fields
    columns, fillers = [], []
    for field in fields:
        columns.append(connection.ops.quote_name(field.column))
        fillers.append(_filler(field, now))
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) FROM STDIN"
    count = 0
    # Django's exception classes (IntegrityError...), as for any other query
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([fill(row) for fill in fillers])
            count += 1
    return count


def _filler(field, now: datetime):
    """row -> the column's value."""
    name = field.attname
    auto_now = isinstance(field, DateField) and (field.auto_now or field.auto_now_add)
    if auto_now:
        default, per_row = now, False
    elif field.has_default():
        per_row = callable(field.default)
        default = field.default if per_row else field.get_default()
    elif field.null:
        default, per_row = None, False
    else:
        default, per_row = _MISSING, False
    json = isinstance(field, JSONField)

    def fill(row):
        if name in row:
            value = row[name]
        elif per_row:
            value = default()
        elif default is _MISSING:
            raise ValueError(f"{field.model.__name__}.{name}: no value and no default")
        else:
            value = default
        return Jsonb(value) if json and value is not None else value

    return fill


_MISSING = object()
