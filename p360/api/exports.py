"""Streamed CSV and NDJSON exports, with cells that a spreadsheet would run as formulas neutralised.

CSV that PostgreSQL writes (`copy_stream`): one `COPY (SELECT ...) TO STDOUT`, relayed in 64 KB chunks; the
worker formats nothing, so a million rows take seconds, and the export is one snapshot. Rows that Python
writes (`csv_stream`, `ndjson_stream`) are read in keyset batches (`in_batches`).

A failure midway (the database gone, a worker stopped) raises out of the stream: the server then closes the
connection without the chunked body's last chunk, which HTTP clients report as a broken transfer, never as a
short file that looks whole."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import StreamingHttpResponse

from p360.api.keyset import keyset_filter, row_value

BATCH_SIZE = 2_000
COPY_CHUNK = 64 * 1024
EXPORT_WORK_MEM = "64MB"  # a 1,000,000-row export sorts ~150 MB: a few merge passes, not hundreds
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell):
    """A leading apostrophe keeps `=HYPERLINK(...)` and friends as text in Excel, LibreOffice and Sheets."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def neutralised_sql(expression: str) -> str:
    """`neutralise` in SQL for a text expression (a constant of the code), and '' as NULL: PostgreSQL's CSV
    quotes an empty string, Python's csv writes it bare, as COPY writes NULL."""
    starts = ", ".join(str(ord(char)) for char in _FORMULA_START)
    return f"NULLIF(CASE WHEN ascii({expression}) IN ({starts}) THEN '''' || {expression} ELSE {expression} END, '')"


def order_sql(keys, model, alias: str) -> str:
    """ORDER BY terms over `alias`'s columns for the list's ordering keys, as OrderKey.expression() sorts."""
    terms = []
    for key in keys:
        column = model._meta.pk.column if key.field in ("id", "pk") else model._meta.get_field(key.field).column
        terms.append(f'{alias}."{column}" {"DESC" if key.descending else "ASC"}{" NULLS LAST" if key.nullable else ""}')
    return ", ".join(terms)


def copy_csv_sql(
    rows: tuple[str, list], cells: list[str], order: str, join: str = "", joined: str = ""
) -> tuple[str, tuple]:
    """`COPY (...) TO STDOUT (FORMAT csv)` of `cells` (SQL over the alias `r`) for some rows.

    `rows`: SQL and parameters selecting, unordered, the columns the cells and the order read (a row source's
    select_sql, or a queryset's `values_list` as SQL); `join`: what is joined to them, aliased `r` (e.g. an
    aggregate per row, read once for all rows instead of a subquery per row), and `joined` the columns it adds.
    The rows are sorted on their bare columns and only then formatted (the OFFSET 0 keeps the sort below the
    formatting: it carries no CSV text).
    """
    sql, params = rows
    ordered = f"SELECT r.*{', ' + joined if joined else ''} FROM ({sql}) r {join} ORDER BY {order} OFFSET 0"
    return f"COPY (SELECT {', '.join(cells)} FROM ({ordered}) r) TO STDOUT (FORMAT csv)", tuple(params)


def copy_stream(header: list[str], sql: str, params=(), copied: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The header line, then what `COPY (...) TO STDOUT (FORMAT csv)` writes, in chunks of about 64 KB. In a
    transaction of its own, with memory to sort in and without parallel workers (a worker would build its own
    copy of a joined aggregate)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(header)
    yield buffer.getvalue().encode()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{EXPORT_WORK_MEM}'")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        # parameters merged here (as psycopg would for COPY): Django's debug cursor passes a statement only
        with cursor.copy(connection.ops.compose_sql(sql, params) if params else sql) as copy:
            chunk = bytearray()
            for data in copy:
                chunk += data
                if len(chunk) >= COPY_CHUNK:
                    yield bytes(chunk)
                    chunk.clear()
            if chunk:
                yield bytes(chunk)
        if copied is not None:
            copied(cursor.rowcount)  # COPY's own count of the rows it wrote


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
    fmt: str,
    filename: str,
    header: list[str],
    records: Iterable[dict] | None,
    flatten: Callable | None = None,
    copy: tuple[str, tuple] | None = None,
) -> StreamingHttpResponse:
    """The export's response: CSV from a COPY statement (`copy`: sql and params) or from records, or NDJSON."""
    if copy is not None:
        response = StreamingHttpResponse(copy_stream(header, *copy), content_type="text/csv; charset=utf-8")
    elif fmt == "csv":
        response = StreamingHttpResponse(
            csv_stream(header, (flatten(r) for r in records)), content_type="text/csv; charset=utf-8"
        )
    else:
        response = StreamingHttpResponse(ndjson_stream(records), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
