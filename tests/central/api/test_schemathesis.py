"""schemathesis against /openapi.json: generated requests (a bounded number per operation), valid ones and
(for operations that take parameters or a body) invalid ones, never get a 5xx, and every answer conforms to
the document: a documented status, its content type, its headers and its schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from central.app import create_app
from central.auth import Role
from central.settings import load_settings
from central.store.base import Store
from central.store.postgres import PostgresStore
from central.store.sqlite import SqliteStore
from protocols.wire import ChannelMeta, encode_batch
from tests.central.builders import SITE, T0, event, key, readings_batch, schema_url
from tests.central.client import TestClient, add_token, bearer
from tests.services import DATABASE_URL, require, unique_name

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 25
NEGATIVE_EXAMPLES_PER_OPERATION = 15
HEADERS: dict[str, str] = {}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.service)])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store per kind for the module (a PostgreSQL schema of its own, dropped afterwards)."""
    if request.param == "sqlite":
        made: Store = SqliteStore(Path(tmp_path_factory.mktemp("schemathesis")) / "central.db", threads=2)
        made.migrate()
        yield made
        made.close()
        return
    base = require(DATABASE_URL, 5432, "PostgreSQL (FIELDWATCH_TEST_DATABASE)")
    name = unique_name("schemathesis")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    made = PostgresStore(schema_url(base, name), threads=2)
    try:
        made.migrate()
        yield made
    finally:
        made.close()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(scope="module")
def api_schema(store: Store) -> Iterator[schemathesis.BaseSchema]:
    HEADERS.update(bearer(add_token(store, Role.ADMIN, name="fuzzer")))
    settings_ = load_settings({}, database="sqlite:///unused.db", max_body_bytes=256 * 1024)
    app = create_app(settings_, store=store, clock_ms=lambda: T0 + 3_600_000)
    meta = [ChannelMeta(key("gw-1", "dev-1", "p0"), "mm", "gnss_nmea_rtk", 30.5, 110.3)]
    batch = readings_batch("gw-1", range(1, 200), site=SITE, channels=meta, events=[event("gw-1", 200, 2, 0)])
    with TestClient(app) as client:  # some data, so reads and alarm actions reach the database
        assert client.post("/api/v1/ingest", content=encode_batch(batch), headers=HEADERS).status_code == 200
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/api/v1/stream")
    try:
        yield schema
    finally:
        shutdown_lifespans()


def test_generated_requests_conform_to_the_document(api_schema: schemathesis.BaseSchema) -> None:
    """Each operation in turn (the pytest plugin's lazy loading does not work with this pytest)."""
    tried = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the schema itself is valid
        operation = result.ok()
        tried.append(f"{operation.method.upper()} {operation.path}")
        modes = [(GenerationMode.POSITIVE, EXAMPLES_PER_OPERATION)]
        if operation.body or any(True for _ in operation.iter_parameters()):
            modes.append((GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES_PER_OPERATION))
        for mode, examples in modes:

            @given(case=operation.as_strategy(mode))
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure's first example is enough
            )
            def call(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(headers=HEADERS, checks=CHECKS)

            call()
    assert "POST /api/v1/ingest" in tried and "POST /api/v1/alarms/{alarm_id}/close" in tried
