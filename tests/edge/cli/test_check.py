"""``fieldwatch-edge check``: files that are not text, and every mistake of a site and its profiles at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge import cli
from tests.cli_runner import run_cli

SITE = """\
gateway: {id: gw-1}
site: {id: farm, name: Tank farm, type: tank_farm, latitude_deg: 30.5, longitude_deg: 114.3}
uplink: {type: http, url: "http://127.0.0.1:8000"}
profiles_dirs: [profiles]
buses:
  - name: rs485-1
    type: rtu
    port: /dev/ttyUSB0
    devices:
      - {id: level-1, profile: level_gauge, unit_id: 1}
"""


def test_a_profile_that_is_not_utf8_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gbk.yaml").write_bytes(b"\xff\xfemodel: gbk\n")
    monkeypatch.chdir(tmp_path)
    result = run_cli(["check", "--profile", "gbk.yaml"])
    assert result.status == cli.EXIT_BAD_INPUT
    assert result.stderr.splitlines() == [
        "gbk.yaml: not UTF-8 text (byte 0xff at offset 0)",
        "1 problem found",
    ]


def test_a_site_or_its_profile_not_utf8_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "profiles").mkdir()
    # GBK for "温度" (temperature) in a comment: the first byte that is not UTF-8 is at offset 2
    (tmp_path / "profiles" / "level_gauge.yaml").write_bytes(b"# \xce\xc2\xb6\xc8\nmodel: level_gauge\n")
    (tmp_path / "site.yaml").write_text(SITE, encoding="utf-8")
    (tmp_path / "latin1.yaml").write_bytes(SITE.replace("Tank farm", "Tank f\xe4rm").encode("latin-1"))
    monkeypatch.chdir(tmp_path)
    result = run_cli(["check", "site.yaml", "latin1.yaml"])
    assert result.status == cli.EXIT_BAD_INPUT
    offset = SITE.index("Tank farm") + len("Tank f")
    assert result.stderr.splitlines() == [
        f"latin1.yaml: not UTF-8 text (byte 0xe4 at offset {offset})",
        "profiles/level_gauge.yaml: not UTF-8 text (byte 0xce at offset 2)",
        "2 problems found",
    ]
