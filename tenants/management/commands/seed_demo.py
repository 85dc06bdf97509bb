"""manage.py seed_demo: a demo tenant with an owner, realistic people, organizations, memberships and activity.

Safe to run again (people have deterministic emails; existing ones are kept; `--activity N` tops the log up
to N entries). People go in by COPY into a temporary table and one INSERT ... ON CONFLICT, activity entries
by COPY straight into the (append-only) log, so a million of each takes seconds to minutes, not hours.
"""

from __future__ import annotations

import ipaddress
import json
import random
import sys
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from organizations.models import Organization
from p360.actors import CLI
from p360.commands import OperatorCommand
from tenants import services
from tenants.demo import people
from tenants.models import Tenant
from users.models import UserRole, UserStatus

DEMO_PASSWORD = "p360-demo-owner"
COLUMNS = (
    "id", "email", "first_name", "last_name", "role", "status", "job_title", "phone", "timezone", "locale",
    "is_staff", "is_superuser", "token_version", "password", "last_login", "created_at", "updated_at",
)  # fmt: skip
STATUSES = [UserStatus.ACTIVE] * 16 + [UserStatus.INVITED] * 2 + [UserStatus.SUSPENDED, UserStatus.DEACTIVATED]
ROLES = [UserRole.MEMBER] * 19 + [UserRole.ADMIN]
ACTIVITY_COLUMNS = (
    "id", "occurred_at", "actor_id", "actor_type", "verb", "target_type", "target_id", "target_repr", "subject_ids",
    "changes", "metadata", "ip", "user_agent", "request_id",
)  # fmt: skip
# Roughly how often each happens: logins dominate, then profile edits and memberships.
ACTIVITY_VERBS = (
    ["auth.login"] * 10 + ["auth.logout"] * 3 + ["auth.login_failed"] + ["user.updated"] * 3 + ["user.created"] * 2
    + ["user.invited", "user.suspended", "user.activated", "user.role_changed"]
    + ["membership.added"] * 2 + ["membership.removed", "organization.updated", "organization.created"]
)  # fmt: skip
JOB_CHANGES = ["Senior Engineer", "Team Lead", "Staff Designer", "Director", "Principal Analyst"]
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
TEAMS = [
    "Engineering",
    "Sales",
    "Marketing",
    "Support",
    "Finance",
    "People",
    "Research",
    "Operations",
    "Legal",
    "Design",
]


class Command(OperatorCommand):
    help = "Create (or top up) a demo tenant with an owner, realistic people, organizations and memberships."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="demo", help="Tenant slug (default: demo).")
        parser.add_argument("--users", type=int, default=25, help="How many people besides the owner.")
        parser.add_argument("--owner-email", default=None, help="Default: owner@{tenant}.{P360_BASE_DOMAIN}.")
        parser.add_argument("--owner-password", default=DEMO_PASSWORD)
        parser.add_argument("--port", type=int, default=8000, help="Port shown in the printed URLs.")
        parser.add_argument(
            "--activity", type=int, default=0, help="Top the activity log up to this many entries (default: none)."
        )

    def handle(self, *args, tenant, users, owner_email, owner_password, port, activity, **options):
        owner_email = owner_email or f"owner@{tenant}.{settings.P360_BASE_DOMAIN}"
        existing = Tenant.objects.filter(slug=tenant).first()
        if existing is None:
            existing, _owner = services.tenant_create(
                actor=CLI,
                slug=tenant,
                name=f"{tenant.title()} Inc.",
                owner_email=owner_email,
                owner_first_name="Demo",
                owner_last_name="Owner",
                owner_password=owner_password,
            )
        domain = existing.domains.order_by("-is_primary", "domain").first().domain
        started = time.monotonic()
        with schema_context(existing.schema_name):
            added = self._people(users, domain)
            self._organizations(users)
            entries = self._activity(activity) if activity > 0 else 0
            with connection.cursor() as cursor:  # fresh statistics, or the planner guesses from an empty table
                cursor.execute(
                    "ANALYZE users_user, organizations_organization, organizations_membership, activity_activityentry"
                )
        self.stderr.write(
            f"seeded {existing.slug}: {added} people added"
            + (f", {entries} activity entries added" if activity > 0 else "")
            + f" in {time.monotonic() - started:.1f}s"
        )
        self._print_login(existing, domain, port, owner_email, owner_password)

    def _print_login(self, tenant, domain, port, owner_email, owner_password):
        base = f"http://{domain}:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"P360 demo tenant '{tenant.slug}'",
                    f"  API    {base}/api/v1/",
                    f"  Docs   {base}/api/docs/",
                    f"  Admin  {base}/admin/",
                    f"  Login  {owner_email} / {owner_password}",
                    "  Try    curl -s " + base + "/api/v1/auth/token -H 'Content-Type: application/json' \\",
                    f'           -d \'{{"email": "{owner_email}", "password": "{owner_password}"}}\'',
                    "",
                ]
            )
        )

    def _progress(self, done: int, total: int) -> None:
        if total >= 50_000 and (done % 100_000 == 0 or done == total):
            self.stderr.write(f"  {done:,}/{total:,} people")
            sys.stderr.flush()

    def _rows(self, count: int, domain: str):
        rng = random.Random(count)
        password = make_password(DEMO_PASSWORD)  # one hash for all: seeding stays fast
        now = timezone.now()
        for index, person in enumerate(people(count, domain)):
            status = rng.choice(STATUSES)
            created = now - timedelta(seconds=rng.randrange(2 * 365 * 86400))
            login = (
                created + timedelta(seconds=rng.randrange(max(1, int((now - created).total_seconds()))))
                if status == UserStatus.ACTIVE and rng.random() < 0.8
                else None
            )
            yield (
                uuid.UUID(int=rng.getrandbits(128), version=4), person["email"], person["first_name"],
                person["last_name"],
                rng.choice(ROLES), status, person["job_title"], "", "UTC", "en", False, False, 0,
                password if status != UserStatus.INVITED else "!", login, created, created,
            )  # fmt: skip
            self._progress(index + 1, count)

    @transaction.atomic
    def _people(self, count: int, domain: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS seed_users")
            cursor.execute("CREATE TEMP TABLE seed_users (LIKE users_user INCLUDING DEFAULTS) ON COMMIT DROP")
            with cursor.cursor.copy(f"COPY seed_users ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in self._rows(count, domain):
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO users_user ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM seed_users"
                " ON CONFLICT ((lower(email))) DO NOTHING"
            )
            return cursor.rowcount

    @transaction.atomic
    def _organizations(self, count: int) -> None:
        """Departments with teams under them (~1 organization per 1,000 people), and memberships."""
        if Organization.objects.exists():
            return
        wanted = max(10, min(1000, count // 1000))
        departments = [Organization.objects.create(name=name, slug=name.lower()) for name in TEAMS]
        for n in range(wanted - len(departments)):
            parent = departments[n % len(departments)]
            Organization.objects.create(
                name=f"{parent.name} Team {n + 1}",
                slug=f"{parent.slug}-team-{n + 1}",
                parent=parent,
                ancestors=[parent.pk],
            )
        with connection.cursor() as cursor:
            # everyone but the deactivated joins one team; one in fifty joins a second one as its admin
            cursor.execute(
                "INSERT INTO organizations_membership (id, user_id, organization_id, role, joined_at, updated_at)"
                " SELECT gen_random_uuid(), u.id, o.id,"
                "        CASE WHEN u.n %% 50 = 0 THEN 'admin' ELSE 'member' END, u.created_at, u.created_at"
                " FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS n"
                "       FROM users_user WHERE status <> 'deactivated') u"
                " JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM organizations_organization) o"
                "   ON o.k = u.n %% %s"
                " ON CONFLICT DO NOTHING",
                [wanted],
            )

    # --- activity ---

    @transaction.atomic
    def _activity(self, wanted: int) -> int:
        """Entries spread over the last two years, by COPY (the log's trigger refuses UPDATE/DELETE, not INSERT)."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM activity_activityentry")
            missing = wanted - cursor.fetchone()[0]
            if missing <= 0:
                return 0
            cursor.execute("SELECT id, email, first_name, last_name FROM users_user ORDER BY id LIMIT 20000")
            people_rows = cursor.fetchall()
            cursor.execute("SELECT id, name FROM organizations_organization ORDER BY id")
            org_rows = cursor.fetchall()
            with cursor.cursor.copy(f"COPY activity_activityentry ({', '.join(ACTIVITY_COLUMNS)}) FROM STDIN") as copy:
                for row in self._activity_rows(missing, people_rows, org_rows):
                    copy.write_row(row)
        return missing

    def _activity_rows(self, count: int, people_rows: list, org_rows: list):
        rng = random.Random(count)
        now = timezone.now()
        for index in range(count):
            actor = rng.choice(people_rows)
            verb = rng.choice(ACTIVITY_VERBS)
            if verb.startswith("organization.") and org_rows:
                org = rng.choice(org_rows)
                target = ("organization", str(org[0]), org[1])
                subjects = [str(org[0])]
                changes = {"description": {"old": "", "new": f"The {org[1]} team"}} if verb.endswith("updated") else {}
            elif verb.startswith("membership.") and org_rows:
                org, person = rng.choice(org_rows), rng.choice(people_rows)
                target = ("membership", str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"{person[1]} in {org[1]}")
                subjects, changes = [target[1], str(person[0]), str(org[0])], {"role": {"old": None, "new": "member"}}
            else:
                person = actor if verb.startswith("auth.") else rng.choice(people_rows)
                target = ("user", str(person[0]), f"{person[2]} {person[3]}")
                subjects = [str(person[0])]
                changes = {"job_title": {"old": "", "new": rng.choice(JOB_CHANGES)}} if verb == "user.updated" else {}
            yield (
                uuid.UUID(int=rng.getrandbits(128), version=4), now - timedelta(seconds=rng.randrange(2 * 365 * 86400)),
                actor[0], "user", verb, target[0], target[1], target[2][:300], subjects, json.dumps(changes), "{}",
                str(ipaddress.IPv4Address(0x0A000000 | rng.getrandbits(24))), USER_AGENT,
                f"{rng.getrandbits(128):032x}",
            )  # fmt: skip
            if count >= 50_000 and ((index + 1) % 100_000 == 0 or index + 1 == count):
                self.stderr.write(f"  {index + 1:,}/{count:,} activity entries")
                sys.stderr.flush()
