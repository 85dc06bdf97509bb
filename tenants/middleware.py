"""Routes each request to its tenant's schema by Host; unknown, suspended and unreachable come back as problems.

A request routed to a tenant whose schema is gone (deleted while the route was cached) fails on the schema
guard's error at its first query (tenants/guard.py), which is answered as the unknown host's 404 here for
Django views and in p360/api/problems.py for the API's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.http.request import split_domain_port

from p360.api.problems import database_unavailable_response, problem_response
from p360.dbbackend.base import is_guard_error
from tenants.models import TenantStatus
from tenants.routing import forget_hosts, tenant_for_host


def request_host(request) -> str:
    host, _port = split_domain_port(request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", ""))
    return host.lower()


def tenant_not_found_response(request, host: str):
    return problem_response(request, 404, "tenant_not_found", "Not found", f"No tenant answers on {host!r}.")


def tenant_gone_response(request):
    """The answer to a request whose tenant schema vanished under it: its host is forgotten, and unknown."""
    if connection.in_atomic_block:
        connection.set_rollback(True)  # the failed statement aborted the transaction it ran in
    host = request_host(request)
    forget_hosts([host])
    return tenant_not_found_response(request, host)


class TenantRoutingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = request_host(request)
        if host == settings.P360_BASE_DOMAIN:
            connection.set_schema_to_public()
            request.tenant = connection.tenant  # django-tenants' templates read request.tenant.schema_name
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            return self.get_response(request)
        try:
            routed = tenant_for_host(host)
        except DatabaseError:
            return database_unavailable_response(request)
        if routed is None:
            return tenant_not_found_response(request, host)
        if routed.status == TenantStatus.SUSPENDED:
            return problem_response(request, 403, "tenant_suspended", "Tenant suspended", "This tenant is suspended.")
        tenant = routed.as_tenant()
        same = connection.schema_name == tenant.schema_name and connection.include_public_schema
        if same and connection.search_path_set_schemas:
            # The same tenant as this connection's last request: its search_path still stands (django-tenants
            # forgets it on close and rollback), so no `SET search_path` round trip on a warm request.
            connection.tenant = tenant
        else:
            connection.set_tenant(tenant)
        request.tenant = tenant
        request.urlconf = settings.ROOT_URLCONF
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_guard_error(exception):
            return tenant_gone_response(request)
        return None
