"""Users: a username, a display name, one organization and one role in it (viewer, operator, admin)."""

from __future__ import annotations

import re

from central.accounts.passwords import hash_password
from central.store.account_records import User

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
USER_ROLES = ("viewer", "operator", "admin")


def actor(display_name: str, username: str) -> str:
    """How a person appears in timelines and the audit log: ``display name (username)``."""
    return f"{display_name} ({username})"


def new_user(username: str, org_id: str, role: str, *, display_name: str, password: str, now_ms: int) -> User:
    """A user to store; ``ValueError`` naming what is wrong (the password is never in the message)."""
    if not USERNAME.match(username):
        raise ValueError(f"username {username!r}: expected lower-case letters, digits, '.', '-' and '_'")
    if role not in USER_ROLES:
        raise ValueError(f"role {role!r}: expected one of {', '.join(USER_ROLES)}")
    name = display_name.strip() or username
    if len(name) > 100:
        raise ValueError("a display name has at most 100 characters")
    return User(username, name, org_id, role, now_ms, None, hash_password(password))
