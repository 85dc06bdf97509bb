"""URLconf of tenant hosts (`{slug}.{P360_BASE_DOMAIN}` and custom domains)."""

from django.urls import include, path

from p360.admin_sites import tenant_admin
from p360.urls_common import admin_urls, api_fallback, handler400, handler403, handler404, handler500, schema_and_docs  # noqa: F401

urlpatterns = [
    path("api/v1/", include("users.api.urls")),
    path("api/v1/", include("activity.api.urls")),
    path("api/v1/", include("organizations.api.urls")),
    path("api/v1/", include("service_accounts.api.urls")),
    *schema_and_docs,
    *admin_urls(tenant_admin),
    *api_fallback,
]
