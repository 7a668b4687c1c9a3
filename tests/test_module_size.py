"""No module is over ``MAX_LINES`` lines unless its docstring says why, in a line that starts
``Over 400 lines because`` (STYLE.md: a file over ~400 lines is asking to be split)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("protocols", "edge", "central", "simulator", "hw_profiles", "bench")
MAX_LINES = 400
REASON = f"Over {MAX_LINES} lines because "


def unexplained(path: Path) -> bool:
    text = path.read_text()
    if text.count("\n") <= MAX_LINES:
        return False
    docstring = ast.get_docstring(ast.parse(text, filename=str(path))) or ""
    return not any(line.startswith(REASON) for line in docstring.splitlines())


def test_long_modules_say_why() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {path.read_text().count(chr(10))} lines"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if unexplained(path)
    ]
    assert long == [], f"split these, or say why in the docstring ({REASON}...)"


def test_a_long_module_without_a_reason_is_caught(tmp_path: Path) -> None:
    body = "x = 1\n" * MAX_LINES
    silent = tmp_path / "silent.py"
    silent.write_text('"""A module."""\n' + body)
    explained = tmp_path / "explained.py"
    explained.write_text(f'"""A module.\n\n{REASON}it must be."""\n' + body)
    short = tmp_path / "short.py"
    short.write_text('"""A module."""\n' + "x = 1\n" * 10)
    assert [unexplained(p) for p in (silent, explained, short)] == [True, False, False]
