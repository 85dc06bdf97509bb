"""manage.py seed_demo: a demo tenant with an owner and realistic people; safe to run again."""

from __future__ import annotations

import random

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django_tenants.utils import schema_context

from p360.commands import OperatorCommand
from tenants import services
from tenants.demo import people
from tenants.models import Tenant
from users.models import User, UserRole, UserStatus

DEMO_PASSWORD = "p360-demo-owner"
BATCH = 5_000


class Command(OperatorCommand):
    help = "Create (or top up) a demo tenant with an owner and realistic people, and print the login."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="demo", help="Tenant slug (default: demo).")
        parser.add_argument("--users", type=int, default=25, help="How many people besides the owner.")
        parser.add_argument("--owner-email", default=None, help="Default: owner@{tenant}.localhost.")
        parser.add_argument("--owner-password", default=DEMO_PASSWORD)
        parser.add_argument("--port", type=int, default=8000, help="Port shown in the printed URLs.")

    def handle(self, *args, tenant: str, users: int, owner_email, owner_password, port, **options):
        owner_email = owner_email or f"owner@{tenant}.{settings.P360_BASE_DOMAIN}"
        existing = Tenant.objects.filter(slug=tenant).first()
        if existing is None:
            existing, _owner = services.tenant_create(
                slug=tenant,
                name=f"{tenant.title()} Inc.",
                owner_email=owner_email,
                owner_first_name="Demo",
                owner_last_name="Owner",
                owner_password=owner_password,
            )
        domain = existing.domains.order_by("-is_primary", "domain").first().domain
        with schema_context(existing.schema_name):
            created = self._people(users, domain)
        base = f"http://{domain}:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"P360 demo tenant '{existing.slug}' ({created} people added this run)",
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

    def _people(self, count: int, domain: str) -> int:
        rng = random.Random(count)
        password = make_password(DEMO_PASSWORD)  # one hash for all: seeding stays fast
        statuses = [UserStatus.ACTIVE] * 8 + [UserStatus.INVITED, UserStatus.SUSPENDED, UserStatus.DEACTIVATED]
        roles = [UserRole.MEMBER] * 8 + [UserRole.ADMIN]
        before = User.objects.count()
        batch = []
        for person in people(count, domain):
            status = rng.choice(statuses)
            batch.append(
                User(
                    **person,
                    role=rng.choice(roles),
                    status=status,
                    password=password if status != UserStatus.INVITED else "!",
                )
            )
            if len(batch) >= BATCH:
                User.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
        User.objects.bulk_create(batch, ignore_conflicts=True)
        return User.objects.count() - before
