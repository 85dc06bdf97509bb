"""migrate_schemas that also keeps the template schema (which new tenants are cloned from) current."""

from django.conf import settings
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.utils import get_public_schema_name, schema_exists


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
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
                cursor.execute(f'CREATE SCHEMA "{template}"')
        connection.set_schema_to_public()
        super().handle(*args, **{**options, "schema_name": template, "tenant": True, "shared": False})
        connection.set_schema(get_public_schema_name())
