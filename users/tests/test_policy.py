"""users.policy and organizations.policy as the services apply them: every entry point reaches the same rules
because the services check them, so they are tested here at the services, with each kind of actor."""

import pytest

from activity.models import ActivityEntry
from organizations import policy as organizations_policy
from organizations.models import MembershipRole
from organizations.services import membership_add, organization_create
from p360.actors import CLI, SYSTEM, Actor
from p360.api.problems import FieldErrors
from users import policy, services
from users.models import User, UserRole, UserStatus
from users.services.bulk import users_bulk
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = (UserRole.OWNER, UserRole.ADMIN, UserRole.MEMBER)


@pytest.fixture
def people(in_a):
    return {role: UserFactory(role=role) for role in ROLES} | {"other_owner": UserFactory(role=UserRole.OWNER)}


def _expected(action: str, actor_role: str | None, target_role: str, is_self: bool) -> str:
    """The rules of API.md "Roles", written out independently of users.policy: 'ok' or the refusal's code."""
    if actor_role is None:  # the CLI and the system
        return "ok"
    if action == "update_profile" and is_self:
        return "ok"
    if actor_role == UserRole.MEMBER:
        return "permission_denied"
    if target_role == UserRole.OWNER and actor_role != UserRole.OWNER:
        return "permission_denied"
    if is_self and action in ("set_status", "set_role"):
        return "cannot_change_self"
    return "ok"


@pytest.mark.parametrize("action", ["update", "update_profile", "set_role", "set_status", "invite"])
def test_the_rules_on_a_person_for_every_actor_and_target(people, action):
    checked = 0
    actors = [(Actor.person(people[role]), role) for role in ROLES] + [(CLI, None), (SYSTEM, None)]
    for actor, actor_role in actors:
        for target_role in ROLES:
            target = people[target_role]
            refused = policy.refusal(actor, action, target)
            got = "ok" if refused is None else refused.code
            is_self = actor.is_user(target)
            assert got == _expected(action, actor_role, target_role, is_self), (action, actor_role, target_role)
            checked += 1
    assert checked == 15


def test_a_refused_change_writes_nothing_and_records_nothing(people):
    admin, owner = Actor.person(people[UserRole.ADMIN]), people[UserRole.OWNER]
    member = Actor.person(people[UserRole.MEMBER])
    before = ActivityEntry.objects.count()

    with pytest.raises(policy.Forbidden, match="Only owners may change owners"):
        services.user_suspend(actor=admin, user=owner)
    with pytest.raises(policy.Forbidden, match="Only owners and admins manage users"):
        services.user_create(actor=member, email="x@example.test", first_name="X", last_name="Y")
    with pytest.raises(FieldErrors):
        services.user_create(actor=admin, email="x@example.test", first_name="X", last_name="Y", role="owner")
    with pytest.raises(policy.Forbidden) as own:
        services.user_set_role(actor=admin, user=people[UserRole.ADMIN], role=UserRole.MEMBER)

    assert own.value.code == "cannot_change_self"
    owner.refresh_from_db()
    assert owner.status == UserStatus.ACTIVE and not User.objects.filter(email="x@example.test").exists()
    assert ActivityEntry.objects.count() == before


def test_the_cli_and_the_system_act_without_a_role_and_are_recorded_as_themselves(people):
    owner = people[UserRole.OWNER]
    services.user_suspend(actor=CLI, user=owner)  # the other owner remains: not the last one
    invited = services.user_create(actor=SYSTEM, email="new@example.test", first_name="N", last_name="W")

    suspended = ActivityEntry.objects.get(verb="user.suspended")
    created = ActivityEntry.objects.get(verb="user.invited", target_id=str(invited.pk))
    assert (suspended.actor_type, suspended.actor_id) == ("cli", None)
    assert (created.actor_type, created.actor_id) == ("system", None)


def test_a_person_acting_is_recorded_as_that_person(people):
    admin = people[UserRole.ADMIN]
    services.user_suspend(actor=Actor.person(admin), user=people[UserRole.MEMBER])
    entry = ActivityEntry.objects.get(verb="user.suspended")
    assert (entry.actor_type, entry.actor_id) == ("user", admin.pk)


def test_creating_an_invited_person_sends_the_invitation_whoever_creates_it(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.user_create(actor=CLI, email="invitee@example.test", first_name="I", last_name="N")
    assert [message.to for message in mailoutbox] == [["invitee@example.test"]]


def test_bulk_answers_each_row_with_the_services_refusals(people):
    admin = Actor.person(people[UserRole.ADMIN])
    ids = [people[UserRole.MEMBER].pk, people[UserRole.OWNER].pk, people[UserRole.ADMIN].pk]

    result = users_bulk(actor=admin, action="suspend", ids=ids)

    assert [(row["ok"], row.get("code")) for row in result["results"]] == [
        (True, None),
        (False, "permission_denied"),
        (False, "cannot_change_self"),
    ]
    with pytest.raises(policy.Forbidden):
        users_bulk(actor=Actor.person(people[UserRole.MEMBER]), action="suspend", ids=ids)


def test_organization_admins_manage_their_subtree_only(people):
    member = people[UserRole.MEMBER]
    top = organization_create(actor=SYSTEM, name="Top")
    child = organization_create(actor=SYSTEM, name="Child", parent=top)
    other = organization_create(actor=SYSTEM, name="Other")
    membership_add(actor=SYSTEM, org=child, user=member, role=MembershipRole.ADMIN)
    actor = Actor.person(member)

    assert organizations_policy.allows(actor, "update", child)
    assert organizations_policy.allows(actor, "create", child)  # under it
    assert not organizations_policy.allows(actor, "update", top)  # above it
    assert not organizations_policy.allows(actor, "update", other)
    assert not organizations_policy.allows(actor, "create", None)  # the root is the tenant's
    assert organizations_policy.allows_somewhere(actor, "create")
    assert not organizations_policy.allows_somewhere(Actor.person(UserFactory()), "create")
    with pytest.raises(organizations_policy.NotAllowed):
        membership_add(actor=actor, org=other, user=people[UserRole.ADMIN])
    grandchild = organization_create(actor=actor, name="Grandchild", parent=child)
    assert ActivityEntry.objects.get(verb="organization.created", target_id=str(grandchild.pk)).actor_id == member.pk
