"""Routes served on every host: the OpenAPI schema and its docs, and the problem+json error views.
Each URLconf adds its own admin (platform or tenant)."""

from django.urls import path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from p360.api import errors
from users.admin_login import throttled_login


class SchemaView(SpectacularAPIView):
    """The schema of the API this host serves: the platform's (auth, tenants) on the base domain, a tenant's
    elsewhere (the URLconf the routing chose, not ROOT_URLCONF)."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        self.urlconf = getattr(request, "urlconf", None) or self.urlconf
        return super().get(request, *args, **kwargs)


schema_and_docs = [
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
# Last: any other /api/ path is a problem+json 404, also with DEBUG on.
api_fallback = [re_path(r"^api/", errors.api_not_found)]


def admin_urls(site) -> list:
    """The admin at /admin/, its login throttled and recorded like the API's."""
    return [path("admin/login/", throttled_login(site), name="admin-login"), path("admin/", site.urls)]


handler400 = errors.handler400
handler403 = errors.handler403
handler404 = errors.handler404
handler500 = errors.handler500
