"""Outbox incarnations: which life of which outbox numbered a row, so a seq is never taken for another.

A gateway's outbox numbers its rows with a seq that only grows, but only within one file: a new file (a
new SD card, a deleted or zero-length outbox) starts at 1 again, and a restored older copy of a file
numbers again seqs its original had already used. So every time an outbox is opened it starts an
*incarnation*: a random id, the seq it starts numbering at (``first_seq``), and the incarnation that was
current in the file before it (``parent``, None for a new file). Every row belongs to the incarnation it
was numbered in: the last one, in file order, whose ``first_seq`` is at or below the row's seq.

One process creates an incarnation and only that process numbers rows in it, each seq once. So
``(incarnation, seq)`` names one reading, whatever happens to the file afterwards: a copy of a row keeps
both, a new reading never gets an old pair. The central keys its ledger on it (``central.store.incarnations``
sorts incarnations into epochs, seq lines without repeats).

On the wire a batch lists, in file order, the incarnations its rows belong to, those the central has not
acknowledged yet, and last the sender's current one::

    "incarnations": [{"id": "5f0c...", "first_seq": 1, "parent": null},
                     {"id": "a91e...", "first_seq": 40211, "parent": "5f0c..."}]

A batch without the field is a *legacy* batch (an edge from before incarnations): all its rows belong
to the legacy incarnation, id ``""``, first seq 1. Pure: values in, values out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from protocols.errors import WireError

LEGACY_ID = ""
ID_PATTERN = re.compile(r"^[0-9a-f]{0,64}$")
MAX_LISTED = 4096  # incarnations one batch may list


@dataclass(frozen=True, slots=True)
class Incarnation:
    id: str  # 32 hex digits (random), or "" for the legacy incarnation
    first_seq: int  # the seq its first row has (or will have)
    parent: str | None = None  # the incarnation current in the file before it; None: a new file


LEGACY = Incarnation(LEGACY_ID, 1, None)


def owners(listed: list[Incarnation], seqs: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """For each seq, the index in ``listed`` (file order) of the incarnation it belongs to; -1 for a seq
    below the first one's ``first_seq``."""
    firsts = np.fromiter((i.first_seq for i in listed), dtype=np.int64, count=len(listed))
    return np.searchsorted(firsts, seqs, side="right") - 1


def to_wire(listed: list[Incarnation]) -> list[dict[str, Any]]:
    return [{"id": i.id, "first_seq": i.first_seq, "parent": i.parent} for i in listed]


def from_wire(obj: Any, max_seq: int) -> list[Incarnation]:
    """The ``incarnations`` field of a batch (None: absent, a legacy batch); ``WireError`` naming what is
    wrong."""
    if obj is None:
        return [LEGACY]
    if not isinstance(obj, list) or not obj:
        raise WireError("incarnations: expected a non-empty list")
    if len(obj) > MAX_LISTED:
        raise WireError(f"incarnations: {len(obj)} listed, more than {MAX_LISTED}")
    out: list[Incarnation] = []
    for n, item in enumerate(obj):
        where = f"incarnations[{n}]"
        if not isinstance(item, dict):
            raise WireError(f"{where}: expected an object")
        ident, first, parent = item.get("id"), item.get("first_seq"), item.get("parent")
        if not isinstance(ident, str) or not ID_PATTERN.match(ident):
            raise WireError(f"{where}.id: expected up to 64 lower-case hex digits (got {ident!r})")
        if type(first) is not int or not 1 <= first <= max_seq:
            raise WireError(f"{where}.first_seq: expected an integer in 1..{max_seq} (got {first!r})")
        if parent is not None and (not isinstance(parent, str) or not ID_PATTERN.match(parent)):
            raise WireError(f"{where}.parent: expected hex digits or null (got {parent!r})")
        if out and first < out[-1].first_seq:
            raise WireError(f"{where}.first_seq: {first} is below the one before it ({out[-1].first_seq})")
        out.append(Incarnation(ident, first, parent))
    if len({i.id for i in out}) != len(out):
        raise WireError("incarnations: an id is listed twice")
    return out
