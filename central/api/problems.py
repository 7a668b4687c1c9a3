"""Every error the API answers has one shape, ``{"detail": "..."}``, and the OpenAPI document says so.

- a request that does not validate (FastAPI's ``RequestValidationError``) is 422 with one line per problem,
  ``query.limit: Input should be less than or equal to 10000``, joined by ``; `` (not FastAPI's list);
- the document's 422 answers are ``ErrorOut`` everywhere (FastAPI would describe its list), every
  operation that takes a body also documents 400 (a body that cannot be parsed at all) and 408 (a body
  that did not arrive in time, ``central.api.limits``), and every operation documents 503 (the database
  is busy or down), so schemathesis's conformance checks hold for what the server really does.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from central.api.responses import json_response

MAX_DETAIL_CHARS = 2000
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
BODY_STATUSES = {"400": "the body cannot be parsed", "408": "the request body did not arrive in time"}
BUSY = "the database is busy (Retry-After says when to try again) or failed"


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generated = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = conformant(generated)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


async def _invalid(request: Request, exc: Any) -> Response:
    assert isinstance(exc, RequestValidationError)
    text = "; ".join(describe(e) for e in exc.errors())
    return json_response({"detail": text[:MAX_DETAIL_CHARS]}, status_code=422)


def conformant(doc: dict[str, Any]) -> dict[str, Any]:
    """The generated document with the error answers the server gives (see the module docstring)."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                given = responses["422"]
                responses["422"] = _error(given.get("description", "the request does not validate"), given)
            if "requestBody" in operation:
                for status, meaning in BODY_STATUSES.items():
                    responses.setdefault(status, _error(meaning))
            responses.setdefault("503", _error(BUSY))
    return doc


def _error(description: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error answer: ``ErrorOut``, unless the operation documents its own body (the ingest's ack)."""
    content = (given or {}).get("content", {}).get("application/json", {}).get("schema", {})
    if content and content.get("$ref") != "#/components/schemas/HTTPValidationError":
        return given or {}
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
