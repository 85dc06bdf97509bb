"""URLconf of the platform: the bare base domain (public schema, platform staff)."""

from django.urls import include, path

from p360.admin_sites import platform_admin
from p360.urls_common import admin_urls, api_fallback, handler400, handler403, handler404, handler500, schema_and_docs  # noqa: F401
from users.api.urls import auth_urlpatterns

urlpatterns = [
    path("api/v1/", include(auth_urlpatterns)),
    path("api/v1/", include("tenants.api.urls")),
    *schema_and_docs,
    *admin_urls(platform_admin),
    *api_fallback,
]
