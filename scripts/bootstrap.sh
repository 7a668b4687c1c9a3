#!/usr/bin/env bash
# Create .venv if missing and (re)install the project into it when pyproject.toml changed.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run on its own.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

pick_python() {
    for py in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$py" ] || continue
        command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    echo "FieldWatch needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

if [ ! -x .venv/bin/python ]; then
    py="$(pick_python)"
    echo "bootstrap: creating .venv with $py" >&2
    "$py" -m venv .venv
fi

stamp=.venv/.fieldwatch-installed
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "bootstrap: installing fieldwatch[dev] into .venv (log: .venv/install.log)" >&2
    if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[dev]"; } \
        > .venv/install.log 2>&1; then
        tail -n 30 .venv/install.log >&2
        echo "bootstrap: installing failed; the whole log is .venv/install.log" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi
