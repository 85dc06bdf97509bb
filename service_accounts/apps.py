"""Service accounts: the tenant's credentials for machines (integrations, scripts, identity providers), with
scoped API keys (API.md, "Service accounts and API keys")."""

from django.apps import AppConfig


class ServiceAccountsConfig(AppConfig):
    name = "service_accounts"

    def ready(self) -> None:
        from service_accounts import schema  # noqa: F401  (registers the OpenAPI authentication extension)
