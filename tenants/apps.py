"""Tenants and their domains (public schema)."""

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from tenants import guard, routing

        routing.connect_invalidation()
        post_migrate.connect(guard.on_post_migrate, dispatch_uid="tenants.guard.sync")
