"""ETag of a single resource and If-Match preconditions (412 when stale)."""

from __future__ import annotations

import hashlib

from p360.api.problems import PreconditionFailed


def etag_of(obj) -> str:
    stamp = getattr(obj, "updated_at", None)
    digest = hashlib.sha256(f"{obj.pk}:{stamp.isoformat() if stamp else ''}".encode()).hexdigest()[:20]
    return f'"{digest}"'


def check_if_match(request, obj) -> None:
    header = request.headers.get("If-Match")
    if header is None:
        return
    offered = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" in offered:
        return
    if etag_of(obj) not in offered:
        raise PreconditionFailed()
