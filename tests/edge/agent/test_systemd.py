"""sd_notify against a real datagram socket, as systemd would listen on it."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

from edge.systemd import Notifier


def listening(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(5)
    return s


def test_ready_watchdog_and_stopping_reach_the_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with listening(path) as s:
        n = Notifier({"NOTIFY_SOCKET": path})
        assert n.ready("running") and n.watchdog() and n.stopping()
        assert s.recv(1024) == b"READY=1\nSTATUS=running"
        assert s.recv(1024) == b"WATCHDOG=1"
        assert s.recv(1024) == b"STOPPING=1"
    assert n.sent == 3


def test_the_abstract_namespace_is_understood() -> None:
    name = f"fieldwatch-test-{uuid.uuid4().hex}"
    with listening("\0" + name) as s:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).status("hello")
        assert s.recv(1024) == b"STATUS=hello"


def test_without_systemd_every_call_is_a_quiet_no_op(tmp_path: Path) -> None:
    n = Notifier({})
    assert not n.enabled and not n.ready() and n.watchdog_s is None
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    assert gone.enabled and not gone.watchdog()


def test_the_watchdog_interval_is_for_this_process_only() -> None:
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_s == 30.0
    assert Notifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}).watchdog_s == 30.0
    assert Notifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_s is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_s is None
