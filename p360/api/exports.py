"""Streamed CSV and NDJSON exports: keyset batches (no long transaction, no server-side cursor) and
cells that a spreadsheet would run as formulas neutralised."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse

from p360.api.pagination import keyset_filter, row_value

BATCH_SIZE = 2_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell):
    """A leading apostrophe keeps `=HYPERLINK(...)` and friends as text in Excel, LibreOffice and Sheets."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def in_batches(queryset, keys, batch_size: int | None = None) -> Iterator:
    """Every row of the queryset in `keys` order, one keyset-bounded query per batch."""
    batch_size = batch_size or BATCH_SIZE
    queryset = queryset.order_by(*(key.expression() for key in keys))
    after = None
    while True:
        page = queryset.filter(keyset_filter(keys, after, backwards=False)) if after is not None else queryset
        rows = list(page[:batch_size])
        yield from rows
        if len(rows) < batch_size:
            return
        after = [row_value(rows[-1], key.field) for key in keys]


def csv_stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return value

    writer.writerow(header)
    yield flush()
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        yield flush()


def ndjson_stream(records: Iterable[dict]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False) + "\n"


def streaming_export(
    fmt: str, filename: str, header: list[str], records: Iterable[dict], flatten: Callable
) -> StreamingHttpResponse:
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_stream(header, (flatten(r) for r in records)), content_type="text/csv; charset=utf-8"
        )
    else:
        response = StreamingHttpResponse(ndjson_stream(records), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
