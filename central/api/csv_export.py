"""CSV for spreadsheets: UTF-8 with a byte-order mark (so Excel opens Chinese names), streamed in chunks
so a month of readings never sits in memory. Asked for with ``format=csv`` or ``Accept: text/csv``."""

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


def wants_csv(request: Request, format_: str | None) -> bool:
    """``format=csv``, or no format and an Accept header that prefers text/csv."""
    if format_ is not None:
        return format_ == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept.split("text/csv")[0]


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole CSV as text, BOM first (small results, or tests)."""
    return "".join(chunks(header, rows))


def chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterable[str]:
    """The CSV text, BOM and header first, then ``CHUNK_ROWS`` rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else v for v in row])
        if n % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def _aiter(parts: Iterable[str]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part.encode()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingResponse:
    return StreamingResponse(
        _aiter(chunks(header, rows)), media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )  # fmt: skip
