"""The events' structured fields on the wire: optional both ways, checked when present."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from protocols.errors import WireError
from protocols.wire import decode_batch, encode_batch
from tests.protocols.test_wire import make_batch, raw

FIELDS = {"rule_kind": "slope", "criterion": "tangent_angle", "unit": "deg", "threshold": 80.0,
          "direction": "rising"}  # fmt: skip


def with_fields():  # type: ignore[no-untyped-def]
    b = make_batch()
    return dataclasses.replace(b, events=[dataclasses.replace(e, **FIELDS) for e in b.events])


def test_the_fields_travel_and_come_back() -> None:
    b = with_fields()
    sent = raw(b)["events"][0]
    assert {k: sent[k] for k in FIELDS} == FIELDS
    assert decode_batch(encode_batch(b)).events == b.events


def test_an_event_without_them_is_as_before() -> None:
    sent = raw(make_batch())["events"][0]
    assert not set(FIELDS) & set(sent)  # an older central sees exactly the fields it knows
    [event] = decode_batch(encode_batch(make_batch())).events
    assert (event.rule_kind, event.criterion, event.threshold, event.direction) == (None, None, None, None)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("direction", "up", "direction: expected one of rising, falling"),
        ("threshold", "80", "threshold: expected a finite number"),
        ("threshold", True, "threshold: expected a finite number"),
        ("criterion", "", "criterion: expected a string"),
        ("unit", 3, "unit: expected a string"),
    ],
)
def test_bad_fields_are_refused_with_the_reason(key: str, value: object, match: str) -> None:
    obj = raw(with_fields())
    obj["events"][0][key] = value
    with pytest.raises(WireError, match=rf"events\[0\]\.{match}"):
        decode_batch(orjson.dumps(obj))
