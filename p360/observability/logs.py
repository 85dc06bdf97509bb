"""Log lines of P360: one JSON object per line (P360_LOG_FORMAT=json, the default with DEBUG off) or
readable text, each carrying the request it belongs to (request_id, tenant, user), with secrets scrubbed.

Secrets are kept out by construction (the access log has the route, never the path, query string, headers
or body) and, as a second line of defence, every message, exception and string field is scrubbed of bearer
tokens, JWTs and `password=`/`token=`-like values before it is written. This module needs no Django at
import time: gunicorn's master uses the formatters for its own lines.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
from functools import lru_cache

_current_request: contextvars.ContextVar = contextvars.ContextVar("p360_request", default=None)

# Fields a request gives every line logged while it is answered (and the access line's own fields).
REQUEST_FIELDS = ("request_id", "tenant", "user")
ACCESS_FIELDS = ("method", "route", "status", "duration_ms", "db_queries")
# LogRecord's own attributes: not copied as extra fields.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request"}
_SECRET_NAME = re.compile(r"password|passwd|secret|token|authorization|cookie|session|signature|api_?key", re.I)

_JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*")
_API_KEY = re.compile(r"p360_sk_[0-9a-f]{32}_[\w-]*")  # the key id may show; the secret never
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|Token)\s+[\w\-.~+/=]{8,}", re.I)
_SECRET_VALUE = re.compile(
    r"""(?ix)
    \b([\w-]*(?:password|passwd|secret|token|signature|api_?key|sessionid|csrftoken|authorization)[\w-]*)
    (["']?\s*[=:]\s*["']?)
    (?!\[redacted\])([^\s&"',;}]+)
    """
)
# One cheap search first (on the lowercased text: case-insensitive alternations are slow in `re`): most
# lines contain none of these words, and skip the substitutions.
_MAYBE_SECRET = re.compile(
    r"eyj|p360_sk_|bearer|basic|token|passw|secret|signature|api_?key|sessionid|csrftoken|authorization"
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` without bearer tokens, JWTs, API key secrets and values of password-, token- or secret-named
    fields."""
    if not text or not _MAYBE_SECRET.search(text.lower()):
        return text
    text = _JWT.sub(REDACTED, text)
    text = _API_KEY.sub(lambda m: m.group(0)[:41] + REDACTED, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SECRET_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


# --- the request a line belongs to ---


def bind_request(request) -> contextvars.Token:
    return _current_request.set(request)


def unbind_request(token: contextvars.Token) -> None:
    _current_request.reset(token)


def request_fields(request) -> dict:
    """request_id, tenant slug and user id of a request, read without a query (an unevaluated lazy user,
    as on requests that never looked at it, counts as no user)."""
    tenant = getattr(request, "tenant", None)
    return {
        "request_id": getattr(request, "request_id", None),
        "tenant": getattr(tenant, "slug", None),
        "user": _user_id(request),
    }


def _user_id(request) -> str | None:
    from django.utils.functional import LazyObject, empty

    user = request.__dict__.get("user")  # set by AuthenticationMiddleware (lazy) and replaced by DRF's auth
    if user is None or (isinstance(user, LazyObject) and user._wrapped is empty):
        return None
    if not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


class RequestContextFilter(logging.Filter):
    """Adds request_id, tenant and user to every record logged while a request is being answered."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = _current_request.get()
        if request is not None:
            for name, value in request_fields(request).items():
                if not hasattr(record, name):
                    setattr(record, name, value)
        return True


# --- formatters ---


@lru_cache(maxsize=512)
def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def _extra_fields(record: logging.LogRecord) -> dict:
    fields = {}
    for name, value in record.__dict__.items():
        if name in _RECORD_ATTRIBUTES or name.startswith("_"):
            continue
        if _secret_name(name):
            fields[name] = REDACTED
        elif isinstance(value, str):
            fields[name] = redact(value)
        elif value is None or isinstance(value, (bool, int, float)):
            fields[name] = value
        # anything else (request objects, sockets, ...) is left out: its repr may hold headers or bodies
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        line.update(_extra_fields(record))
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for development: `time LEVEL logger message [request_id tenant user]`."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record))
        context = " ".join(
            f"{name}={getattr(record, name)}" for name in REQUEST_FIELDS if getattr(record, name, None) is not None
        )
        return f"{line} [{context}]" if context else line

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))
