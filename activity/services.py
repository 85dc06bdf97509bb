"""activity_record: the one way entries are written, inside the transaction of the change they record."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from activity.context import current
from activity.models import ActivityEntry, ActorType
from activity.verbs import VERBS
from p360.db import copy_insert

_SECRET_KEY = re.compile(r"pass(word)?|token|secret|hash|otp|api[_-]?key|refresh|access", re.IGNORECASE)
# JWTs and Django password hashes, wherever they appear
_SECRET_VALUE = re.compile(r"^eyJ[\w-]+\.[\w-]+\.[\w-]*$|^(argon2|pbkdf2_sha256|bcrypt|md5|scrypt)\$")
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
    target_type: str = "",
    target_id: object = "",
    target_repr: str = "",
    changes: dict | None = None,
    metadata: dict | None = None,
    actor=None,
    subjects: tuple = (),
    context=None,
) -> dict:
    """An entry's column values (by attname), the context's actor, address and request id included."""
    if verb not in VERBS:
        raise ValueError(f"unknown activity verb {verb!r}")
    context = context or current()
    actor = actor if actor is not None else context.actor()
    return {
        "actor_id": actor.pk if actor is not None else None,
        "actor_type": ActorType.USER
        if actor is not None and context.actor_type == ActorType.SYSTEM
        else context.actor_type,
        "verb": verb,
        "target_type": target_type,
        "target_id": str(target_id or ""),
        "target_repr": str(target_repr)[:300],
        "subject_ids": sorted({str(s) for s in (target_id, *subjects) if s}),
        "changes": scrub(changes or {}),
        "metadata": scrub(metadata or {}),
        "ip": context.ip,
        "user_agent": context.user_agent,
        "request_id": context.request_id,
    }


def _build(**entry) -> ActivityEntry:
    return ActivityEntry(**_values(**entry))


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("activity must be recorded inside the transaction of the change it records")


def activity_record(**entry) -> ActivityEntry:
    """Records one entry (verb, target_type, target_id, target_repr, changes, metadata, actor, subjects).
    Must run inside the caller's transaction, so that the entry and its change commit or roll back together."""
    _require_transaction()
    built = _build(**entry)
    built.save(force_insert=True)
    return built


_COLUMNS = ("occurred_at", "actor_id", "actor_type", "verb", "target_type", "target_id", "target_repr",
            "subject_ids", "changes", "metadata", "ip", "user_agent", "request_id")  # fmt: skip


def activity_record_many(entries: Iterable[dict], **common) -> int:
    """Records many entries in one COPY (imports, bulk work). Each entry takes activity_record's arguments,
    over `common`: what the entries share (e.g. verb and changes), checked and scrubbed once; an entry that
    gives only target_id and target_repr costs no more than that. The entries' occurred_at values are one
    instant a microsecond apart, in the given order, so that the log lists them as they were recorded."""
    _require_transaction()
    context, start = current(), timezone.now()
    base = _values(**common, context=context) if "verb" in common else None
    shared_subjects = [str(s) for s in common.get("subjects", ()) if s]

    def row(n: int, entry: dict) -> tuple:
        if base is not None and entry.keys() <= {"target_id", "target_repr"}:
            target_id = str(entry.get("target_id") or "")
            values = {
                **base,
                "target_id": target_id,
                "target_repr": str(entry.get("target_repr", ""))[:300],
                "subject_ids": sorted({target_id, *shared_subjects} - {""}),
            }
        else:
            values = _values(**{**common, **entry}, context=context)
        values["occurred_at"] = start + timedelta(microseconds=n)
        return tuple(values[column] for column in _COLUMNS)

    return copy_insert(ActivityEntry, _COLUMNS, (row(n, entry) for n, entry in enumerate(entries)))
