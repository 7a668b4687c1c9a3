"""``fieldwatch-central notify check|test`` and ``serve --notify FILE``: bad files exit 2 with their lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.cli import main
from central.store.sqlite import SqliteStore
from tests.central.notify.receivers import WebhookReceiver

BAD = """\
contacts:
  - {name: duty-desk, url: "json://127.0.0.1:9/hook"}
policies:
  - name: hazards
    min_level: purple
    notify: [nobody]
"""


def good(url: str = "json://127.0.0.1:9/hook") -> str:
    return f'contacts:\n  - {{name: duty-desk, url: "{url}"}}\npolicies:\n  - {{name: all, notify: [duty-desk]}}\n'


def test_check_prints_a_summary_or_every_problem_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, bad = tmp_path / "ok.yaml", tmp_path / "bad.yaml"
    ok.write_text(good())
    bad.write_text(BAD)
    assert main(["notify", "check", str(ok)]) == 0
    assert capsys.readouterr().out == f"{ok}: ok (1 contacts, 1 policies)\n"
    assert main(["notify", "check", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{bad}:5: policies[0].min_level: expected a level name")
    assert err[1] == f"{bad}:6: policies[0].notify[0]: no contact 'nobody' (known: duty-desk)"
    assert err[2] == "2 problems found"


@pytest.mark.parametrize("how", ["option", "environment"])
def test_serve_with_a_bad_policy_file_exits_2_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    bad = tmp_path / "notify.yaml"
    bad.write_text(BAD)
    args = ["serve", "--database", f"sqlite:///{tmp_path}/c.db", "--port", "0"]
    if how == "option":
        args += ["--notify", str(bad)]
    else:
        monkeypatch.setenv("FIELDWATCH_NOTIFY_FILE", str(bad))
    assert main(args) == 2
    assert f"{bad}:5: policies[0].min_level" in capsys.readouterr().err
    assert not (tmp_path / "c.db").exists()  # it stopped before opening anything


def test_notify_test_sends_a_sample_and_says_whether_it_arrived(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], webhook: WebhookReceiver
) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(good(webhook.url()))
    db = f"sqlite:///{tmp_path}/c.db"
    assert main(["notify", "test", "duty-desk", "--notify", str(path), "--database", db]) == 0
    assert capsys.readouterr().out.startswith("sent a test message to duty-desk (json://127.0.0.1:")
    (request,) = webhook.delivered
    assert "红色预警" in request.json()["title"]
    assert main(["notify", "test", "director", "--notify", str(path), "--database", db]) == 2
    assert "no contact 'director' in the policies (known: duty-desk)" in capsys.readouterr().err
    path.write_text(good("json://127.0.0.1:9/hook"))  # nobody listens on port 9
    assert main(["notify", "test", "duty-desk", "--notify", str(path), "--database", db]) == 1
    assert "could not notify duty-desk" in capsys.readouterr().err


def test_notify_test_reads_the_database_policies_without_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], webhook: WebhookReceiver
) -> None:
    store = SqliteStore(tmp_path / "c.db")
    store.migrate()
    store.put_notify_policy_text("notify.yaml", good(webhook.url()), 0)
    store.close()
    assert main(["notify", "test", "duty-desk", "--database", f"sqlite:///{tmp_path}/c.db"]) == 0
    assert len(webhook.delivered) == 1
