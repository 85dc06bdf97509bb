"""activity_record: the one way entries are written, inside the transaction of the change they record."""

from __future__ import annotations

import re

from django.db import transaction

from activity.context import current
from activity.models import ActivityEntry, ActorType
from activity.verbs import VERBS

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


def activity_record(
    *,
    verb: str,
    target_type: str = "",
    target_id: object = "",
    target_repr: str = "",
    changes: dict | None = None,
    metadata: dict | None = None,
    actor=None,
    subjects: tuple = (),
) -> ActivityEntry:
    """Records one entry. Must run inside the caller's transaction, so that the entry and the change it
    records commit, or roll back, together."""
    if verb not in VERBS:
        raise ValueError(f"unknown activity verb {verb!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("activity_record must run inside the transaction of the change it records")
    context = current()
    actor = actor if actor is not None else context.actor()
    entry = ActivityEntry(
        actor=actor,
        actor_type=ActorType.USER
        if actor is not None and context.actor_type == ActorType.SYSTEM
        else context.actor_type,
        verb=verb,
        target_type=target_type,
        target_id=str(target_id or ""),
        target_repr=str(target_repr)[:300],
        subject_ids=sorted({str(s) for s in (target_id, *subjects) if s}),
        changes=scrub(changes or {}),
        metadata=scrub(metadata or {}),
        ip=context.ip,
        user_agent=context.user_agent,
        request_id=context.request_id,
    )
    entry.save(force_insert=True)
    return entry


def changes_between(before: dict, after: dict) -> dict:
    """{"field": {"old", "new"}} for the fields whose value differs."""
    return {name: {"old": before.get(name), "new": value} for name, value in after.items() if before.get(name) != value}
