"""manage.py tenants create|list|suspend|activate|delete|backup|restore: the operator's view of tenants."""

from __future__ import annotations

import json

from django.core.management.base import CommandError
from django.db.models import Prefetch

from p360.actors import CLI
from p360.commands import OperatorCommand
from tenants import backup, services
from tenants.models import Domain, Tenant, TenantStatus


class Command(OperatorCommand):
    help = "Create, list, suspend, activate, delete, back up and restore tenants."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a tenant with its schema, domain and owner.")
        create.add_argument("slug")
        create.add_argument("--name", required=True)
        create.add_argument("--domain", help="Default: {slug}.{P360_BASE_DOMAIN}.")
        create.add_argument("--owner-email", required=True)
        create.add_argument("--owner-first-name", default="Tenant")
        create.add_argument("--owner-last-name", default="Owner")
        secret = create.add_mutually_exclusive_group(required=True)
        secret.add_argument("--owner-password")
        secret.add_argument("--invite", action="store_true", help="Create the owner as invited (no password yet).")
        create.add_argument("--json", action="store_true")
        listing = sub.add_parser("list", help="List tenants.")
        listing.add_argument("--json", action="store_true")
        for action in ("suspend", "activate"):
            sub.add_parser(action, help=f"{action.capitalize()} a tenant.").add_argument("slug")
        delete = sub.add_parser("delete", help="Delete a tenant and drop its schema with all its data.")
        delete.add_argument("slug")
        delete.add_argument("--yes", action="store_true", help="Confirm: the data is gone for good.")
        save = sub.add_parser("backup", help="Write one tenant's schema and record to a backup file.")
        save.add_argument("slug")
        save.add_argument("-o", "--output", required=True, help="The backup file to write (must not exist).")
        load = sub.add_parser("restore", help="Restore a backup file as a new tenant.")
        load.add_argument("file")
        load.add_argument("--as", dest="as_slug", help="The slug to restore as (default: the backup's own).")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant with the slug {slug!r}")
        return tenant

    @staticmethod
    def _as_dict(tenant: Tenant) -> dict:
        return {
            "id": str(tenant.id),
            "slug": tenant.slug,
            "name": tenant.name,
            "status": tenant.status,
            "schema": tenant.schema_name,
            "domains": [d.domain for d in tenant.domains.all()],
            "created_at": tenant.created_at.isoformat(),
        }

    def _create(
        self,
        *,
        slug,
        name,
        domain,
        owner_email,
        owner_first_name,
        owner_last_name,
        owner_password,
        invite,
        json: bool = False,
        **_,
    ):
        tenant, owner = services.tenant_create(
            actor=CLI,
            slug=slug,
            name=name,
            domain=domain,
            owner_email=owner_email,
            owner_first_name=owner_first_name,
            owner_last_name=owner_last_name,
            owner_password=None if invite else owner_password,
        )
        if json:
            self.stdout.write(
                _dumps(
                    {
                        **self._as_dict(tenant),
                        "owner": {"id": str(owner.id), "email": owner.email, "status": owner.status},
                    }
                )
            )
        else:
            self.stdout.write(
                f"created tenant {tenant.slug} on {tenant.domains.get().domain} (owner {owner.email}, {owner.status})"
            )

    def _list(self, *, json: bool = False, **_):
        tenants = Tenant.objects.prefetch_related(Prefetch("domains", queryset=Domain.objects.order_by("domain")))
        rows = [self._as_dict(t) for t in tenants]
        if json:
            self.stdout.write(_dumps(rows))
            return
        self.stdout.write(f"{'SLUG':<24} {'STATUS':<10} {'NAME':<30} DOMAINS")
        for row in rows:
            self.stdout.write(
                f"{row['slug']:<24} {row['status']:<10} {row['name'][:30]:<30} {', '.join(row['domains'])}"
            )

    def _suspend(self, *, slug, **_):
        services.tenant_set_status(actor=CLI, tenant=self._tenant(slug), status=TenantStatus.SUSPENDED)
        self.stdout.write(f"suspended {slug}")

    def _activate(self, *, slug, **_):
        services.tenant_set_status(actor=CLI, tenant=self._tenant(slug), status=TenantStatus.ACTIVE)
        self.stdout.write(f"activated {slug}")

    def _delete(self, *, slug, yes, **_):
        tenant = self._tenant(slug)
        if not yes:
            raise CommandError(f"deleting {slug} drops its schema and all its data: add --yes to confirm")
        services.tenant_delete(actor=CLI, tenant=tenant)
        self.stdout.write(f"deleted {slug}")

    def _backup(self, *, slug, output, **_):
        summary = backup.tenant_backup(actor=CLI, tenant=self._tenant(slug), path=output)
        self.stdout.write(
            f"backed up {slug} to {summary.path}: {summary.tables} tables, {summary.rows} rows, {summary.bytes} bytes"
        )

    def _restore(self, *, file, as_slug, **_):
        summary = backup.tenant_restore(actor=CLI, path=file, slug=as_slug)
        tenant = summary.tenant
        self.stdout.write(
            f"restored {tenant.slug} ({tenant.status}) on {', '.join(summary.domains)}: {summary.rows} rows"
            + (", migrated to the current schema" if summary.migrated else "")
        )
        if summary.skipped_domains:
            self.stderr.write(f"domains in use elsewhere, not restored: {', '.join(summary.skipped_domains)}")


def _dumps(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
