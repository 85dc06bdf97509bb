"""The route label of a request: its URL pattern (`api/v1/users/<uuid:pk>`), never the raw path or host,
so that metrics and logs have one series per endpoint whatever the ids or tenants in the URLs."""

from __future__ import annotations

from functools import lru_cache

UNMATCHED = "<unmatched>"  # answered before or without URL resolution: unknown host, suspended tenant, 404s
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# answered by middleware before tenant routing (p360/api/middleware.py)
PLATFORM_PATHS = {"/healthz": "healthz", "/readyz": "readyz", "/metrics": "metrics"}


def route_of(request) -> str:
    fixed = PLATFORM_PATHS.get(request.path)
    if fixed is not None:
        return fixed
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return UNMATCHED
    return readable_route(match.route)


@lru_cache(maxsize=1024)  # routes come from the URLconfs: a bounded set
def readable_route(route: str) -> str:
    """Regex routes (DRF routers) written like path() ones: `^users/(?P<pk>uuid-regex)$` -> `users/<uuid:pk>`."""
    out, i = [], 0
    while i < len(route):
        if route.startswith("(?P<", i):
            name_end = route.index(">", i)
            name = route[i + 4 : name_end]
            body_end = _closing_paren(route, name_end + 1)
            converter = "uuid:" if route[name_end + 1 : body_end] == _UUID else ""
            out.append(f"<{converter}{name}>")
            i = body_end + 1
        elif route[i] in "^$" and (i == 0 or route[i - 1] != "\\"):
            i += 1
        else:
            out.append(route[i])
            i += 1
    return "".join(out)


def _closing_paren(text: str, start: int) -> int:
    """Index of the parenthesis closing the group whose body starts at `start`."""
    depth = 1
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text) - 1
