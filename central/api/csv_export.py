"""CSV for spreadsheets: UTF-8 with a byte-order mark (so Excel opens Chinese names), streamed, so a month
of readings never sits in memory. Asked for with ``format=csv`` or ``Accept: text/csv``."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

BOM = "\ufeff"
CSV = "text/csv; charset=utf-8"
CHUNK_ROWS = 2000


def csv_documented(*media: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry saying a 200 may also be CSV (and ``media``, e.g. text/html)."""
    text = {"schema": {"type": "string"}}
    return {200: {"content": {"application/json": {}, "text/csv": text, **dict.fromkeys(media, text)}}}


def wants_csv(request: Request, format_: str | None) -> bool:
    """``format=csv``; without a format, an Accept header that names text/csv before any JSON."""
    if format_ is not None:
        return format_ == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept.split("text/csv")[0]


def rows_text(rows: Iterable[Sequence[Any]]) -> str:
    """CSV lines (CRLF) for ``rows``; None is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue()


def head(header: Sequence[str]) -> str:
    return BOM + rows_text([header])


async def _rows(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> AsyncIterator[bytes]:
    yield head(header).encode()
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK_ROWS:
            yield rows_text(batch).encode()
            batch = []
    yield rows_text(batch).encode()


async def _pages(header: Sequence[str], pages: AsyncIterator[list[Sequence[Any]]]) -> AsyncIterator[bytes]:
    yield head(header).encode()
    async for page in pages:
        yield rows_text(page).encode()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingResponse:
    """CSV of rows already at hand (a report, a history's buckets)."""
    return _response(filename, _rows(header, rows))


def csv_pages_response(
    filename: str, header: Sequence[str], pages: AsyncIterator[list[Sequence[Any]]]
) -> StreamingResponse:
    """CSV of rows fetched a page at a time (``pages``): one page is in memory at a time."""
    return _response(filename, _pages(header, pages))


def _response(filename: str, body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        body, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
