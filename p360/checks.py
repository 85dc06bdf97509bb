"""Start-up guards of the servers, and P360's own deployment checks (`manage.py check --deploy`)."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

CONSOLE_BACKENDS = ("django.core.mail.backends.console.EmailBackend",)


def require_secret_key() -> None:
    """A server with DEBUG off must not sign tokens with the development key everyone can read."""
    if not settings.DEBUG and getattr(settings, "INSECURE_DEVELOPMENT_KEY", None) == settings.SECRET_KEY:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")


@checks.register(checks.Tags.security, deploy=True)
def email_is_delivered(app_configs, **kwargs):
    """Invitation and reset emails hold single-use secrets: on the console they end up in the server's logs."""
    if settings.EMAIL_BACKEND in CONSOLE_BACKENDS:
        return [
            checks.Warning(
                "Email goes to the console, so invitation and password reset links (secrets) would be written "
                "to the server's output.",
                hint="Set EMAIL_URL (for example smtp+tls://user:password@smtp.example.com:587).",
                id="p360.W001",
            )
        ]
    return []
