"""``/api/v1/session``: log in with a username and password, see who is logged in, log out.

The session token comes back in the body and as an HttpOnly, SameSite=Strict cookie (Secure over
https); the console uses the cookie, scripts may send the token as ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status

from central.accounts import passwords, sessions
from central.accounts.audit import audit
from central.accounts.login import LoginRefusedError, log_in
from central.api.account_schemas import LoginIn, OwnPasswordIn, SessionCreated, SessionOut
from central.api.csrf import check_origin
from central.api.deps import PrincipalDep, ServicesDep
from central.api.responses import errors, json_response
from central.store.account_records import Session, User

router = APIRouter(prefix="/api/v1/session", tags=["session"])


def client_of(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def user_public(u: User) -> dict[str, Any]:
    return {"username": u.username, "display_name": u.display_name, "org_id": u.org_id, "role": u.role,
            "created_ms": u.created_ms, "disabled_ms": u.disabled_ms}  # fmt: skip


def _state(services: ServicesDep, s: Session, u: User) -> dict[str, Any]:
    return {"user": user_public(u), "expires_ms": sessions.expires_ms(s, services.auth.session_policy)}


@router.post(
    "",
    response_model=SessionCreated,
    summary="Log in: a session token, also set as a cookie",
    responses={**errors(401, 403, 422), 429: {"description": "too many failed logins: Retry-After"}},
)
async def login(body: LoginIn, request: Request, services: ServicesDep) -> Response:
    if request.headers.get("origin") is not None:
        check_origin(request)  # a login form posted from another site is refused
    try:
        done = await log_in(services, body.username, body.password, client_of(request))
    except LoginRefusedError as e:
        if e.retry_after_s is not None:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS, str(e), headers={"Retry-After": str(e.retry_after_s)}
            ) from None
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(e)) from None
    response = json_response({**_state(services, done.session, done.user), "token": done.token})
    response.set_cookie(
        sessions.COOKIE, done.token, max_age=int(services.settings.session_absolute_s), httponly=True,
        samesite="strict", secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    return response


@router.get(
    "", response_model=SessionOut, summary="Who is logged in with this session", responses=errors(401, 404)
)
async def current(services: ServicesDep, who: PrincipalDep) -> Response:
    accounts = services.auth.accounts
    if who.username is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "a token, not a session: nobody is logged in")
    found = await services.store.query(accounts.session, who.token_id)
    user = await services.store.query(accounts.user, who.username)
    if found is None or user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the session has ended")
    return json_response(_state(services, found, user))


@router.put(
    "/password", status_code=204, summary="Change one's own password (the current one is asked)",
    responses=errors(401, 403, 404, 422),
)  # fmt: skip
async def change_password(
    body: OwnPasswordIn, request: Request, services: ServicesDep, who: PrincipalDep
) -> Response:
    if who.username is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "a token, not a session: nobody to change")
    accounts = services.auth.accounts
    user = await services.store.query(accounts.user, who.username)
    if user is None or not await asyncio.to_thread(passwords.verify, user.password_hash, body.current):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the current password is wrong")
    try:
        hashed = await asyncio.to_thread(passwords.hash_password, body.password)
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    await services.store.query(accounts.set_password, who.username, hashed)
    await audit(services, "user.password", who.username, who=who, client=client_of(request))
    return Response(status_code=204)


@router.delete("", status_code=204, summary="Log out: the session ends", responses=errors(401, 403, 404))
async def logout(request: Request, services: ServicesDep, who: PrincipalDep) -> Response:
    if who.username is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "a token, not a session: revoke tokens instead")
    await services.store.query(services.auth.accounts.end_session, who.token_id, services.clock_ms())
    await audit(services, "logout", who.username, who=who, client=client_of(request))
    response = Response(status_code=204)
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict")
    return response
