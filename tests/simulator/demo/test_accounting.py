"""Lost and duplicated rows from a gateway's status and the central's seqs."""

from __future__ import annotations

from simulator.demo.accounting import account


def status(produced: int, *, drops: dict[str, int] | None = None, readings: int = 0, events: int = 0,
           dead: int = 0) -> dict[str, object]:  # fmt: skip
    return {"produced_through": produced, "drops": drops or {}, "readings": readings, "events": events,
            "dead_letter_rows": dead}  # fmt: skip


def test_everything_delivered_once() -> None:
    d = account("gw", status(10), reading_seqs=[1, 2, 3, 5, 6, 7, 9, 10], event_seqs=[4, 8])
    assert (d.lost, d.duplicated, d.unexpected, d.stored) == (0, 0, 0, 10)


def test_a_missing_seq_is_lost_unless_the_gateway_accounts_for_it() -> None:
    assert account("gw", status(10), range(1, 10), []).lost == 1
    assert account("gw", status(10, drops={"thinned_budget": 1}), range(1, 10), []).lost == 0
    assert account("gw", status(10, readings=1), range(1, 10), []).lost == 0
    assert account("gw", status(10, dead=1), range(1, 10), []).lost == 0


def test_a_seq_stored_twice_is_a_duplicate_whether_reading_or_event() -> None:
    d = account("gw", status(5), [1, 2, 3, 3, 5], [4, 5])
    assert d.duplicated == 2
    assert d.lost == 0


def test_seqs_the_gateway_never_produced_are_unexpected() -> None:
    d = account("gw", status(3), [1, 2, 3, 4], [])
    assert d.unexpected == 1
    assert d.as_dict()["stored"] == 4
