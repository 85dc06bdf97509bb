"""Per API key throttling: P360_API_KEY_RATE requests per window ("600/min"), counted in fixed windows in the
cache (one counter per key and window, shared by every process with Redis). Each key's response says where it
stands (`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`: the IETF draft's fields, written by
p360.api.middleware.RateLimitHeadersMiddleware); past the limit: 429 with `Retry-After`. People's requests are
not counted here. A cache outage lets requests through (logged), as the login throttles do."""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from p360.caches import CACHE_ERRORS

logger = logging.getLogger("p360.cache")
_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def key_rate() -> tuple[int, int]:
    """(requests, seconds) of P360_API_KEY_RATE."""
    count, _, period = settings.P360_API_KEY_RATE.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


def _count(counter: str, period: int) -> int:
    """This request's number in the window: an increment alone once the window's counter exists (no `add` before
    every one); the first request of a window creates it."""
    try:
        return cache.incr(counter)
    except ValueError:  # no counter yet for this window
        if cache.add(counter, 1, period + 1):
            return 1
        return cache.incr(counter)  # another request created it meanwhile


class KeyThrottle(BaseThrottle):
    def allow_request(self, request, view):
        principal = request.user
        if not settings.P360_THROTTLE or not getattr(principal, "is_service", False):
            return True
        limit, period = key_rate()
        now = time.time()
        window = int(now // period)
        counter = f"throttle:api-key:{principal.key_id}:{window}"
        try:
            used = _count(counter, period)
        except CACHE_ERRORS as exc:
            logger.error("API key throttle not applied, cache unavailable (%s)", exc.__class__.__name__)
            return True
        self._wait = period - (now % period)
        request._request.p360_rate_limit = (limit, max(0, limit - used), math.ceil(self._wait))
        return used <= limit

    def wait(self):
        return self._wait
