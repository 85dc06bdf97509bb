"""CSV import of users: every row validated first (all errors reported with their row numbers), then,
unless it is a dry run, one upsert by email in one transaction, with its activity entries."""

from __future__ import annotations

import csv
import io
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from activity.services import activity_record, activity_record_many
from organizations.models import Membership, Organization, OrganizationStatus
from p360.api.problems import FieldErrors
from users.models import User, UserRole, UserStatus
from users.services.accounts import target_of

COLUMNS = ("email", "first_name", "last_name", "role", "job_title", "phone", "organizations")
REQUIRED = ("email", "first_name", "last_name")
UPDATABLE = ("first_name", "last_name", "role", "job_title", "phone")
MAX_ROWS = 100_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LIMITS = {"first_name": 150, "last_name": 150, "job_title": 200, "phone": 50}


class ImportErrors(FieldErrors):
    default_code = "invalid_rows"
    default_detail = "The file has invalid rows; nothing was imported."


def parse_csv(raw: bytes) -> list[dict]:
    """Rows as dicts of the known columns; a header that lacks a required column, or has unknown ones, is a 400."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FieldErrors([("file", "invalid", f"The file is not UTF-8 (byte {exc.start}).")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        problems = [("file", "missing_column", f"Missing column {c!r}.") for c in missing]
        problems += [("file", "unknown_column", f"Unknown column {c!r}; known: {', '.join(COLUMNS)}.") for c in unknown]
        raise FieldErrors(problems)
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            if len(rows) >= MAX_ROWS:
                raise FieldErrors([("file", "too_many_rows", f"At most {MAX_ROWS} rows per import.")])
            if None in row:
                row.pop(None)
            rows.append({key: (value or "").strip() for key, value in row.items()})
    except csv.Error as exc:
        raise FieldErrors([("file", "invalid", f"Malformed CSV at line {reader.line_num}: {exc}")]) from None
    return rows


def _validate(rows: list[dict], actor: User, org_ids: dict) -> tuple[list[dict], list[dict]]:
    errors, clean, seen = [], [], {}
    for number, row in enumerate(rows, start=2):  # the header is row 1

        def error(field, code, message, number=number):
            errors.append({"row": number, "field": field, "code": code, "message": message})

        email = row.get("email", "")
        try:
            validate_email(email)
        except ValidationError:
            error("email", "invalid", f"{email!r} is not a valid email address.")
        if email.lower() in seen:
            error("email", "duplicate", f"Also in row {seen[email.lower()]}.")
        seen.setdefault(email.lower(), number)
        for field in ("first_name", "last_name", "job_title", "phone"):
            value = row.get(field, "")
            if field in REQUIRED and not value:
                error(field, "required", "This field is required.")
            if len(value) > _LIMITS[field]:
                error(field, "max_length", f"At most {_LIMITS[field]} characters.")
            if _CONTROL.search(value):
                error(field, "invalid", "Control characters are not allowed.")
        role = row.get("role") or UserRole.MEMBER
        if role not in UserRole.values:
            error("role", "invalid_choice", f"{role!r} is not one of {', '.join(UserRole.values)}.")
        elif role == UserRole.OWNER and actor.role != UserRole.OWNER:
            error("role", "not_allowed", "Only owners may grant the owner role.")
        slugs = [s.strip() for s in row.get("organizations", "").split(";") if s.strip()]
        for slug in slugs:
            if slug not in org_ids:
                error("organizations", "does_not_exist", f"No active organization has the slug {slug!r}.")
        clean.append(
            {
                **{f: row.get(f, "") for f in UPDATABLE},
                "email": email,
                "role": role,
                "organizations": slugs,
                "row": number,
            }
        )
    return clean, errors


def users_import(*, raw: bytes, actor: User, dry_run: bool = False) -> dict:
    rows = parse_csv(raw)
    org_ids = dict(Organization.objects.filter(status=OrganizationStatus.ACTIVE).values_list("slug", "id"))
    clean, errors = _validate(rows, actor, org_ids)
    existing = {
        u.email_lower: u
        for u in User.objects.annotate(email_lower=Lower("email")).filter(
            email_lower__in=[r["email"].lower() for r in clean]
        )
    }
    creates, updates, unchanged = [], [], 0
    for row in clean:
        user = existing.get(row["email"].lower())
        if user is None:
            creates.append(row)
            continue
        changes = {f: {"old": getattr(user, f), "new": row[f]} for f in UPDATABLE if row[f] != getattr(user, f)}
        if changes and user.role == UserRole.OWNER and actor.role != UserRole.OWNER:
            errors.append(
                {
                    "row": row["row"],
                    "field": "email",
                    "code": "not_allowed",
                    "message": "Only owners may change owners.",
                }
            )
        elif "role" in changes and user.role == UserRole.OWNER:
            errors.append(
                {
                    "row": row["row"],
                    "field": "role",
                    "code": "not_allowed",
                    "message": "Change an owner's role with set_role.",
                }
            )
        if changes:
            updates.append((user, row, changes))
        elif not _new_memberships(user, row, org_ids):
            unchanged += 1
        else:
            updates.append((user, row, {}))
    if errors:
        raise ImportErrors(sorted(errors, key=lambda e: (e["row"], e["field"])))
    result = {"created": len(creates), "updated": len(updates), "unchanged": unchanged, "dry_run": dry_run}
    if not dry_run:
        _write(creates, updates, org_ids, result)
    return result


def _new_memberships(user: User, row: dict, org_ids: dict) -> bool:
    if not row["organizations"]:
        return False
    wanted = {org_ids[s] for s in row["organizations"]}
    return bool(
        wanted
        - set(
            Membership.objects.filter(user=user, organization_id__in=wanted).values_list("organization_id", flat=True)
        )
    )


@transaction.atomic
def _write(creates: list[dict], updates: list, org_ids: dict, result: dict) -> None:
    new_users = [
        User(
            email=r["email"],
            first_name=r["first_name"],
            last_name=r["last_name"],
            role=r["role"],
            job_title=r["job_title"],
            phone=r["phone"],
            status=UserStatus.INVITED,
            password="!",
        )
        for r in creates
    ]
    User.objects.bulk_create(new_users, batch_size=2000)
    now = timezone.now()
    for user, _row, changes in updates:
        for field, change in changes.items():
            setattr(user, field, change["new"])
        user.updated_at = now
    changed = [u for u, _r, c in updates if c]
    if changed:
        User.objects.bulk_update(changed, [*UPDATABLE, "updated_at"], batch_size=2000)
    pairs = [(u, r) for u, r in zip(new_users, creates, strict=True)] + [(u, r) for u, r, _c in updates]
    memberships = [Membership(user=u, organization_id=org_ids[s]) for u, r in pairs for s in r["organizations"]]
    Membership.objects.bulk_create(memberships, batch_size=2000, ignore_conflicts=True)
    entries = [
        {"verb": "user.invited", "changes": {"status": {"old": None, "new": "invited"}}, **target_of(u)}
        for u in new_users
    ]
    entries += [{"verb": "user.updated", "changes": c, **target_of(u)} for u, _r, c in updates if c]
    activity_record_many(entries)
    activity_record(
        verb="users.imported",
        target_type="users",
        target_repr=f"{result['created']} created, {result['updated']} updated",
        metadata=result,
    )
