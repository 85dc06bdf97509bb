"""Reads of users: the directory list with each user's organizations prefetched (one query per page).

A page of the list API is read as plain rows with their organizations (`user_rows`): one query, no model
instances, a fraction of the CPU of instantiating, prefetching and serializing models."""

from __future__ import annotations

import uuid

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.db.models.expressions import RawSQL

from organizations.models import Membership
from p360.api.serializers import api_timestamp, parse_api_timestamp
from p360.db import FastJSONField
from users.models import SearchText, User


def _memberships() -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("organization")
        .only("id", "role", "user_id", "organization__id", "organization__name", "organization__slug")
        .order_by("organization__name", "organization_id")
    )


def user_directory() -> QuerySet[User]:
    """The directory to filter, count and page (a page's rows: user_rows)."""
    return User.objects.all()


def user_list() -> QuerySet[User]:
    return User.objects.defer("password").prefetch_related(Prefetch("memberships", queryset=_memberships()))


# The columns of a directory row (never the password hash). Its timestamps are read as the API's text
# (`<name>_text`, api_timestamp): PostgreSQL formats them, Python never parses them.
ROW_FIELDS = ("id", "email", "first_name", "last_name", "role", "status", "job_title", "phone", "timezone", "locale")
ROW_TIMESTAMPS = ("last_login", "created_at", "updated_at")


# A row's organizations, [{"id", "name", "role"}] by organization name, computed by PostgreSQL for the page's rows
# only (a select-list subquery runs after the LIMIT). SQL, because the ORM's equivalent (ArraySubquery of
# JSONObject) costs ~1 ms of compiling per request, more than the separate query it saves.
_ORGANIZATIONS_SQL = (
    "(SELECT coalesce(jsonb_agg(jsonb_build_object('id', m.organization_id, 'name', o.name, 'role', m.role)"
    " ORDER BY o.name, o.id), '[]'::jsonb)"
    " FROM organizations_membership m JOIN organizations_organization o ON o.id = m.organization_id"
    " WHERE m.user_id = users_user.id)"
)


# The expressions a page adds, built once: Django hashes them while compiling (the identity of an expression is
# derived from its constructor's arguments through inspect, ~25 µs each), and a resolved copy keeps the identity
# computed here.
_ROW_ANNOTATIONS = {
    "organizations": RawSQL(_ORGANIZATIONS_SQL, (), output_field=FastJSONField()),  # noqa: S611 - constant SQL, no input
    **{f"{name}_text": api_timestamp(f"users_user.{name}") for name in ROW_TIMESTAMPS},
}
for _expression in _ROW_ANNOTATIONS.values():
    _expression.identity  # noqa: B018 - computed once, copied along with the expression


def user_rows(queryset: QuerySet[User]) -> QuerySet[dict]:
    """The filtered, ordered directory as dicts of ROW_FIELDS, `organizations` and `<timestamp>_text` for each of
    ROW_TIMESTAMPS, in one query and without model instances. For a page's rows (counting it would run the
    subquery for every row counted)."""
    return queryset.prefetch_related(None).annotate(**_ROW_ANNOTATIONS).values(*ROW_FIELDS, *_ROW_ANNOTATIONS)


def user_row_value(row: dict, path: str):
    """The value of an ordering key on a user_rows row (a cursor's): timestamps back from their text."""
    if path in ROW_TIMESTAMPS:
        return parse_api_timestamp(row[f"{path}_text"])
    return row[path]


_USER_FIELDS = User._meta.concrete_fields
_USER_BY_ID = f"SELECT {', '.join(f.column for f in _USER_FIELDS)} FROM users_user WHERE id = %s"


def user_by_id(user_id: uuid.UUID) -> User | None:
    """The user with this id, or None: authentication's lookup on every request, as one plain statement (the
    ORM's get() spends three times the CPU building and reading the same SELECT)."""
    with connection.cursor() as cursor:
        cursor.execute(_USER_BY_ID, [user_id])
        row = cursor.fetchone()
    return None if row is None else User.from_db(DEFAULT_DB_ALIAS, [f.attname for f in _USER_FIELDS], row)


def user_search(queryset: QuerySet[User], text: str) -> QuerySet[User]:
    """Case-insensitive substring of email, names and job title, served by the trigram index on SearchText."""
    return queryset.alias(search_text=SearchText()).filter(search_text__icontains=text)


def members_of(organization_ids) -> Exists:
    return Exists(Membership.objects.filter(user=OuterRef("pk"), organization_id__in=organization_ids))


def user_memberships(user: User) -> QuerySet[Membership]:
    return _memberships().filter(user=user)
