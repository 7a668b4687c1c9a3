"""Tokens (admin): make one (its plain text is in this answer only), list them, revoke one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status

from central.api.deps import Admin, ServicesDep
from central.api.responses import errors, json_response
from central.api.schemas import TokenCreated, TokenIn, TokenList, TokenOut
from central.auth import new_token
from central.store.base import NotFoundError
from central.store.records import Token

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])

TokenId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]


def public(t: Token) -> dict[str, Any]:
    """The token without its hash."""
    return {"id": t.id, "name": t.name, "role": t.role, "gateway_id": t.gateway_id,
            "created_ms": t.created_ms, "revoked_ms": t.revoked_ms}  # fmt: skip


@router.get("", response_model=TokenList, summary="All tokens (without secrets)", responses=errors(401, 403))
async def tokens(services: ServicesDep, _: Admin) -> Response:
    rows = [public(t) for t in await services.store.query(services.store.tokens)]
    return json_response({"data": rows, "count": len(rows)})


@router.post(
    "", response_model=TokenCreated, status_code=201, summary="Make a token", responses=errors(401, 403, 422)
)
async def create(body: TokenIn, services: ServicesDep, _: Admin) -> Response:
    try:
        plain, row = new_token(body.role, body.name, body.gateway_id, services.clock_ms())
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    await services.store.query(services.store.add_token, row)
    return json_response({**public(row), "token": plain}, status_code=201)


@router.delete(
    "/{token_id}", response_model=TokenOut, summary="Revoke a token", responses=errors(401, 403, 404, 409)
)
async def revoke(token_id: TokenId, services: ServicesDep, who: Admin) -> Response:
    if token_id == who.token_id:
        raise HTTPException(status.HTTP_409_CONFLICT, "a token cannot revoke itself")
    try:
        row = await services.store.query(services.store.revoke_token, token_id, services.clock_ms())
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    services.auth.forget(token_id)
    return json_response(public(row))
