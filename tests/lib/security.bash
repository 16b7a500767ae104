# Helpers for tests/security/*.bats: probes are small C programs under
# tests/security/probes/, built statically at test time into an image layer,
# so they run in any container whatever its libc.  Every probe test asserts
# both that the attack failed and that nothing it aimed at changed on the host.
#
# A tests/security file loads this one alone: it loads common.bash and
# runtime.bash (paths are relative to the test file, one level below tests/).
load ../lib/common
load ../lib/runtime

# Build probes into "$BATS_FILE_TMPDIR/probes/bin" and a tar of them:
# $1 = output tar, $2... = probe names (tests/security/probes/NAME.c).
sec_build_probes() {
    local out=$1 d="$BATS_FILE_TMPDIR/probes" p
    shift
    mkdir -p "$d/bin"
    for p in "$@"; do
        gcc -static -O1 -Wall -o "$d/bin/$p" "$REPO/tests/security/probes/$p.c" || return 1
    done
    tar --numeric-owner -C "$d" -cf "$out" . || return 1
}

# A marker file on the host that an attack would create: fails (and removes
# it) when $1 exists.
sec_no_marker() {
    if [ -e "$1" ] || [ -L "$1" ]; then
        echo "escaped: $1 exists on the host" >&2
        rm -rf "$1"
        return 1
    fi
}

# Run "$2"... with at most 512 MiB (SEC_BOUND_MB) and $1 seconds: an unbounded read or a hang
# fails (124 for the time).  Under ASAN, which reserves a huge shadow, the
# bound is on RSS.
sec_bounded() {
    local secs=$1 mb=${SEC_BOUND_MB:-512}
    shift
    if [ -n "${ASAN_OPTIONS:-}" ]; then
        (export ASAN_OPTIONS="$ASAN_OPTIONS:hard_rss_limit_mb=$mb"; exec timeout "$secs" "$@")
    else
        (ulimit -v $((mb * 1024)); exec timeout "$secs" "$@")
    fi
}

# setup_file of a probe file: this file's store and busybox tar
# (rt_file_setup_busybox), the probes "$2"... built into
# "$BATS_FILE_TMPDIR/probes.tar", and the image $1 of both (sh, PATH=/bin).
sec_file_setup_probes() {
    local tag=$1
    shift
    rt_file_setup_busybox
    sec_build_probes "$BATS_FILE_TMPDIR/probes.tar" "$@"
    rt_bb_image "$tag" '{"Cmd":["sh"],"Env":["PATH=/bin"]}' "$BATS_FILE_TMPDIR/probes.tar"
}
