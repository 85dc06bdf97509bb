"""CSV import end to end: POST /api/v1/users/import over HTTP against gunicorn, and the import_users
command, in the benchmark's own database (bench/owndb.py).

    python bench/import_bench.py [--rows 50000] [--runs 3] [--json-out bench/out/import_bench.json]

Each run imports `--rows` new people (deterministic names from tenants/demo.py, a job title, a phone, 0-2
of 10 organizations each) into a freshly created tenant, after a CHECKPOINT (so that what ran before, the
previous run's tenant dropped or the benchmarks before this one, is not flushed inside it): parsing,
validation of every row, the users, their memberships and one activity entry each. HTTP: gunicorn (the
repo's gunicorn.conf.py: 2 workers of 4 threads; DEBUG off, throttling off), the owner's token, one multipart
upload; the time is the client's, from the first byte sent to the response, checked (`created` == rows, and
the rows and entries counted in the database): rows per second of the median run is the headline, measured
against the 10,000 rows/s target.
Command: `manage.py import_users` in a new process, Django's start included (reported, not held to the target).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from owndb import Gunicorn, manage, prepare, print_rows, write_json

PASSWORD = "bench-Owner-Password-1"
ORGANIZATIONS = [f"team-{n}" for n in range(10)]


def _csv(rows: int) -> bytes:
    from tenants.demo import people

    rng = random.Random(rows)  # noqa: S311 (deterministic data, not secrets)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "first_name", "last_name", "role", "job_title", "phone", "organizations"])
    for person in people(rows, "import.bench"):
        writer.writerow(
            [
                person["email"],
                person["first_name"],
                person["last_name"],
                "admin" if rng.random() < 0.05 else "member",
                person["job_title"],
                f"+1 555 {rng.randrange(10**7):07d}",
                ";".join(rng.sample(ORGANIZATIONS, rng.randrange(3))),
            ]
        )
    return out.getvalue().encode()


def _fresh_tenant(slug: str):
    from django_tenants.utils import schema_context

    from organizations.services import organization_create
    from p360.actors import CLI
    from tenants.models import Tenant
    from tenants.services import tenant_create, tenant_delete

    for old in Tenant.objects.filter(slug=slug):
        tenant_delete(actor=CLI, tenant=old)
    tenant, _owner = tenant_create(
        actor=CLI, slug=slug, name=slug, owner_email=f"owner@{slug}.bench", owner_password=PASSWORD
    )
    with schema_context(tenant.schema_name):
        for name in ORGANIZATIONS:
            organization_create(actor=CLI, name=name.replace("-", " ").title(), slug=name)
    return tenant


def _checkpoint() -> None:
    """A CHECKPOINT before a timed run, so that what earlier steps left to write (a dropped tenant, the
    benchmarks before this one) is not flushed inside it; skipped without the right to."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as exc:
        print(f"  (no CHECKPOINT before the run: {exc})", file=sys.stderr)


def _counts(tenant) -> tuple[int, int]:
    from django_tenants.utils import schema_context

    from activity.models import ActivityEntry
    from users.models import User

    with schema_context(tenant.schema_name):
        return User.objects.count() - 1, ActivityEntry.objects.filter(verb="user.invited").count()


def _request(port: int, host: str, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request(method, path, body=body or None, headers={"Host": host, **(headers or {})})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload


def _http_run(port: int, tenant, raw: bytes, rows: int) -> float:
    host = f"{tenant.slug}.localhost"
    credentials = json.dumps({"email": f"owner@{tenant.slug}.bench", "password": PASSWORD}).encode()
    status, body = _request(port, host, "POST", "/api/v1/auth/token", credentials, {"Content-Type": "application/json"})
    if status != 200:
        raise SystemExit(f"login failed: {status} {body[:300]!r}")
    token = json.loads(body)["access"]
    boundary = "p360-bench-boundary"
    upload = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="people.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n".encode()
        + raw
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    started = time.perf_counter()
    status, body = _request(port, host, "POST", "/api/v1/users/import", upload, headers)
    elapsed = time.perf_counter() - started
    if status != 200 or json.loads(body).get("created") != rows:
        raise SystemExit(f"import failed: {status} {body[:500]!r}")
    if _counts(tenant) != (rows, rows):
        raise SystemExit(f"expected {rows} users and entries, found {_counts(tenant)}")
    return elapsed


def _command_run(tenant, path: Path, rows: int) -> float:
    started = time.perf_counter()
    done = manage("import_users", "--tenant", tenant.slug, str(path), "--json", check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or json.loads(done.stdout.strip().splitlines()[-1]).get("created") != rows:
        raise SystemExit(f"import_users failed:\n{done.stdout[-1000:]}\n{done.stderr[-2000:]}")
    if _counts(tenant) != (rows, rows):
        raise SystemExit(f"expected {rows} users and entries, found {_counts(tenant)}")
    return elapsed


def _row(name: str, times: list[float], rows: int, note: str, *, headline: bool) -> dict:
    rate = rows / statistics.median(times)
    return {
        "name": name,
        "value": round(rate),
        "unit": "rows/s",
        "target": ">= 10000" if headline else None,
        "met": rate >= 10_000 if headline else None,
        "note": f"{rows:,} rows; median of {len(times)} ({', '.join(f'{t:.2f}' for t in times)} s); {note}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-command", action="store_true", help="HTTP only")
    parser.add_argument("--json-out")
    args = parser.parse_args()

    prepare("import_bench")
    raw = _csv(args.rows)
    print(f"{args.rows:,} rows, {len(raw):,} bytes", file=sys.stderr)

    server = Gunicorn(env={"P360_WORKERS": "2"})  # as shipped (gunicorn.conf.py), two workers
    port = server.port
    try:
        http_times = []
        for run in range(args.runs):
            tenant = _fresh_tenant("bench-import")
            _checkpoint()
            http_times.append(_http_run(port, tenant, raw, args.rows))
            print(f"  HTTP run {run + 1}: {http_times[-1]:.2f} s", file=sys.stderr)
    finally:
        server.stop()
    rows = [
        _row(
            "CSV import, POST /api/v1/users/import (HTTP, gunicorn)",
            http_times,
            args.rows,
            "upload to response: parse, validate every row, users, memberships, one activity entry each",
            headline=True,
        )
    ]
    if not args.no_command:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "people.csv"
            path.write_bytes(raw)
            command_times = []
            for run in range(args.runs):
                tenant = _fresh_tenant("bench-import")
                _checkpoint()
                command_times.append(_command_run(tenant, path, args.rows))
                print(f"  command run {run + 1}: {command_times[-1]:.2f} s", file=sys.stderr)
        rows.append(
            _row(
                "CSV import, manage.py import_users",
                command_times,
                args.rows,
                "a new process each run: Django's start and reading the file included",
                headline=False,
            )
        )
    from p360.actors import CLI
    from tenants.models import Tenant
    from tenants.services import tenant_delete

    for tenant in Tenant.objects.filter(slug="bench-import"):
        tenant_delete(actor=CLI, tenant=tenant)
    print_rows(rows)
    write_json(args.json_out, rows, ("python bench/import_bench.py " + " ".join(sys.argv[1:])).strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
