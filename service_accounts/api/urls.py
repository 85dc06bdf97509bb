"""Service account routes."""

from rest_framework.routers import SimpleRouter

from service_accounts.api.views import ServiceAccountViewSet

router = SimpleRouter(trailing_slash=False)
router.register("service-accounts", ServiceAccountViewSet, basename="service-accounts")
urlpatterns = router.urls
