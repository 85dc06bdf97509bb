"""Reads of users: the directory list with each user's organizations, in one query per page.

The list API reads the directory in SQL (DirectoryRows): PostgreSQL writes each row of a page as the API's JSON,
with its organizations, and the page embeds that text as it is. The ORM's reading of the same rows (`user_rows`,
then users.api.serializers.user_list_rows) is the reference the SQL is held to (users/tests/test_directory_sql.py)."""

from __future__ import annotations

import uuid

import orjson
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.db.models.expressions import RawSQL

from organizations.models import Membership
from p360.api.counts import planned_rows
from p360.api.keyset import keyset_sql
from p360.api.ordering import OrderKey
from p360.api.rows import RowSource
from p360.api.serializers import api_timestamp, parse_api_timestamp
from p360.db import FastJSONField
from users.models import SearchText, User, UserSession, UserStatus


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
    ROW_TIMESTAMPS, in one query and without model instances: the ORM's reading of a page, which DirectoryRows'
    SQL must equal (counting it would run the subquery for every row counted)."""
    return queryset.prefetch_related(None).annotate(**_ROW_ANNOTATIONS).values(*ROW_FIELDS, *_ROW_ANNOTATIONS)


def user_row_value(row: dict, path: str):
    """The value of an ordering key on a user_rows row (a cursor's): timestamps back from their text."""
    if path in ROW_TIMESTAMPS:
        return parse_api_timestamp(row[f"{path}_text"])
    return row[path]


_USER_FIELDS = User._meta.concrete_fields
_USER_COLUMNS = frozenset(field.column for field in _USER_FIELDS) - {"password"}
_USER_BY_ID = f"SELECT {', '.join(f.column for f in _USER_FIELDS)} FROM users_user WHERE id = %s"


def user_by_id(user_id: uuid.UUID) -> User | None:
    """The user with this id, or None: authentication's lookup on every request, as one plain statement (the
    ORM's get() spends three times the CPU building and reading the same SELECT)."""
    with connection.cursor() as cursor:
        cursor.execute(_USER_BY_ID, [user_id])
        row = cursor.fetchone()
    return None if row is None else User.from_db(DEFAULT_DB_ALIAS, [f.attname for f in _USER_FIELDS], row)


_USER_BY_SESSION = (
    f"SELECT {', '.join('u.' + f.column for f in _USER_FIELDS)}, s.last_used_at FROM users_user u"
    " JOIN users_usersession s ON s.user_id = u.id AND s.id = %s AND s.ended_at IS NULL WHERE u.id = %s"
)


def user_by_session(user_id: uuid.UUID, session_id: uuid.UUID) -> tuple[User, object] | None:
    """The user with this id and the last use of their session, when that session has not ended; else None.
    Authentication's lookup on every request: one statement, as user_by_id (the session is a primary-key probe)."""
    with connection.cursor() as cursor:
        cursor.execute(_USER_BY_SESSION, [session_id, user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return User.from_db(DEFAULT_DB_ALIAS, [f.attname for f in _USER_FIELDS], row[:-1]), row[-1]


def sessions_live(user: User) -> QuerySet[UserSession]:
    """The user's sessions that have not ended nor expired, the most recently used first."""
    return UserSession.objects.live().filter(user=user).order_by("-last_used_at", "-id")


def user_search(queryset: QuerySet[User], text: str) -> QuerySet[User]:
    """Case-insensitive substring of email, names and job title, served by the trigram index on SearchText."""
    return queryset.alias(search_text=SearchText()).filter(search_text__icontains=text)


def members_of(organization_ids) -> Exists:
    return Exists(Membership.objects.filter(user=OuterRef("pk"), organization_id__in=organization_ids))


def user_memberships(user: User) -> QuerySet[Membership]:
    return _memberships().filter(user=user)


# --- the directory's page mode in SQL ---

# What users.api.filters.UserFilter does, written as SQL on users_user: page mode reads its count and rows with
# these (DirectoryRows) instead of building and compiling the ORM's query (~40 % of the CPU of a list request,
# profiled). Each condition is the SQL the ORM writes for the filter, so the same indexes serve it (the search's
# expression is the trigram index's); users/tests/test_directory_sql.py holds the two to the same rows, counts
# and order over every filter, their combinations and every ordering.
_SEARCH_SQL = (
    'UPPER(("users_user"."email" || \' \' || "users_user"."first_name" || \' \' || "users_user"."last_name"'
    ' || \' \' || "users_user"."job_title")::text) LIKE UPPER(%s)'
)
_MEMBER_OF_SQL = (
    'EXISTS (SELECT 1 FROM "organizations_membership" m'
    ' WHERE m."user_id" = "users_user"."id" AND m."organization_id" IN ({}))'
)
_RANGES = {
    "created_after": '"users_user"."created_at" >= %s',
    "created_before": '"users_user"."created_at" < %s',
    "last_login_after": '"users_user"."last_login" >= %s',
    "last_login_before": '"users_user"."last_login" < %s',
}
_ORDER_COLUMNS = frozenset({"id", "email", "first_name", "last_name", "role", "status", "created_at", "last_login"})
_FACET_COLUMNS = frozenset({"status", "role"})
_PAGE_COLUMNS = ", ".join(f'"users_user"."{name}"' for name in (*ROW_FIELDS, *ROW_TIMESTAMPS))
# What str.strip() removes around the API's full_name (Unicode whitespace, not only spaces), for btrim().
_WHITESPACE = "E'" + "".join(f"\\u{ord(ch):04x}" for ch in map(chr, range(0x10000)) if ch.isspace()) + "'"
# A page row as the API's JSON, written by PostgreSQL: the fields of users.api.serializers.user_list_rows, in its
# order, compact (row_to_json of a row of exactly those columns; organizations as the same kind of array).
_ORGANIZATIONS_JSON = (
    "(SELECT coalesce('[' || string_agg(row_to_json(o)::text, ',' ORDER BY o.name, o.id) || ']', '[]')::json"
    " FROM (SELECT m.organization_id AS id, org.name, m.role FROM organizations_membership m"
    " JOIN organizations_organization org ON org.id = m.organization_id WHERE m.user_id = users_user.id) o)"
)
_ROW_JSON = (
    "(SELECT row_to_json(api)::text FROM (SELECT"
    ' "users_user"."id"::text AS id, "users_user"."email", "users_user"."first_name", "users_user"."last_name",'
    f' btrim("users_user"."first_name" || \' \' || "users_user"."last_name", {_WHITESPACE}) AS full_name,'
    ' "users_user"."role", "users_user"."status", "users_user"."job_title", "users_user"."phone",'
    f' "users_user"."timezone", "users_user"."locale", {_ORGANIZATIONS_JSON} AS organizations,'
    + ", ".join(f"{_ROW_ANNOTATIONS[f'{name}_text'].sql} AS {name}" for name in ROW_TIMESTAMPS)
    + ") api)"
)


class DirectoryRow:
    """A row of the directory's SQL: the API's JSON of one person (`json`, as PostgreSQL wrote it), which a page
    embeds as it is (orjson.Fragment); `data()` is it parsed (a cursor's values, tests)."""

    __slots__ = ("_data", "json")

    def __init__(self, json: str):
        self.json = json
        self._data = None

    def data(self) -> dict:
        if self._data is None:
            self._data = orjson.loads(self.json)
        return self._data

    def __eq__(self, other):
        return isinstance(other, DirectoryRow) and other.json == self.json

    __hash__ = None

    def __repr__(self):
        return f"DirectoryRow({self.json!r})"


def page_json(rows: list[DirectoryRow]) -> orjson.Fragment:
    """A page's rows as the JSON array the API answers, with no Python object per field."""
    return orjson.Fragment("[" + ",".join(row.json for row in rows) + "]")


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def directory_conditions(cleaned: dict, hides_deactivated: bool) -> tuple[list[str], list]:
    """The WHERE conditions (ANDed) and their parameters for UserFilter's cleaned values (and its
    hides_deactivated: no `status=` value given)."""
    conditions, params = [], []
    search = (cleaned.get("search") or "").strip()
    if search:
        conditions.append(_SEARCH_SQL)
        params.append(f"%{connection.ops.prep_for_like_query(search)}%")
    for name in ("status", "role"):
        values = list(dict.fromkeys(cleaned.get(name) or ()))
        if values:  # OR, as django-filter writes it (an IN list is estimated otherwise)
            conditions.append("(" + " OR ".join([f'"users_user"."{name}" = %s'] * len(values)) + ")")
            params += values
    if hides_deactivated:
        conditions.append('"users_user"."status" <> %s')
        params.append(UserStatus.DEACTIVATED)
    organizations = list(dict.fromkeys(cleaned.get("organization") or ()))
    if organizations:
        conditions.append(_MEMBER_OF_SQL.format(_placeholders(organizations)))
        params += organizations
    for name, condition in _RANGES.items():
        if cleaned.get(name) is not None:
            conditions.append(condition)
            params.append(cleaned[name])
    return conditions, params


def _sort_column(key: OrderKey, value: str | None = None) -> str:
    """A sort key's SQL: the column, or for last_login (the one that can be NULL) the index's never-NULL
    expression (users.models.login_sort_key), so that NULLs come last and a position is one range. With
    `value` (a placeholder), the same expression of that value instead of the column."""
    if key.field not in _ORDER_COLUMNS:
        raise ValueError(f"not a directory sort column: {key.field!r}")
    if not key.nullable:
        return value or f'"users_user"."{key.field}"'
    operand = f"{value}::timestamptz" if value else f'"users_user"."{key.field}"'
    return f"COALESCE({operand}, '{'-infinity' if key.descending else 'infinity'}'::timestamptz)"


def directory_order_by(keys: list[OrderKey], reverse: bool = False) -> str:
    """ORDER BY for the list's keys, as OrderKey.expression() sorts (NULLs last in the list's direction, first
    walking it in reverse)."""
    return ", ".join(f"{_sort_column(key)} {'DESC' if key.descending != reverse else 'ASC'}" for key in keys)


class DirectoryRows(RowSource):
    """The directory as a row source (counts, pages, cursor walks, anchors) in plain SQL, rows as user_rows gives
    them."""

    model = User

    def __init__(self, cleaned: dict, hides_deactivated: bool, keys: list[OrderKey]):
        self.conditions, self.params = directory_conditions(cleaned, hides_deactivated)
        self.keys = keys
        self.order_by = directory_order_by(keys)
        self._columns = [f'"users_user"."{key.field}"' for key in keys]
        # positions compare on the sort expressions (never NULL), their values through the same expression
        self._sort = [_sort_column(key) for key in keys]
        self._values = [_sort_column(key, "%s") for key in keys]
        self._sort_keys = [OrderKey(key.field, key.descending, False) for key in keys]
        self.where = self._where()  # the list's own WHERE clause

    def _where(self, extra: list[str] = ()) -> str:
        conditions = [*self.conditions, *extra]
        return f" WHERE {' AND '.join(conditions)}" if conditions else ""

    def _one(self, sql: str, params: list):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def bounded_count(self, limit: int) -> int:
        sql = f'SELECT count(*) FROM (SELECT 1 FROM "users_user"{self._where()} LIMIT %s) matched'
        return self._one(sql, [*self.params, limit])

    def estimated_count(self) -> int:
        return planned_rows(f'SELECT 1 FROM "users_user"{self._where()}', self.params)

    def rows(self, offset: int, limit: int) -> list[dict]:
        return self._read(self._where(), self.params, self.order_by, limit, offset)

    def after(self, values, backwards, limit, offset=0):
        where, params = self._where(), self.params
        if values is not None:
            condition, keyset_params = keyset_sql(self._sort, self._sort_keys, values, backwards, self._values)
            where, params = self._where([condition]), [*self.params, *keyset_params]
        order_by = directory_order_by(self.keys, reverse=True) if backwards else self.order_by
        return self._read(where, params, order_by, limit, offset)

    def key_values(self, row: DirectoryRow) -> list:
        data = row.data()
        return [_api_value(data, key.field) for key in self.keys]

    def key_scan(self):
        columns = ", ".join(self._columns)
        return f'SELECT {columns} FROM "users_user"{self._where()} ORDER BY {self.order_by}', list(self.params)

    def select_sql(self, columns):
        for column in columns:
            if column not in _USER_COLUMNS:
                raise ValueError(f"not a column of the directory: {column!r}")
        selected = ", ".join(f'"users_user"."{column}"' for column in columns)
        return f'SELECT {selected} FROM "users_user"{self._where()}', list(self.params)

    def value_counts(self, field):
        if field not in _FACET_COLUMNS:
            raise ValueError(f"not a facet of the directory: {field!r}")
        sql = f'SELECT "users_user"."{field}", count(*) FROM "users_user"{self._where()} GROUP BY 1'
        with connection.cursor() as cursor:
            cursor.execute(sql, self.params)
            return dict(cursor.fetchall())

    def _read(self, where: str, params: list, order_by: str, limit: int, offset: int) -> list[DirectoryRow]:
        """The rows as DirectoryRow. The page is found on the bare columns first (ORDER BY, LIMIT, OFFSET), and only
        its rows are written as JSON with their organizations: a select-list subquery next to an OFFSET would run
        for every row skipped too (page 401 of the active people: 183 ms instead of 7). PostgreSQL writes the JSON:
        reading thirteen columns a row into Python, building a dict and serializing it cost the worker more than
        the statement itself."""
        page = f'SELECT {_PAGE_COLUMNS} FROM "users_user"{where} ORDER BY {order_by} LIMIT %s OFFSET %s'
        sql = f'SELECT {_ROW_JSON} FROM ({page}) AS "users_user" ORDER BY {order_by}'
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            return [DirectoryRow(json) for (json,) in cursor.fetchall()]


def _api_value(data: dict, field: str):
    """An ordering key's value in a row's API JSON, as Python (a cursor's)."""
    if field == "id":
        return uuid.UUID(data["id"])
    if field in ROW_TIMESTAMPS:
        return parse_api_timestamp(data[field])
    return data[field]
