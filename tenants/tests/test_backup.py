"""Per-tenant backup and restore: a round trip that keeps every row, and failures that leave nothing behind."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context, schema_exists

from activity.models import ActivityEntry
from conftest import PASSWORD, ROOT, database_url, login
from organizations.models import Organization
from p360.actors import SYSTEM
from tenants import backup, pgtools
from tenants.models import Domain, Tenant
from users.models import User

pytestmark = pytest.mark.django_db

SOURCE = "bk-src"
# Data that looks like the schema's name, COPY's end marker or escapes must come back unchanged.
TRICKY_TITLE = "Lead of t_bk_src.users_user"
TRICKY_DESCRIPTION = "line one\n\\.\nCOPY t_bk_src.x FROM stdin;\ttab \\ backslash, ünïcödé"


@pytest.fixture(scope="module")
def source_backup(django_db_setup, django_db_blocker, tmp_path_factory) -> Path:
    """A committed tenant with people, organizations, memberships and activity, and its backup file."""
    from tenants.services import tenant_create, tenant_delete

    path = tmp_path_factory.mktemp("backups") / "bk-src.tar"
    with django_db_blocker.unblock():
        tenant, _ = tenant_create(
            actor=SYSTEM, slug=SOURCE, name="Backup Source", owner_email="o@bk.test", owner_password=PASSWORD
        )
        Domain.objects.create(domain="people.bk.test", tenant=tenant, is_primary=False)
        call_command("seed_demo", tenant=SOURCE, users=40, stdout=io.StringIO())
        with schema_context(tenant.schema_name):
            User.objects.filter(email="o@bk.test").update(job_title=TRICKY_TITLE)
            Organization.objects.filter(pk=Organization.objects.order_by("pk").values("pk")[:1]).update(
                description=TRICKY_DESCRIPTION
            )
        call_command("tenants", "backup", SOURCE, "-o", str(path), stdout=io.StringIO())
        connection.set_schema_to_public()
    yield path
    with django_db_blocker.unblock():
        for slug in (SOURCE,):
            tenant_delete(actor=SYSTEM, tenant=Tenant.objects.get(slug=slug))


def _tables(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r' ORDER BY 1", [schema]
        )
        return [row[0] for row in cursor.fetchall()]


def _contents(schema: str) -> dict[str, tuple[int, str]]:
    """{table: (rows, md5 of all rows as text in order)}: equal contents give equal values."""
    result = {}
    with connection.cursor() as cursor:
        for table in _tables(schema):
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), ''))"
                f' FROM "{schema}"."{table}" r'
            )
            result[table] = cursor.fetchone()
    return result


def _constraints(schema: str) -> set[tuple[str, str, str]]:
    """(table, name, kind) of every constraint (PostgreSQL may print a CHECK's reloaded text differently)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, contype FROM pg_constraint"
            " WHERE connamespace = %s::regnamespace",
            [schema],
        )
        return {(table.split(".")[-1], name, kind) for table, name, kind in cursor.fetchall()}


def _triggers(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE c.relnamespace = %s::regnamespace AND NOT t.tgisinternal",
            [schema],
        )
        return set(cursor.fetchall())


def _restore(path: Path, slug: str) -> str:
    out = io.StringIO()
    call_command("tenants", "restore", str(path), "--as", slug, stdout=out, stderr=out)
    connection.set_schema_to_public()
    return out.getvalue()


def test_round_trip_restores_every_row_under_a_new_slug(source_backup, client_for):
    output = _restore(source_backup, "bk-copy")

    copy = Tenant.objects.get(slug="bk-copy")
    source = Tenant.objects.get(slug=SOURCE)
    assert copy.schema_name == "t_bk_copy" and copy.pk != source.pk
    assert (copy.name, copy.status) == (source.name, source.status)
    restored, original = _contents("t_bk_copy"), _contents(source.schema_name)
    assert restored == original
    for table in ("users_user", "organizations_organization", "organizations_membership", "activity_activityentry"):
        assert restored[table][0] > 0, table
    assert f"{sum(rows for rows, _ in restored.values())} rows" in output
    # the default domain follows the slug; the custom one still belongs to the source, so it is skipped
    assert list(copy.domains.values_list("domain", "is_primary")) == [("bk-copy.localhost", True)]
    assert "people.bk.test" in output
    # structure: constraint and trigger names as in the source, the same migrations as the template
    assert _constraints("t_bk_copy") == _constraints(source.schema_name)
    assert ("organizations_membership", "membership_unique", "u") in _constraints("t_bk_copy")
    assert (
        _triggers("t_bk_copy")
        == _triggers(source.schema_name)
        == {
            ("activity_activityentry", "activity_append_only"),
            ("activity_activityentry", "activity_no_truncate"),
        }
    )
    with schema_context("t_bk_copy"):
        assert User.objects.get(email="o@bk.test").job_title == TRICKY_TITLE
        assert Organization.objects.filter(description=TRICKY_DESCRIPTION).count() == 1
        entry = ActivityEntry.objects.first()
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            ActivityEntry.objects.filter(pk=entry.pk).update(verb="user.updated")
    # the restored tenant answers on its own host, and the owner's password came along
    api = client_for(copy)
    token = login(api, "o@bk.test")["access"]
    me = client_for(copy, token).get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["email"] == "o@bk.test"
    connection.set_schema_to_public()
    assert ActivityEntry.objects.filter(verb="tenant.restored", target_repr="bk-copy").count() == 1


def test_a_tenant_restored_in_place_keeps_its_id_and_domains(source_backup):
    manifest = backup.read_manifest(source_backup)
    source = Tenant.objects.get(slug=SOURCE)
    Domain.objects.filter(tenant=source).delete()
    with connection.cursor() as cursor:  # what `tenants delete` leaves: no row, no schema
        cursor.execute(f'DROP SCHEMA "{source.schema_name}" CASCADE')
    Tenant.objects.filter(pk=source.pk).delete()

    _restore(source_backup, SOURCE)

    restored = Tenant.objects.get(slug=SOURCE)
    assert str(restored.pk) == manifest["tenant"]["id"]
    assert sorted(restored.domains.values_list("domain", "is_primary")) == [
        ("bk-src.localhost", True),
        ("people.bk.test", False),
    ]
    assert {t: rows for t, (rows, _) in _contents(restored.schema_name).items()} == manifest["row_counts"]


def test_restoring_onto_an_existing_slug_fails_with_one_line_and_exit_status_1(source_backup):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DJANGO_SETTINGS_MODULE": "p360.settings_test",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "tenants", "restore", str(source_backup), "--as", "alpha"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["CommandError: slug_taken: A tenant with the slug 'alpha' exists."]


def _rewrite(path: Path, target: Path, *, manifest=None, dump=None) -> Path:
    """A copy of a backup file with the manifest changed by `manifest(dict)` and the dump by `dump(bytes)`."""
    with tarfile.open(path) as archive:
        data = json.loads(archive.extractfile(backup.MANIFEST).read())
        body = archive.extractfile(backup.DUMP).read()
    if dump is not None:
        body = dump(body)
        data["dump"]["sha256"] = hashlib.sha256(body).hexdigest()
    if manifest is not None:
        manifest(data)
    with tarfile.open(target, "w") as archive:
        for name, content in ((backup.MANIFEST, json.dumps(data).encode()), (backup.DUMP, body)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return target


def _assert_nothing_restored(slug: str) -> None:
    assert not Tenant.objects.filter(slug=slug).exists()
    assert not Domain.objects.filter(domain=f"{slug}.localhost").exists()
    assert not schema_exists(f"t_{slug.replace('-', '_')}")
    assert not ActivityEntry.objects.filter(verb="tenant.restored", target_repr=slug).exists()


def _cut_short(body: bytes) -> bytes:
    """The dump as a full disk or a broken copy leaves it: the table of contents whole, the data cut off."""
    return body[: len(body) * 7 // 10]


def test_a_restore_that_fails_half_way_leaves_no_half_made_tenant(source_backup, tmp_path):
    damaged = _rewrite(source_backup, tmp_path / "damaged.tar", dump=_cut_short)

    with pytest.raises(CommandError, match=r"restore_failed: .*end of file") as error:
        _restore(damaged, "bk-broken")

    assert "\n" not in str(error.value)
    _assert_nothing_restored("bk-broken")


def test_a_restore_that_fails_at_the_last_step_rolls_back_schema_and_record(source_backup, tmp_path):
    def only_alphas_domain(manifest):
        manifest["tenant"]["domains"] = [{"domain": "alpha.localhost", "is_primary": True}]

    taken = _rewrite(source_backup, tmp_path / "taken.tar", manifest=only_alphas_domain)

    with pytest.raises(CommandError, match="domain_taken: every domain of the backup is in use"):
        _restore(taken, "bk-late")

    _assert_nothing_restored("bk-late")


def test_row_counts_that_differ_from_the_manifest_fail_the_restore(source_backup, tmp_path):
    def one_user_more(manifest):
        manifest["row_counts"]["users_user"] += 1

    wrong = _rewrite(source_backup, tmp_path / "wrong.tar", manifest=one_user_more)

    with pytest.raises(CommandError, match=r"restore_incomplete: .*users_user"):
        _restore(wrong, "bk-count")

    _assert_nothing_restored("bk-count")


def test_a_damaged_or_foreign_file_is_refused_before_anything_is_written(source_backup, tmp_path):
    body = source_backup.read_bytes()
    flipped = tmp_path / "flipped.tar"
    flipped.write_bytes(body[:-20000] + bytes([body[-20000] ^ 1]) + body[-19999:])
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")

    with pytest.raises(CommandError, match="backup_damaged"):
        _restore(flipped, "bk-flip")
    with pytest.raises(CommandError, match="backup_invalid"):
        _restore(not_a_backup, "bk-text")
    with pytest.raises(CommandError, match="file_missing"):
        _restore(tmp_path / "nowhere.tar", "bk-none")

    _assert_nothing_restored("bk-flip")
    _assert_nothing_restored("bk-text")


def test_a_backup_from_a_newer_p360_or_postgresql_is_refused(source_backup, tmp_path):
    def newer_migration(manifest):
        manifest["migrations"].append("users.9999_from_the_future")

    def newer_server(manifest):
        manifest["postgresql"]["server_major"] = 99

    with pytest.raises(CommandError, match=r"backup_newer_p360: .*users\.9999_from_the_future"):
        _restore(_rewrite(source_backup, tmp_path / "p360.tar", manifest=newer_migration), "bk-new")
    with pytest.raises(CommandError, match=r"backup_newer_postgresql: .*PostgreSQL 99"):
        _restore(_rewrite(source_backup, tmp_path / "pg.tar", manifest=newer_server), "bk-new")
    _assert_nothing_restored("bk-new")


def test_backup_refuses_an_existing_file_and_an_unknown_tenant(source_backup, tmp_path):
    existing = tmp_path / "existing.tar"
    existing.write_text("keep me")

    with pytest.raises(CommandError, match="file_exists"):
        call_command("tenants", "backup", "alpha", "-o", str(existing))
    with pytest.raises(CommandError, match="no tenant with the slug 'nobody'"):
        call_command("tenants", "backup", "nobody", "-o", str(tmp_path / "nobody.tar"))
    with pytest.raises(CommandError, match="directory_missing"):
        call_command("tenants", "backup", "alpha", "-o", str(tmp_path / "no" / "such" / "dir.tar"))

    assert existing.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.tar"]


def test_the_backup_file_holds_the_tenants_record_and_its_row_counts(source_backup):
    manifest = backup.read_manifest(source_backup)

    assert manifest["tenant"]["slug"] == SOURCE and manifest["tenant"]["name"] == "Backup Source"
    assert manifest["tenant"]["domains"] == [
        {"domain": "bk-src.localhost", "is_primary": True},
        {"domain": "people.bk.test", "is_primary": False},
    ]
    assert manifest["row_counts"]["users_user"] == 41
    assert manifest["postgresql"]["server_major"] == pgtools.server_major()
    with tarfile.open(source_backup) as archive:
        assert archive.getnames() == [backup.MANIFEST, backup.DUMP]


def test_client_programs_match_the_servers_major_version():
    major = pgtools.server_major()

    path, found = pgtools.program("pg_dump", at_least=major, prefer=major)

    assert found == major
    assert f"(PostgreSQL) {major}." in subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    with pytest.raises(pgtools.ClientProgramMissing, match="no pg_restore of PostgreSQL 99 or newer"):
        pgtools.program("pg_restore", at_least=99, prefer=99)
