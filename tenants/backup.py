"""Per-tenant backup and restore: one tenant's schema (pg_dump) and its platform record in one file.

A backup file is an uncompressed tar with two members, in this order:

- `manifest.json`: the format and its version, when and from which PostgreSQL it was taken, the tenant's
  record (id, slug, name, status, schema, created_at, domains), the schema's applied migrations, the row
  count of every table, and the size and SHA-256 of the dump;
- `tenant.pgdump`: `pg_dump --format=custom --schema=<schema> --no-owner --no-privileges`.

The record, the counts and the dump come from one snapshot (pg_dump --snapshot), so they agree even while
the tenant is in use. Restoring replays the dump under the new slug's schema, registers the tenant and its
domains and checks every table's row count against the manifest, all in one transaction: a restore that
fails leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import signal
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

from activity.services import activity_record
from p360.actors import Actor
from p360.api.problems import Conflict, Problem
from tenants import pgtools
from tenants.models import Domain, Tenant, schema_name_for
from tenants.services import domain_is_free, validate_new_slug

FORMAT = "p360-tenant-backup"
VERSION = 1
MANIFEST = "manifest.json"
DUMP = "tenant.pgdump"
_CHUNK = 1 << 20


class BackupError(Problem):
    default_code = "backup_failed"
    title = "Backup failed"


class RestoreError(Problem):
    default_code = "restore_failed"
    title = "Restore failed"


@dataclass
class BackupSummary:
    path: Path
    bytes: int
    tables: int
    rows: int


@dataclass
class RestoreSummary:
    tenant: Tenant
    domains: list[str]
    skipped_domains: list[str] = field(default_factory=list)
    rows: int = 0
    migrated: bool = False


# --- backup ---


def tenant_backup(*, actor: Actor, tenant: Tenant, path: Path) -> BackupSummary:
    """Writes the tenant's backup to `path` (which must not exist; written under a temporary name first)."""
    path = Path(path)
    if path.exists():
        raise Conflict(f"{path} exists: choose another file name", "file_exists")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a directory", "directory_missing")
    major = pgtools.server_major()
    pg_dump, _ = pgtools.program("pg_dump", at_least=major, prefer=major)
    partial = path.with_name(path.name + ".partial")
    try:
        with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
            dump = Path(scratch) / DUMP
            manifest = _dump_in_one_snapshot(tenant, pg_dump, dump)
            _write_archive(partial, manifest, dump)
        with transaction.atomic():
            activity_record(
                verb="tenant.backed_up",
                actor=actor,
                metadata={"file": path.name, "rows": sum(manifest["row_counts"].values())},
                target_type="tenant",
                target_id=tenant.pk,
                target_repr=tenant.slug,
            )
            partial.replace(path)
    except OSError as exc:
        raise BackupError(f"{path} cannot be written: {exc.strerror or exc}", "file_unwritable") from None
    except psycopg.Error as exc:
        raise BackupError(f"database unavailable: {_first_line(str(exc))}", "database_unavailable") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupSummary(
        path=path,
        bytes=path.stat().st_size,
        tables=len(manifest["row_counts"]),
        rows=sum(manifest["row_counts"].values()),
    )


def _dump_in_one_snapshot(tenant: Tenant, pg_dump: Path, dump: Path) -> dict:
    with psycopg.connect(**pgtools.libpq_settings(), application_name="p360-backup") as snapshot:
        snapshot.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot_id = snapshot.execute("SELECT pg_export_snapshot()").fetchone()[0]
        manifest = _manifest(snapshot, tenant.pk)
        result = subprocess.run(
            [
                str(pg_dump),
                "--format=custom",
                f'--schema="{manifest["tenant"]["schema"]}"',
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot_id}",
                f"--file={dump}",
            ],
            env=pgtools.libpq_environment(),
            capture_output=True,
            text=True,
        )
        snapshot.rollback()
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {_first_line(result.stderr)}")
    manifest["postgresql"]["pg_dump"] = _version_of(pg_dump)
    manifest["dump"] = {"member": DUMP, "bytes": dump.stat().st_size, "sha256": _sha256(dump)}
    return manifest


def _manifest(snapshot: psycopg.Connection, tenant_id) -> dict:
    row = snapshot.execute(
        "SELECT slug, name, status, schema_name, created_at FROM public.tenants_tenant WHERE id = %s", [tenant_id]
    ).fetchone()
    if row is None:
        raise BackupError("the tenant was deleted before its backup began", "tenant_gone")
    slug, name, status, schema, created_at = row
    domains = snapshot.execute(
        "SELECT domain, is_primary FROM public.tenants_domain WHERE tenant_id = %s ORDER BY is_primary DESC, domain",
        [tenant_id],
    ).fetchall()
    tables = [
        r[0]
        for r in snapshot.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind IN ('r', 'p')"
            " ORDER BY relname",
            [schema],
        )
    ]
    counts = {t: snapshot.execute(f'SELECT count(*) FROM "{schema}"."{t}"').fetchone()[0] for t in tables}
    migrations = snapshot.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY app, name').fetchall()
    server = snapshot.execute("SHOW server_version").fetchone()[0]
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "base_domain": settings.P360_BASE_DOMAIN,
        "tenant": {
            "id": str(tenant_id),
            "slug": slug,
            "name": name,
            "status": status,
            "schema": schema,
            "created_at": created_at.isoformat(),
            "domains": [{"domain": d, "is_primary": p} for d, p in domains],
        },
        "postgresql": {"server": server.split()[0], "server_major": snapshot.info.server_version // 10000},
        "migrations": [f"{app}.{name}" for app, name in migrations],
        "row_counts": counts,
    }


def _write_archive(path: Path, manifest: dict, dump: Path) -> None:
    body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    with tarfile.open(path, "x", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(body), int(datetime.now(UTC).timestamp()), 0o600
        archive.addfile(info, io.BytesIO(body))
        archive.add(dump, arcname=DUMP, recursive=False)


# --- restore ---


def read_manifest(path: Path) -> dict:
    """The manifest of a backup file, checked for format and version (a RestoreError otherwise)."""
    try:
        with tarfile.open(path, "r:") as archive:
            member = archive.extractfile(MANIFEST)
            manifest = json.loads(member.read()) if member is not None else None
    except FileNotFoundError:
        raise RestoreError(f"{path}: no such file", "file_missing") from None
    except (tarfile.TarError, KeyError, OSError, ValueError) as exc:
        raise RestoreError(f"{path} is not a P360 tenant backup ({exc})", "backup_invalid") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RestoreError(f"{path} is not a P360 tenant backup", "backup_invalid")
    if manifest.get("version") != VERSION:
        raise RestoreError(
            f"{path} is a backup of format version {manifest.get('version')}; this P360 reads version {VERSION}",
            "backup_version",
        )
    return manifest


def tenant_restore(*, actor: Actor, path: Path, slug: str | None = None) -> RestoreSummary:
    """Restores a backup file as the tenant `slug` (default: the slug it was taken from), which must not exist.

    The schema gets the new slug's name; the default domain follows the slug; the backup's other domains
    are kept where no tenant uses them. Migrations newer than the backup are applied afterwards."""
    path = Path(path)
    manifest = read_manifest(path)
    source = manifest["tenant"]
    slug = (slug or source["slug"]).strip().lower()
    pending = _check_compatible(manifest)
    major = pgtools.server_major()
    pg_restore, _ = pgtools.program("pg_restore", at_least=_major_of(manifest["postgresql"]["pg_dump"]), prefer=major)
    with tempfile.TemporaryDirectory() as scratch:
        dump = _extract_dump(path, manifest, Path(scratch))
        summary = _restore_in_one_transaction(actor, manifest, dump, pg_restore, slug)
    connection.set_schema_to_public()
    if pending:
        from django.core.management import call_command

        call_command("migrate_schemas", schema_name=summary.tenant.schema_name, interactive=False, verbosity=0)
        summary.migrated = True
    return summary


def _check_compatible(manifest: dict) -> bool:
    """True when the backup lacks migrations that this P360 has (applied after the restore)."""
    major = pgtools.server_major()
    if manifest["postgresql"]["server_major"] > major:
        raise RestoreError(
            f"the backup was taken on PostgreSQL {manifest['postgresql']['server_major']}; "
            f"this server runs {major}: restore it into PostgreSQL {manifest['postgresql']['server_major']} or newer",
            "backup_newer_postgresql",
        )
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    in_backup = {tuple(m.split(".", 1)) for m in manifest["migrations"]}
    unknown = sorted(in_backup - known)
    if unknown:
        names = ", ".join(f"{app}.{name}" for app, name in unknown[:5])
        raise RestoreError(
            f"the backup has migrations this P360 does not know ({names}): restore it with a newer P360",
            "backup_newer_p360",
        )
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{settings.TENANT_BASE_SCHEMA}".django_migrations')
        current = set(cursor.fetchall())
    return bool(current - in_backup)


def _extract_dump(path: Path, manifest: dict, scratch: Path) -> Path:
    target = scratch / DUMP
    digest = hashlib.sha256()
    try:
        with tarfile.open(path, "r:") as archive:
            member = archive.extractfile(DUMP)
            if member is None:
                raise KeyError(DUMP)
            with target.open("wb") as out:
                while chunk := member.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    except (tarfile.TarError, KeyError, OSError) as exc:
        raise RestoreError(f"{path}: the dump cannot be read ({exc})", "backup_invalid") from None
    if digest.hexdigest() != manifest["dump"]["sha256"]:
        raise RestoreError(f"{path}: the dump does not match its checksum (damaged file)", "backup_damaged")
    return target


@transaction.atomic
def _restore_in_one_transaction(
    actor: Actor, manifest: dict, dump: Path, pg_restore: Path, slug: str
) -> RestoreSummary:
    source = manifest["tenant"]
    validate_new_slug(slug, source["name"])
    schema = schema_name_for(slug)
    counts = _replay(pg_restore, dump, source=source["schema"], target=schema)
    expected = manifest["row_counts"]
    if counts != expected:
        differing = sorted(t for t in set(counts) | set(expected) if counts.get(t) != expected.get(t))
        raise RestoreError(
            f"restored row counts differ from the backup's in {', '.join(differing[:5])}: nothing was restored",
            "restore_incomplete",
        )
    connection.set_schema_to_public()
    tenant = _register(manifest, slug, schema)
    domains, skipped = _register_domains(manifest, tenant)
    activity_record(
        verb="tenant.restored",
        actor=actor,
        metadata={
            "from_slug": source["slug"],
            "from_schema": source["schema"],
            "backup_created_at": manifest["created_at"],
            "domains": domains,
            "skipped_domains": skipped,
        },
        target_type="tenant",
        target_id=tenant.pk,
        target_repr=tenant.slug,
    )
    return RestoreSummary(tenant=tenant, domains=domains, skipped_domains=skipped, rows=sum(counts.values()))


def _register(manifest: dict, slug: str, schema: str) -> Tenant:
    source = manifest["tenant"]
    same_id_free = not Tenant.objects.filter(pk=source["id"]).exists()
    tenant = Tenant(slug=slug, name=source["name"], status=source["status"], schema_name=schema)
    if same_id_free:
        tenant.pk = source["id"]  # a tenant restored in place keeps its id, and so its platform history
    tenant.auto_create_schema = False  # the schema comes from the dump
    tenant.save(verbosity=0)
    return tenant


def _register_domains(manifest: dict, tenant: Tenant) -> tuple[list[str], list[str]]:
    source = manifest["tenant"]
    old_default = f"{source['slug']}.{manifest['base_domain']}"
    wanted = []
    for entry in source["domains"] or [{"domain": old_default, "is_primary": True}]:
        domain = f"{tenant.slug}.{settings.P360_BASE_DOMAIN}" if entry["domain"] == old_default else entry["domain"]
        wanted.append((domain, entry["is_primary"]))
    kept = [(d, primary) for d, primary in wanted if domain_is_free(d)]
    skipped = [d for d, _ in wanted if (d, True) not in kept and (d, False) not in kept]
    if not kept:
        raise RestoreError(
            f"every domain of the backup is in use ({', '.join(skipped)}): nothing was restored", "domain_taken"
        )
    if not any(primary for _, primary in kept):
        kept[0] = (kept[0][0], True)
    for domain, primary in kept:
        Domain.objects.create(domain=domain, tenant=tenant, is_primary=primary)
    return [d for d, _ in kept], skipped


# --- replaying a dump under another schema name ---

_COPY = re.compile(r"^COPY (\S+) (\(.*\) )?FROM stdin;$")
_SET = re.compile(r"^SET (\w+) = ")
_SET_CONFIG = re.compile(r"^(SELECT pg_catalog\.set_config\('[\w.]+', '.*', )false(\);)$")


def _replay(pg_restore: Path, dump: Path, *, source: str, target: str) -> dict[str, int]:
    """Runs the dump's SQL (from pg_restore, as text) on Django's connection with `source` renamed to `target`.
    Returns {table: rows copied}. Session settings of the dump are made transaction-local."""
    qualifier = re.compile(rf'(?<![\w$"]){re.escape(source)}(?=\.)')
    rename = lambda text: qualifier.sub(target, text)  # noqa: E731
    counts: dict[str, int] = {}
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [str(pg_restore), "--no-owner", "--no-privileges", "--file=-", str(dump)],
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        try:
            with connection.cursor() as cursor:
                created = _run_script(cursor, process.stdout, rename, counts, source=source, target=target)
        except Exception as exc:
            process.kill()
            raise RestoreError(
                f"the dump could not be replayed: {_failure(process, errors) or _first_line(str(exc))}"
            ) from exc
        finally:
            process.stdout.close()
        failure = _failure(process, errors)
    if failure:
        raise RestoreError(f"pg_restore failed: {failure}")
    if not created:
        raise RestoreError(f"the dump does not create the schema {source}", "backup_invalid")
    return counts


def _failure(process: subprocess.Popen, errors) -> str:
    """pg_restore's first error line when it failed (or was stopped), else ''."""
    status = process.wait()
    errors.seek(0)
    message = _first_line(errors.read().decode(errors="replace"))
    if status == 0:
        return ""
    if status == -signal.SIGKILL:  # stopped here after a database error: its own error, if any, came first
        return message
    return message or f"exited with status {status}"


def _run_script(cursor, lines, rename, counts: dict, *, source: str, target: str) -> bool:
    """Executes the script's statements and COPYs; True when it created the schema."""
    statements: list[str] = []
    created_schema = False
    for raw in lines:
        line = raw.decode()
        if line.startswith("\\"):  # psql meta-commands (\restrict, \unrestrict) are not SQL
            continue
        stripped = line.rstrip("\n")
        copy = _COPY.match(stripped)
        if copy:
            _execute(cursor, statements)
            statements = []
            table = rename(copy.group(1))
            counts[table.split(".", 1)[1]] = _copy(cursor, rename(stripped[: -len(";")]), lines)
            continue
        if stripped == f"CREATE SCHEMA {source};":
            line, created_schema = f"CREATE SCHEMA {target};\n", True
        else:
            line = _SET.sub(r"SET LOCAL \1 = ", line)
            line = _SET_CONFIG.sub(r"\1true\2", line.rstrip("\n")) + "\n"
            line = rename(line)
        statements.append(line)
    _execute(cursor, statements)
    return created_schema


def _execute(cursor, statements: list[str]) -> None:
    sql = "".join(statements).strip()
    if sql:
        cursor.execute(sql)


def _copy(cursor, statement: str, lines) -> int:
    rows, size, block = 0, 0, []
    with cursor.copy(statement) as copy:
        for line in lines:
            if line == b"\\.\n":
                break
            block.append(line)
            rows, size = rows + 1, size + len(line)
            if size >= _CHUNK:
                copy.write(b"".join(block))
                size, block = 0, []
        else:
            raise RestoreError("the dump ends inside a table's data", "backup_damaged")
        copy.write(b"".join(block))
    return rows


# --- helpers ---


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _version_of(program: Path) -> str:
    output = subprocess.run([str(program), "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"\(PostgreSQL\) ([\d.]+)", output)
    return match.group(1) if match else "unknown"


def _major_of(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""
