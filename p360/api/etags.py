"""ETag of a single resource and If-Match preconditions (412 when stale).

Services compare the If-Match value with the row they have locked (`require_fresh`), so that two writers
holding the same ETag cannot both win; views may check early too (`check_if_match`), to fail fast.
"""

from __future__ import annotations

import hashlib

from p360.api.problems import PreconditionFailed


def etag_of(obj) -> str:
    stamp = getattr(obj, "updated_at", None)
    digest = hashlib.sha256(f"{obj.pk}:{stamp.isoformat() if stamp else ''}".encode()).hexdigest()[:20]
    return f'"{digest}"'


def require_fresh(obj, if_match: str | None) -> None:
    if if_match is None:
        return
    offered = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" not in offered and etag_of(obj) not in offered:
        raise PreconditionFailed()


def check_if_match(request, obj) -> None:
    require_fresh(obj, request.headers.get("If-Match"))
