# Shared helpers for the bats end-to-end tests.  Each test file gets its own
# store root under /tmp; downloads for base images are shared between test
# files (and runs) through NRUN_CACHE_DIR so only the first build is online.
: "${BUILD:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}"
NRUN=${NRUN:-$BUILD/nrun}
NBUILD=${NBUILD:-$BUILD/nbuild}
export NRUN_CACHE_DIR=${NRUN_CACHE_DIR:-/var/cache/nrun-test}
unset NODE_EXTRA_CA_CERTS
REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# A fresh store root for this test file (call from setup_file), and a
# network namespace of its own (DESIGN.md): every `$NRUN` but `supervise`
# (the supervisor on the host, tested with the host's loopback) runs in it,
# so the bridge, the NAT rules and the container addresses nrun makes live
# there and vanish with it.  nr_in_ns runs a command there (curl a -p port).
nr_make_root() {
    export NRUN_ROOT NR_NETNS NRUN
    NRUN_ROOT=$(mktemp -d /tmp/nrun-test.XXXXXX)
    NR_NETNS=nrt-${NRUN_ROOT##*.}
    ip netns add "$NR_NETNS"
    ip -n "$NR_NETNS" link set lo up
    local real=${NR_REAL_NRUN:-$NRUN}
    export NR_REAL_NRUN=$real
    NRUN=$NRUN_ROOT.nrun
    printf '#!/bin/sh\ncase "$1" in supervise) exec %s "$@" ;; esac\nexec nsenter --net=/run/netns/%s %s "$@"\n' \
        "$real" "$NR_NETNS" "$real" >"$NRUN"
    chmod 755 "$NRUN"
}
nr_in_ns() { nsenter --net="/run/netns/$NR_NETNS" "$@"; }

# dnsname's directory (its dnsmasq's config, hosts file and pidfile) for
# network $1 of this store: named by the conflist's "nrunInstance"; empty
# when the network has no DNS.
nr_dns_dir() {
    local i
    i=$(jq -r '[.plugins[] | select(.type == "dnsname")][0] | if . == null then "" else (.nrunInstance // "") end' \
        "$NRUN_ROOT/networks/$1.conflist" 2>/dev/null) || i=
    [ -n "$i" ] && echo "/run/containers/cni/dnsname/$i"
    return 0
}
# The directory nrun names for network $1 of this store whatever its conflist
# holds now (a test may have spoilt or removed it): "nrun-" and 16 hex of
# sha256(<absolute store path> NUL <name>), as runtime/net_conf.c makes it.
nr_dns_dir_made() {
    local h
    h=$(printf '%s\0%s' "$(realpath "$NRUN_ROOT")" "$1" | sha256sum | cut -c1-16)
    echo "/run/containers/cni/dnsname/nrun-$h"
}

# Remove the root made by nr_make_root; refuses anything else.
nr_remove_root() {
    case ${NRUN_ROOT:-} in
    /tmp/nrun-test.*) ;;
    *) return 0 ;;
    esac
    # Nothing may stay mounted below the root.
    grep -F " $NRUN_ROOT/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
    # dnsname's dnsmasq of this file's networks, then the namespace
    local f n d p
    for f in "$NRUN_ROOT"/networks/*.conflist "$NRUN_ROOT"/networks/ipam/*/; do
        [ -e "$f" ] || continue
        n=$(basename "$f" .conflist)
        for d in $(nr_dns_dir "$n") $(nr_dns_dir_made "$n"); do
            [ -d "$d" ] || continue # (the default network has no dnsmasq)
            p=$(cat "$d/pidfile" 2>/dev/null) || p=
            if [ -n "$p" ] && grep -qx dnsmasq "/proc/$p/comm" 2>/dev/null; then kill "$p" 2>/dev/null || true; fi
            rm -rf "$d"
        done
    done
    [ -z "${NR_NETNS:-}" ] || ip netns del "$NR_NETNS" 2>/dev/null || true
    rm -f "$NRUN_ROOT.nrun"
    rm -rf "$NRUN_ROOT"
}

# Hash of every file of a tree (names, symlink targets, modes, mtimes, contents): "the store is
# unchanged".  A directory's st_size is left out: ext4 grows a directory's
# blocks when entries are added and never shrinks them when they are removed.
# Blobs and unpacked layers are hashed by size and inode, not read.
nr_tree_hash() {
    # file contents but of the content-addressed blobs and unpacked layers
    # (hundreds of MB in a store with node images, read twice per check),
    # which nothing rewrites in place: theirs show as size and inode
    (cd "$1" && find . -path ./cache -prune -o -print0 | LC_ALL=C sort -z |
        xargs -0 stat -c '%N %f %Y' | sha256sum &&
        find . \( -path ./cache -o -path ./blobs -o -path ./layers \) -prune -o -type f -print0 | LC_ALL=C sort -z |
        xargs -0 -r sha256sum | sha256sum &&
        find ./blobs ./layers -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 -r stat -c '%n %s %i' |
        sha256sum) | sha256sum | cut -c1-64
}

# An image in the store by its tag ($1 = "name:tag"): its blobs' paths and
# config, for the build tests.
blob() { echo "$NRUN_ROOT/blobs/sha256/${1#sha256:}"; }
manifest_of() {
    jq -r --arg r "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$r) | .digest' \
        "$NRUN_ROOT/index.json"
}
config_of() { jq -r .config.digest "$(blob "$(manifest_of "$1")")"; }
# image $1 as if this store had made it (the mark bld_base_write leaves on a
# base it makes, cache/made-bases/<hex>): a stand-in for a made base
nr_mark_made() {
    local d
    d=$("$NRUN" image inspect "$1" | jq -r '.[0].Digest')
    [[ $d =~ ^sha256:[0-9a-f]{64}$ ]] || return 1
    mkdir -p "$NRUN_ROOT/cache/made-bases"
    : >"$NRUN_ROOT/cache/made-bases/${d#sha256:}"
}
# jq expression $2 over the config of image $1, compact
cfg() { jq -c "$2" "$(blob "$(config_of "$1")")"; }
