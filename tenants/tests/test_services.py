"""Tenant provisioning by template clone, its validation, and the operator command."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django_tenants.utils import schema_context, schema_exists

from p360.actors import SYSTEM
from p360.api.problems import Conflict, FieldErrors
from tenants import services
from tenants.models import Domain, Tenant
from users.models import User, UserRole, UserStatus

pytestmark = pytest.mark.django_db


def _applied_migrations(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')
        return set(cursor.fetchall())


def test_tenant_create_clones_the_template_with_every_migration_and_an_owner():
    tenant, owner = services.tenant_create(
        actor=SYSTEM,
        slug="gamma-co",
        name="Gamma Co",
        owner_email="Boss@Gamma.test",
        owner_password="p360-test-Password-1",
    )

    assert tenant.schema_name == "t_gamma_co"
    assert schema_exists("t_gamma_co")
    assert Domain.objects.get(tenant=tenant).domain == "gamma-co.localhost"
    assert _applied_migrations("t_gamma_co") == _applied_migrations("tenant_template")
    with schema_context("t_gamma_co"):
        stored = User.objects.get()
        assert (stored.email, stored.role, stored.status) == ("Boss@Gamma.test", UserRole.OWNER, UserStatus.ACTIVE)
        assert stored.check_password("p360-test-Password-1")
    with schema_context("tenant_template"):
        assert not User.objects.exists()  # the template holds structure, never people
    assert owner.pk == stored.pk


def test_a_weak_owner_password_is_refused():
    with pytest.raises(FieldErrors) as error:
        services.tenant_create(actor=SYSTEM, slug="kappa", name="Kappa", owner_email="o@kappa.test", owner_password="x")

    assert error.value.errors[0]["field"] == "owner.password"
    assert not Tenant.objects.filter(slug="kappa").exists()


def test_tenant_create_without_password_makes_an_invited_owner():
    _tenant, owner = services.tenant_create(actor=SYSTEM, slug="delta", name="Delta", owner_email="o@delta.test")

    assert owner.status == UserStatus.INVITED
    assert not owner.has_usable_password()


@pytest.mark.parametrize("slug", ["Bad_Slug", "1abc", "a", "x" * 41, "public", "www", "-abc", "abc-"])
def test_tenant_create_rejects_bad_and_reserved_slugs(slug):
    with pytest.raises(FieldErrors) as error:
        services.tenant_create(actor=SYSTEM, slug=slug, name="X", owner_email="o@x.test")

    assert error.value.errors[0]["field"] == "slug"
    assert not Tenant.objects.filter(slug=slug.lower()).exists()


def test_tenant_create_rejects_a_taken_slug_and_domain():
    with pytest.raises(Conflict) as slug_taken:
        services.tenant_create(actor=SYSTEM, slug="alpha", name="Again", owner_email="o@x.test")
    with pytest.raises(Conflict) as domain_taken:
        services.tenant_create(actor=SYSTEM, slug="epsilon", name="E", owner_email="o@x.test", domain="alpha.localhost")

    assert slug_taken.value.code == "slug_taken"
    assert domain_taken.value.code == "domain_taken"
    assert not Tenant.objects.filter(slug="epsilon").exists()


def test_an_invalid_owner_email_is_a_field_error_and_creates_nothing():
    with pytest.raises(FieldErrors) as error:
        services.tenant_create(actor=SYSTEM, slug="zeta", name="Zeta", owner_email="not-an-email")

    assert error.value.errors[0]["field"] == "owner.email"
    assert not Tenant.objects.filter(slug="zeta").exists()


def test_a_failure_after_the_clone_leaves_no_tenant_and_no_schema():
    with pytest.raises(Exception):
        services.tenant_create(
            actor=SYSTEM, slug="zeta", name="Zeta", owner_email="o@zeta.test", owner_first_name="x" * 200
        )

    connection.set_schema_to_public()
    assert not Tenant.objects.filter(slug="zeta").exists()
    assert not schema_exists("t_zeta")


def test_tenant_delete_drops_the_schema():
    tenant, _ = services.tenant_create(actor=SYSTEM, slug="eta", name="Eta", owner_email="o@eta.test")

    services.tenant_delete(actor=SYSTEM, tenant=tenant)

    assert not Tenant.objects.filter(slug="eta").exists()
    assert not Domain.objects.filter(domain="eta.localhost").exists()
    assert not schema_exists("t_eta")


# --- manage.py tenants ---


def _run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("tenants", *args, stdout=out)
    return out.getvalue()


def test_command_create_list_suspend_activate_delete():
    created = json.loads(
        _run(
            "create",
            "theta",
            "--name",
            "Theta",
            "--owner-email",
            "o@theta.test",
            "--owner-password",
            "p360-test-Password-1",
            "--json",
        )
    )
    listed = {row["slug"]: row for row in json.loads(_run("list", "--json"))}
    with schema_context("t_theta"):
        from activity.models import ActivityEntry

        owner_entry = ActivityEntry.objects.get(verb="user.created")
    _run("suspend", "theta")
    suspended = Tenant.objects.get(slug="theta").status
    _run("activate", "theta")
    table = _run("list")
    _run("delete", "theta", "--yes")

    assert created["slug"] == "theta" and created["owner"]["status"] == "active"
    assert (owner_entry.actor_type, owner_entry.target_repr) == ("cli", "o@theta.test")
    assert listed["theta"]["domains"] == ["theta.localhost"]
    assert {"alpha", "beta", "theta"} <= set(listed)
    assert suspended == "suspended"
    assert "theta" in table and "active" in table
    assert not Tenant.objects.filter(slug="theta").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("suspend", "missing"), "no tenant with the slug 'missing'"),
        (("delete", "alpha"), "add --yes to confirm"),
        (("create", "alpha", "--name", "A", "--owner-email", "o@a.test", "--invite"), "slug_taken"),
        (("create", "Bad_Slug", "--name", "A", "--owner-email", "o@a.test", "--invite"), "invalid"),
    ],
)
def test_command_errors_are_one_line(args, message):
    with pytest.raises(CommandError) as error:
        _run(*args)

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert Tenant.objects.filter(slug="alpha").exists()


def _definitions(schema: str) -> set[tuple[str, str, str]]:
    from tenants.schemas import constraint_names

    return {(table, definition, name) for (table, definition), name in constraint_names(schema).items()}


def _indexes(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, regexp_replace(indexdef, ' ON [a-z_0-9]+\\.', ' ON ')"
            " FROM pg_indexes WHERE schemaname = %s",
            [schema],
        )
        return set(cursor.fetchall())


def test_a_cloned_tenant_has_the_template_constraints_and_indexes_under_the_same_names():
    tenant, _ = services.tenant_create(actor=SYSTEM, slug="iota", name="Iota", owner_email="o@iota.test")

    assert _definitions(tenant.schema_name) == _definitions("tenant_template")
    assert _indexes(tenant.schema_name) == _indexes("tenant_template")


def test_seed_demo_makes_a_tenant_with_people_and_organizations_and_is_idempotent():
    from io import StringIO

    from organizations.models import Membership, Organization

    out, err = StringIO(), StringIO()
    call_command("seed_demo", "--tenant", "omicron", "--users", "60", stdout=out, stderr=err)
    call_command("seed_demo", "--tenant", "omicron", "--users", "60", stdout=StringIO(), stderr=(again := StringIO()))

    assert "owner@omicron.localhost / p360-demo-owner" in out.getvalue()
    assert "60 people added" in err.getvalue() and "0 people added" in again.getvalue()
    with schema_context("t_omicron"):
        assert User.objects.count() == 61
        assert set(User.objects.values_list("status", flat=True)) >= {"active", "invited"}
        assert Organization.objects.count() == 10
        assert Membership.objects.exists()
        owner = User.objects.get(email="owner@omicron.localhost")
        assert owner.role == UserRole.OWNER and owner.check_password("p360-demo-owner")


def test_seed_demo_tops_the_activity_log_up_by_copy_and_only_once():
    from io import StringIO

    from activity.models import ActivityEntry
    from activity.verbs import VERBS

    call_command(
        "seed_demo", "--tenant", "sigma", "--users", "40", "--activity", "300", stdout=StringIO(), stderr=StringIO()
    )
    call_command("seed_demo", "--tenant", "sigma", "--users", "40", "--activity", "300", stdout=StringIO(),
                 stderr=(again := StringIO()))  # fmt: skip

    assert "0 activity entries added" in again.getvalue()
    with schema_context("t_sigma"):
        entries = ActivityEntry.objects.all()
        assert entries.count() == 300  # the owner's creation counts towards it
        assert set(entries.values_list("verb", flat=True)) <= VERBS
        user_ids = {str(pk) for pk in User.objects.values_list("pk", flat=True)}
        sample = entries.exclude(target_type="").filter(actor__isnull=False)[:50]
        assert all(str(entry.actor_id) in user_ids and entry.subject_ids for entry in sample)
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            entries.filter(pk=entries.first().pk).update(verb="user.updated")


def test_seed_demo_refuses_a_bad_slug_in_one_line():
    from io import StringIO

    with pytest.raises(CommandError) as error:
        call_command("seed_demo", "--tenant", "Bad_Slug", stdout=StringIO(), stderr=StringIO())

    assert "slug" in str(error.value) and "\n" not in str(error.value)
