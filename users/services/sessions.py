"""Sessions (users.models.UserSession, one per sign-in): a person ends their own, one or all but the current;
an owner or admin ends every session of a user (users.policy, "revoke_sessions"); a change of credentials
(password, status, a lower role) ends them all. An ended session's refresh and access tokens stop at once
(users.tokens reads the session on every request). Each ending by a person is recorded; an ending caused by
another change is counted in that change's entry."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from activity.services import activity_record
from p360.actors import SYSTEM, Actor
from users import policy
from users.models import SessionEnd, User, UserSession
from users.services.accounts import target_of

__all__ = [
    "session_end", "session_sign_out", "sessions_end_all", "sessions_end_others", "sessions_end_reused",
    "sessions_over_limit", "sessions_prune", "user_sessions_end",
]  # fmt: skip


def _end(queryset, reason: str) -> list:
    """Ends the sessions of the queryset that have not ended (locked first, so that a concurrent refresh of one
    of them either finished before or sees it ended); returns their ids."""
    ids = list(queryset.filter(ended_at__isnull=True).select_for_update().order_by("id").values_list("id", flat=True))
    if ids:
        UserSession.objects.filter(pk__in=ids).update(ended_at=timezone.now(), end_reason=reason)
    return ids


def _record(actor: Actor, user: User, ids: list, reason: str) -> None:
    verb = "auth.session_revoked" if len(ids) == 1 else "auth.sessions_revoked"
    metadata = {"reason": reason, "count": len(ids), "sessions": [str(i) for i in ids[:100]]}
    activity_record(verb=verb, actor=actor, metadata=metadata, **target_of(user))


def _end_by(actor: Actor, user: User, sessions) -> int:
    """The actor ends these sessions of the user, if the policy lets them; recorded when any ended."""
    policy.require(actor, "revoke_sessions", user)
    reason = SessionEnd.REVOKED if actor.is_user(user) else SessionEnd.REVOKED_BY_ADMIN
    ids = _end(sessions, reason)
    if ids:
        _record(actor, user, ids, reason)
    return len(ids)


@transaction.atomic
def session_end(*, actor: Actor, session: UserSession) -> None:
    """One session ends (DELETE /auth/sessions/{id}: the caller's own, the current one included)."""
    _end_by(actor, session.user, UserSession.objects.filter(pk=session.pk))


@transaction.atomic
def sessions_end_others(*, actor: Actor, user: User, keep) -> int:
    """Every session of the user but `keep` (the caller's current one) ends."""
    return _end_by(actor, user, UserSession.objects.filter(user=user).exclude(pk=keep))


@transaction.atomic
def user_sessions_end(*, actor: Actor, user: User) -> int:
    """Every session of the user ends at once, their access tokens with them (POST /users/{id}/sessions/revoke)."""
    return _end_by(actor, user, UserSession.objects.filter(user=user))


def session_sign_out(session: UserSession) -> None:
    """Logout with the session's refresh token (users.tokens; recorded by the caller as `auth.logout`)."""
    _end(UserSession.objects.filter(pk=session.pk), SessionEnd.LOGOUT)


def sessions_end_all(user: User, reason: str = SessionEnd.CREDENTIALS_CHANGED) -> int:
    """Inside the change that causes it (a password, status or role change, recorded by that change)."""
    return len(_end(UserSession.objects.filter(user=user), reason))


@transaction.atomic
def sessions_end_reused(session: UserSession) -> None:
    """A refresh token that was already spent came back after the grace: whoever holds the family may have
    stolen it, so the session ends (RFC 9700, 4.14.2) and the system records why."""
    if _end(UserSession.objects.filter(pk=session.pk), SessionEnd.REFRESH_REUSED):
        _record(SYSTEM, session.user, [session.pk], SessionEnd.REFRESH_REUSED)


def sessions_over_limit(user: User) -> None:
    """At sign-in: beyond P360_SESSIONS_PER_USER live sessions, the least recently used end."""
    limit = settings.P360_SESSIONS_PER_USER
    live = UserSession.objects.filter(user=user, ended_at__isnull=True).order_by("-last_used_at", "-id")
    stale = list(live.values_list("id", flat=True)[limit : limit + 1000])
    if stale:
        _end(UserSession.objects.filter(pk__in=stale), SessionEnd.LIMIT)


def sessions_prune(older_than, batch: int = 10_000) -> int:
    """Deletes the sessions of the current schema that ended or expired before the cutoff, in batches (manage.py
    prune_sessions); returns how many. Live sessions are never touched."""
    cutoff = timezone.now() - older_than
    total = 0
    # one condition at a time, each an index range that a batch reads only as far as it needs (an OR of the two
    # would be a bitmap of every stale row, built again for each batch)
    for stale in (UserSession.objects.filter(expires_at__lt=cutoff), UserSession.objects.filter(ended_at__lt=cutoff)):
        while ids := list(stale.values_list("id", flat=True)[:batch]):
            total += UserSession.objects.filter(pk__in=ids).delete()[0]
    return total
