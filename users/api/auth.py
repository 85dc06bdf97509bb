"""Authentication endpoints: tokens, refresh, logout, the caller's sessions, profile and password, invitations
and password resets."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from p360.actors import request_actor
from p360.api.access import CREDENTIALS_IN_BODY, OWN_ACCOUNT
from p360.api.etags import check_if_match, etag_of
from p360.api.schema import IF_MATCH, etag_header
from p360.api.serializers import validated
from users import selectors, services, tokens
from users.api.serializers import (
    InvitationAcceptSerializer,
    LoginResponseSerializer,
    LoginSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    ProfileUpdateSerializer,
    RefreshSerializer,
    SessionSerializer,
    SessionsRevokedSerializer,
    TokenPairSerializer,
    UserSerializer,
    user_serializer_class,
)
from users.throttles import LoginEmailThrottle, LoginIPThrottle, ResetEmailThrottle, ResetIPThrottle


class InvalidCredentials(AuthenticationFailed):
    default_detail = "Invalid email or password."
    default_code = "invalid_credentials"


class CredentialsInBody(APIView):
    """Endpoints that take their credentials in the body (login, refresh, logout): no Authorization
    header is read (a stale one must not block a refresh), yet a 401 still carries the Bearer
    challenge (DRF turns a 401 without one into a 403)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    access = {"post": CREDENTIALS_IN_BODY}

    def get_authenticate_header(self, request):
        return 'Bearer realm="p360"'


class TokenView(CredentialsInBody):
    throttle_classes = [LoginIPThrottle, LoginEmailThrottle]

    @extend_schema(operation_id="auth_token_create", request=LoginSerializer, responses={200: LoginResponseSerializer})
    def post(self, request):
        data = validated(LoginSerializer, request)
        user = authenticate(request, email=data["email"], password=data["password"])
        if user is None:
            services.user_record_failed_login(email=data["email"])
            raise InvalidCredentials()
        with transaction.atomic():
            services.user_record_login(user=user)
            issued = tokens.issue_tokens(user)
        return Response({**issued, "user": user_serializer_class()(user).data})


class TokenRefreshView(CredentialsInBody):
    @extend_schema(operation_id="auth_token_refresh", request=RefreshSerializer, responses={200: TokenPairSerializer})
    def post(self, request):
        data = validated(RefreshSerializer, request)
        return Response(tokens.refresh_rotate(data["refresh"]))


class LogoutView(CredentialsInBody):
    @extend_schema(operation_id="auth_logout", request=RefreshSerializer, responses={204: None})
    def post(self, request):
        data = validated(RefreshSerializer, request)
        with transaction.atomic():
            services.user_record_logout(user=tokens.refresh_revoke(data["refresh"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    access = dict.fromkeys(("get", "patch"), OWN_ACCOUNT)

    def _respond(self, user):
        return Response(user_serializer_class()(user).data, headers={"ETag": etag_of(user)})

    @extend_schema(operation_id="auth_me_retrieve", parameters=[etag_header()], responses={200: UserSerializer})
    def get(self, request):
        return self._respond(request.user)

    @extend_schema(
        operation_id="auth_me_partial_update",
        parameters=[IF_MATCH, etag_header()],
        request=ProfileUpdateSerializer,
        responses={200: UserSerializer},
    )
    def patch(self, request):
        check_if_match(request, request.user)
        data = validated(ProfileUpdateSerializer, request)
        return self._respond(services.user_update_profile(actor=request_actor(request), user=request.user, data=data))


class PasswordChangeView(APIView):
    access = {"post": OWN_ACCOUNT}

    @extend_schema(operation_id="auth_password_change", request=PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        data = validated(PasswordChangeSerializer, request)
        services.user_change_password(
            user=request.user, current_password=data["current_password"], new_password=data["new_password"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptView(CredentialsInBody):
    throttle_classes = [ResetIPThrottle]

    @extend_schema(
        operation_id="auth_invitations_accept",
        request=InvitationAcceptSerializer,
        responses={200: LoginResponseSerializer},
    )
    def post(self, request):
        data = validated(InvitationAcceptSerializer, request)
        with transaction.atomic():
            user = services.invitation_accept(**data)
            services.user_record_login(user=user)
            issued = tokens.issue_tokens(user)
        return Response({**issued, "user": user_serializer_class()(user).data})


class PasswordResetView(CredentialsInBody):
    throttle_classes = [ResetIPThrottle, ResetEmailThrottle]

    @extend_schema(operation_id="auth_password_reset", request=PasswordResetSerializer, responses={202: None})
    def post(self, request):
        data = validated(PasswordResetSerializer, request)
        services.password_reset_request(email=data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)  # the same answer whether or not the email exists


class PasswordResetConfirmView(CredentialsInBody):
    throttle_classes = [ResetIPThrottle]

    @extend_schema(
        operation_id="auth_password_reset_confirm", request=PasswordResetConfirmSerializer, responses={204: None}
    )
    def post(self, request):
        data = validated(PasswordResetConfirmSerializer, request)
        services.password_reset_confirm(token=data["token"], new_password=data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


def current_session(request) -> str | None:
    """The id of the session the request's access token belongs to."""
    token = request.auth
    return str(token.get(tokens.SESSION_CLAIM)) if hasattr(token, "get") else None


def sessions_response(request, user) -> Response:
    sessions = selectors.sessions_live(user)
    return Response(SessionSerializer(sessions, many=True, context={"current": current_session(request)}).data)


class SessionsView(APIView):
    access = {"get": OWN_ACCOUNT}

    @extend_schema(operation_id="auth_sessions_list", responses={200: SessionSerializer(many=True)})
    def get(self, request):
        return sessions_response(request, request.user)


class SessionView(APIView):
    access = {"delete": OWN_ACCOUNT}

    @extend_schema(operation_id="auth_sessions_destroy", responses={204: None})
    def delete(self, request, pk):
        session = get_object_or_404(selectors.sessions_live(request.user).select_related("user"), pk=pk)
        services.session_end(actor=request_actor(request), session=session)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionsRevokeOthersView(APIView):
    access = {"post": OWN_ACCOUNT}

    @extend_schema(operation_id="auth_sessions_revoke_others", request=None, responses={200: SessionsRevokedSerializer})
    def post(self, request):
        revoked = services.sessions_end_others(
            actor=request_actor(request), user=request.user, keep=current_session(request)
        )
        return Response({"revoked": revoked})
