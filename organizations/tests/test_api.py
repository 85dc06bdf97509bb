"""Organizations and memberships over the API: hierarchy, conflicts, permissions, activity, query counts."""

import pytest
from django.db import connection

from activity.models import ActivityEntry
from conftest import login
from organizations.models import Membership, MembershipRole, Organization
from organizations.services import membership_add, organization_create
from p360.actors import SYSTEM
from users.models import UserRole
from users.tests.factories import UserFactory
from users.tests.test_auth import assert_problem

pytestmark = pytest.mark.django_db

ORGS = "/api/v1/organizations"


@pytest.fixture
def admin(as_role):
    return as_role(UserRole.ADMIN)


@pytest.fixture
def tree(in_a):
    """Five levels: Company > Engineering > Platform > Storage > Backups, and a sibling branch Sales."""
    company = organization_create(actor=SYSTEM, name="Company")
    engineering = organization_create(actor=SYSTEM, name="Engineering", parent=company)
    platform = organization_create(actor=SYSTEM, name="Platform", parent=engineering)
    storage = organization_create(actor=SYSTEM, name="Storage", parent=platform)
    backups = organization_create(actor=SYSTEM, name="Backups", parent=storage)
    sales = organization_create(actor=SYSTEM, name="Sales", parent=company)
    return {o.name: o for o in (company, engineering, platform, storage, backups, sales)}


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


# --- create and read ---


def test_create_with_slug_from_name_location_etag_and_activity(admin):
    response = admin.post(ORGS, {"name": "  Research & Development ", "description": "R&D"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["slug"], body["parent"], body["path"], body["status"]) == (
        "Research & Development", "research-development", None, [], "active",
    )  # fmt: skip
    assert (body["member_count"], body["child_count"]) == (0, 0)
    assert response["Location"] == f"{ORGS}/{body['id']}"
    assert response["ETag"]
    entry = ActivityEntry.objects.get(verb="organization.created")
    assert (entry.target_id, entry.actor_id) == (body["id"], admin.user.id)


def test_slugs_stay_unique_and_a_given_taken_slug_is_409(admin):
    first = admin.post(ORGS, {"name": "Ops"}, format="json").json()
    second = admin.post(ORGS, {"name": "Ops", "parent": first["id"]}, format="json").json()
    taken = admin.post(ORGS, {"name": "Other", "slug": "ops"}, format="json")

    assert (first["slug"], second["slug"]) == ("ops", "ops-2")
    assert_problem(taken, 409, "slug_taken")


def test_a_sibling_with_the_same_name_is_409_also_at_the_root(admin, tree):
    under = admin.post(ORGS, {"name": "platform", "parent": str(tree["Engineering"].id)}, format="json")
    root = admin.post(ORGS, {"name": "COMPANY"}, format="json")
    elsewhere = admin.post(ORGS, {"name": "Platform", "parent": str(tree["Sales"].id)}, format="json")

    assert_problem(under, 409, "name_taken")
    assert_problem(root, 409, "name_taken")
    assert elsewhere.status_code == 201


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({}, "name", "required"),
        ({"name": ""}, "name", "blank"),
        ({"name": "x" * 201}, "name", "max_length"),
        ({"name": "Bad\nName"}, "name", "invalid"),
        ({"name": "Ok", "slug": "not a slug"}, "slug", "invalid"),
        ({"name": "Ok", "parent": "not-a-uuid"}, "parent", "invalid"),
        ({"name": "Ok", "parent": "00000000-0000-0000-0000-000000000000"}, "parent", "does_not_exist"),
        ({"name": "Ok", "status": "archived"}, "status", "not_allowed"),
        ({"name": "Ok", "member_count": 5}, "member_count", "not_allowed"),
    ],
)
def test_create_rejects_bad_input_and_writes_nothing(admin, payload, field, code):
    body = assert_problem(admin.post(ORGS, payload, format="json"), 400, "invalid")

    assert {"field": field, "code": code} in [{k: e[k] for k in ("field", "code")} for e in body["errors"]]
    assert not Organization.objects.exists()


def test_five_levels_path_ancestor_filter_and_counts(admin, tree):
    backups = admin.get(f"{ORGS}/{tree['Backups'].id}").json()
    descendants = names(admin.get(ORGS, {"ancestor": str(tree["Engineering"].id)}))
    roots = names(admin.get(ORGS, {"parent": "root"}))
    children = names(admin.get(ORGS, {"parent": str(tree["Company"].id)}))
    company = admin.get(f"{ORGS}/{tree['Company'].id}").json()

    assert [p["name"] for p in backups["path"]] == ["Company", "Engineering", "Platform", "Storage"]
    assert backups["parent"] == str(tree["Storage"].id)
    assert descendants == ["Backups", "Platform", "Storage"]
    assert roots == ["Company"]
    assert children == ["Engineering", "Sales"]
    assert company["child_count"] == 2


def test_search_status_filter_facets_and_member_count_ordering(admin, tree):
    user = UserFactory(email="m@example.test")
    membership_add(actor=SYSTEM, org=tree["Sales"], user=user)
    membership_add(actor=SYSTEM, org=tree["Sales"], user=admin.user)
    membership_add(actor=SYSTEM, org=tree["Storage"], user=user)
    admin.post(f"{ORGS}/{tree['Backups'].id}/archive")

    assert names(admin.get(ORGS, {"search": "STOR"})) == ["Storage"]
    assert names(admin.get(ORGS, {"status": "archived"})) == ["Backups"]
    by_members = names(admin.get(ORGS, {"ordering": "-member_count,name"}))
    facets = admin.get(ORGS, {"facets": "status", "status": "active", "search": "a"}).json()["facets"]

    assert by_members[:2] == ["Sales", "Storage"]
    assert facets == {"status": {"active": 4, "archived": 1}}  # the status filter itself does not narrow its facet


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "deleted"}, "status"), ({"parent": "nope"}, "parent"), ({"ancestor": "nope"}, "ancestor"),
     ({"ordering": "slug"}, "ordering"), ({"facets": "role"}, "facets"), ({"created_after": "soon"}, "created_after"),
     ({"owner": "x"}, "owner")],
)  # fmt: skip
def test_bad_list_parameters_are_400(admin, params, field):
    body = assert_problem(admin.get(ORGS, params), 400, "invalid")

    assert field in {e["field"] for e in body["errors"]}


def test_cursor_mode_over_member_count(admin, tree):
    for n, org in enumerate(tree.values()):
        for k in range(n % 3):
            membership_add(actor=SYSTEM, org=org, user=UserFactory(email=f"c{n}-{k}@example.test"))
    expected = names(admin.get(ORGS, {"ordering": "-member_count", "page_size": 100}))

    seen, url, params = [], ORGS, {"ordering": "-member_count", "pagination": "cursor", "page_size": 2}
    while url:
        body = admin.get(url, params).json()
        seen += [row["name"] for row in body["results"]]
        url, params = body["next"], None

    assert seen == expected


def test_list_and_members_query_counts_are_constant_from_1_to_100_rows(admin, django_assert_max_num_queries):
    root = organization_create(actor=SYSTEM, name="Root")
    for n in range(100):
        org = organization_create(actor=SYSTEM, name=f"Team {n:03d}", parent=root)
        membership_add(actor=SYSTEM, org=root, user=UserFactory(email=f"q{n}@example.test"))
        if n < 3:
            membership_add(actor=SYSTEM, org=org, user=UserFactory(email=f"t{n}@example.test"))
    for size in (1, 100):
        # SET search_path, the caller, bounded count, page, ancestor names
        with django_assert_max_num_queries(5):
            assert len(admin.get(ORGS, {"page_size": size}).json()["results"]) == size
        with django_assert_max_num_queries(5):  # + the organization
            assert len(admin.get(f"{ORGS}/{root.id}/members", {"page_size": size}).json()["results"]) == size


# --- update, move, delete ---


def test_patch_updates_and_records_changes(admin, tree):
    org = tree["Sales"]

    response = admin.patch(f"{ORGS}/{org.id}", {"name": "Revenue", "description": "Sells"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Revenue"
    entry = ActivityEntry.objects.get(verb="organization.updated")
    assert entry.changes == {"name": {"old": "Sales", "new": "Revenue"}, "description": {"old": "", "new": "Sells"}}


def test_moving_a_subtree_rewrites_every_descendant_path(admin, tree):
    response = admin.patch(f"{ORGS}/{tree['Platform'].id}", {"parent": str(tree["Sales"].id)}, format="json")

    backups = admin.get(f"{ORGS}/{tree['Backups'].id}").json()
    assert response.status_code == 200
    assert [p["name"] for p in backups["path"]] == ["Company", "Sales", "Platform", "Storage"]
    assert names(admin.get(ORGS, {"ancestor": str(tree["Engineering"].id)})) == []
    moved = ActivityEntry.objects.get(verb="organization.moved")
    assert moved.changes == {"parent": {"old": str(tree["Engineering"].id), "new": str(tree["Sales"].id)}}


def test_moving_to_the_root_and_back(admin, tree):
    to_root = admin.patch(f"{ORGS}/{tree['Storage'].id}", {"parent": None}, format="json").json()
    backups = admin.get(f"{ORGS}/{tree['Backups'].id}").json()

    assert to_root["path"] == [] and to_root["parent"] is None
    assert [p["name"] for p in backups["path"]] == ["Storage"]


@pytest.mark.parametrize("target", ["Platform", "Storage", "Backups"])
def test_a_move_under_itself_or_a_descendant_is_400_cycle(admin, tree, target):
    response = admin.patch(f"{ORGS}/{tree['Platform'].id}", {"parent": str(tree[target].id)}, format="json")

    assert_problem(response, 400, "cycle")
    assert Organization.objects.get(pk=tree["Platform"].id).parent_id == tree["Engineering"].id


def test_stale_if_match_is_412_and_changes_nothing(admin, tree):
    url = f"{ORGS}/{tree['Sales'].id}"
    etag = admin.get(url)["ETag"]
    assert admin.patch(url, {"description": "v2"}, format="json", HTTP_IF_MATCH=etag).status_code == 200

    stale_patch = admin.patch(url, {"name": "Lost update"}, format="json", HTTP_IF_MATCH=etag)
    stale_delete = admin.delete(url, HTTP_IF_MATCH=etag)

    assert_problem(stale_patch, 412, "precondition_failed")
    assert_problem(stale_delete, 412, "precondition_failed")
    assert Organization.objects.get(pk=tree["Sales"].id).name == "Sales"


def test_delete_with_children_is_409_and_a_leaf_deletes_with_its_memberships(admin, tree):
    membership_add(actor=SYSTEM, org=tree["Backups"], user=UserFactory(email="b@example.test"))

    parent = admin.delete(f"{ORGS}/{tree['Storage'].id}")
    leaf = admin.delete(f"{ORGS}/{tree['Backups'].id}")

    assert_problem(parent, 409, "has_children")
    assert leaf.status_code == 204
    assert not Organization.objects.filter(pk=tree["Backups"].id).exists()
    assert not Membership.objects.filter(organization_id=tree["Backups"].id).exists()
    assert ActivityEntry.objects.get(verb="organization.deleted").metadata == {"member_count": 1}


def test_archive_and_unarchive_transitions(admin, tree):
    url = f"{ORGS}/{tree['Sales'].id}"

    archived = admin.post(f"{url}/archive")
    again = admin.post(f"{url}/archive")
    child = admin.post(ORGS, {"name": "Inside", "parent": str(tree["Sales"].id)}, format="json")
    restored = admin.post(f"{url}/unarchive")

    assert archived.json()["status"] == "archived"
    assert_problem(again, 409, "invalid_transition")
    assert_problem(child, 409, "parent_archived")
    assert restored.json()["status"] == "active"
    entries = ActivityEntry.objects.filter(target_id=str(tree["Sales"].id)).order_by("occurred_at")
    assert list(entries.values_list("verb", flat=True)) == [
        "organization.created", "organization.archived", "organization.unarchived",
    ]  # fmt: skip


# --- members ---


def test_members_add_list_patch_remove(admin, tree):
    user = UserFactory(email="zed@example.test", first_name="Zed")
    url = f"{ORGS}/{tree['Sales'].id}/members"

    added = admin.post(url, {"user": str(user.id), "role": "admin"}, format="json")
    duplicate = admin.post(url, {"user": str(user.id)}, format="json")
    listed = admin.get(url).json()
    patched = admin.patch(f"{url}/{user.id}", {"role": "member"}, format="json")
    removed = admin.delete(f"{url}/{user.id}")
    gone = admin.get(f"{url}/{user.id}")

    assert added.status_code == 201 and added.json()["role"] == "admin"
    assert added["Location"] == f"{url}/{user.id}"
    assert_problem(duplicate, 409, "already_member")
    assert listed["count"] == 1
    assert listed["results"][0]["user"] == {
        "id": str(user.id),
        "email": "zed@example.test",
        "full_name": user.full_name,
        "status": "active",
    }
    assert patched.json()["role"] == "member"
    assert removed.status_code == 204
    assert_problem(gone, 404, "not_found")
    verbs = list(
        ActivityEntry.objects.filter(verb__startswith="membership.")
        .order_by("occurred_at")
        .values_list("verb", flat=True)
    )
    assert verbs == ["membership.added", "membership.updated", "membership.removed"]


def test_member_filters_and_include_descendants(admin, tree):
    alice = UserFactory(email="alice@example.test", first_name="Alice")
    bob = UserFactory(email="bob@example.test", first_name="Bob")
    membership_add(actor=SYSTEM, org=tree["Engineering"], user=alice, role=MembershipRole.ADMIN)
    membership_add(actor=SYSTEM, org=tree["Backups"], user=bob)
    url = f"{ORGS}/{tree['Engineering'].id}/members"

    direct = admin.get(url).json()["results"]
    deep = admin.get(url, {"include_descendants": "true", "ordering": "email"}).json()["results"]
    admins = admin.get(url, {"include_descendants": "true", "role": "admin"}).json()["results"]
    searched = admin.get(url, {"include_descendants": "true", "search": "BOB"}).json()["results"]

    assert [m["user"]["email"] for m in direct] == ["alice@example.test"]
    assert [(m["user"]["email"], m["organization"]["name"]) for m in deep] == [
        ("alice@example.test", "Engineering"),
        ("bob@example.test", "Backups"),
    ]
    assert [m["user"]["email"] for m in admins] == ["alice@example.test"]
    assert [m["user"]["email"] for m in searched] == ["bob@example.test"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"user": "00000000-0000-0000-0000-000000000000"}, 400, "invalid"),
        ({"user": "x"}, 400, "invalid"),
        ({"role": "owner"}, 400, "invalid"),
    ],
)
def test_member_add_rejects_bad_input(admin, tree, payload, status, code):
    user = UserFactory(email="y@example.test")
    payload = {"user": str(user.id), **payload}

    assert_problem(admin.post(f"{ORGS}/{tree['Sales'].id}/members", payload, format="json"), status, code)
    assert not Membership.objects.exists()


def test_members_cannot_join_archived_organizations_or_be_deactivated(admin, tree):
    user = UserFactory(email="late@example.test")
    gone = UserFactory(email="gone@example.test", status="deactivated")
    admin.post(f"{ORGS}/{tree['Backups'].id}/archive")

    archived = admin.post(f"{ORGS}/{tree['Backups'].id}/members", {"user": str(user.id)}, format="json")
    deactivated = admin.post(f"{ORGS}/{tree['Sales'].id}/members", {"user": str(gone.id)}, format="json")

    assert_problem(archived, 409, "organization_archived")
    assert_problem(deactivated, 409, "user_deactivated")


# --- permissions ---


def test_members_read_but_cannot_write(as_role, tree):
    member = as_role(UserRole.MEMBER)
    org = tree["Sales"]

    assert member.get(ORGS).status_code == 200
    assert member.get(f"{ORGS}/{org.id}/members").status_code == 200
    assert_problem(member.post(ORGS, {"name": "Mine"}, format="json"), 403, "permission_denied")
    assert_problem(member.patch(f"{ORGS}/{org.id}", {"name": "X"}, format="json"), 403, "permission_denied")
    assert_problem(member.delete(f"{ORGS}/{org.id}"), 403, "permission_denied")
    assert_problem(member.post(f"{ORGS}/{org.id}/archive"), 403, "permission_denied")
    assert_problem(
        member.post(f"{ORGS}/{org.id}/members", {"user": str(member.user.id)}, format="json"), 403, "permission_denied"
    )
    assert_problem(member.get(f"{ORGS}/{org.id}/activity"), 403, "permission_denied")


def test_an_organization_admin_manages_their_subtree_only(as_role, tree):
    lead = as_role(UserRole.MEMBER)
    membership_add(actor=SYSTEM, org=tree["Platform"], user=lead.user, role=MembershipRole.ADMIN)
    newcomer = UserFactory(email="new@example.test")

    create_below = lead.post(ORGS, {"name": "Compute", "parent": str(tree["Platform"].id)}, format="json")
    rename_deep = lead.patch(f"{ORGS}/{tree['Backups'].id}", {"description": "daily"}, format="json")
    add_member = lead.post(f"{ORGS}/{tree['Storage'].id}/members", {"user": str(newcomer.id)}, format="json")
    activity = lead.get(f"{ORGS}/{tree['Storage'].id}/activity")
    above = lead.patch(f"{ORGS}/{tree['Engineering'].id}", {"description": "no"}, format="json")
    sibling = lead.post(f"{ORGS}/{tree['Sales'].id}/archive")
    root = lead.post(ORGS, {"name": "Rogue"}, format="json")
    escape = lead.patch(f"{ORGS}/{tree['Storage'].id}", {"parent": str(tree["Sales"].id)}, format="json")

    assert create_below.status_code == 201
    assert rename_deep.status_code == 200
    assert add_member.status_code == 201
    assert activity.status_code == 200
    for response in (above, sibling, root, escape):
        assert_problem(response, 403, "permission_denied")
    assert Organization.objects.get(pk=tree["Storage"].id).parent_id == tree["Platform"].id


def test_anonymous_is_401(api_a, tree):
    assert_problem(api_a.get(ORGS), 401, "not_authenticated")


def test_an_organization_of_another_tenant_is_404(admin, tree, client_for, tenant_b, api_b):
    connection.set_tenant(tenant_b)
    UserFactory(email="admin-b@example.test", role=UserRole.ADMIN)
    other = client_for(tenant_b, login(api_b, "admin-b@example.test")["access"])
    org = tree["Sales"]

    for response in (
        other.get(f"{ORGS}/{org.id}"),
        other.patch(f"{ORGS}/{org.id}", {"name": "x"}, format="json"),
        other.delete(f"{ORGS}/{org.id}"),
        other.get(f"{ORGS}/{org.id}/members"),
        other.post(f"{ORGS}/{org.id}/archive"),
        other.get(f"{ORGS}/{org.id}/activity"),
    ):
        assert_problem(response, 404, "not_found")
    assert other.get(ORGS).json()["count"] == 0


# --- activity and idempotency ---


def test_organization_activity_lists_its_changes_and_memberships(admin, tree):
    user = UserFactory(email="act@example.test")
    admin.post(f"{ORGS}/{tree['Sales'].id}/members", {"user": str(user.id)}, format="json")
    admin.patch(f"{ORGS}/{tree['Sales'].id}", {"description": "new"}, format="json")
    admin.patch(f"{ORGS}/{tree['Engineering'].id}", {"description": "other"}, format="json")

    body = admin.get(f"{ORGS}/{tree['Sales'].id}/activity").json()

    assert [row["verb"] for row in body["results"]] == [
        "organization.updated",
        "membership.added",
        "organization.created",
    ]
    assert body["results"][1]["target"]["repr"] == "act@example.test in Sales"


def test_idempotency_key_replays_and_rejects_reuse(admin):
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-ops-1"}

    first = admin.post(ORGS, {"name": "Ops"}, format="json", **headers)
    replay = admin.post(ORGS, {"name": "Ops"}, format="json", **headers)
    reused = admin.post(ORGS, {"name": "Other"}, format="json", **headers)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true" and replay["Location"] == first["Location"]
    assert "Idempotent-Replayed" not in first
    assert_problem(reused, 409, "idempotency_key_reused")
    assert Organization.objects.count() == 1
    assert ActivityEntry.objects.filter(verb="organization.created").count() == 1


def test_a_failed_request_does_not_burn_its_idempotency_key(admin):
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-2"}

    failed = admin.post(ORGS, {"name": ""}, format="json", **headers)
    retried = admin.post(ORGS, {"name": ""}, format="json", **headers)
    fixed = admin.post(ORGS, {"name": "Fine"}, format="json", **headers)

    assert failed.status_code == retried.status_code == 400
    assert fixed.status_code == 201


def test_idempotency_keys_are_per_caller(as_role):
    one, two = as_role(UserRole.ADMIN), as_role(UserRole.ADMIN)

    first = one.post(ORGS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    second = two.post(ORGS, {"name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="same")

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second


def test_a_bad_idempotency_key_is_400(admin):
    response = admin.post(ORGS, {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 300)

    assert_problem(response, 400, "invalid")


def test_a_request_that_fails_after_its_first_change_leaves_neither_change_nor_entry(admin, tree):
    url = f"{ORGS}/{tree['Platform'].id}"

    response = admin.patch(url, {"name": "Renamed", "parent": str(tree["Backups"].id)}, format="json")

    assert_problem(response, 400, "cycle")
    assert Organization.objects.get(pk=tree["Platform"].id).name == "Platform"
    assert not ActivityEntry.objects.filter(verb__in=["organization.updated", "organization.moved"]).exists()


def test_a_move_is_judged_by_where_the_destination_is_now_not_where_the_caller_saw_it(in_a):
    """An organization admin of Engineering may move its teams under its subtree only: a destination that was
    inside it when read but has left since is refused (the rule reads the destination under the tree lock)."""
    from organizations.policy import NotAllowed
    from organizations.services import organization_update
    from p360.actors import Actor

    company = organization_create(actor=SYSTEM, name="Co")
    engineering = organization_create(actor=SYSTEM, name="Eng", parent=company)
    team = organization_create(actor=SYSTEM, name="Team", parent=engineering)
    lab = organization_create(actor=SYSTEM, name="Lab", parent=engineering)
    lead = UserFactory(email="lead@example.test")
    membership_add(actor=SYSTEM, org=engineering, user=lead, role=MembershipRole.ADMIN)
    seen = Organization.objects.get(pk=lab.pk)  # under Engineering, as the caller read it
    organization_update(actor=SYSTEM, org=lab, data={"parent": company})  # then it leaves the subtree

    with pytest.raises(NotAllowed):
        organization_update(actor=Actor.person(lead), org=team, data={"parent": seen})

    assert Organization.objects.get(pk=team.pk).parent_id == engineering.pk
    organization_update(actor=SYSTEM, org=lab, data={"parent": engineering})  # back inside: now it may
    organization_update(actor=Actor.person(lead), org=team, data={"parent": seen})
    assert Organization.objects.get(pk=team.pk).parent_id == lab.pk
