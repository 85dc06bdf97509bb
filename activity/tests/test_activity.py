"""The activity log: recorded with its change, append-only in the database, listed, filtered, exported."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from activity.context import ActivityContext, acting
from activity.models import ActivityEntry
from activity.services import activity_record
from conftest import PASSWORD, login
from p360.actors import CLI, SYSTEM, Actor
from users import services
from users.models import User, UserRole, UserStatus
from users.tests.factories import UserFactory
from users.tests.test_auth import assert_problem

pytestmark = pytest.mark.django_db


def record(verb="user.updated", repr_="someone@example.test", actor=SYSTEM, **extra):
    with transaction.atomic():
        return activity_record(actor=actor, verb=verb, target_type="user", target_id="x", target_repr=repr_, **extra)


@pytest.fixture
def admin_api(in_a, client_for, tenant_a, api_a):
    admin = UserFactory(email="admin@example.test", role=UserRole.ADMIN)
    client = client_for(tenant_a, login(api_a, "admin@example.test")["access"])
    client.user = admin
    return client


# --- recording ---


def test_an_entry_commits_with_its_change(in_a):
    user = UserFactory(email="ann@example.test")

    services.user_update_profile(actor=SYSTEM, user=user, data={"job_title": "CTO"})

    entry = ActivityEntry.objects.get(verb="user.updated")
    assert (entry.target_type, entry.target_id, entry.target_repr) == ("user", str(user.id), "ann@example.test")
    assert entry.changes == {"job_title": {"old": "", "new": "CTO"}}


def test_an_entry_vanishes_with_the_rollback_of_its_change(in_a):
    user = UserFactory(email="ben@example.test")

    with pytest.raises(RuntimeError), transaction.atomic():
        services.user_update_profile(actor=SYSTEM, user=user, data={"job_title": "CTO"})
        raise RuntimeError("the change fails after recording")

    assert not ActivityEntry.objects.filter(verb="user.updated").exists()
    assert User.objects.get(pk=user.pk).job_title == ""


def test_unknown_verbs_are_refused(in_a):
    with pytest.raises(ValueError, match="unknown activity verb"):
        record(verb="user.teleported")


def test_secrets_never_reach_an_entry(in_a):
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    entry = record(
        changes={"password": {"old": "a", "new": "b"}, "first_name": {"old": "A", "new": "B"}},
        metadata={"refresh": "x", "note": jwt, "hashed": "argon2$argon2id$v=19$...", "nested": [{"api_key": "k"}]},
    )

    assert entry.changes["password"] == "[redacted]"
    assert entry.changes["first_name"] == {"old": "A", "new": "B"}
    assert entry.metadata == {
        "refresh": "[redacted]",
        "note": "[redacted]",
        "hashed": "[redacted]",
        "nested": [{"api_key": "[redacted]"}],
    }


def test_entries_record_their_actor_as_given_and_the_requests_context(in_a):
    person = UserFactory()
    cli = record(actor=CLI)
    with acting(ActivityContext(ip="203.0.113.9", user_agent="ua/1", request_id="rid-1")):
        web = record(actor=Actor.person(person))

    assert (cli.actor_type, cli.actor_id, cli.ip) == ("cli", None, None)
    assert (web.actor_type, web.actor_id) == ("user", person.pk)
    assert (web.ip, web.user_agent, web.request_id) == ("203.0.113.9", "ua/1", "rid-1")


def test_an_entry_without_an_actor_is_refused(in_a):
    """Who acted is never guessed from the context: a service that forgets its actor fails, and writes nothing."""
    person = UserFactory()
    with pytest.raises(TypeError), transaction.atomic():
        activity_record(verb="user.updated", target_type="user", target_id="x", actor=person)
    with pytest.raises(TypeError), transaction.atomic():
        activity_record(verb="user.updated", target_type="user", target_id="x")
    assert not ActivityEntry.objects.filter(target_id="x").exists()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE activity_activityentry SET verb = 'auth.login'",
        "DELETE FROM activity_activityentry",
        "TRUNCATE activity_activityentry",
    ],
)
def test_the_database_refuses_to_change_entries(in_a, statement):
    record()

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)

    assert ActivityEntry.objects.count() == 1


def test_the_template_and_every_tenant_carry_the_append_only_trigger(tenant_b):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE t.tgname = 'activity_append_only'"
        )
        schemas = {row[0] for row in cursor.fetchall()}

    assert {"public", "tenant_template", "t_alpha", "t_beta"} <= schemas


# --- authentication events ---


def test_the_authentication_flow_records_its_events_without_secrets(client_for, tenant_a, api_a, in_a):
    user = UserFactory(email="cal@example.test")
    api_a.post("/api/v1/auth/token", {"email": "cal@example.test", "password": "wrong-password-1"}, format="json")
    tokens = login(api_a, "cal@example.test")
    client = client_for(tenant_a, tokens["access"])
    client.patch(
        "/api/v1/auth/me",
        {"job_title": "Lead"},
        format="json",
        HTTP_USER_AGENT="pytest-agent",
        HTTP_X_REQUEST_ID="req-77",
    )
    refreshed = api_a.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json").json()
    client.post(
        "/api/v1/auth/password/change",
        {"current_password": PASSWORD, "new_password": "N3w-password-long"},
        format="json",
    )
    fresh = login(api_a, "cal@example.test", "N3w-password-long")
    api_a.post("/api/v1/auth/logout", {"refresh": fresh["refresh"]}, format="json")

    entries = list(ActivityEntry.objects.order_by("occurred_at"))
    verbs = [e.verb for e in entries]
    assert verbs == [
        "auth.login_failed",
        "auth.login",
        "user.updated",
        "auth.password_changed",
        "auth.login",
        "auth.logout",
    ]
    failed = entries[0]
    assert failed.actor is None and failed.metadata == {"email": "cal@example.test"}
    assert all(e.actor_id == user.id for e in entries[1:])
    updated = entries[2]
    assert (updated.user_agent, updated.request_id, updated.ip) == ("pytest-agent", "req-77", "127.0.0.1")
    dumped = json.dumps([{f.name: str(getattr(e, f.attname)) for f in ActivityEntry._meta.fields} for e in entries])
    for secret in (
        PASSWORD,
        "wrong-password-1",
        "N3w-password-long",
        tokens["access"],
        tokens["refresh"],
        refreshed["refresh"],
        User.objects.get(pk=user.pk).password,
    ):
        assert secret not in dumped


def test_a_failed_request_leaves_no_entry(client_for, tenant_a, api_a, in_a):
    UserFactory(email="dee@example.test")
    client = client_for(tenant_a, login(api_a, "dee@example.test")["access"])
    before = ActivityEntry.objects.count()

    client.patch("/api/v1/auth/me", {"first_name": ""}, format="json")
    client.post(
        "/api/v1/auth/password/change",
        {"current_password": "wrong-one-123", "new_password": "N3w-password-long"},
        format="json",
    )

    assert ActivityEntry.objects.count() == before


# --- the API ---


def test_members_are_403_anonymous_401_and_writes_405(in_a, client_for, tenant_a, api_a, admin_api):
    UserFactory(email="mem@example.test")
    member = client_for(tenant_a, login(api_a, "mem@example.test")["access"])

    assert_problem(member.get("/api/v1/activity"), 403, "permission_denied")
    assert_problem(api_a.get("/api/v1/activity"), 401, "not_authenticated")
    for method in ("post", "put", "patch", "delete"):
        assert_problem(getattr(admin_api, method)("/api/v1/activity", {}, format="json"), 405, "method_not_allowed")


def test_owners_and_admins_list_newest_first_with_actor_and_target(admin_api):
    record(repr_="first@example.test")
    record(repr_="second@example.test", actor=Actor.person(admin_api.user))

    body = admin_api.get("/api/v1/activity", {"verb": "user.updated"}).json()

    assert body["count"] == 2
    newest = body["results"][0]
    assert newest["target"] == {"type": "user", "id": "x", "repr": "second@example.test"}
    assert newest["actor"] == {
        "id": str(admin_api.user.id),
        "email": "admin@example.test",
        "full_name": admin_api.user.full_name,
    }
    assert set(newest) == {
        "id",
        "occurred_at",
        "actor",
        "actor_type",
        "verb",
        "target",
        "changes",
        "metadata",
        "ip",
        "user_agent",
        "request_id",
    }
    assert newest["occurred_at"].endswith("Z")


def _insert(verb, ttype, tid, trepr, actor, when):
    with transaction.atomic():
        ActivityEntry.objects.create(
            verb=verb, target_type=ttype, target_id=tid, target_repr=trepr, actor=actor, occurred_at=when
        )


@pytest.fixture
def timeline(admin_api):
    other = UserFactory(email="other@example.test")
    now = timezone.now()
    _insert("user.updated", "user", "u1", "alice@example.test", admin_api.user, now - timedelta(days=3))
    _insert("user.suspended", "user", "u2", "bob@example.test", other, now - timedelta(days=2))
    _insert("organization.created", "organization", "o1", "Research Lab", admin_api.user, now - timedelta(days=1))
    _insert("membership.added", "membership", "m1", "Bob in Research Lab", None, now - timedelta(hours=1))
    return {"admin": admin_api.user, "other": other, "now": now}


TIMELINE_VERBS = "user.*,organization.*,membership.*"


def _reprs(response):
    assert response.status_code == 200, response.content
    return [row["target"]["repr"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"verb": "user.*"}, ["bob@example.test", "alice@example.test"]),
        ({"verb": "user.suspended,organization.created"}, ["Research Lab", "bob@example.test"]),
        ({"target_type": "organization"}, ["Research Lab"]),
        ({"target_id": "u1,m1"}, ["Bob in Research Lab", "alice@example.test"]),
        ({"search": "RESEARCH"}, ["Bob in Research Lab", "Research Lab"]),
        ({"search": "100%_"}, []),
        ({"ordering": "occurred_at", "verb": "user.*"}, ["alice@example.test", "bob@example.test"]),
    ],
)
def test_filters_and_ordering(admin_api, timeline, params, expected):
    assert _reprs(admin_api.get("/api/v1/activity", params)) == expected


def test_actor_and_time_range_filters(admin_api, timeline):
    now = timeline["now"]
    by_other = admin_api.get("/api/v1/activity", {"actor": str(timeline["other"].id)})
    repeated = admin_api.get(
        f"/api/v1/activity?actor={timeline['other'].id}&actor={timeline['admin'].id}&verb=user.*&verb=organization.*"
    )
    window = admin_api.get(
        "/api/v1/activity",
        {
            "occurred_after": (now - timedelta(days=2, hours=1)).isoformat(),
            "occurred_before": (now - timedelta(hours=2)).isoformat(),
        },
    )
    by_date = admin_api.get(
        "/api/v1/activity",
        {"occurred_before": (now - timedelta(days=2)).date().isoformat(), "target_type": "user,organization"},
    )

    assert _reprs(by_other) == ["bob@example.test"]
    assert _reprs(repeated) == ["Research Lab", "bob@example.test", "alice@example.test"]
    assert _reprs(window) == ["Research Lab", "bob@example.test"]
    assert "Research Lab" not in _reprs(by_date)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"verb": "user.teleported"}, "verb"),
        ({"verb": "nothing.*"}, "verb"),
        ({"actor": "not-a-uuid"}, "actor"),
        ({"occurred_after": "yesterday"}, "occurred_after"),
        ({"ordering": "verb"}, "ordering"),
        ({"colour": "blue"}, "colour"),
        ({"page_size": "1000"}, "page_size"),
    ],
)
def test_bad_parameters_are_400_naming_them(admin_api, params, field):
    body = assert_problem(admin_api.get("/api/v1/activity", params), 400, "invalid")

    assert field in {error["field"] for error in body["errors"]}


def test_cursor_mode_walks_the_log(admin_api, timeline):
    first = admin_api.get("/api/v1/activity", {"pagination": "cursor", "page_size": 2, "verb": TIMELINE_VERBS}).json()
    second = admin_api.get(first["next"]).json()

    assert [r["target"]["repr"] for r in first["results"] + second["results"]] == [
        "Bob in Research Lab", "Research Lab", "bob@example.test", "alice@example.test",
    ]  # fmt: skip
    assert second["next"] is None


def test_another_tenants_entries_are_never_listed(admin_api, timeline, client_for, tenant_b, api_b):
    connection.set_tenant(tenant_b)
    UserFactory(email="admin-b@example.test", role=UserRole.ADMIN)
    client = client_for(tenant_b, login(api_b, "admin-b@example.test")["access"])

    reprs = _reprs(client.get("/api/v1/activity", {"page_size": 100}))

    assert not set(reprs) & {"alice@example.test", "bob@example.test", "Research Lab"}
    assert client.get("/api/v1/activity", {"actor": str(timeline["admin"].id)}).json()["count"] == 0


def test_list_query_count_is_constant_in_page_size(admin_api, timeline, django_assert_max_num_queries):
    for _ in range(30):
        record()
    for size in (1, 100):
        with django_assert_max_num_queries(4):  # SET search_path, user (token check), bounded count, page
            admin_api.get("/api/v1/activity", {"page_size": size})
        with django_assert_max_num_queries(3):
            admin_api.get("/api/v1/activity", {"page_size": size, "pagination": "cursor"})


def _explain(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_listing_and_search_are_index_served_on_a_populated_table(admin_api):
    from activity.selectors import activity_list

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO activity_activityentry (id, occurred_at, actor_type, verb, target_type, target_id,"
            " target_repr, subject_ids, changes, metadata, user_agent, request_id)"
            " SELECT gen_random_uuid(), now() - (n || ' seconds')::interval, 'system',"
            " (ARRAY['user.updated','auth.login','organization.created'])[1 + n % 3], 'user', n::text,"
            " md5(n::text) || '@example.test', ARRAY[n::text], '{}', '{}', '', '' FROM generate_series(1, 30000) AS n"
        )
        cursor.execute("ANALYZE activity_activityentry")

    page = activity_list().order_by("-occurred_at", "-id")[:25]
    with connection.cursor() as cursor:
        cursor.execute("SELECT substr(md5('777'), 3, 8)")
        fragment = cursor.fetchone()[0].upper()
    search = activity_list().filter(target_repr__icontains=fragment).order_by("-occurred_at", "-id")[:25]
    prefix = activity_list().filter(verb__startswith="user.").order_by("-occurred_at", "-id")[:25]

    page_plan = _explain(*page.query.sql_with_params())
    prefix_plan = _explain(*prefix.query.sql_with_params())
    with connection.cursor() as cursor:  # only an index that matches the search expression can serve now
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
    search_plan = _explain(*search.query.sql_with_params())
    assert "activity_occurred_idx" in page_plan and "Seq Scan on activity_activityentry" not in page_plan
    assert "Seq Scan on activity_activityentry" not in prefix_plan, prefix_plan
    assert "activity_repr_trgm_idx" in search_plan, search_plan


# --- exports ---


def _streamed(response) -> str:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()


def test_export_csv_streams_every_filtered_entry_with_formulas_neutralised(admin_api, timeline):
    record(repr_='=HYPERLINK("http://evil.test","x")')

    response = admin_api.get("/api/v1/activity/export", {"format": "csv", "verb": "user.*,organization.*"})
    rows = list(csv.DictReader(io.StringIO(_streamed(response))))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert [r["target_repr"] for r in rows] == [
        '\'=HYPERLINK("http://evil.test","x")',
        "Research Lab",
        "bob@example.test",
        "alice@example.test",
    ]
    assert rows[-1]["actor_email"] == "admin@example.test"


def test_export_ndjson_with_filters_and_ordering(admin_api, timeline):
    response = admin_api.get(
        "/api/v1/activity/export",
        {"format": "ndjson", "verb": "user.*", "ordering": "occurred_at"},
        HTTP_ACCEPT="application/x-ndjson",
    )
    lines = [json.loads(line) for line in _streamed(response).splitlines()]

    assert response["Content-Type"] == "application/x-ndjson"
    assert [line["target"]["repr"] for line in lines] == ["alice@example.test", "bob@example.test"]
    assert lines[0]["actor"]["email"] == "admin@example.test"


def test_export_spans_many_batches(admin_api, monkeypatch):
    monkeypatch.setattr("p360.api.exports.BATCH_SIZE", 7)
    for n in range(23):
        record(repr_=f"row{n:02d}")

    lines = _streamed(admin_api.get("/api/v1/activity/export", {"format": "ndjson", "search": "row"})).splitlines()

    assert [json.loads(line)["target"]["repr"] for line in lines] == [f"row{n:02d}" for n in reversed(range(23))]


def test_export_rejects_a_bad_format_and_members(admin_api, client_for, tenant_a, api_a):
    UserFactory(email="mem2@example.test")
    member = client_for(tenant_a, login(api_a, "mem2@example.test")["access"])

    assert_problem(admin_api.get("/api/v1/activity/export", {"format": "xlsx"}), 400, "invalid")
    assert_problem(member.get("/api/v1/activity/export"), 403, "permission_denied")


# --- operator commands ---


def _command(name, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_activity_command_csv_and_ndjson_since(in_a, tmp_path):
    now = timezone.now()
    _insert("user.updated", "user", "1", "old@example.test", None, now - timedelta(days=10))
    _insert("user.updated", "user", "2", "new@example.test", None, now - timedelta(days=1))
    connection.set_schema_to_public()

    _command("export_activity", "--tenant", "alpha", "-o", str(tmp_path / "all.csv"))
    out, err = _command(
        "export_activity",
        "--tenant",
        "alpha",
        "--format",
        "ndjson",
        "--since",
        (now - timedelta(days=5)).date().isoformat(),
    )

    rows = list(csv.DictReader((tmp_path / "all.csv").open()))
    assert [r["target_repr"] for r in rows][-2:] == ["old@example.test", "new@example.test"]
    assert [json.loads(line)["target"]["repr"] for line in out.splitlines()] == ["new@example.test"]
    assert "exported 1 entries of alpha" in err


def test_prune_activity_deletes_only_old_entries_and_records_nothing_else(in_a):
    now = timezone.now()
    _insert("user.updated", "user", "1", "old@example.test", None, now - timedelta(days=100))
    _insert("user.updated", "user", "2", "recent@example.test", None, now - timedelta(days=10))
    connection.set_schema_to_public()

    out, _ = _command("prune_activity", "--tenant", "alpha", "--older-than", "30", "--json")

    assert json.loads(out) == {"deleted": {"alpha": 1}}
    connection.set_tenant(in_a)
    assert list(ActivityEntry.objects.values_list("target_repr", flat=True)) == ["recent@example.test"]
    with pytest.raises(DatabaseError), transaction.atomic():
        ActivityEntry.objects.all().delete()  # outside the retention command the trigger still refuses


def test_prune_activity_all_tenants(in_a, tenant_b):
    _insert("user.updated", "user", "1", "old-a@example.test", None, timezone.now() - timedelta(days=100))
    connection.set_tenant(tenant_b)
    _insert("user.updated", "user", "1", "old-b@example.test", None, timezone.now() - timedelta(days=100))
    connection.set_schema_to_public()

    out, _ = _command("prune_activity", "--all", "--older-than", "30")

    assert "alpha: deleted 1" in out and "beta: deleted 1" in out


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("prune_activity", ["--tenant", "nope", "--older-than", "3"], "no tenant with the slug 'nope'"),
        ("prune_activity", ["--tenant", "alpha", "--older-than", "0"], "at least 1 day"),
        ("export_activity", ["--tenant", "alpha", "--since", "someday"], "--since"),
    ],
)
def test_command_errors(name, args, message):
    with pytest.raises(CommandError, match=message):
        _command(name, *args)


def test_status_and_role_changes_record_their_verbs(in_a):
    user = UserFactory(email="eve@example.test", role=UserRole.ADMIN)

    services.user_set_status(actor=SYSTEM, user=user, status=UserStatus.SUSPENDED)
    services.user_set_status(actor=SYSTEM, user=user, status=UserStatus.ACTIVE)
    services.user_set_role(actor=SYSTEM, user=user, role=UserRole.MEMBER)

    entries = list(ActivityEntry.objects.order_by("occurred_at").values_list("verb", "changes"))
    assert entries == [
        ("user.suspended", {"status": {"old": "active", "new": "suspended"}}),
        ("user.activated", {"status": {"old": "suspended", "new": "active"}}),
        ("user.role_changed", {"role": {"old": "admin", "new": "member"}}),
    ]


def test_list_rows_are_exactly_what_the_entry_serializer_gives(admin_api, timeline):
    from activity import selectors
    from activity.api.serializers import ActivityEntrySerializer, activity_list_rows

    with transaction.atomic():
        activity_record(
            verb="user.updated", target_type="user", target_id="u9", target_repr="Zoë Öztürk",
            changes={"job_title": {"old": "", "new": "Lead"}}, metadata={"source": "api", "n": 2},
            actor=Actor.person(admin_api.user),
        )  # fmt: skip
    ActivityEntry.objects.create(verb="user.updated", actor_id=UserFactory.build().id)  # an actor since removed
    queryset = selectors.activity_list().order_by("-occurred_at", "-id")

    ActivityEntry.objects.create(verb="user.updated", metadata={"huge": 10**30, "pi": 3.14, "text": "ü"})  # orjson: no
    fast = activity_list_rows(list(selectors.activity_rows(queryset)))

    assert fast == ActivityEntrySerializer(queryset, many=True).data
    assert {row["actor"] is None for row in fast} == {True, False}
    assert any(row["changes"] == {"job_title": {"old": "", "new": "Lead"}} for row in fast)
    assert any(row["metadata"] == {"huge": 10**30, "pi": 3.14, "text": "ü"} for row in fast)  # json.loads took it


@pytest.mark.parametrize("microsecond", [0, 500000, 7])
def test_list_times_and_cursors_are_exact_for_whole_and_fractional_seconds(admin_api, timeline, microsecond):
    """occurred_at is written by PostgreSQL: the serializer's text, and a cursor made from it names the exact
    instant (a walk one entry at a time neither skips nor repeats one)."""
    import base64

    from activity import selectors
    from activity.api.serializers import ActivityEntrySerializer, activity_list_rows

    moment = timezone.now().replace(microsecond=microsecond) - timedelta(minutes=5)
    for n in range(2):  # two entries at the same instant: the id breaks the tie
        _insert("user.updated", "user", f"same-{n}", "same@example.test", admin_api.user, moment)
    queryset = selectors.activity_list().order_by("-occurred_at", "-id")
    assert (
        activity_list_rows(list(selectors.activity_rows(queryset))) == ActivityEntrySerializer(queryset, many=True).data
    )

    seen, body = [], admin_api.get("/api/v1/activity", {"pagination": "cursor", "page_size": 1}).json()
    while True:
        seen += [row["id"] for row in body["results"]]
        if not body["next"]:
            break
        payload = json.loads(base64.urlsafe_b64decode(body["next_cursor"] + "=" * (-len(body["next_cursor"]) % 4)))
        last = ActivityEntry.objects.get(pk=body["results"][-1]["id"])
        assert payload["v"] == [last.occurred_at.isoformat(), str(last.pk)]
        body = admin_api.get(body["next"]).json()
    assert seen == [str(pk) for pk in queryset.values_list("pk", flat=True)]


def test_record_many_shares_common_arguments_scrubs_them_and_keeps_the_given_order(in_a):
    from activity.services import activity_record_many

    actor = UserFactory()
    entries = [{"target_id": f"id-{n}", "target_repr": f"person {n}"} for n in range(3)]
    entries.append({"target_id": "id-x", "target_repr": "other", "subjects": ("org-1",), "verb": "user.updated"})

    with acting(ActivityContext(request_id="req-7")), transaction.atomic():
        count = activity_record_many(
            entries, verb="user.invited", target_type="user", changes={"password": "hunter2"}, actor=Actor.person(actor)
        )
        with pytest.raises(ValueError, match="unknown activity verb"):  # checked once, before any row is sent
            activity_record_many([{"target_id": "x"}], verb="user.exploded", actor=SYSTEM)

    assert count == 4
    rows = list(ActivityEntry.objects.filter(request_id="req-7").order_by("occurred_at"))
    assert [(r.verb, r.target_id, r.target_repr) for r in rows] == [
        ("user.invited", "id-0", "person 0"),
        ("user.invited", "id-1", "person 1"),
        ("user.invited", "id-2", "person 2"),
        ("user.updated", "id-x", "other"),
    ]
    assert {r.actor_id for r in rows} == {actor.pk} and {r.actor_type for r in rows} == {"user"}
    assert {json.dumps(r.changes) for r in rows} == {'{"password": "[redacted]"}'}
    assert [r.subject_ids for r in rows] == [["id-0"], ["id-1"], ["id-2"], ["id-x", "org-1"]]
    assert len({r.occurred_at for r in rows}) == 4


def test_record_targets_makes_one_entry_per_target_in_order_with_the_shared_arguments(in_a):
    from activity.services import activity_record_targets

    actor = UserFactory()
    targets = [("b-2", "second"), ("a-1", "x" * 400), ("", "no id")]

    with acting(ActivityContext(ip="198.51.100.4", user_agent="ua/1", request_id="req-9")), transaction.atomic():
        count = activity_record_targets(
            targets,
            verb="user.invited",
            target_type="user",
            changes={"token": "eyJabc.def.ghi", "status": {"old": None, "new": "invited"}},
            subjects=("org-9", "a-0"),
            actor=Actor.person(actor),
        )
        with pytest.raises(ValueError, match="unknown activity verb"):
            activity_record_targets([("x", "x")], verb="user.exploded", actor=SYSTEM)

    assert count == 3
    rows = list(ActivityEntry.objects.filter(request_id="req-9").order_by("occurred_at"))
    assert [(r.target_id, r.target_repr[:6], len(r.target_repr)) for r in rows] == [
        ("b-2", "second", 6),
        ("a-1", "xxxxxx", 300),
        ("", "no id", 5),
    ]
    assert [r.subject_ids for r in rows] == [["a-0", "b-2", "org-9"], ["a-0", "a-1", "org-9"], ["a-0", "org-9"]]
    assert {(r.verb, r.target_type, r.actor_id, r.actor_type, r.ip, r.user_agent) for r in rows} == {
        ("user.invited", "user", actor.pk, "user", "198.51.100.4", "ua/1")
    }
    assert rows[0].changes == {"token": "[redacted]", "status": {"old": None, "new": "invited"}}
    assert rows[0].metadata == {} and len({r.pk for r in rows}) == 3
