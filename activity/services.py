"""activity_record: the one way entries are written, inside the transaction of the change they record."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from activity.context import current
from activity.models import ActivityEntry
from activity.verbs import VERBS
from p360.actors import Actor
from p360.db import copy_insert

_SECRET_KEY = re.compile(r"pass(word)?|token|secret|hash|otp|api[_-]?key|refresh|access", re.IGNORECASE)
# JWTs, Django password hashes and API key secrets, wherever they appear
_SECRET_VALUE = re.compile(
    r"^eyJ[\w-]+\.[\w-]+\.[\w-]*$|^(argon2|pbkdf2_sha256|bcrypt|md5|scrypt)\$|p360_sk_[0-9a-f]{32}_"
)
REDACTED = "[redacted]"


def scrub(value):
    """Removes secrets from changes and metadata: a key that names one, or a value that looks like one."""
    if isinstance(value, dict):
        return {key: (REDACTED if _SECRET_KEY.search(str(key)) else scrub(item)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(item) for item in value]
    if isinstance(value, str) and _SECRET_VALUE.search(value):
        return REDACTED
    return value


def _values(
    *,
    verb: str,
    actor,
    target_type: str = "",
    target_id: object = "",
    target_repr: str = "",
    changes: dict | None = None,
    metadata: dict | None = None,
    subjects: tuple = (),
    context=None,
) -> dict:
    """An entry's column values (by attname): the actor (p360.actors.Actor) as given, the address and request
    id from the request's context."""
    if verb not in VERBS:
        raise ValueError(f"unknown activity verb {verb!r}")
    if not isinstance(actor, Actor):
        raise TypeError(f"an activity entry's actor is a p360.actors.Actor, not {type(actor).__name__}")
    context = context or current()
    return {
        "actor_id": actor.pk,
        "actor_type": actor.type,
        "verb": verb,
        "target_type": target_type,
        "target_id": str(target_id or ""),
        "target_repr": str(target_repr)[:300],
        "subject_ids": sorted({str(s) for s in (target_id, *subjects) if s}),
        "changes": scrub(changes or {}),
        "metadata": {**scrub(metadata or {}), **_service_metadata(actor)},
        "ip": context.ip,
        "user_agent": context.user_agent,
        "request_id": context.request_id,
    }


def _service_metadata(actor: Actor) -> dict:
    """What an entry of a service account's key adds: which key, and the account's name (actor_id is its id)."""
    if actor.service_account is None:
        return {}
    return {"key_id": str(actor.key_id), "service_account": actor.service_account.name}


def _build(**entry) -> ActivityEntry:
    return ActivityEntry(**_values(**entry))


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("activity must be recorded inside the transaction of the change it records")


def activity_record(**entry) -> ActivityEntry:
    """Records one entry (verb, actor, target_type, target_id, target_repr, changes, metadata, subjects).
    Must run inside the caller's transaction, so that the entry and its change commit or roll back together."""
    _require_transaction()
    built = _build(**entry)
    built.save(force_insert=True)
    return built


_COLUMNS = ("occurred_at", "actor_id", "actor_type", "verb", "target_type", "target_id", "target_repr",
            "subject_ids", "changes", "metadata", "ip", "user_agent", "request_id")  # fmt: skip


def activity_record_many(entries: Iterable[dict], **common) -> int:
    """Records many entries in one COPY (bulk work, imports). Each entry takes activity_record's arguments,
    over `common` (what the entries share). The entries' occurred_at values are one instant a microsecond
    apart, in the given order, so that the log lists them as they were recorded."""
    _require_transaction()
    context, start = current(), timezone.now()
    if "verb" in common:
        _values(**common, context=context)  # a bad shared verb fails before any row is sent

    def row(n: int, entry: dict) -> tuple:
        values = _values(**{**common, **entry}, context=context)
        values["occurred_at"] = start + timedelta(microseconds=n)
        return tuple(values[column] for column in _COLUMNS)

    return copy_insert(ActivityEntry, _COLUMNS, (row(n, entry) for n, entry in enumerate(entries)))


_TARGETS_SQL = """
INSERT INTO {table} (id, occurred_at, actor_id, actor_type, verb, target_type, target_id, target_repr,
                     subject_ids, changes, metadata, ip, user_agent, request_id)
SELECT gen_random_uuid(), %(start)s + (t.n - 1) * interval '1 microsecond', %(actor_id)s, %(actor_type)s,
       %(verb)s, %(target_type)s, t.id, t.repr,
       ARRAY(SELECT DISTINCT s COLLATE "C" FROM unnest(array_append(%(subjects)s::text[], t.id)) AS s
             WHERE s <> '' ORDER BY 1),
       %(changes)s, %(metadata)s, %(ip)s, %(user_agent)s, %(request_id)s
FROM unnest(%(ids)s::text[], %(reprs)s::text[]) WITH ORDINALITY AS t (id, repr, n)
"""


def activity_record_targets(targets: Iterable[tuple[object, str]], **common) -> int:
    """Records one entry per (target_id, target_repr), alike in all else (`common`: activity_record's other
    arguments: verb, target_type, changes...), checked and scrubbed once; the database makes the rows from
    two arrays in one INSERT (an import's `user.invited` entries). occurred_at as in activity_record_many."""
    _require_transaction()
    values = _values(**common)
    ids, reprs = [], []
    for target_id, target_repr in targets:
        ids.append(str(target_id or ""))
        reprs.append(str(target_repr)[:300])
    params = {
        **values,
        "start": timezone.now(),
        "subjects": [str(s) for s in common.get("subjects", ()) if s],
        "changes": Jsonb(values["changes"]),
        "metadata": Jsonb(values["metadata"]),
        "ids": ids,
        "reprs": reprs,
    }
    with connection.cursor() as cursor:
        cursor.execute(_TARGETS_SQL.format(table=connection.ops.quote_name(ActivityEntry._meta.db_table)), params)
        return cursor.rowcount
