"""The platform API (base domain, platform staff): list, create (schema and owner), read, update, delete."""

from __future__ import annotations

from django.db import connection
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from p360.actors import request_actor
from p360.api.idempotency import idempotent
from p360.api.ordering import OrderingFilter
from p360.api.problems import FieldErrors
from p360.api.serializers import validated
from p360.api.views import StrictQueryParamsMixin
from tenants import selectors, services
from tenants.api.serializers import TenantCreateSerializer, TenantSerializer, TenantUpdateSerializer


class IsPlatformStaff(BasePermission):
    """Staff users of the public schema, on the platform host."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and connection.schema_name == "public")


@extend_schema(tags=["platform"])
class TenantViewSet(StrictQueryParamsMixin, viewsets.GenericViewSet):
    """Tenants of the platform: each its own schema, reached on its domains."""

    permission_classes = [IsPlatformStaff]
    lookup_field = "slug"
    lookup_value_regex = "[a-z][a-z0-9-]{0,38}[a-z0-9]"
    serializer_class = TenantSerializer
    filter_backends = [OrderingFilter]
    ordering_fields = {"slug": "slug", "name": "name", "created_at": "created_at"}
    default_ordering = "slug"

    def get_queryset(self):
        return selectors.tenant_list()

    def _serialize(self, tenants, many=False):
        rows = tenants if many else [tenants]
        context = {"user_counts": selectors.user_counts(rows)}
        return TenantSerializer(tenants, many=many, context=context).data

    @extend_schema(operation_id="tenants_list")
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._serialize(page, many=True))

    @extend_schema(operation_id="tenants_create", request=TenantCreateSerializer, responses={201: TenantSerializer})
    @idempotent
    def create(self, request):
        data = validated(TenantCreateSerializer, request)
        owner = data["owner"]
        tenant, _owner = services.tenant_create(
            actor=request_actor(request),
            slug=data["slug"],
            name=data["name"],
            domain=data.get("domain"),
            owner_email=owner["email"],
            owner_first_name=owner.get("first_name", "Tenant"),
            owner_last_name=owner.get("last_name", "Owner"),
            owner_password=owner.get("password"),
        )
        connection.set_schema_to_public()
        tenant = self.get_queryset().get(pk=tenant.pk)
        return Response(
            self._serialize(tenant),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/tenants/{tenant.slug}"},
        )

    @extend_schema(operation_id="tenants_retrieve")
    def retrieve(self, request, slug=None):
        return Response(self._serialize(self.get_object()))

    @extend_schema(
        operation_id="tenants_partial_update", request=TenantUpdateSerializer, responses={200: TenantSerializer}
    )
    def partial_update(self, request, slug=None):
        tenant = self.get_object()
        data = validated(TenantUpdateSerializer, request)
        services.tenant_update(actor=request_actor(request), tenant=tenant, data=data)
        return Response(self._serialize(self.get_queryset().get(pk=tenant.pk)))

    @extend_schema(
        operation_id="tenants_destroy",
        parameters=[OpenApiParameter("confirm", str, required=True, description="The tenant's slug, again.")],
    )
    def destroy(self, request, slug=None):
        tenant = self.get_object()
        if request.query_params.get("confirm") != tenant.slug:
            raise FieldErrors(
                [("confirm", "invalid", "Repeat the tenant's slug in `confirm` to delete it and all its data.")]
            )
        services.tenant_delete(actor=request_actor(request), tenant=tenant)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def allowed_query_params(self):
        return super().allowed_query_params() | ({"confirm"} if self.action == "destroy" else set())

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "DELETE":
            self.check_query_params(request)
