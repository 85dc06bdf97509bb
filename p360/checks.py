"""Start-up guards of the servers."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_secret_key() -> None:
    """A server with DEBUG off must not sign tokens with the development key everyone can read."""
    if not settings.DEBUG and getattr(settings, "INSECURE_DEVELOPMENT_KEY", None) == settings.SECRET_KEY:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
