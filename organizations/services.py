"""Writes on organizations and memberships, each with its activity entry in the same transaction. Each takes its
actor (p360.actors) and checks it against organizations.policy first."""

from __future__ import annotations

import re

from django.db import IntegrityError, connection, transaction
from django.utils.text import slugify

from activity.services import activity_record
from organizations import policy
from organizations.models import Membership, MembershipRole, Organization, OrganizationStatus
from p360.actors import Actor
from p360.api.etags import require_fresh
from p360.api.problems import Conflict, FieldErrors, NotFound

_CONSTRAINT_CONFLICTS = {
    "org_sibling_name_unique": ("name_taken", "An organization with this name exists under the same parent."),
    "organizations_organization_slug_key": ("slug_taken", "This slug is taken."),
    "membership_unique": ("already_member", "The user is already a member of this organization."),
}
_TREE_LOCK = 360  # with hashtext(current_schema()): moves take it exclusively, creates shared (per tenant)


def _lock_tree(*, exclusive: bool) -> None:
    """Moves rewrite the ancestors of a subtree: they run alone; creates (which copy a parent's ancestors)
    may run together but never beside a move. Taken before any row lock, so it cannot deadlock with them."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtext(current_schema()), %s)", [_TREE_LOCK])


def _locked(model, pk):
    row = model.objects.select_for_update().filter(pk=pk).first()
    if row is None:
        raise NotFound()
    return row


def _conflict_from(exc: IntegrityError) -> Conflict:
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or ""
    if constraint in _CONSTRAINT_CONFLICTS:
        code, detail = _CONSTRAINT_CONFLICTS[constraint]
        return Conflict(detail, code)
    raise exc


def _target(org: Organization) -> dict:
    return {"target_type": "organization", "target_id": org.pk, "target_repr": org.name}


def _unique_slug(name: str) -> str:
    base = (slugify(name)[:90] or "organization").strip("-") or "organization"
    taken = set(
        Organization.objects.filter(slug__regex=rf"^{re.escape(base)}(-[0-9]+)?$").values_list("slug", flat=True)
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _save(org: Organization, **kwargs) -> None:
    try:
        with transaction.atomic():
            org.save(**kwargs)
    except IntegrityError as exc:
        raise _conflict_from(exc) from None


@transaction.atomic
def organization_create(
    *, actor: Actor, name: str, slug: str | None = None, description: str = "", parent: Organization | None = None
) -> Organization:
    policy.require(actor, "create", parent)
    _lock_tree(exclusive=False)
    if parent is not None:
        parent = Organization.objects.select_for_update().filter(pk=parent.pk).first()
        if parent is None:
            raise FieldErrors([("parent", "does_not_exist", "No organization has this id.")])
        if parent.is_archived:
            raise Conflict("Organizations cannot be created under an archived one.", "parent_archived")
    org = Organization(
        name=name,
        slug=slug or _unique_slug(name),
        description=description,
        parent=parent,
        ancestors=[*parent.ancestors, parent.pk] if parent else [],
    )
    _save(org, force_insert=True)
    activity_record(
        verb="organization.created",
        actor=actor,
        metadata={"parent_id": str(parent.pk) if parent else None},
        subjects=org.ancestors,
        **_target(org),
    )
    return org


def _destination(parent: Organization | None) -> Organization | None:
    """The destination of a move as it is under the tree lock (locked; its place in the tree is current)."""
    if parent is None:
        return None
    locked = Organization.objects.select_for_update().filter(pk=parent.pk).first()
    if locked is None:
        raise FieldErrors([("parent", "does_not_exist", "No organization has this id.")])
    return locked


def _move(org: Organization, parent: Organization | None) -> dict:
    """Re-roots the subtree under `parent` (the tree lock is held, the destination read under it); under itself
    or a descendant: 400 `cycle`."""
    if parent is not None:
        if parent.pk == org.pk or org.pk in parent.ancestors:
            raise FieldErrors(
                [("parent", "cycle", "An organization cannot move under itself or its descendants.")], code="cycle"
            )
        if parent.is_archived:
            raise Conflict("Organizations cannot be moved under an archived one.", "parent_archived")
    old_parent_id = org.parent_id
    new_ancestors = [*parent.ancestors, parent.pk] if parent else []
    with connection.cursor() as cursor:
        # every descendant's ancestors: the new prefix, then what followed this organization
        cursor.execute(
            "UPDATE organizations_organization SET ancestors = %s::uuid[] || ancestors[%s:], updated_at = now()"
            " WHERE ancestors @> ARRAY[%s]::uuid[]",
            [[*new_ancestors, org.pk], len(org.ancestors) + 2, org.pk],
        )
    org.parent, org.ancestors = parent, new_ancestors
    return {"parent": {"old": str(old_parent_id) if old_parent_id else None, "new": str(parent.pk) if parent else None}}


@transaction.atomic
def organization_update(*, actor: Actor, org: Organization, data: dict, if_match: str | None = None) -> Organization:
    """`data` may hold name, slug, description and parent (a move: the actor manages the destination too)."""
    if "parent" in data:
        _lock_tree(exclusive=True)
        data = {**data, "parent": _destination(data["parent"])}  # the rule reads where it is now
    org = _locked(Organization, org.pk)  # the rules read its ancestors as they are now (a move meanwhile counts)
    policy.require(actor, "update", org)
    if "parent" in data:
        policy.require(actor, "move", data["parent"])
    require_fresh(org, if_match)
    changes = {
        f: {"old": getattr(org, f), "new": data[f]}
        for f in ("name", "slug", "description")
        if f in data and getattr(org, f) != data[f]
    }
    for field, change in changes.items():
        setattr(org, field, change["new"])
    moved = "parent" in data and (data["parent"].pk if data["parent"] else None) != org.parent_id
    move_changes = _move(org, data["parent"]) if moved else {}
    if not changes and not move_changes:
        return org
    _save(org, update_fields=[*changes, *(["parent", "ancestors"] if moved else []), "updated_at"])
    if changes:
        activity_record(
            verb="organization.updated", actor=actor, changes=changes, subjects=org.ancestors, **_target(org)
        )
    if move_changes:
        activity_record(
            verb="organization.moved", actor=actor, changes=move_changes, subjects=org.ancestors, **_target(org)
        )
    return org


@transaction.atomic
def organization_delete(*, actor: Actor, org: Organization, if_match: str | None = None) -> None:
    org = _locked(Organization, org.pk)
    policy.require(actor, "delete", org)
    require_fresh(org, if_match)
    if Organization.objects.filter(parent=org).exists():
        raise Conflict("Delete or move its sub-organizations first.", "has_children")
    members = Membership.objects.filter(organization=org).count()
    activity_record(
        verb="organization.deleted",
        actor=actor,
        metadata={"member_count": members},
        subjects=org.ancestors,
        **_target(org),
    )
    org.delete()


def _set_status(actor: Actor, org: Organization, status: str, verb: str) -> Organization:
    org = _locked(Organization, org.pk)
    policy.require(actor, "archive", org)
    if org.status == status:
        raise Conflict(f"The organization is already {status}.", "invalid_transition")
    old, org.status = org.status, status
    org.save(update_fields=["status", "updated_at"])
    activity_record(
        verb=verb, actor=actor, changes={"status": {"old": old, "new": status}}, subjects=org.ancestors, **_target(org)
    )
    return org


@transaction.atomic
def organization_archive(*, actor: Actor, org: Organization) -> Organization:
    return _set_status(actor, org, OrganizationStatus.ARCHIVED, "organization.archived")


@transaction.atomic
def organization_unarchive(*, actor: Actor, org: Organization) -> Organization:
    return _set_status(actor, org, OrganizationStatus.ACTIVE, "organization.unarchived")


# --- memberships ---


def _membership_target(membership: Membership) -> dict:
    org, user = membership.organization, membership.user
    return {
        "target_type": "membership",
        "target_id": membership.pk,
        "target_repr": f"{user.email} in {org.name}",
        "subjects": (org.pk, user.pk, *org.ancestors),
        "metadata": {"organization_id": str(org.pk), "user_id": str(user.pk)},
    }


@transaction.atomic
def membership_add(*, actor: Actor, org: Organization, user, role: str = MembershipRole.MEMBER) -> Membership:
    org = _locked(Organization, org.pk)  # not archived nor deleted meanwhile
    policy.require(actor, "manage_members", org)
    if org.is_archived:
        raise Conflict("Members cannot be added to an archived organization.", "organization_archived")
    if user.status == "deactivated":
        raise Conflict("A deactivated user cannot join organizations.", "user_deactivated")
    membership = Membership(organization=org, user=user, role=role)
    try:
        with transaction.atomic():
            membership.save(force_insert=True)
    except IntegrityError as exc:
        raise _conflict_from(exc) from None
    activity_record(
        verb="membership.added",
        actor=actor,
        changes={"role": {"old": None, "new": role}},
        **_membership_target(membership),
    )
    return membership


@transaction.atomic
def _locked_membership(membership: Membership) -> Membership:
    row = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("organization", "user")
        .filter(pk=membership.pk)
        .first()
    )
    if row is None:
        raise NotFound()
    return row


@transaction.atomic
def membership_update(*, actor: Actor, membership: Membership, role: str, if_match: str | None = None) -> Membership:
    membership = _locked_membership(membership)
    policy.require(actor, "manage_members", membership.organization)
    require_fresh(membership, if_match)
    if membership.role == role:
        return membership
    old, membership.role = membership.role, role
    membership.save(update_fields=["role", "updated_at"])
    activity_record(
        verb="membership.updated",
        actor=actor,
        changes={"role": {"old": old, "new": role}},
        **_membership_target(membership),
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership, if_match: str | None = None) -> None:
    membership = _locked_membership(membership)  # of two concurrent removals, one finds nothing: 404
    policy.require(actor, "manage_members", membership.organization)
    require_fresh(membership, if_match)
    activity_record(
        verb="membership.removed",
        actor=actor,
        changes={"role": {"old": membership.role, "new": None}},
        **_membership_target(membership),
    )
    membership.delete()
