"""The activity CSV export that PostgreSQL writes (COPY, activity.exports) against the rows Python writes
(export_record, export_row): the same cells for every entry, in the list's order, the JSON of `changes` and
`metadata` the same JSON (PostgreSQL writes non-ASCII characters as themselves)."""

import csv
import io
import json

import pytest
from django.db import transaction

from activity.api.serializers import EXPORT_HEADER, export_record, export_row
from activity.context import ActivityContext, acting
from activity.models import ActivityEntry
from activity.services import activity_record
from conftest import login
from p360.actors import CLI, SYSTEM, Actor
from p360.api.exports import neutralise
from users.models import UserRole
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JSON_CELLS = {EXPORT_HEADER.index("changes"), EXPORT_HEADER.index("metadata")}


@pytest.fixture
def admin(in_a, client_for, tenant_a, api_a):
    UserFactory(email="export-admin@example.test", role=UserRole.ADMIN)
    return client_for(tenant_a, login(api_a, "export-admin@example.test")["access"])


@pytest.fixture
def entries(admin):
    actor = UserFactory(email="=actor@example.test", role=UserRole.ADMIN)
    person = Actor.person(actor)
    cases = [  # (where from, who): the CLI, the system or a person, with and without an address
        (ActivityContext(), CLI),
        (ActivityContext(), None),  # the system, or the person on odd rows
        (ActivityContext(ip="203.0.113.9", user_agent='ua "quoted", with comma', request_id="rid-1"), SYSTEM),
        (ActivityContext(ip="2001:db8::1", user_agent="=cmd|' /C calc'!A0", request_id="-rid"), SYSTEM),
    ]
    with transaction.atomic():
        for n, (context, who) in enumerate(cases * 3):
            with acting(context):
                activity_record(
                    actor=who or (person if n % 2 else SYSTEM),
                    verb="user.updated",
                    target_type="user",
                    target_id=str(actor.pk),
                    target_repr=["plain", "=HYPERLINK(1)", "line\nbreak", "Zoë 😀"][n % 4],
                    changes={"first_name": {"old": "Zoë", "new": "Åsa \u2028"}, "n": {"old": n, "new": n + 0.5}},
                    metadata={"note": 'quote " and \\ backslash', "nested": [1, None, True]},
                )


def _cells(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def _comparable(row: list[str]) -> list:
    return [json.loads(cell) if index in JSON_CELLS else cell for index, cell in enumerate(row)]


@pytest.mark.parametrize(
    "params", [{}, {"ordering": "occurred_at"}, {"verb": "user.*"}, {"target_type": "user"}, {"search": "plain"}]
)
def test_the_copy_export_has_the_python_exports_cells(admin, entries, params):
    listed = admin.get("/api/v1/activity", {**params, "page_size": 100}).json()
    assert 0 < listed["count"] <= 100, listed
    found = ActivityEntry.objects.select_related("actor").in_bulk([row["id"] for row in listed["results"]])
    by_id = {str(pk): entry for pk, entry in found.items()}
    expected = [[neutralise(cell) for cell in export_row(export_record(by_id[row["id"]]))] for row in listed["results"]]

    response = admin.get("/api/v1/activity/export", params)
    body = b"".join(response.streaming_content)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = _cells(body)
    assert header == EXPORT_HEADER
    assert [_comparable(row) for row in rows] == [_comparable(row) for row in expected]
    assert "Zoë" in body.decode()  # UTF-8, not \\u escapes


def test_the_ndjson_export_is_unchanged(admin, entries):
    response = admin.get("/api/v1/activity/export", {"format": "ndjson"})

    lines = b"".join(response.streaming_content).decode().split("\n")[:-1]  # U+2028 in a value is no line end
    assert response["Content-Type"] == "application/x-ndjson"
    assert {json.loads(line)["verb"] for line in lines} >= {"user.updated"}
