"""`Authorization: Bearer p360_sk_...`: a service account's API key, on its tenant's host only.

One statement reads the key with its account (by the key id the secret carries) in the request's tenant schema,
so a key of another tenant is simply not found; the keyed hash of the secret is compared in constant time, and
computed even when no key was found. Unknown, revoked, expired, disabled, truncated or altered: the same 401
`invalid_token`. Every request reads the key's row, so a revocation stops the next request. `last_used_at` is
written at most once a minute per key. A valid key on a route its scopes do not open (or that declares none,
p360.api.access) is 403 `insufficient_scope`."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from p360.actors import Actor
from p360.api.access import route_scope
from p360.api.problems import InsufficientScope
from service_accounts import keys
from service_accounts.models import ServiceAccount, ServiceAccountStatus

LAST_USED_EVERY = timedelta(minutes=1)
_KEY = (
    "SELECT k.id, k.secret_hash, k.expires_at, k.revoked_at, k.last_used_at, a.id, a.name, a.scopes, a.status"
    " FROM service_accounts_apikey k JOIN service_accounts_serviceaccount a ON a.id = k.service_account_id"
    " WHERE k.id = %s"
)


class InvalidKey(AuthenticationFailed):
    default_detail = "The API key is invalid, expired or revoked."
    default_code = "invalid_token"


class ServicePrincipal:
    """request.user of a key's request: the service account (never a person of the tenant)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_service = True
    is_staff = False
    is_superuser = False
    role = None
    email = ""

    def __init__(self, account: ServiceAccount, key_id):
        self.service_account = account
        self.key_id = key_id
        self.pk = self.id = account.pk

    def __str__(self) -> str:
        return f"service account {self.service_account.name}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != b"bearer" or not header[1].startswith(keys.PREFIX.encode()):
            return None  # not a key: the JWT authentication's turn
        if connection.schema_name == "public":
            raise InvalidKey()  # keys belong to tenants: the platform API never takes one
        secret = header[1].decode("ascii", "replace")
        key_id = keys.key_id_of(secret)
        row = None
        if key_id is not None:
            with connection.cursor() as cursor:
                cursor.execute(_KEY, [key_id])
                row = cursor.fetchone()
        valid = keys.matches(secret, row[1] if row else None)
        if not valid:
            raise InvalidKey()
        _id, _hash, expires_at, revoked_at, last_used_at, account_id, name, scopes, status = row
        now = timezone.now()
        if (
            revoked_at is not None
            or (expires_at is not None and expires_at <= now)
            or status != ServiceAccountStatus.ACTIVE
        ):
            raise InvalidKey()
        account = ServiceAccount(id=account_id, name=name, scopes=list(scopes), status=status)
        view = (getattr(request, "parser_context", None) or {}).get("view")
        needed = route_scope(view, request.method)
        if not Actor.service(account, key_id).has_scope(needed):
            raise InsufficientScope(needed)  # every route: one that declares no scope is closed to keys
        if last_used_at is None or now - last_used_at >= LAST_USED_EVERY:
            _touch(key_id, now)
        return ServicePrincipal(account, key_id), key_id

    def authenticate_header(self, request):
        return 'Bearer realm="p360"'


def _touch(key_id, now) -> None:
    """The key's last use (its account's is the latest of its keys'); a no-op when another request just wrote it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE service_accounts_apikey SET last_used_at = %s WHERE id = %s"
            " AND (last_used_at IS NULL OR last_used_at < %s)",
            [now, key_id, now - LAST_USED_EVERY],
        )
