"""Writes on users: profile, password, status, role and sign-ins, each with its activity entry.

Revoking changes (password, suspension, deactivation, demotion) bump the token version.
"""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from activity.services import activity_record
from p360.api.problems import FieldErrors
from users.models import User, UserRole, UserStatus

PROFILE_FIELDS = ("first_name", "last_name", "job_title", "phone", "timezone", "locale")
_ROLE_RANK = {UserRole.MEMBER: 0, UserRole.ADMIN: 1, UserRole.OWNER: 2}
_STATUS_VERBS = {
    UserStatus.SUSPENDED: "user.suspended",
    UserStatus.ACTIVE: "user.activated",
    UserStatus.DEACTIVATED: "user.deactivated",
}


def _target(user: User) -> dict:
    return {"target_type": "user", "target_id": user.pk, "target_repr": user.email}


def _bump_token_version(user: User) -> None:
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])


@transaction.atomic
def user_update_profile(*, user: User, data: dict) -> User:
    changes = {
        f: {"old": getattr(user, f), "new": data[f]}
        for f in PROFILE_FIELDS
        if f in data and getattr(user, f) != data[f]
    }
    if not changes:
        return user
    for field, change in changes.items():
        setattr(user, field, change["new"])
    user.full_clean(exclude=["password", "email"])
    user.save(update_fields=[*changes, "updated_at"])
    activity_record(verb="user.updated", changes=changes, **_target(user))
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
    activity_record(verb="auth.password_changed", actor=user, **_target(user))


@transaction.atomic
def user_set_status(*, user: User, status: str) -> User:
    """Suspending or deactivating revokes every token of the user on their next request."""
    if status == user.status:
        return user
    old = user.status
    user.status = status
    user.save(update_fields=["status", "updated_at"])
    if status != UserStatus.ACTIVE:
        _bump_token_version(user)
    activity_record(
        verb=_STATUS_VERBS[UserStatus(status)], changes={"status": {"old": old, "new": status}}, **_target(user)
    )
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    """A demotion revokes every token of the user, so that the lower role applies at once."""
    if role == user.role:
        return user
    old = user.role
    demoted = _ROLE_RANK[UserRole(role)] < _ROLE_RANK[UserRole(old)]
    user.role = role
    user.save(update_fields=["role", "updated_at"])
    if demoted:
        _bump_token_version(user)
    activity_record(verb="user.role_changed", changes={"role": {"old": old, "new": role}}, **_target(user))
    return user


@transaction.atomic
def user_record_login(*, user: User) -> None:
    user.last_login = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=user.last_login)
    activity_record(verb="auth.login", actor=user, **_target(user))


@transaction.atomic
def user_record_failed_login(*, email: str) -> None:
    """Records the email that was tried, and nothing else (not the password, not whether it exists)."""
    activity_record(
        verb="auth.login_failed", target_type="user", target_repr=email[:254], metadata={"email": email[:254]}
    )


@transaction.atomic
def user_record_logout(*, user: User | None) -> None:
    if user is not None:
        activity_record(verb="auth.logout", actor=user, **_target(user))
