"""django-tenants' PostgreSQL backend: a tenant's search_path carries the schema guard, and persistent
connections are health-checked without a round trip.

search_path: `t_<slug>, p360_guard, public` for a tenant (django-tenants: `t_<slug>, public`). When the
tenant's schema is gone, a name resolves to the guard's view, which raises, instead of the platform's table
of the same name in public (tenants/guard.py).

Health checks:
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
from django_tenants.utils import get_public_schema_name

GUARD_SCHEMA = "p360_guard"  # tenants/guard.py builds it (a backend imports no app)
GUARD_SQLSTATE = "3F000"  # invalid_schema_name: what the guard raises


def is_guard_error(exc: BaseException | None) -> bool:
    """Whether a database error is the guard's: the query ran for a tenant whose schema is gone."""
    while exc is not None:
        if getattr(exc, "sqlstate", None) == GUARD_SQLSTATE:
            return True
        exc = exc.__cause__
    return False


class DatabaseWrapper(TenantDatabaseWrapper):
    def _get_cursor_search_paths(self):
        paths = super()._get_cursor_search_paths()
        if len(paths) > 1 and paths[1] == get_public_schema_name():
            paths.insert(1, GUARD_SCHEMA)
        return paths

    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError):  # a socket that is gone
            return False
        return super().is_usable() if readable else True
