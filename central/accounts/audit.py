"""The one way every action is written to the audit log: ``await audit(services, kind, target, ...)``.

Append-only (nothing updates or deletes its rows). Never pass a token, a session or a password in
``detail``: the callers put ids, usernames and what changed there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from central.store.account_records import AuditEntry
from central.store.accounts_schema import TOP_ORG

if TYPE_CHECKING:
    from central.auth import Principal
    from central.services import Services


async def audit(
    services: Services,
    kind: str,
    target: str,
    *,
    who: Principal | None = None,
    actor: str | None = None,
    org_id: str | None = None,
    client: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Record ``kind`` (``login.ok``, ``user.create`` ...) done to ``target`` by ``who`` (or ``actor``),
    in ``org_id``'s log (default: the caller's organization)."""
    entry = AuditEntry(
        0,
        services.clock_ms(),
        org_id or (who.org_id if who is not None else TOP_ORG),
        actor or (who.name if who is not None else "central"),
        kind,
        target,
        client,
        detail or {},
    )
    store = services.store
    await store.call(services.auth.accounts.append_audit, entry)
