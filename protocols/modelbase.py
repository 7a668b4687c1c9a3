"""The base of every configuration model, and the one convention for errors that name a key.

Models are frozen and forbid unknown keys. A validator that finds a problem in one field of its model raises
``ValueError(at("field", "message"))``; ``protocols.config`` turns the ``@field|`` prefix back into a key
path, so the technician's error names ``points[3].word_order`` and its line, not just ``points[3]``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

KEY_MARK = "@"
KEY_END = "|"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def at(key: str, message: str) -> str:
    """An error message aimed at ``key`` (a dotted path below the model that raises it)."""
    return f"{KEY_MARK}{key}{KEY_END}{message}"


_KEYED = re.compile(rf"^(?:Value error, )?{KEY_MARK}([^{KEY_END}]+)\{KEY_END}(.*)$", re.DOTALL)


def split_keyed(message: str) -> tuple[str | None, str]:
    """``(key, message)`` of a message made by ``at``; ``(None, message)`` for any other."""
    m = _KEYED.match(message)
    if m is None:
        return None, message.removeprefix("Value error, ")
    return m.group(1), m.group(2)


# Identifiers technicians write: device ids, point names, bus names. Lower case, digits, _ and -.
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,62}$")]
IDENTIFIER_HINT = "lower-case letters, digits, '_' and '-', starting with a letter or digit, at most 63"

ISSUE_SEPARATOR = "\x1e"  # joins several keyed messages raised by one validator


def raise_all(problems: list[str]) -> None:
    """Raise every problem a validator found at once (``protocols.config`` splits them again)."""
    if problems:
        raise ValueError(ISSUE_SEPARATOR.join(problems))
