"""Renderers for streamed exports: they let `Accept: text/csv` through content negotiation; the body
itself is streamed by the view, so what they render is only an error (as JSON)."""

from rest_framework.renderers import JSONRenderer


class CSVRenderer(JSONRenderer):
    media_type = "text/csv"
    format = "csv"


class NDJSONRenderer(JSONRenderer):
    media_type = "application/x-ndjson"
    format = "ndjson"


EXPORT_RENDERERS = [JSONRenderer, CSVRenderer, NDJSONRenderer]
