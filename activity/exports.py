"""The activity export's CSV, written by PostgreSQL: one `COPY (SELECT ...) TO STDOUT (FORMAT csv)` of the
filtered, ordered log (p360/api/exports.py: copy_stream), cells as activity.api.serializers.export_row writes
them, except that the JSON of `changes` and `metadata` is PostgreSQL's text (non-ASCII characters as
themselves, not \\u escapes: the same JSON). NDJSON is still written by Python, in keyset batches."""

from __future__ import annotations

from django.db.models.expressions import RawSQL

from p360.api.exports import neutralised_sql
from p360.api.serializers import api_timestamp_sql

_TABLE = '"activity_activityentry"'
_ACTOR = "(SELECT {column} FROM users_user u WHERE u.id = " + _TABLE + ".actor_id)"
EXPORT_CELLS_SQL = [
    f"{_TABLE}.id::text",
    api_timestamp_sql(f"{_TABLE}.occurred_at"),
    _ACTOR.format(column="u.id::text"),
    _ACTOR.format(column=neutralised_sql("u.email")),
    *(
        neutralised_sql(f"{_TABLE}.{name}")
        for name in ("actor_type", "verb", "target_type", "target_id", "target_repr")
    ),
    f"{_TABLE}.changes::text",
    f"{_TABLE}.metadata::text",
    f"host({_TABLE}.ip)",
    *(neutralised_sql(f"{_TABLE}.{name}") for name in ("user_agent", "request_id")),
]


def export_copy_sql(queryset) -> tuple[str, tuple]:
    """The COPY statement (and its parameters) that writes the queryset's entries as the export's CSV rows."""
    cells = {f"export_{index}": RawSQL(sql, ()) for index, sql in enumerate(EXPORT_CELLS_SQL)}  # noqa: S611
    rows = queryset.select_related(None).annotate(**cells).values_list(*cells)
    sql, params = rows.query.sql_with_params()
    return f"COPY ({sql}) TO STDOUT (FORMAT csv)", params
