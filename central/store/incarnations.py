"""Outbox incarnations at the central: epochs, the ledger's key, and the "outbox replaced" fault.

A batch lists the incarnations its rows belong to (``protocols.incarnations``); a row is one reading for
good as ``(incarnation, seq)``. The central sorts incarnations into *epochs*, per gateway: seq lines on
which no seq is ever used twice, so the ledger (``seq_ranges``), the readings table's key and the order of
alarm events can go on using seqs, within an epoch:

- an incarnation started by a normal restart (its parent is known and has no other child, and nothing of
  the parent has been seen at or above the child's first seq) continues its parent's epoch, and the
  parent's rows end below the child (``end_seq``);
- a new file (no parent: a new card, a deleted or zero-length outbox) while the gateway had others gets a
  new epoch: *outbox replaced*; the seqs of the old epoch never received are counted;
- a child of a parent that went on past the child's first seq, or a second child of one parent, is a
  *restored older copy* (a fork): a new epoch; the seqs the original numbered after the fork point and the
  central never received are counted;
- a row of a parent at or above its child's first seq that arrives after the child was filed in the
  parent's epoch reveals a fork late: the parent's rows from there on get an epoch of their own
  (``fork_epoch``), and the fault is raised then;
- an incarnation whose parent the central has never heard of gets a new epoch (nothing can collide).

Each of these is decided once, when the incarnation (or the late fork) is first seen, and stored, so a
row sent again always lands in the epoch it landed in the first time: ingest stays idempotent. Epochs
are numbered in the order they were made; an alarm event's order is ``epoch * 2^53 + seq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from protocols.incarnations import Incarnation, owners

if TYPE_CHECKING:
    from central.store.handle import Db

SEQ_SPAN = 1 << 53  # wire seqs are below this
MAX_EPOCH = 1023  # epoch * SEQ_SPAN + seq stays below 2^63
OUTBOX_REPLACED = "outbox_replaced"
OUTBOX_RESTORED = "outbox_restored"
OUTBOX_FORKED = "outbox_forked"

SELECT = (
    "SELECT id, first_seq, epoch, end_seq, fork_epoch, parent, high_water FROM incarnations "
    "WHERE gateway_id = ? AND id IN "
)


@dataclass(frozen=True, slots=True)
class Life:
    """A listed incarnation as the central has filed it."""

    id: str
    first_seq: int
    epoch: int
    end_seq: int | None = None  # its rows above this belong to ``fork_epoch``
    fork_epoch: int | None = None
    parent: str | None = None
    high_water: int = 0  # the highest seq it reported producing (heartbeats)


@dataclass(frozen=True, slots=True)
class OutboxChange:
    rule: str
    lost: int  # seqs of the old life the central never received (when the change was seen)
    message: str


@dataclass(slots=True)
class Resolved:
    lives: list[Life]  # in the batch's (file) order; the last is the sender's current incarnation
    changes: list[OutboxChange]
    new_current: bool  # the batch's current incarnation was seen for the first time

    @property
    def current(self) -> Life:
        return self.lives[-1]


def order_key(epoch: int, seq: int) -> int:
    return min(epoch, MAX_EPOCH) * SEQ_SPAN + seq


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _life(row: tuple[object, ...]) -> Life:
    i, first, epoch, end, fork, parent, hw = row
    return Life(
        str(i), _int(first), _int(epoch), None if end is None else _int(end),
        None if fork is None else _int(fork), None if parent is None else str(parent), _int(hw),
    )  # fmt: skip


def _lookup(db: Db, gw: str, ids: list[str]) -> dict[str, Life]:
    marks = ", ".join("?" * len(ids))
    return {str(r[0]): _life(r) for r in db.all(f"{SELECT}({marks})", [gw, *ids])}


def resolve(db: Db, gw: str, listed: list[Incarnation], now_ms: int) -> Resolved:
    """File the batch's incarnations (the new ones now, in file order) and say what changed."""
    known = _lookup(db, gw, [i.id for i in listed])
    changes: list[OutboxChange] = []
    new_current = listed[-1].id not in known
    for inc in listed:
        if inc.id not in known:
            known[inc.id], change = _file(db, gw, inc, known, now_ms)
            if change is not None:
                changes.append(change)
    return Resolved([known[i.id] for i in listed], changes, new_current)


def _next_epoch(db: Db, gw: str) -> int:
    row = db.one(
        "SELECT coalesce(max(epoch), -1), coalesce(max(fork_epoch), -1) FROM incarnations "
        "WHERE gateway_id = ?",
        (gw,),
    )
    return 0 if row is None else max(_int(row[0]), _int(row[1])) + 1


def _file(
    db: Db, gw: str, inc: Incarnation, known: dict[str, Life], now_ms: int
) -> tuple[Life, OutboxChange | None]:
    """Decide a new incarnation's epoch (see the module docstring) and store it."""
    change: OutboxChange | None = None
    parent = None
    if inc.parent is not None:
        parent = known.get(inc.parent) or _lookup(db, gw, [inc.parent]).get(inc.parent)
    epoch = _next_epoch(db, gw)
    if epoch > 0 and inc.parent is None:
        change = _replaced(db, gw, inc)
    elif parent is not None:
        children = db.one(
            "SELECT count(*) FROM incarnations WHERE gateway_id = ? AND parent = ?", (gw, parent.id)
        )
        forked = parent.end_seq is not None or (children is not None and _int(children[0]) > 0)
        if forked or _high_water(db, gw, parent.epoch) >= inc.first_seq:
            change = _restored(db, gw, inc, parent)
        else:  # a restart: the parent's seq line goes on, and the parent's rows end here
            epoch = parent.epoch
            db.run(
                "UPDATE incarnations SET end_seq = ? WHERE gateway_id = ? AND id = ?",
                (inc.first_seq - 1, gw, parent.id),
            )
            known[parent.id] = Life(
                parent.id, parent.first_seq, parent.epoch, inc.first_seq - 1, None, parent.parent,
                parent.high_water,
            )  # fmt: skip
    db.run(
        "INSERT INTO incarnations (gateway_id, id, epoch, parent, first_seq, first_seen_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (gw, inc.id, epoch, inc.parent, inc.first_seq, now_ms),
    )
    return Life(inc.id, inc.first_seq, epoch, None, None, inc.parent, 0), change


def _high_water(db: Db, gw: str, epoch: int) -> int:
    """The highest seq known of an epoch: committed, or reported by heartbeats."""
    committed = db.one(
        "SELECT coalesce(max(last_seq), 0) FROM seq_ranges WHERE gateway_id = ? AND epoch = ?", (gw, epoch)
    )
    reported = db.one(
        "SELECT coalesce(max(high_water), 0) FROM incarnations WHERE gateway_id = ? AND epoch = ?",
        (gw, epoch),
    )
    return max(_int(committed[0]) if committed else 0, _int(reported[0]) if reported else 0)


def _missing(db: Db, gw: str, epoch: int, lo: int, hi: int) -> tuple[int, int]:
    """(seqs in lo..hi of the epoch never committed, seqs committed there)."""
    if hi < lo:
        return 0, 0
    stored = 0
    for first, last in db.all(
        "SELECT first_seq, last_seq FROM seq_ranges WHERE gateway_id = ? AND epoch = ? AND last_seq >= ? "
        "AND first_seq <= ?",
        (gw, epoch, lo, hi),
    ):
        stored += min(int(last), hi) - max(int(first), lo) + 1
    return hi - lo + 1 - stored, stored


def _replaced(db: Db, gw: str, inc: Incarnation) -> OutboxChange:
    row = db.one("SELECT epoch FROM gateways WHERE id = ?", (gw,))
    epoch = int(row[0]) if row is not None else 0
    first = db.one(
        "SELECT coalesce(min(first_seq), 1) FROM incarnations WHERE gateway_id = ? AND epoch = ?", (gw, epoch)
    )
    lo = int(first[0]) if first is not None else 1
    hi = _high_water(db, gw, epoch)
    lost, stored = _missing(db, gw, epoch, lo, hi)
    return OutboxChange(
        OUTBOX_REPLACED, lost,
        f"outbox replaced (a new outbox file, incarnation {inc.id[:8]}): {lost} seqs of the previous outbox "
        f"were never received (it was known to have numbered through seq {hi}; {stored} stored)",
    )  # fmt: skip


def _restored(db: Db, gw: str, inc: Incarnation, parent: Life) -> OutboxChange:
    hi = _high_water(db, gw, parent.epoch)
    lost, stored = _missing(db, gw, parent.epoch, inc.first_seq, hi)
    return OutboxChange(
        OUTBOX_RESTORED, lost,
        f"outbox restored from an older copy (incarnation {inc.id[:8]} goes on from seq {inc.first_seq}, "
        f"which the original had passed): {lost} seqs the original numbered after that were never received "
        f"(known through seq {hi}; {stored} stored)",
    )  # fmt: skip


def row_epochs(db: Db, gw: str, resolved: Resolved, seqs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Each row's epoch (``seqs`` of the batch's rows, any order). A parent's row past its child's first
    seq (a fork seen late) files the parent's rest in an epoch of its own, once."""
    lives = resolved.lives
    index = owners([Incarnation(life.id, life.first_seq) for life in lives], seqs)
    epochs = np.array([life.epoch for life in lives], dtype=np.int64)[index]
    for k, life in enumerate(lives):
        if life.end_seq is None:
            continue
        past = (index == k) & (seqs > life.end_seq)
        if not past.any():
            continue
        fork = life.fork_epoch
        if fork is None:
            fork = _fork_late(db, gw, life)
            lives[k] = Life(
                life.id, life.first_seq, life.epoch, life.end_seq, fork, life.parent, life.high_water
            )
            first_past = int(seqs[past].min())
            message = (
                f"two copies of one outbox: incarnation {life.id[:8]} numbered seq {first_past} after its "
                f"successor had started at seq {life.end_seq + 1}; its rows from there on are kept apart "
                "(nothing is lost or merged)"
            )
            resolved.changes.append(OutboxChange(OUTBOX_FORKED, 0, message))
        epochs[past] = fork
    return epochs


def _fork_late(db: Db, gw: str, life: Life) -> int:
    epoch = _next_epoch(db, gw)
    db.run("UPDATE incarnations SET fork_epoch = ? WHERE gateway_id = ? AND id = ?", (epoch, gw, life.id))
    return epoch


def report(db: Db, gw: str, resolved: Resolved, produced_through: int) -> None:
    """A heartbeat's ``produced_through``: the high water of the incarnation that numbered it."""
    lives = resolved.lives
    k = int(owners([Incarnation(life.id, life.first_seq) for life in lives], np.array([produced_through]))[0])
    if k >= 0 and produced_through > lives[k].high_water:
        db.run(
            "UPDATE incarnations SET high_water = ? WHERE gateway_id = ? AND id = ? AND high_water < ?",
            (produced_through, gw, lives[k].id, produced_through),
        )
