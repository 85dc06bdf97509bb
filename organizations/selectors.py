"""Reads of organizations and memberships, with the counts, paths and joins a page needs (no N+1)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from organizations.models import Membership, MembershipRole, Organization


def _count_of(queryset, group_by: str):
    counted = queryset.order_by().values(group_by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def organization_list() -> QuerySet[Organization]:
    """Organizations with `member_count` and `child_count`, each one correlated subquery per row."""
    return Organization.objects.annotate(
        member_count=_count_of(Membership.objects.filter(organization=OuterRef("pk")), "organization"),
        child_count=_count_of(Organization.objects.filter(parent=OuterRef("pk")), "parent"),
    )


def organization_get(org_id) -> Organization:
    return organization_list().get(pk=org_id)


def organization_paths(organizations: Iterable[Organization]) -> dict:
    """{org id: [{"id", "name"}, ...] root first} for a page of organizations, in one query."""
    organizations = list(organizations)
    wanted = {ancestor for org in organizations for ancestor in org.ancestors}
    names = dict(Organization.objects.filter(pk__in=wanted).values_list("id", "name")) if wanted else {}
    return {org.pk: [{"id": a, "name": names.get(a, "")} for a in org.ancestors] for org in organizations}


def organization_subtree(org: Organization) -> Q:
    """The organization and every descendant."""
    return Q(pk=org.pk) | Q(ancestors__contains=[org.pk])


def membership_list(org: Organization, *, include_descendants: bool = False) -> QuerySet[Membership]:
    scope = (
        Q(organization__in=Organization.objects.filter(organization_subtree(org)))
        if include_descendants
        else Q(organization=org)
    )
    return (
        Membership.objects.filter(scope)
        .select_related("user", "organization")
        .only(
            "id", "role", "joined_at", "updated_at", "organization__id", "organization__name",
            "user__id", "user__email", "user__first_name", "user__last_name", "user__status",
        )
    )  # fmt: skip


def admin_organization_ids(user) -> set:
    """The organizations the user administers directly (their descendants are in scope too)."""
    return set(
        Membership.objects.filter(user=user, role=MembershipRole.ADMIN).values_list("organization_id", flat=True)
    )
