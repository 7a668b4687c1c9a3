"""Keeping a caller to its organization's sites and gateways (``ScopeDep``; None: the top, everything).

Another organization's thing answers 404 with the same words as a thing that does not exist.
"""

from __future__ import annotations

from fastapi import HTTPException, status

from central.store.account_records import Visible


def within(scope: Visible | None) -> tuple[str, ...] | None:
    """The gateways a store query is limited to (None: no limit)."""
    return None if scope is None else tuple(sorted(scope.gateways))


def sees_gateway(scope: Visible | None, gateway_id: str | None) -> bool:
    return scope is None or (gateway_id is not None and gateway_id in scope.gateways)


def sees_site(scope: Visible | None, site_id: str | None) -> bool:
    return scope is None or (site_id is not None and site_id in scope.sites)


def gateway_of(channel_key: str) -> str:
    return channel_key.split("/", 1)[0]


def not_found_unless(seen: bool, what: str) -> None:
    if not seen:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")
