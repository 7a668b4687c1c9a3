"""The console's files and routes, without a browser: what is served and how, the vendored libraries'
licences, the translations, and an upper bound of the page's weight."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest

from central.api.alarm_schemas import TimelineEntryOut
from central.app import create_app
from central.console.routes import STATIC, quality_flags
from central.settings import SettingsError, load_settings
from central.store.base import Store
from protocols.quality import Quality
from tests.central.client import TestClient

VENDOR = STATIC / "vendor"
BUDGET_BYTES = 500 * 1024
LAZY = ("vendor/swagger-ui/", "vendor/uplot/uPlot.esm.js")  # /docs only; charts only


@pytest.fixture
def client(sqlite_store: Store, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings({}, database=f"sqlite:///{tmp_path}/unused.db")
    with TestClient(create_app(settings, store=sqlite_store)) as c:
        yield c


def test_the_page_is_served_at_the_root_and_revalidated(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert 'type="module" src="console/js/main.js"' in page.text
    script = client.get("/console/js/main.js", headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200 and script.headers["content-encoding"] == "gzip"
    assert script.headers["cache-control"] == "no-cache"
    again = client.get("/console/js/main.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/console/js/nope.js").status_code == 404
    assert client.get("/console/../settings.py").status_code == 404


def test_the_page_config_says_zone_tiles_outlines_and_login(client: TestClient) -> None:
    r = client.get("/console/config.json")
    assert r.json() == {
        "time_zone": "Asia/Shanghai",
        "map_tiles": None,
        "boundaries": False,
        "login": ["password", "token"],
        "quality": quality_flags(),
    }
    assert client.get("/console/boundaries.geojson").status_code == 404


def test_docs_load_swagger_ui_from_the_central_itself(client: TestClient) -> None:
    html = client.get("/docs").text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert urls and all(u.startswith("/") for u in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert '"validatorUrl": null' in html
    assert client.get("/redoc").status_code == 404  # it needed a CDN
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/api/", "/healthz", "/metrics"))]


def test_outlines_are_served_when_set_and_refused_at_start_when_not_geojson(
    sqlite_store: Store, tmp_path: Path
) -> None:
    outline = Path(__file__).with_name("county-outline.geojson")
    settings = load_settings(
        {"FIELDWATCH_MAP_BOUNDARIES": str(outline)}, database=f"sqlite:///{tmp_path}/x.db"
    )
    with TestClient(create_app(settings, store=sqlite_store)) as c:
        assert c.get("/console/config.json").json()["boundaries"] is True
        assert c.get("/console/boundaries.geojson").json()["type"] == "FeatureCollection"
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "Point", "coordinates": [1, 2]}')
    settings = load_settings({"FIELDWATCH_MAP_BOUNDARIES": str(bad)}, database=f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(SettingsError, match=r"FIELDWATCH_MAP_BOUNDARIES: .*bad.geojson: expected GeoJSON"):
        create_app(settings, store=sqlite_store)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FIELDWATCH_TIME_ZONE": "Beijing"}, "FIELDWATCH_TIME_ZONE: expected an IANA time zone name"),
        (
            {"FIELDWATCH_MAP_TILES": "http://tiles.county/{z}.png"},
            "FIELDWATCH_MAP_TILES: expected a tile URL",
        ),
        ({"FIELDWATCH_MAP_BOUNDARIES": "/no/such.geojson"}, "FIELDWATCH_MAP_BOUNDARIES: no such file"),
    ],
)
def test_console_settings_are_checked_at_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(env)


def test_every_vendored_library_has_its_licence_and_its_row() -> None:
    readme = (VENDOR / "README.md").read_text()
    folders = [p for p in VENDOR.iterdir() if p.is_dir()]
    assert len(folders) == 5
    for folder in folders:
        assert (folder / "LICENSE").stat().st_size > 500, folder.name
        assert f"| `{folder.name}/` |" in readme, folder.name


def translations() -> dict[str, dict[str, str]]:
    return {p.stem: json.loads(p.read_text()) for p in (STATIC / "i18n").glob("*.json")}


def test_both_languages_say_everything() -> None:
    langs = translations()
    assert set(langs) == {"zh", "en"}
    assert set(langs["zh"]) == set(langs["en"])
    assert all(text.strip() for lang in langs.values() for text in lang.values())
    zh = langs["zh"]
    assert [zh[f"level.{n}"] for n in (1, 2, 3, 4)] == ["蓝色预警", "黄色预警", "橙色预警", "红色预警"]


def test_every_key_the_page_uses_is_translated() -> None:
    keys = set(translations()["zh"])
    source = "\n".join(p.read_text() for p in (STATIC / "js").glob("*.js"))
    used = set(re.findall(r"\bt\('([a-z_]+\.[a-z_0-9]+)'", source))
    used |= set(re.findall(r"new Error\('([a-z_]+\.[a-z_]+)'\)", source))  # messages shown with t()
    assert used and not used - keys, sorted(used - keys)
    # names the API sends that the page translates by prefix
    kinds = get_args(TimelineEntryOut.model_fields["kind"].annotation)
    flags = [(f.name or "").lower() for f in Quality if f]
    by_prefix = (
        [f"kind.{k}" for k in kinds] + [f"quality.{f}" for f in flags] + [f"level.{n}" for n in range(5)]
    )
    by_prefix += [f"status.{s}" for s in ("open", "acknowledged", "cleared", "closed")]
    by_prefix += [f"gateway.{s}" for s in ("online", "silent")]
    assert not set(by_prefix) - keys, sorted(set(by_prefix) - keys)


def test_the_page_weighs_less_than_its_budget_even_all_at_once() -> None:
    """An upper bound without a browser: every file the page may load on its first screen, gzipped
    (test_pages measures what the browser actually fetches)."""
    files = [
        p
        for p in STATIC.rglob("*")
        if p.is_file() and not any(p.relative_to(STATIC).as_posix().startswith(lazy) for lazy in LAZY)
    ]
    total = sum(len(gzip.compress(p.read_bytes(), 6)) for p in files)
    assert 50 * 1024 < total < BUDGET_BYTES, total


def test_the_page_preloads_every_module_of_its_first_screen() -> None:
    """The browser then fetches them all at once instead of discovering them import by import."""
    index = (STATIC / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="console/([^"]+)">', index))
    modules = {p.relative_to(STATIC).as_posix() for p in (STATIC / "js").glob("*.js")}
    assert modules <= preloaded, sorted(modules - preloaded)
    assert all((STATIC / p).is_file() for p in preloaded)
    imports = json.loads(re.search(r'<script type="importmap">(.*?)</script>', index, re.S).group(1))  # type: ignore[union-attr]
    assert all((STATIC / u.removeprefix("./console/")).is_file() for u in imports["imports"].values())


def test_the_page_reads_the_quality_bits_from_the_central() -> None:
    served = quality_flags()
    for flag in Quality:
        assert served["flags"][flag.value.bit_length() - 1] == (flag.name or "").lower()
    assert served["no_value"] & Quality.NOT_AVAILABLE and not served["no_value"] & Quality.DEGRADED
    assert "FLAGS = [" not in (STATIC / "js" / "quality.js").read_text().replace("let FLAGS = [];", "")
