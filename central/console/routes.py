"""The console's routes, added beside the API by ``mount(app, settings)``.

- ``GET /``: the page (``static/index.html``);
- ``GET /console/{path}``: its assets (``static/``), from memory, gzipped, revalidated (``assets.py``);
- ``GET /console/config.json``: what the page needs before it can ask the API anything (time zone, tile
  URL, whether boundary outlines exist, how to log in), and ``GET /console/boundaries.geojson`` when the
  outlines are set;
- ``GET /docs``: Swagger UI from the vendored ``swagger-ui-dist``, so it works on an isolated network.

None of these need a token: they carry no data, only the page. Nothing here is in ``/openapi.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, HTTPException, Request, Response, status
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from central.console.assets import Asset, load_assets
from central.settings import Settings, SettingsError
from protocols.quality import NO_VALUE, Quality

STATIC = Path(__file__).resolve().parent / "static"
SWAGGER = "/console/vendor/swagger-ui"
GEOJSON_TYPES = frozenset({
    "FeatureCollection", "Feature", "GeometryCollection", "Polygon", "MultiPolygon", "LineString",
    "MultiLineString",
})  # fmt: skip


def page_config(settings: Settings, has_boundaries: bool) -> dict[str, Any]:
    """What the page reads first: ``docs/console.md`` lists the fields."""
    return {
        "time_zone": settings.time_zone,
        "map_tiles": settings.map_tiles,
        "boundaries": has_boundaries,
        "login": ["password", "token"],  # a user name and password (POST /api/v1/session), or a token
        "quality": quality_flags(),
    }


def quality_flags() -> dict[str, Any]:
    """The quality bits as ``protocols.quality`` defines them, so the page never keeps its own copy."""
    names = {flag.value.bit_length() - 1: str(flag.name).lower() for flag in Quality}
    return {"flags": [names.get(bit, "") for bit in range(max(names) + 1)], "no_value": int(NO_VALUE)}


def read_boundaries(path: Path | None) -> bytes | None:
    """The outlines file's bytes, checked to be GeoJSON; ``SettingsError`` naming the variable if not."""
    if path is None:
        return None
    body = path.read_bytes()
    try:
        kind = orjson.loads(body).get("type")
    except (orjson.JSONDecodeError, AttributeError):
        kind = None
    if kind not in GEOJSON_TYPES:
        raise SettingsError(
            f"FIELDWATCH_MAP_BOUNDARIES: {path}: expected GeoJSON outlines "
            f"(a FeatureCollection, Feature or line/polygon geometry; got type {kind!r})"
        )
    return body


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the page, its assets, its config and the offline ``/docs`` to ``app``."""
    assets = dict(load_assets(STATIC))
    boundaries = read_boundaries(settings.map_boundaries)
    assets["config.json"] = Asset.of(orjson.dumps(page_config(settings, boundaries is not None)), ".json")
    if boundaries is not None:
        assets["boundaries.geojson"] = Asset.of(boundaries, ".geojson")

    @app.get("/", include_in_schema=False)
    async def page(request: Request) -> Response:
        return assets["index.html"].response(request)

    @app.get("/console/{path:path}", include_in_schema=False)
    async def asset(path: str, request: Request) -> Response:
        found = assets.get(path)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no console file {path}")
        return found.response(request)

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API",
            swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
        )
