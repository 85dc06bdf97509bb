"""CSV import at scale: every row validated, nothing written on any error, new people by COPY with one
activity entry each, memberships, and a number of queries that does not grow with the rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activity.context import ActivityContext, acting
from activity.models import ActivityEntry
from organizations.models import Membership
from organizations.services import organization_create
from p360.actors import CLI, SYSTEM, Actor
from p360.api.problems import Conflict
from users.models import User, UserRole
from users.policy import Forbidden
from users.services import imports
from users.services.imports import ImportErrors, users_import
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = "email,first_name,last_name,role,job_title,phone,organizations\n"


@pytest.fixture
def actor(in_a):
    return Actor.person(UserFactory(role=UserRole.OWNER, email="boss@example.test"))


def _csv(rows: list[str]) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def _people(count: int, organizations: str = "", start: int = 0) -> list[str]:
    return [f"p{n}@example.test,First{n},Last{n},member,Title {n},+1 555 {n:04d},{organizations}" for n in
            range(start, start + count)]  # fmt: skip


def test_new_people_get_their_columns_memberships_and_one_entry_each_in_file_order(actor):
    ops, eng = organization_create(actor=SYSTEM, name="Ops"), organization_create(actor=SYSTEM, name="Eng")
    rows = _people(3, "ops;eng;ops")  # a slug named twice makes one membership
    context = ActivityContext(ip="203.0.113.9", request_id="req-42")

    with acting(context):
        result = users_import(raw=_csv(rows), actor=actor)

    assert result == {"created": 3, "updated": 0, "unchanged": 0, "dry_run": False}
    made = {u.email: u for u in User.objects.filter(email__startswith="p")}
    first = made["p0@example.test"]
    assert (first.first_name, first.last_name, first.role, first.status) == ("First0", "Last0", "member", "invited")
    assert (first.job_title, first.phone, first.timezone, first.locale) == ("Title 0", "+1 555 0000", "UTC", "en")
    assert not first.has_usable_password() and first.token_version == 0 and not first.is_staff
    assert first.created_at == first.updated_at
    assert set(Membership.objects.filter(user=first).values_list("organization_id", flat=True)) == {ops.pk, eng.pk}
    entries = list(ActivityEntry.objects.filter(verb="user.invited").order_by("occurred_at"))
    assert [e.target_repr for e in entries] == ["p0@example.test", "p1@example.test", "p2@example.test"]
    assert entries[0].target_id == str(first.pk) and entries[0].subject_ids == [str(first.pk)]
    assert entries[0].changes == {"status": {"old": None, "new": "invited"}}
    assert {(e.ip, e.request_id, e.actor_type) for e in entries} == {("203.0.113.9", "req-42", "user")}
    assert ActivityEntry.objects.filter(verb="users.imported").count() == 1


def test_any_bad_row_is_reported_with_all_the_others_and_nothing_is_written(actor):
    organization_create(actor=SYSTEM, name="Ops")
    rows = _people(50, "ops")
    rows[10] = "p10@example.test,,Last,member,,,"  # no first name
    rows[20] = ("x" * 250) + "@example.test,Long,Email,member,,,"  # a valid address, longer than the column
    rows[30] = "p31@EXAMPLE.test,Dup,Email,member,,,"  # row 33 also has p31
    rows[40] = "p40@example.test,Bad,Org,member,,,ops;nowhere"
    before = (User.objects.count(), Membership.objects.count(), ActivityEntry.objects.count())

    with pytest.raises(ImportErrors) as error:
        users_import(raw=_csv(rows), actor=actor)

    assert {(e["row"], e["field"], e["code"]) for e in error.value.errors} == {
        (12, "first_name", "required"),
        (22, "email", "max_length"),
        (33, "email", "duplicate"),
        (42, "organizations", "does_not_exist"),
    }
    assert (User.objects.count(), Membership.objects.count(), ActivityEntry.objects.count()) == before


def test_a_dry_run_counts_and_writes_nothing(actor):
    before = (User.objects.count(), ActivityEntry.objects.count())

    assert users_import(raw=_csv(_people(5)), actor=actor, dry_run=True)["created"] == 5

    assert (User.objects.count(), ActivityEntry.objects.count()) == before


def test_the_number_of_queries_does_not_grow_with_the_rows(actor):
    organization_create(actor=SYSTEM, name="Ops"), organization_create(actor=SYSTEM, name="Eng")

    def queries(rows):
        with CaptureQueriesContext(connection) as captured:
            users_import(raw=_csv(rows), actor=actor)
        return len(captured.captured_queries)

    small, large = queries(_people(5, "ops")), queries(_people(200, "ops", start=100))
    # the same people again, now with a new membership each: an update per person, still no query per row
    again_small, again_large = queries(_people(5, "ops;eng")), queries(_people(200, "ops;eng", start=100))

    assert small == large
    assert again_small == again_large


def test_re_importing_counts_unchanged_and_adds_only_missing_memberships(actor):
    ops = organization_create(actor=SYSTEM, name="Ops")
    users_import(raw=_csv(_people(3)), actor=actor)
    entries = ActivityEntry.objects.count()

    result = users_import(raw=_csv(_people(2) + _people(1, "ops", start=2)), actor=actor)

    assert result == {"created": 0, "updated": 1, "unchanged": 2, "dry_run": False}
    assert list(Membership.objects.values_list("user__email", "organization_id")) == [("p2@example.test", ops.pk)]
    assert ActivityEntry.objects.count() == entries + 1  # users.imported only: no field changed


def test_changed_people_get_one_user_updated_entry_each(actor):
    users_import(raw=_csv(_people(3)), actor=actor)
    rows = _people(3)
    rows[1] = rows[1].replace("Title 1", "Head of Things")

    result = users_import(raw=_csv(rows), actor=actor)

    assert result["updated"] == 1 and result["unchanged"] == 2
    entry = ActivityEntry.objects.get(verb="user.updated")
    assert entry.target_repr == "p1@example.test"
    assert entry.changes == {"job_title": {"old": "Title 1", "new": "Head of Things"}}


def test_an_email_taken_meanwhile_is_a_conflict_and_nothing_is_written(actor, monkeypatch):
    UserFactory(email="p1@example.test")
    monkeypatch.setattr(imports, "_existing_users", lambda emails: {})  # as if p1 was created after the lookup
    before = (User.objects.count(), ActivityEntry.objects.count())

    with pytest.raises(Conflict) as error:
        users_import(raw=_csv(_people(3)), actor=actor)

    assert (error.value.code, error.value.status_code) == ("email_taken", 409)
    assert (User.objects.count(), ActivityEntry.objects.count()) == before


def test_bad_rows_after_an_email_taken_meanwhile_are_all_reported_first(actor, monkeypatch):
    """People are written while the file is still being validated: a conflict on the way does not cut the
    validation short, and the file's own errors come first."""
    UserFactory(email="p1@example.test")
    monkeypatch.setattr(imports, "_existing_users", lambda emails: {})
    before = (User.objects.count(), ActivityEntry.objects.count())

    with pytest.raises(ImportErrors) as error:
        users_import(raw=_csv([*_people(3), "not-an-email,A,B,,,,", *_people(2, start=10)]), actor=actor)

    assert [(e["row"], e["field"]) for e in error.value.errors] == [(5, "email")]
    assert (User.objects.count(), ActivityEntry.objects.count()) == before


def test_an_existing_person_with_an_unknown_organization_is_a_row_error(actor):
    UserFactory(
        email="p0@example.test", first_name="First0", last_name="Last0", job_title="Title 0", phone="+1 555 0000"
    )

    with pytest.raises(ImportErrors) as error:
        users_import(raw=_csv(_people(1, organizations="no-such-team")), actor=actor)

    assert [(e["row"], e["field"], e["code"]) for e in error.value.errors] == [(2, "organizations", "does_not_exist")]


def test_only_owners_import_owners(in_a):
    admin = UserFactory(role=UserRole.ADMIN)

    with pytest.raises(ImportErrors) as error:
        users_import(raw=_csv(["new@example.test,New,Owner,owner,,,"]), actor=Actor.person(admin))

    assert [(e["field"], e["code"]) for e in error.value.errors] == [("role", "not_allowed")]
    assert not User.objects.filter(email="new@example.test").exists()


def test_members_do_not_import_and_the_cli_imports_anyone(in_a):
    """The import asks users.policy, as every entry point does: a member is refused before a row is read; the
    CLI (an operator) may import owners."""
    member = Actor.person(UserFactory(role=UserRole.MEMBER))

    with pytest.raises(Forbidden):
        users_import(raw=_csv(["new@example.test,New,Owner,member,,,"]), actor=member)
    result = users_import(raw=_csv(["boss2@example.test,New,Owner,owner,,,"]), actor=CLI)

    assert result["created"] == 1 and User.objects.get(email="boss2@example.test").role == UserRole.OWNER
    entry = ActivityEntry.objects.get(verb="users.imported")
    assert (entry.actor_type, entry.actor_id) == ("cli", None)


def test_blank_lines_short_rows_and_extra_values_are_read_as_before():
    from users.services.imports import parse_csv

    rows = parse_csv(b"\xef\xbb\xbfEmail , First_Name,last_name\n\na@x.test, A ,B,extra\nb@x.test,B\n")

    assert rows == [
        {"email": "a@x.test", "first_name": "A", "last_name": "B"},
        {"email": "b@x.test", "first_name": "B"},
    ]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"email,first_\x00name,last_name\n", "unknown_column"),  # a NUL in the header: a 400, not a 500
        (b"email,first_name,last_name\n\xff\n", "invalid"),  # not UTF-8
        (b"email,first_name\n", "missing_column"),
        (b"", "missing_column"),
    ],
)
def test_malformed_files_are_field_errors(raw, code):
    from p360.api.problems import FieldErrors
    from users.services.imports import parse_csv

    with pytest.raises(FieldErrors) as error:
        parse_csv(raw)

    assert code in {e["code"] for e in error.value.errors}


def test_more_rows_than_allowed_is_refused(monkeypatch):
    from p360.api.problems import FieldErrors
    from users.services.imports import parse_csv

    monkeypatch.setattr(imports, "MAX_ROWS", 3)

    assert len(parse_csv(b"email,first_name,last_name\n" + b"a@x.test,A,B\n" * 3)) == 3
    with pytest.raises(FieldErrors) as error:
        parse_csv(b"email,first_name,last_name\n" + b"a@x.test,A,B\n" * 4)
    assert error.value.errors[0]["code"] == "too_many_rows"
