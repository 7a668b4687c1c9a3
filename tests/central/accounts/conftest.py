"""The ``world`` fixture (``tests.central.accounts.world``), once per store."""

from tests.central.accounts.world import world

__all__ = ["world"]
