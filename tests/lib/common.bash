# Shared helpers for the bats end-to-end tests.  Each test file gets its own
# store root under /tmp; downloads for base images are shared between test
# files (and runs) through NRUN_CACHE_DIR so only the first build is online.
: "${BUILD:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}"
NRUN=${NRUN:-$BUILD/nrun}
NBUILD=${NBUILD:-$BUILD/nbuild}
export NRUN_CACHE_DIR=${NRUN_CACHE_DIR:-/var/cache/nrun-test}
unset NODE_EXTRA_CA_CERTS
REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# A fresh store root for this test file (call from setup_file).
nr_make_root() {
    export NRUN_ROOT
    NRUN_ROOT=$(mktemp -d /tmp/nrun-test.XXXXXX)
}

# Remove the root made by nr_make_root; refuses anything else.
nr_remove_root() {
    case ${NRUN_ROOT:-} in
    /tmp/nrun-test.*) ;;
    *) return 0 ;;
    esac
    # Nothing may stay mounted below the root.
    grep -F " $NRUN_ROOT/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$NRUN_ROOT"
}

# Hash of every file of a tree (names, symlink targets, modes, mtimes, contents): "the store is
# unchanged".  A directory's st_size is left out: ext4 grows a directory's
# blocks when entries are added and never shrinks them when they are removed.
nr_tree_hash() {
    (cd "$1" && find . -path ./cache -prune -o -print0 | LC_ALL=C sort -z |
        xargs -0 stat -c '%N %f %Y' | sha256sum && find . -path ./cache -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum) | sha256sum | cut -c1-64
}

# An image in the store by its tag ($1 = "name:tag"): its blobs' paths and
# config, for the build tests.
blob() { echo "$NRUN_ROOT/blobs/sha256/${1#sha256:}"; }
manifest_of() {
    jq -r --arg r "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$r) | .digest' \
        "$NRUN_ROOT/index.json"
}
config_of() { jq -r .config.digest "$(blob "$(manifest_of "$1")")"; }
# jq expression $2 over the config of image $1, compact
cfg() { jq -c "$2" "$(blob "$(config_of "$1")")"; }
