"""Readiness: the database answers and every migration of the public schema is applied (tenant schemas are
migrated by the same `migrate` run, template first; checking thousands of them per probe would cost too much)."""

from __future__ import annotations

from django.db import DatabaseError, connection

_migrations_current = False  # once true it stays true for the process: migrations do not un-apply


def _pending_migrations() -> list[str]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def readiness() -> tuple[bool, list[str]]:
    global _migrations_current
    try:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_current:
            pending = _pending_migrations()
            if pending:
                return False, [f"unapplied migrations: {', '.join(pending[:10])}"]
            _migrations_current = True
    except DatabaseError as exc:
        return False, [f"database unavailable: {exc.__class__.__name__}"]
    return True, []
