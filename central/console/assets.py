"""The console's static files, read and gzipped once when the app is built, then served from memory.

The first screen fetches about thirty small files; through ``StaticFiles`` and ``GZipMiddleware`` each
cost a few thread hops and a level-9 compression per request, and on a busy 2-core central that made the
files, not the data, most of the page's first second. Here a request is a dictionary lookup. Every
answer says ``no-cache`` with a strong ETag, so a browser revalidates (a 304) and never runs a script
older than the central that serves it.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Response

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".json": "application/json", ".geojson": "application/geo+json", ".svg": "image/svg+xml",
    ".png": "image/png", ".md": "text/markdown; charset=utf-8", ".txt": "text/plain; charset=utf-8",
}  # fmt: skip
COMPRESSIBLE = frozenset({".html", ".js", ".mjs", ".css", ".json", ".geojson", ".svg", ".md", ".txt"})
NO_CACHE = "no-cache"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    etag: str
    media_type: str

    @classmethod
    def of(cls, body: bytes, suffix: str) -> Asset:
        gzipped = gzip.compress(body, 9, mtime=0) if suffix in COMPRESSIBLE else None
        if gzipped is not None and len(gzipped) >= len(body):
            gzipped = None
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        return cls(body, gzipped, etag, MEDIA_TYPES.get(suffix, "application/octet-stream"))

    def response(self, request: Request) -> Response:
        headers = {"Cache-Control": NO_CACHE, "ETag": self.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == self.etag:
            return Response(status_code=304, headers=headers)
        if self.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(self.gzipped, media_type=self.media_type, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


@functools.cache
def load_assets(root: Path) -> Mapping[str, Asset]:
    """Every file under ``root`` by its path relative to it (``js/main.js``); read once per process
    (about 90 ms: the files do not change while the central runs)."""
    return {
        path.relative_to(root).as_posix(): Asset.of(path.read_bytes(), path.suffix)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
