"""Each notification library lives in one module, as the transports do (tests/test_import_rules.py);
Jinja2 also renders the printable shift report (``central.reports.render``: the brief asks for a
Jinja2 template), so it has exactly these two."""

from __future__ import annotations

import pytest

from tests.test_import_rules import imported_roots, modules, top

CONFINED = {
    "apprise": ["central.notify.delivery"],
    "jinja2": ["central.notify.message", "central.reports.render"],
}


@pytest.mark.parametrize("library", sorted(CONFINED))
def test_a_notification_library_is_imported_by_one_module(library: str) -> None:
    users = sorted(
        mod
        for package in ("protocols", "edge", "central", "simulator")
        for mod, path in modules(package)
        if any(top(name) == library for name in imported_roots(path))
    )
    assert users == CONFINED[library]
