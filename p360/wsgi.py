"""WSGI entry point of P360 (gunicorn p360.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p360.settings")
application = get_wsgi_application()
