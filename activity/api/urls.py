"""Activity routes (tenant hosts)."""

from rest_framework.routers import SimpleRouter

from activity.api.views import ActivityViewSet

router = SimpleRouter(trailing_slash=False)
router.register("activity", ActivityViewSet, basename="activity")
urlpatterns = router.urls
