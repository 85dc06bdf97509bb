"""The CSV columns of a user export (the import reads the same names back)."""

from users.models import User

EXPORT_HEADER = [
    "id", "email", "first_name", "last_name", "role", "status", "job_title", "phone", "timezone", "locale",
    "organizations", "last_login", "created_at",
]  # fmt: skip


def _stamp(value) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def export_row(user: User) -> list:
    organizations = ";".join(m.organization.slug for m in user.memberships.all())
    return [
        str(user.id), user.email, user.first_name, user.last_name, user.role, user.status, user.job_title,
        user.phone, user.timezone, user.locale, organizations, _stamp(user.last_login), _stamp(user.created_at),
    ]  # fmt: skip
