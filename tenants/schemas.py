"""Schema housekeeping: clones must carry the template's constraint names.

django-tenants' clone_schema recreates UNIQUE constraints under PostgreSQL's default names
(`<table>_<columns>_key`), so a later migration that drops or alters `membership_unique` by name would
fail on every cloned tenant. After a clone, each renamed constraint gets its template name back.
"""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_exists

_CONSTRAINTS = """
SELECT c.conrelid::regclass::text, c.conname,
       regexp_replace(pg_get_constraintdef(c.oid), '\\m' || %s || '\\.', '', 'g')
FROM pg_constraint c
WHERE c.connamespace = %s::regnamespace AND c.contype IN ('u', 'p', 'c', 'x')
"""


def constraint_names(schema: str) -> dict[tuple[str, str], str]:
    """{(table, definition without schema qualifiers): constraint name} of a schema."""
    with connection.cursor() as cursor:
        cursor.execute(_CONSTRAINTS, [schema, schema])
        return {(table.split(".")[-1], definition): name for table, name, definition in cursor.fetchall()}


def align_constraint_names(*, source: str, target: str) -> int:
    """Renames the target's constraints to the source's names (matched by table and definition)."""
    if not schema_exists(source) or not schema_exists(target) or source == target:
        return 0
    wanted = constraint_names(source)
    renamed = 0
    with connection.cursor() as cursor:
        for key, name in constraint_names(target).items():
            expected = wanted.get(key)
            if expected and expected != name:
                cursor.execute(f'ALTER TABLE "{target}"."{key[0]}" RENAME CONSTRAINT "{name}" TO "{expected}"')
                renamed += 1
    return renamed
