"""Authentication routes, served on tenant hosts and (for platform staff) on the base domain."""

from django.urls import path

from users.api import views

urlpatterns = [
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me", views.MeView.as_view(), name="auth-me"),
    path("auth/password/change", views.PasswordChangeView.as_view(), name="auth-password-change"),
]
