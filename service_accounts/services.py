"""Writes on service accounts and their keys, each checked against service_accounts.policy and recorded with
its activity entry in the same transaction. A key's secret is returned once, by key_create, and never stored,
logged or recorded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from activity.services import activity_record
from p360.actors import Actor
from p360.api.problems import Conflict, FieldErrors, NotFound
from service_accounts import keys, policy
from service_accounts.models import ApiKey, Scope, ServiceAccount, ServiceAccountStatus

FIELDS = ("name", "description", "scopes", "status")


def _target(account: ServiceAccount) -> dict:
    return {"target_type": "service_account", "target_id": account.pk, "target_repr": account.name}


def _clean_scopes(scopes) -> list[str]:
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        allowed = ", ".join(Scope.values)
        raise FieldErrors([("scopes", "invalid_choice", f"Unknown scope {s!r}; allowed: {allowed}.") for s in unknown])
    return sorted(set(scopes))


def _save(account: ServiceAccount, **kwargs) -> None:
    try:
        with transaction.atomic():
            account.save(**kwargs)
    except IntegrityError:
        raise Conflict("A service account with this name exists.", "name_taken") from None


@transaction.atomic
def service_account_create(*, actor: Actor, name: str, description: str = "", scopes=()) -> ServiceAccount:
    policy.require(actor, "create")
    account = ServiceAccount(name=name.strip(), description=description, scopes=_clean_scopes(scopes))
    _save(account, force_insert=True)
    changes = {f: {"old": None, "new": getattr(account, f)} for f in FIELDS}
    activity_record(verb="service_account.created", actor=actor, changes=changes, **_target(account))
    return account


@transaction.atomic
def service_account_update(*, actor: Actor, account: ServiceAccount, data: dict) -> ServiceAccount:
    """Name, description, scopes and status (disabling stops every key at once)."""
    policy.require(actor, "update")
    account = ServiceAccount.objects.select_for_update().get(pk=account.pk)
    if "scopes" in data:
        data = {**data, "scopes": _clean_scopes(data["scopes"])}
    if "status" in data and data["status"] not in ServiceAccountStatus.values:
        raise FieldErrors([("status", "invalid_choice", "status must be active or disabled.")])
    changes = {
        f: {"old": getattr(account, f), "new": data[f]} for f in FIELDS if f in data and getattr(account, f) != data[f]
    }
    if not changes:
        return account
    for field, change in changes.items():
        setattr(account, field, change["new"])
    _save(account, update_fields=[*changes, "updated_at"])
    activity_record(verb="service_account.updated", actor=actor, changes=changes, **_target(account))
    return account


@transaction.atomic
def service_account_delete(*, actor: Actor, account: ServiceAccount) -> None:
    policy.require(actor, "delete")
    account = ServiceAccount.objects.select_for_update().get(pk=account.pk)
    activity_record(verb="service_account.deleted", actor=actor, **_target(account))
    account.delete()  # its keys with it


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # shown once


@transaction.atomic
def key_create(*, actor: Actor, account: ServiceAccount, expires_at: datetime | None = None) -> CreatedKey:
    policy.require(actor, "create_key")
    if expires_at is not None and expires_at <= timezone.now():
        raise FieldErrors([("expires_at", "invalid", "expires_at must be in the future.")])
    key = ApiKey(id=uuid.uuid4(), service_account=account, expires_at=expires_at)
    secret = keys.new_secret(key.id)
    key.secret_hash = keys.secret_hash(secret)
    key.save(force_insert=True)
    activity_record(
        verb="service_account.key_created",
        actor=actor,
        metadata={
            "key_id": str(key.pk),
            "prefix": key.prefix,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
        **_target(account),
    )
    return CreatedKey(key, secret)


@transaction.atomic
def key_revoke(*, actor: Actor, account: ServiceAccount, key_id) -> ApiKey:
    """Revoked at once: the next request with it is 401 (every request reads the key's row)."""
    policy.require(actor, "revoke_key")
    key = ApiKey.objects.select_for_update().filter(pk=key_id, service_account=account).first()
    if key is None:
        raise NotFound("This service account has no key with this id.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        activity_record(
            verb="service_account.key_revoked",
            actor=actor,
            metadata={"key_id": str(key.pk), "prefix": key.prefix},
            **_target(account),
        )
    return key
