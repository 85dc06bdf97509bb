"""CSV import of users: every row validated (all errors reported with their row numbers, nothing written when
there is any), and unless it is a dry run, one upsert by email in one transaction, with its activity entries
(one per created or changed user, and one for the import). New users go in by COPY while the file is being
validated (PostgreSQL writes them as Python checks the next rows; an error rolls everything back), then their
memberships by COPY and their entries by one INSERT made in the database from two arrays."""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from activity.services import activity_record, activity_record_many, activity_record_targets
from organizations.models import Membership, Organization, OrganizationStatus
from p360.actors import Actor
from p360.api.problems import Conflict, FieldErrors
from p360.db import copy_insert
from users import policy
from users.models import User, UserRole, UserStatus
from users.services.accounts import target_of

COLUMNS = ("email", "first_name", "last_name", "role", "job_title", "phone", "organizations")
REQUIRED = ("email", "first_name", "last_name")
UPDATABLE = ("first_name", "last_name", "role", "job_title", "phone")
MAX_ROWS = 100_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LIMITS = {"first_name": 150, "last_name": 150, "job_title": 200, "phone": 50}
_EMAIL_MAX = User._meta.get_field("email").max_length


class ImportErrors(FieldErrors):
    default_code = "invalid_rows"
    default_detail = "The file has invalid rows; nothing was imported."


def parse_csv(raw: bytes) -> list[dict]:
    """Rows as dicts of the known columns; a header that lacks a required column, or has unknown ones, is a 400."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FieldErrors([("file", "invalid", f"The file is not UTF-8 (byte {exc.start}).")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [c for c in REQUIRED if c not in header]
        unknown = [c for c in header if c not in COLUMNS]
        if missing or unknown:
            problems = [("file", "missing_column", f"Missing column {c!r}.") for c in missing]
            problems += [
                ("file", "unknown_column", f"Unknown column {c!r}; known: {', '.join(COLUMNS)}.") for c in unknown
            ]
            raise FieldErrors(problems)
        rows = []
        for values in reader:
            if not values:
                continue  # a blank line
            if len(rows) >= MAX_ROWS:
                raise FieldErrors([("file", "too_many_rows", f"At most {MAX_ROWS} rows per import.")])
            # a short row lacks its last columns (read as empty), a long one's extra values are ignored
            rows.append({key: value.strip() for key, value in zip(header, values, strict=False)})
    except csv.Error as exc:
        raise FieldErrors([("file", "invalid", f"Malformed CSV at line {reader.line_num}: {exc}")]) from None
    return rows


_EMAIL = EmailValidator()
_user_part_ok = _EMAIL.user_regex.match  # (a lazy regex: compiled on first use)


@lru_cache(maxsize=1024)
def _domain_ok(domain: str) -> bool:
    return domain in _EMAIL.domain_allowlist or _EMAIL.validate_domain_part(domain)


def _email_ok(value: str) -> bool:
    """Django's EmailValidator, with its domain check done once per domain (an import has few domains)."""
    if not value or "@" not in value or len(value) > 320:
        return False
    user_part, domain_part = value.rsplit("@", 1)
    return bool(_user_part_ok(user_part)) and _domain_ok(domain_part)


def _validated(rows: list[dict], actor: Actor, org_ids: dict, errors: list) -> Iterator[tuple[dict, bool]]:
    """Each row's clean values and whether it is valid, as the rows are read; their errors go to `errors`."""
    seen = {}
    roles, may_grant_owner = set(UserRole.values), policy.allows(actor, "grant_owner")
    for number, row in enumerate(rows, start=2):  # the header is row 1
        found = len(errors)

        def error(field, code, message, number=number):
            errors.append({"row": number, "field": field, "code": code, "message": message})

        email = row.get("email", "")
        if not _email_ok(email):
            error("email", "invalid", f"{email!r} is not a valid email address.")
        elif len(email) > _EMAIL_MAX:
            error("email", "max_length", f"At most {_EMAIL_MAX} characters.")
        key = email.lower()
        if key in seen:
            error("email", "duplicate", f"Also in row {seen[key]}.")
        else:
            seen[key] = number
        for field in ("first_name", "last_name", "job_title", "phone"):
            value = row.get(field, "")
            if field in REQUIRED and not value:
                error(field, "required", "This field is required.")
            if len(value) > _LIMITS[field]:
                error(field, "max_length", f"At most {_LIMITS[field]} characters.")
            if _CONTROL.search(value):
                error(field, "invalid", "Control characters are not allowed.")
        role = row.get("role") or UserRole.MEMBER
        if role not in roles:
            error("role", "invalid_choice", f"{role!r} is not one of {', '.join(UserRole.values)}.")
        elif role == UserRole.OWNER and not may_grant_owner:
            error("role", "not_allowed", policy.RULES["grant_owner"].refusal)
        organizations = row.get("organizations", "")
        slugs = list(dict.fromkeys(s.strip() for s in organizations.split(";") if s.strip())) if organizations else []
        for slug in slugs:
            if slug not in org_ids:
                error("organizations", "does_not_exist", f"No active organization has the slug {slug!r}.")
        clean = {
            "first_name": row.get("first_name", ""),
            "last_name": row.get("last_name", ""),
            "role": role,
            "job_title": row.get("job_title", ""),
            "phone": row.get("phone", ""),
            "email": email,
            "organizations": slugs,
            "row": number,
        }
        yield clean, len(errors) == found


def users_import(*, raw: bytes, actor: Actor, dry_run: bool = False) -> dict:
    """Creates and updates people from a CSV (API.md, "Import"), every row checked as users.policy rules."""
    policy.require(actor, "import")
    rows = parse_csv(raw)
    org_ids = dict(Organization.objects.filter(status=OrganizationStatus.ACTIVE).values_list("slug", "id"))
    existing = _existing_users([row.get("email", "").lower() for row in rows])
    member_of = _memberships_of([u.pk for u in existing.values()])
    plan = _Plan(errors=[], updates=[])
    creates = plan.creates(_validated(rows, actor, org_ids, plan.errors), existing, member_of, org_ids, actor)
    if dry_run:
        created = sum(1 for _ in creates)
        plan.raise_errors()
        return {"created": created, "updated": len(plan.updates), "unchanged": plan.unchanged, "dry_run": True}
    return _write(actor, creates, plan, org_ids, len(rows))


@dataclass
class _Plan:
    """What an import does, found as its rows are validated: the people to create stream out of creates()
    (into the users COPY, so that PostgreSQL writes while the rest is validated), the rest is collected."""

    errors: list
    updates: list
    unchanged: int = 0

    def creates(self, validated, existing: dict, member_of: dict, org_ids: dict, actor: Actor) -> Iterator[dict]:
        """The valid rows of new people; the changes of existing ones go to `updates` (with their errors)."""
        for row, valid in validated:
            user = existing.get(row["email"].lower())
            if user is None:
                if valid:
                    yield row
                continue
            changes = {f: {"old": getattr(user, f), "new": row[f]} for f in UPDATABLE if row[f] != getattr(user, f)}
            refused = policy.refusal(actor, "update", user) if changes else None
            if refused is not None:
                self._error(row, "email", str(refused.detail))
            elif "role" in changes and user.role == UserRole.OWNER:
                self._error(row, "role", "Change an owner's role with set_role.")
            if changes:
                self.updates.append((user, row, changes))
            elif {org_ids[s] for s in row["organizations"] if s in org_ids} - member_of.get(user.pk, set()):
                self.updates.append((user, row, {}))
            else:
                self.unchanged += 1

    def _error(self, row: dict, field: str, message: str) -> None:
        self.errors.append({"row": row["row"], "field": field, "code": "not_allowed", "message": message})

    def raise_errors(self) -> None:
        if self.errors:
            raise ImportErrors(sorted(self.errors, key=lambda e: (e["row"], e["field"])))


def _existing_users(emails: list[str]) -> dict[str, User]:
    """The users with these (lowercased) emails, by lowercased email: one query on the lower(email) index."""
    if not emails:
        return {}
    # one array parameter (an IN list of 50,000 placeholders costs seconds to build)
    found = User.objects.filter(RawSQL('lower("users_user"."email") = ANY(%s)', (emails,), output_field=BooleanField()))
    return {user.email.lower(): user for user in found}


def _memberships_of(user_ids: list) -> dict:
    """{user id: {organization ids}} for these users, in one query."""
    member_of: dict = {}
    if user_ids:
        of_users = RawSQL('"organizations_membership"."user_id" = ANY(%s::uuid[])', (user_ids,), BooleanField())
        pairs = Membership.objects.filter(of_users).values_list("user_id", "organization_id")
        for user_id, organization_id in pairs:
            member_of.setdefault(user_id, set()).add(organization_id)
    return member_of


def _ascending_uuid4s(count: int) -> list[uuid.UUID]:
    return [uuid.UUID(bytes=b, version=4) for b in sorted(os.urandom(16) for _ in range(count))]


@transaction.atomic
def _write(actor: Actor, creates: Iterator[dict], plan: _Plan, org_ids: dict, most: int) -> dict:
    """New people by COPY as they are validated (nothing commits unless every row is valid), their memberships
    by COPY, their entries by one INSERT; changed people by bulk_update."""
    now = timezone.now()
    # random (version 4) ids in ascending order: the primary key index fills at one end, not at random pages
    ids = iter(_ascending_uuid4s(most))
    created = []

    def user_rows():
        for row in creates:
            row["id"] = next(ids)
            created.append(row)
            yield (row["id"], row["email"], row["first_name"], row["last_name"], row["role"], row["job_title"],
                   row["phone"], UserStatus.INVITED, "!")  # fmt: skip

    fields = ("id", "email", "first_name", "last_name", "role", "job_title", "phone", "status", "password")
    streamed = user_rows()
    try:
        copy_insert(User, fields, streamed, now=now)
    except IntegrityError:  # someone took one of the emails since they were looked up
        for _ in streamed:  # the rest of the file is still validated: its errors are reported first
            pass
        plan.raise_errors()
        raise Conflict(
            "A user with one of these emails was created meanwhile; nothing was imported.", "email_taken"
        ) from None
    plan.raise_errors()  # nothing is kept: the transaction is rolled back
    creates = created
    updates = plan.updates
    result = {"created": len(created), "updated": len(updates), "unchanged": plan.unchanged, "dry_run": False}
    copy_insert(
        Membership,
        ("user_id", "organization_id"),
        ((row["id"], org_ids[slug]) for row in creates for slug in row["organizations"]),
        now=now,
    )
    for user, _row, changes in updates:
        for field, change in changes.items():
            setattr(user, field, change["new"])
        user.updated_at = now
    changed = [u for u, _r, c in updates if c]
    if changed:
        User.objects.bulk_update(changed, [*UPDATABLE, "updated_at"], batch_size=2000)
    memberships = [Membership(user=u, organization_id=org_ids[s]) for u, r, _c in updates for s in r["organizations"]]
    Membership.objects.bulk_create(memberships, batch_size=2000, ignore_conflicts=True)
    activity_record_targets(
        ((row["id"], row["email"]) for row in creates),
        verb="user.invited",
        actor=actor,
        target_type="user",
        changes={"status": {"old": None, "new": UserStatus.INVITED}},
    )
    activity_record_many(
        [{"verb": "user.updated", "changes": c, **target_of(u)} for u, _r, c in updates if c], actor=actor
    )
    activity_record(
        verb="users.imported",
        actor=actor,
        target_type="users",
        target_repr=f"{result['created']} created, {result['updated']} updated",
        metadata=result,
    )
    return result
