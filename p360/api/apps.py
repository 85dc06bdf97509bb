"""The API plumbing is an app of its own for the one table it needs: idempotency records."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "p360.api"
    label = "api"
    verbose_name = "API plumbing"
