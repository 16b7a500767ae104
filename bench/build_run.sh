#!/usr/bin/env bash
# nbuild vs buildah bud with RUN steps: the same Nodefile on a busybox base
# (made here, loaded into both), interleaved, several runs; medians and
# ratios for a cold build (fresh stores, the base already in them), a no-op
# rebuild, and a rebuild after one source file changed (only the steps after
# its COPY run again).  buildah: vfs storage in a temp root, --isolation
# chroot, --layers.  BuildKit (docker.io) is not run here: it needs a
# dockerd with its own data root (see issue 11 item 12).
# Targets (issue 11): no-op <= 0.1x, source change <= 0.5x, cold <= 0.8x.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}

bench_need buildah skopeo busybox
[ -x "$NBUILD" ] || bench_fail "$NBUILD missing (make build)"

work=$(mktemp -d /tmp/nrun-bench.XXXXXX)
cleanup() {
    bench_umount_below "$work"
    rm -rf "$work"
}
trap cleanup EXIT

# the base: busybox-static as /bin/sh and friends, as an OCI layout
root=$work/base-root
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
tar --numeric-owner -C "$root" -cf "$work/base.tar" .
seed=$work/seed
"$NRUN" --root "$seed" __internal mkimage -t bbase:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$work/base.tar" >/dev/null
"$NRUN" --root "$seed" save -o "$work/base.oci.tar" bbase:1 2>/dev/null ||
    { echo "bench/build_run.sh: nrun save failed" >&2; exit 1; }

ctx=$work/ctx
mkdir -p "$ctx"
echo 'console.log("v1")' >"$ctx/app.js"
cat >"$ctx/Nodefile" <<'NF'
FROM localhost/bbase:1
WORKDIR /app
RUN for i in $(seq 1 500); do echo "file $i" >/app/gen$i.txt; done && mkdir -p /var/cache/x && echo built >/var/cache/x/stamp
COPY app.js /app/
RUN wc -c /app/app.js >/app/size && rm -f /app/gen1.txt
CMD ["cat", "/app/size"]
NF

# each store gets the base before the clock starts
prep_nb() { "$NRUN" --root "$1" load -i "$work/base.oci.tar" >/dev/null 2>&1 || "$NRUN" --root "$1" load <"$work/base.oci.tar" >/dev/null
    "$NRUN" --root "$1" tag bbase:1 localhost/bbase:1 >/dev/null; }
prep_bh() { skopeo copy -q "oci-archive:$work/base.oci.tar" \
    "containers-storage:[vfs@$1/root+$1/run]localhost/bbase:1" >/dev/null; }
nb() { "$NBUILD" --root "$1" -q -t bench:1 "$ctx"; }
bh() { buildah --root "$1/root" --runroot "$1/run" --storage-driver vfs bud --isolation chroot --layers -q \
    --pull=never -t bench:1 -f "$ctx/Nodefile" "$ctx"; }

declare -A R
for i in $(seq 1 "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then order="nb bh"; else order="bh nb"; fi
    for t in $order; do
        d=$work/$t$i
        mkdir -p "$d"
        "prep_$t" "$d"
        echo 'console.log("v1")' >"$ctx/app.js"
        R[$t cold]+=" $(ms $t "$d")"
        R[$t noop]+=" $(ms $t "$d")"
        echo "console.log(\"changed $i\")" >"$ctx/app.js"
        R[$t src]+=" $(ms $t "$d")"
        [ $t = bh ] && buildah --root "$d/root" --runroot "$d/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1 || true
        bench_umount_below "$d"
        rm -rf "$d"
    done
    echo "run $i: nbuild cold/no-op/src $(echo ${R[nb cold]} | awk '{print $NF}')/$(echo ${R[nb noop]} | awk '{print $NF}')/$(echo ${R[nb src]} | awk '{print $NF}') ms;" \
        "buildah $(echo ${R[bh cold]} | awk '{print $NF}')/$(echo ${R[bh noop]} | awk '{print $NF}')/$(echo ${R[bh src]} | awk '{print $NF}') ms"
done

echo
printf '%-22s %10s %10s %8s\n' "median ($RUNS runs)" nbuild buildah ratio
for k in cold noop src; do
    n=$(echo "${R[nb $k]}" | median)
    b=$(echo "${R[bh $k]}" | median)
    printf '%-22s %8s ms %7s ms %7.3fx\n' "$k" "$n" "$b" "$(echo "$n / $b" | bc -l)"
done
