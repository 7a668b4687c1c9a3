from __future__ import annotations

import pytest

from tests.services import DATABASE_URL, MQTT_URL, require


@pytest.fixture
def mqtt_url() -> str:
    """The test broker's URL (``FIELDWATCH_TEST_MQTT``); skipped outside CI when it is not running."""
    return require(MQTT_URL, 1883, "Mosquitto (FIELDWATCH_TEST_MQTT)")


@pytest.fixture
def database_url() -> str:
    """The test PostgreSQL's URL (``FIELDWATCH_TEST_DATABASE``); skipped outside CI when it is not running."""
    return require(DATABASE_URL, 5432, "PostgreSQL (FIELDWATCH_TEST_DATABASE)")
