#!/usr/bin/env bats
# The image store against hostile input (security review, issue 9): a store
# root or store directory prepared by another user (symlinks, foreign owners,
# writable roots), OCI layouts and archives for `nrun load` whose files are
# symlinks, FIFOs or devices, and unpacked layers that prune must reclaim.
# Every test asserts that the attack failed and that what it aimed at on the
# host (a directory's mode, a secret file, the store) is unchanged.
load ../lib/common
load ../lib/runtime
load ../lib/security
bats_require_minimum_version 1.5.0

SEC_USER=nrunsecstore

setup_file() {
    rt_file_setup_bb
    export SEC_TMP
    SEC_TMP=$(mktemp -d /tmp/nrun-secstore.XXXXXX)
    chmod 755 "$SEC_TMP"
    id "$SEC_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$SEC_USER"
    # A host file an attacker would like to read through the store.
    printf 'SECRET-%s\n' "$RANDOM$RANDOM" >"$SEC_TMP/secret"
    chmod 600 "$SEC_TMP/secret"
}

teardown() {
    rt_rm_all
}

teardown_file() {
    rt_file_teardown
    case ${SEC_TMP:-} in /tmp/nrun-secstore.*) rm -rf "$SEC_TMP" ;; esac
    id "$SEC_USER" >/dev/null 2>&1 && userdel "$SEC_USER"
    true
}

# A copy of the file's store (with bb:1) to spoil: prints its path.
sec_store_copy() {
    local r
    r=$(mktemp -d "$SEC_TMP/root.XXXXXX")
    cp -a "$NRUN_ROOT/." "$r/"
    echo "$r"
}

# A directory owned by the test user, mode 0755, with one file: prints its path.
sec_foreign_dir() {
    local d
    d=$(mktemp -d "$SEC_TMP/foreign.XXXXXX")
    echo keep >"$d/file"
    chown -R "$SEC_USER" "$d"
    chmod 755 "$d"
    chmod 644 "$d/file"
    echo "$d"
}

# Mode, owner and entries of a directory ("it is as it was").
sec_dir_state() {
    stat -c '%a %u %g' "$1"
    ls -A "$1"
}

# images and run must both refuse root $1 with a line naming $2.
sec_store_refused() {
    local r=$1 path=$2
    run "$NRUN" --root "$r" images
    echo "images: $status $output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"$path"* ]]
    [ "$(echo "$output" | wc -l)" -eq 1 ]
    run "$NRUN" --root "$r" run --rm bb:1 true
    echo "run: $status $output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"$path"* ]]
}

# ---- 8: a store root prepared by another user ----

@test "store: a store directory that is a symlink to another user's directory is refused, never chmodded" {
    local sub r evil before
    for sub in layers blobs blobs/sha256 cache containers volumes; do
        r=$(sec_store_copy)
        evil=$(sec_foreign_dir)
        before=$(sec_dir_state "$evil")
        rm -rf "${r:?}/$sub"
        ln -s "$evil" "$r/$sub"
        sec_store_refused "$r" "$r/$sub"
        [ "$(sec_dir_state "$evil")" = "$before" ]
        [ "$(readlink "$r/$sub")" = "$evil" ]
    done
}

@test "store: a store directory that is a symlink to a root-owned directory is refused too" {
    local r evil before
    r=$(sec_store_copy)
    evil=$(mktemp -d "$SEC_TMP/rootdir.XXXXXX")
    chmod 755 "$evil"
    before=$(sec_dir_state "$evil")
    rm -rf "${r:?}/layers"
    ln -s "$evil" "$r/layers"
    sec_store_refused "$r" "$r/layers"
    [ "$(sec_dir_state "$evil")" = "$before" ]
}

@test "store: a store directory owned by another uid is refused, its mode and owner kept" {
    local sub r before
    for sub in layers blobs blobs/sha256 cache containers volumes; do
        r=$(sec_store_copy)
        chown 4242:4242 "$r/$sub"
        chmod 755 "$r/$sub"
        before=$(sec_dir_state "$r/$sub")
        sec_store_refused "$r" "$r/$sub"
        [ "$(sec_dir_state "$r/$sub")" = "$before" ]
    done
}

@test "store: a store directory replaced by a file or a FIFO is refused" {
    local r
    r=$(sec_store_copy)
    rm -rf "${r:?}/cache"
    echo x >"$r/cache"
    sec_store_refused "$r" "$r/cache"
    [ "$(cat "$r/cache")" = x ]
    r=$(sec_store_copy)
    rm -rf "${r:?}/volumes"
    mkfifo "$r/volumes"
    run timeout 20 "$NRUN" --root "$r" images
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"$r/volumes"* ]]
    [ -p "$r/volumes" ]
}

@test "store: a root owned by another uid is refused and not chmodded; a symlink to it too" {
    local r before
    r=$(sec_store_copy)
    chown 4242:4242 "$r"
    chmod 755 "$r"
    before=$(sec_dir_state "$r")
    sec_store_refused "$r" "$r"
    [ "$(sec_dir_state "$r")" = "$before" ]
    # the user's --root path is followed, what it leads to is checked
    ln -s "$r" "$SEC_TMP/rootlink"
    sec_store_refused "$SEC_TMP/rootlink" "$SEC_TMP/rootlink"
    [ "$(sec_dir_state "$r")" = "$before" ]
    rm "$SEC_TMP/rootlink"
    # nor is a directory of another user, open to everyone, taken as a root
    local evil
    evil=$(sec_foreign_dir)
    chmod 777 "$evil"
    before=$(sec_dir_state "$evil")
    run "$NRUN" --root "$evil" images
    [ "$status" -ne 0 ]
    [[ "$output" == *"$evil"* ]]
    [ "$(sec_dir_state "$evil")" = "$before" ]
}

@test "store: a group- or world-writable root is refused and left as it is" {
    local r mode
    for mode in 777 770 1777 720 702; do
        r=$(sec_store_copy)
        chmod "$mode" "$r"
        sec_store_refused "$r" "$r"
        [ "$(stat -c %a "$r")" = "$mode" ]
    done
}

@test "store: a root given as a symlink to a root-owned store is followed (as docker's --data-root)" {
    local r
    r=$(sec_store_copy)
    ln -s "$r" "$SEC_TMP/goodlink"
    run "$NRUN" --root "$SEC_TMP/goodlink" images
    [ "$status" -eq 0 ]
    [[ "$output" == *bb* ]]
    run "$NRUN" --root "$SEC_TMP/goodlink" run --rm bb:1 echo ran
    rm "$SEC_TMP/goodlink"
    [ "$status" -eq 0 ]
    [ "$output" = ran ]
}

@test "store: index.json, oci-layout and the lock files are refused as symlinks or special files" {
    local f r before
    before=$(stat -c '%a %u %s %Y' "$SEC_TMP/secret")
    for f in index.json oci-layout index.lock gc.lock; do
        r=$(sec_store_copy)
        rm -f "$r/$f"
        ln -s "$SEC_TMP/secret" "$r/$f"
        run timeout 20 "$NRUN" --root "$r" images
        echo "$f: $status $output"
        [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
        [[ "$output" == *"$r/$f"* ]]
        [[ "$output" != *SECRET* ]]
        [ "$(stat -c '%a %u %s %Y' "$SEC_TMP/secret")" = "$before" ]
        rm "$r/$f"
        mkfifo "$r/$f"
        run timeout 20 "$NRUN" --root "$r" images
        [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
        [[ "$output" == *"$r/$f"* ]]
    done
}
