"""The users export: the CSV columns (the import reads the same names back), written by PostgreSQL.

`export_copy_sql` turns the directory queryset, filtered and ordered by the list's own filter and ordering
backends, into one `COPY (SELECT ...) TO STDOUT (FORMAT csv)`: PostgreSQL formats every cell (timestamps as
the API writes them, organizations as `;`-separated slugs by name, formula starts neutralised) and the
worker only relays bytes (p360/api/exports.py: copy_stream). One statement: the export is one consistent
snapshot, however long. `export_row` is the same row in Python, the reference the tests hold the SQL to.
"""

from __future__ import annotations

from django.db.models.expressions import RawSQL

from p360.api.exports import neutralised_sql
from p360.api.serializers import api_timestamp_sql
from users.models import User

EXPORT_HEADER = [
    "id", "email", "first_name", "last_name", "role", "status", "job_title", "phone", "timezone", "locale",
    "organizations", "last_login", "created_at",
]  # fmt: skip

_TABLE = '"users_user"'
_ORGANIZATIONS = (
    "(SELECT {cell} FROM (SELECT string_agg(o.slug, ';' ORDER BY o.name, o.id) AS slugs"
    " FROM organizations_membership m JOIN organizations_organization o ON o.id = m.organization_id"
    f" WHERE m.user_id = {_TABLE}.id) AS organizations)"
).format(cell=neutralised_sql("slugs"))
_CELLS = [
    f"{_TABLE}.id::text",
    *(neutralised_sql(f"{_TABLE}.{name}") for name in EXPORT_HEADER[1:10]),
    _ORGANIZATIONS,
    api_timestamp_sql(f"{_TABLE}.last_login"),
    api_timestamp_sql(f"{_TABLE}.created_at"),
]


def export_copy_sql(queryset) -> tuple[str, tuple]:
    """The COPY statement (and its parameters) that writes the queryset's users as the export's CSV rows."""
    cells = {f"export_{index}": RawSQL(sql, ()) for index, sql in enumerate(_CELLS)}  # noqa: S611 - constants
    rows = queryset.prefetch_related(None).annotate(**cells).values_list(*cells)
    sql, params = rows.query.sql_with_params()
    return f"COPY ({sql}) TO STDOUT (FORMAT csv)", params


def _stamp(value) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def export_row(user: User) -> list:
    """One user's cells in Python (before neutralisation): the reference of the SQL above."""
    organizations = ";".join(m.organization.slug for m in user.memberships.all())
    return [
        str(user.id), user.email, user.first_name, user.last_name, user.role, user.status, user.job_title,
        user.phone, user.timezone, user.locale, organizations, _stamp(user.last_login), _stamp(user.created_at),
    ]  # fmt: skip
