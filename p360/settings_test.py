"""Test settings: the real settings with a fast password hasher, in-memory email and generous throttles."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "p360-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("EMAIL_URL", "consolemail://")

from p360.settings import *

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
P360_LOGIN_RATE_IP = "10000/min"
P360_LOGIN_RATE_EMAIL = "10000/min"
P360_EMAIL_ASYNC = False
SECURE_SSL_REDIRECT = False  # the test servers speak plain HTTP on loopback
SECURE_HSTS_SECONDS = 0
