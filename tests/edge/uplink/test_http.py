"""The HTTP uplink's own settings: where its bearer token comes from. (The forwarder's tests, which send
through this uplink to a real central, are in ``tests/edge/forwarder/``.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.uplink.http import load_token
from protocols.errors import ConfigError
from protocols.site import HttpUplink as HttpUplinkSettings


def test_the_token_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    site = str(tmp_path / "site.yaml")
    (tmp_path / "token").write_text("fw_secret\n")
    from_file = HttpUplinkSettings(type="http", url="http://x", token_file="token")
    assert load_token(from_file, site, {}) == "fw_secret"
    from_env = HttpUplinkSettings(type="http", url="http://x", token_env="GW_TOKEN")
    assert load_token(from_env, site, {"GW_TOKEN": "fw_env"}) == "fw_env"
    with pytest.raises(
        ConfigError, match=r"uplink.token_env: the environment variable GW_TOKEN .* is not set"
    ):
        load_token(from_env, site, {})
    with pytest.raises(ConfigError, match=r"uplink.token_file: cannot read"):
        load_token(HttpUplinkSettings(type="http", url="http://x", token_file="missing"), site, {})
