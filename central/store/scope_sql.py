"""The clause that keeps an organization's caller to its gateways (``central.accounts``), for the shared
SQL: ``within`` is the caller's gateways, or None for the top organization (no clause at all)."""

from __future__ import annotations

from typing import Any

Within = tuple[str, ...] | None

# A channel's gateway for the IN list of channel and latest pages. COALESCE (gateway_id is never NULL)
# keeps the list a filter on the county's plan, a scan in key order: as an index search per gateway,
# SQLite then sorts the whole result (1.5x the county's time for an enterprise of every site; about
# 1.1x this way, bench/query.py), and one gateway of 100 still reads in 2 ms.
CHANNEL_GATEWAY = "COALESCE(c.gateway_id, '')"


def within_gateways(column: str, gateways: Within) -> tuple[list[str], list[Any]]:
    """``([clause], params)`` keeping ``column`` to ``gateways``; nothing for None; none match for ().

    ``IN (VALUES ...)``, not ``IN (?, ...)``: PostgreSQL hashes a list of constants, but psycopg prepares
    a statement run five times, and the generic plan's list of parameters is searched row by row (1.5x
    the county's time for an enterprise of every site); a VALUES list is a hashed semi-join either way."""
    if gateways is None:
        return [], []
    if not gateways:
        return ["1 = 0"], []
    return [f"{column} IN (VALUES {', '.join(['(?)'] * len(gateways))})"], list(gateways)
