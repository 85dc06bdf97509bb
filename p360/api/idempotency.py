"""Idempotency-Key for POSTs that create: the same key and body within 24 h replays the first response;
the same key with another body is 409 `idempotency_key_reused`; concurrent requests with one key make one
object (the second waits on the first's unique key, then replays it)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from p360.api.models import IdempotencyRecord
from p360.api.problems import Conflict, FieldErrors

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
_SANE_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADERS = ("Location", "ETag")


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str) if request.data is not None else ""
    return hashlib.sha256(body.encode()).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    return Response(record.body, status=record.status_code, headers={**record.headers, "Idempotent-Replayed": "true"})


def idempotent(view_method):
    @wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(view, request, *args, **kwargs)
        if not _SANE_KEY.match(key):
            raise FieldErrors([(HEADER, "invalid", "Idempotency-Key must be 1-255 visible ASCII characters.")])
        caller = str(request.user.pk) if request.user and request.user.is_authenticated else ""
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            IdempotencyRecord.objects.filter(caller=caller, key=key, created_at__lt=timezone.now() - TTL).delete()
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        caller=caller, key=key, method=request.method, path=request.path[:500],
                        fingerprint=fingerprint, status_code=0,
                    )  # fmt: skip
            except IntegrityError:
                existing = IdempotencyRecord.objects.get(caller=caller, key=key)
                same = (existing.method, existing.path, existing.fingerprint) == (
                    request.method,
                    request.path[:500],
                    fingerprint,
                )
                if not same:
                    raise Conflict(
                        "This Idempotency-Key was used with another request.", "idempotency_key_reused"
                    ) from None
                return _replay(existing)
            response = view_method(view, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                record.status_code = response.status_code
                record.body = json.loads(JSONRenderer().render(response.data))  # UUIDs, dates: as sent
                record.headers = {name: response[name] for name in _REPLAYED_HEADERS if response.has_header(name)}
                record.save(update_fields=["status_code", "body", "headers"])
            else:
                record.delete()
            return response

    wrapper.idempotent = True
    return wrapper
