#!/usr/bin/env bash
# The edge's suites on 64-bit ARM, the gateways' architecture, on an x86-64 machine: qemu-user through
# binfmt_misc runs an arm64 Debian bookworm root made by debootstrap, with a copy of this checkout and
# its own .venv inside; tests/protocols and tests/edge run there, then the detection tests once more on
# a Raspberry Pi 4's CPU (QEMU_CPU=cortex-a72, and numba generating code for it). Extra arguments go to
# the pytest runs of the two suites. Needs root (debootstrap, chroot, mounts); docs/edge.md, "Testing on
# 64-bit ARM", has the figures.
#
#   scripts/test-aarch64.sh [PYTEST ARGS]    the suites, as CI runs them
#   scripts/test-aarch64.sh --run CMD...     the same set-up, then CMD in the root's copy of the checkout
#                                            instead of the suites; what it writes to bench/results/ is
#                                            copied back (e.g. --run .venv/bin/python bench/detect.py
#                                            --start-only)
#
# Kept between runs in $FIELDWATCH_AARCH64_CACHE (default /var/cache/fieldwatch/aarch64, outside the
# clone, so CI's fresh clones reuse it): the root (made again only when the package list below
# changes) and, inside it, the venv (reinstalled when pyproject.toml changes) and pip's cache. The
# checkout is copied afresh each run (so numba's cache starts empty, as on a new gateway).
#
# The host is left as it was: its Python and its dpkg architectures are untouched (the only host
# packages installed are qemu-user-static and debootstrap, both amd64); binfmt_misc, /proc, /sys, /dev
# are mounted in a private mount namespace of this script only, so no mount outlives it, even after a
# kill -9. The services (PostgreSQL, Mosquitto) are the host's, reached through loopback.
#
# Exit status: 0 the suites passed; 1 a test failed or the set-up failed; 77 the machine cannot run
# foreign binaries (not root, no unshare, binfmt_misc cannot be mounted: an unprivileged container),
# which under CI=true is a failure (1) instead.
set -euo pipefail

checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${FIELDWATCH_AARCH64_CACHE:-/var/cache/fieldwatch/aarch64}"
root="$(realpath -m "$cache/root")"
suite=bookworm
packages=python3,python3-venv,python3-pip,ca-certificates
root_key="debootstrap $suite arm64 minbase $packages"
cpu_pi4=cortex-a72
say() { echo "test-aarch64: $*" >&2; }

cannot_emulate() {
    say "cannot run arm64 binaries here: $1"
    say "(this needs root and binfmt_misc: a privileged container or a VM, with qemu-user-static)"
    if [ "${CI:-}" = true ]; then
        say "CI=true: that is a failure"
        exit 1
    fi
    say "skipped (exit status 77)"
    exit 77
}

# ---------------------------------------------------------------------------------------- outside
if [ -z "${FIELDWATCH_AARCH64_INNER:-}" ]; then
    [ "$(uname -m)" = x86_64 ] || { say "this emulates arm64 on x86_64; here run ./scripts/test.sh"; exit 1; }
    [ "$(id -u)" = 0 ] || cannot_emulate "not root"
    missing=()
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
    [ -x /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static)
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing ${missing[*]} (host packages of this machine's architecture)"
        export DEBIAN_FRONTEND=noninteractive
        apt_install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
        apt_install 2>/dev/null || { apt-get update -q >/dev/null && apt_install; }
    fi
    unshare --mount --propagation private true 2>/dev/null || cannot_emulate "cannot make a mount namespace"
    export FIELDWATCH_AARCH64_INNER=1
    exec unshare --mount --propagation private -- "$0" "$@"
fi

# ------------------------------------------------------------------ inside the private mount namespace
started=$(date +%s)
times=()
step_start=0
step() { step_start=$EPOCHREALTIME; say "== $1"; }
step_done() {
    times+=("$(awk -v name="$1" -v a="$step_start" -v b="$EPOCHREALTIME" \
        'BEGIN { printf "%-32s %7.1f s", name, b - a }')")
}

cleanup() {
    # processes a test left running in the root hold its mounts: end them (only those rooted there)
    for link in /proc/[0-9]*/root; do
        [ "$(readlink "$link" 2>/dev/null)" = "$root" ] || continue
        pid="${link#/proc/}"; pid="${pid%/root}"
        kill -KILL "$pid" 2>/dev/null || true
    done
    for m in shared dev/shm dev/pts dev sys proc; do
        mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
    done
    mountpoint -q /proc/sys/fs/binfmt_misc && umount /proc/sys/fs/binfmt_misc
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# binfmt_misc: the aarch64 handler of qemu-user-static, with its F flag (the interpreter is opened
# now, so it runs inside the root too, where /usr/libexec/qemu-binfmt does not exist)
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
    || mountpoint -q /proc/sys/fs/binfmt_misc \
    || cannot_emulate "binfmt_misc cannot be mounted at /proc/sys/fs/binfmt_misc"
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register \
        || cannot_emulate "the kernel refused the aarch64 handler"
fi
grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 \
    || cannot_emulate "the aarch64 handler is registered without the F flag (set up by someone else)"

# the Debian mirror this machine's apt uses (the same one for the arm64 packages), and its proxy
debian_mirror() {
    if [ -n "${FIELDWATCH_DEBIAN_MIRROR:-}" ]; then echo "$FIELDWATCH_DEBIAN_MIRROR"; return; fi
    local m
    m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' | grep -E '/debian/?$' | head -n1 || true)
    [ -n "$m" ] || m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }' \
        | grep -E '/debian/?$' | head -n1 || true)
    echo "${m:-http://deb.debian.org/debian}"
}
eval "$(apt-config shell apt_proxy Acquire::http::Proxy)"
[ -z "${apt_proxy:-}" ] || export http_proxy="$apt_proxy"

mkdir -p "$cache"
step "debootstrap ($suite arm64, $packages)"
if [ "$(cat "$cache/root.key" 2>/dev/null)" != "$root_key" ] || [ ! -x "$root/usr/bin/python3" ]; then
    df -h "$cache" >&2
    avail_kb=$(df -Pk "$cache" | awk 'NR == 2 { print $4 }')
    [ "$avail_kb" -gt $((4 * 1024 * 1024)) ] || { say "less than 4 GB free in $cache: not starting"; exit 1; }
    mirror="$(debian_mirror)"
    say "making the root in $root from $mirror (a few minutes; log: $cache/debootstrap.log)"
    rm -rf "$root" "$root.new" "$cache/root.key"
    if ! debootstrap --arch=arm64 --variant=minbase --include="$packages" \
        "$suite" "$root.new" "$mirror" > "$cache/debootstrap.log" 2>&1; then
        tail -n 20 "$cache/debootstrap.log" >&2
        for m in proc sys dev/pts dev; do mountpoint -q "$root.new/$m" && umount -l "$root.new/$m"; done
        say "debootstrap failed; the whole log is $cache/debootstrap.log"
        exit 1
    fi
    mv "$root.new" "$root"
    echo "$root_key" > "$cache/root.key"
else
    say "reusing $root"
fi
[ "$(chroot "$root" /usr/bin/uname -m)" = aarch64 ] || { say "the root does not run as aarch64"; exit 1; }
step_done "debootstrap"

# the root sees the host's devices, processes, name service and certificates (pip goes through the
# same TLS path as the host's), nothing else
mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
if mountpoint -q /dev/shm; then mkdir -p "$root/dev/shm" && mount --bind /dev/shm "$root/dev/shm"; fi
rm -rf "$root/tmp" && mkdir -m 1777 "$root/tmp"  # what earlier runs left there
shared="$(realpath -m "$checkout/../shared")"  # tools and data sets beside the project, read-only
if [ -d "$shared" ]; then
    mkdir -p "$root/shared"
    mount --bind "$shared" "$root/shared" && mount -o remount,bind,ro "$root/shared"
fi
cp /etc/resolv.conf /etc/hosts "$root/etc/"
host_ca="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
[ -f "$host_ca" ] && cp "$host_ca" "$root/etc/ssl/certs/fieldwatch-host-ca.crt"

step "copy of the checkout"
mkdir -p "$root/src"
find "$root/src" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} +
tar -C "$checkout" --exclude=./.venv --exclude=./.git --exclude=__pycache__ --exclude=./.mypy_cache \
    --exclude=./.ruff_cache --exclude=./.pytest_cache --exclude=./build --exclude='*.egg-info' \
    --exclude=./bench/results -cf - . \
    | tar -C "$root/src" -xf -
step_done "copy"

# the environment inside: nothing of the host's but what the tests and pip need
in_root() {
    local ca=/etc/ssl/certs/fieldwatch-host-ca.crt
    local env=(HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" PYTHON=/usr/bin/python3
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PIP_DISABLE_PIP_VERSION_CHECK=1)
    [ -f "$root$ca" ] && env+=(PIP_CERT="$ca" SSL_CERT_FILE="$ca")
    for name in FIELDWATCH_TEST_DATABASE FIELDWATCH_TEST_MQTT PIP_INDEX_URL PIP_DEFAULT_TIMEOUT \
        http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        [ -z "${!name:-}" ] || env+=("$name=${!name}")
    done
    chroot "$root" /usr/bin/env -i "${env[@]}" "$@"
}

step "venv (pip, when pyproject.toml changed)"
in_root /bin/sh -c 'cd /src && ./scripts/bootstrap.sh'
step_done "venv"

if [ "${1:-}" = --run ]; then
    shift
    status=0
    in_root /bin/sh -c 'cd /src && exec "$@"' sh "$@" || status=$?
    if [ -d "$root/src/bench/results" ]; then
        mkdir -p "$checkout/bench/results" && cp -r "$root/src/bench/results/." "$checkout/bench/results/"
    fi
    exit "$status"
fi

failed=0
for suite_dir in tests/protocols tests/edge; do
    step "pytest $suite_dir (aarch64, qemu's default cpu)"
    in_root /bin/sh -c 'cd /src && exec .venv/bin/pytest "$@" -q --durations=5' pytest "$suite_dir" "$@" \
        || failed=1
    step_done "pytest $suite_dir"
done

# the code numba generates for a Pi 4, on an emulated Pi 4 (an instruction that CPU lacks would stop it);
# the kernel tests without the JIT (pure Python, minutes under emulation) ran above already
step "pytest tests/edge/detect on a Raspberry Pi 4's cpu ($cpu_pi4)"
in_root env QEMU_CPU=$cpu_pi4 NUMBA_CPU_NAME=$cpu_pi4 /bin/sh -c 'cd /src && exec .venv/bin/pytest -q \
    tests/edge/detect --deselect tests/edge/detect/test_kernels.py::test_kernel_tests_pass_without_the_jit' \
    || failed=1
step_done "pytest detect ($cpu_pi4)"

say "step times (emulating aarch64 on $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)):"
for line in "${times[@]}"; do echo "  $line" >&2; done
printf '  %-32s %7d s\n' "total" $(($(date +%s) - started)) >&2
{ date -Is; printf '  %s\n' "${times[@]}"; echo "  failed=$failed"; } >> "$cache/runs.log"
exit "$failed"
