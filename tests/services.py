"""Finding the outside services the integration tests use (PostgreSQL, Mosquitto).

Addresses come from the environment, with loopback defaults. A missing service skips the test with the
reason, except under ``CI=true``, where it fails: CI promises the services are there.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

MQTT_URL = os.environ.get("FIELDWATCH_TEST_MQTT", "mqtt://127.0.0.1:1883")
DATABASE_URL = os.environ.get("FIELDWATCH_TEST_DATABASE", "postgresql://127.0.0.1:5432/test")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def reachable(url: str, default_port: int, timeout_s: float = 1.0) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout_s):
            return True
    except OSError:
        return False


def require(url: str, default_port: int, what: str) -> str:
    """``url`` when the service answers; otherwise skip (outside CI) or fail (in CI)."""
    if reachable(url, default_port):
        return url
    reason = f"{what} is not reachable at {url} (set the environment variable to point at one)"
    if in_ci():
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def unique_name(prefix: str) -> str:
    """A name no other test run uses: for schemas, databases, topic prefixes, client ids."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
