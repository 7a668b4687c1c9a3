"""``GET /api/v1/audit``: who did what, newest first (admins; their organization's subtree). Read-only:
no route changes or deletes an entry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from central.api.account_schemas import AuditList
from central.api.deps import Admin, ServicesDep
from central.api.responses import errors, json_response
from central.api.schemas import MAX_MS
from central.store.account_records import AuditFilter

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/audit", response_model=AuditList, summary="The audit log (admin)", responses=errors(401, 403))
async def audit_log(
    *,
    services: ServicesDep,
    who: Admin,
    since_ms: Annotated[int | None, Query(ge=0, le=MAX_MS)] = None,
    until_ms: Annotated[int | None, Query(ge=0, le=MAX_MS)] = None,
    actor: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    kind: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z._]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    where = AuditFilter(who.orgs, since_ms, until_ms, actor, kind, limit, offset)
    entries, count = await services.store.query(services.auth.accounts.audit, where)
    return json_response({"data": entries, "count": count, "limit": limit, "offset": offset})
