"""JSON rendering on orjson (DRF's JSONRenderer, same output, several times faster), and the renderers of
streamed exports: they let `Accept: text/csv` through content negotiation; the body itself is streamed by
the view, so what they render is only an error (as JSON)."""

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder as DRFEncoder

_ENCODER = DRFEncoder()
# Datetimes go through DRF's encoder (its exact format); UUIDs, dicts, lists and strings orjson writes itself.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


class JSONRenderer(renderers.JSONRenderer):
    """Compact UTF-8 JSON, as DRF's renderer writes it with COMPACT_JSON and UNICODE_JSON (P360's settings).
    Indented output (`Accept: application/json; indent=2`) and anything orjson refuses go through DRF's own."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}):
            # DRF's encoder knows no orjson.Fragment (JSON a list wrote beforehand): read back as Python first
            plain = orjson.loads(orjson.dumps(data, default=_ENCODER.default, option=_OPTIONS))
            return super().render(plain, accepted_media_type, renderer_context)
        try:
            return orjson.dumps(data, default=_ENCODER.default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            return super().render(data, accepted_media_type, renderer_context)


class CSVRenderer(JSONRenderer):
    media_type = "text/csv"
    format = "csv"


class NDJSONRenderer(JSONRenderer):
    media_type = "application/x-ndjson"
    format = "ndjson"


EXPORT_RENDERERS = [JSONRenderer, CSVRenderer, NDJSONRenderer]
