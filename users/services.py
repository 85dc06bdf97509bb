"""Writes on users: profile, password, status and role. Revoking changes bump the token version."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from p360.api.problems import FieldErrors
from users.models import User, UserRole, UserStatus

PROFILE_FIELDS = ("first_name", "last_name", "job_title", "phone", "timezone", "locale")
_ROLE_RANK = {UserRole.MEMBER: 0, UserRole.ADMIN: 1, UserRole.OWNER: 2}


def _bump_token_version(user: User) -> None:
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])


@transaction.atomic
def user_update_profile(*, user: User, data: dict) -> User:
    changed = [field for field in PROFILE_FIELDS if field in data and getattr(user, field) != data[field]]
    for field in changed:
        setattr(user, field, data[field])
    if changed:
        user.full_clean(exclude=["password", "email"])
        user.save(update_fields=[*changed, "updated_at"])
    return user


@transaction.atomic
def user_change_password(*, user: User, current_password: str, new_password: str) -> None:
    if not user.check_password(current_password):
        raise FieldErrors([("current_password", "invalid", "The current password is wrong.")])
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise FieldErrors([("new_password", "invalid", message) for message in exc.messages]) from None
    user.set_password(new_password)
    user.token_version = F("token_version") + 1
    user.save(update_fields=["password", "token_version", "updated_at"])
    user.refresh_from_db(fields=["token_version"])


@transaction.atomic
def user_set_status(*, user: User, status: str) -> User:
    """Suspending or deactivating revokes every token of the user on their next request."""
    if status == user.status:
        return user
    user.status = status
    user.save(update_fields=["status", "updated_at"])
    if status != UserStatus.ACTIVE:
        _bump_token_version(user)
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    """A demotion revokes every token of the user, so that the lower role applies at once."""
    if role == user.role:
        return user
    demoted = _ROLE_RANK[UserRole(role)] < _ROLE_RANK[UserRole(user.role)]
    user.role = role
    user.save(update_fields=["role", "updated_at"])
    if demoted:
        _bump_token_version(user)
    return user


def user_record_login(*, user: User) -> None:
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
