"""Tenants and their domains (public schema)."""

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        from tenants import routing

        routing.connect_invalidation()
