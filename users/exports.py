"""The users export: the CSV columns (the import reads the same names back), written by PostgreSQL.

`export_copy_sql` turns the directory's row source (users.selectors.DirectoryRows: the list's own filters and
ordering, as the list reads them) into one `COPY (SELECT ...) TO STDOUT (FORMAT csv)`: PostgreSQL formats
every cell (timestamps as the API writes them, organizations as `;`-separated slugs by name, formula starts
neutralised) and the worker only relays bytes (p360/api/exports.py: copy_stream). One statement: the export
is one consistent snapshot, however long. `export_row` is the same row in Python, the reference the tests
hold the SQL to.
"""

from __future__ import annotations

from django.db import connection

from p360.api.exports import copy_csv_sql, neutralised_sql, order_sql
from p360.api.serializers import api_timestamp_sql
from users.models import User

EXPORT_HEADER = [
    "id", "email", "first_name", "last_name", "role", "status", "job_title", "phone", "timezone", "locale",
    "organizations", "last_login", "created_at",
]  # fmt: skip

# The directory's columns that the cells read. Each user's organizations come from one aggregate of every
# membership joined to the rows (~2.3 us a membership) when the export is large, or from a subquery per row
# (~10 us a row) when it is small: the aggregate wins from about a quarter as many rows as memberships.
_COLUMNS = [*EXPORT_HEADER[:10], "last_login", "created_at"]
_SLUGS = (
    "SELECT {user_id}string_agg(o.slug, ';' ORDER BY o.name, o.id) AS slugs"
    " FROM organizations_membership m JOIN organizations_organization o ON o.id = m.organization_id"
)
_AGGREGATE = f"LEFT JOIN ({_SLUGS.format(user_id='m.user_id, ')} GROUP BY m.user_id) orgs ON orgs.user_id = r.id"
_EACH = f"(SELECT {neutralised_sql('slugs')} FROM ({_SLUGS.format(user_id='')} WHERE m.user_id = r.id) orgs)"
AGGREGATE_FROM = 0.25  # rows per membership


def _cells(organizations: str) -> list[str]:
    return [
        "r.id::text",
        *(neutralised_sql(f"r.{name}") for name in EXPORT_HEADER[1:10]),
        organizations,
        api_timestamp_sql("r.last_login"),
        api_timestamp_sql("r.created_at"),
    ]


def export_copy_sql(source) -> tuple[str, tuple]:
    """The COPY statement (and its parameters) that writes a row source's users, in its order, as CSV rows."""
    rows = source.select_sql(_COLUMNS)
    order = order_sql(source.keys, User, "r")
    if source.estimated_count() >= AGGREGATE_FROM * _memberships():
        return copy_csv_sql(rows, _cells(neutralised_sql("r.slugs")), order, _AGGREGATE, "orgs.slugs")
    return copy_csv_sql(rows, _cells(_EACH), order)


def _memberships() -> float:
    """The planner's count of memberships (pg_class.reltuples: no scan)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'organizations_membership'::regclass")
        return cursor.fetchone()[0]


def _stamp(value) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def export_row(user: User) -> list:
    """One user's cells in Python (before neutralisation): the reference of the SQL above."""
    organizations = ";".join(m.organization.slug for m in user.memberships.all())
    return [
        str(user.id), user.email, user.first_name, user.last_name, user.role, user.status, user.job_title,
        user.phone, user.timezone, user.locale, organizations, _stamp(user.last_login), _stamp(user.created_at),
    ]  # fmt: skip
