"""The app under test: ``TestClient`` (imported quietly), an app on a store, tokens and headers."""

from __future__ import annotations

import warnings

from starlette.exceptions import StarletteDeprecationWarning

from central.auth import Role, new_token
from central.store.base import Store

with warnings.catch_warnings():
    # Starlette's TestClient would rather have httpx2; httpx works and is what the project pins.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = ["TestClient", "add_token", "bearer"]


def add_token(store: Store, role: Role, gateway_id: str | None = None, name: str = "") -> str:
    plain, row = new_token(role, name, gateway_id, 0)
    store.add_token(row)
    return plain


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
