"""Password hashing: argon2id through argon2-cffi (its defaults: RFC 9106's low-memory profile).

``verify`` of an unknown user still runs one hash (against a dummy), so a wrong username and a wrong
password take the same time.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 1024

_hasher = PasswordHasher()


def check_strength(password: str) -> None:
    """``ValueError`` for a password too short or too long to accept."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a password has at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


@functools.cache
def _dummy() -> str:
    return _hasher.hash("not anyone's password")


def verify(stored_hash: str | None, password: str) -> bool:
    """Does ``password`` match? ``stored_hash`` None (no such user): False, after as much work."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash or _dummy(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
