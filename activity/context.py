"""Who is acting, captured once per request (or command) and read by every activity entry recorded in it."""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, field

from activity.models import ActorType


@dataclass
class ActivityContext:
    actor_type: str = ActorType.SYSTEM
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""
    request: object | None = field(default=None, repr=False)  # the actor is read from it when recording

    def actor(self):
        user = getattr(self.request, "user", None)
        return user if getattr(user, "is_authenticated", False) else None


_current: contextvars.ContextVar[ActivityContext | None] = contextvars.ContextVar("p360_activity", default=None)


def current() -> ActivityContext:
    return _current.get() or ActivityContext()


@contextmanager
def acting(context: ActivityContext):
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def command_context() -> ActivityContext:
    """What entries recorded by a `manage.py` command say about their origin."""
    return ActivityContext(actor_type=ActorType.CLI)
