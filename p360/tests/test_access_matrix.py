"""Access matrix generated from the tenant URLconf: every route and method, as anonymous, with another
tenant's token, as a member, an organization admin, an admin and an owner; and no response of one tenant
holds a row of another. A new endpoint is checked the day it is added; one that members or organization
admins may call must be listed in MEMBER_MAY or ORG_ADMIN_MAY, or the test fails."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.urls import get_resolver

from conftest import login
from organizations.services import membership_add, organization_create
from p360.actors import SYSTEM
from users.models import UserRole
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# (method, route) that need no token: their credentials are in the body
CREDENTIALS_IN_BODY = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/token/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password/reset"),
    ("POST", "/api/v1/auth/password/reset/confirm"),
    ("POST", "/api/v1/auth/invitations/accept"),
}
# (method, route) a plain member may call (on someone else's or a visible object)
MEMBER_MAY = {
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
# what an organization admin may do besides, on the organization they administer (and its subtree)
ORG_ADMIN_MAY = MEMBER_MAY | {
    ("POST", "/api/v1/organizations"),
    ("GET", "/api/v1/organizations/{pk}/activity"),
    ("PATCH", "/api/v1/organizations/{pk}"),
    ("DELETE", "/api/v1/organizations/{pk}"),
    ("POST", "/api/v1/organizations/{pk}/archive"),
    ("POST", "/api/v1/organizations/{pk}/unarchive"),
    ("POST", "/api/v1/organizations/{org_id}/members"),
    ("PATCH", "/api/v1/organizations/{org_id}/members/{user_id}"),
    ("DELETE", "/api/v1/organizations/{org_id}/members/{user_id}"),
}
ORG_SCOPED = {r for r in ORG_ADMIN_MAY - MEMBER_MAY if "{" in r[1]}


def _routes() -> list[tuple[str, str]]:
    """(method, route with {params}) for every API route of the tenant URLconf."""
    found = []

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
            actions = getattr(callback, "actions", None)
            if actions:
                methods = [m.upper() for m in actions]
            else:
                view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
                methods = [m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)]
            found.extend((method, route) for method in methods)

    walk(get_resolver("p360.urls_tenant").url_patterns)
    return sorted(set(found))


ROUTES = _routes()


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


def test_the_matrix_covers_every_api_route():
    assert len(ROUTES) >= 35
    assert set(ROUTES) >= CREDENTIALS_IN_BODY
    assert set(ROUTES) >= MEMBER_MAY


@pytest.mark.parametrize(("method", "route"), [r for r in ROUTES if r not in CREDENTIALS_IN_BODY])
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


@pytest.mark.parametrize(("method", "route"), [r for r in ROUTES if r not in CREDENTIALS_IN_BODY])
def test_members_get_403_outside_what_they_may_do(world, method, route):
    ids, clients = world

    response = _call(clients["member"], method, route, ids)

    if (method, route) in MEMBER_MAY:
        assert response.status_code not in (401, 403), (method, route, response.content[:300])
    else:
        assert response.status_code == 403, (method, route, response.status_code, response.content[:300])


@pytest.mark.parametrize(("method", "route"), [r for r in ROUTES if r not in CREDENTIALS_IN_BODY])
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
@pytest.mark.parametrize(("method", "route"), [r for r in ROUTES if r not in CREDENTIALS_IN_BODY])
def test_admins_and_owners_are_never_refused_and_never_get_a_500(world, role, method, route):
    ids, clients = world

    response = _call(clients[role], method, route, ids)

    assert response.status_code not in (401, 403) and response.status_code < 500, (
        method,
        route,
        response.content[:300],
    )


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
    """The scope an API key needs, written out from API.md (not read from the views): users and organizations
    by their read and write scopes, the activity lists by activity:read, nothing else open to keys."""
    verb = "read" if method == "GET" else "write"
    if route.endswith("/activity") or route.startswith("/api/v1/activity"):
        return "activity:read" if method == "GET" else None
    for prefix, domain in (("/api/v1/users", "users"), ("/api/v1/organizations", "organizations")):
        if route == prefix or route.startswith(prefix + "/"):
            return f"{domain}:{verb}"
    return None


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


@pytest.mark.parametrize(("method", "route"), [r for r in ROUTES if r not in CREDENTIALS_IN_BODY])
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
