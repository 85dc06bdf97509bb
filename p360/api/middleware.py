"""Request plumbing that runs before tenant routing: request ids, the health endpoints and /metrics."""

from __future__ import annotations

import re
import uuid

from django.http import JsonResponse

from p360.api import health
from p360.observability.metrics import metrics_view

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestIdMiddleware:
    """Every response carries X-Request-ID: the client's when it sent a sane one, else a new one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class RateLimitHeadersMiddleware:
    """`RateLimit-Limit`, `-Remaining` and `-Reset` on the responses of throttled callers (API keys:
    service_accounts.throttles), 429s included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        rate = getattr(request, "p360_rate_limit", None)
        if rate is not None:
            response["RateLimit-Limit"], response["RateLimit-Remaining"], response["RateLimit-Reset"] = map(str, rate)
        return response


class HealthMiddleware:
    """/healthz, /readyz and /metrics answer on every host, before tenant routing: no tenant, no session
    (a probe or a scraper may send any Host, e.g. the server's address)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/metrics":
            return metrics_view(request)
        if request.path == "/readyz":
            ok, problems = health.readiness()
            response = JsonResponse(
                {"status": "ok" if ok else "unavailable", **({"problems": problems} if problems else {})},
                status=200 if ok else 503,
            )
            if not ok:
                response["Retry-After"] = "5"
            return response
        return self.get_response(request)
