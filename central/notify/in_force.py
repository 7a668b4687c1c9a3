"""The notification policies a central process plans with: one object its store's connections share.

The store's ``Db`` handles hold it (``Db.outbox``), so the planning call in the alarm change's transaction
(``central.notify.outbox.record_change``) finds the policies without a global; the worker swaps in a new
set when the database's policy text changes. A module of its own so the store's handle needs nothing else
of ``central.notify``.
"""

from __future__ import annotations

from dataclasses import dataclass

from central.notify.policy import PolicyFile


@dataclass(slots=True)
class PoliciesInForce:
    """The policies this process plans with (None: notifications are off) and their database version."""

    policies: PolicyFile | None = None
    version: int = 0  # ``notify_policies.version`` of the text they came from (0: none)
