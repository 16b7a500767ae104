#!/usr/bin/env bash
# nbuild vs buildah bud: the same Dockerfile-compatible Nodefile (FROM scratch,
# COPY of an app with a real node_modules tree of ~2,600 files), interleaved,
# several runs; prints medians and ratios for a cold build (fresh store) and a
# no-op rebuild (same store, nothing changed).  buildah uses vfs storage in a
# temp root, --isolation chroot and --layers (its layer cache).
# Targets (issue 2): nbuild no-op <= 0.1x buildah, cold <= 0.5x.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-5}
CACHE=${NRUN_BENCH_CACHE:-/var/cache/nrun-bench}

bench_need buildah
[ -x "$NBUILD" ] || bench_fail "$NBUILD missing (make build)"

# The app: exact versions from bench/app/package-lock.json, installed once
# (npm ci) into the cache so later runs are offline.
app=$CACHE/app
bench_app_cache "$here/app" "$app"

work=$(mktemp -d /tmp/nrun-bench.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
ctx=$work/ctx
mkdir -p "$ctx"
cp -a "$app/package.json" "$app/package-lock.json" "$app/node_modules" "$ctx/"
cat >"$ctx/server.js" <<'JS'
const express = require('express');
const app = express();
app.get('/', (req, res) => res.send('hello'));
app.listen(3000);
JS
cat >"$ctx/Nodefile" <<'NF'
FROM scratch
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
COPY server.js ./
EXPOSE 3000
CMD ["node", "server.js"]
NF
files=$(find "$ctx" -type f | wc -l)
echo "context: $files files, $(du -sh "$ctx" | cut -f1)"

nb() { "$NBUILD" --root "$1" -q -t bench:1 "$ctx"; }
bh() { buildah --root "$1/root" --runroot "$1/run" --storage-driver vfs bud --isolation chroot --layers -q \
    -t bench:1 -f "$ctx/Nodefile" "$ctx"; }

nb_cold=() nb_noop=() bh_cold=() bh_noop=()
for i in $(seq 1 "$RUNS"); do
    # Alternate who goes first so neither always gets the warmer page cache.
    if [ $((i % 2)) = 1 ]; then order="nb bh"; else order="bh nb"; fi
    for t in $order; do
        d=$work/$t$i
        mkdir -p "$d"
        c=$(ms $t "$d")
        n=$(ms $t "$d")
        if [ $t = nb ]; then nb_cold+=("$c") nb_noop+=("$n"); else bh_cold+=("$c") bh_noop+=("$n"); fi
        rm -rf "$d"
    done
    echo "run $i: nbuild cold ${nb_cold[-1]} ms, no-op ${nb_noop[-1]} ms; buildah cold ${bh_cold[-1]} ms, no-op ${bh_noop[-1]} ms"
done

nc=$(median "${nb_cold[@]}") nn=$(median "${nb_noop[@]}") bc=$(median "${bh_cold[@]}") bn=$(median "${bh_noop[@]}")
echo
printf '%-22s %10s %10s %8s %8s\n' "median of $RUNS runs" nbuild buildah ratio target
awk -v a="$nc" -v b="$bc" 'BEGIN {printf "%-22s %8d ms %7d ms %7.3fx %8s\n", "cold build", a, b, a / b, "<=0.5x"}'
awk -v a="$nn" -v b="$bn" 'BEGIN {printf "%-22s %8d ms %7d ms %7.3fx %8s\n", "no-op rebuild", a, b, a / b, "<=0.1x"}'
