"""Bearer authentication: a token counts only on the tenant that issued it and while its version is current.

Verifying a JWT (base64, JSON, HMAC, claims) is a sixth of the CPU of a small request, so each process keeps the
access tokens it has verified (`_verified`, keyed by the whole raw token, so any change to it is verified anew;
bounded). What can change while a token is cached is still checked on every request: its expiry (checked again
at each use, an expired entry is dropped and the token rejected), its tenant, and through `token_user` the user's
row: that they exist, are active and still have the token's version, so suspension, deactivation and a password
change end the token on the next request exactly as without the cache."""

from __future__ import annotations

import threading

from django.core.signals import setting_changed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.utils import aware_utcnow

from users.tokens import TENANT_CLAIM, TokenRejected, current_tenant_claim, token_user

VERIFIED_TOKENS_MAX = 2048  # per process; ~1 KB each (the token and its claims)
_verified: dict[bytes, object] = {}
_lock = threading.Lock()


def forget_verified_tokens(**kwargs) -> None:
    with _lock:
        _verified.clear()


def _on_setting_changed(setting, **kwargs):  # a new signing key or token setting: verify everything anew
    if setting in ("SIMPLE_JWT", "SECRET_KEY"):
        forget_verified_tokens()


setting_changed.connect(_on_setting_changed)


class TenantJWTAuthentication(JWTAuthentication):
    www_authenticate_realm = "p360"

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except (InvalidToken, TokenError) as exc:
            raise TokenRejected() from exc

    def get_validated_token(self, raw_token):
        token = _verified.get(raw_token)
        if token is not None:
            try:
                token.check_exp(current_time=aware_utcnow())  # simplejwt's own rule (and leeway)
            except TokenError:
                with _lock:
                    _verified.pop(raw_token, None)
                raise TokenRejected() from None
        else:
            token = super().get_validated_token(raw_token)  # signature, algorithm, expiry, type
            with _lock:
                while len(_verified) >= VERIFIED_TOKENS_MAX:  # the oldest first
                    _verified.pop(next(iter(_verified)))
                _verified[raw_token] = token
        if token.get(TENANT_CLAIM) != current_tenant_claim():
            raise TokenRejected()
        return token

    def get_user(self, validated_token):
        return token_user(validated_token)
