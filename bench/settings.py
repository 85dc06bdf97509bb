"""Settings for benchmark runs only: P360's settings plus the reference views (bench/urls.py) on tenant hosts,
throttling off, and a middleware that reports the server's time (and, on request, the query count)."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "p360-bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from p360.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
P360_THROTTLE = False
SECURE_SSL_REDIRECT = False  # plain HTTP on loopback
SECURE_HSTS_SECONDS = 0
MIDDLEWARE = ["bench.middleware.ServerTimingMiddleware", *MIDDLEWARE]  # noqa: F405
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
