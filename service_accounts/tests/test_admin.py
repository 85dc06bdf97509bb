"""Service accounts in the tenant admin: created and changed through the services, a key's secret shown once on
a page of its own (and nowhere after), and no member gets in."""

import pytest

from activity.models import ActivityEntry
from service_accounts.models import ApiKey, ServiceAccount
from tenants.tests.test_platform import _admin_client
from users.models import UserRole
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/service_accounts/serviceaccount/"


def test_an_admin_creates_an_account_and_sees_a_new_keys_secret_once(in_a, client_for, tenant_a):
    UserFactory(email="boss@example.test", role=UserRole.ADMIN)
    staff = _admin_client("alpha.localhost", "boss@example.test")

    form = {"name": "Okta", "description": "", "scopes": ["users:read"], "status": "active",
            "keys-TOTAL_FORMS": "0", "keys-INITIAL_FORMS": "0"}  # fmt: skip
    added = staff.post(f"{CHANGELIST}add/", form)
    assert added.status_code == 302, added.content[:2000]
    account = ServiceAccount.objects.get(name="Okta")
    assert account.scopes == ["users:read"]
    creator = ActivityEntry.objects.get(verb="service_account.created")
    assert creator.actor_type == "user" and creator.actor_id is not None

    shown = staff.post(CHANGELIST, {"action": "create_key", "_selected_action": [str(account.pk)]})
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    key = ApiKey.objects.get(service_account=account)
    page = shown.content.decode()
    secret = page.split('<code id="secret">')[1].split("</code>")[0]
    assert secret.startswith(key.prefix + "_")
    assert client_for(tenant_a, secret).get("/api/v1/users").status_code == 200
    assert secret not in staff.get(f"{CHANGELIST}{account.pk}/change/").content.decode()
    assert secret not in staff.get(CHANGELIST).content.decode()


def test_members_never_see_service_accounts_in_the_admin(in_a):
    UserFactory(email="boss@example.test", role=UserRole.ADMIN)
    staff = _admin_client("alpha.localhost", "boss@example.test")
    assert staff.get(CHANGELIST).status_code == 200
    from p360.actors import Actor
    from service_accounts import policy

    member = UserFactory(role=UserRole.MEMBER)
    assert not policy.allows(Actor.person(member), "read")  # the admin asks this; members never log in there
