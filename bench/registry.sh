#!/usr/bin/env bash
# nrun push / pull vs `skopeo copy`, against a docker-registry on 127.0.0.1
# that the script starts (and stops) itself.  The image: an express app
# (examples/express when it exists, else bench/app's pinned dependencies)
# on a node layer (the host's node binary and its libraries), so a node
# layer, a node_modules layer and the app; built once with nbuild, exported
# as an OCI layout for skopeo.  Interleaved rounds (who goes first
# alternates), each into a fresh repository:
#   push       every blob uploaded (nrun push vs skopeo copy oci: -> docker://)
#   no-change  the same push again: every blob is there (HEAD only)
#   pull       into an empty store (nrun pull vs skopeo copy docker:// -> oci:)
# Prints medians and ratios.  Targets (issue 14): push, pull <= 1.0x skopeo;
# no-change push <= 0.5x.  INDEX=1: the same for a two-platform image (an
# OCI index of the image as linux/amd64 and an "arm64" image on the same
# layers with its own config): nrun push / pull --all-platforms vs
# skopeo copy --all --preserve-digests.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-5}
CACHE=${NRUN_BENCH_CACHE:-/var/cache/nrun-bench}

bench_need skopeo docker-registry node
[ -x "$NRUN" ] && [ -x "$NBUILD" ] || bench_fail "build nrun and nbuild first (make build)"

work=$(mktemp -d /tmp/nrun-bench-reg.XXXXXX)
regpid=
cleanup() {
    if [ -n "$regpid" ]; then kill "$regpid" 2>/dev/null; wait "$regpid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT

# ---- the app ----
ctx=$work/ctx
mkdir -p "$ctx"
if [ -f "$here/../examples/express/package-lock.json" ]; then
    src=$here/../examples/express
    app=$CACHE/express
else
    src=$here/app
    app=$CACHE/app
fi
bench_app_cache "$src" "$app"
cp -a "$app/package.json" "$app/package-lock.json" "$app/node_modules" "$ctx/"
if [ "$src" != "$here/app" ]; then
    (cd "$src" && find . -maxdepth 1 -type f ! -name Nodefile ! -name Dockerfile ! -name .dockerignore -exec cp {} "$ctx/" \;)
else
    echo "require('express')().get('/', (q, r) => r.send('hello')).listen(3000);" >"$ctx/server.js"
fi
# the node layer: the host's node and the libraries it loads
nroot=$work/noderoot
n=$(readlink -f "$(command -v node)")
mkdir -p "$nroot/usr/local/bin" "$nroot/tmp" "$nroot/etc"
cp "$n" "$nroot/usr/local/bin/node"
for lib in $(ldd "$n" | grep -o '/[^ ]*'); do mkdir -p "$nroot$(dirname "$lib")"; cp -L "$lib" "$nroot$lib"; done
# gzip as every base in a registry is (docker's, nbuild's): an uncompressed
# layer would make skopeo compress it on push (as docker and podman do) and
# nrun move 2.5x the bytes on pull, so the rows would not move the same blobs
tar --numeric-owner -C "$nroot" -cf - . | gzip -n >"$work/node.tar.gz"
store=$work/store
"$NRUN" --root "$store" __internal mkimage -t benchnode:1 --config '{"Env":["PATH=/usr/local/bin:/usr/bin:/bin"]}' \
    "$work/node.tar.gz" >/dev/null
cat >"$ctx/Nodefile" <<'NF'
FROM benchnode:1
WORKDIR /app
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
COPY *.js ./
CMD ["node", "server.js"]
NF
"$NBUILD" --root "$store" -q -t app:1 --output "oci:$work/layout" "$ctx" >/dev/null
echo "image: $(jq '.layers | length' "$store/blobs/sha256/$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="app:1") | .digest' "$store/index.json" | cut -c8-)") layers," \
    "$(du -sh "$work/layout/blobs" | cut -f1) compressed"
ALL=
if [ "${INDEX:-0}" = 1 ]; then
    # the layout's tag "1" becomes an index of two platforms, loaded into the store as app:1
    lay=$work/layout b=$work/layout/blobs/sha256
    amd=$(jq -r '.manifests[0].digest' "$lay/index.json")
    cfg=$(jq -r '.config.digest' "$b/${amd#sha256:}")
    put() { local d; d=sha256:$(sha256sum <"$1" | cut -c1-64); mv "$1" "$b/${d#sha256:}"; echo "$d"; }
    size() { stat -c %s "$b/${1#sha256:}"; }
    jq -cj '.architecture="arm64"' "$b/${cfg#sha256:}" >"$work/t"
    armcfg=$(put "$work/t")
    jq -cj --arg d "$armcfg" --argjson s "$(size "$armcfg")" '.config.digest=$d | .config.size=$s' "$b/${amd#sha256:}" >"$work/t"
    arm=$(put "$work/t")
    jq -ncj --arg a "$amd" --argjson asz "$(size "$amd")" --arg r "$arm" --argjson rsz "$(size "$arm")" \
        '{schemaVersion:2, mediaType:"application/vnd.oci.image.index.v1+json", manifests:[
          {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$a,size:$asz,platform:{os:"linux",architecture:"amd64"}},
          {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$r,size:$rsz,platform:{os:"linux",architecture:"arm64"}}]}' >"$work/t"
    idx=$(put "$work/t")
    jq -nc --arg d "$idx" --argjson s "$(size "$idx")" '{schemaVersion:2, manifests:[{mediaType:"application/vnd.oci.image.index.v1+json",
        digest:$d, size:$s, annotations:{"org.opencontainers.image.ref.name":"1"}}]}' >"$lay/index.json"
    "$NRUN" --root "$store" load -q -i "$lay" -n app:1
    ALL="--all --preserve-digests"
    echo "two platforms: index $idx"
fi

# ---- the registry: a fresh one (empty storage) per tool and round, so no
# tool can mount a blob another round uploaded (skopeo remembers where blobs
# are and would mount them) ----
reg_start() {
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    reg=127.0.0.1:$port
    rm -rf "$work/reg"
    mkdir -p "$work/reg"
    cat >"$work/reg/config.yml" <<EOC
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/reg/data}}
http: {addr: $reg}
EOC
    /usr/bin/docker-registry serve "$work/reg/config.yml" >"$work/reg/log" 2>&1 &
    regpid=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://$reg/v2/" && return 0; sleep 0.1; done
    echo "docker-registry did not start" >&2
    exit 1
}
reg_stop() {
    kill "$regpid" 2>/dev/null || true
    wait "$regpid" 2>/dev/null || true
    regpid=
}

nr_push() { "$NRUN" --root "$store" push -q app:1 "$reg/$1/app:1"; }
sk_push() { skopeo copy -q $ALL --dest-tls-verify=false "oci:$work/layout:1" "docker://$reg/$1/app:1"; }
nr_pull() { "$NRUN" --root "$work/pull-$1" pull -q ${ALL:+--all-platforms} "$reg/$1/app:1"; }
sk_pull() { skopeo copy -q $ALL --src-tls-verify=false "docker://$reg/$1/app:1" "oci:$work/pull-$1:1"; }

declare -A r
for i in $(seq 1 "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then order="nr sk"; else order="sk nr"; fi
    for t in $order; do
        repo=$t$i
        reg_start
        r[$t-push]+="$(ms ${t}_push "$repo") "
        r[$t-nochange]+="$(ms ${t}_push "$repo") "
        sync
        r[$t-pull]+="$(ms ${t}_pull "$repo") "
        rm -rf "$work/pull-$repo"
        reg_stop
    done
    echo "round $i: push nrun $(echo ${r[nr-push]} | awk '{print $NF}') / skopeo $(echo ${r[sk-push]} | awk '{print $NF}') ms," \
        "no-change $(echo ${r[nr-nochange]} | awk '{print $NF}') / $(echo ${r[sk-nochange]} | awk '{print $NF}') ms," \
        "pull $(echo ${r[nr-pull]} | awk '{print $NF}') / $(echo ${r[sk-pull]} | awk '{print $NF}') ms"
done

echo
printf '%-22s %10s %10s %8s %8s\n' "median of $RUNS rounds" nrun skopeo ratio target
for k in push:"<=1.0x" nochange:"<=0.5x" pull:"<=1.0x"; do
    name=${k%%:*} target=${k#*:}
    a=$(median ${r[nr-$name]}) b=$(median ${r[sk-$name]})
    awk -v n="$name" -v a="$a" -v b="$b" -v t="$target" \
        'BEGIN {printf "%-22s %8d ms %7d ms %7.2fx %8s\n", n, a, b, a / b, t}'
done
