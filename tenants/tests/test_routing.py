"""Host routing: cached tenant lookup, unknown and suspended hosts, invalidation, the platform host."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from p360.actors import SYSTEM
from tenants import services
from tenants.models import Domain, TenantStatus
from users.tests.test_auth import assert_problem

pytestmark = pytest.mark.django_db


def _routing_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "tenants_domain" in q["sql"]]


def test_unknown_host_is_a_problem_404(client_for):
    from rest_framework.test import APIClient

    response = APIClient(HTTP_HOST="nobody.localhost").get("/api/v1/auth/me")

    body = assert_problem(response, 404, "tenant_not_found")
    assert "nobody.localhost" in body["detail"]


def test_a_warm_request_spends_no_query_on_the_tenant_lookup(api_a, django_assert_num_queries):
    with CaptureQueriesContext(connection) as cold:
        api_a.post("/api/v1/auth/token", {}, format="json")

    with django_assert_num_queries(0):
        warm = api_a.post("/api/v1/auth/token", {}, format="json")

    assert len(_routing_queries(cold.captured_queries)) == 1
    assert warm.status_code == 400


def test_the_search_path_is_set_when_the_tenant_changes_and_not_again_for_the_same_one(
    client_for, tenant_a, tenant_b, api_a, api_b
):
    from conftest import PASSWORD, login

    clients = {
        "alpha": client_for(tenant_a, login(api_a, "owner@alpha.test", PASSWORD)["access"]),
        "beta": client_for(tenant_b, login(api_b, "owner@beta.test", PASSWORD)["access"]),
    }
    seen = []
    for slug in ("alpha", "alpha", "beta", "beta", "alpha"):
        with CaptureQueriesContext(connection) as queries:
            me = clients[slug].get("/api/v1/auth/me")
        sets = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET search_path")]
        seen.append((slug, me.json()["email"], len(sets), sets[0] if sets else ""))

    assert [(slug, email, n) for slug, email, n, _ in seen] == [
        ("alpha", "owner@alpha.test", 1), ("alpha", "owner@alpha.test", 0), ("beta", "owner@beta.test", 1),
        ("beta", "owner@beta.test", 0), ("alpha", "owner@alpha.test", 1),
    ]  # fmt: skip
    assert '"t_beta"' in seen[2][3] and '"t_alpha"' in seen[4][3]


def test_unknown_hosts_are_cached_too(django_assert_num_queries):
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="ghost.localhost")
    client.get("/api/v1/auth/me")

    with django_assert_num_queries(0):
        assert client.get("/api/v1/auth/me").status_code == 404


def test_suspended_tenant_is_403_and_reactivation_takes_effect_at_once(api_a, tenant_a):
    assert api_a.get("/api/v1/auth/me").status_code == 401  # warms the cache while active

    services.tenant_set_status(actor=SYSTEM, tenant=tenant_a, status=TenantStatus.SUSPENDED)
    suspended = api_a.get("/api/v1/auth/me")
    services.tenant_set_status(actor=SYSTEM, tenant=tenant_a, status=TenantStatus.ACTIVE)
    active = api_a.get("/api/v1/auth/me")

    assert_problem(suspended, 403, "tenant_suspended")
    assert active.status_code == 401


def test_a_new_domain_routes_at_once_and_a_removed_one_stops(tenant_a):
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="people.alpha.example")
    assert client.get("/api/v1/auth/me").status_code == 404  # cached as unknown

    domain = Domain.objects.create(domain="people.alpha.example", tenant=tenant_a, is_primary=False)
    added = client.get("/api/v1/auth/me")
    domain.delete()
    removed = client.get("/api/v1/auth/me")

    assert added.status_code == 401
    assert removed.status_code == 404


def test_host_matching_ignores_case_and_port(tenant_a):
    from rest_framework.test import APIClient

    response = APIClient(HTTP_HOST="ALPHA.localhost:8000").get("/api/v1/auth/me")

    assert_problem(response, 401, "not_authenticated")


def test_the_base_domain_serves_the_platform_schema(client_for):
    response = client_for(None).post(
        "/api/v1/auth/token", {"email": "owner@alpha.test", "password": "p360-test-Password-1"}, format="json"
    )

    assert_problem(response, 401, "invalid_credentials")  # tenant users do not exist on the platform
