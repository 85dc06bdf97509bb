"""Every error as RFC 9457 problem+json: typed domain errors, DRF and Django errors, database outages."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from p360.dbbackend.base import is_guard_error

logger = logging.getLogger("p360.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 5
DATABASE_ERRORS = (OperationalError, InterfaceError)


class Problem(exceptions.APIException):
    """A typed error with a stable `code`; raise a subclass (or this with arguments) from domain code."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request cannot be processed."
    title = "Bad request"

    def __init__(self, detail=None, code=None, *, status_code=None, title=None, headers=None):
        super().__init__(detail or self.default_detail, code or self.default_code)
        self.code = code or self.default_code
        if status_code is not None:
            self.status_code = status_code
        if title is not None:
            self.title = title
        self.headers = headers or {}


class NotFound(Problem):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."
    title = "Not found"


class InsufficientScope(Problem):
    """An API key without the scope a route or change needs (RFC 6750, section 3.1); `scope=None`: a route that
    is not open to API keys at all."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "insufficient_scope"
    title = "Forbidden"

    def __init__(self, scope: str | None):
        if scope is None:
            super().__init__("API keys may not use this route.")
            self.auth_header = 'Bearer realm="p360", error="insufficient_scope"'
        else:
            super().__init__(f"The key needs the scope {scope!r}.")
            self.auth_header = f'Bearer realm="p360", error="insufficient_scope", scope="{scope}"'
        self.scope = scope


class Conflict(Problem):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    title = "Conflict"


class PreconditionFailed(Problem):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"
    default_detail = "The resource changed since you read it (If-Match does not match its ETag)."
    title = "Precondition failed"


class FieldErrors(Problem):
    """A 400 naming the fields at fault: `errors` is a list of (field, code, message)."""

    default_code = "invalid"
    default_detail = "The request has invalid fields."
    title = "Validation failed"

    def __init__(self, errors: list, detail=None, code=None):
        """`errors`: (field, code, message) tuples, or dicts with those keys (and `row` for CSV rows)."""
        super().__init__(detail, code)
        self.errors = [e if isinstance(e, dict) else {"field": e[0], "code": e[1], "message": e[2]} for e in errors]


def problem_body(request, status_code, code, title, detail, errors=None) -> dict:
    body = {
        "type": f"urn:p360:problem:{code}",
        "title": title,
        "status": status_code,
        "detail": str(detail),
        "instance": request.path if request is not None else None,
        "code": code,
        "request_id": getattr(request, "request_id", None),
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(request, status_code, code, title, detail, errors=None, headers=None) -> JsonResponse:
    """A plain Django response, for errors raised outside DRF views (middleware, URL resolution)."""
    response = JsonResponse(
        problem_body(request, status_code, code, title, detail, errors),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


_DATABASE_UNAVAILABLE = (
    503,
    "database_unavailable",
    "Service unavailable",
    "The database is unavailable; retry shortly.",
)


def database_unavailable_response(request) -> JsonResponse:
    return problem_response(request, *_DATABASE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _flatten(detail, prefix="") -> list[dict]:
    """DRF's nested ValidationError detail as a flat list of {field (dotted path), code, message}."""
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            field = str(key) if key != api_settings.NON_FIELD_ERRORS_KEY else ""
            items += _flatten(value, f"{prefix}.{field}" if prefix and field else (field or prefix))
        return items
    if isinstance(detail, list):
        if all(isinstance(item, (exceptions.ErrorDetail, str)) for item in detail):
            return [_error(prefix, item) for item in detail]
        items = []
        for index, value in enumerate(detail):
            items += _flatten(value, f"{prefix}.{index}" if prefix else str(index))
        return items
    return [_error(prefix, detail)]


def _error(field, item) -> dict:
    return {"field": field or None, "code": getattr(item, "code", "invalid"), "message": str(item)}


_DRF_TITLES = {
    400: ("Bad request", "bad_request"),
    401: ("Not authenticated", "not_authenticated"),
    403: ("Forbidden", "permission_denied"),
    404: ("Not found", "not_found"),
    405: ("Method not allowed", "method_not_allowed"),
    406: ("Not acceptable", "not_acceptable"),
    413: ("Request body too large", "request_too_large"),
    415: ("Unsupported media type", "unsupported_media_type"),
    429: ("Too many requests", "throttled"),
}


def _response(request, status_code, code, title, detail, errors=None, headers=None) -> Response:
    response = Response(
        problem_body(request, status_code, code, title, detail, errors),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )
    return response


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: anything a view raises becomes problem+json; database outages a 503."""
    request = context.get("request")
    if is_guard_error(exc):  # the tenant's schema is gone (tenants/guard.py)
        from tenants.middleware import tenant_gone_response

        return tenant_gone_response(request)
    if isinstance(exc, DATABASE_ERRORS):
        logger.warning("database unavailable: %s", exc)
        return _response(request, *_DATABASE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, RequestDataTooBig):
        return _response(request, 413, "request_too_large", "Request body too large", str(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc))
    if not isinstance(exc, exceptions.APIException):
        return None

    headers = dict(getattr(exc, "headers", None) or {})
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait) + (0 if exc.wait == int(exc.wait) else 1))
    status_code = exc.status_code
    title, default_code = _DRF_TITLES.get(status_code, ("Error", "error"))

    if isinstance(exc, Problem):
        return _response(request, status_code, exc.code, exc.title, exc.detail, getattr(exc, "errors", None), headers)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        detail = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
        return _response(request, 400, "invalid", "Validation failed", detail, errors, headers)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    code = getattr(exc.detail, "code", None) or exc.default_code or default_code
    if isinstance(exc, exceptions.Throttled):
        code = "throttled"
    return _response(request, status_code, str(code), title, detail, None, headers)
