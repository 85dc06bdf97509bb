"""Organization routes (tenant hosts)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from organizations.api.views import OrganizationActivityViewSet, OrganizationMembersViewSet, OrganizationViewSet

router = SimpleRouter(trailing_slash=False)
router.register("organizations", OrganizationViewSet, basename="organizations")

members = OrganizationMembersViewSet.as_view({"get": "list", "post": "create"})
member = OrganizationMembersViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})
urlpatterns = [
    *router.urls,
    path("organizations/<uuid:org_id>/members", members, name="organizations-members"),
    path("organizations/<uuid:org_id>/members/<uuid:user_id>", member, name="organizations-member"),
    path(
        "organizations/<uuid:pk>/activity",
        OrganizationActivityViewSet.as_view({"get": "list"}),
        name="organizations-activity",
    ),
]
