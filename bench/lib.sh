# shellcheck shell=bash disable=SC2034 # (variables set here are for the bench that sources this)
# What the benches share; sourced by bench/*.sh (bash, set -euo pipefail).
# BENCH_NAME (the script's name, for messages) is set here from $0.
BENCH_NAME=bench/$(basename "$0")
BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# the binaries under test (Env: BUILD, or NRUN / NBUILD themselves) and the test apps
BUILD=${BUILD:-$BENCH_REPO/build}
NRUN=${NRUN:-$BUILD/nrun}
NBUILD=${NBUILD:-$BUILD/nbuild}
APPS=$BENCH_REPO/tests/apps
unset NODE_EXTRA_CA_CERTS

# Run this script again inside a network namespace made for the run, deleted
# after, and exit with its status: nrun's bridge and NAT rules for -p, the
# peers and wrk then live there, nothing in the host's.  $1 = the namespace's
# name prefix, then the script's arguments.  Returns at once inside it.
bench_in_netns() {
    [ -z "${NRUN_BENCH_NETNS:-}" ] || return 0
    local ns=$1-$$ rc=0
    shift
    ip netns add "$ns" && ip -n "$ns" link set lo up
    # nsenter, not `ip netns exec`: that one mounts a /sys of its own, where
    # the cgroup hierarchies are absent and containers would run without them
    nsenter --net="/run/netns/$ns" env NRUN_BENCH_NETNS="$ns" bash "$0" "$@" || rc=$?
    ip netns del "$ns"
    exit $rc
}

bench_fail() { echo "$BENCH_NAME: $*" >&2; exit 1; }

# Each named command is on PATH (or in /usr/bin, /bin: docker-registry, busybox).
bench_need() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || [ -x "/usr/bin/$t" ] || [ -x "/bin/$t" ] || bench_fail "$t is not installed (make deps)"
    done
}

# PM2 (default: tests/apps' pm2) must be there; with $1 = optional, a missing
# one only empties PM2 (the pm2 rows are skipped).
bench_pm2() {
    PM2=${PM2:-$BENCH_REPO/tests/apps/node_modules/.bin/pm2}
    [ -x "$PM2" ] && return 0
    [ "${1:-}" = optional ] || bench_fail "no pm2 ($PM2) (make deps)"
    echo "$BENCH_NAME: no pm2 ($PM2): pm2 rows skipped (make deps)" >&2
    PM2=
}

# A TCP port free on 127.0.0.1, below the ephemeral range (32768-).
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
}

# Wait up to 10 s for an HTTP 2xx on 127.0.0.1:$1.
wait_port() {
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/" >/dev/null && return 0; sleep 0.1; done
    echo "bench: nothing answers on port $1" >&2
    return 1
}

# Run "$@" quietly, print the elapsed milliseconds; a failure ends the bench
# with the command's stderr.  Needs $work.
# shellcheck disable=SC2154
ms() {
    local s e
    s=$(date +%s%N)
    "$@" >/dev/null 2>"$work/err" || { echo "failed: $*" >&2; cat "$work/err" >&2; exit 1; }
    e=$(date +%s%N)
    echo $(((e - s) / 1000000))
}

# The median of the numbers on stdin (any white space between them), or of
# the arguments; "-" when there are none.
median() {
    if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi | tr -s ' \t' '\n' | grep . | sort -n |
        awk '{a[NR]=$1} END {if (!NR) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}'
}

# Install the exact versions of $1/package-lock.json (npm ci) once into the
# cache directory $2, so later runs are offline.
bench_app_cache() {
    local src=$1 app=$2
    if ! cmp -s "$src/package-lock.json" "$app/package-lock.json" 2>/dev/null || [ ! -f "$app/.nrun-complete" ]; then
        rm -rf "$app"
        mkdir -p "$app"
        cp "$src/package.json" "$src/package-lock.json" "$app/"
        (cd "$app" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
        touch "$app/.nrun-complete"
    fi
}

# Unmount everything below directory $1 (deepest first).
bench_umount_below() {
    { grep -F " $1/" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
}

# tree PID...: the pids and their descendants
tree() {
    local p c
    for p in "$@"; do
        echo "$p"
        for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree "$c"; done
    done
}

# cpu_ns PID...: nanoseconds run by every thread of the pids and their
# descendants (/proc/PID/task/*/schedstat); an argument may hold several
# pids separated by spaces.
cpu_ns() {
    local p ns=0 t
    # shellcheck disable=SC2048,SC2086
    for p in $(tree $*); do
        for t in /proc/"$p"/task/*/schedstat; do
            read -r t _ <"$t" 2>/dev/null || continue
            ns=$((ns + t))
        done
    done
    echo "$ns"
}
