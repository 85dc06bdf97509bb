"""CPU cost per request of metrics and access logging (ObservabilityMiddleware), measured in one process.

    DATABASE_URL=... python bench/observability_overhead.py [--requests 2000] [--rounds 7]

Sends the same requests through Django's full middleware stack and through the same stack without
ObservabilityMiddleware, alternating blocks so that drift hits both alike, and prints the least CPU time per
request of each (the block least disturbed by other processes) and the difference; then the middleware's
parts alone. The access lines are JSON-formatted and written to /dev/null, so their cost counts. The
requests need no database: /healthz (the cheapest; its line is DEBUG, not written), a DRF validation error
on the platform host, and an unauthenticated DRF request.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REQUESTS = [
    ("GET /healthz", "get", "/healthz", {}),
    ("POST /api/v1/auth/token (400)", "post", "/api/v1/auth/token", {"data": {}, "content_type": "application/json"}),
    ("GET /api/v1/tenants (401)", "get", "/api/v1/tenants", {}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per block")
    parser.add_argument("--rounds", type=int, default=7, help="blocks per variant (alternating)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p360.settings_test")
    os.environ["P360_LOG_FORMAT"] = "json"
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client, override_settings

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # the access lines: formatted and written, to nowhere

    clients = {}
    without = [m for m in settings.MIDDLEWARE if not m.endswith("ObservabilityMiddleware")]
    for variant, middleware in (("with", settings.MIDDLEWARE), ("without", without)):
        with override_settings(MIDDLEWARE=middleware):
            clients[variant] = Client(HTTP_HOST="localhost")
            clients[variant].get("/healthz")  # loads this client's middleware chain under the override

    print(f"{'request':32} {'without µs':>11} {'with µs':>9} {'overhead µs':>12} {'ratio':>6}")
    for label, method, path, kwargs in REQUESTS:
        samples = {"with": [], "without": []}
        for _ in range(args.rounds):
            for variant in ("without", "with"):
                call = getattr(clients[variant], method)
                started = time.process_time_ns()
                for _ in range(args.requests):
                    call(path, **kwargs)
                samples[variant].append((time.process_time_ns() - started) / args.requests / 1000)
        bare, full = min(samples["without"]), min(samples["with"])
        print(f"{label:32} {bare:11.1f} {full:9.1f} {full - bare:12.1f} {full / bare:6.2f}")
    _components()


def _components(number: int = 20000) -> None:
    """The middleware's parts alone (less disturbed by the rest of the request and by other processes)."""
    import logging
    import timeit

    from django.db import connection

    from p360.observability import metrics
    from p360.observability.middleware import QueryCounter

    fields = {
        "request_id": "4fb3a264563d40a8ade45503b61c212a",
        "tenant": "alpha",
        "user": "8d13875e-b9a8-4a98-b66f-2ca58bccaecb",
        "method": "GET",
        "route": "api/v1/users/<uuid:pk>",
        "status": 200,
        "duration_ms": 12.34,
        "db_queries": 3,
    }
    access = logging.getLogger("p360.access")
    counter = QueryCounter()

    def wrapper():
        with connection.execute_wrapper(counter):
            pass

    parts = {
        "JSON access line (format + write)": lambda: access.info("%s %s %s %.1fms", "GET", "r", 200, 1.0, extra=fields),
        "metrics (3 series + in-progress)": lambda: (
            metrics.IN_PROGRESS.inc(),
            metrics.observe(method="GET", route=fields["route"], status=200, seconds=0.01, queries=3),
            metrics.IN_PROGRESS.dec(),
        ),
        "query counter (execute_wrapper)": wrapper,
    }
    for label, part in parts.items():
        best = min(timeit.repeat(part, number=number, repeat=5)) / number * 1e6
        print(f"{label:36} {best:6.1f} µs")


if __name__ == "__main__":
    main()
