"""The demo's notification receiver: a local webhook the central notifies through its policy file.

The demo starts it before the central and hands the central a policy file (``policy_text``) whose two
contacts are this receiver (Apprise ``json://`` URLs): every alarm of level blue or more is told at once,
its escalation to a second contact when nobody acknowledged it 20 s later (nobody does, in the demo), and
its clear (held 2 s of the central's time for flapping, not the default 5 minutes: the stories run
fast-forwarded). The receiver keeps each notification once by its stable id (``X-FieldWatch-Notification-Id``:
a repeat after a crash between a send and its record is dropped, as a real receiver would), and the summary
counts them per site from the alarm ids they carry.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

ID_HEADER = "X-FieldWatch-Notification-Id"
MAX_BODY_BYTES = 1 << 20


class NotificationReceiver:
    def __init__(self) -> None:
        self.received: dict[str, dict[str, Any]] = {}  # notification id -> the JSON body
        self.repeats = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY_BYTES)
                body = self.rfile.read(length)
                receiver._keep(self.headers.get(ID_HEADER), body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="notifications", daemon=True)

    def _keep(self, notification_id: str | None, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            return
        key = notification_id or str(data.get("notification_id", ""))
        with self._lock:
            if key in self.received:
                self.repeats += 1
            else:
                self.received[key] = data

    def policy_text(self) -> str:
        return (
            "# written by fieldwatch-demo: every warning at once to the duty desk, and to the duty chief\n"
            "# when nobody has acknowledged it 20 s (real time) later; both are the demo's local webhook\n"
            "contacts:\n"
            f'  - {{name: duty-desk, url: "json://127.0.0.1:{self.port}/desk"}}\n'
            f'  - {{name: duty-chief, url: "json://127.0.0.1:{self.port}/chief"}}\n'
            "policies:\n"
            "  - name: every-warning\n"
            "    min_level: blue\n"
            "    notify: [duty-desk]\n"
            "    escalate: [{after_s: 20, notify: [duty-chief]}]\n"
            "    flap_window_s: 2\n"
        )

    def count_for(self, alarm_ids: Iterable[int]) -> dict[str, int]:
        """Notifications received about these alarms, by kind (raise, clear, ...)."""
        wanted = {str(a) for a in alarm_ids}
        with self._lock:
            return dict(
                Counter(d.get("kind", "?") for d in self.received.values() if d.get("alarm_id") in wanted)
            )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
