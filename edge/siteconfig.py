"""Reading site files and profiles from disk: the I/O half of ``protocols.config``."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from protocols.config import BoundSite, parse_profile
from protocols.config import load_site as _load_site
from protocols.errors import ConfigError, ConfigIssue
from protocols.profile import AnyProfile


def shipped_profiles_dir() -> str:
    """The folder of the profiles shipped with FieldWatch (``hw_profiles/``)."""
    return str(Path(str(importlib.resources.files("hw_profiles"))).resolve())


def read_text(path: str) -> str | None:
    """A file's text, or None when there is no such file (the loader reports it with its context).

    A file that is not UTF-8 text (a profile saved in GBK, a binary) is a ``ConfigError`` naming the first
    byte that is not.
    """
    try:
        data = Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        message = f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        raise ConfigError([ConfigIssue(path, None, "", message)]) from None


def load_site(path: str | Path) -> BoundSite:
    """A site file with all its profiles, validated; ``ConfigError`` lists every problem."""
    shipped = shipped_profiles_dir()
    names = [p.stem for p in Path(shipped).glob("*.yaml")]
    return _load_site(str(path), read_text, shipped, names)


def load_profile(path: str | Path) -> AnyProfile:
    """One profile file; ``ConfigError`` lists every problem. A bare name means a shipped profile."""
    p = Path(path)
    if not p.suffix and not p.exists():
        p = Path(shipped_profiles_dir()) / f"{p.name}.yaml"
    text = read_text(str(p))
    if text is None:
        raise ConfigError([ConfigIssue(str(p), None, "", "no such file")])
    return parse_profile(text, str(p), name=p.stem)
