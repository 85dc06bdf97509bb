"""Invitations and password resets: single-use, expiring tokens (only their hash is stored), mailed after
commit. Asking for a reset answers the same whether or not the email exists."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from activity.services import activity_record
from p360.actors import ANONYMOUS, Actor
from p360.api.problems import FieldErrors
from users import policy
from users.models import TokenPurpose, User, UserStatus, UserToken
from users.services.accounts import InvalidTransition, revoke_credentials, target_of, validate_new_password

__all__ = ["invitation_accept", "invitation_send", "password_reset_confirm", "password_reset_request"]

logger = logging.getLogger("p360.email")
INVITATION_TTL = timedelta(days=7)
RESET_TTL = timedelta(hours=1)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _issue(user: User, purpose: str, ttl: timedelta) -> str:
    """A new token; earlier unused ones of the same purpose stop working."""
    now = timezone.now()
    UserToken.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(used_at=now)
    raw = secrets.token_urlsafe(32)
    UserToken.objects.create(user=user, purpose=purpose, token_hash=_hash(raw), expires_at=now + ttl)
    return raw


def _consume(raw: str, purpose: str) -> User:
    token = (
        UserToken.objects.select_for_update()
        .select_related("user")
        .filter(token_hash=_hash(raw or ""), purpose=purpose)
        .first()
    )
    now = timezone.now()
    if token is None or token.used_at is not None or token.expires_at <= now:
        raise FieldErrors([("token", "invalid_token", "The link is invalid, used or expired.")], code="invalid_token")
    token.used_at = now
    token.save(update_fields=["used_at"])
    return token.user


def _link(path: str, raw: str) -> str:
    tenant = getattr(connection.tenant, "slug", None) or connection.schema_name
    return f"{settings.P360_APP_URL.rstrip('/')}/{path}?{urlencode({'tenant': tenant, 'token': raw})}"


def _mail_after_commit(subject: str, body: str, to: str) -> None:
    def send():
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
        except Exception:  # a mail outage must not fail the request that committed
            logger.exception("sending %r to %s failed", subject, to)

    if getattr(settings, "P360_EMAIL_ASYNC", True):
        # in the background: how long the mail server takes must not tell whether an address exists
        transaction.on_commit(lambda: threading.Thread(target=send, daemon=True).start())
    else:
        transaction.on_commit(send)


@transaction.atomic
def invitation_send(*, actor: Actor, user: User) -> None:
    policy.require(actor, "invite", user)
    if user.status != UserStatus.INVITED:
        raise InvalidTransition("Only invited users get invitations.")
    raw = _issue(user, TokenPurpose.INVITATION, INVITATION_TTL)
    link = _link("accept-invitation", raw)
    _mail_after_commit(
        "You are invited to P360",
        f"Hello {user.first_name},\n\nyou have been invited. Choose your password here (valid for 7 days):\n{link}\n",
        user.email,
    )


@transaction.atomic
def invitation_accept(
    *, token: str, password: str, first_name: str | None = None, last_name: str | None = None
) -> User:
    user = _consume(token, TokenPurpose.INVITATION)
    if user.status != UserStatus.INVITED:
        raise FieldErrors([("token", "invalid_token", "The link is invalid, used or expired.")], code="invalid_token")
    changes = {"status": {"old": user.status, "new": UserStatus.ACTIVE}}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None and value != getattr(user, field):
            changes[field] = {"old": getattr(user, field), "new": value}
            setattr(user, field, value)
    validate_new_password(password, user)
    user.set_password(password)
    user.status = UserStatus.ACTIVE
    user.save(update_fields=["password", "status", "first_name", "last_name", "updated_at"])
    revoke_credentials(user)
    activity_record(
        verb="user.activated",
        actor=Actor.person(user),
        changes=changes,
        metadata={"via": "invitation"},
        **target_of(user),
    )
    return user


@transaction.atomic
def password_reset_request(*, email: str) -> None:
    """Mails a reset link to an active user with this email; does nothing visible otherwise."""
    try:
        user = User.objects.get_by_email(email)
    except User.DoesNotExist:
        return
    if user.status != UserStatus.ACTIVE:
        return
    raw = _issue(user, TokenPurpose.PASSWORD_RESET, RESET_TTL)
    activity_record(verb="auth.password_reset_requested", actor=ANONYMOUS, **target_of(user))
    _mail_after_commit(
        "Reset your P360 password",
        f"Hello {user.first_name},\n\nreset your password here (valid for 1 hour):\n{_link('reset-password', raw)}\n\n"
        "If you did not ask for this, ignore this email.\n",
        user.email,
    )


@transaction.atomic
def password_reset_confirm(*, token: str, new_password: str) -> None:
    user = _consume(token, TokenPurpose.PASSWORD_RESET)
    if user.status != UserStatus.ACTIVE:
        raise FieldErrors([("token", "invalid_token", "The link is invalid, used or expired.")], code="invalid_token")
    validate_new_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    ended = revoke_credentials(user)  # whoever had the old password signed in is signed out
    activity_record(
        verb="auth.password_changed",
        actor=Actor.person(user),
        metadata={"via": "reset", "sessions_ended": ended},
        **target_of(user),
    )
