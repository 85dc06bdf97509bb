"""The schema guard: a query meant for a tenant schema that does not exist fails instead of reading `public`.

A tenant connection's search_path is `t_<slug>, p360_guard, public` (p360/dbbackend). PostgreSQL skips a
schema on the search_path that does not exist, so without the guard a request routed to a tenant whose schema
was just dropped would resolve `users_user` in `public`: the platform's own table. `p360_guard` holds, for
every relation of a tenant schema (read from the template), a view of the same name and columns that raises
SQLSTATE 3F000 (invalid_schema_name) when a query is planned on it, and an INSTEAD OF trigger that raises it
on any write, COPY included. A tenant schema that exists shadows the guard, so the guard costs nothing on the
normal path; the API answers the error as the unknown-host 404 (p360/api/problems.py, tenants/middleware.py).

The views are rebuilt after `migrate` touches the public or the template schema (post_migrate), only when
the template's relations or columns changed (a digest is kept as the guard schema's comment).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name

from p360.dbbackend.base import GUARD_SCHEMA, GUARD_SQLSTATE
from tenants.schemas import qi

MESSAGE = "p360: the tenant schema on the search_path does not exist"

_FUNCTIONS = f"""
CREATE SCHEMA IF NOT EXISTS {GUARD_SCHEMA};
-- IMMUTABLE with no arguments: the planner folds it, so planning any query on a guard view raises.
CREATE OR REPLACE FUNCTION {GUARD_SCHEMA}.tenant_schema_missing() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = '{GUARD_SQLSTATE}'; END $$;
CREATE OR REPLACE FUNCTION {GUARD_SCHEMA}.refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM {GUARD_SCHEMA}.tenant_schema_missing(); RETURN NULL; END $$;
"""

_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = to_regnamespace(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY c.relname, a.attnum
"""


def guarded_relations(schema: str) -> dict[str, list[tuple[str, str]]]:
    """The relations of `schema` with their columns and types, as the guard mirrors them."""
    relations: dict[str, list[tuple[str, str]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_COLUMNS, [qi(schema)])
        for relname, column, type_ in cursor.fetchall():
            relations.setdefault(relname, []).append((column, type_))
    return relations


def _view_sql(name: str, columns: list[tuple[str, str]]) -> str:
    select = ", ".join(f"NULL::{type_} AS {qi(column)}" for column, type_ in columns)
    view = f"{GUARD_SCHEMA}.{qi(name)}"
    return (
        f"CREATE VIEW {view} AS SELECT {select} WHERE {GUARD_SCHEMA}.tenant_schema_missing();\n"
        f"CREATE TRIGGER refuse_write INSTEAD OF INSERT OR UPDATE OR DELETE ON {view}"
        f" FOR EACH ROW EXECUTE FUNCTION {GUARD_SCHEMA}.refuse_write();"
    )


def sync_guard(template: str | None = None) -> bool:
    """Makes the guard mirror the template schema's relations; True when it was (re)built."""
    template = template or settings.TENANT_BASE_SCHEMA
    relations = guarded_relations(template)
    if not relations:
        return False  # no template yet: its own migrate run builds the guard
    body = "\n".join(_view_sql(name, columns) for name, columns in sorted(relations.items()))
    digest = hashlib.sha256((_FUNCTIONS + body).encode()).hexdigest()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(to_regnamespace(%s), 'pg_namespace')", [GUARD_SCHEMA])
        if cursor.fetchone()[0] == digest:
            return False
        cursor.execute(f"DROP SCHEMA IF EXISTS {GUARD_SCHEMA} CASCADE")
        cursor.execute(_FUNCTIONS + body)
        cursor.execute(f"COMMENT ON SCHEMA {GUARD_SCHEMA} IS '{digest}'")
    return True


def on_post_migrate(sender, using="default", **kwargs) -> None:
    if connection.schema_name in (get_public_schema_name(), settings.TENANT_BASE_SCHEMA):
        sync_guard()
