"""Platform routes (base domain)."""

from rest_framework.routers import SimpleRouter

from tenants.api.views import TenantViewSet

router = SimpleRouter(trailing_slash=False)
router.register("tenants", TenantViewSet, basename="tenants")
urlpatterns = router.urls
