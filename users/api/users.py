"""The user directory: list, create, read, update, deactivate; lifecycle actions; bulk, import, export."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from activity.api.views import ActivityListMixin
from activity.selectors import activity_about
from organizations.models import Organization
from p360.actors import request_actor
from p360.api.etags import check_if_match, etag_of
from p360.api.exports import streaming_export
from p360.api.idempotency import idempotent
from p360.api.ordering import OrderingFilter, parse_ordering
from p360.api.parsers import CSVTextParser, JSONParser
from p360.api.problems import FieldErrors, Problem
from p360.api.renderers import EXPORT_RENDERERS
from p360.api.schema import IF_MATCH, etag_header
from p360.api.serializers import validated
from p360.api.views import FacetsMixin, StrictQueryParamsMixin
from users import policy, selectors, services
from users.api.auth import sessions_response
from users.api.filters import UserFilter
from users.api.serializers import (
    BulkResultSerializer,
    BulkSerializer,
    ImportResultSerializer,
    ImportUploadSerializer,
    MembershipOfUserSerializer,
    ProfileUpdateSerializer,
    SessionSerializer,
    SessionsRevokedSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from users.exports import EXPORT_HEADER, export_copy_sql
from users.models import User, UserRole, UserStatus
from users.services.bulk import users_bulk
from users.services.imports import users_import

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@extend_schema(tags=["users"])
class UserViewSet(FacetsMixin, StrictQueryParamsMixin, viewsets.GenericViewSet):
    """The tenant's people. Everyone reads the directory; owners and admins manage it (admins not owners)."""

    lookup_value_regex = UUID_PATTERN
    access = {
        **dict.fromkeys(("list", "retrieve", "organizations"), policy.access("read")),
        "create": policy.access("create"),
        "partial_update": policy.access("update"),  # a member on themselves: update_profile, in the service
        **dict.fromkeys(("destroy", "suspend", "activate", "restore"), policy.access("set_status")),
        "resend_invitation": policy.access("invite"),
        "sessions": policy.access("read_sessions"),
        "revoke_sessions": policy.access("revoke_sessions"),
        "bulk": policy.access("bulk"),
        "import_csv": policy.access("import"),
        "export": policy.access("export"),
    }
    serializer_class = UserSerializer
    filterset_class = UserFilter
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = {f: f for f in ("email", "first_name", "last_name", "role", "status", "created_at", "last_login")}
    default_ordering = "-created_at"
    facet_fields = {"status": ("status", UserStatus.choices), "role": ("role", UserRole.choices)}

    def get_queryset(self):
        # the list reads its page as rows with their organizations (row_source): no prefetch to build
        return selectors.user_directory() if self.action == "list" else selectors.user_list()

    def allowed_query_params(self):
        return super().allowed_query_params() | ({"dry_run"} if self.action == "import_csv" else set())

    def _respond(self, user, status_code=status.HTTP_200_OK, **headers):
        user = selectors.user_list().get(pk=user.pk)
        return Response(UserSerializer(user).data, status=status_code, headers={"ETag": etag_of(user), **headers})

    @extend_schema(operation_id="users_list")
    def list(self, request):
        return super().list(request)

    def row_source(self, request, base, params=None):
        """The directory in SQL (selectors.DirectoryRows, the same rows as the ORM's): both modes, deep pages,
        facets and the export. The filters are validated by UserFilter as for any list, before the ordering."""
        filterset = self.filterset_class(request.query_params if params is None else params, base, request=request)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        keys = parse_ordering(request, self, User)
        return selectors.DirectoryRows(filterset.form.cleaned_data, filterset.hides_deactivated, keys)

    def serialize_page(self, rows):
        return selectors.page_json(rows)

    @extend_schema(operation_id="users_create", request=UserCreateSerializer, responses={201: UserSerializer})
    @idempotent
    def create(self, request):
        actor = request_actor(request)
        policy.require(actor, "create")  # before validation: a member learns nothing from the body's errors
        user = services.user_create(actor=actor, **validated(UserCreateSerializer, request))
        return self._respond(user, status.HTTP_201_CREATED, Location=f"/api/v1/users/{user.pk}")

    @extend_schema(operation_id="users_retrieve", parameters=[etag_header()])
    def retrieve(self, request, pk=None):
        return self._respond(self.get_object())

    @extend_schema(
        operation_id="users_partial_update",
        parameters=[IF_MATCH, etag_header()],
        request=UserUpdateSerializer,
        responses={200: UserSerializer},
    )
    def partial_update(self, request, pk=None):
        user, actor = self.get_object(), request_actor(request)
        check_if_match(request, user)
        if not policy.allows(actor, "update", user):  # a member, on themselves: their profile fields only
            policy.require(actor, "update_profile", user)
            data = validated(ProfileUpdateSerializer, request)
            return self._respond(services.user_update_profile(actor=actor, user=user, data=data))
        data = validated(UserUpdateSerializer, request)
        return self._respond(
            services.user_update(actor=actor, user=user, data=data, if_match=request.headers.get("If-Match"))
        )

    @extend_schema(
        operation_id="users_destroy", parameters=[IF_MATCH], description="Deactivates the user (a soft delete)."
    )
    def destroy(self, request, pk=None):
        user, actor = self.get_object(), request_actor(request)
        policy.require(actor, "set_status", user)  # before the precondition
        check_if_match(request, user)
        services.user_deactivate(actor=actor, user=user, if_match=request.headers.get("If-Match"))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="users_suspend", request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return self._respond(services.user_suspend(actor=request_actor(request), user=self.get_object()))

    @extend_schema(operation_id="users_activate", request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self._respond(services.user_activate(actor=request_actor(request), user=self.get_object()))

    @extend_schema(operation_id="users_restore", request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        return self._respond(services.user_restore(actor=request_actor(request), user=self.get_object()))

    @extend_schema(operation_id="users_resend_invitation", request=None, responses={202: None})
    @action(detail=True, methods=["post"], url_path="resend-invitation")
    def resend_invitation(self, request, pk=None):
        services.invitation_send(actor=request_actor(request), user=self.get_object())
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(operation_id="users_organizations_list", responses={200: MembershipOfUserSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[], filterset_class=None)
    def organizations(self, request, pk=None):
        user = self.get_object()
        return Response(MembershipOfUserSerializer(selectors.user_memberships(user), many=True).data)

    @extend_schema(operation_id="users_sessions_list", responses={200: SessionSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[], filterset_class=None)
    def sessions(self, request, pk=None):
        user = self.get_object()
        policy.require(request_actor(request), "read_sessions", user)
        return sessions_response(request, user)

    @extend_schema(operation_id="users_sessions_revoke", request=None, responses={200: SessionsRevokedSerializer})
    @action(detail=True, methods=["post"], url_path="sessions/revoke")
    def revoke_sessions(self, request, pk=None):
        revoked = services.user_sessions_end(actor=request_actor(request), user=self.get_object())
        return Response({"revoked": revoked})

    @extend_schema(operation_id="users_bulk", request=BulkSerializer, responses={200: BulkResultSerializer})
    @action(detail=False, methods=["post"])
    @idempotent
    def bulk(self, request):
        actor = request_actor(request)
        policy.require(actor, "bulk")  # before validation
        data = validated(BulkSerializer, request)
        organization = None
        if "organization" in data:
            organization = Organization.objects.filter(pk=data["organization"]).first()
            if organization is None:
                raise FieldErrors([("organization", "does_not_exist", "No organization has this id.")])
        return Response(
            users_bulk(
                actor=actor,
                action=data["action"],
                ids=data["ids"],
                role=data.get("role"),
                organization=organization,
            )
        )

    @extend_schema(
        operation_id="users_import",
        request={"multipart/form-data": ImportUploadSerializer},
        responses={200: ImportResultSerializer},
        parameters=[OpenApiParameter("dry_run", bool, description="Validate and count, write nothing.")],
    )
    @action(
        detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, CSVTextParser, JSONParser]
    )
    @idempotent
    def import_csv(self, request):
        actor = request_actor(request)
        policy.require(actor, "import")  # before the upload is read
        raw = self._csv_bytes(request)
        dry_run = request.query_params.get("dry_run", "false").lower() in ("1", "true", "yes")
        return Response(users_import(raw=raw, actor=actor, dry_run=dry_run))

    @staticmethod
    def _csv_bytes(request) -> bytes:
        if isinstance(request.data, bytes):  # a raw text/csv body
            return request.data
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        if upload is None or not hasattr(upload, "read"):
            raise FieldErrors([("file", "required", "Upload the CSV as the multipart field `file`.")])
        if upload.size > settings.P360_IMPORT_MAX_BYTES:
            raise Problem(
                f"The file is over {settings.P360_IMPORT_MAX_BYTES} bytes.",
                "request_too_large",
                status_code=413,
                title="Request body too large",
            )
        return upload.read()

    @extend_schema(
        operation_id="users_export",
        filters=True,
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"], renderer_classes=EXPORT_RENDERERS, pagination_class=None)
    def export(self, request):
        policy.require(request_actor(request), "export")
        source = self.row_source(request, self.get_queryset())  # the list's filters and order, as the list reads them
        return streaming_export("csv", "users", EXPORT_HEADER, None, copy=export_copy_sql(source))


@extend_schema(tags=["users"])
class UserActivityViewSet(ActivityListMixin, viewsets.GenericViewSet):
    """What happened to one user (as target, or through their memberships). Owners, admins and the user."""

    access = {"list": policy.access("read_activity")}

    def get_queryset(self):
        return activity_about(self.kwargs.get("pk", ""))

    @extend_schema(
        operation_id="users_activity_list",
        parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
    )
    def list(self, request, pk=None):
        policy.require(request_actor(request), "read_activity", get_object_or_404(User, pk=pk))
        return self.list_page()
