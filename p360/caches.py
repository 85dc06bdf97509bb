"""The CACHES setting: Redis when a URL is given (shared by every process), else local memory per process.

`default` keys carry the active tenant's schema (django_tenants' make_key), so two tenants never share an
entry: login throttles add the schema to their keys too. `routing` (Host -> tenant) is read before any
tenant is chosen, so its keys are plain hosts under their own prefix.
"""

from __future__ import annotations

from redis import RedisError

# A Redis that stops answering must not hold a worker for long: connect and command timeouts in seconds.
REDIS_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
# What a cache call raises when Redis is down: callers treat it as a miss (the cache only saves work).
CACHE_ERRORS = (RedisError,)


def cache_settings(redis_url: str | None) -> dict:
    if redis_url:
        backend = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "OPTIONS": dict(REDIS_OPTIONS),
        }
        routing_location = redis_url
    else:
        backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        routing_location = "p360-routing"
    return {
        "default": {**backend, "KEY_FUNCTION": "django_tenants.cache.make_key", "KEY_PREFIX": "p360"},
        "routing": {**backend, "LOCATION": routing_location, "KEY_PREFIX": "p360-routing", "TIMEOUT": 60},
    }
