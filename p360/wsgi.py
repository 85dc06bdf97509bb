"""WSGI entry point of P360 (gunicorn p360.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p360.settings")
application = get_wsgi_application()

from p360.checks import require_secret_key  # noqa: E402  (needs the settings loaded above)

require_secret_key()
