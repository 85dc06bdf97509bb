"""manage.py service_accounts list|create|key|revoke --tenant SLUG: a tenant's service accounts and API keys,
for the operator (acting as the CLI). A key's secret is printed once, by `create --key` or `key`."""

from __future__ import annotations

import json
import uuid

from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime

from p360.actors import CLI
from p360.commands import OperatorCommand, tenant_options
from p360.tenancy import tenant_by_slug
from service_accounts import services
from service_accounts.models import ServiceAccount


class Command(OperatorCommand):
    help = "List and create a tenant's service accounts; create and revoke their API keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="The tenant's service accounts and their keys (never a secret).")
        create = sub.add_parser("create", help="Create a service account (and, with --key, its first key).")
        create.add_argument("--name", required=True)
        create.add_argument("--description", default="")
        create.add_argument("--scopes", default="", help="Comma-separated, e.g. users:read,organizations:write.")
        create.add_argument("--key", action="store_true", help="Also create a key and print its secret once.")
        key = sub.add_parser("key", help="Create a key for a service account and print its secret once.")
        key.add_argument("account", help="The service account's name or id.")
        key.add_argument("--expires-at", help="ISO 8601; default: no expiry.")
        revoke = sub.add_parser("revoke", help="Revoke one key of a service account at once.")
        revoke.add_argument("account", help="The service account's name or id.")
        revoke.add_argument("key_id")
        tenant_options(listing, create, key, revoke)

    def handle(self, *args, action, tenant, json: bool = False, **options):
        with tenant_by_slug(tenant):
            result = getattr(self, f"_{action}")(**options)
        self._print(result, json)

    def _print(self, result: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(result, indent=2, default=str))
            return
        for line in result.pop("lines", []):
            self.stdout.write(line)
        if "secret" in result:
            self.stdout.write(f"secret (shown once): {result['secret']}")

    @staticmethod
    def _account(name_or_id: str) -> ServiceAccount:
        found = ServiceAccount.objects.filter(name=name_or_id).first()
        if found is None:
            try:
                found = ServiceAccount.objects.filter(pk=uuid.UUID(name_or_id)).first()
            except ValueError:  # not an id either
                found = None
        if found is None:
            raise CommandError(f"no service account named or with the id {name_or_id!r}")
        return found

    @staticmethod
    def _as_dict(account: ServiceAccount) -> dict:
        return {
            "id": str(account.pk),
            "name": account.name,
            "scopes": account.scopes,
            "status": account.status,
            "keys": [
                {"id": str(k.pk), "prefix": k.prefix, "expires_at": k.expires_at, "revoked_at": k.revoked_at}
                for k in account.keys.all()
            ],
        }

    def _list(self, **_) -> dict:
        accounts = [self._as_dict(a) for a in ServiceAccount.objects.prefetch_related("keys")]
        lines = [
            f"{a['name']}  {','.join(a['scopes']) or '-'}  {a['status']}  {len(a['keys'])} key(s)" for a in accounts
        ]
        return {"service_accounts": accounts, "lines": lines}

    def _create(self, name, description, scopes, key, **_) -> dict:
        wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        account = services.service_account_create(actor=CLI, name=name, description=description, scopes=wanted)
        result = {"service_account": self._as_dict(account), "lines": [f"created service account {account.name}"]}
        if key:
            result.update(self._key(str(account.pk), None))
        return result

    def _key(self, account, expires_at=None, **_) -> dict:
        when = None
        if expires_at:
            when = parse_datetime(expires_at)
            if when is None:
                raise CommandError(f"not an ISO 8601 date and time: {expires_at!r}")
        created = services.key_create(actor=CLI, account=self._account(account), expires_at=when)
        return {"key_id": str(created.key.pk), "prefix": created.key.prefix, "secret": created.secret}

    def _revoke(self, account, key_id, **_) -> dict:
        key = services.key_revoke(actor=CLI, account=self._account(account), key_id=key_id)
        return {"key_id": str(key.pk), "revoked_at": key.revoked_at, "lines": [f"revoked {key.prefix}"]}
