"""Structured logs: one JSON access line per request with its request id, tenant, user, route, status and
duration; app and error lines carry the request; no password, token or Authorization header in any line."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys

import pytest
from django.core import mail

from conftest import PASSWORD, ROOT, login
from p360.observability.logs import JsonFormatter, RequestContextFilter, TextFormatter, redact
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class Captured:
    """Every record logged (any logger, DEBUG and up) while the fixture is active, formatted both ways."""

    def __init__(self):
        self.records: list[logging.LogRecord] = []
        self.json_stream, self.text_stream = io.StringIO(), io.StringIO()

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.json_stream.getvalue().splitlines()]

    def access(self) -> list[dict]:
        return [line for line in self.json_lines() if line["logger"] == "p360.access"]

    def everything(self) -> str:
        return self.json_stream.getvalue() + self.text_stream.getvalue()


@pytest.fixture
def captured():
    capture = Captured()
    handlers = []
    for stream, formatter in ((capture.json_stream, JsonFormatter()), (capture.text_stream, TextFormatter())):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handler.addFilter(RequestContextFilter())
        handlers.append(handler)

    class Keep(logging.Handler):
        def emit(self, record):
            capture.records.append(record)

    handlers.append(Keep())
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    yield capture
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(old_level)


# --- the access line ---


def test_one_json_access_line_per_request_with_its_context(api_a, in_a, client_for, tenant_a, captured):
    user = UserFactory(email="logged@example.test")
    client = client_for(tenant_a, login(api_a, user.email)["access"])

    response = client.get(f"/api/v1/users/{user.id}", HTTP_X_REQUEST_ID="req-log-1")

    assert response.status_code == 200
    lines = [line for line in captured.access() if line["request_id"] == "req-log-1"]
    assert len(lines) == 1
    line = lines[0]
    assert {k: line[k] for k in ("tenant", "user", "method", "route", "status", "level")} == {
        "tenant": "alpha",
        "user": str(user.id),
        "method": "GET",
        "route": "api/v1/users/<uuid:pk>",
        "status": 200,
        "level": "INFO",
    }
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert isinstance(line["db_queries"], int) and line["db_queries"] >= 1
    assert line["time"].endswith("+00:00")
    assert str(user.id) not in line["message"]  # the route, never the path


def test_anonymous_requests_platform_host_and_unknown_hosts_are_logged(client_for, api_a, captured):
    from rest_framework.test import APIClient

    api_a.get("/api/v1/auth/me", HTTP_X_REQUEST_ID="anon-1")
    client_for().post("/api/v1/auth/token", {}, format="json", HTTP_X_REQUEST_ID="platform-1")
    APIClient(HTTP_HOST="nobody.localhost").get("/api/v1/users", HTTP_X_REQUEST_ID="ghost-1")

    by_id = {line["request_id"]: line for line in captured.access()}
    assert (by_id["anon-1"]["tenant"], by_id["anon-1"]["user"], by_id["anon-1"]["status"]) == ("alpha", None, 401)
    assert (by_id["platform-1"]["tenant"], by_id["platform-1"]["route"]) == (None, "api/v1/auth/token")
    assert (by_id["ghost-1"]["tenant"], by_id["ghost-1"]["route"], by_id["ghost-1"]["status"]) == (
        None,
        "<unmatched>",
        404,
    )


def test_probes_are_logged_at_debug_only(api_a, captured):
    api_a.get("/healthz", HTTP_X_REQUEST_ID="probe-1")

    (line,) = [line for line in captured.access() if line["request_id"] == "probe-1"]
    assert (line["level"], line["route"]) == ("DEBUG", "healthz")


def test_an_error_during_a_request_is_one_json_line_with_the_request_and_the_traceback(
    api_a, in_a, captured, monkeypatch
):
    from users.api import auth

    def broken(user):
        raise RuntimeError("token issuing broke")

    monkeypatch.setattr(auth.tokens, "issue_tokens", broken)
    UserFactory(email="err@example.test")
    api_a.raise_request_exception = False

    response = api_a.post(
        "/api/v1/auth/token", {"email": "err@example.test", "password": PASSWORD}, HTTP_X_REQUEST_ID="err-1"
    )

    assert response.status_code == 500
    errors = [line for line in captured.json_lines() if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "err-1" and errors[0]["tenant"] == "alpha"
    assert "RuntimeError: token issuing broke" in errors[0]["exception"]
    assert PASSWORD not in captured.everything()


def test_text_format_is_readable_and_carries_the_request(api_a, captured):
    api_a.get("/api/v1/auth/me", HTTP_X_REQUEST_ID="text-1")

    (line,) = [line for line in captured.text_stream.getvalue().splitlines() if "request_id=text-1" in line]
    assert re.search(r" INFO p360\.access GET api/v1/auth/me 401 \d+\.\dms \[request_id=text-1 tenant=alpha\]$", line)


def _settings_in_subprocess(**env) -> subprocess.CompletedProcess:
    code = "import p360.settings as s; print(s.P360_LOG_FORMAT, s.LOGGING['handlers']['console']['formatter'])"
    clean = {k: v for k, v in os.environ.items() if k not in ("P360_LOG_FORMAT", "DJANGO_DEBUG")}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "json json"),
        ({"DJANGO_DEBUG": "1"}, "text text"),
        ({"DJANGO_DEBUG": "1", "P360_LOG_FORMAT": "JSON"}, "json json"),
    ],
)
def test_log_format_is_json_by_default_and_text_with_debug(env, expected):
    result = _settings_in_subprocess(**env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_an_unknown_log_format_is_refused():
    result = _settings_in_subprocess(P360_LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "P360_LOG_FORMAT must be json or text" in result.stderr


# --- secrets ---


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("GET /reset-password?tenant=alpha&token=s3cr3t-Value_1 HTTP/1.1", "tenant=alpha"),
        ("Authorization: Bearer abcdefghij.klmnop", "Authorization"),
        ("refresh eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl", "refresh"),
        ("{'email': 'a@b.test', 'password': 's3cr3t-Value_1'}", "a@b.test"),
        ('new_password="s3cr3t-Value_1" current_password=s3cr3t-Value_1', "new_password"),
        ("DJANGO_SECRET_KEY=s3cr3t-Value_1", "DJANGO_SECRET_KEY"),
    ],
)
def test_redact_removes_secret_values_and_keeps_the_rest(text, kept):
    redacted = redact(text)

    assert "s3cr3t-Value_1" not in redacted and "c2lnbmF0dXJl" not in redacted and "abcdefghij" not in redacted
    assert kept in redacted and "[redacted]" in redacted


def test_redact_leaves_ordinary_lines_alone():
    line = "POST api/v1/auth/token 401 3.2ms; invalid token; code=token_not_valid"

    assert redact(line) == line


def test_secret_looking_fields_and_objects_are_not_written(captured):
    logging.getLogger("p360.test").warning(
        "hello", extra={"password": "s3cr3t-Value_1", "note": "token=s3cr3t-Value_1", "request": object()}
    )

    (line,) = [line for line in captured.json_lines() if line["logger"] == "p360.test"]
    assert line["password"] == "[redacted]" and line["note"] == "token=[redacted]"
    assert "request" not in line
    assert "s3cr3t-Value_1" not in captured.everything()


def test_no_secret_of_any_auth_flow_reaches_a_log_line(
    api_a, in_a, client_for, tenant_a, captured, django_capture_on_commit_callbacks, monkeypatch
):
    """Login (failed and good), refresh, me, password change, reset request and confirm, invitation accept,
    a reset token in a query string and a 500 during a request with credentials: all logged, nothing secret."""
    secrets = {"Wrong-pass-1234", "Chosen-pass-5678", "Reset-pass-9012", "Invited-pass-3456"}
    owner = UserFactory(email="flow@example.test", role="owner")
    api_a.post("/api/v1/auth/token", {"email": owner.email, "password": "Wrong-pass-1234"}, format="json")
    tokens = login(api_a, owner.email)
    refreshed = api_a.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json").json()
    authed = client_for(tenant_a, refreshed["access"])
    assert authed.get("/api/v1/auth/me").status_code == 200
    changed = authed.post(
        "/api/v1/auth/password/change",
        {"current_password": PASSWORD, "new_password": "Chosen-pass-5678"},
        format="json",
    )
    assert changed.status_code == 204, changed.content
    with django_capture_on_commit_callbacks(execute=True):
        assert api_a.post("/api/v1/auth/password/reset", {"email": owner.email}, format="json").status_code == 202
    reset_token = re.search(r"token=([\w-]+)", mail.outbox[-1].body).group(1)
    api_a.get(f"/reset-password?tenant=alpha&token={reset_token}")
    api_a.get(f"/api/v1/auth/password/reset/confirm?token={reset_token}")
    confirmed = api_a.post(
        "/api/v1/auth/password/reset/confirm",
        {"token": reset_token, "new_password": "Reset-pass-9012"},
        format="json",
    )
    assert confirmed.status_code == 204, confirmed.content
    admin = client_for(tenant_a, login(api_a, owner.email, "Reset-pass-9012")["access"])
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/api/v1/users", {"email": "inv@flow.test", "first_name": "I", "last_name": "V"}, format="json")
    invitation = re.search(r"token=([\w-]+)", mail.outbox[-1].body).group(1)
    accepted = api_a.post(
        "/api/v1/auth/invitations/accept", {"token": invitation, "password": "Invited-pass-3456"}, format="json"
    )
    assert accepted.status_code == 200, accepted.content
    monkeypatch.setattr("users.api.auth.tokens.refresh_rotate", lambda raw: 1 / 0)
    admin.raise_request_exception = False
    assert admin.post("/api/v1/auth/token/refresh", {"refresh": accepted.json()["refresh"]}).status_code == 500

    secrets |= {reset_token, invitation, tokens["access"], tokens["refresh"], refreshed["access"]}
    secrets |= {refreshed["refresh"], accepted.json()["access"], accepted.json()["refresh"]}
    written = captured.everything()
    assert len(captured.access()) >= 13 and "ZeroDivisionError" in written  # the flows were logged
    leaked = sorted(secret for secret in secrets if secret in written)
    assert not leaked
    for record in captured.records:  # also the raw records other handlers (Sentry, files) would get
        assert not any(secret in record.getMessage() for secret in secrets)


# --- over real HTTP: what gunicorn and the app write to the server's stderr ---


@pytest.mark.e2e
def test_a_real_server_writes_json_lines_only_and_no_secret(live_server_factory):
    from p360.tests.test_e2e import call

    server = live_server_factory(workers=1)
    host = "e2e-a.localhost"
    wrong = call(
        server.url, "POST", "/api/v1/auth/token", host, {"email": "owner@e2e-a.test", "password": "Wrong-pw-777"}
    )
    status, _, tokens = call(
        server.url, "POST", "/api/v1/auth/token", host, {"email": "owner@e2e-a.test", "password": PASSWORD}
    )
    assert (wrong[0], status) == (401, 200)
    _, _, refreshed = call(server.url, "POST", "/api/v1/auth/token/refresh", host, {"refresh": tokens["refresh"]})
    me_status, me_headers, _ = call(server.url, "GET", "/api/v1/auth/me", host, token=refreshed["access"])
    call(server.url, "GET", "/reset-password?tenant=e2e-a&token=Query-secret-4242", host)
    call(server.url, "POST", "/api/v1/auth/password/reset", host, {"email": "owner@e2e-a.test"})
    call(server.url, "POST", "/api/v1/auth/logout", host, {"refresh": refreshed["refresh"]})
    assert me_status == 200

    lines = [line for line in server.log_lines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is JSON, gunicorn's own included
    (me_line,) = [line for line in parsed if line.get("request_id") == me_headers["X-Request-ID"]]
    assert (me_line["tenant"], me_line["route"], me_line["status"], me_line["method"]) == (
        "e2e-a",
        "api/v1/auth/me",
        200,
        "GET",
    )
    assert me_line["user"] and me_line["duration_ms"] > 0
    assert len([line for line in parsed if line["logger"] == "p360.access"]) >= 7
    secrets = [PASSWORD, "Wrong-pw-777", "Query-secret-4242", tokens["access"], tokens["refresh"]]
    secrets += [refreshed["access"], refreshed["refresh"]]
    written = "\n".join(lines)
    assert not [secret for secret in secrets if secret in written]
