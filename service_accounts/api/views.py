"""/api/v1/service-accounts: owners and admins manage the tenant's service accounts and their keys. API keys
never reach these routes (their access names no scope: p360.api.access), whatever their scopes."""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from p360.actors import request_actor
from p360.api.idempotency import idempotent
from p360.api.serializers import validated
from p360.api.views import StrictQueryParamsMixin
from service_accounts import policy, services
from service_accounts.api.serializers import (
    CreatedKeySerializer,
    KeyCreateSerializer,
    ServiceAccountCreateSerializer,
    ServiceAccountSerializer,
    ServiceAccountUpdateSerializer,
)
from service_accounts.models import ApiKey, ServiceAccount

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@extend_schema(tags=["service-accounts"])
class ServiceAccountViewSet(StrictQueryParamsMixin, viewsets.GenericViewSet):
    lookup_value_regex = UUID_PATTERN
    serializer_class = ServiceAccountSerializer
    pagination_class = None  # a tenant has a handful: the whole list, by name
    filter_backends = []
    access = {
        **dict.fromkeys(("list", "retrieve"), policy.access("read")),
        "create": policy.access("create"),
        "partial_update": policy.access("update"),
        "destroy": policy.access("delete"),
        "keys": policy.access("create_key"),
        "revoke_key": policy.access("revoke_key"),
    }

    def get_queryset(self):
        return ServiceAccount.objects.prefetch_related(Prefetch("keys", queryset=ApiKey.objects.order_by("created_at")))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        policy.require(request_actor(request), "read")  # every route here: owners and admins only

    def _respond(self, account, status_code=status.HTTP_200_OK, **headers):
        account = self.get_queryset().get(pk=account.pk)
        return Response(ServiceAccountSerializer(account).data, status=status_code, headers=headers)

    @extend_schema(operation_id="service_accounts_list", responses={200: ServiceAccountSerializer(many=True)})
    def list(self, request):
        return Response(ServiceAccountSerializer(self.get_queryset(), many=True).data)

    @extend_schema(
        operation_id="service_accounts_create",
        request=ServiceAccountCreateSerializer,
        responses={201: ServiceAccountSerializer},
    )
    @idempotent
    def create(self, request):
        data = validated(ServiceAccountCreateSerializer, request)
        account = services.service_account_create(actor=request_actor(request), **data)
        return self._respond(account, status.HTTP_201_CREATED, Location=f"/api/v1/service-accounts/{account.pk}")

    @extend_schema(operation_id="service_accounts_retrieve")
    def retrieve(self, request, pk=None):
        return self._respond(self.get_object())

    @extend_schema(
        operation_id="service_accounts_partial_update",
        request=ServiceAccountUpdateSerializer,
        responses={200: ServiceAccountSerializer},
    )
    def partial_update(self, request, pk=None):
        account = self.get_object()
        data = validated(ServiceAccountUpdateSerializer, request)
        return self._respond(services.service_account_update(actor=request_actor(request), account=account, data=data))

    @extend_schema(operation_id="service_accounts_destroy")
    def destroy(self, request, pk=None):
        services.service_account_delete(actor=request_actor(request), account=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="service_accounts_keys_create", request=KeyCreateSerializer, responses={201: CreatedKeySerializer}
    )
    @action(detail=True, methods=["post"], url_path="keys")
    def keys(self, request, pk=None):
        account = self.get_object()
        data = validated(KeyCreateSerializer, request)
        created = services.key_create(actor=request_actor(request), account=account, expires_at=data["expires_at"])
        key = created.key
        body = {"id": key.pk, "prefix": key.prefix, "secret": created.secret, "created_at": key.created_at,
                "expires_at": key.expires_at}  # fmt: skip
        response = Response(CreatedKeySerializer(body).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # the secret: never kept by a cache
        return response

    @extend_schema(operation_id="service_accounts_keys_destroy")
    @action(detail=True, methods=["delete"], url_path=r"keys/(?P<key_id>[0-9a-fA-F-]{36})")
    def revoke_key(self, request, pk=None, key_id=None):
        account = get_object_or_404(ServiceAccount, pk=pk)
        services.key_revoke(actor=request_actor(request), account=account, key_id=key_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
