from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tests.services import DATABASE_URL, MQTT_URL, require
from tests.support import processes


@pytest.fixture
def mqtt_url() -> str:
    """The test broker's URL (``FIELDWATCH_TEST_MQTT``); skipped outside CI when it is not running."""
    return require(MQTT_URL, 1883, "Mosquitto (FIELDWATCH_TEST_MQTT)")


@pytest.fixture
def database_url() -> str:
    """The test PostgreSQL's URL (``FIELDWATCH_TEST_DATABASE``); skipped outside CI when it is not running."""
    return require(DATABASE_URL, 5432, "PostgreSQL (FIELDWATCH_TEST_DATABASE)")


def pytest_sessionstart(session: pytest.Session) -> None:
    processes.install()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, None]:
    processes.current = item.nodeid
    yield
    processes.current = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if call.when != "teardown":
        return
    started = processes.started.pop(item.nodeid, [])
    if started and item.get_closest_marker("slow") is None and report.passed:
        report.outcome = "failed"
        report.longrepr = f"starts a process but is not marked slow (scripts/test.sh --fast): {started[0]}"
