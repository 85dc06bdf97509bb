"""Login throttles per client IP and per email, keyed by tenant so that tenants never share counters."""

import hashlib
import logging

from django.conf import settings
from django.db import connection
from rest_framework.throttling import SimpleRateThrottle

from p360.caches import CACHE_ERRORS

logger = logging.getLogger("p360.cache")


class _LoginThrottle(SimpleRateThrottle):
    rate_setting = ""

    def get_rate(self):
        return getattr(settings, self.rate_setting)

    def allow_request(self, request, view):
        if not settings.P360_THROTTLE:
            return True
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            # Fail open: a cache outage must not lock every user out; Argon2 still slows guessing down.
            logger.error("%s throttle not applied, cache unavailable (%s)", self.scope, exc.__class__.__name__)
            return True


class LoginIPThrottle(_LoginThrottle):
    scope = "login_ip"
    rate_setting = "P360_LOGIN_RATE_IP"

    def get_cache_key(self, request, view):
        return f"throttle:{self.scope}:{connection.schema_name}:{self.get_ident(request)}"


class LoginEmailThrottle(_LoginThrottle):
    scope = "login_email"
    rate_setting = "P360_LOGIN_RATE_EMAIL"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return None
        # hashed: any string a client sends is a safe key, and no email address sits in the cache
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return f"throttle:{self.scope}:{connection.schema_name}:{digest}"


class ResetIPThrottle(LoginIPThrottle):
    """Password resets and invitation acceptance, per client IP."""

    scope = "reset_ip"


class ResetEmailThrottle(LoginEmailThrottle):
    scope = "reset_email"
