"""``fieldwatch-edge poll`` and ``probe`` against pymodbus servers run by the simulator in a subprocess."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.cli import main
from simulator.rs485wire import Rs485Wire, WireSettings
from tests.edge.acquisition.conftest import write_site

pytestmark = pytest.mark.slow  # pymodbus servers in processes of their own, shared by the module's tests


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


DOCS_PROFILE = Path(__file__).resolve().parents[3] / "docs" / "profiles" / "gas_level_monitor.yaml"
MONITOR = [  # the example device of docs/acquisition.md: level high word first, the rest low word first
    "--set", "1:holding:0=0,0x4148,0,0,0x7FFF,2,0x3039,0", "--set", "1:holding:16=0x4050,0",
    "--set", "1:holding:26=0,0x3FC0", "--set", "1:holding:34=0,0x3F40",
    "--set", "1:holding:100=0x474C,0x4D2D,0x3400,0,0x322E,0x312E,0x3700,0",
]  # fmt: skip


@pytest.fixture(scope="module")
def monitor() -> Iterator[Slaves]:
    """The gas-and-level monitor, refusing reads of more than 32 registers with exception 3."""
    slaves = Slaves("tcp", "--port", "0", "--units", "1", "--registers", "120", "--max-read", "32", *MONITOR)
    yield slaves
    slaves.stop()


def test_probe_names_a_silent_unit_once(monitor: Slaves, capsys: pytest.CaptureFixture[str]) -> None:
    where = f"127.0.0.1:{monitor.port()}"
    code = main(
        ["probe", "--profile", str(DOCS_PROFILE), "--tcp", where, "--unit", "5", "--timeout-ms", "300"]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert out.count("hint:") == 1
    assert out.rstrip().endswith(
        f"hint: no answer from unit 5 at {where} within 300 ms: check the unit id (`--unit`), the address "
        "and, for RTU, the baud rate and parity (`--baud`, `--parity`)"
    )


def test_probe_explains_an_exception_3_to_a_merged_read(
    monitor: Slaves, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The profile as first written, without the device's 32-register limit: one read of 36 registers."""
    draft = tmp_path / "gas_level_monitor.yaml"
    draft.write_text(DOCS_PROFILE.read_text().replace("  max_registers_per_read: 32\n", ""))
    code = main(["probe", "--profile", str(draft), "--tcp", f"127.0.0.1:{monitor.port()}", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0  # an exception is an answer: the wiring works
    assert document["hints"] == [
        "the read of 36 registers from holding 0 answered exception 3 (illegal data value): devices answer "
        "this to a read longer than they support; set modbus.max_registers_per_read below 36 in profile "
        "gas_level_monitor (now 125; the datasheet gives the limit)"
    ]
    gas = next(p for p in document["points"] if p["point"] == "gas_1")
    assert gas["quality_text"] == "device_exception(3)"


def test_probe_word_orders_mark_the_plausible_order(
    monitor: Slaves, capsys: pytest.CaptureFixture[str]
) -> None:
    draft_order = [
        "probe",
        "--profile",
        str(DOCS_PROFILE),
        "--tcp",
        f"127.0.0.1:{monitor.port()}",
        "--word-orders",
    ]
    assert main([*draft_order, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    by_point = {r["point"]: r for r in document["word_orders"]}
    assert set(by_point) == {"gas_1", "gas_2", "running_hours", "level", "inflow", "outflow"}
    level = by_point["level"]["orders"]
    assert level["ABCD"] == {"value": 3.25, "plausible": True}
    assert level["CDAB"]["value"] == pytest.approx(2.307e-41, rel=1e-3)  # in range, but a denormal
    assert [o for o, d in level.items() if d["plausible"]] == ["ABCD"]
    assert [o for o, d in by_point["gas_1"]["orders"].items() if d["plausible"]] == ["CDAB"]
    temperature = next(p for p in document["points"] if p["point"] == "temperature")
    assert temperature["value"] is None and temperature["quality_text"] == "not_available"  # 0x7FFF
    assert main(draft_order) == 0
    table = capsys.readouterr().out.split("word orders", 1)[1].splitlines()
    level_row = next(line for line in table if line.startswith("level "))
    assert level_row.split()[3:5] == [">3.25", "*"]


def test_poll_shows_text_points_and_counts_connection_failures(
    monitor: Slaves, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        refused = free.getsockname()[1]
    (tmp_path / "gas_level_monitor.yaml").write_text(DOCS_PROFILE.read_text())
    site = write_site(tmp_path, f"""
  - {{name: tcp, type: tcp, host: 127.0.0.1, port: {monitor.port()}, devices: [{{id: glm, profile: gas_level_monitor}}]}}
  - {{name: gone, type: tcp, host: 127.0.0.1, port: {refused}, devices: [{{id: ghost, profile: test_block}}]}}
""")  # fmt: skip
    assert main(["poll", str(site), "--duration-s", "1"]) == 0
    out = capsys.readouterr().out
    assert "  gw/glm  model_name=GLM-4 firmware=2.1.7\n" in out
    assert "  gw/glm/temperature  - degC  " in out and "not_available" in out
    table = out[out.index("\nstatistics") :].strip().splitlines()
    assert table[1].split()[:9] == ["bus", "/", "device", "req", "good", "tmo", "noconn", "exc", "crc"]
    gone = next(line for line in table if line.startswith("gone "))
    ghost = next(line for line in table if line.startswith("  ghost "))
    assert gone.split()[1:5] == ["3", "0", "0", "3"] and f"cannot connect to 127.0.0.1:{refused}" in gone
    assert ghost.rstrip().endswith("OFFLINE (no connection)")
    assert next(line for line in table if line.startswith("  glm ")).rstrip().endswith("online")


def test_probe_points_at_a_float_read_in_the_wrong_order(
    monitor: Slaves, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The level module sends high word first; the profile as first written says CDAB for every point."""
    draft = tmp_path / "gas_level_monitor.yaml"
    draft.write_text(
        DOCS_PROFILE.read_text().replace(
            "type: float32, word_order: ABCD, unit: m,", "type: float32, unit: m,"
        )
    )
    assert main(["probe", "--profile", str(draft), "--tcp", f"127.0.0.1:{monitor.port()}"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(
        "hint: level (2.307097792e-41): a float this close to zero is almost always read in the wrong word "
        "order; `--word-orders` shows the point in all four"
    )
