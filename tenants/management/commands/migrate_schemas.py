"""migrate_schemas that keeps the template schema (which new tenants are cloned from) current, and that
runs Django's migrate only in the schemas that are behind.

A plain run (no app label, migration name, --schema, --fake, --plan, --prune...) first compares every
schema's django_migrations with the migration graph's full set, in a few queries across all schemas,
and hands only the schemas that lack a migration to django-tenants' executor: with nothing to do, 1,000
tenants cost one graph load and a few catalog queries instead of 1,000 migrate runs. `--all-schemas`
runs migrate in every schema as django-tenants does (post_migrate handlers included); any other option
does the same.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.management.commands.migrate_schemas import GET_EXECUTOR_FUNCTION, MigrateSchemasCommand
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_exists

from tenants.schemas import qi

# options that ask for something else than "bring every schema up to date"
_SPECIFIC = ("app_label", "migration_name", "schema_name", "fake", "fake_initial", "plan", "prune", "run_syncdb")
_CHUNK = 200  # schemas per catalog query


class Command(MigrateSchemasCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--all-schemas",
            action="store_true",
            help="Run migrate in every schema, also in those that have every migration (post_migrate included).",
        )

    def handle(self, *args, **options):
        if options.get("all_schemas") or any(options.get(name) for name in _SPECIFIC):
            return self._each_schema(*args, **options)
        return self._schemas_behind_only(*args, **options)

    # --- only the schemas that are behind ---

    def _schemas_behind_only(self, *args, **options):
        super(MigrateSchemasCommand, self).handle(*args, **options)  # SyncCommon's: reads the options only
        public, template = get_public_schema_name(), settings.TENANT_BASE_SCHEMA
        expected = expected_migrations()
        executor = GET_EXECUTOR_FUNCTION(codename=self.executor)(self.args, self.options)
        check = options.get("check_unapplied")
        checked, behind = 0, []
        if self.sync_public:  # first: the tenant list is in it
            checked += 1
            if schemas_behind([public], expected):
                behind.append(public)
                if check:
                    self._report(checked, behind)  # (the tenant list may not even exist yet)
                executor.run_migrations(tenants=[public])
                connection.set_schema_to_public()
        if self.sync_tenant:
            if not schema_exists(template) and not check:
                with connection.cursor() as cursor:
                    cursor.execute(f"CREATE SCHEMA {qi(template)}")
            tenants = get_tenant_model().objects.exclude(schema_name=public).values_list("schema_name", flat=True)
            schemas = [template, *tenants]
            checked += len(schemas)
            lagging = schemas_behind(schemas, expected)
            behind += lagging
            if lagging and not check:
                executor.run_migrations(tenants=lagging)
                connection.set_schema_to_public()
        if int(options.get("verbosity", 1)) >= 1:
            self.stdout.write(f"{checked - len(behind)} of {checked} schemas have every migration.")
        if check and behind:
            self._report(checked, behind)

    def _report(self, checked: int, behind: list[str]):
        """--check: the schemas with unapplied migrations, and exit status 1."""
        self.stdout.write(f"Unapplied migrations in {len(behind)} of {checked} schemas checked: {', '.join(behind)}")
        sys.exit(1)

    # --- django-tenants' way: migrate in each schema ---

    def _each_schema(self, *args, **options):
        super().handle(*args, **options)
        template = settings.TENANT_BASE_SCHEMA
        only_schema = options.get("schema_name")
        wants_tenants = not options.get("shared") or options.get("tenant")
        if not wants_tenants or (only_schema and only_schema != template):
            return
        if only_schema == template:
            return  # the run above migrated it
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {qi(template)}")
        connection.set_schema_to_public()
        super().handle(*args, **{**options, "schema_name": template, "tenant": True, "shared": False})
        connection.set_schema(get_public_schema_name())


def expected_migrations() -> list[tuple[str, str]]:
    """Every migration a current schema has recorded: the whole graph (squashed migrations in place of the
    ones they replace; a schema that recorded only the originals counts as behind, and migrate records
    the squash)."""
    return sorted(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def schemas_behind(schemas: list[str], expected: list[tuple[str, str]]) -> list[str]:
    """The schemas, in their order, that lack one of the expected migrations (or a django_migrations table)."""
    if not schemas:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid"
            " AND c.relname = 'django_migrations' AND c.relkind IN ('r', 'p') WHERE n.nspname = ANY(%s)",
            [schemas],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        recorded = [schema for schema in schemas if schema in with_table]
        apps, names = [app for app, _ in expected], [name for _, name in expected]
        lacking = set()
        for start in range(0, len(recorded), _CHUNK):
            chunk = recorded[start : start + _CHUNK]
            probes = " UNION ALL ".join(
                f"SELECT %s WHERE EXISTS (SELECT FROM expected e WHERE NOT EXISTS"
                f" (SELECT FROM {qi(schema)}.django_migrations m WHERE m.app = e.app AND m.name = e.name))"
                for schema in chunk
            )
            cursor.execute(
                f"WITH expected (app, name) AS (SELECT * FROM unnest(%s::text[], %s::text[])) {probes}",
                [apps, names, *chunk],
            )
            lacking.update(row[0] for row in cursor.fetchall())
    return [schema for schema in schemas if schema not in recorded or schema in lacking]
