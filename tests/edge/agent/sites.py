"""Site files and outboxes for the agent's and the pipeline's tests: a Modbus TCP bus and an uplink, on loopback
ports."""

from __future__ import annotations

from pathlib import Path

from edge.agent import channel_metas, outbox_path, site_meta
from edge.outbox import Outbox
from edge.siteconfig import load_site
from protocols.config import BoundSite
from tests.support import sites as support_sites
from tests.support.ports import free_port

POINTS = 3
T0_MS = 1_764_370_000_000


def write_site(
    folder: Path, *, modbus_port: int, uplink: str, outbox: str = "outbox.db", heartbeat_s: int = 1
) -> Path:
    rule = "rules: [{type: level, name: high, levels: {yellow: 100, red: 200}}]"
    points = "\n".join(f"  - {{name: r{i}, address: {i}, type: uint16, {rule}}}" for i in range(POINTS))
    profile = "model: agent_block\npoll_interval_ms: 100\nprotocol: modbus\npoints:\n" + points + "\n"
    bus = (
        f"  - {{name: tcp1, type: tcp, host: 127.0.0.1, port: {modbus_port}, timeout_ms: 200,\n"
        "     offline_after_failures: 2, offline_retry_s: 0.5, devices: [{id: dev1, profile: agent_block}]}\n"
    )
    return support_sites.write_site(
        folder, bus, {"agent_block": profile},
        gateway=f"{{id: gw-agent, heartbeat_interval_s: {heartbeat_s}}}",
        site="{id: agent, name: agent test, type: other, latitude_deg: 30, longitude_deg: 117}",
        uplink=uplink, forwarding="{send_interval_ms: 100, retry_max_s: 0.2}",
        outbox=f"{{path: {outbox}, commit_interval_ms: 20}}",
    )  # fmt: skip


def bound_site(folder: Path) -> BoundSite:
    return load_site(
        write_site(folder, modbus_port=free_port(), uplink='{type: http, url: "http://127.0.0.1:9"}')
    )


def open_outbox(site: BoundSite) -> Outbox:
    return Outbox.open(
        outbox_path(site), site.site.outbox, channels=channel_metas(site), site=site_meta(site)
    )
