"""API key secrets: their format, their keyed hash, and reading one back from a header.

A secret is `p360_sk_<key id, 32 hex digits>_<43 characters of urlsafe base64>` (256 random bits). What is
stored is HMAC-SHA256 of the secret under a server key (P360_API_KEY_HMAC_SECRET, else one derived from
SECRET_KEY): high-entropy secrets need no slow hash, and a leaked table cannot be checked offline without the
server key. Comparisons are constant-time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid

from django.conf import settings

PREFIX = "p360_sk_"
_SECRET = re.compile(r"^p360_sk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")
_DUMMY = "0" * 64


def _server_key() -> bytes:
    configured = getattr(settings, "P360_API_KEY_HMAC_SECRET", "")
    if configured:
        return configured.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"p360 api keys", hashlib.sha256).digest()


def new_secret(key_id: uuid.UUID) -> str:
    return f"{PREFIX}{key_id.hex}_{secrets.token_urlsafe(32)}"


def secret_hash(secret: str) -> str:
    return hmac.new(_server_key(), secret.encode(), hashlib.sha256).hexdigest()


def key_id_of(secret: str) -> uuid.UUID | None:
    """The key id a well-formed secret names, else None (truncated, extended, another alphabet)."""
    match = _SECRET.match(secret)
    return uuid.UUID(match.group(1)) if match else None


def matches(secret: str, stored_hash: str | None) -> bool:
    """Whether the secret's keyed hash is the stored one; computed even when there is none (an unknown key
    costs what a wrong secret costs)."""
    return hmac.compare_digest(secret_hash(secret), stored_hash or _DUMMY) and stored_hash is not None
