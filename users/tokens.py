"""JWTs bound to their tenant, to the user's token version and to a session; single-use, race-safe refresh.

A sign-in starts a session (users.models.UserSession, one refresh-token family). Its refresh token may be spent
once: a refresh locks the session's row, checks that the token is the family's current one and names the next
(of two racing refreshes exactly one wins). A spent token that comes back after the grace
(P360_REFRESH_REUSE_GRACE_SECONDS: long enough for a client retrying a refresh whose answer it lost) is taken as
stolen and ends the session (RFC 9700, 4.14.2). Access tokens carry the session's id, and authentication reads the
session with the user in one statement: an ended session stops its access tokens on their next request."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from activity.context import current as request_context
from users.models import User, UserSession
from users.selectors import user_by_id, user_by_session
from users.services import sessions

TENANT_CLAIM = "tenant"  # the schema the token was issued in: a token is valid there and nowhere else
VERSION_CLAIM = "tv"  # the user's token_version at issue time
SESSION_CLAIM = "sid"  # the session (refresh-token family) the token belongs to
LAST_USED_EVERY = timedelta(minutes=1)  # a session's last use is written at most this often


class TokenRejected(AuthenticationFailed):
    default_detail = "The token is invalid, expired or revoked."
    default_code = "token_not_valid"


def current_tenant_claim() -> str:
    return connection.schema_name


def _mint(user: User, session_id: uuid.UUID) -> tuple[dict, RefreshToken]:
    refresh = RefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = str(user.pk)
    refresh[TENANT_CLAIM] = current_tenant_claim()
    refresh[VERSION_CLAIM] = user.token_version
    refresh[SESSION_CLAIM] = str(session_id)  # copied into the access token
    return {"access": str(refresh.access_token), "refresh": str(refresh)}, refresh


def _use() -> dict:
    context = request_context()
    return {"ip": context.ip, "user_agent": (context.user_agent or "")[:512]}


def issue_tokens(user: User) -> dict:
    """A sign-in: a new session and its first tokens (within the sign-in's transaction)."""
    session_id = uuid.uuid4()
    issued, refresh = _mint(user, session_id)
    now = refresh.current_time
    UserSession.objects.create(
        id=session_id,
        user=user,
        created_at=now,
        last_used_at=now,
        refreshed_at=now,
        refresh_jti=refresh[api_settings.JTI_CLAIM],
        expires_at=datetime_from_epoch(refresh["exp"]),
        **_use(),
    )
    sessions.sessions_over_limit(user)
    return issued


def _verified_refresh(raw: str) -> RefreshToken:
    try:
        token = RefreshToken(raw)  # signature, algorithm, expiry and type
    except TokenError as exc:
        raise TokenRejected() from exc
    if token.get(TENANT_CLAIM) != current_tenant_claim():
        raise TokenRejected()
    return token


def _claim_id(token, claim: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(token.get(claim)))
    except ValueError as exc:
        raise TokenRejected() from exc


def _locked_session(token) -> UserSession:
    """The token's session, locked, while it lasts (refreshes and sign-outs of one family queue here)."""
    session = (
        UserSession.objects.live()
        .select_for_update()
        .filter(pk=_claim_id(token, SESSION_CLAIM), user_id=_claim_id(token, api_settings.USER_ID_CLAIM))
        .first()
    )
    if session is None:
        raise TokenRejected()
    return session


def _current(user: User | None, token) -> User:
    """The user, when they exist, are active and the token's version is still theirs."""
    if user is None or not user.is_active or user.token_version != token.get(VERSION_CLAIM):
        raise TokenRejected()
    return user


def token_user(token) -> User:
    """The active user the token names, while the token's session lasts and its version is still theirs."""
    found = user_by_session(_claim_id(token, api_settings.USER_ID_CLAIM), _claim_id(token, SESSION_CLAIM))
    if found is None:
        raise TokenRejected()
    user, last_used_at = found
    _current(user, token)
    now = timezone.now()
    if now - last_used_at >= LAST_USED_EVERY:
        _touch(token.get(SESSION_CLAIM), now)
    return user


def _touch(session_id, now) -> None:
    """The session's last use; a no-op when another request just wrote it."""
    use = _use()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE users_usersession SET last_used_at = %s, ip = %s, user_agent = %s"
            " WHERE id = %s AND last_used_at < %s",
            [now, use["ip"], use["user_agent"], session_id, now - LAST_USED_EVERY],
        )


def _rotate(token) -> dict | None:
    session = _locked_session(token)
    if session.refresh_jti != token[api_settings.JTI_CLAIM]:  # spent already
        grace = timedelta(seconds=settings.P360_REFRESH_REUSE_GRACE_SECONDS)
        if timezone.now() - session.refreshed_at > grace:
            sessions.sessions_end_reused(session)
        return None
    user = _current(user_by_id(session.user_id), token)  # the session is locked and live: its user, as it is now
    issued, refresh = _mint(user, session.pk)
    now = refresh.current_time
    UserSession.objects.filter(pk=session.pk).update(
        refresh_jti=refresh[api_settings.JTI_CLAIM],
        refreshed_at=now,
        last_used_at=now,
        expires_at=datetime_from_epoch(refresh["exp"]),
        **_use(),
    )
    return issued


def refresh_rotate(raw: str) -> dict:
    token = _verified_refresh(raw)
    with transaction.atomic():
        issued = _rotate(token)
    if issued is None:
        raise TokenRejected()  # after the commit: a session ended for a reused token stays ended
    return issued


@transaction.atomic
def refresh_revoke(raw: str) -> User | None:
    """Sign-out: the refresh token's session ends. Returns its user (None when that user no longer exists)."""
    token = _verified_refresh(raw)
    session = _locked_session(token)
    if session.refresh_jti != token[api_settings.JTI_CLAIM]:
        raise TokenRejected()
    sessions.session_sign_out(session)
    return User.objects.filter(pk=session.user_id).first()
