#!/usr/bin/env bash
# Container start benchmark: the full lifecycle of one container (create,
# start, run to exit, delete) running a static `true` (busybox) and
# `node -e 0`, with nrun, crun and runc on the same rootfs, interleaved in one
# run; prints medians and ratios.  Also: unpack of a gzip node layer by nrun
# vs `tar xzf` of the same blob.
#
# crun 1.8 refuses this machine's hybrid cgroup layout, so the whole timing
# loop runs inside `unshare -m --propagation private` with
# /sys/fs/cgroup/unified unmounted (crun then sees plain v1); nrun and runc
# run in that same namespace so all three see the same layout.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
bench_in_netns nrb "$@"
cd "$(dirname "$0")/.."
N=${N:-15}
bench_need crun runc jq node gzip

W=$(mktemp -d /tmp/nrun-bench.XXXXXX)
export NRUN_ROOT=$W/root
cleanup() {
    "$NRUN" rm -f $("$NRUN" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT

BATS_FILE_TMPDIR=$W
# shellcheck source=../tests/lib/runtime.bash
source tests/lib/runtime.bash
rt_busybox_tar "$W/bb.tar"
rt_node_tar "$W/node.tar"
gzip -n -c "$W/node.tar" >"$W/node.tar.gz"
"$NRUN" __internal mkimage -t bench-true:1 --config '{"Env":["PATH=/bin"]}' "$W/bb.tar" >/dev/null
"$NRUN" __internal mkimage -t bench-node:1 --config '{"Env":["PATH=/usr/bin"]}' "$W/node.tar.gz" >/dev/null
hex=$(gzip -dc "$W/node.tar.gz" | sha256sum | cut -c1-64)
ms() { echo "$1 $2" | awk '{printf "%.1f", ($2-$1)*1000}'; }

# warm the layer cache and the seccomp filter cache
"$NRUN" run --rm bench-true:1 /bin/true
"$NRUN" run --rm bench-node:1 node -e 0

# ---- bundles for crun/runc: the very same files as nrun's unpacked layers
bundle() { # NAME LAYER-HEX ARGS-JSON
    local b=$W/bundle-$1
    mkdir -p "$b"
    cp -a "$NRUN_ROOT/layers/$2" "$b/rootfs"
    (cd "$b" && crun spec)
    jq --argjson a "$3" '.process.terminal=false | .process.args=$a | .root.readonly=false' "$b/config.json" >"$b/c" &&
        mv "$b/c" "$b/config.json"
}
bundle true "$(sha256sum "$W/bb.tar" | cut -c1-64)" '["/bin/true"]'
bundle node "$hex" '["/usr/bin/node","-e","0"]'

# measure.py OUT CMD...: run CMD, append "wall_ms cpu_ms" (cpu = user+sys of the
# whole reaped process tree, from wait4's rusage: steadier than wall on a busy machine)
cat >"$W/measure.py" <<'PY'
import os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
_, status, ru = os.wait4(pid, 0)
t1 = time.monotonic()
with open(out, "a") as f:
    f.write("%.2f %.2f\n" % ((t1 - t0) * 1000, (ru.ru_utime + ru.ru_stime) * 1000))
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
PY
# ext4 without a journal (this machine's root) scans every inode freed in the
# last 30 s on each inode allocation: what the setup above deleted (temp
# trees), or a previous run's unpack section, would slow the first half of
# the loop for every runtime.  Start from a settled disk.
SETTLE=${SETTLE:-30}
echo "waiting ${SETTLE}s for inodes freed by the setup to age out (SETTLE=0 to skip)" >&2
sleep "$SETTLE"
export NRUN W N
unshare -m --propagation private bash -c '
set -euo pipefail
umount /sys/fs/cgroup/unified
# crun and runc keep their state on tmpfs (/run); the same for nrun here: a
# second store on tmpfs shows what disk metadata (container dir, overlay upper)
# costs on this shared, busy disk.
mkdir -p "$W/troot"
mount -t tmpfs -o size=1g tmpfs "$W/troot"
NRUN_ROOT=$W/troot "$NRUN" __internal mkimage -t bench-true:1 --config "{\"Env\":[\"PATH=/bin\"]}" "$W/bb.tar" >/dev/null
NRUN_ROOT=$W/troot "$NRUN" __internal mkimage -t bench-node:1 --config "{\"Env\":[\"PATH=/usr/bin\"]}" "$W/node.tar.gz" >/dev/null
NRUN_ROOT=$W/troot "$NRUN" run --rm bench-true:1 /bin/true
NRUN_ROOT=$W/troot "$NRUN" run --rm bench-node:1 node -e 0
ms() { echo "$1 $2" | awk "{printf \"%.2f\n\", (\$2-\$1)*1000}"; }
# wall ms, and CPU ms (user+sys of the whole process tree: steadier on a busy machine)
tm() { # NAME WHAT CMD...
    local f=$1.$2
    shift 2
    python3 "$W/measure.py" "$W/m.$f" "$@" </dev/null
}
for i in $(seq "$N"); do
    for what in true node; do
        if [ $what = true ]; then img=bench-true:1; cmd=(/bin/true); else img=bench-node:1; cmd=(node -e 0); fi
        # --network none: the crun/runc bundles get a new network namespace with
        # lo only, which is what none is; the default bridge adds the CNI plugin
        # chain (runtime/README.md, Networks) that they do not run.
        tm nrun $what "$NRUN" run --rm --network none $img "${cmd[@]}"
        NRUN_ROOT=$W/troot tm nrunt $what "$NRUN" run --rm --network none $img "${cmd[@]}"
        tm crun $what crun run -b "$W/bundle-$what" "c$i$what"
        tm runc $what runc run -b "$W/bundle-$what" "r$i$what"
        if [ $what = node ]; then
            tm bare node node -e 0
        fi
    done
done'

wall() { awk '{print $1}' "$W/m.$1" | median; }
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1/$2}'; }
printf '%-22s %9s %12s %9s %9s %10s %10s %14s\n' "lifecycle (median ms)" nrun "nrun(tmpfs)" crun runc \
    nrun/crun nrun/runc "tmpfs/crun"
for what in true node; do
    n=$(wall nrun.$what); t=$(wall nrunt.$what); c=$(wall crun.$what); r=$(wall runc.$what)
    printf '%-22s %9s %12s %9s %9s %9sx %9sx %13sx\n' "$what" "$n" "$t" "$c" "$r" "$(ratio "$n" "$c")" \
        "$(ratio "$n" "$r")" "$(ratio "$t" "$c")"
done
cpu() { awk '{print $2}' "$W/m.$1" | median; }
printf '%-22s %9s %12s %9s %9s\n' "CPU (median ms)" nrun "nrun(tmpfs)" crun runc
for what in true node; do
    printf '%-22s %9s %12s %9s %9s\n' "$what" "$(cpu nrun.$what)" "$(cpu nrunt.$what)" "$(cpu crun.$what)" "$(cpu runc.$what)"
done
echo "bare node -e 0: $(wall bare.node) ms wall, $(cpu bare.node) ms CPU   (N=$N interleaved runs each)"

# ---- unpack: nrun (verify blob digest + diff_id while extracting) vs tar xzf
# Run last: deleting thousands of inodes makes every inode allocation on this
# journal-less ext4 scan them for 30 s (recently_deleted), which would slow
# whatever runs next: nrun, crun and runc all create files on this disk.
unpack_small() {
    : >"$W/u.nrun"; : >"$W/u.tar"
    for i in 1 2 3 4 5; do
        rm -rf "$NRUN_ROOT/layers/$hex"
        sync
        t0=$EPOCHREALTIME; "$NRUN" __internal unpack bench-node:1 >/dev/null; t1=$EPOCHREALTIME
        ms "$t0" "$t1" >>"$W/u.nrun"; echo >>"$W/u.nrun"
        rm -rf "$W/x"; mkdir "$W/x"; sync
        t0=$EPOCHREALTIME; tar xzf "$W/node.tar.gz" -C "$W/x"; t1=$EPOCHREALTIME
        ms "$t0" "$t1" >>"$W/u.tar"; echo >>"$W/u.tar"
    done
    un=$(grep . "$W/u.nrun" | median); ut=$(grep . "$W/u.tar" | median)
    size=$(stat -c %s "$W/node.tar.gz")
    echo "unpack node layer ($((size / 1048576)) MB gzip): nrun ${un} ms, tar xzf ${ut} ms, ratio $(echo "$un $ut" | awk '{printf "%.2f", $1/$2}')x"
}

# ---- the hello example to its first HTTP response: nrun run -d -p vs bare node
# (needs the node:20-distroless base: built from NRUN_CACHE_DIR, skipped when that fails)
if ! "$NBUILD" -q -t hello:bench examples/hello >/dev/null 2>"$W/nbuild.err"; then
    echo "hello first response: skipped (nbuild failed: $(tail -1 "$W/nbuild.err"))"
    unpack_small
    exit 0
fi
# a port nobody holds, on every address (bare node listens on ::, nrun on 127.0.0.1)
free_port() { python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::", 0)); print(s.getsockname()[1])'; }
first_response() { # PORT: poll until the server answers
    for _ in $(seq 2000); do
        curl -sf --max-time 1 "http://127.0.0.1:$1/" >/dev/null 2>&1 && return 0
        sleep 0.002
    done
    return 1
}
: >"$W/h.nrun"; : >"$W/h.bare"; : >"$W/h.nrun1"
hello_nrun() { # OUT [RUN OPTIONS...]: nrun run -d of the hello image to its first response
    local out=$1 port t0 t1 id
    shift
    port=$(free_port)
    t0=$EPOCHREALTIME
    id=$("$NRUN" run -d "$@" -p "127.0.0.1:$port:3000" hello:bench)
    first_response "$port"
    t1=$EPOCHREALTIME
    ms "$t0" "$t1" >>"$out"; echo >>"$out"
    "$NRUN" rm -f "$id" >/dev/null
}
for i in $(seq "$N"); do
    hello_nrun "$W/h.nrun"
    hello_nrun "$W/h.nrun1" --workers 1
    port=$(free_port)
    t0=$EPOCHREALTIME
    (cd examples/hello && PORT=$port exec node server.js >/dev/null) &
    pid=$!
    first_response "$port"
    t1=$EPOCHREALTIME
    ms "$t0" "$t1" >>"$W/h.bare"; echo >>"$W/h.bare"
    kill "$pid"; wait "$pid" 2>/dev/null || true
done
hn=$(grep . "$W/h.nrun" | median); h1=$(grep . "$W/h.nrun1" | median); hb=$(grep . "$W/h.bare" | median)
echo "hello to first response: nrun ${hn} ms (default workers), ${h1} ms (--workers 1), bare node ${hb} ms;" \
    "ratios $(echo "$hn $hb" | awk '{printf "%.2f", $1/$2}')x / $(echo "$h1 $hb" | awk '{printf "%.2f", $1/$2}')x"

unpack_small

# ---- unpack of the real node base layer (the largest layer of node:20-distroless)
man=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="node:20-distroless") | .digest' "$NRUN_ROOT/index.json" | head -1)
if [ -n "$man" ]; then
    mf="$NRUN_ROOT/blobs/sha256/${man#sha256:}"
    cfg=$(jq -r .config.digest "$mf")
    big=$(jq -r '[.layers | to_entries[] | {i: .key, d: .value.digest, s: .value.size, t: .value.mediaType}] | max_by(.s) | "\(.i) \(.d) \(.s) \(.t)"' "$mf")
    read -r idx dg sz mt <<<"$big"
    diff=$(jq -r ".rootfs.diff_ids[$idx]" "$NRUN_ROOT/blobs/sha256/${cfg#sha256:}")
    case $mt in *zstd) tflag=--zstd ;; *gzip) tflag=-z ;; *) tflag= ;; esac
    : >"$W/b.nrun"; : >"$W/b.tar"
    for i in 1 2 3 4 5; do
        rm -rf "$NRUN_ROOT/layers/${diff#sha256:}"
        t0=$EPOCHREALTIME; "$NRUN" __internal unpack node:20-distroless >/dev/null; t1=$EPOCHREALTIME
        ms "$t0" "$t1" >>"$W/b.nrun"; echo >>"$W/b.nrun"
        rm -rf "$W/y"; mkdir "$W/y"
        t0=$EPOCHREALTIME; tar $tflag -xf "$NRUN_ROOT/blobs/sha256/${dg#sha256:}" -C "$W/y" 2>/dev/null; t1=$EPOCHREALTIME
        ms "$t0" "$t1" >>"$W/b.tar"; echo >>"$W/b.tar"
    done
    bn=$(grep . "$W/b.nrun" | median); bt=$(grep . "$W/b.tar" | median)
    echo "unpack node:20-distroless's largest layer ($((sz / 1048576)) MB, $mt): nrun ${bn} ms (digest + diff_id verified)," \
        "tar ${tflag:-} -xf ${bt} ms, ratio $(echo "$bn $bt" | awk '{printf "%.2f", $1/$2}')x"
fi
