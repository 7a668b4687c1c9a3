"""The HTTP uplink: ``POST /api/v1/ingest`` with httpx, gzip, a bearer token, TLS verified by default.

One ``httpx.AsyncClient`` (connection reuse, keep-alive) for the process. The central answers after it
has committed the batch: 200 with the ack; 422 with an ack whose ``error`` says why the batch is refused
for good; 401/403 when the token is wrong or belongs to another gateway; 413 when the body is too large;
anything else (5xx, a proxy's page, a reset connection, a timeout) is transient. httpx's exceptions are
mapped to ``edge.uplink.base`` errors here and nowhere else.

The token comes from ``token_file`` if the site names one, else from the environment variable
``token_env``; ``load_token`` makes a missing token a startup error that names the setting.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from edge.uplink.base import AuthError, NotDeliveredError, Outgoing, TooLargeError, TransientError
from protocols.errors import ConfigError, ConfigIssue, WireError
from protocols.site import HttpUplink as HttpUplinkSettings
from protocols.wire import Ack, decode_ack

INGEST_PATH = "/api/v1/ingest"
MAX_REASON_CHARS = 300


def load_token(settings: HttpUplinkSettings, site_path: str, environ: Mapping[str, str] | None = None) -> str:
    """The bearer token from ``token_file`` or ``token_env``; ``ConfigError`` naming what is missing."""
    environ = os.environ if environ is None else environ
    if settings.token_file:
        path = Path(settings.token_file)
        if not path.is_absolute():
            path = Path(site_path).parent / path
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            issue = ConfigIssue(site_path, None, "uplink.token_file", f"cannot read {path}: {e}")
            raise ConfigError([issue]) from None
        if not token:
            raise ConfigError([ConfigIssue(site_path, None, "uplink.token_file", f"{path} is empty")])
        return token
    if settings.token_env:
        token = environ.get(settings.token_env, "").strip()
        if token:
            return token
        message = f"the environment variable {settings.token_env} (the gateway's token) is not set"
        raise ConfigError([ConfigIssue(site_path, None, "uplink.token_env", message)])
    raise ConfigError([ConfigIssue(site_path, None, "uplink", "give token_file or token_env for the token")])


class HttpUplink:
    name = "http"

    def __init__(
        self,
        settings: HttpUplinkSettings,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "fieldwatch-edge",
    ) -> None:
        self.settings = settings
        self.url = settings.url.rstrip("/") + INGEST_PATH
        self.client = httpx.AsyncClient(
            verify=settings.verify_tls,
            timeout=settings.timeout_s,
            headers={"Authorization": f"Bearer {token}", "User-Agent": user_agent},
            transport=transport,
        )
        self.on_stray_ack: Callable[[Ack], None] | None = None
        self.counters: Counter[str] = Counter()

    async def run(self) -> None:
        """Nothing to keep up between requests: httpx reconnects as it needs."""

    async def send(self, batch: Outgoing) -> Ack:
        headers = {"Content-Type": "application/json"}
        if batch.gzipped:
            headers["Content-Encoding"] = "gzip"
        self.counters["requests"] += 1
        try:
            response = await self.client.post(self.url, content=batch.payload, headers=headers)
        except httpx.ConnectError as e:  # refused, unreachable, DNS: nothing was sent
            self.counters["network_errors"] += 1
            raise NotDeliveredError(f"{self.url}: {type(e).__name__}: {e}") from e
        except httpx.ConnectTimeout as e:
            self.counters["timeouts"] += 1
            raise NotDeliveredError(f"{self.url}: no connection within {self.settings.timeout_s} s") from e
        except httpx.TimeoutException as e:
            self.counters["timeouts"] += 1
            raise TransientError(f"{self.url}: no answer within {self.settings.timeout_s} s") from e
        except httpx.HTTPError as e:  # connection refused, reset, DNS, TLS ...
            self.counters["network_errors"] += 1
            raise TransientError(f"{self.url}: {type(e).__name__}: {e}") from e
        self.counters[f"status_{response.status_code}"] += 1
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> Ack:
        code = response.status_code
        if code in (200, 422):
            try:
                ack = decode_ack(response.content)
            except WireError as e:
                if code == 422:  # refused, but not with an ack: still the batch's fault
                    return Ack("", 0, 0, (), f"HTTP 422: {_reason(response)}")
                raise TransientError(f"{self.url}: the central's ack is malformed: {e}") from e
            if code == 422 and not ack.refused:
                return Ack(ack.gateway, ack.batch_id, ack.acked_through, (), "HTTP 422 without a reason")
            return ack
        if code in (401, 403):
            raise AuthError(f"{self.url}: HTTP {code}: {_reason(response)}")
        if code == 413:
            raise TooLargeError(f"{self.url}: HTTP 413: {_reason(response)}")
        if code == 503:  # the central stored nothing (a database failure, or too busy to try)
            raise NotDeliveredError(f"{self.url}: HTTP 503: {_reason(response)}")
        raise TransientError(f"{self.url}: HTTP {code}: {_reason(response)}")

    def statistics(self) -> dict[str, Any]:
        return dict(self.counters)

    async def aclose(self) -> None:
        await self.client.aclose()


def _reason(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:MAX_REASON_CHARS] or response.reason_phrase
