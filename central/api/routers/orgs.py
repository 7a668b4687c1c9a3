"""Organizations: the county bureau at the top, enterprises under it. A caller sees its own subtree;
an admin creates organizations under one it sees."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from central.accounts.audit import audit
from central.accounts.orgs import check_new_org, sees
from central.api.account_schemas import OrgIn, OrgList, OrgOut
from central.api.deps import Admin, Reader, ServicesDep
from central.api.responses import errors, json_response, listing
from central.api.routers.session import client_of
from central.store.account_records import Org

router = APIRouter(prefix="/api/v1/orgs", tags=["accounts"])


@router.get("", response_model=OrgList, summary="Organizations the caller sees", responses=errors(401, 403))
async def orgs(services: ServicesDep, who: Reader) -> Response:
    found = await services.store.query(services.auth.accounts.orgs)
    return listing([o for o in found if sees(who.orgs, o.id)])


@router.post(
    "", response_model=OrgOut, status_code=201, summary="Create an organization (admin)",
    responses=errors(401, 403, 404, 422),
)  # fmt: skip
async def create(body: OrgIn, request: Request, services: ServicesDep, who: Admin) -> Response:
    if not sees(who.orgs, body.parent_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no organization {body.parent_id}")
    services.auth.forget_orgs()
    tree = await services.auth.tree()
    try:
        check_new_org(tree, body.id, body.parent_id)
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    org = Org(body.id, body.name, body.parent_id, services.clock_ms())
    await services.store.query(services.auth.accounts.add_org, org)
    services.auth.forget_orgs()
    await audit(services, "org.create", org.id, who=who, client=client_of(request),
                detail={"name": org.name, "parent_id": org.parent_id})  # fmt: skip
    return json_response(org, status_code=201)
