"""Prometheus metrics of P360: requests by route and status, latency and database queries per request.

Labels are the method, the route (the URL pattern, see routes.py) and the status: never a tenant, a user or
a raw path, so the number of series is bounded by the URLconf whatever the number of tenants.

gunicorn runs several worker processes: with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets and
cleans it), each worker writes its values to files there and /metrics sums them over all workers, the
live ones and those that have exited (counters never go backwards). Without it (runserver, tests) the
values live in this process.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from p360.api.client import client_ip
from p360.api.problems import problem_response

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
QUERY_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144)
# Loopback and the private ranges (RFC 1918, IPv6 unique local): where a scraper inside the deployment sits.
INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7")
)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "p360_http_requests",
    "HTTP requests answered, by method, route (URL pattern) and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "p360_http_request_duration_seconds",
    "Time to answer a request (streamed bodies: to the last byte), by method and route.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
QUERIES = Histogram(
    "p360_http_request_db_queries",
    "Database queries made while answering one request, by method and route.",
    ["method", "route"],
    buckets=QUERY_BUCKETS,
)
IN_PROGRESS = Gauge(
    "p360_http_requests_in_progress", "Requests being answered right now (all workers).", multiprocess_mode="livesum"
)


def method_label(method: str) -> str:
    """Clients may send any method name: unknown ones share one label."""
    return method if method in KNOWN_METHODS else "other"


def observe(*, method: str, route: str, status: int, seconds: float, queries: int) -> None:
    method = method_label(method)
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)
    QUERIES.labels(method, route).observe(queries)


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_view(request):
    """GET /metrics on any host, before tenant routing. With P360_METRICS_TOKEN set, only with that bearer
    token; unset, only from loopback and private addresses (the client IP as P360_NUM_PROXIES allows)."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    if request.method not in ("GET", "HEAD"):
        return problem_response(
            request,
            405,
            "method_not_allowed",
            "Method not allowed",
            f'Method "{request.method}" not allowed.',
            headers={"Allow": "GET, HEAD"},
        )
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def _refusal(request):
    token = settings.P360_METRICS_TOKEN
    if token:
        scheme, _, offered = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode()):
            return None
        return problem_response(
            request,
            401,
            "not_authenticated",
            "Not authenticated",
            "Metrics need the metrics bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="p360-metrics"'},
        )
    if _is_internal(client_ip(request)):
        return None
    return problem_response(request, 403, "permission_denied", "Forbidden", "Metrics are not served to this address.")


def _is_internal(ip: str | None) -> bool:
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return any(address in network for network in INTERNAL_NETWORKS)
