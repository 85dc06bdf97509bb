"""Tenant provisioning (template clone against django-tenants' migration replay) and migrate_schemas with
nothing to do on 1,000 tenants, in the benchmark's own database (bench/owndb.py).

    python bench/tenants_bench.py [--tenants 1000] [--rounds 5] [--json-out bench/out/tenants_bench.json]

Provisioning: `tenants.services.tenant_create` end to end (validation, tenant row, schema, domain, owner,
activity), once with the schema cloned from the template (P360's way) and once with
TENANT_CREATION_FAKES_MIGRATIONS off, which is django-tenants' way: an empty schema and the project's full
migration set replayed into it. The two alternate, `--rounds` times each, in one run; each tenant is deleted
again. The ratio of the medians is the headline.

migrate_schemas: `manage.py migrate_schemas --noinput` as an operator runs it (a new process: Django's
start included), wall time, median of 3, on the public schema, the template and `--tenants` tenants (made
once by tenant_create and kept in the benchmark database). `--all-schemas-reference` also times
`migrate_schemas --all-schemas` once (Django's migrate in every schema, as django-tenants runs it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from owndb import manage, prepare, print_rows, write_json

SLUG = "bench-t{:04d}"


def _ensure_tenants(count: int) -> float:
    """Creates the missing bench tenants; returns the seconds spent (0 when they all exist)."""
    from p360.actors import CLI
    from tenants.models import Tenant
    from tenants.services import tenant_create

    have = set(Tenant.objects.filter(slug__startswith="bench-t").values_list("slug", flat=True))
    missing = [SLUG.format(n) for n in range(count) if SLUG.format(n) not in have]
    started = time.perf_counter()
    for done, slug in enumerate(missing, start=1):
        tenant_create(actor=CLI, slug=slug, name=slug, owner_email=f"owner@{slug}.bench")
        if done % 100 == 0:
            print(f"  {done}/{len(missing)} tenants created", file=sys.stderr)
    return time.perf_counter() - started if missing else 0.0


def _provision(rounds: int) -> tuple[list[float], list[float]]:
    from django.test.utils import override_settings

    from p360.actors import CLI
    from tenants.models import Tenant
    from tenants.services import tenant_create, tenant_delete

    for leftover in Tenant.objects.filter(slug__startswith="bench-prov-"):
        tenant_delete(actor=CLI, tenant=leftover)
    clone, replay = [], []
    for n in range(rounds):
        for way, times in (("clone", clone), ("replay", replay)):
            slug = f"bench-prov-{way}-{n}"
            with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=way == "clone"):
                started = time.perf_counter()
                tenant, _owner = tenant_create(actor=CLI, slug=slug, name=slug, owner_email=f"owner@{slug}.bench")
                times.append(time.perf_counter() - started)
            tenant_delete(actor=CLI, tenant=tenant)
    return clone, replay


def _migrate_noop(schemas: int, runs: int = 3) -> tuple[list[float], str]:
    times, out = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        done = manage("migrate_schemas", "--noinput")
        times.append(time.perf_counter() - started)
        out = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if f"{schemas} of {schemas} schemas have every migration." not in done.stdout:
            raise SystemExit(f"migrate_schemas did work or failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return times, out


def _platform_admin(tenants: int) -> list[dict]:
    """The platform admin's tenants changelist with every tenant, signed in as platform staff, under the shipped
    configuration (bench/admin_bench.py's timing)."""
    from admin_bench import Session, timed_pages
    from django.db import connection
    from owndb import Gunicorn

    from users.models import User

    email, password = "ops@platform.bench", "p360-bench-platform-staff"
    connection.set_schema_to_public()
    if not User.objects.filter(email=email).exists():
        User.objects.create_superuser(email, password, first_name="Platform", last_name="Ops")
    connection.close()
    server = Gunicorn()
    try:
        session = Session(server.port, host="localhost")
        session.login(email, password)
        tenants_list = "/admin/tenants/tenant/"
        pages = [
            (f"tenants changelist ({tenants:,} tenants)", tenants_list),
            ("tenants search ?q=bench-t05", tenants_list + "?q=bench-t05"),
            ("tenants filter ?status__exact=active", tenants_list + "?status__exact=active"),
            ("tenants page 10 (?p=10)", tenants_list + "?p=10"),
            ("tenants sorted by name, descending (?o=-2)", tenants_list + "?o=-2"),
            ("platform staff changelist", "/admin/users/user/"),
        ]
        return timed_pages(session, pages, 7, "platform admin")
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7, help="provisioning rounds (each: one clone, one replay)")
    parser.add_argument("--all-schemas-reference", action="store_true")
    parser.add_argument("--json-out")
    args = parser.parse_args()

    prepare("tenants_bench")
    from tenants.models import Tenant

    created = _ensure_tenants(args.tenants)
    tenants = Tenant.objects.exclude(schema_name="public").count()
    schemas = tenants + 2  # public and the template

    clone, replay = _provision(args.rounds)
    noop, summary = _migrate_noop(schemas)
    admin_rows = _platform_admin(tenants)
    ratio = statistics.median(replay) / statistics.median(clone)
    rows = [
        {
            "name": "tenant provisioning: template clone (tenant_create)",
            "value": round(statistics.median(clone) * 1000, 1),
            "unit": "ms",
            "target": None,
            "met": None,
            "note": f"median of {args.rounds}: " + ", ".join(f"{t * 1000:.0f}" for t in clone) + " ms",
        },
        {
            "name": "tenant provisioning: migration replay (django-tenants)",
            "value": round(statistics.median(replay) * 1000, 1),
            "unit": "ms",
            "target": None,
            "met": None,
            "note": f"median of {args.rounds}, alternating with the clone: "
            + ", ".join(f"{t * 1000:.0f}" for t in replay)
            + " ms",
        },
        {
            "name": "tenant provisioning speed-up: replay / clone",
            "value": round(ratio, 1),
            "unit": "x",
            "target": ">= 5",
            "met": ratio >= 5,
            "note": "the same tenant_create, the project's full migration set, one run",
        },
        {
            "name": f"migrate_schemas with nothing to do, {tenants:,} tenants",
            "value": round(statistics.median(noop), 2),
            "unit": "s",
            "target": "<= 60",
            "met": statistics.median(noop) <= 60,
            "note": f"median of {len(noop)} runs ({', '.join(f'{t:.2f}' for t in noop)} s), new process each; "
            f"{summary!r}",
        },
    ]
    rows += admin_rows
    if created:
        rows.append(
            {
                "name": f"(setup) tenants created by clone this run: {tenants:,}",
                "value": round(created, 1),
                "unit": "s",
                "target": None,
                "met": None,
                "note": "made once, reused by later runs",
            }
        )
    if args.all_schemas_reference:
        started = time.perf_counter()
        manage("migrate_schemas", "--noinput", "--all-schemas", "-v", "0")
        full = time.perf_counter() - started
        rows.append(
            {
                "name": f"reference: migrate_schemas --all-schemas, {tenants:,} tenants",
                "value": round(full, 1),
                "unit": "s",
                "target": None,
                "met": None,
                "note": "Django's migrate in every schema, as django-tenants runs it",
            }
        )
    print_rows(rows)
    command = "python bench/tenants_bench.py " + " ".join(sys.argv[1:])
    write_json(args.json_out, rows, command.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
