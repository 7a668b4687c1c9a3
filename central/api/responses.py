"""JSON responses written by orjson straight from the store's dataclasses (no validation pass)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from central.api.schemas import ErrorOut

JSON = "application/json"


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type=JSON)


def listing(rows: list[Any]) -> Response:
    """``{"data": [...], "count": n}``."""
    return json_response({"data": rows, "count": len(rows)})


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses (all carry ``{"detail": "..."}``)."""
    meaning = {
        400: "the request makes no sense (e.g. a blank note)",
        401: "no token, or an unknown or revoked one",
        403: "the token's role (or gateway) does not allow this",
        404: "no such thing",
        408: "the request body did not arrive in time",
        409: "the alarm's status does not allow this action",
        413: "the request body is over the limit",
        422: "the request does not validate",
    }
    return {code: {"model": ErrorOut, "description": meaning[code]} for code in codes}
