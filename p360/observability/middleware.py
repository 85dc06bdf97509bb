"""Measures and logs every request: one access line (JSON with DEBUG off), Prometheus metrics by route,
and the database queries it made. It runs right after RequestIdMiddleware, around everything else."""

from __future__ import annotations

import logging
import time

from django.db import connection

from p360.observability import logs, metrics
from p360.observability.routes import PLATFORM_PATHS, route_of

access_logger = logging.getLogger("p360.access")


class QueryCounter:
    """A connection.execute_wrapper that counts the queries it sees (no query of its own)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class ObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        counter = QueryCounter()
        bound = logs.bind_request(request)
        metrics.IN_PROGRESS.inc()
        try:
            with connection.execute_wrapper(counter):
                response = self.get_response(request)
        except BaseException:
            metrics.IN_PROGRESS.dec()
            raise
        finally:
            logs.unbind_request(bound)
        if response.streaming and not response.is_async:
            # the body (an export) is produced after this returns: finish when its last byte is out
            response.streaming_content = _ObservedStream(
                response.streaming_content, request, counter, lambda: self._finish(request, response, started, counter)
            )
        else:
            self._finish(request, response, started, counter)
        return response

    def _finish(self, request, response, started, counter) -> None:
        metrics.IN_PROGRESS.dec()
        seconds = time.perf_counter() - started
        route = route_of(request)
        metrics.observe(
            method=request.method, route=route, status=response.status_code, seconds=seconds, queries=counter.count
        )
        fields = {
            **logs.request_fields(request),
            "method": metrics.method_label(request.method),
            "route": route,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2),
            "db_queries": counter.count,
        }
        # probes and scrapes come every few seconds: kept out of the INFO log
        level = logging.DEBUG if request.path in PLATFORM_PATHS else logging.INFO
        access_logger.log(
            level, "%s %s %s %.1fms", fields["method"], route, response.status_code, seconds * 1000, extra=fields
        )


class _ObservedStream:
    """A streamed body that counts its queries and logs its request when the last chunk is out (or when
    the server closes it early: a client that went away)."""

    def __init__(self, content, request, counter, on_done):
        self._content = iter(content)
        self._request = request
        self._counter = counter
        self._on_done = on_done
        self._done = False

    def __iter__(self):
        return self

    def __next__(self):
        bound = logs.bind_request(self._request)
        try:
            with connection.execute_wrapper(self._counter):
                return next(self._content)
        except StopIteration:
            self.close()
            raise
        finally:
            logs.unbind_request(bound)

    def close(self):
        if self._done:
            return
        self._done = True
        try:
            close = getattr(self._content, "close", None)
            if close is not None:
                close()
        finally:
            self._on_done()
