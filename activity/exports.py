"""The activity export's CSV, written by PostgreSQL: one `COPY (SELECT ...) TO STDOUT (FORMAT csv)` of the
filtered, ordered log (p360/api/exports.py: copy_stream), cells as activity.api.serializers.export_row writes
them, except that the JSON of `changes` and `metadata` is PostgreSQL's text (non-ASCII characters as
themselves, not \\u escapes: the same JSON). NDJSON is still written by Python, in keyset batches."""

from __future__ import annotations

from django.db.models import F

from activity.models import ActivityEntry
from p360.api.exports import copy_csv_sql, neutralised_sql, order_sql
from p360.api.rows import QuerySetRows
from p360.api.serializers import api_timestamp_sql

_COLUMNS = ["id", "occurred_at", "actor_type", "verb", "target_type", "target_id", "target_repr", "changes",
            "metadata", "ip", "user_agent", "request_id", "actor_uuid", "actor_mail"]  # fmt: skip
_CELLS = [
    "r.id::text",
    api_timestamp_sql("r.occurred_at"),
    "r.actor_uuid::text",
    neutralised_sql("r.actor_mail"),
    *(neutralised_sql(f"r.{name}") for name in ("actor_type", "verb", "target_type", "target_id", "target_repr")),
    "r.changes::text",
    "r.metadata::text",
    "host(r.ip)",
    *(neutralised_sql(f"r.{name}") for name in ("user_agent", "request_id")),
]


def export_copy_sql(source: QuerySetRows) -> tuple[str, tuple]:
    """The COPY statement (and its parameters) that writes a row source's entries, in its order, as CSV rows;
    the actor comes from the entries' own join to users (a removed actor: empty cells)."""
    with_actor = QuerySetRows(source.queryset.annotate(actor_uuid=F("actor__id"), actor_mail=F("actor__email")))
    return copy_csv_sql(with_actor.select_sql(_COLUMNS), _CELLS, order_sql(source.keys, ActivityEntry, "r"))
