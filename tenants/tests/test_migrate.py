"""migrate_schemas runs Django's migrate only where a migration is missing: public, the template, tenants."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from p360.actors import SYSTEM
from tenants import services
from tenants.management.commands.migrate_schemas import expected_migrations, schemas_behind
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def _migrate(*args, **options) -> str:
    out = StringIO()
    call_command("migrate_schemas", *args, interactive=False, stdout=out, stderr=StringIO(), **options)
    connection.set_schema_to_public()
    return out.getvalue()


def _recorded(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')
        return set(cursor.fetchall())


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def _schema_count() -> int:
    return 2 + Tenant.objects.exclude(schema_name="public").count()  # public, the template, the tenants


def test_with_nothing_to_do_no_schema_is_migrated():
    before = _recorded("t_alpha")

    out = _migrate()

    assert f"{_schema_count()} of {_schema_count()} schemas have every migration." in out
    assert "Starting migration" not in out and "Applying" not in out
    assert _recorded("t_alpha") == before == set(expected_migrations())


def test_a_tenant_that_is_behind_is_migrated_and_only_it(capsys):
    tenant, _ = services.tenant_create(actor=SYSTEM, slug="lagging", name="Lagging", owner_email="o@lagging.test")
    _migrate("users", "0002_pg_trgm", schema_name=tenant.schema_name)  # unapply users.0003 in this schema
    assert ("users", "0003_directory") not in _recorded(tenant.schema_name)
    assert "users_usertoken" not in _tables(tenant.schema_name)
    alpha = _recorded("t_alpha")

    capsys.readouterr()
    out = _migrate() + capsys.readouterr().out  # the executor prefixes each schema's lines on sys.stdout

    assert f"{_schema_count() - 1} of {_schema_count()} schemas have every migration." in out
    assert "t_lagging" in out and "Applying users.0003_directory... OK" in out
    assert "t_alpha" not in out and "tenant_template" not in out
    assert _recorded(tenant.schema_name) == set(expected_migrations())
    assert "users_usertoken" in _tables(tenant.schema_name)
    assert _recorded("t_alpha") == alpha


def test_a_tenant_schema_without_a_migrations_table_gets_every_migration(capsys):
    Tenant.objects.bulk_create([Tenant(slug="bare", name="Bare", schema_name="t_bare")])  # no save(): no schema
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA t_bare")

    out = _migrate("--tenant") + capsys.readouterr().out

    assert "t_bare" in out and "Applying users.0001_initial... OK" in out
    assert _recorded("t_bare") == set(expected_migrations())
    assert {"users_user", "organizations_membership", "activity_activityentry"} <= _tables("t_bare")


def test_check_exits_non_zero_only_when_a_schema_is_behind():
    assert "have every migration" in _migrate(check_unapplied=True)
    tenant, _ = services.tenant_create(actor=SYSTEM, slug="behind", name="Behind", owner_email="o@behind.test")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {tenant.schema_name}.django_migrations WHERE app = 'organizations'")

    with pytest.raises(SystemExit) as exit_:
        _migrate(check_unapplied=True)

    assert exit_.value.code == 1
    assert ("organizations", "0001_initial") not in _recorded(tenant.schema_name)  # --check applies nothing


def test_schemas_behind_compares_each_schema_with_the_whole_graph():
    expected = expected_migrations()
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA t_empty")
        cursor.execute("DELETE FROM t_beta.django_migrations WHERE app = 'activity' AND name = '0003_subjects'")

    behind = schemas_behind(["t_alpha", "t_empty", "t_beta", "t_missing", "public", "tenant_template"], expected)

    assert behind == ["t_empty", "t_beta", "t_missing"]
    assert schemas_behind([], expected) == []
    assert ("activity", "0003_subjects") in expected and ("tenants", "0001_initial") in expected


def test_all_schemas_runs_migrate_in_every_schema_as_django_tenants_does(capsys):
    capsys.readouterr()
    out = _migrate("--all-schemas") + capsys.readouterr().out

    for schema in ("t_alpha", "t_beta", "tenant_template", "public"):
        assert f":{schema}] === Starting migration" in out
    assert "have every migration" not in out


def test_check_stops_at_a_public_schema_that_is_behind_and_writes_nothing():
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM public.django_migrations WHERE app = 'tenants'")

    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("migrate_schemas", check_unapplied=True, interactive=False, stdout=out, stderr=StringIO())

    assert exit_.value.code == 1
    assert "Unapplied migrations in 1 of 1 schemas checked: public" in out.getvalue()
    assert ("tenants", "0001_initial") not in _recorded("public")
