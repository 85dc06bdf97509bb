"""The append-only activity log (tenant schema)."""

from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "activity"
