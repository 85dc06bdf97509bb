"""JSON request bodies only, with a nesting limit: a deeply nested body is a 400, never a RecursionError."""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _depth_exceeds(data, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except UnicodeDecodeError as exc:
            raise ParseError(f"The body is not valid UTF-8: {exc.reason} at byte {exc.start}.") from exc
        except RecursionError as exc:
            raise ParseError(f"JSON nested deeper than {settings.P360_MAX_JSON_DEPTH} levels.") from exc
        except ValueError as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc
        if _depth_exceeds(data, settings.P360_MAX_JSON_DEPTH):
            raise ParseError(f"JSON nested deeper than {settings.P360_MAX_JSON_DEPTH} levels.")
        return data


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class CSVTextParser(parsers.BaseParser):
    """A raw `text/csv` body, handed over as bytes (imports; the multipart form is the documented way)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""
