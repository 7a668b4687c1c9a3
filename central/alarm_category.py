"""Hazard or fault: the one place that decides an alarm's category.

A *hazard* is a measured condition at the site (levels, rates, slope movement, gas, fire, anomalies of
the measured values). A *fault* is the monitoring equipment failing: a device offline or answering with
exceptions, a sensor giving no usable value too long or stuck, a gateway gone silent, an outbox replaced
or corrupt. A fault never colours a site as a hazard: the map shows faults apart.

The decision reads the event's ``rule_kind`` (the rule's type) when the edge sends it; an edge from before
the field sends only the rule's name, which is the type unless the site file named the rule otherwise.
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    HAZARD = "hazard"
    FAULT = "fault"


# rule types (edge rules) and the names of the equipment rules the edge and the central raise themselves
FAULT_KINDS = frozenset(
    {
        "fault",  # no usable in-range value for after_s
        "flatline",  # a stuck sensor
        "comm",  # device offline
        "exception",  # device answers every read with an exception
        "outbox_corrupt",
        "outbox_replaced",
        "outbox_restored",
        "outbox_forked",
        "gateway_silent",
    }
)


def category_of(rule_kind: str | None, rule: str) -> Category:
    """The category of an alarm of ``rule`` whose events say ``rule_kind`` (None: an older edge)."""
    kind = rule_kind if rule_kind else rule
    return Category.FAULT if kind in FAULT_KINDS else Category.HAZARD


def backfill_sql() -> str:
    """The migration's statement that marks the alarms of existing fault rules (from their rule names)."""
    names = ", ".join(f"'{k}'" for k in sorted(FAULT_KINDS))
    return f"UPDATE alarms SET category = 'fault' WHERE rule IN ({names})"  # noqa: S608 - constants only
