"""``fieldwatch-edge run --drain-s``: a planned stop delivers the outbox before the process ends.

The edge polls a dead Modbus port (COMM_ERROR readings, an offline event) while its central is down, so
its outbox fills. SIGTERM comes, and only then the central starts: the edge stops polling, delivers
everything it holds, and exits 0 with an empty outbox; the central holds every seq once.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.e2e import processes as p
from tests.edge.agent.sites import write_site
from tests.support.ports import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


def held(outbox: Path) -> int:
    return int(
        p.query(
            outbox,
            "SELECT (SELECT coalesce(sum(rows), 0) FROM reading_blocks) + (SELECT count(*) FROM events)",
        )[0][0]
    )


def test_sigterm_with_a_drain_time_delivers_the_outbox_then_exits(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "central.db"
    token = p.gateway_token(db, "gw-agent")
    site = write_site(
        tmp_path,
        modbus_port=free_port(),
        uplink=f'{{type: http, url: "http://127.0.0.1:{port}", timeout_s: 1}}',
    )
    outbox = tmp_path / "outbox.db"
    edge = p.Service(
        "edge", [*p.EDGE, "-v", "run", str(site), "--drain-s", "60"], tmp_path,
        env={"FIELDWATCH_TOKEN": token}, ready=lambda: int(p.outbox_meta(outbox).get("boots", 0)) >= 1,
    )  # fmt: skip
    central = p.central(tmp_path, db, port)
    edge.start()
    try:
        wait_for(lambda: held(outbox) >= 20, 30, "readings in the outbox while the central is down")
        assert edge.proc is not None
        edge.proc.send_signal(signal.SIGTERM)
        central.start()
        assert edge.proc.wait(timeout=60) == 0, edge.log_tail()
        assert held(outbox) == 0, "the drain left rows behind"
        produced = int(p.outbox_meta(outbox)["next_seq"]) - 1
        readings = [s for (s,) in p.query(db, "SELECT seq FROM readings")]
        events = [
            s for (s,) in p.query(db, "SELECT event_seq FROM alarm_timeline WHERE event_seq IS NOT NULL")
        ]
        assert sorted(readings + events) == list(range(1, produced + 1))
        assert "outbox drained" in edge.log_tail()
    finally:
        edge.kill()
        if central.proc is not None:
            assert central.stop() == 0, "a SIGTERM stop of the central exits 0 (systemd: not 'killed')"
