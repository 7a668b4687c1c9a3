#!/usr/bin/env bash
# Set up .venv if needed, then run lint, types and the whole test suite. Extra arguments go to pytest.
#   scripts/test.sh --fast [pytest args]   the inner loop: every test but the slow ones (those that start
#                                          a process or run for long; tests/support/processes.py keeps
#                                          the marker true), in about two and a half minutes on 2 cores. CI runs everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fast=0
if [[ "${1:-}" == "--fast" ]]; then
    fast=1
    shift
fi
"$root/scripts/bootstrap.sh"
if [[ $fast == 0 ]]; then
    "$root/scripts/browser.sh"  # chromium and CJK fonts for the console's browser tests (apt, as root)
fi
cd "$root"
export PATH="$root/.venv/bin:$PATH"
echo "== ruff" >&2
ruff check .
ruff format --check .
echo "== mypy" >&2
mypy protocols edge central simulator
echo "== pytest" >&2
if [[ $fast == 1 ]]; then
    exec pytest -m "not slow" "$@"
fi
exec pytest "$@"
