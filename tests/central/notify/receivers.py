"""Real peers for notification tests: a webhook receiver (HTTP) and a mailbox (SMTP, aiosmtpd).

Both listen on 127.0.0.1 in a thread of their own, record what arrives, and can be told to refuse the first
N deliveries, so a test sees exactly what a receiver saw (headers, body, the e-mail as parsed) and retries
happen against a real server. Part 2's end-to-end tests (the central's worker) use them too::

    with WebhookReceiver(fail_first=3) as hook:
        ...  # json://127.0.0.1:{hook.port}/hook
        hook.wait_for(1, timeout_s=10)
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.ports import free_port


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    def json(self) -> Any:
        return json.loads(self.body)


class _Recorder:
    """What arrived, with a condition to wait on; the first ``fail_first`` deliveries are refused."""

    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self._seen = 0
        self._cond = threading.Condition()

    def next_refused(self) -> bool:
        with self._cond:
            self._seen += 1
            return self._seen <= self.fail_first

    def record(self, items: list[Any], item: Any) -> None:
        with self._cond:
            items.append(item)
            self._cond.notify_all()

    def wait(self, count: Any, n: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while count() < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {n} deliveries within {timeout_s:g} s, got {count()}")
                self._cond.wait(left)


class WebhookReceiver:
    """An HTTP server that records every request; answers 500 to the first ``fail_first``, else 200, each
    after ``delay_s`` (a slow receiver)."""

    def __init__(self, fail_first: int = 0, delay_s: float = 0.0) -> None:
        self._recorder = _Recorder(fail_first)
        self.requests: list[Request] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                time.sleep(delay_s)
                status = 500 if receiver._recorder.next_refused() else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                request = Request(self.command, self.path, dict(self.headers.items()), body, status)
                receiver._recorder.record(receiver.requests, request)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test reads self.requests, not stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook", daemon=True)

    def url(self, path: str = "/hook", scheme: str = "json") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    @property
    def delivered(self) -> list[Request]:
        """The requests answered 200."""
        return [r for r in list(self.requests) if r.status == 200]

    def wait_for(self, n: int, timeout_s: float = 10.0) -> list[Request]:
        """Block until ``n`` requests were answered 200; they are returned."""
        self._recorder.wait(lambda: len(self.delivered), n, timeout_s)
        return self.delivered

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class Mailbox:
    """An SMTP server (aiosmtpd) that keeps every accepted message, parsed; refuses the first ``fail_first``
    with 451 (a temporary failure, as a busy server would)."""

    def __init__(self, fail_first: int = 0) -> None:
        self._recorder = _Recorder(fail_first)
        self.messages: list[EmailMessage] = []
        self.port = free_port()  # aiosmtpd's controller checks it is up by connecting: a fixed port
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def url(self, to: str = "duty@example.com", sender: str = "fieldwatch@example.com") -> str:
        """An Apprise mailto:// URL that delivers here, in plain SMTP."""
        return f"mailto://127.0.0.1:{self.port}?from={sender}&to={to}&mode=insecure"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._recorder.next_refused():
            return "451 4.3.0 try again later"
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self._recorder.record(self.messages, parsed)
        return "250 OK"

    def wait_for(self, n: int, timeout_s: float = 10.0) -> list[EmailMessage]:
        self._recorder.wait(lambda: len(self.messages), n, timeout_s)
        return list(self.messages)

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
