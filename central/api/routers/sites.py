"""Sites with their worst active level (hazards apart from faults: ``central.store.site_faults``), the
map layer (GeoJSON), and the admin's site editor.

Sites are registered by the gateways' batches (the site file's ``site`` section): a gateway may create a
site, and update the one it belongs to, but never another gateway's. An admin may create one before its
gateway reports, correct one, and list the gateways that may report for it; what an admin set wins over
what gateways send from then on.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response, status

from central import localtime
from central.accounts.audit import audit
from central.accounts.orgs import sees
from central.api.deps import Admin, Reader, ScopeDep, ServicesDep, StoreDep
from central.api.responses import errors, json_response, listing
from central.api.routers.session import client_of
from central.api.schemas import IDENT, FeatureCollection, SiteIn, SiteList, SiteOut
from central.api.scoping import not_found_unless, sees_gateway, sees_site
from protocols.wire import SiteMeta

router = APIRouter(prefix="/api/v1", tags=["sites"])


@router.get(
    "/sites", response_model=SiteList, summary="Sites and their worst open level", responses=errors(401, 403)
)
async def sites(store: StoreDep, _: Reader, scope: ScopeDep) -> Response:
    return listing([s for s in await store.query(store.sites) if sees_site(scope, s.id)])


@router.put(
    "/sites/{site_id}",
    response_model=SiteOut,
    summary="Create or correct a site (admin)",
    responses=errors(400, 401, 403, 404, 422),
)
async def put_site(
    site_id: Annotated[str, Path(pattern=IDENT)],
    body: SiteIn,
    request: Request,
    services: ServicesDep,
    who: Admin,
) -> Response:
    store, accounts = services.store, services.auth.accounts
    current = await store.query(accounts.site_org, site_id)
    not_found_unless(current is None or sees(who.orgs, current), f"site {site_id}")
    org = body.org or (current if current is not None else who.org_id)
    not_found_unless(org in await services.auth.tree() and sees(who.orgs, org), f"organization {org}")
    if who.orgs is not None:  # an enterprise lists only gateways it sees already
        scope = await store.query(accounts.visible, who.orgs)
        for gateway in body.gateways or ():
            not_found_unless(gateway in scope.gateways, f"gateway {gateway}")
    if body.time_zone is not None:
        try:
            localtime.zone(body.time_zone)
        except localtime.UnknownZoneError as e:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(e)) from None
    meta = SiteMeta(
        site_id, body.name, body.type, body.latitude_deg, body.longitude_deg,
        contact_person=body.contact_person, contact_phone=body.contact_phone, time_zone=body.time_zone,
    )  # fmt: skip
    gateways = None if body.gateways is None else tuple(body.gateways)
    site = await store.query(store.put_site, meta, services.clock_ms(), gateways)
    if org != current:
        await store.query(accounts.assign_site, site_id, org)
    await audit(services, "site.put", site_id, who=who, org_id=org, client=client_of(request),
                detail={"name": body.name, "org_id": org, "gateways": body.gateways})  # fmt: skip
    return json_response(site)


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


@router.get(
    "/map",
    response_model=FeatureCollection,
    summary="The one map: sites and located devices as GeoJSON, coloured by their worst open level",
    responses=errors(401, 403),
)
async def map_layer(store: StoreDep, _: Reader, scope: ScopeDep) -> Response:
    features: list[dict[str, Any]] = []
    for s in await store.query(store.sites):
        if s.latitude_deg is None or s.longitude_deg is None or not sees_site(scope, s.id):
            continue
        features.append({
            "type": "Feature", "id": f"site:{s.id}", "geometry": _point(s.latitude_deg, s.longitude_deg),
            "properties": {"kind": "site", "name": s.name, "type": s.type, "worst_level": s.worst_level,
                           "worst_hazard_level": s.worst_hazard_level, "faults": s.faults, "blind": s.blind,
                           "open_alarms": s.open_alarms, "gateways": s.gateways},
        })  # fmt: skip
    for d in await store.query(store.device_locations):
        if not sees_gateway(scope, d.gateway_id):
            continue
        features.append({
            "type": "Feature", "id": f"device:{d.gateway_id}/{d.device}",
            "geometry": _point(d.latitude_deg, d.longitude_deg),
            "properties": {"kind": "device", "gateway_id": d.gateway_id, "device": d.device,
                           "site_id": d.site_id, "worst_level": d.worst_level,
                           "worst_hazard_level": d.worst_hazard_level,
                           "worst_fault_level": d.worst_fault_level},
        })  # fmt: skip
    return json_response({"type": "FeatureCollection", "features": features})
