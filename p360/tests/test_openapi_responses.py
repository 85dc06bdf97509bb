"""Real responses against the generated OpenAPI schema, checked by a third-party validator (openapi-core):
every GET of the tenant and platform schemas, in page and cursor mode, their problems (401, 404, 400), and
an activity log with user, system and command-line actors (an entry without an actor has `actor: null`).

A drift between what the views answer and what the schema says (a field the schema calls non-nullable that
comes back null, an undocumented status) fails here, before a generated client meets it."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.db import connection
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from rest_framework.test import APIClient

from conftest import PASSWORD, login
from organizations.services import membership_add, organization_create
from p360.actors import CLI, SYSTEM
from users.models import User, UserRole
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OPENAPI_JSON = "application/vnd.oai.openapi+json"


def _schema(client: APIClient) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT=OPENAPI_JSON)
    assert response.status_code == 200
    return json.loads(response.content)


def _validator(schema: dict) -> OpenAPI:
    """openapi-core, reading problem+json as the JSON it is and exports as text."""
    text = {media: lambda body: body.decode() for media in ("text/csv", "application/x-ndjson")}
    return OpenAPI.from_dict(
        schema, config=Config(extra_media_type_deserializers={"application/problem+json": json.loads, **text})
    )


def _check(api: OpenAPI, host: str, response, pattern: str) -> None:
    request = response.wsgi_request
    query = {key: request.GET.get(key) for key in request.GET}
    checked = MockRequest(
        f"http://{host}", request.method.lower(), request.path, path_pattern=pattern, args=query,
        headers={key: value for key, value in request.headers.items()},
    )  # fmt: skip
    content_type = response.headers.get("Content-Type", "").split(";")[0]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    api.validate_response(checked, MockResponse(body, response.status_code, dict(response.headers), content_type))


def _gets(schema: dict) -> list[tuple[str, dict]]:
    return [(path, ops["get"]) for path, ops in schema["paths"].items() if "get" in ops]


def _param_names(operation: dict) -> set[str]:
    return {param["name"] for param in operation.get("parameters", []) if param["in"] == "query"}


def _filled(pattern: str, fill: dict) -> str:
    """The path with its parameters filled by (collection, parameter name): /users/{id} -> a user's id."""
    collection = pattern.split("/")[3]
    return re.sub(r"\{(\w+)\}", lambda match: fill[(collection, match.group(1))], pattern)


def _walk(api, host, client, schema, fill: dict, seen: list) -> None:
    """Every GET of the schema: as it is, in cursor mode, and with a bad ordering where it takes one."""
    for pattern, operation in _gets(schema):
        path = _filled(pattern, fill)
        params = _param_names(operation)
        variants = [{}]
        if "pagination" in params:
            variants += [{"pagination": "cursor", "page_size": "2"}]
        if "facets" in params:
            facet = next(p for p in operation["parameters"] if p["name"] == "facets")
            choices = facet["schema"].get("items", facet["schema"]).get("enum", [])
            variants += [{"facets": ",".join(choices)}] if choices else []
        if "ordering" in params:
            variants += [{"ordering": "--bogus"}]
        for query in variants:
            response = client.get(path, query)
            assert response.status_code < 500, (path, query, response.content[:300])
            _check(api, host, response, pattern)
            seen.append((pattern, response.status_code))
            if response.status_code == 200 and query.get("pagination") == "cursor":
                following = json.loads(response.content).get("next")
                if following:
                    response = client.get(following)
                    _check(api, host, response, pattern)


@pytest.fixture
def tenant_world(in_a, tenant_a, client_for, api_a):
    """People, a two-level organization tree with members, and entries of each kind of actor."""
    admin = UserFactory(email="schema-admin@example.test", role=UserRole.ADMIN)
    member = UserFactory(email="schema-member@example.test", role=UserRole.MEMBER)
    root = organization_create(actor=SYSTEM, name="Schema Root")  # actor_type system
    child = organization_create(actor=CLI, name="Schema Child", parent=root)  # actor_type cli
    membership_add(actor=SYSTEM, org=root, user=member)
    client = client_for(tenant_a, login(api_a, admin.email)["access"])
    created = client.post("/api/v1/users", {"email": "schema-new@example.test", "first_name": "Ne", "last_name": "W"})
    assert created.status_code == 201, created.content  # actor_type user
    from service_accounts import services as service_accounts

    account = service_accounts.service_account_create(actor=SYSTEM, name="Schema sync", scopes=["users:read"])
    service_accounts.key_create(actor=SYSTEM, account=account)
    return {"client": client, "admin": admin, "member": member, "root": root, "child": child, "account": account}


def test_every_tenant_get_and_its_problems_match_the_schema(tenant_world, tenant_a, client_for):
    host = "alpha.localhost"
    client = tenant_world["client"]
    schema = _schema(client)
    api = _validator(schema)
    member, root = tenant_world["member"], tenant_world["root"]
    fill = {
        ("users", "id"): str(member.id),
        ("organizations", "id"): str(root.id),
        ("organizations", "org_id"): str(root.id),
        ("organizations", "user_id"): str(member.id),
        ("service-accounts", "id"): str(tenant_world["account"].id),
    }

    seen: list = []
    _walk(api, host, client, schema, fill, seen)
    missing = {key: str(uuid.uuid4()) for key in fill}
    _walk(api, host, client, schema, missing, seen)  # unknown ids: 404 problems where the path has one
    anonymous = client_for(tenant_a)
    for pattern, _operation in _gets(schema):
        response = anonymous.get(_filled(pattern, fill))
        _check(api, host, response, pattern)
        seen.append((pattern, response.status_code))

    statuses = {status for _pattern, status in seen}
    assert {200, 400, 401, 404} <= statuses
    assert {pattern for pattern, status in seen if status == 200} == {pattern for pattern, _ in _gets(schema)}

    entries = json.loads(client.get("/api/v1/activity", {"page_size": 100}).content)["results"]
    kinds = {(entry["actor_type"], entry["actor"] is None) for entry in entries}
    assert {("system", True), ("cli", True), ("user", False)} <= kinds  # each validated above, nulls included


def test_every_platform_get_and_its_problems_match_the_schema(client_for, db):
    connection.set_schema_to_public()
    User.objects.create_superuser("schema-ops@platform.test", PASSWORD, first_name="Platform", last_name="Ops")
    client = client_for(None, login(client_for(None), "schema-ops@platform.test")["access"])
    schema = _schema(client)
    api = _validator(schema)
    fill = {("tenants", "slug"): "alpha", ("tenants", "id"): "alpha"}

    seen: list = []
    _walk(api, "localhost", client, schema, fill, seen)
    _walk(api, "localhost", client, schema, {key: "no-such-tenant" for key in fill}, seen)

    assert {pattern for pattern, status in seen if status == 200} == {pattern for pattern, _ in _gets(schema)}
    assert any(pattern.startswith("/api/v1/tenants") for pattern, _ in seen)
    assert {200, 400, 404} <= {status for _pattern, status in seen}
