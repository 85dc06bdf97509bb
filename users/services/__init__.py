"""Writes on users, by topic: accounts (create, profile, role, lifecycle, sign-ins), email tokens
(invitations, password resets), sessions, bulk actions and CSV import."""

from users.services.accounts import *  # noqa: F403
from users.services.accounts import __all__ as _accounts
from users.services.email_tokens import *  # noqa: F403
from users.services.email_tokens import __all__ as _email_tokens
from users.services.sessions import *  # noqa: F403
from users.services.sessions import __all__ as _sessions

__all__ = [*_accounts, *_email_tokens, *_sessions]
