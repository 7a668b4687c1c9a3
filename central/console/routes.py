"""The console's routes, added beside the API by ``mount(app, settings)``.

- ``GET /``: the page (``static/index.html``);
- ``/console/...``: its assets, gzipped on the wire, revalidated on every load (``no-cache`` with an ETag,
  so an upgraded central never leaves an old script in a browser);
- ``GET /console/config.json``: what the page needs before it can ask the API anything (time zone, tile
  URL, whether boundary outlines exist), and ``GET /console/boundaries.geojson`` when they do;
- ``GET /docs``: Swagger UI from the vendored ``swagger-ui-dist``, so it works on an isolated network.

None of these need a token: they carry no data, only the page. Nothing here is in ``/openapi.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import PathLike
from starlette.types import Scope

from central.settings import Settings, SettingsError

STATIC = Path(__file__).resolve().parent / "static"
SWAGGER = "/console/vendor/swagger-ui"
GEOJSON_TYPES = frozenset({
    "FeatureCollection", "Feature", "GeometryCollection", "Polygon", "MultiPolygon", "LineString",
    "MultiLineString",
})  # fmt: skip
NO_CACHE = {"Cache-Control": "no-cache"}


class Assets(StaticFiles):
    """Static files that the browser revalidates on every load (a 304 costs a round trip on a LAN)."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(NO_CACHE)
        return response


def page_config(settings: Settings, has_boundaries: bool) -> dict[str, Any]:
    """What the page reads first: ``docs/console.md`` lists the fields."""
    return {
        "time_zone": settings.time_zone,
        "map_tiles": settings.map_tiles,
        "boundaries": has_boundaries,
        "login": ["token"],  # the accounts issue adds "password" (POST /api/v1/session)
    }


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
    boundaries = read_boundaries(settings.map_boundaries)
    config = orjson.dumps(page_config(settings, boundaries is not None))

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=NO_CACHE)

    @app.get("/console/config.json", include_in_schema=False)
    async def page_settings() -> Response:
        return Response(config, media_type="application/json", headers=NO_CACHE)

    if boundaries is not None:

        @app.get("/console/boundaries.geojson", include_in_schema=False)
        async def outlines() -> Response:
            return Response(boundaries, media_type="application/geo+json", headers=NO_CACHE)

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

    app.mount("/console", GZipMiddleware(Assets(directory=STATIC), minimum_size=1024), name="console")
