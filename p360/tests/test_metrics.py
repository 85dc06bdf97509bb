"""/metrics: Prometheus text by route (URL pattern) and status, latency and query histograms, no tenant or id in
any label, readable from internal addresses or with the metrics token, summed over gunicorn's workers."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from conftest import login
from users.tests.factories import UserFactory
from users.tests.test_auth import assert_problem

pytestmark = pytest.mark.django_db

USER_ROUTE = "api/v1/users/<uuid:pk>"


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client, **extra) -> dict[tuple, float]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_request_counts_by_route_with_latency_and_its_exact_query_count(api_a, in_a, client_for, tenant_a):
    user = UserFactory(email="m@example.test")
    client = client_for(tenant_a, login(api_a, user.email)["access"])
    labels = {"method": "GET", "route": USER_ROUTE}
    before = (
        sample("p360_http_requests_total", **labels, status="200"),
        sample("p360_http_request_duration_seconds_count", **labels),
        sample("p360_http_request_db_queries_sum", **labels),
    )

    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/v1/users/{user.id}").status_code == 200

    assert sample("p360_http_requests_total", **labels, status="200") == before[0] + 1
    assert sample("p360_http_request_duration_seconds_count", **labels) == before[1] + 1
    assert sample("p360_http_request_db_queries_sum", **labels) == before[2] + len(queries.captured_queries)
    assert len(queries.captured_queries) > 0


def test_labels_hold_patterns_never_tenants_ids_or_raw_paths(api_a, api_b, client_for):
    for client in (api_a, api_b):
        client.get("/api/v1/users/0b9f0c8e-7c1a-4a55-9d55-3c1f6f1e2a01")
        client.get("/api/v1/no-such/thing?token=abc")
    client_for().get("/api/v1/tenants")

    text = client_for().get("/metrics").content.decode()

    routes = {dict(labels).get("route") for (_name, labels) in parse(text)} - {None}
    assert {USER_ROUTE, "api/", "api/v1/tenants"} <= routes
    for forbidden in ("alpha", "beta", "0b9f0c8e", "no-such", "token=abc", "t_alpha"):
        assert forbidden not in text


def test_unknown_methods_share_one_label_and_unrouted_requests_one_route(api_a):
    from rest_framework.test import APIClient

    before = sample("p360_http_requests_total", method="other", route="api/v1/auth/me", status="401")
    unrouted = sample("p360_http_requests_total", method="GET", route="<unmatched>", status="404")

    api_a.generic("FROBNICATE", "/api/v1/auth/me")
    APIClient(HTTP_HOST="ghost.localhost").get("/api/v1/users")

    assert sample("p360_http_requests_total", method="other", route="api/v1/auth/me", status="401") == before + 1
    assert sample("p360_http_requests_total", method="GET", route="<unmatched>", status="404") == unrouted + 1


def test_metrics_answer_on_the_platform_host_and_any_other_without_a_query(client_for, django_assert_num_queries):
    from rest_framework.test import APIClient

    with django_assert_num_queries(0):
        platform = client_for().get("/metrics")
        by_address = APIClient(HTTP_HOST="10.0.0.5:8000").get("/metrics")

    for response in (platform, by_address):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        assert response["Cache-Control"] == "no-store"
        assert "# TYPE p360_http_requests_total counter" in response.content.decode()
        assert "# TYPE p360_http_request_duration_seconds histogram" in response.content.decode()


@pytest.mark.parametrize(
    ("address", "forwarded", "status"),
    [
        ("127.0.0.1", None, 200),
        ("::1", None, 200),
        ("10.1.2.3", None, 200),
        ("192.168.7.7", None, 200),
        ("::ffff:172.20.0.4", None, 200),
        ("203.0.113.9", None, 403),
        ("2001:db8::1", None, 403),
        ("203.0.113.9", "10.0.0.1", 403),  # X-Forwarded-For is not trusted without configured proxies
    ],
)
def test_without_a_token_only_internal_addresses_read_metrics(client_for, address, forwarded, status):
    extra = {"REMOTE_ADDR": address}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded

    response = client_for().get("/metrics", **extra)

    if status == 200:
        assert response.status_code == 200
    else:
        assert_problem(response, 403, "permission_denied")


def test_behind_a_trusted_proxy_the_forwarded_client_address_decides(client_for, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    outside = client_for().get("/metrics", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.4")
    inside = client_for().get("/metrics", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="10.0.0.9")

    assert_problem(outside, 403, "permission_denied")
    assert inside.status_code == 200


def test_with_a_token_only_its_bearer_reads_metrics_from_anywhere(client_for, settings):
    settings.P360_METRICS_TOKEN = "metrics-token-0123456789"

    missing = client_for().get("/metrics")
    wrong = client_for().get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-0123456780")
    basic = client_for().get("/metrics", HTTP_AUTHORIZATION="Basic metrics-token-0123456789")
    good = client_for().get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer metrics-token-0123456789")

    for refused in (missing, wrong, basic):
        assert_problem(refused, 401, "not_authenticated")
        assert refused["WWW-Authenticate"] == 'Bearer realm="p360-metrics"'
    assert good.status_code == 200


def test_metrics_are_read_only(client_for):
    response = client_for().post("/metrics")

    assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"


def test_a_streamed_export_is_measured_to_its_last_byte(as_role):
    owner = as_role("owner")
    labels = {"method": "GET", "route": "api/v1/users/export"}
    before = sample("p360_http_request_duration_seconds_count", **labels)
    # (in-process, a streamed response that a test never reads is never closed and stays in progress)
    idle = sample("p360_http_requests_in_progress")

    response = owner.get("/api/v1/users/export")
    assert response.streaming
    counted_before_reading = sample("p360_http_request_duration_seconds_count", **labels)
    in_progress_while_streaming = sample("p360_http_requests_in_progress")
    with CaptureQueriesContext(connection) as streaming:
        body = b"".join(response.streaming_content)
    response.close()

    assert b"email" in body.splitlines()[0] and len(body.splitlines()) >= 2
    assert counted_before_reading == before  # not yet: the body had not been sent
    assert sample("p360_http_request_duration_seconds_count", **labels) == before + 1
    assert (in_progress_while_streaming, sample("p360_http_requests_in_progress")) == (idle + 1, idle)
    assert len(streaming.captured_queries) >= 1  # the rows are read while streaming, and counted


# --- several gunicorn workers: the values of all of them, also after one dies ---


def _get(url: str, path: str, host: str = "localhost") -> tuple[int, str]:
    request = urllib.request.Request(url + path, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.e2e
def test_metrics_sum_over_gunicorn_workers_and_survive_a_dead_worker(live_server_factory, tmp_path):
    server = live_server_factory(workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    key = ("p360_http_requests_total", (("method", "GET"), ("route", "api/v1/auth/me"), ("status", "401")))

    def pids_with_values() -> set[str]:
        return {
            name.rsplit("_", 1)[1].removesuffix(".db") for name in os.listdir(tmp_path) if name.startswith("counter_")
        }

    sent = 0
    with ThreadPoolExecutor(8) as pool:
        while len(pids_with_values()) < 2 and sent < 400:  # until both workers have answered some
            statuses = list(pool.map(lambda _: _get(server.url, "/api/v1/auth/me", "e2e-a.localhost")[0], range(16)))
            assert set(statuses) == {401}
            sent += 16
    assert len(pids_with_values()) == 2, "one worker answered every request"

    def scrape_all(times: int) -> list[dict]:
        answers = [_get(server.url, "/metrics") for _ in range(times)]  # whichever worker answers
        assert {status for status, _ in answers} == {200}, answers
        return [parse(body) for _, body in answers]

    # Seen once under heavy load in CI: a scrape right after the load without this counter. Polled for a
    # few seconds so that a slow disk cannot fail the run, and the scrapes shown if it never appears.
    deadline = time.monotonic() + 5
    scrapes = scrape_all(6)
    while any(scrape.get(key) != sent for scrape in scrapes) and time.monotonic() < deadline:
        time.sleep(0.2)
        scrapes = scrape_all(6)
    assert all(key in scrape for scrape in scrapes), [
        sorted((labels, value) for (name, labels), value in scrape.items() if name == key[0]) for scrape in scrapes
    ]
    assert {scrape[key] for scrape in scrapes} == {sent}
    in_progress = ("p360_http_requests_in_progress", ())
    assert {scrape[in_progress] for scrape in scrapes} == {1.0}  # the scrape itself

    victim = server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (victim in server.worker_pids() or len(server.worker_pids()) < 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert victim not in server.worker_pids() and len(server.worker_pids()) == 2
    assert not (tmp_path / f"gauge_livesum_{victim}.db").exists()  # child_exit dropped its live gauge

    after = [parse(_get(server.url, "/metrics")[1]) for _ in range(4)]
    assert {scrape[key] for scrape in after} == {sent}  # counters never go backwards
    assert all(line.startswith("{") for line in server.log_lines() if line.strip())  # gunicorn's lines: JSON too
