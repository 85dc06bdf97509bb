"""ASGI entry point of P360."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p360.settings")
application = get_asgi_application()
