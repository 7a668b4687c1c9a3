#!/usr/bin/env bash
# Install what the console's browser tests need: Debian's chromium and CJK fonts (Playwright drives
# /usr/bin/chromium; it downloads no browser of its own). Quiet and quick when they are already there.
# Needs root and apt-get; otherwise it says so and the browser tests skip with the reason (fail in CI).
set -euo pipefail
packages=(chromium fonts-noto-cjk)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "browser: ${missing[*]} not installed (needs root and apt-get); the browser tests will skip" >&2
    exit 0
fi
echo "browser: installing ${missing[*]} (log: /tmp/fieldwatch-browser-install.log)" >&2
export DEBIAN_FRONTEND=noninteractive
lock=(-o DPkg::Lock::Timeout=600)
if ! { apt-get "${lock[@]}" update -q && apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}"; } \
    > /tmp/fieldwatch-browser-install.log 2>&1; then
    tail -n 20 /tmp/fieldwatch-browser-install.log >&2
    echo "browser: installing ${missing[*]} failed" >&2
    exit 1
fi
