"""CSRF for cookie-authenticated requests: an unsafe method must come from this very origin.

Browsers send ``Origin`` on every cross-origin request and on same-origin ones other than GET and HEAD,
so a POST, PUT, PATCH or DELETE carrying the session cookie must name this server's origin in ``Origin``
(or, failing that, start its ``Referer`` with it). The cookie is ``SameSite=Strict`` as well; this is the
second lock. Bearer tokens need neither: a browser never adds them by itself.
"""

from __future__ import annotations

from fastapi import HTTPException, Request, status

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def check_origin(request: Request) -> None:
    """403 when an unsafe request does not come from this origin."""
    if request.method in SAFE_METHODS:
        return
    expected = own_origin(request)
    origin = request.headers.get("origin")
    referer = request.headers.get("referer", "")
    if origin == expected or (origin is None and referer.startswith(expected + "/")):
        return
    raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused (Origin does not match)")
