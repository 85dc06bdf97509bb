"""URLconf of the platform: the bare base domain (public schema, platform staff)."""

from django.urls import include, path

from p360.urls_common import api_fallback, handler400, handler403, handler404, handler500, schema_and_docs  # noqa: F401
from users.api.urls import auth_urlpatterns

urlpatterns = [
    path("api/v1/", include(auth_urlpatterns)),
    *schema_and_docs,
    *api_fallback,
]
