#!/usr/bin/env bash
# nbuild vs buildah bud --layers vs docker build (BuildKit) on examples/express:
# its own Dockerfile (npm ci --omit=dev from the lock file in a node:20 builder
# stage with a cache mount and an optional npmrc secret, a node:20-slim final
# stage).  Interleaved runs of: a cold build (fresh store or pruned cache, the
# base images already loaded), a no-op rebuild, one source file changed
# (server.js), one dependency changed (package.json + lock file of
# bench/express-dep: ms added).  Prints medians and ratios.
#
# Offline and fair: npm in every build reaches only a registry on 127.0.0.1
# (tests/lib/npm_registry.py, plain HTTP) serving the tarballs `make deps`
# cached, named by the same .npmrc secret; every build container is on the
# host network.  The base images are nbuild's own (made from the store's
# cache), loaded into buildah's vfs store and into the docker daemon with
# skopeo.  dockerd (Debian's docker.io) is started here with its own data
# root, exec root, pidfile and socket in a temp dir, no bridge and no
# iptables changes, and stopped by its PID at exit.
# Targets (issue 11): no-op <= 0.1x BuildKit, source change <= 0.5x, cold <= 0.8x.
#
# MODE=colddep runs only the cold build and the dependency change (on the
# cold build's store); TOOLS="nb bk" picks the tools (default: all three);
# NBUILD_BASE=another nbuild adds it as tool n0 (an A/B in the same rounds);
# BASES=DIR takes node20.tar and node20-slim.tar from DIR (a previous run's
# base images, kept with KEEP_BASES=DIR) instead of making them.
# Besides wall time, the CPU time (user+sys) of each build is printed:
# nbuild's and buildah's own and their waited descendants' (the step's
# processes included), dockerd's own and its waited children's (BuildKit
# runs in dockerd, its runc children run the steps).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$repo/build}
NRUN=${NRUN:-$BUILD/nrun}
NBUILD=${NBUILD:-$BUILD/nbuild}
RUNS=${RUNS:-3}
MODE=${MODE:-all}
export NRUN_CACHE_DIR=${NRUN_CACHE_DIR:-/var/cache/nrun-test}
TARBALLS=$NRUN_CACHE_DIR/npm-tarballs
DOCKER=/usr/bin/docker DOCKERD=/usr/sbin/dockerd
unset NODE_EXTRA_CA_CERTS

for t in buildah skopeo python3 "$DOCKER" "$DOCKERD"; do
    command -v "$t" >/dev/null || { echo "bench/build_express.sh: $t is not installed (make deps; docker.io for $DOCKER)" >&2; exit 1; }
done
[ -x "$NBUILD" ] || { echo "bench/build_express.sh: $NBUILD missing (make build)" >&2; exit 1; }
"$repo/tests/lib/npm_tarballs.sh" "$TARBALLS" >/dev/null ||
    { echo "bench/build_express.sh: the npm tarballs are not cached in $TARBALLS (make deps)" >&2; exit 1; }

work=$(mktemp -d /tmp/nrun-bench.XXXXXX)
dpid= rpid=
cleanup() {
    [ -z "$rpid" ] || kill "$rpid" 2>/dev/null || true
    if [ -n "$dpid" ]; then
        kill "$dpid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$dpid" 2>/dev/null || true
    fi
    { grep -F " $work/" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$work"
}
trap cleanup EXIT

# the registry, plain HTTP on 127.0.0.1
python3 "$repo/tests/lib/npm_registry.py" "$TARBALLS" "$work/reg.port" &
rpid=$!
for _ in $(seq 200); do [ -s "$work/reg.port" ] && break; sleep 0.05; done
printf 'registry=http://127.0.0.1:%s/\nfetch-retries=0\nupdate-notifier=false\n' "$(cat "$work/reg.port")" >"$work/npmrc"

# dockerd of our own
dk=$work/docker
mkdir -p "$dk/data" "$dk/exec" "$dk/config"
echo '{}' >"$dk/daemon.json"
"$DOCKERD" --data-root "$dk/data" --exec-root "$dk/exec" --pidfile "$dk/pid" -H "unix://$dk/sock" \
    --config-file "$dk/daemon.json" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --ip-forward=false --userland-proxy=false >"$dk/log" 2>&1 &
dpid=$!
export DOCKER_HOST=unix://$dk/sock DOCKER_CONFIG=$dk/config DOCKER_BUILDKIT=1
for _ in $(seq 300); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.1; done
"$DOCKER" info >/dev/null 2>&1 || { echo "bench/build_express.sh: dockerd did not start:" >&2; tail -5 "$dk/log" >&2; exit 1; }

# the base images, made once by nbuild and exported as OCI archives
seed=$work/seed
if [ -n "${BASES:-}" ]; then
    cp "$BASES/node20.tar" "$BASES/node20-slim.tar" "$work/"
else
    echo "making the base images..." >&2
    "$NRUN" --root "$seed" base node:20 node:20-slim >/dev/null 2>"$work/base.log" || { cat "$work/base.log" >&2; exit 1; }
    echo "base images ready" >&2
    for i in node:20 node:20-slim; do "$NRUN" --root "$seed" save -o "$work/${i/:/}.tar" "$i"; done
    [ -z "${KEEP_BASES:-}" ] || { mkdir -p "$KEEP_BASES" && cp "$work/node20.tar" "$work/node20-slim.tar" "$KEEP_BASES/"; }
fi
for i in node:20 node:20-slim; do
    skopeo copy -q "oci-archive:$work/${i/:/}.tar" "docker-daemon:$i" --dest-daemon-host "unix://$dk/sock" >/dev/null
done

ctx=$work/ctx
cp -a "$repo/examples/express" "$ctx"
orig_js=$(cat "$ctx/server.js")
reset_ctx() {
    cp "$repo/examples/express/package.json" "$repo/examples/express/package-lock.json" "$ctx/"
    printf '%s\n' "$orig_js" >"$ctx/server.js"
}

tck=$(getconf CLK_TCK)
dockerd_cpu_ms() { # dockerd's user+sys, its reaped children's included
    awk -v t="$tck" '{print int(($14 + $15 + $16 + $17) * 1000 / t)}' "/proc/$dpid/stat"
}
ms() { # run "$@" quietly, print elapsed milliseconds; its CPU ms go to $work/cpu
    local s e c0=0
    [ "$1" != bk ] || c0=$(dockerd_cpu_ms)
    s=$(date +%s%N)
    # a subshell: its reaped children's CPU (fields 16, 17) is the build's
    ( "$@" >"$work/out" 2>&1 || exit 1
      awk -v t="$tck" '{print int(($16 + $17) * 1000 / t)}' "/proc/$BASHPID/stat" >"$work/cpu" ) ||
        { echo "failed: $*" >&2; tail -20 "$work/out" >&2; exit 1; }
    e=$(date +%s%N)
    [ "$1" != bk ] || echo $(($(dockerd_cpu_ms) - c0)) >"$work/cpu"
    echo $(((e - s) / 1000000))
}
# each store gets the base images before the clock starts, unpacked as
# docker load and skopeo's copy into containers-storage unpack them (nrun
# load only stores the blobs; the first container of an image unpacks it)
prep_nb() { local i; for i in node:20 node:20-slim; do "$NRUN" --root "$1" load -q -i "$work/${i/:/}.tar" >/dev/null; done
    "$NRUN" --root "$1" run --rm --net none node:20-slim node -e 0 >/dev/null
    "$NRUN" --root "$1" run --rm --net none node:20 node -e 0 >/dev/null; }
prep_bh() { local i; mkdir -p "$1/tmp"
    for i in node:20 node:20-slim; do
        skopeo copy -q "oci-archive:$work/${i/:/}.tar" "containers-storage:[vfs@$1/root+$1/run]docker.io/library/$i" >/dev/null
    done; }
prep_bk() { "$DOCKER" builder prune -af >/dev/null; }
nb() { "$NBUILD" --root "$1" -q --secret "id=npmrc,src=$work/npmrc" -t bench:1 "$ctx"; }
n0() { "$NBUILD_BASE" --root "$1" -q --secret "id=npmrc,src=$work/npmrc" -t bench:1 "$ctx"; }
prep_n0() { prep_nb "$@"; }
done_n0() { :; }
bh() { TMPDIR=$1/tmp buildah --root "$1/root" --runroot "$1/run" --storage-driver vfs bud --isolation chroot --layers -q \
    --pull=never --network host --secret "id=npmrc,src=$work/npmrc" -t bench:1 -f "$ctx/Dockerfile" "$ctx"; }
bk() { "$DOCKER" build -q --network host --secret "id=npmrc,src=$work/npmrc" -t bench:1 "$ctx"; }
done_nb() { :; }
done_bh() { buildah --root "$1/root" --runroot "$1/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1 || true; }
done_bk() { "$DOCKER" rmi -f bench:1 >/dev/null 2>&1 || true; "$DOCKER" builder prune -af >/dev/null; }

declare -A R C
read -r -a tools <<<"${TOOLS:-nb bh bk}"
[ -z "${NBUILD_BASE:-}" ] || tools+=(n0)
kinds="cold noop src dep"
[ "$MODE" != colddep ] || kinds="cold dep"
last() { echo "${R[$1]}" | awk '{print $NF}'; }
lastc() { echo "${C[$1]}" | awk '{print $NF}'; }
step() { # tool kind dir
    R[$1 $2]+=" $(ms "$1" "$3")"
    C[$1 $2]+=" $(cat "$work/cpu")"
}
for i in $(seq 1 "$RUNS"); do
    n=${#tools[@]}
    order=$(for k in $(seq 0 $((n - 1))); do echo "${tools[$(((k + i) % n))]}"; done)
    for t in $order; do
        d=$work/$t$i
        mkdir -p "$d"
        reset_ctx
        "prep_$t" "$d"
        step "$t" cold "$d"
        if [ "$MODE" != colddep ]; then
            step "$t" noop "$d"
            echo "// changed $i" >>"$ctx/server.js"
            step "$t" src "$d"
        fi
        cp "$here/express-dep/package.json" "$here/express-dep/package-lock.json" "$ctx/"
        step "$t" dep "$d"
        "done_$t" "$d"
        { grep -F " $d/" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
        rm -rf "$d"
    done
    line="run $i (${kinds// //} ms, wall:cpu):"
    for t in "${tools[@]}"; do
        line+=" $t"
        sep=" "
        for k in $kinds; do line+="$sep$(last "$t $k"):$(lastc "$t $k")"; sep=/; done
    done
    echo "$line"
done

median() { tr ' ' '\n' | { grep . || true; } | sort -n |
    awk '{a[NR]=$1} END {if (NR) print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && echo "$1 / $2" | bc -l || echo 0; }
echo
name() { case $1 in nb) echo nbuild ;; n0) echo nbuild-base ;; bh) echo buildah ;; bk) echo BuildKit ;; esac; }
for what in wall cpu; do
    line=$(printf '%-16s' "$what median ($RUNS)")
    for t in "${tools[@]}"; do line+=$(printf ' %12s' "$(name "$t")"); done
    for t in "${tools[@]}"; do [ "$t" = bk ] || line+=$(printf ' %12s' "$t/bk"); done
    echo "$line"
    for k in $kinds; do
        declare -A M=()
        for t in "${tools[@]}"; do
            if [ $what = wall ]; then M[$t]=$(echo "${R[$t $k]:-}" | median); else M[$t]=$(echo "${C[$t $k]:-}" | median); fi
        done
        line=$(printf '%-16s' "$k")
        for t in "${tools[@]}"; do line+=$(printf ' %9s ms' "${M[$t]}"); done
        for t in "${tools[@]}"; do [ "$t" = bk ] || line+=$(printf ' %11.3fx' "$(ratio "${M[$t]}" "${M[bk]:-}")"); done
        echo "$line"
    done
done
