"""``fieldwatch-edge poll`` and ``probe`` against pymodbus servers run by the simulator in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.cli import main
from simulator.rs485wire import Rs485Wire, WireSettings
from tests.edge.acquisition.conftest import write_site


class Slaves:
    """``python -m simulator.modbus_slaves``: holding register i of unit u holds u * 1000 + i."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "simulator.modbus_slaves", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        assert self.proc.stdout is not None
        self.lines: list[str] = []
        for _ in range(20):
            line = self.proc.stdout.readline()
            self.lines.append(line)
            if line.startswith("listening") or not line:
                break
        assert self.lines[-1].startswith("listening"), self.proc.stderr.read() if self.proc.stderr else ""

    def port(self) -> int:
        return int(self.lines[0].split()[1].rpartition(":")[2])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=10)


@pytest.fixture(scope="module")
def tcp_slaves() -> Iterator[Slaves]:
    slaves = Slaves("tcp", "--port", "0", "--units", "1,2", "--registers", "20")
    yield slaves
    slaves.stop()


def test_poll_prints_json_lines_and_the_statistics(tmp_path: Path, tcp_slaves: Slaves,
                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    site = write_site(tmp_path, f"""
  - name: tcp
    type: tcp
    host: 127.0.0.1
    port: {tcp_slaves.port()}
    timeout_ms: 200
    devices:
      - {{id: one, profile: test_block, unit_id: 1}}
      - {{id: ghost, profile: test_block, unit_id: 3}}
""")  # fmt: skip
    assert main(["poll", str(site), "--duration-s", "1.5", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    readings = [r for r in lines if "channel" in r]
    r3 = [r for r in readings if r["channel"] == "gw/one/r3"]
    assert r3 and r3[0]["value"] == 1003 and r3[0]["quality_text"] in ("good", "clock_unsync")
    ghost = [r for r in readings if r["channel"].startswith("gw/ghost/")]
    assert ghost and all(r["value"] is None and "comm_error" in r["quality_text"] for r in ghost)
    events = [r["event"] for r in lines if "event" in r]
    assert [(e["channel"], e["level"]) for e in events] == [("gw/ghost/_device", 2)]
    stats = lines[-1]["statistics"]["tcp"]
    assert stats["devices"]["one"]["good"] >= 10 and stats["devices"]["ghost"]["timeouts"] >= 3


def test_poll_text_output_ends_with_a_statistics_table(tmp_path: Path, tcp_slaves: Slaves,
                                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    site = write_site(tmp_path, f"""
  - {{name: tcp, type: tcp, host: 127.0.0.1, port: {tcp_slaves.port()}, devices: [{{id: two, profile: test_block, unit_id: 2}}]}}
""")  # fmt: skip
    assert main(["poll", str(site), "--duration-s", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "  gw/two/r9  2009  " in out  # no unit: value, two spaces, quality
    table = out[out.index("\nstatistics") :].strip().splitlines()
    assert table[2].startswith("tcp ") and "skipped slots 0" in table[2]
    assert table[3].startswith("  two ") and table[3].rstrip().endswith("online")


def test_probe_prints_every_point_with_its_raw_registers(tcp_slaves: Slaves,
                                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    profile = Path(__file__).parent / "probe_typed.yaml"
    code = main(
        ["probe", "--profile", str(profile), "--tcp", f"127.0.0.1:{tcp_slaves.port()}", "--unit", "2"]
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == f"probe_typed at 127.0.0.1:{tcp_slaves.port()} unit 2"
    rows = {line.split()[0]: line for line in out[2:]}
    assert rows["code"].split()[1:] == ["2000", "count", "good", "0x07D0"]
    assert rows["pair"].split()[1:] == [str(2001 * 65536 + 2002), "good", "0x07D1", "0x07D2"]
    assert rows["label"].split()[1:] == ["-", "bad_frame", "0x07D3", "0x07D4"]  # not ASCII text


def test_probe_json_and_failures(tcp_slaves: Slaves, capsys: pytest.CaptureFixture[str]) -> None:
    profile = Path(__file__).parent / "probe_typed.yaml"
    code = main(["probe", "--profile", str(profile), "--tcp", f"127.0.0.1:{tcp_slaves.port()}", "--unit", "7",
                 "--timeout-ms", "200", "--json"])  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert document["unit"] == 7
    assert {p["quality_text"] for p in document["points"]} == {"comm_error (timeout)"}
    assert all(p["value"] is None and p["raw"] == "" for p in document["points"])


def test_probe_refuses_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--profile", "gnss_nmea_rtk", "--tcp", "127.0.0.1:502"]) == 2
    assert "speaks nmea" in capsys.readouterr().err
    assert main(["probe", "--profile", "gas_lel_catalytic", "--tcp", "no-port"]) == 2
    assert "HOST:PORT" in capsys.readouterr().err
    assert main(["probe", "--profile", "no_such_profile", "--tcp", "127.0.0.1:502"]) == 2


def test_probe_over_rtu_through_the_wire(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = WireSettings(baud=19200, bits_per_char=11, turnaround_s=0.002)
    with Rs485Wire(tmp_path / "bus", settings) as wire:
        slaves = Slaves("rtu", "--serial", wire.device_path, "--baud", "19200", "--framing", "8E1",
                        "--units", "4", "--registers", "20")  # fmt: skip
        try:
            code = main(["probe", "--profile", str(Path(__file__).parent / "probe_typed.yaml"), "--serial",
                         wire.master_path, "--baud", "19200", "--parity", "E", "--unit", "4"])  # fmt: skip
        finally:
            slaves.stop()
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].endswith("19200 8E1 unit 4")
    assert [line.split()[1] for line in out[2:] if line.startswith("code ")] == ["4000"]
