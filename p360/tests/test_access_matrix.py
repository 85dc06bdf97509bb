"""Access matrix generated from the tenant URLconf and the rule each route declares (p360.api.access, from the
domain policies' tables): every route and method, as anonymous, with another tenant's token, as a member, an
organization admin, an admin and an owner, and as API keys of every scope; and no response of one tenant holds a
row of another. A new endpoint is checked the day it is added: without a declaration the matrix fails, and the
declarations are held to the contract's lists of what members and keys may call."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.urls import get_resolver

from conftest import login
from organizations.services import membership_add, organization_create
from p360.actors import SYSTEM
from p360.api.access import Access, access_of
from users.models import UserRole
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _routes() -> dict[tuple[str, str], Access | None]:
    """(method, route with {params}) -> the access its view declares, for every API route of the tenant URLconf."""
    found = {}

    def walk(patterns, prefix=""):
        for pattern in patterns:
            text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, text)
                continue
            if not text.startswith("api/v1/"):
                continue
            route = "/" + re.sub(
                r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>", lambda m: "{" + (m.group(1) or m.group(2)) + "}", text
            )
            callback = pattern.callback
            view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            actions = getattr(callback, "actions", None)
            if actions:
                methods = list(actions)
            else:
                methods = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)]
            for method in methods:
                found[(method.upper(), route)] = access_of(view_class, actions, method)

    walk(get_resolver("p360.urls_tenant").url_patterns)
    return dict(sorted(found.items()))


ACCESS = _routes()
ROUTES = list(ACCESS)
# generated from the declarations (p360.api.access), which name the rules the services check
CREDENTIALS_IN_BODY = {r for r, a in ACCESS.items() if a is not None and a.anonymous}
MEMBER_MAY = {r for r, a in ACCESS.items() if a is not None and "member" in a.roles}
ORG_ADMIN_MAY = MEMBER_MAY | {r for r, a in ACCESS.items() if a is not None and a.organization_admins}
ORG_SCOPED = {r for r in ORG_ADMIN_MAY - MEMBER_MAY if "{" in r[1]}
TOKEN_ROUTES = [r for r in ROUTES if r not in CREDENTIALS_IN_BODY]

# ... and held to the contract (API.md): what a plain member may call on someone else's or a visible object
CONTRACT_MEMBER_MAY = {
    ("GET", "/api/v1/auth/me"),
    ("PATCH", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/password/change"),
    ("GET", "/api/v1/auth/sessions"),
    ("DELETE", "/api/v1/auth/sessions/{pk}"),
    ("POST", "/api/v1/auth/sessions/revoke-others"),
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/users/{pk}"),
    ("GET", "/api/v1/users/{pk}/organizations"),
    ("GET", "/api/v1/organizations"),
    ("GET", "/api/v1/organizations/{pk}"),
    ("GET", "/api/v1/organizations/{org_id}/members"),
    ("GET", "/api/v1/organizations/{org_id}/members/{user_id}"),
}
CONTRACT_CREDENTIALS_IN_BODY = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/token/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password/reset"),
    ("POST", "/api/v1/auth/password/reset/confirm"),
    ("POST", "/api/v1/auth/invitations/accept"),
}


@pytest.fixture
def world(in_a, tenant_b, client_for, api_a, api_b):
    """Objects to point routes at, and clients for every kind of caller."""
    admin = UserFactory(email="matrix-admin@example.test", role=UserRole.ADMIN)
    member = UserFactory(email="matrix-member@example.test")
    other = UserFactory(email="matrix-other@example.test")
    org = organization_create(actor=SYSTEM, name="Matrix Org")
    membership_add(actor=SYSTEM, org=org, user=other)
    ids = {"pk": str(other.pk), "org_id": str(org.pk), "user_id": str(other.pk)}
    owner = UserFactory(email="matrix-owner@example.test", role=UserRole.OWNER)
    org_admin = UserFactory(email="matrix-org-admin@example.test")
    membership_add(actor=SYSTEM, org=org, user=org_admin, role="admin")
    elsewhere = organization_create(actor=SYSTEM, name="Matrix Elsewhere")
    membership_add(actor=SYSTEM, org=elsewhere, user=other)
    ids["elsewhere"] = str(elsewhere.pk)
    clients = {
        "anonymous": api_a,
        "member": client_for(in_a, login(api_a, member.email)["access"]),
        "org_admin": client_for(in_a, login(api_a, org_admin.email)["access"]),
        "admin": client_for(in_a, login(api_a, admin.email)["access"]),
        "owner": client_for(in_a, login(api_a, owner.email)["access"]),
    }
    connection.set_tenant(tenant_b)
    b_owner = UserFactory(email="matrix-b@example.test", role=UserRole.OWNER, first_name="Foreignname")
    b_org = organization_create(actor=SYSTEM, name="Matrix B Only")
    membership_add(actor=SYSTEM, org=b_org, user=b_owner)
    ids["foreign"] = [str(b_owner.pk), b_owner.email, "Foreignname", str(b_org.pk), b_org.name]
    clients["other_tenant"] = client_for(in_a, login(api_b, "matrix-b@example.test")["access"])
    connection.set_tenant(in_a)
    return ids, clients


def _call(client, method, route, ids):
    path = route
    for name in ("pk", "org_id", "user_id"):
        path = path.replace("{" + name + "}", ids[name])
    path = re.sub(r"\{\w+\}", str(uuid.uuid4()), path)
    if route == "/api/v1/organizations/{pk}" or route.startswith("/api/v1/organizations/{pk}/"):
        path = route.replace("{pk}", ids["org_id"])
    return getattr(client, method.lower())(path, {} if method != "GET" else None, format="json")


def test_every_api_route_declares_the_rule_it_applies_and_the_declarations_keep_the_contract():
    assert len(ROUTES) >= 35
    assert [r for r, a in ACCESS.items() if a is None] == []  # p360.api.access: each view, each action
    assert CREDENTIALS_IN_BODY == CONTRACT_CREDENTIALS_IN_BODY
    assert MEMBER_MAY == CONTRACT_MEMBER_MAY
    assert ("POST", "/api/v1/organizations") in ORG_ADMIN_MAY  # under the organizations they administer
    assert {ACCESS[r].scope for r in ROUTES if r[1].startswith("/api/v1/service-accounts")} == {None}


@pytest.mark.parametrize(("method", "route"), TOKEN_ROUTES)
def test_anonymous_and_foreign_tokens_get_401(world, method, route):
    ids, clients = world
    for caller in ("anonymous", "other_tenant"):
        response = _call(clients[caller], method, route, ids)
        assert response.status_code == 401, (caller, method, route, response.content[:300])
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "route"), sorted(CREDENTIALS_IN_BODY))
def test_credential_endpoints_answer_without_a_token(world, method, route):
    ids, clients = world

    response = _call(clients["anonymous"], method, route, ids)

    assert response.status_code == 400, response.content[:300]  # an empty body names what is missing


@pytest.mark.parametrize(("method", "route"), TOKEN_ROUTES)
def test_members_get_403_outside_what_they_may_do(world, method, route):
    ids, clients = world

    response = _call(clients["member"], method, route, ids)

    if (method, route) in MEMBER_MAY:
        assert response.status_code not in (401, 403), (method, route, response.content[:300])
    else:
        assert response.status_code == 403, (method, route, response.status_code, response.content[:300])


@pytest.mark.parametrize(("method", "route"), TOKEN_ROUTES)
def test_organization_admins_manage_their_organization_and_nothing_else(world, method, route):
    ids, clients = world

    response = _call(clients["org_admin"], method, route, ids)

    if (method, route) in ORG_ADMIN_MAY:
        assert response.status_code not in (401, 403) and response.status_code < 500, (
            method,
            route,
            response.content[:300],
        )
    else:
        assert response.status_code == 403, (method, route, response.status_code, response.content[:300])


@pytest.mark.parametrize(("method", "route"), sorted(ORG_SCOPED))
def test_organization_admins_are_refused_outside_their_subtree(world, method, route):
    ids, clients = world
    outside = {**ids, "pk": ids["elsewhere"], "org_id": ids["elsewhere"]}

    response = _call(clients["org_admin"], method, route, outside)

    assert response.status_code in (403, 404), (method, route, response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["admin", "owner"])
@pytest.mark.parametrize(("method", "route"), TOKEN_ROUTES)
def test_admins_and_owners_do_what_their_role_may_and_never_get_a_500(world, role, method, route):
    ids, clients = world

    response = _call(clients[role], method, route, ids)

    if role in ACCESS[(method, route)].roles:
        assert response.status_code not in (401, 403) and response.status_code < 500, (
            method, route, response.content[:300],
        )  # fmt: skip
    else:
        assert response.status_code == 403, (method, route, response.status_code, response.content[:300])


@pytest.mark.parametrize(("method", "route"), [r for r in ROUTES if r[0] == "GET"])
def test_no_response_holds_a_row_of_another_tenant(world, method, route):
    ids, clients = world

    response = _call(clients["owner"], method, route, ids)

    assert response.status_code == 200 or response.status_code == 404, (route, response.content[:300])
    body = b"".join(response.streaming_content) if response.streaming else response.content
    for marker in ids["foreign"]:
        assert marker.encode() not in body, (route, marker)
    if route in ("/api/v1/users", "/api/v1/users/export", "/api/v1/activity", "/api/v1/activity/export"):
        assert ids["pk"].encode() in body  # the tenant's own rows are there: the check looks at real data


ALL_SCOPES = ["users:write", "organizations:write", "activity:read", "events:read", "webhooks:manage",
              "attributes:manage", "scim"]  # fmt: skip


def _key_scope(method: str, route: str) -> str | None:
    """The scope an API key needs: the one the route's rule names."""
    return ACCESS[(method, route)].scope


def test_keys_reach_the_routes_api_md_opens_to_them():
    """The contract's reading of scopes (docs/api-notes.md, "Routes open to API keys"), against the rules."""
    for (method, route), access in ACCESS.items():
        verb = "read" if method == "GET" else "write"
        if route.endswith("/activity") or route.startswith("/api/v1/activity"):
            expected = "activity:read" if method == "GET" else None
        elif route.startswith(("/api/v1/users", "/api/v1/organizations")):
            expected = f"{route.split('/')[3]}:{verb}"
        else:
            expected = None
        assert access.scope == expected, (method, route, access.scope, expected)


@pytest.fixture
def key_for(world, client_for, tenant_a):
    from service_accounts import services

    made = {}

    def make(scopes: tuple[str, ...]):
        if scopes not in made:
            account = services.service_account_create(actor=SYSTEM, name=f"matrix {len(made)}", scopes=list(scopes))
            made[scopes] = client_for(tenant_a, services.key_create(actor=SYSTEM, account=account).secret)
        return made[scopes]

    return make


@pytest.mark.parametrize(("method", "route"), TOKEN_ROUTES)
def test_api_keys_reach_exactly_the_routes_their_scopes_name(world, key_for, method, route):
    ids, _clients = world
    needed = _key_scope(method, route)
    if needed is not None:
        response = _call(key_for((needed,)), method, route, ids)
        assert response.status_code not in (401, 403) and response.status_code < 500, (
            method, route, needed, response.content[:300],
        )  # fmt: skip
        held = needed.replace(":read", ":write")
        others = tuple(s for s in ALL_SCOPES if s not in (needed, held))
    else:
        others = tuple(ALL_SCOPES)
    refused = _call(key_for(others), method, route, ids)
    assert refused.status_code == 403, (method, route, refused.status_code, refused.content[:300])
    assert refused.json()["code"] == "insufficient_scope"
    assert refused["WWW-Authenticate"].startswith('Bearer realm="p360", error="insufficient_scope"')
