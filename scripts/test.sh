#!/usr/bin/env bash
# Set up .venv if needed, then run lint, types and the whole test suite. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
"$root/scripts/browser.sh"  # chromium and CJK fonts for the console's browser tests (apt, as root)
cd "$root"
export PATH="$root/.venv/bin:$PATH"
echo "== ruff" >&2
ruff check .
ruff format --check .
echo "== mypy" >&2
mypy protocols edge central simulator
echo "== pytest" >&2
exec pytest "$@"
