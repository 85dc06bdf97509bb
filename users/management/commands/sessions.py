"""manage.py sessions list|revoke --tenant SLUG --email EMAIL: a person's live sessions, and ending them all at once
(an account thought compromised), for the operator (acting as the CLI, through users.services like every entry
point: the ending is recorded)."""

from __future__ import annotations

import json as jsonlib

from django.core.management.base import CommandError

from p360.actors import CLI
from p360.commands import OperatorCommand, tenant_options
from p360.tenancy import tenant_by_slug
from users import selectors, services
from users.models import User


class Command(OperatorCommand):
    help = "List a user's live sessions, or end every one of them at once."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="The user's live sessions, the most recently used first.")
        revoke = sub.add_parser("revoke", help="End every session of the user; their tokens stop at once.")
        for parser_ in (listing, revoke):
            parser_.add_argument("--email", required=True)
        tenant_options(listing, revoke)

    def handle(self, *args, action, tenant, email, json: bool = False, **options):
        with tenant_by_slug(tenant):
            try:
                user = User.objects.get_by_email(email)
            except User.DoesNotExist:
                raise CommandError(f"no user with the email {email!r} in {tenant}") from None
            result, lines = self._revoke(user) if action == "revoke" else self._list(user)
        self.stdout.write(jsonlib.dumps(result, indent=2) if json else "\n".join(lines))

    @staticmethod
    def _revoke(user: User) -> tuple[dict, list[str]]:
        revoked = services.user_sessions_end(actor=CLI, user=user)
        return {"user": user.email, "revoked": revoked}, [f"{user.email}: {revoked} session(s) ended"]

    @staticmethod
    def _list(user: User) -> tuple[dict, list[str]]:
        sessions = [
            {
                "id": str(s.pk),
                "created_at": s.created_at.isoformat(),
                "last_used_at": s.last_used_at.isoformat(),
                "ip": s.ip,
                "user_agent": s.user_agent,
            }
            for s in selectors.sessions_live(user)
        ]
        lines = [f"{s['id']}  last used {s['last_used_at']}  {s['ip'] or '-'}  {s['user_agent']}" for s in sessions]
        return {"user": user.email, "sessions": sessions}, lines or [f"{user.email}: no live session"]
