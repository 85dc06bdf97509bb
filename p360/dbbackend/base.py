"""django-tenants' PostgreSQL backend, whose persistent connections are health-checked without a round trip.

With CONN_HEALTH_CHECKS, Django checks a reused connection before a request's first query by sending `SELECT 1`:
a round trip on every request (~0.1 ms of the worker's CPU, and as much again waiting for PostgreSQL). Here an
idle connection is usable when nothing is waiting to be read on its socket, which one poll() tells: a server that
restarts or ends the session (a crash, pg_terminate_backend, an idle timeout) sends a last message or closes the
socket, and then Django's own check runs and fails, so the request reconnects. A connection whose server is gone
without a word (a lost network) is caught by its first query's error, as without any check (p360/api/problems.py
answers 503 and the connection is replaced).
"""

from __future__ import annotations

import select

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper


class DatabaseWrapper(TenantDatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError):  # a socket that is gone
            return False
        return super().is_usable() if readable else True
