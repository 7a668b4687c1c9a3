"""Every ``file:function`` hop named in docs/architecture.md exists, so the path of a reading cannot rot.

A hop is ``path/to/module.py:name`` or ``path/to/module.py:Class.method`` in backticks; the module must
exist and define the name at its top level (a method: inside that class), checked on the source with
``ast``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"
HOP = re.compile(r"`([\w/]+\.py):([A-Za-z_][\w.]*)`")
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def hops(text: str) -> list[tuple[str, str]]:
    return HOP.findall(text)


def defined(body: list[ast.stmt], dotted: str) -> bool:
    head, _, rest = dotted.partition(".")
    for node in body:
        if isinstance(node, DEFINITIONS) and node.name == head:
            return not rest or (isinstance(node, ast.ClassDef) and defined(node.body, rest))
    return False


def missing(text: str) -> list[str]:
    out = []
    for path, name in hops(text):
        source = ROOT / path
        if not source.is_file():
            out.append(f"{path}:{name}: no such file")
        elif not defined(ast.parse(source.read_text(), filename=path).body, name):
            out.append(f"{path}:{name}: not defined there")
    return out


def test_the_page_names_the_whole_path() -> None:
    named = {f"{p}:{n}" for p, n in hops(PAGE.read_text())}
    assert len(named) >= 30
    for hop in ("edge/pipeline.py:DetectingSink.flush", "edge/forwarder/batches.py:BatchBuilder.select",
                "central/store/alarm_sql.py:apply_events", "edge/outbox/outbox.py:Outbox.acknowledge"):  # fmt: skip
        assert hop in named


def test_every_hop_on_the_page_exists() -> None:
    assert missing(PAGE.read_text()) == []


def test_a_hop_that_moved_is_caught() -> None:
    text = (
        "`edge/agent.py:DetectingSink.flush` `edge/nowhere.py:run` "
        "`edge/pipeline.py:DetectingSink.nothing` `edge/pipeline.py:DetectingSink.flush`"
    )
    assert missing(text) == [
        "edge/agent.py:DetectingSink.flush: not defined there",
        "edge/nowhere.py:run: no such file",
        "edge/pipeline.py:DetectingSink.nothing: not defined there",
    ]
