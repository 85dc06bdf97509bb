"""Authentication and user directory routes (authentication also serves platform staff on the base domain)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from users.api import auth
from users.api.users import UserActivityViewSet, UserViewSet

auth_urlpatterns = [
    path("auth/token", auth.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", auth.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout", auth.LogoutView.as_view(), name="auth-logout"),
    path("auth/sessions", auth.SessionsView.as_view(), name="auth-sessions"),
    path("auth/sessions/revoke-others", auth.SessionsRevokeOthersView.as_view(), name="auth-sessions-revoke-others"),
    path("auth/sessions/<uuid:pk>", auth.SessionView.as_view(), name="auth-session"),
    path("auth/me", auth.MeView.as_view(), name="auth-me"),
    path("auth/password/change", auth.PasswordChangeView.as_view(), name="auth-password-change"),
    path("auth/password/reset", auth.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm", auth.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("auth/invitations/accept", auth.InvitationAcceptView.as_view(), name="auth-invitations-accept"),
]

router = SimpleRouter(trailing_slash=False)
router.register("users", UserViewSet, basename="users")
directory_urlpatterns = [
    *router.urls,
    path("users/<uuid:pk>/activity", UserActivityViewSet.as_view({"get": "list"}), name="users-activity"),
]

urlpatterns = auth_urlpatterns + directory_urlpatterns
