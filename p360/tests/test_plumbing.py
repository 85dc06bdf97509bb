"""Cross-cutting API plumbing: problem+json everywhere, request ids, body limits, health, schema and docs."""

import json

import pytest
import yaml
from rest_framework.test import APIClient

from users.tests.test_auth import assert_problem

pytestmark = pytest.mark.django_db


# --- request ids ---


def test_a_sane_client_request_id_is_echoed(api_a):
    response = api_a.get("/api/v1/auth/me", HTTP_X_REQUEST_ID="client-42.a:b")

    assert response["X-Request-ID"] == "client-42.a:b"
    assert response.json()["request_id"] == "client-42.a:b"


@pytest.mark.parametrize("offered", ["", "has space", "x" * 129, "<script>", "a\u00e9b"])
def test_an_insane_request_id_is_replaced(api_a, offered):
    response = api_a.get("/api/v1/auth/me", HTTP_X_REQUEST_ID=offered)

    assert response["X-Request-ID"] != offered
    assert len(response["X-Request-ID"]) == 32


def test_every_response_has_a_request_id_even_healthz_and_unknown_hosts():
    assert APIClient(HTTP_HOST="nowhere.localhost").get("/api/v1/auth/me")["X-Request-ID"]
    assert APIClient().get("/healthz")["X-Request-ID"]


# --- bodies ---


def test_malformed_json_is_400(api_a):
    response = api_a.generic("POST", "/api/v1/auth/token", b'{"email": ', content_type="application/json")

    body = assert_problem(response, 400, "parse_error")
    assert "Malformed JSON" in body["detail"]


def test_invalid_utf8_is_400(api_a):
    response = api_a.generic("POST", "/api/v1/auth/token", b'{"email": "\xff\xfe"}', content_type="application/json")

    body = assert_problem(response, 400, "parse_error")
    assert "UTF-8" in body["detail"]


@pytest.mark.parametrize("depth", [33, 5000, 100_000])
def test_deeply_nested_json_is_400_not_500(api_a, depth):
    payload = b"[" * depth + b"]" * depth

    response = api_a.generic("POST", "/api/v1/auth/token", payload, content_type="application/json")

    body = assert_problem(response, 400, "parse_error")
    assert "nested deeper than 32" in body["detail"]


def test_nesting_within_the_limit_is_parsed(api_a):
    payload = json.dumps({"email": "a@b.test", "password": "x" * 10, "x": [[[[1]]]]})

    response = api_a.generic("POST", "/api/v1/auth/token", payload, content_type="application/json")

    assert response.json()["errors"] == [
        {"field": "x", "code": "not_allowed", "message": "This field cannot be set here."}
    ]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_constants_are_400(api_a, literal):
    response = api_a.generic(
        "POST", "/api/v1/auth/token", b'{"email": ' + literal + b"}", content_type="application/json"
    )

    assert_problem(response, 400, "parse_error")


def test_a_body_over_the_limit_is_413(api_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = json.dumps({"email": "a@b.test", "password": "x" * 2000})

    response = api_a.generic("POST", "/api/v1/auth/token", payload, content_type="application/json")

    assert_problem(response, 413, "request_too_large")


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"]
)
def test_non_json_bodies_are_415(api_a, content_type):
    response = api_a.generic("POST", "/api/v1/auth/token", b"email=a", content_type=content_type)

    assert_problem(response, 415, "unsupported_media_type")


def test_a_json_array_where_an_object_is_expected_is_400(api_a):
    response = api_a.generic("POST", "/api/v1/auth/token", b"[1, 2]", content_type="application/json")

    assert_problem(response, 400, "invalid")


# --- methods and paths ---


def test_a_wrong_method_is_405_problem(api_a):
    response = api_a.get("/api/v1/auth/token")

    body = assert_problem(response, 405, "method_not_allowed")
    assert "GET" in body["detail"]
    assert "POST" in response["Allow"]


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/auth/token", "/api/"])
def test_unknown_api_paths_are_404_problem(api_a, path):
    assert_problem(api_a.get(path), 404, "not_found")


def test_unknown_non_api_paths_are_404_problem_too(api_a):
    assert_problem(api_a.get("/not-a-page"), 404, "not_found")


# --- health ---


def test_healthz_answers_on_any_host_without_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        for host in ("localhost", "alpha.localhost", "unknown.example"):
            response = APIClient(HTTP_HOST=host).get("/healthz")
            assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_checks_the_database_and_migrations():
    response = APIClient(HTTP_HOST="alpha.localhost").get("/readyz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


# --- schema and docs ---


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient(HTTP_HOST="alpha.localhost").get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_generates_without_warnings_and_validates(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert "bearerAuth" in (tmp_path / "schema.yml").read_text()


def test_schema_documents_problem_errors_for_every_operation(schema):
    assert "Problem" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            errors = {code for code in operation["responses"] if code.startswith(("4", "5"))}
            assert {"400", "503"} <= errors, (method, path)
            for code in errors:
                content = operation["responses"][code]["content"]
                assert list(content) == ["application/problem+json"], (method, path, code)


def test_schema_request_bodies_are_json_only_and_ids_readable(schema):
    operation_ids = set()
    for path, item in schema["paths"].items():
        for operation in item.values():
            operation_ids.add(operation["operationId"])
            if "requestBody" in operation:
                expected = ["multipart/form-data"] if path == "/api/v1/users/import" else ["application/json"]
                assert list(operation["requestBody"]["content"]) == expected, path
    assert {
        "auth_token_create",
        "auth_token_refresh",
        "auth_logout",
        "auth_me_retrieve",
        "auth_me_partial_update",
        "auth_password_change",
    } <= operation_ids


def test_schema_declares_if_match_etag_and_request_id(schema):
    patch = schema["paths"]["/api/v1/auth/me"]["patch"]
    names = {p["name"] for p in patch["parameters"]}

    assert {"If-Match", "X-Request-ID"} <= names
    assert "ETag" in patch["responses"]["200"]["headers"]
    assert "412" in patch["responses"]
    assert "Retry-After" in schema["paths"]["/api/v1/auth/token"]["post"]["responses"]["429"]["headers"]
    assert "401" in schema["paths"]["/api/v1/auth/token/refresh"]["post"]["responses"]
    assert schema["components"]["schemas"]["UserRole"]["enum"] == ["owner", "admin", "member"]


def test_schema_links_each_create_to_the_operations_on_what_it_made(schema):
    def links(path):
        return schema["paths"][path]["post"]["responses"]["201"]["links"]

    users = links("/api/v1/users")
    members = links("/api/v1/organizations/{org_id}/members")

    assert users["users_partial_update"]["parameters"] == {"id": "$response.body#/id"}
    assert {"users_retrieve", "users_destroy", "users_suspend", "users_activity_list"} <= set(users)
    assert links("/api/v1/organizations")["organizations_members_create"]["parameters"] == {
        "org_id": "$response.body#/id"
    }
    assert members["organizations_members_destroy"]["parameters"] == {
        "user_id": "$response.body#/user/id",
        "org_id": "$request.path.org_id",
    }
    operation_ids = {op["operationId"] for item in schema["paths"].values() for op in item.values()}
    for path in ("/api/v1/users", "/api/v1/organizations", "/api/v1/organizations/{org_id}/members"):
        assert set(links(path)) <= operation_ids


def test_every_api_route_is_in_the_schema(schema):
    from django.urls import get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, route)
            else:
                yield route

    import re

    def shape(path: str) -> str:  # `(?P<pk>...)`, `<uuid:pk>` and `{id}` all become `{}`
        path = re.sub(r"\(\?P<\w+>[^)]*\)|<(\w+:)?\w+>|\{\w+\}", "{}", path)
        return path

    routes = {shape("/" + r) for r in walk(get_resolver("p360.urls_tenant").url_patterns) if r.startswith("api/v1/")}
    documented = {shape(p) for p in schema["paths"]}
    assert len(routes) >= 10
    assert routes <= documented, routes - documented


def test_swagger_ui_is_served_from_local_files(api_a):
    page = api_a.get("/api/docs/")
    html = page.content.decode()

    assert page.status_code == 200
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert api_a.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unsafe_methods_on_unknown_api_paths_are_404_problem_not_a_csrf_page(method):
    from django.test import Client

    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)

    response = getattr(client, method)("/api/v1/organizations/\u00df\u0153/members/x")

    assert_problem(response, 404, "not_found")


def test_a_csrf_failure_is_a_problem(tenant_a):
    from django.test import Client

    response = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True).post(
        "/admin/login/", {"username": "x", "password": "y"}
    )

    assert_problem(response, 403, "csrf_failed")


# --- JSON rendering ---


def test_the_orjson_renderer_writes_what_drfs_renderer_writes():
    import datetime
    import decimal
    import uuid

    from django.utils.translation import gettext_lazy
    from rest_framework.renderers import JSONRenderer as DRFRenderer

    from p360.api.renderers import JSONRenderer

    data = {
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "name": 'Zoë Öztürk \u2603 "quoted" \\ </script>',
        "when": datetime.datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=datetime.UTC),
        "day": datetime.date(2026, 11, 25),
        "amount": decimal.Decimal("1.50"),
        "lazy": gettext_lazy("Not found."),
        "nested": [{"n": 1, "f": 0.5, "b": True, "none": None}],
        "big": 2**70,
    }
    drf = DRFRenderer()

    assert JSONRenderer().render(data) == drf.render(data)
    assert JSONRenderer().render(None) == b""
    indented = JSONRenderer().render({"a": 1}, "application/json; indent=2", {})
    assert indented == drf.render({"a": 1}, "application/json; indent=2", {}) and b"\n" in indented
