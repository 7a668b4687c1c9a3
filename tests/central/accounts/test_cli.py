"""``fieldwatch-central org|user|site|audit`` and ``token create --org --expires-in-days``."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from central.auth import Authenticator, AuthError
from central.cli import main
from central.store.accounts import AccountStore
from central.store.sqlite import SqliteStore
from protocols.wire import SiteMeta


def test_orgs_users_sites_tokens_and_the_audit_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = ["--database", f"sqlite:///{tmp_path}/central.db"]
    assert main(["org", "create", "mine-north", "--name", "North Mining", *db]) == 0
    assert main(["org", "create", "mine-north", "--name", "Again", *db]) == 2
    assert main(["org", "create", "pit-3", "--name", "Pit 3", "--parent", "nowhere", *db]) == 2
    assert main(["org", "list", *db]) == 0
    assert "mine-north" in capsys.readouterr().out

    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    assert main(["user", "create", "li.wei", "--org", "mine-north", "--role", "operator", "--name", "Li Wei",
                 "--password-stdin", *db]) == 0  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert (
        main(["user", "create", "wang", "--org", "mine-north", "--role", "viewer", "--password-stdin", *db])
        == 2
    )
    assert "at least 8 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("another long one\n"))
    assert main(["user", "passwd", "li.wei", "--password-stdin", *db]) == 0
    assert main(["user", "disable", "li.wei", *db]) == 0
    assert main(["user", "list", *db]) == 0
    listed = capsys.readouterr().out
    assert "li.wei" in listed and "disabled" in listed and "passphrase" not in listed

    store = SqliteStore(tmp_path / "central.db")
    try:
        store.put_site(SiteMeta("site-mine", "Mine", "mine_slope", 30.0, 110.0), 0)
    finally:
        store.close()
    assert main(["site", "assign", "site-mine", "--org", "mine-north", *db]) == 0
    assert main(["site", "assign", "site-none", "--org", "mine-north", *db]) == 1
    capsys.readouterr()

    assert (
        main(["token", "create", "--role", "viewer", "--org", "mine-north", "--expires-in-days", "1", *db])
        == 0
    )
    plain = capsys.readouterr().out.strip()
    store = SqliteStore(tmp_path / "central.db")
    try:
        assert AccountStore(store).site_org("site-mine") == "mine-north"
        now = [0]
        auth = Authenticator(store, 0, clock_ms=lambda: now[0])
        row = store.tokens()[0]
        now[0] = row.created_ms
        who = asyncio.run(auth.principal(plain))
        assert (who.org_id, who.orgs) == ("mine-north", ("mine-north",))
        now[0] = row.created_ms + 86_400_000
        with pytest.raises(AuthError, match="expired"):
            asyncio.run(auth.principal(plain))
    finally:
        store.close()

    assert main(["audit", "--since", "1h", *db]) == 0
    log = capsys.readouterr().out
    kinds = [line.split()[2] for line in log.splitlines()]
    assert kinds == [
        "org.create",
        "user.create",
        "user.password",
        "user.disable",
        "site.assign",
        "token.create",
    ]
    assert "passphrase" not in log and plain not in log
