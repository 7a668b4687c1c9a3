#!/usr/bin/env bash
# Set up .venv if needed, then run FieldWatch's main job. Extra arguments go to the demo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
# The main job: three sites of the county (a mine slope, a tank farm, a forest tower), an incident at
# each, with the central, the simulated field devices and the gateways as real processes on this machine.
# See docs/demo.md; `./scripts/demo.sh --help` lists the options (--speed, --duration-s, --json ...).
exec fieldwatch-demo "$@"
