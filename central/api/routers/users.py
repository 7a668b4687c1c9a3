"""Users (admin): an admin manages the users of the organizations it sees, and lifts login lockouts.

A user of another organization answers 404, as if it did not exist. Disabling a user ends every session
of theirs at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status

from central.accounts import passwords
from central.accounts.audit import audit
from central.accounts.orgs import sees
from central.accounts.users import new_user
from central.api.account_schemas import USERNAME, LockoutList, PasswordIn, UserIn, UserList, UserOut
from central.api.deps import Admin, ServicesDep
from central.api.responses import errors, json_response, listing
from central.api.routers.session import client_of, user_public
from central.auth import Principal
from central.store.account_records import User

router = APIRouter(prefix="/api/v1", tags=["accounts"])

Username = Annotated[str, Path(pattern=USERNAME)]


async def _seen_user(services: ServicesDep, who: Principal, username: str) -> User:
    found = await services.store.query(services.auth.accounts.user, username)
    if found is None or not sees(who.orgs, found.org_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username}")
    return found


@router.get("/users", response_model=UserList, summary="Users (admin)", responses=errors(401, 403))
async def users(services: ServicesDep, who: Admin) -> Response:
    found = await services.store.query(services.auth.accounts.users)
    return listing([user_public(u) for u in found if sees(who.orgs, u.org_id)])


@router.post(
    "/users", response_model=UserOut, status_code=201, summary="Create a user (admin)",
    responses=errors(401, 403, 404, 409, 422),
)  # fmt: skip
async def create(body: UserIn, request: Request, services: ServicesDep, who: Admin) -> Response:
    accounts = services.auth.accounts
    tree = await services.auth.tree()
    if body.org_id not in tree or not sees(who.orgs, body.org_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no organization {body.org_id}")
    if await services.store.query(accounts.user, body.username) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.username} exists already")
    try:
        user = new_user(
            body.username, body.org_id, body.role, display_name=body.display_name, password=body.password,
            now_ms=services.clock_ms(),
        )  # fmt: skip
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    await services.store.query(accounts.add_user, user)
    await audit(
        services, "user.create", user.username, who=who, org_id=user.org_id, client=client_of(request),
        detail={"role": user.role, "display_name": user.display_name},
    )  # fmt: skip
    return json_response(user_public(user), status_code=201)


@router.post(
    "/users/{username}/disable", response_model=UserOut, summary="Disable a user: their sessions end now",
    responses=errors(401, 403, 404, 409),
)  # fmt: skip
async def disable(username: Username, request: Request, services: ServicesDep, who: Admin) -> Response:
    if username == who.username:
        raise HTTPException(status.HTTP_409_CONFLICT, "an admin cannot disable themselves")
    user = await _seen_user(services, who, username)
    accounts = services.auth.accounts
    await services.store.query(accounts.disable_user, username, services.clock_ms())
    await audit(services, "user.disable", username, who=who, org_id=user.org_id, client=client_of(request))
    changed = await services.store.query(accounts.user, username)
    assert changed is not None
    return json_response(user_public(changed))


@router.put(
    "/users/{username}/password", status_code=204, summary="Set a user's password (admin)",
    responses=errors(401, 403, 404, 422),
)  # fmt: skip
async def set_password(
    username: Username, body: PasswordIn, request: Request, services: ServicesDep, who: Admin
) -> Response:
    user = await _seen_user(services, who, username)
    try:
        hashed = passwords.hash_password(body.password)
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    await services.store.query(services.auth.accounts.set_password, username, hashed)
    await audit(services, "user.password", username, who=who, org_id=user.org_id, client=client_of(request))
    return Response(status_code=204)


@router.get(
    "/lockouts", response_model=LockoutList, summary="Locked usernames and addresses (admin)",
    responses=errors(401, 403),
)  # fmt: skip
async def lockouts(services: ServicesDep, who: Admin) -> Response:
    found = await services.store.query(services.auth.accounts.locked, services.clock_ms())
    if who.orgs is not None:  # an enterprise admin sees its own users' lockouts only
        mine = {u.username for u in await services.store.query(services.auth.accounts.users)
                if sees(who.orgs, u.org_id)}  # fmt: skip
        found = [f for f in found if f.subject.removeprefix("user:") in mine]
    return listing(found)


@router.delete(
    "/lockouts/{subject}", status_code=204, summary="Lift a lockout (admin)", responses=errors(401, 403, 404)
)
async def lift(
    subject: Annotated[str, Path(pattern=r"^(user|client):[^\x00/]{1,128}$")],
    request: Request,
    services: ServicesDep,
    who: Admin,
) -> Response:
    kind, _, name = subject.partition(":")
    org_id = None
    if kind == "user":
        found = await services.store.query(services.auth.accounts.user, name)
        if found is not None and not sees(who.orgs, found.org_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lockout {subject}")
        org_id = found.org_id if found is not None else None
    elif who.orgs is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lockout {subject}")
    if not await services.store.query(services.auth.accounts.clear_failures, subject):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lockout {subject}")
    await audit(services, "lockout.lift", subject, who=who, org_id=org_id, client=client_of(request))
    return Response(status_code=204)
