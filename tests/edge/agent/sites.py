"""Site files for the agent's tests: a Modbus TCP bus and an uplink, on loopback ports."""

from __future__ import annotations

from pathlib import Path

from tests.support import sites as support_sites

POINTS = 3


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
