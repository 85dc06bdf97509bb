"""Where a change came from, captured once per request (or command) and read by every activity entry recorded
in it: the client's address, its user agent and the request id. Who acted is not here: every service takes its
actor explicitly (p360.actors)."""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class ActivityContext:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


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
