"""``fieldwatch-central``: tokens straight in the database, and settings errors that name the variable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from central.auth import Authenticator
from central.cli import main
from central.store.sqlite import SqliteStore


def test_token_create_prints_it_once_and_stores_only_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path}/central.db"
    assert main(["token", "create", "--role", "gateway", "--gateway", "gw-1", "--database", db]) == 0
    out, err = capsys.readouterr()
    plain = out.strip()
    assert plain.startswith("fwt_") and "shown once" in err and plain not in err
    store = SqliteStore(tmp_path / "central.db")
    try:
        (row,) = store.tokens()
        assert (row.role, row.gateway_id) == ("gateway", "gw-1")
        assert plain.split("_", 2)[2] not in row.secret_hash
        who = asyncio.run(Authenticator(store, 0).principal(plain))
        assert who.may_ingest("gw-1") and not who.may_ingest("gw-2")
    finally:
        store.close()

    assert main(["token", "list", "--database", db]) == 0
    listed = capsys.readouterr().out
    assert row.id in listed and "active" in listed and plain not in listed
    assert main(["token", "revoke", row.id, "--database", db]) == 0
    assert main(["token", "list", "--database", db]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["token", "revoke", "000000000000", "--database", db]) == 1


def test_token_create_refuses_a_gateway_token_without_its_gateway(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "create", "--role", "gateway", "--database", f"sqlite:///{tmp_path}/c.db"]) == 2
    assert "--gateway" in capsys.readouterr().err


def test_bad_settings_exit_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIELDWATCH_PORT", "eighty")
    assert main(["serve", "--database", "sqlite:///x.db"]) == 2
    assert capsys.readouterr().err.startswith("FIELDWATCH_PORT: Input should be a valid integer")
    monkeypatch.delenv("FIELDWATCH_PORT")
    assert main(["serve", "--database", "oracle://x"]) == 2
    assert "--database: expected sqlite:///path or postgresql://host/database" in capsys.readouterr().err
