"""JWTs bound to their tenant and to the user's token version; single-use, race-safe refresh rotation."""

from __future__ import annotations

import uuid

from django.db import connection, transaction
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from users.models import User
from users.selectors import user_by_id

TENANT_CLAIM = "tenant"  # the schema the token was issued in: a token is valid there and nowhere else
VERSION_CLAIM = "tv"  # the user's token_version at issue time


class TokenRejected(AuthenticationFailed):
    default_detail = "The token is invalid, expired or revoked."
    default_code = "token_not_valid"


def current_tenant_claim() -> str:
    return connection.schema_name


def issue_tokens(user: User) -> dict:
    """A new refresh token (recorded as outstanding, so that it can be spent once) and its access token."""
    refresh = RefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = str(user.pk)
    refresh[TENANT_CLAIM] = current_tenant_claim()
    refresh[VERSION_CLAIM] = user.token_version
    OutstandingToken.objects.create(
        user=user,
        jti=refresh[api_settings.JTI_CLAIM],
        token=str(refresh),
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _verified_refresh(raw: str) -> RefreshToken:
    try:
        token = RefreshToken(raw)  # signature, algorithm, expiry, type and blacklist
    except TokenError as exc:
        raise TokenRejected() from exc
    if token.get(TENANT_CLAIM) != current_tenant_claim():
        raise TokenRejected()
    return token


def _spend(token: RefreshToken) -> None:
    """Blacklists the token; of several concurrent spends exactly one succeeds (the row lock serialises them)."""
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=token[api_settings.JTI_CLAIM]).first()
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise TokenRejected()
    BlacklistedToken.objects.create(token=outstanding)


def token_user(token) -> User:
    """The active user the token names, if the token's version is still theirs."""
    try:
        user_id = uuid.UUID(str(token.get(api_settings.USER_ID_CLAIM)))
    except ValueError as exc:
        raise TokenRejected() from exc
    user = user_by_id(user_id)
    if user is None or not user.is_active or user.token_version != token.get(VERSION_CLAIM):
        raise TokenRejected()
    return user


@transaction.atomic
def refresh_rotate(raw: str) -> dict:
    token = _verified_refresh(raw)
    _spend(token)
    user = token_user(token)
    return issue_tokens(user)


@transaction.atomic
def refresh_revoke(raw: str) -> User | None:
    """Logout: spends the refresh token. Returns its user (None when that user no longer exists)."""
    token = _verified_refresh(raw)
    _spend(token)
    return User.objects.filter(pk=token.get(api_settings.USER_ID_CLAIM)).first()
