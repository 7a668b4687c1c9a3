"""The FieldWatch error tree: every error the pure core raises.

    FieldWatchError
    ├── ConfigError            a profile or site file is wrong; ``.issues`` lists every problem at once,
    │                          each with file, line and key (see ``protocols.config``)
    └── ProtocolError
        ├── LocalProtocolError   the caller misused an API (encode a value that does not fit its type,
        │                        decode with a register count the type does not have)
        └── RemoteProtocolError  the peer misbehaved: bytes that are not what the protocol allows
            ├── FrameError       a serial frame is broken (bad checksum, line too long, not a sentence)
            └── WireError        an edge -> central batch is malformed (the central answers 4xx)

The edge never lets a RemoteProtocolError end a task: it becomes a quality flag and a counter.
"""

from __future__ import annotations

from dataclasses import dataclass


class FieldWatchError(Exception):
    """The root of every error FieldWatch raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in one file: ``path:line: key: message``."""

    path: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(FieldWatchError):
    """A profile or site file is wrong. ``issues`` holds every problem found, in file order."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.path, i.line or 0, i.key))
        super().__init__("\n".join(str(i) for i in self.issues))

    def report(self) -> str:
        """Every issue on a line of its own, then how many there are: what a command prints."""
        n = len(self.issues)
        return f"{self}\n{n} problem{'s' if n != 1 else ''} found"


class ProtocolError(FieldWatchError):
    """Bytes or values that a protocol does not allow."""


class LocalProtocolError(ProtocolError):
    """The caller misused an API: a bug or bad configuration on our side."""


class RemoteProtocolError(ProtocolError):
    """The peer (a device, a gateway) sent something the protocol does not allow."""


class FrameError(RemoteProtocolError):
    """A serial frame is broken: bad checksum, over-long line, not a sentence."""


class WireError(RemoteProtocolError):
    """An edge -> central batch is malformed; the message says exactly what is wrong."""
