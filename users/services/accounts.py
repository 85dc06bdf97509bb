"""Accounts: create, profile, role, lifecycle (an explicit state machine) and sign-ins, each recorded.

Every change takes its actor (p360.actors) and is checked against users.policy here, whichever entry point
called it. Sign-ins, password changes and resets act as the person themselves.

Revoking changes (password, suspension, deactivation, demotion, any status change) bump the token version and
end every session of the user (users.services.sessions).
"""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from activity.services import activity_record
from p360.actors import ANONYMOUS, Actor
from p360.api.etags import require_fresh
from p360.api.problems import Conflict, FieldErrors
from users import policy
from users.models import User, UserRole, UserStatus

__all__ = [
    "PROFILE_FIELDS", "EmailTaken", "InvalidTransition", "LastOwner", "revoke_credentials", "target_of",
    "user_activate", "user_change_password", "user_create", "user_deactivate", "user_record_failed_login",
    "user_record_login",
    "user_record_logout", "user_restore", "user_set_role", "user_set_status", "user_suspend", "user_update",
    "user_update_profile", "validate_new_password",
]  # fmt: skip

PROFILE_FIELDS = ("first_name", "last_name", "job_title", "phone", "timezone", "locale")
ADMIN_FIELDS = (*PROFILE_FIELDS, "email", "role")
_ROLE_RANK = {UserRole.MEMBER: 0, UserRole.ADMIN: 1, UserRole.OWNER: 2}

# status transitions: action -> (allowed from, to, verb)
TRANSITIONS = {
    "suspend": ({UserStatus.ACTIVE}, UserStatus.SUSPENDED, "user.suspended"),
    "activate": ({UserStatus.SUSPENDED}, UserStatus.ACTIVE, "user.activated"),
    "deactivate": (
        {UserStatus.INVITED, UserStatus.ACTIVE, UserStatus.SUSPENDED},
        UserStatus.DEACTIVATED,
        "user.deactivated",
    ),
    "restore": ({UserStatus.DEACTIVATED}, None, "user.restored"),  # back to active, or invited without a password
}


class EmailTaken(Conflict):
    default_code = "email_taken"
    default_detail = "A user with this email exists in this tenant."


class InvalidTransition(Conflict):
    default_code = "invalid_transition"


class LastOwner(Conflict):
    default_code = "last_owner"
    default_detail = "The last owner cannot be demoted, suspended or deactivated."


def target_of(user: User) -> dict:
    return {"target_type": "user", "target_id": user.pk, "target_repr": user.email}


def revoke_credentials(user: User) -> int:
    """Every token of the user stops: the version they carry is old, and every session ends. Returns how many
    sessions ended."""
    from users.services.sessions import sessions_end_all

    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    return sessions_end_all(user)


def validate_new_password(password: str, user: User | None = None, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise FieldErrors([(field, "invalid", message) for message in exc.messages]) from None


def _email_in_use(email: str, exclude=None) -> bool:
    queryset = User.objects.alias(email_lower=Lower("email")).filter(email_lower=email.lower())
    return queryset.exclude(pk=exclude).exists() if exclude else queryset.exists()


def _save_unique(user: User, **kwargs) -> None:
    """Saves; a concurrent duplicate email loses on the unique index and gets the same 409."""
    try:
        with transaction.atomic():
            user.save(**kwargs)
    except IntegrityError as exc:
        if "email" in str(exc).lower():
            raise EmailTaken() from None
        raise


def _lock_owners() -> list:
    """Locks every active owner, in id order. Taken before any other user row by every change that could
    remove an owner, so that concurrent changes queue here instead of deadlocking."""
    owners = User.objects.select_for_update().filter(role=UserRole.OWNER, status=UserStatus.ACTIVE).order_by("id")
    return list(owners.values_list("id", flat=True))


def _locked(user: User) -> User:
    """The user's row, locked; owners' changes first lock every owner (see _lock_owners)."""
    if User.objects.filter(pk=user.pk, role=UserRole.OWNER).exists():
        _lock_owners()
    return User.objects.select_for_update().get(pk=user.pk)


def _guard_last_owner(user: User) -> None:
    """Refuses to leave the tenant without an active owner (the owners are locked by _locked)."""
    if _lock_owners() == [user.pk]:
        raise LastOwner()


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    email: str,
    first_name: str,
    last_name: str,
    password: str | None = None,
    role: str = UserRole.MEMBER,
    **profile,
) -> User:
    """With a password the user is active; without, invited, and the invitation is mailed after commit."""
    policy.require(actor, "create")
    policy.require_may_grant(actor, role)
    email = email.strip()
    if _email_in_use(email):
        raise EmailTaken()
    user = User(email=email, first_name=first_name, last_name=last_name, role=role, **profile)
    if password:
        validate_new_password(password, user)
        user.set_password(password)
        user.status = UserStatus.ACTIVE
    else:
        user.set_unusable_password()
        user.status = UserStatus.INVITED
    user.full_clean(exclude=["password"])
    _save_unique(user, force_insert=True)
    after = {f: getattr(user, f) for f in ("email", "first_name", "last_name", "role", "status", *PROFILE_FIELDS[2:])}
    activity_record(
        verb="user.created" if password else "user.invited",
        actor=actor,
        changes={f: {"old": None, "new": v} for f, v in after.items()},
        **target_of(user),
    )
    if user.status == UserStatus.INVITED:
        from users.services.email_tokens import invitation_send

        invitation_send(actor=actor, user=user)
    return user


def _apply(user: User, data: dict, fields) -> dict:
    changes = {
        f: {"old": getattr(user, f), "new": data[f]} for f in fields if f in data and getattr(user, f) != data[f]
    }
    for field, change in changes.items():
        setattr(user, field, change["new"])
    return changes


@transaction.atomic
def user_update_profile(*, actor: Actor, user: User, data: dict) -> User:
    """Profile fields only (PATCH /auth/me, and a member's PATCH of themselves)."""
    policy.require(actor, "update_profile", user)
    changes = _apply(user, data, PROFILE_FIELDS)
    if changes:
        user.full_clean(exclude=["password", "email"])
        user.save(update_fields=[*changes, "updated_at"])
        activity_record(verb="user.updated", actor=actor, changes=changes, **target_of(user))
    return user


@transaction.atomic
def user_update(*, actor: Actor, user: User, data: dict, if_match: str | None = None) -> User:
    """An admin's update: profile fields, email and role (a new role goes through user_set_role's rules)."""
    user = _locked(user)  # the rules read the row as it is now (a role changed meanwhile counts)
    policy.require(actor, "update", user)
    if "role" in data and data["role"] != user.role:
        policy.require(actor, "set_role", user)
        policy.require_may_grant(actor, data["role"])
    require_fresh(user, if_match)
    if "email" in data:
        data = {**data, "email": data["email"].strip()}
        if data["email"].lower() != user.email.lower() and _email_in_use(data["email"], exclude=user.pk):
            raise EmailTaken()
    role = data.get("role")
    changes = _apply(user, data, [f for f in ADMIN_FIELDS if f != "role"])
    if changes:
        user.full_clean(exclude=["password"])
        _save_unique(user, update_fields=[*changes, "updated_at"])
        activity_record(verb="user.updated", actor=actor, changes=changes, **target_of(user))
    if role is not None and role != user.role:
        user = user_set_role(actor=actor, user=user, role=role)
    return user


@transaction.atomic
def user_change_password(*, user: User, current_password: str, new_password: str) -> None:
    if not user.check_password(current_password):
        raise FieldErrors([("current_password", "invalid", "The current password is wrong.")])
    validate_new_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    ended = revoke_credentials(user)
    activity_record(
        verb="auth.password_changed", actor=Actor.person(user), metadata={"sessions_ended": ended}, **target_of(user)
    )


@transaction.atomic
def user_set_role(*, actor: Actor, user: User, role: str) -> User:
    """A demotion revokes every token of the user, so that the lower role applies at once."""
    user = _locked(user)
    policy.require(actor, "set_role", user)
    policy.require_may_grant(actor, role)
    if role == user.role:
        return user
    old = user.role
    if old == UserRole.OWNER:
        _guard_last_owner(user)
    user.role = role
    user.save(update_fields=["role", "updated_at"])
    ended = revoke_credentials(user) if _ROLE_RANK[UserRole(role)] < _ROLE_RANK[UserRole(old)] else 0
    activity_record(
        verb="user.role_changed",
        actor=actor,
        changes={"role": {"old": old, "new": role}},
        metadata={"sessions_ended": ended} if ended else {},
        **target_of(user),
    )
    return user


def _transition(actor: Actor, user: User, action: str, if_match: str | None = None) -> User:
    allowed, to, verb = TRANSITIONS[action]
    user = _locked(user)
    policy.require(actor, "set_status", user)
    require_fresh(user, if_match)
    if user.status not in allowed:
        raise InvalidTransition(f"A user who is {user.status} cannot be {verb.split('.')[1]}.")
    if to != UserStatus.ACTIVE and user.role == UserRole.OWNER and user.status == UserStatus.ACTIVE:
        _guard_last_owner(user)
    if to is None:
        to = UserStatus.ACTIVE if user.has_usable_password() else UserStatus.INVITED
    old, user.status = user.status, to
    user.save(update_fields=["status", "updated_at"])
    ended = revoke_credentials(user)  # any status change ends the user's sessions
    activity_record(
        verb=verb,
        actor=actor,
        changes={"status": {"old": old, "new": to}},
        metadata={"sessions_ended": ended} if ended else {},
        **target_of(user),
    )
    return user


@transaction.atomic
def user_suspend(*, actor: Actor, user: User) -> User:
    return _transition(actor, user, "suspend")


@transaction.atomic
def user_activate(*, actor: Actor, user: User) -> User:
    return _transition(actor, user, "activate")


@transaction.atomic
def user_deactivate(*, actor: Actor, user: User, if_match: str | None = None) -> User:
    return _transition(actor, user, "deactivate", if_match)


@transaction.atomic
def user_restore(*, actor: Actor, user: User) -> User:
    return _transition(actor, user, "restore")


_STATUS_ACTIONS = {UserStatus.SUSPENDED: "suspend", UserStatus.ACTIVE: "activate", UserStatus.DEACTIVATED: "deactivate"}


@transaction.atomic
def user_set_status(*, actor: Actor, user: User, status: str) -> User:
    """The lifecycle by target status (suspended, active, deactivated); a no-op when already there."""
    user = _locked(user)
    policy.require(actor, "set_status", user)
    if status == user.status:
        return user
    return _transition(actor, user, _STATUS_ACTIONS[UserStatus(status)])


@transaction.atomic
def user_record_login(*, user: User) -> None:
    user.last_login = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=user.last_login)
    activity_record(verb="auth.login", actor=Actor.person(user), **target_of(user))


@transaction.atomic
def user_record_failed_login(*, email: str) -> None:
    """Records the email that was tried, and nothing else (not the password, not whether it exists)."""
    activity_record(
        verb="auth.login_failed",
        actor=ANONYMOUS,
        target_type="user",
        target_repr=email[:254],
        metadata={"email": email[:254]},
    )


@transaction.atomic
def user_record_logout(*, user: User | None) -> None:
    if user is not None:
        activity_record(verb="auth.logout", actor=Actor.person(user), **target_of(user))
