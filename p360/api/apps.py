"""The API plumbing is an app of its own for the one table it needs: idempotency records."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "p360.api"
    label = "api"
    verbose_name = "API plumbing"

    def ready(self):
        from p360 import checks  # noqa: F401  (registers the deployment checks)
