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

# pip's output goes to .venv/install.log; the terminal gets a line of progress (one updating line on a
# terminal, one every ten packages in a pipe), so a minute of downloading is not a minute of silence.
progress() {
    local n=0 line name
    while IFS= read -r line; do
        printf '%s\n' "$line" >> .venv/install.log
        case "$line" in
            "Collecting "*)
                n=$((n + 1)); name="${line#Collecting }"; name="${name%% *}"
                if [ -t 2 ]; then
                    printf '\rbootstrap: %3d packages found, now %-40.40s' "$n" "$name" >&2
                elif [ $((n % 10)) -eq 0 ]; then
                    echo "bootstrap: $n packages found ..." >&2
                fi ;;
            "Installing collected packages:"*)
                [ "$n" -gt 1 ] || continue  # pip upgrading itself
                [ -t 2 ] && printf '\n' >&2
                echo "bootstrap: installing $n packages ..." >&2 ;;
        esac
    done
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
    started=$SECONDS
    : > .venv/install.log
    if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[dev]"; } \
        2>&1 | progress; then
        tail -n 30 .venv/install.log >&2
        echo "bootstrap: installing failed; the whole log is .venv/install.log" >&2
        exit 1
    fi
    echo "bootstrap: installed in $((SECONDS - started)) s" >&2
    echo "$want" > "$stamp"
fi
