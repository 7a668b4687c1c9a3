"""Sites with their worst active level (hazards apart from faults: ``central.store.site_faults``), the
map layer (GeoJSON), and the admin's site editor.

Sites are registered by the gateways' batches (the site file's ``site`` section): a gateway may create a
site, and update the one it belongs to, but never another gateway's. An admin may create one before its
gateway reports, correct one, and list the gateways that may report for it; what an admin set wins over
what gateways send from then on.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status

from central import localtime
from central.api.deps import Admin, Reader, ServicesDep, StoreDep
from central.api.responses import errors, json_response, listing
from central.api.schemas import IDENT, FeatureCollection, SiteIn, SiteList, SiteOut
from protocols.wire import SiteMeta

router = APIRouter(prefix="/api/v1", tags=["sites"])


@router.get(
    "/sites", response_model=SiteList, summary="Sites and their worst open level", responses=errors(401, 403)
)
async def sites(store: StoreDep, _: Reader) -> Response:
    return listing(await store.query(store.sites))


@router.put(
    "/sites/{site_id}",
    response_model=SiteOut,
    summary="Create or correct a site (admin)",
    responses=errors(400, 401, 403, 422),
)
async def put_site(
    site_id: Annotated[str, Path(pattern=IDENT)], body: SiteIn, services: ServicesDep, _: Admin
) -> Response:
    store = services.store
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
    return json_response(await store.query(store.put_site, meta, services.clock_ms(), gateways))


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


@router.get(
    "/map",
    response_model=FeatureCollection,
    summary="The one map: sites and located devices as GeoJSON, coloured by their worst open level",
    responses=errors(401, 403),
)
async def map_layer(store: StoreDep, _: Reader) -> Response:
    features: list[dict[str, Any]] = []
    for s in await store.query(store.sites):
        if s.latitude_deg is None or s.longitude_deg is None:
            continue
        features.append({
            "type": "Feature", "id": f"site:{s.id}", "geometry": _point(s.latitude_deg, s.longitude_deg),
            "properties": {"kind": "site", "name": s.name, "type": s.type, "worst_level": s.worst_level,
                           "worst_hazard_level": s.worst_hazard_level, "faults": s.faults, "blind": s.blind,
                           "open_alarms": s.open_alarms, "gateways": s.gateways},
        })  # fmt: skip
    for d in await store.query(store.device_locations):
        features.append({
            "type": "Feature", "id": f"device:{d.gateway_id}/{d.device}",
            "geometry": _point(d.latitude_deg, d.longitude_deg),
            "properties": {"kind": "device", "gateway_id": d.gateway_id, "device": d.device,
                           "site_id": d.site_id, "worst_level": d.worst_level,
                           "worst_hazard_level": d.worst_hazard_level,
                           "worst_fault_level": d.worst_fault_level},
        })  # fmt: skip
    return json_response({"type": "FeatureCollection", "features": features})
