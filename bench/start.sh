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
cd "$(dirname "$0")/.."
BUILD=${BUILD:-$PWD/build}
NRUN=$BUILD/nrun
N=${N:-15}
unset NODE_EXTRA_CA_CERTS
for t in crun runc jq node gzip; do command -v $t >/dev/null || { echo "bench/start.sh: $t missing" >&2; exit 1; }; done

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

# ---- unpack: nrun (verify blob digest + diff_id while extracting) vs tar xzf
hex=$(gzip -dc "$W/node.tar.gz" | sha256sum | cut -c1-64)
ms() { echo "$1 $2" | awk '{printf "%.1f", ($2-$1)*1000}'; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
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

export NRUN W N
unshare -m --propagation private bash -c '
set -euo pipefail
umount /sys/fs/cgroup/unified
ms() { echo "$1 $2" | awk "{printf \"%.2f\n\", (\$2-\$1)*1000}"; }
for i in $(seq "$N"); do
    for what in true node; do
        if [ $what = true ]; then img=bench-true:1; cmd=(/bin/true); else img=bench-node:1; cmd=(node -e 0); fi
        t0=$EPOCHREALTIME; "$NRUN" run --rm $img "${cmd[@]}"; t1=$EPOCHREALTIME; ms $t0 $t1 >>"$W/t.nrun.$what"
        t0=$EPOCHREALTIME; crun run -b "$W/bundle-$what" "c$i$what" </dev/null; t1=$EPOCHREALTIME; ms $t0 $t1 >>"$W/t.crun.$what"
        t0=$EPOCHREALTIME; runc run -b "$W/bundle-$what" "r$i$what" </dev/null; t1=$EPOCHREALTIME; ms $t0 $t1 >>"$W/t.runc.$what"
        if [ $what = node ]; then
            t0=$EPOCHREALTIME; node -e 0; t1=$EPOCHREALTIME; ms $t0 $t1 >>"$W/t.bare.node"
        fi
    done
done'

printf '%-22s %10s %10s %10s %12s %12s\n' "lifecycle (median ms)" nrun crun runc nrun/crun nrun/runc
for what in true node; do
    n=$(median <"$W/t.nrun.$what"); c=$(median <"$W/t.crun.$what"); r=$(median <"$W/t.runc.$what")
    printf '%-22s %10s %10s %10s %11sx %11sx\n' "$what" "$n" "$c" "$r" \
        "$(echo "$n $c" | awk '{printf "%.2f", $1/$2}')" "$(echo "$n $r" | awk '{printf "%.2f", $1/$2}')"
done
echo "bare node -e 0: $(median <"$W/t.bare.node") ms   (N=$N interleaved runs each)"
