"""Levels as numbers or names in query strings, and the blank-text check of operators' notes."""

from __future__ import annotations

from fastapi import HTTPException, status

from protocols.records import LEVEL_BY_NAME

LEVEL_PATTERN = r"^([0-4]|blue|yellow|orange|red)$"


def level_number(text: str) -> int:
    """``"3"`` or ``"orange"`` -> 3 (the query's pattern has already checked it is one of them)."""
    return int(text) if text.isdigit() else int(LEVEL_BY_NAME[text])


def not_blank(text: str, name: str) -> str:
    """The text, or a 400 when it is only whitespace: blank is not a note."""
    if not text.strip():
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{name} is blank: say what was done")
    return text
