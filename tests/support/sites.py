"""Site files for the edge's tests: profiles written beside a ``site.yaml``.

``write_site(folder, buses, profiles=..., **sections)`` writes each profile as
``<profiles_dir>/<name>.yaml`` and a site file whose top-level sections default to a gateway, a site and an
HTTP uplink nobody listens on; a keyword (``uplink=``, ``forwarding=``, ``outbox=`` ...) gives a section
as YAML flow text. ``buses`` is the body of the ``buses:`` list, indented as the caller wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

DEFAULT_SECTIONS = {
    "gateway": "{id: gw}",
    "site": "{id: s, name: test site, type: other, latitude_deg: 30.0, longitude_deg: 117.0}",
    "uplink": '{type: http, url: "http://127.0.0.1:9/"}',
}


def write_site(
    folder: Path,
    buses: str,
    profiles: Mapping[str, str] | None = None,
    *,
    profiles_dir: str = ".",
    **sections: str,
) -> Path:
    where = folder / profiles_dir
    where.mkdir(parents=True, exist_ok=True)
    for name, text in (profiles or {}).items():
        (where / f"{name}.yaml").write_text(text)
    head = "".join(f"{key}: {value}\n" for key, value in {**DEFAULT_SECTIONS, **sections}.items())
    site = folder / "site.yaml"
    site.write_text(f'{head}profiles_dirs: ["{profiles_dir}"]\nbuses:\n{buses.lstrip(chr(10))}')
    return site
