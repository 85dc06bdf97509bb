"""`migrate` is `migrate_schemas` (as django-tenants makes it), template schema included."""

from tenants.management.commands.migrate_schemas import Command  # noqa: F401
