"""Benchmark-only middleware: `Server-Timing: app;dur=<ms>` on every response, and with the request header
`X-Bench-Queries: 1` the number of SQL statements the request ran (`X-Bench-Queries`)."""

import time

from django.db import connection


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        counting = request.META.get("HTTP_X_BENCH_QUERIES") == "1"
        if counting:
            connection.force_debug_cursor = True
            before = len(connection.queries_log)
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
        if counting:
            response["X-Bench-Queries"] = str(len(connection.queries_log) - before)
            connection.force_debug_cursor = False
        return response
