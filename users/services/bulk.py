"""POST /users/bulk: one action on up to 1,000 users, each in its own savepoint, with a result per user."""

from __future__ import annotations

from django.db import transaction

from organizations import policy as organizations_policy
from organizations.models import Membership, Organization
from organizations.services import membership_add, membership_remove
from p360.actors import Actor
from p360.api.problems import NotFound, Problem
from users import policy
from users.models import User
from users.services import accounts

STATUS_ACTIONS = {
    "suspend": accounts.user_suspend,
    "activate": accounts.user_activate,
    "deactivate": accounts.user_deactivate,
    "restore": accounts.user_restore,
}


def _one(actor: Actor, user: User, action: str, role: str | None, organization: Organization | None) -> None:
    """One user's action, through the service that checks it (users.policy, organizations.policy)."""
    if action in STATUS_ACTIONS:
        STATUS_ACTIONS[action](actor=actor, user=user)
    elif action == "set_role":
        accounts.user_set_role(actor=actor, user=user, role=role)
    elif action == "add_to_organization":
        membership_add(actor=actor, org=organization, user=user)
    else:
        membership = (
            Membership.objects.select_related("organization", "user")
            .filter(organization=organization, user=user)
            .first()
        )
        if membership is None:
            raise Problem(
                "The user is not a member of this organization.", "not_a_member", status_code=409, title="Conflict"
            )
        membership_remove(actor=actor, membership=membership)


def users_bulk(
    *, actor: Actor, action: str, ids: list, role: str | None = None, organization: Organization | None = None
) -> dict:
    policy.require(actor, "bulk")
    if organization is not None:
        organizations_policy.require(actor, "manage_members", organization)  # refused once, not per user
    users = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    results = []
    for user_id in dict.fromkeys(ids):  # each id once, in the order given
        try:
            with transaction.atomic():
                user = users.get(user_id)
                if user is None:
                    raise NotFound("No user has this id.")
                _one(actor, user, action, role, organization)
            results.append({"id": user_id, "ok": True})
        except Problem as exc:
            results.append({"id": user_id, "ok": False, "code": exc.code, "detail": _detail(exc)})
    succeeded = sum(1 for r in results if r["ok"])
    return {"succeeded": succeeded, "failed": len(results) - succeeded, "results": results}


def _detail(exc: Problem) -> str:
    errors = getattr(exc, "errors", None)
    return "; ".join(e["message"] for e in errors) if errors else str(exc.detail)
