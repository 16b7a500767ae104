#!/usr/bin/env bats
# `nrun cp` enters a container's files from the host, in both directions.
# Every path in the container must resolve inside its root: symlinks to /,
# "..", relative climbs and /proc magic links must neither read a host file
# nor write one, also while the container swaps a directory for a symlink
# during the copy.  Each probe checks the host file it aimed at.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_bb
    export SECRET_DIR
    SECRET_DIR=$(mktemp -d /tmp/nrun-cp-secret.XXXXXX)
    echo HOST-SECRET >"$SECRET_DIR/secret"
    echo HOST-VICTIM >"$SECRET_DIR/victim"
    rt_run -d --name cpt bb:1 sh -c "
        ln -s / /tmp/escape; ln -s ../../../../../.. /tmp/up; ln -s /proc/1/root /tmp/magic
        mkdir -p /tmp/tree/sub; echo in-tree >/tmp/tree/sub/f; ln -s / /tmp/tree/rootlink
        mkdir -p $SECRET_DIR; ln -s $SECRET_DIR/victim /tmp/leaf
        sleep 1000" >/dev/null
    for _ in $(seq 1 50); do "$NRUN" exec cpt test -L /tmp/leaf && break; sleep 0.1; done
}

teardown_file() {
    rt_rm_all
    rt_assert_clean
    case ${SECRET_DIR:-} in /tmp/nrun-cp-secret.*) rm -rf "$SECRET_DIR" ;; esac
    nr_remove_root
}

setup() {
    OUT=$(mktemp -d "$BATS_FILE_TMPDIR/out.XXXXXX")
}

# The host's secret was not copied anywhere under OUT.
no_secret_out() {
    ! grep -rqs HOST-SECRET "$OUT" || false
}

@test "cp out: a symlink to / in the container does not reach the host's files" {
    run "$NRUN" cp "cpt:/tmp/escape$SECRET_DIR/secret" "$OUT/x"
    [ "$status" -ne 0 ]
    no_secret_out
}

@test "cp out: .. and a relative climb stop at the container's root" {
    run "$NRUN" cp "cpt:/../../../..$SECRET_DIR/secret" "$OUT/x"
    [ "$status" -ne 0 ]
    run "$NRUN" cp "cpt:/tmp/up$SECRET_DIR/secret" "$OUT/y"
    [ "$status" -ne 0 ]
    no_secret_out
}

@test "cp out: /proc magic links (/proc/1/root, /proc/self/cwd, a link to one) are refused" {
    for p in /proc/1/root /proc/self/root /proc/self/cwd/../../.. /tmp/magic; do
        run "$NRUN" cp "cpt:$p$SECRET_DIR/secret" "$OUT/z"
        [ "$status" -ne 0 ]
    done
    no_secret_out
}

@test "cp out: a tree's symlinks are copied as symlinks, never followed" {
    run "$NRUN" cp cpt:/tmp/tree "$OUT"
    [ "$status" -eq 0 ]
    [ "$(cat "$OUT/tree/sub/f")" = in-tree ]
    [ -L "$OUT/tree/rootlink" ]
    [ "$(readlink "$OUT/tree/rootlink")" = / ]
    [ "$(find "$OUT" -type f | wc -l)" -eq 1 ]
}

@test "cp in: a symlink to / or a climb in the destination writes inside the container" {
    tok=cp-in-$RANDOM$RANDOM
    echo payload >"$OUT/p"
    run "$NRUN" cp "$OUT/p" "cpt:/tmp/escape/tmp/$tok"
    [ "$status" -eq 0 ]
    sec_no_marker "/tmp/$tok"
    [ "$("$NRUN" exec cpt cat "/tmp/$tok")" = payload ]
    run "$NRUN" cp "$OUT/p" "cpt:/tmp/up/tmp/$tok.2"
    [ "$status" -eq 0 ]
    sec_no_marker "/tmp/$tok.2"
    run "$NRUN" cp "$OUT/p" "cpt:/../../tmp/$tok.3"
    sec_no_marker "/tmp/$tok.3"
    run "$NRUN" cp "$OUT/p" "cpt:/proc/1/root/tmp/$tok.4"
    [ "$status" -ne 0 ]
    sec_no_marker "/tmp/$tok.4"
}

@test "cp in: a destination that is a symlink to a host path replaces the link, the host file stays" {
    echo payload >"$OUT/p"
    run "$NRUN" cp "$OUT/p" cpt:/tmp/leaf
    [ "$status" -eq 0 ]
    [ "$(cat "$SECRET_DIR/victim")" = HOST-VICTIM ]
    [ "$("$NRUN" exec cpt cat /tmp/leaf)" = payload ]
}

@test "cp both ways while the container swaps a directory for a symlink to /" {
    tok=cp-race-$RANDOM$RANDOM
    # the swapper runs inside the container until the file below is removed
    "$NRUN" exec cpt sh -c "touch /tmp/swapping; (while [ -e /tmp/swapping ]; do
        rm -rf /tmp/race; mkdir -p /tmp/race; rm -rf /tmp/race; ln -s / /tmp/race; done) >/dev/null 2>&1 &"
    sleep 0.3
    echo payload >"$OUT/p"
    for i in $(seq 1 40); do
        "$NRUN" cp "$OUT/p" "cpt:/tmp/race/tmp/$tok" >/dev/null 2>&1 || true
        "$NRUN" cp "cpt:/tmp/race$SECRET_DIR/secret" "$OUT/got$i" >/dev/null 2>&1 || true
    done
    "$NRUN" exec cpt rm -f /tmp/swapping
    sec_no_marker "/tmp/$tok"
    no_secret_out
}

@test "cp: bad usage, a missing container, one line each" {
    run "$NRUN" cp a b
    [ "$status" -eq 2 ]
    run "$NRUN" cp nosuch:/x "$OUT/x"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
}

@test "cp of a stopped container: same probes (symlink to /, climbs, magic links, a leaf link), nothing left mounted" {
    tok=cp-st-$RANDOM$RANDOM
    rt_run --name cps bb:1 sh -c "
        ln -s / /tmp/escape; ln -s ../../../../../.. /tmp/up; ln -s /proc/1/root /tmp/magic
        mkdir -p $SECRET_DIR; ln -s $SECRET_DIR/victim /tmp/leaf; echo in-ctr >/tmp/mine"
    id=$("$NRUN" inspect -f '{{.Id}}' cps)
    [ "$("$NRUN" inspect -f '{{.State.Status}}' cps)" = exited ]
    for p in "/tmp/escape$SECRET_DIR/secret" "/../../../..$SECRET_DIR/secret" "/tmp/up$SECRET_DIR/secret" \
        "/proc/1/root$SECRET_DIR/secret" "/tmp/magic$SECRET_DIR/secret"; do
        run "$NRUN" cp "cps:$p" "$OUT/x"
        [ "$status" -ne 0 ]
    done
    no_secret_out
    echo payload >"$OUT/p"
    run "$NRUN" cp "$OUT/p" "cps:/tmp/escape/tmp/$tok"
    [ "$status" -eq 0 ]
    sec_no_marker "/tmp/$tok"
    run "$NRUN" cp "$OUT/p" "cps:/tmp/up/tmp/$tok.2"
    sec_no_marker "/tmp/$tok.2"
    run "$NRUN" cp "$OUT/p" "cps:/tmp/leaf"
    [ "$status" -eq 0 ]
    [ "$(cat "$SECRET_DIR/victim")" = HOST-VICTIM ]
    # out of it: the container's own file; in: into its upper dir, seen by its next start
    run "$NRUN" cp cps:/tmp/mine "$OUT/mine"
    [ "$status" -eq 0 ]
    [ "$(cat "$OUT/mine")" = in-ctr ]
    [ -f "$NRUN_ROOT/containers/$id/upper/tmp/$tok" ]
    # nothing of the private mount shows on the host, before or after
    ! grep -qF "$NRUN_ROOT/containers/$id" /proc/mounts || false
    # a start (overlay mounted again on the same upper) keeps what cp wrote
    "$NRUN" start cps >/dev/null
    "$NRUN" wait cps >/dev/null
    [ "$(cat "$NRUN_ROOT/containers/$id/upper/tmp/$tok")" = payload ]
    "$NRUN" rm cps >/dev/null
}
