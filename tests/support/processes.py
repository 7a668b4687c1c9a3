"""Which test starts a process: what keeps the ``slow`` marker true.

``scripts/test.sh --fast`` runs ``-m "not slow"``, the inner loop; a test that starts a process (a
``subprocess``, a ``multiprocessing`` child, an asyncio subprocess) belongs to the slow rest. The
root ``conftest`` records every process started while a test (its fixtures included) runs, and a test
not marked ``slow`` that started one fails with the command it ran.
"""

from __future__ import annotations

import functools
import multiprocessing.process
import subprocess
from typing import Any

INCIDENTAL = {"ldconfig", "gcc", "cc", "ld", "objdump", "uname"}  # ctypes.util.find_library's probes
current: str | None = None  # the node id of the test running (its setup, call and teardown)
started: dict[str, list[str]] = {}


def _record(what: str) -> None:
    if current is not None:
        started.setdefault(current, []).append(what)


def install() -> None:
    """Wrap ``subprocess.Popen`` and ``multiprocessing``'s ``start`` (once per session)."""
    if getattr(subprocess.Popen.__init__, "_watched", False):
        return
    popen_init = subprocess.Popen.__init__
    process_start = multiprocessing.process.BaseProcess.start

    @functools.wraps(popen_init)
    def init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        argv = [str(a) for a in args] if isinstance(args, (list, tuple)) else str(args).split()
        if argv and argv[0].rsplit("/", 1)[-1] not in INCIDENTAL:
            _record(" ".join(argv))
        popen_init(self, args, *rest, **kwargs)

    @functools.wraps(process_start)
    def start(self: multiprocessing.process.BaseProcess) -> None:
        _record(f"multiprocessing: {self.name}")
        process_start(self)

    init._watched = True  # type: ignore[attr-defined]
    subprocess.Popen.__init__ = init  # type: ignore[method-assign]
    multiprocessing.process.BaseProcess.start = start  # type: ignore[method-assign]
