"""Schema cloning: a new tenant's schema is a copy of the template's, made from the catalog in one batch.

`clone_schema(source, target)` reads the template's tables, sequences, keys, indexes, foreign keys and
triggers from pg_catalog in a handful of queries and sends one batch of SQL that recreates them under the
template's own names: `CREATE TABLE ... (LIKE template.table INCLUDING ...)` copies columns, defaults,
identities, CHECK constraints and comments as PostgreSQL holds them; keys, indexes, foreign keys and
triggers are replayed from pg_get_constraintdef/pg_get_indexdef/pg_get_triggerdef, read with the template
alone on the search_path (so that its own objects print unqualified, others such as
`public.gin_trgm_ops` qualified) and run with the target alone on it. The rows are copied too, and with
them django_migrations: a clone records exactly the migrations the template has (`migrate_schemas`
catches it up if the template was behind), with no migration-graph load per new tenant.

A template holding objects this does not know (views, functions, types, policies, rules, partitions,
inheritance, extended statistics) is cloned by django-tenants' generic `clone_schema` function instead,
whose renamed UNIQUE constraints are then given their template names back (`align_constraint_names`).
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

logger = logging.getLogger(__name__)

# What the schema holds, by pg_depend's index on referenced objects (each object in a schema depends on
# it; indexes and toast tables on their tables). The queries below then take the schema's relation oids
# (`rels`, `seqs`) and are a few index lookups each: a filter on relnamespace scans all of pg_class and
# pg_attribute, which grow with every tenant.
_OBJECTS = """
SELECT d.classid = 'pg_class'::regclass, c.oid, c.relname, c.relkind, c.relrowsecurity,
       pg_describe_object(d.classid, d.objid, d.objsubid)
FROM pg_depend d LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = %(ns)s::regnamespace
"""

_UNSUPPORTED = """
SELECT 'policy ' || polname FROM pg_policy WHERE polrelid = ANY(%(rels)s::oid[])
UNION ALL SELECT 'rule ' || rulename FROM pg_rewrite WHERE ev_class = ANY(%(rels)s::oid[]) AND rulename <> '_RETURN'
UNION ALL SELECT 'inheritance ' || inhrelid::regclass::text FROM pg_inherits
 WHERE inhrelid = ANY(%(rels)s::oid[]) OR inhparent = ANY(%(rels)s::oid[])
"""

_TABLES = """
SELECT c.relname, c.relpersistence, c.reloptions, obj_description(c.oid, 'pg_class'),
       array_agg(a.attname ORDER BY a.attnum) FILTER (WHERE a.attgenerated = '')
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.oid = ANY(%(rels)s::oid[])
GROUP BY c.oid, c.relname, c.relpersistence, c.reloptions
ORDER BY c.relname
"""

_NEXTVAL_DEFAULTS = """
SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid)
FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE d.adrelid = ANY(%(rels)s::oid[]) AND pg_get_expr(d.adbin, d.adrelid) LIKE '%%nextval(%%'
"""

_IDENTITIES = """
SELECT c.relname, a.attname, a.attidentity
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE a.attrelid = ANY(%(rels)s::oid[]) AND a.attnum > 0 AND a.attidentity <> ''
"""

# CHECK constraints come with LIKE ... INCLUDING CONSTRAINTS (as parsed trees, so their definitions read
# the same), NOT NULL ones (contype 'n' from PostgreSQL 18) with the columns, constraint triggers with triggers.
_CONSTRAINTS = """
SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
WHERE k.conrelid = ANY(%(rels)s::oid[]) AND k.contype IN ('p', 'u', 'x', 'f')
ORDER BY c.relname, k.contype = 'f', k.conname
"""
_INDEXES = """
SELECT c.relname, pg_get_indexdef(i.indexrelid), obj_description(i.indexrelid, 'pg_class'), ic.relname,
       quote_ident(%(ns)s) || '.' || quote_ident(c.relname)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = ANY(%(rels)s::oid[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                  WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
ORDER BY 2
"""

_TRIGGERS = """
SELECT c.relname, pg_get_triggerdef(t.oid), t.tgenabled, t.tgname,
       quote_ident(%(ns)s) || '.' || quote_ident(c.relname)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE t.tgrelid = ANY(%(rels)s::oid[]) AND NOT t.tgisinternal
ORDER BY c.relname, t.tgname
"""

_SEQUENCES = """
SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
       s.seqcycle, pg_sequence_last_value(c.oid), owner.relname, a.attname, dep.deptype
FROM pg_class c
JOIN pg_sequence s ON s.seqrelid = c.oid
LEFT JOIN pg_depend dep ON dep.objid = c.oid AND dep.classid = 'pg_class'::regclass
     AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
LEFT JOIN pg_class owner ON owner.oid = dep.refobjid
LEFT JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
WHERE c.oid = ANY(%(seqs)s::oid[])
ORDER BY c.relname
"""


_LIKE = (
    "INCLUDING COMMENTS INCLUDING COMPRESSION INCLUDING CONSTRAINTS INCLUDING DEFAULTS INCLUDING GENERATED"
    " INCLUDING STORAGE"
)


def qi(name: str) -> str:
    """An SQL identifier, always quoted (PostgreSQL folds nothing inside double quotes)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class NotClonable(Exception):
    def __init__(self, objects: list[str]):
        super().__init__(", ".join(objects))
        self.objects = objects


def unsupported_objects(schema: str) -> list[str]:
    """What the catalog clone cannot copy (see the module docstring)."""
    with connection.cursor() as cursor:
        return _unsupported(cursor, schema, _relations(cursor, schema))


def _relations(cursor, schema: str) -> dict[str, list]:
    """{"rels": table oids, "seqs": sequence oids, "other": descriptions of everything else} of a schema."""
    found = {"ns": schema, "rels": [], "seqs": [], "other": []}
    cursor.execute(_OBJECTS, {"ns": schema})
    for is_relation, oid, name, kind, row_security, description in cursor.fetchall():
        if not is_relation:
            found["other"].append(description)  # a function, type, statistics object...
        elif kind == "r":
            found["rels"].append(oid)
        elif kind == "S":
            found["seqs"].append(oid)
        else:
            found["other"].append(f"relation {name} (kind {kind})")
        if row_security:
            found["other"].append(f"row level security on {name}")
    return found


def _unsupported(cursor, schema: str, relations: dict) -> list[str]:
    cursor.execute(_UNSUPPORTED, {"rels": relations["rels"]})
    return relations["other"] + [row[0] for row in cursor.fetchall()]


def _read(cursor, query: str, relations: dict) -> list[tuple]:
    cursor.execute(query, relations)
    return cursor.fetchall()


def _sequence_options(start, increment, minimum, maximum, cache, cycle) -> str:
    return f"START WITH {start} INCREMENT BY {increment} MINVALUE {minimum} MAXVALUE {maximum} CACHE {cache}" + (
        " CYCLE" if cycle else " NO CYCLE"
    )


def clone_ddl(source: str, target: str) -> str:
    """The SQL that makes `target` a copy of `source` (structure and rows), as one batch to run with `target`
    alone on the search_path; NotClonable when `source` holds objects it cannot copy."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path'), current_setting('max_parallel_workers_per_gather')")
        search_path, workers = cursor.fetchone()
        # the template alone on the path; no parallel workers (their start costs more than these small reads)
        cursor.execute(
            "SELECT set_config('search_path', %s, false), set_config('max_parallel_workers_per_gather', '0', false)",
            [qi(source)],
        )
        try:
            relations = _relations(cursor, source)
            unknown = _unsupported(cursor, source, relations)
            if unknown:
                raise NotClonable(unknown)
            tables = _read(cursor, _TABLES, relations)
            nextval_defaults = _read(cursor, _NEXTVAL_DEFAULTS, relations)
            constraints = _read(cursor, _CONSTRAINTS, relations)
            indexes = _read(cursor, _INDEXES, relations)
            triggers = _read(cursor, _TRIGGERS, relations)
            sequences = _read(cursor, _SEQUENCES, relations)
            identities = dict(((t, c), kind) for t, c, kind in _read(cursor, _IDENTITIES, relations))
            filled = _filled_tables(cursor, source, [t[0] for t in tables])
        finally:
            cursor.execute(
                "SELECT set_config('search_path', %s, false), set_config('max_parallel_workers_per_gather', %s, false)",
                [search_path, workers],
            )
    src = qi(source)
    statements = [f"CREATE SCHEMA {qi(target)}"]
    for name, type_, *options, _last, _table, _column, dependency in sequences:
        if dependency != "i":  # identity sequences are made with their columns, below
            statements.append(f"CREATE SEQUENCE {qi(name)} AS {type_} {_sequence_options(*options)}")
    keys, foreign_keys = {}, []
    for table, name, kind, definition in constraints:
        if kind == "f":
            foreign_keys.append(f"ALTER TABLE {qi(table)} ADD CONSTRAINT {qi(name)} {definition}")
        else:
            keys.setdefault(table, []).append(f", CONSTRAINT {qi(name)} {definition}")
    for table, persistence, reloptions, comment, _insertable in tables:
        unlogged = "UNLOGGED " if persistence == "u" else ""
        with_options = f" WITH ({', '.join(reloptions)})" if reloptions else ""
        # columns, types, collations, NOT NULL, defaults, generated columns, CHECK constraints, comments and
        # storage are copied by PostgreSQL itself; primary keys, unique and exclusion constraints by name
        statements.append(
            f"CREATE {unlogged}TABLE {qi(table)} (LIKE {src}.{qi(table)} {_LIKE}{''.join(keys.get(table, []))})"
            + with_options
        )
        if comment is not None:  # (LIKE copies the comments of columns and constraints, not the table's)
            statements.append(f"COMMENT ON TABLE {qi(table)} IS {literal(comment)}")
    for name, _type, *options, _last, table, column, dependency in sequences:
        if dependency == "i":  # (LIKE's own identities would be bigint sequences under generated names)
            kind = "ALWAYS" if identities[(table, column)] == "a" else "BY DEFAULT"
            statements.append(
                f"ALTER TABLE {qi(table)} ALTER COLUMN {qi(column)} ADD GENERATED {kind} AS IDENTITY"
                f" (SEQUENCE NAME {qi(name)} {_sequence_options(*options)})"
            )
    for table, column, default in nextval_defaults:  # LIKE keeps nextval() on the source's sequence
        statements.append(f"ALTER TABLE {qi(table)} ALTER COLUMN {qi(column)} SET DEFAULT {default}")
    for table, _persistence, _options, _comment, insertable in tables:
        if table not in filled:
            continue
        names = ", ".join(qi(c) for c in insertable)
        statements.append(
            f"INSERT INTO {qi(table)} ({names}) OVERRIDING SYSTEM VALUE SELECT {names} FROM {src}.{qi(table)}"
        )
    for name, _type, *_options, last_value, table, column, dependency in sequences:
        if dependency == "a":
            statements.append(f"ALTER SEQUENCE {qi(name)} OWNED BY {qi(table)}.{qi(column)}")
        if last_value is None:
            continue
        statements.append(f"SELECT setval({literal(qi(target) + '.' + qi(name))}, {last_value}, true)")
    for table, definition, comment, name, qualified in indexes:
        statements.append(_retarget(definition, qualified, table))
        if comment is not None:
            statements.append(f"COMMENT ON INDEX {qi(name)} IS {literal(comment)}")
    statements += foreign_keys
    for table, definition, enabled, name, qualified in triggers:
        statements.append(_retarget(definition, qualified, table))
        if enabled == "D":
            statements.append(f"ALTER TABLE {qi(table)} DISABLE TRIGGER {qi(name)}")
    return ";\n".join(statements) + ";"


def _filled_tables(cursor, schema: str, tables: list[str]) -> set[str]:
    """The tables of `schema` that hold rows (one query)."""
    if not tables:
        return set()
    probes = " UNION ALL ".join(f"SELECT {literal(t)} WHERE EXISTS (SELECT FROM {qi(schema)}.{qi(t)})" for t in tables)
    cursor.execute(probes)
    return {row[0] for row in cursor.fetchall()}


def _retarget(definition: str, qualified: str, table: str) -> str:
    """pg_get_indexdef and pg_get_triggerdef always qualify the table (`... ON source.table ...`, quoted as
    quote_ident quotes): the clone's statement names the table unqualified (the target is on the path)."""
    if f" ON {qualified} " not in definition:
        raise ValueError(f"unexpected definition: {definition}")
    return definition.replace(f" ON {qualified} ", f" ON {qi(table)} ", 1)


def clone_schema(*, source: str, target: str) -> str:
    """Makes `target` a copy of `source`; returns how: "catalog" (one batch of DDL) or "generic" (django-tenants)."""
    try:
        ddl = clone_ddl(source, target)
    except NotClonable as exc:
        logger.warning("cloning %s with django-tenants' clone_schema: it holds %s", source, ", ".join(exc.objects))
        CloneSchema().clone_schema(source, target, "DATA", set_connection=False)
        align_constraint_names(source=source, target=target)
        return "generic"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        search_path = cursor.fetchone()[0]
        # one round trip; the search_path is put back at the end (and by PostgreSQL if the batch fails)
        cursor.execute(
            f"SELECT set_config('search_path', {literal(qi(target))}, false);\n{ddl}\n"
            f"SELECT set_config('search_path', {literal(search_path)}, false);"
        )
    return "catalog"


# --- constraint names after a generic clone ---

_CONSTRAINT_NAMES = """
SELECT c.conrelid::regclass::text, c.conname,
       regexp_replace(pg_get_constraintdef(c.oid), '\\m' || %s || '\\.', '', 'g')
FROM pg_constraint c
WHERE c.connamespace = %s::regnamespace AND c.contype IN ('u', 'p', 'c', 'x')
"""


def constraint_names(schema: str) -> dict[tuple[str, str], str]:
    """{(table, definition without schema qualifiers): constraint name} of a schema."""
    with connection.cursor() as cursor:
        cursor.execute(_CONSTRAINT_NAMES, [schema, schema])
        return {(table.split(".")[-1], definition): name for table, name, definition in cursor.fetchall()}


def align_constraint_names(*, source: str, target: str) -> int:
    """Renames the target's constraints to the source's names (matched by table and definition).

    django-tenants' clone_schema recreates UNIQUE constraints under PostgreSQL's default names
    (`<table>_<columns>_key`), so a later migration that drops or alters `membership_unique` by name would
    fail on a tenant cloned that way."""
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
