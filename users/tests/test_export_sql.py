"""The users export that PostgreSQL writes (COPY, users.exports.export_copy_sql) against the same rows written by
Python (export_row, neutralise, the csv module): byte for byte, for filters, orderings and people made to hit
CSV's edges (delimiters, quotes, line breaks, formula starts in every text column and in the organizations)."""

import csv
import io
import uuid

import pytest

from organizations.services import membership_add, organization_create
from p360.actors import SYSTEM
from p360.api.exports import neutralise
from users import exports, selectors
from users.exports import EXPORT_HEADER, export_row
from users.models import UserRole
from users.tests.factories import UserFactory
from users.tests.test_directory_sql import directory  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users"


@pytest.fixture
def csv_edges(directory):  # noqa: F811
    people = [
        UserFactory(email="comma@example.test", first_name="A, B", last_name='say "hi"', job_title="line\nbreak"),
        UserFactory(email="cr@example.test", first_name="carriage\rreturn", last_name="\ttab", job_title="-1"),
        UserFactory(email="formula@example.test", first_name="=1+1", last_name="+cmd", job_title="@SUM(A1)"),
        UserFactory(email="blank@example.test", first_name="Blank", last_name="Cells", job_title="", phone=""),
        UserFactory(email="space@example.test", first_name=" lead", last_name="trail ", job_title="\\."),
    ]
    dash = organization_create(actor=SYSTEM, name="AAA first by name", slug="-dash-first")
    membership_add(actor=SYSTEM, org=dash, user=people[0])
    membership_add(actor=SYSTEM, org=directory["orgs"][0], user=people[0])
    return people


def _python_csv(ids: list[str]) -> bytes:
    """The rows as Python's csv module quotes them (a CR or LF in a cell is quoted), each ended by LF."""
    users = selectors.user_list().in_bulk(ids)
    lines = [_csv_line(EXPORT_HEADER)]
    lines += [_csv_line([neutralise(cell) for cell in export_row(users[pk])]) for pk in ids]
    return "".join(lines).encode()


def _csv_line(cells: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue().removesuffix("\r\n") + "\n"


def _listed_ids(admin, params: dict) -> list[uuid.UUID]:
    body = admin.get(USERS, {**params, "page_size": 100}).json()
    assert body["count"] <= 100
    return [uuid.UUID(row["id"]) for row in body["results"]]


@pytest.mark.parametrize(
    "params",
    [
        {}, {"ordering": "email"}, {"ordering": "-last_login"}, {"ordering": "last_login"},
        {"ordering": "last_name,-email"}, {"ordering": "first_name"}, {"search": "e"}, {"search": "O'Neil"},
        {"status": "active,suspended"}, {"status": "deactivated"}, {"role": "admin,owner", "ordering": "-created_at"},
        {"created_after": "2025-06-05", "ordering": "created_at"},
    ],
)  # fmt: skip
@pytest.mark.parametrize("organizations", ["aggregate", "each row"])
def test_the_copy_export_is_the_python_export_byte_for_byte(as_role, csv_edges, params, organizations, monkeypatch):
    if organizations == "aggregate":
        monkeypatch.setattr(exports, "AGGREGATE_FROM", 0)
    else:
        monkeypatch.setattr(exports, "_memberships", lambda: 1e12)
    admin = as_role(UserRole.ADMIN)
    expected = _python_csv(_listed_ids(admin, params))

    response = admin.get(f"{USERS}/export", params)
    exported = b"".join(response.streaming_content)

    assert response.status_code == 200
    assert exported == expected
    assert exported.count(b"\n") >= 1


def test_the_copy_export_neutralises_what_a_spreadsheet_would_run(as_role, csv_edges):
    admin = as_role(UserRole.ADMIN)

    rows = list(csv.DictReader(io.StringIO(b"".join(admin.get(f"{USERS}/export").streaming_content).decode())))

    by_email = {row["email"]: row for row in rows}
    formula, comma, cr = by_email["formula@example.test"], by_email["comma@example.test"], by_email["cr@example.test"]
    assert (formula["first_name"], formula["last_name"], formula["job_title"]) == ("'=1+1", "'+cmd", "'@SUM(A1)")
    assert comma["organizations"].startswith("'-dash-first;")  # the first slug by name starts with a dash
    assert (comma["first_name"], comma["last_name"], comma["job_title"]) == ("A, B", 'say "hi"', "line\nbreak")
    assert (cr["last_name"], cr["job_title"]) == ("'\ttab", "'-1")
    assert by_email["blank@example.test"]["job_title"] == "" and by_email["blank@example.test"]["last_login"] == ""


def test_a_large_export_streams_in_chunks_not_a_chunk_per_row(as_role, csv_edges):
    admin = as_role(UserRole.ADMIN)

    chunks = list(admin.get(f"{USERS}/export", {"status": "active,suspended,invited,deactivated"}).streaming_content)

    assert len(chunks) <= 3  # the header, then 64 KB chunks (this export is smaller than one)
    assert b"".join(chunks).count(b"@") >= 40


def test_an_export_spends_the_same_queries_whatever_its_size(as_role, csv_edges):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = as_role(UserRole.ADMIN)
    counts = []
    for params in ({"search": "formula"}, {}):
        with CaptureQueriesContext(connection) as queries:
            rows = b"".join(admin.get(f"{USERS}/export", params).streaming_content).count(b"\n")
        counts.append((rows > 1, len(queries.captured_queries)))

    assert counts[0][1] == counts[1][1] <= 12, counts  # the caller, the estimate, SET LOCALs and one COPY
    assert any("COPY (SELECT" in q["sql"] for q in queries.captured_queries)
