"""Reads of users: the directory list with each user's organizations prefetched (one query per page)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from organizations.models import Membership
from users.models import SearchText, User


def _memberships() -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("organization")
        .only("id", "role", "user_id", "organization__id", "organization__name", "organization__slug")
        .order_by("organization__name", "organization_id")
    )


def user_list() -> QuerySet[User]:
    return User.objects.defer("password").prefetch_related(Prefetch("memberships", queryset=_memberships()))


def user_search(queryset: QuerySet[User], text: str) -> QuerySet[User]:
    """Case-insensitive substring of email, names and job title, served by the trigram index on SearchText."""
    return queryset.alias(search_text=SearchText()).filter(search_text__icontains=text)


def members_of(organization_ids) -> Exists:
    return Exists(Membership.objects.filter(user=OuterRef("pk"), organization_id__in=organization_ids))


def user_memberships(user: User) -> QuerySet[Membership]:
    return _memberships().filter(user=user)
