#!/usr/bin/env bash
# Set up .venv if needed, then run FieldWatch's main job. Extra arguments go to the demo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
# Until the one-command demo lands, the main job is what a technician does first: check and plan the
# example sites.
fieldwatch-edge check deploy/examples/*.yaml
for site in deploy/examples/*.yaml; do
    echo
    fieldwatch-edge plan "$site"
done
