"""Tokens (admin): make one (its plain text is in this answer only), list them, revoke one.

An admin sees and manages the tokens of its organization's subtree; another's answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response, status

from central.accounts.audit import audit
from central.accounts.orgs import sees
from central.api.deps import Admin, ServicesDep
from central.api.responses import errors, json_response
from central.api.routers.session import client_of
from central.api.schemas import TokenCreated, TokenIn, TokenList, TokenOut
from central.api.scoping import not_found_unless
from central.auth import new_token
from central.store.base import NotFoundError
from central.store.records import Token

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])

TokenId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]


def public(t: Token, account: tuple[str, int | None]) -> dict[str, Any]:
    """The token without its hash, with its (organization, expires_ms)."""
    return {"id": t.id, "name": t.name, "role": t.role, "gateway_id": t.gateway_id,
            "created_ms": t.created_ms, "revoked_ms": t.revoked_ms, "org_id": account[0],
            "expires_ms": account[1]}  # fmt: skip


@router.get("", response_model=TokenList, summary="All tokens (without secrets)", responses=errors(401, 403))
async def tokens(services: ServicesDep, who: Admin) -> Response:
    store = services.store
    accounts = await store.query(services.auth.accounts.token_orgs)
    rows = [
        public(t, accounts[t.id])
        for t in await store.query(store.tokens)
        if sees(who.orgs, accounts[t.id][0])
    ]
    return json_response({"data": rows, "count": len(rows)})


@router.post(
    "",
    response_model=TokenCreated,
    status_code=201,
    summary="Make a token",
    responses=errors(401, 403, 404, 422),
)
async def create(body: TokenIn, request: Request, services: ServicesDep, who: Admin) -> Response:
    org_id = body.org_id or who.org_id
    if org_id not in await services.auth.tree() or not sees(who.orgs, org_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no organization {org_id}")
    if body.gateway_id is not None and who.orgs is not None:
        scope = await services.store.query(services.auth.accounts.visible, who.orgs)
        not_found_unless(body.gateway_id in scope.gateways, f"gateway {body.gateway_id}")
    now_ms = services.clock_ms()
    try:
        plain, row = new_token(body.role, body.name, body.gateway_id, now_ms)
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    days = body.expires_in_days
    account = (org_id, None if days is None else now_ms + int(days * 86_400_000))
    await services.store.query(services.store.add_token, row)
    await services.store.query(services.auth.accounts.set_token_account, row.id, *account)
    await audit(services, "token.create", row.id, who=who, org_id=org_id, client=client_of(request),
                detail={"role": row.role, "name": row.name})  # fmt: skip
    return json_response({**public(row, account), "token": plain}, status_code=201)


@router.delete(
    "/{token_id}", response_model=TokenOut, summary="Revoke a token", responses=errors(401, 403, 404, 409)
)
async def revoke(token_id: TokenId, request: Request, services: ServicesDep, who: Admin) -> Response:
    if token_id == who.token_id:
        raise HTTPException(status.HTTP_409_CONFLICT, "a token cannot revoke itself")
    account = await services.store.query(services.auth.accounts.token_account, token_id)
    not_found_unless(account is not None and sees(who.orgs, account[0]), f"token {token_id}")
    assert account is not None
    try:
        row = await services.store.query(services.store.revoke_token, token_id, services.clock_ms())
    except NotFoundError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    services.auth.forget(token_id)
    await audit(services, "token.revoke", token_id, who=who, org_id=account[0], client=client_of(request))
    return json_response(public(row, account))
