"""The rules between folders (docs/architecture.md), checked on the source, not by convention.

- ``protocols`` imports only the stdlib's pure modules, pydantic, numpy, orjson and yaml;
- ``edge`` and ``central`` never import each other; ``simulator`` imports only ``protocols`` of ours;
- each third-party transport lives in one module per side (pymodbus, pyserial, aiomqtt), the
  PostgreSQL driver in the PostgreSQL store's modules, and the notification libraries in theirs (apprise;
  jinja2, which the shift report uses too).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"protocols", "edge", "central", "simulator", "hw_profiles", "tests", "bench"}

PROTOCOLS_THIRD_PARTY = {"pydantic", "pydantic_core", "numpy", "orjson", "yaml"}
PROTOCOLS_FORBIDDEN_STDLIB = {
    "asyncio", "socket", "selectors", "threading", "multiprocessing", "subprocess", "logging", "time",
    "os", "io", "sqlite3", "ssl", "signal", "shutil", "tempfile", "urllib", "http",
}  # fmt: skip
MAY_IMPORT = {
    "protocols": {"protocols"},
    "edge": {"protocols", "edge"},
    "central": {"protocols", "central"},
    "simulator": {"protocols", "simulator"},
}
# third-party package -> the modules allowed to import it, per top-level package
CONFINED = {
    "pymodbus": {"edge": {"edge.acquisition.modbus_client"}, "simulator": None},
    "serial": {"edge": {"edge.acquisition.serial_port"}, "simulator": None},
    "aiomqtt": {"edge": {"edge.uplink.mqtt"}, "central": {"central.ingest.mqtt"}},
    "argon2": {"central": {"central.accounts.passwords"}},
    "paho": {"edge": set(), "central": set()},
    "psycopg": {"edge": set(), "central": {"central.store.postgres", "central.store.postgres_feed"}},
    "apprise": {"central": {"central.notify.delivery"}},  # notifications send through it in one module
    "jinja2": {"central": {"central.notify.message", "central.reports.render"}},  # and the shift report
}


def modules(package: str) -> list[tuple[str, Path]]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def top(name: str) -> str:
    return name.split(".", maxsplit=1)[0]


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_first_party_imports_follow_the_layers(package: str) -> None:
    bad = []
    for mod, path in modules(package):
        for name in imported_roots(path):
            if top(name) in OURS and top(name) not in MAY_IMPORT[package]:
                bad.append(f"{mod} imports {name}")
    assert not bad, "\n".join(bad)


def test_protocols_is_pure() -> None:
    bad = []
    for mod, path in modules("protocols"):
        for name in imported_roots(path):
            root = top(name)
            if root in OURS or root == "__future__":
                continue
            if root in sys.stdlib_module_names:
                if root in PROTOCOLS_FORBIDDEN_STDLIB:
                    bad.append(f"{mod} imports {name} (I/O, clocks or logging belong in edge/central)")
            elif root not in PROTOCOLS_THIRD_PARTY:
                bad.append(f"{mod} imports {name} (protocols may use only {sorted(PROTOCOLS_THIRD_PARTY)})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("library", sorted(CONFINED))
def test_transports_are_confined_to_one_module(library: str) -> None:
    bad = []
    for package in ("protocols", "edge", "central", "simulator"):
        allowed = CONFINED[library].get(package, set())
        for mod, path in modules(package):
            if (
                any(top(n) == library for n in imported_roots(path))
                and allowed is not None
                and mod not in allowed
            ):
                bad.append(f"{mod} imports {library} (allowed only in {sorted(allowed) or 'no module'})")
    assert not bad, "\n".join(bad)
