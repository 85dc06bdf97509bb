"""People: the tenant's users (and, in the public schema, platform staff), with authentication."""

from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
