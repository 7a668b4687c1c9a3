"""Dependencies as ``Annotated`` aliases: the services, the store, and who the caller is.

All are ``async def`` though none awaits much: FastAPI runs a plain ``def`` dependency on a worker thread,
a hop per request that the ingest path cannot afford.

``Reader``, ``Operator`` and ``Admin`` each resolve the bearer token (or else the session cookie) to a
``Principal`` and refuse the request with 403 when its role is not enough; a missing or unknown token is
401. A cookie-authenticated unsafe request must come from this origin (``central.api.csrf``): 403.
``ScopeDep`` is what the caller's organization sees (``None``: everything). The store is a
dependency of its own (``StoreDep``) so a test can swap it with ``app.dependency_overrides``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from central.accounts.sessions import COOKIE
from central.api.csrf import check_origin
from central.auth import ADMINS, OPERATORS, READERS, AuthError, Principal, Role
from central.services import Services
from central.store.account_records import Visible
from central.store.base import Store

bearer = HTTPBearer(auto_error=False, description="a token made by `fieldwatch-central token create`")


async def get_services(request: Request) -> Services:
    return cast(Services, request.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_store(services: ServicesDep) -> Store:
    return services.store


StoreDep = Annotated[Store, Depends(get_store)]


def unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Bearer"})


async def get_principal(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    presented = credentials.credentials if credentials is not None else request.cookies.get(COOKIE)
    if not presented:
        raise unauthorized("a bearer token is required (Authorization: Bearer fwt_...)")
    if credentials is None:
        check_origin(request)  # only a cookie rides along on a forged cross-site request
    try:
        return await services.auth.principal(presented)
    except AuthError as e:
        raise unauthorized(str(e)) from None


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(roles: frozenset[Role], what: str) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = ", ".join(sorted(r.value for r in roles))

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{what} needs the role {allowed}")
        return principal

    return check


async def get_scope(services: ServicesDep, who: PrincipalDep) -> Visible | None:
    if who.orgs is None:
        return None
    return await services.store.query(services.auth.accounts.visible, who.orgs)


ScopeDep = Annotated[Visible | None, Depends(get_scope)]

Reader = Annotated[Principal, Depends(require(READERS, "reading"))]
Operator = Annotated[Principal, Depends(require(OPERATORS, "acknowledging and closing alarms"))]
Admin = Annotated[Principal, Depends(require(ADMINS, "managing tokens and sites"))]
