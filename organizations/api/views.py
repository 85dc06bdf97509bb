"""Organizations: list, create, read, update (and move), delete, archive; members; activity."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from activity.api.views import ActivityListMixin
from activity.selectors import activity_about
from organizations import policy, selectors, services
from organizations.api.filters import MemberFilter, OrganizationFilter
from organizations.api.serializers import (
    MemberCreateSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    OrganizationSerializer,
    OrganizationUpdateSerializer,
    OrganizationWriteSerializer,
)
from organizations.models import Membership, Organization, OrganizationStatus
from p360.actors import request_actor
from p360.api.etags import check_if_match, etag_of
from p360.api.idempotency import idempotent
from p360.api.ordering import OrderingFilter
from p360.api.problems import FieldErrors
from p360.api.schema import IF_MATCH, etag_header
from p360.api.serializers import validated
from p360.api.views import FacetsMixin, StrictQueryParamsMixin
from users.models import User

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _parent(data: dict) -> dict:
    """Resolves `parent` (an id) to an organization; an unknown one is a 400 on the field."""
    if data.get("parent") is None:
        return data
    parent = Organization.objects.filter(pk=data["parent"]).first()
    if parent is None:
        raise FieldErrors([("parent", "does_not_exist", "No organization has this id.")])
    return {**data, "parent": parent}


@extend_schema(tags=["organizations"])
class OrganizationViewSet(FacetsMixin, StrictQueryParamsMixin, viewsets.GenericViewSet):
    """Organizations of the tenant: a hierarchy of any depth. Everyone reads; owners and admins manage
    all, organization admins their organization and its descendants."""

    lookup_value_regex = UUID_PATTERN
    access = {
        **dict.fromkeys(("list", "retrieve"), policy.access("read")),
        "create": policy.access("create"),
        "partial_update": policy.access("update"),
        "destroy": policy.access("delete"),
        **dict.fromkeys(("archive", "unarchive"), policy.access("archive")),
    }
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilter
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = {
        "name": "name",
        "created_at": "created_at",
        "updated_at": "updated_at",
        "member_count": "member_count",
    }
    default_ordering = "name"
    facet_fields = {"status": ("status", OrganizationStatus.choices)}

    def get_queryset(self):
        return selectors.organization_list()

    def _serialize(self, orgs, many=False):
        rows = orgs if many else [orgs]
        return OrganizationSerializer(orgs, many=many, context={"paths": selectors.organization_paths(rows)}).data

    def _respond(self, org, status_code=status.HTTP_200_OK, **headers):
        org = selectors.organization_get(org.pk)
        return Response(self._serialize(org), status=status_code, headers={"ETag": etag_of(org), **headers})

    def serialize_page(self, rows):
        return self._serialize(rows, many=True)

    @extend_schema(operation_id="organizations_list")
    def list(self, request):
        return super().list(request)

    @extend_schema(
        operation_id="organizations_create",
        request=OrganizationWriteSerializer,
        responses={201: OrganizationSerializer},
    )
    @idempotent
    def create(self, request):
        actor = request_actor(request)
        if not policy.allows_somewhere(actor, "create"):
            raise policy.NotAllowed()  # before validation: a member learns nothing from the body's errors
        data = _parent(validated(OrganizationWriteSerializer, request))
        org = services.organization_create(actor=actor, **data)
        return self._respond(org, status.HTTP_201_CREATED, Location=f"/api/v1/organizations/{org.pk}")

    @extend_schema(operation_id="organizations_retrieve", parameters=[etag_header()])
    def retrieve(self, request, pk=None):
        return self._respond(self.get_object())

    @extend_schema(
        operation_id="organizations_partial_update",
        parameters=[IF_MATCH, etag_header()],
        request=OrganizationUpdateSerializer,
        responses={200: OrganizationSerializer},
    )
    def partial_update(self, request, pk=None):
        org, actor = self.get_object(), request_actor(request)
        policy.require(actor, "update", org)  # before the precondition and the body
        check_if_match(request, org)
        data = _parent(validated(OrganizationUpdateSerializer, request))
        return self._respond(
            services.organization_update(actor=actor, org=org, data=data, if_match=request.headers.get("If-Match"))
        )

    @extend_schema(operation_id="organizations_destroy", parameters=[IF_MATCH])
    def destroy(self, request, pk=None):
        org, actor = self.get_object(), request_actor(request)
        policy.require(actor, "delete", org)  # before the precondition
        check_if_match(request, org)
        services.organization_delete(actor=actor, org=org, if_match=request.headers.get("If-Match"))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="organizations_archive", request=None, responses={200: OrganizationSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._respond(services.organization_archive(actor=request_actor(request), org=self.get_object()))

    @extend_schema(operation_id="organizations_unarchive", request=None, responses={200: OrganizationSerializer})
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        return self._respond(services.organization_unarchive(actor=request_actor(request), org=self.get_object()))


@extend_schema(tags=["organizations"])
class OrganizationMembersViewSet(StrictQueryParamsMixin, viewsets.GenericViewSet):
    """Members of an organization (with `include_descendants=true`, of its sub-organizations too)."""

    access = {
        **dict.fromkeys(("list", "retrieve"), policy.access("read")),
        **dict.fromkeys(("create", "partial_update", "destroy"), policy.access("manage_members")),
    }
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = {"joined_at": "joined_at", "email": "user__email", "last_name": "user__last_name", "role": "role"}
    default_ordering = "-joined_at"

    def organization(self) -> Organization:
        if not hasattr(self, "_organization"):
            self._organization = get_object_or_404(Organization, pk=self.kwargs["org_id"])
        return self._organization

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        include = self.request.query_params.get("include_descendants") in ("true", "1", "True")
        return selectors.membership_list(self.organization(), include_descendants=include)

    def _membership(self, user_id) -> Membership:
        return get_object_or_404(
            Membership.objects.select_related("user", "organization"), organization=self.organization(), user_id=user_id
        )

    @extend_schema(operation_id="organizations_members_list")
    def list(self, request, org_id=None):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(
        operation_id="organizations_members_create", request=MemberCreateSerializer, responses={201: MemberSerializer}
    )
    @idempotent
    def create(self, request, org_id=None):
        org, actor = self.organization(), request_actor(request)
        policy.require(actor, "manage_members", org)  # before the body
        data = validated(MemberCreateSerializer, request)
        user = User.objects.filter(pk=data["user"]).first()
        if user is None:
            raise FieldErrors([("user", "does_not_exist", "No user has this id.")])
        membership = services.membership_add(actor=actor, org=org, user=user, role=data["role"])
        return Response(
            MemberSerializer(membership).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/organizations/{org.pk}/members/{user.pk}", "ETag": etag_of(membership)},
        )

    @extend_schema(operation_id="organizations_members_retrieve", parameters=[etag_header()])
    def retrieve(self, request, org_id=None, user_id=None):
        membership = self._membership(user_id)
        return Response(MemberSerializer(membership).data, headers={"ETag": etag_of(membership)})

    @extend_schema(
        operation_id="organizations_members_partial_update",
        request=MemberUpdateSerializer,
        responses={200: MemberSerializer},
        parameters=[IF_MATCH, etag_header()],
    )
    def partial_update(self, request, org_id=None, user_id=None):
        actor = request_actor(request)
        policy.require(actor, "manage_members", self.organization())  # before the precondition and the body
        membership = self._membership(user_id)
        check_if_match(request, membership)
        data = validated(MemberUpdateSerializer, request)
        membership = services.membership_update(
            actor=actor, membership=membership, role=data["role"], if_match=request.headers.get("If-Match")
        )
        return Response(MemberSerializer(membership).data, headers={"ETag": etag_of(membership)})

    @extend_schema(operation_id="organizations_members_destroy", parameters=[IF_MATCH])
    def destroy(self, request, org_id=None, user_id=None):
        actor = request_actor(request)
        policy.require(actor, "manage_members", self.organization())  # before the precondition
        membership = self._membership(user_id)
        check_if_match(request, membership)
        services.membership_remove(actor=actor, membership=membership, if_match=request.headers.get("If-Match"))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["organizations"])
class OrganizationActivityViewSet(ActivityListMixin, viewsets.GenericViewSet):
    """The activity of one organization: its own changes and its memberships'. Owners, admins and the
    organization's admins."""

    access = {"list": policy.access("read_activity")}

    def get_queryset(self):
        return activity_about(self.kwargs.get("pk", ""))

    @extend_schema(
        operation_id="organizations_activity_list",
        parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
    )
    def list(self, request, pk=None):
        policy.require(request_actor(request), "read_activity", get_object_or_404(Organization, pk=pk))
        return self.list_page()
