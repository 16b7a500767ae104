#!/usr/bin/env bats
# diff, export and commit read a container's files from the host.  The
# container chooses what its tree holds: symlinks to host paths, relative
# climbs, device nodes, sparse files of any length.  None of them may make
# nrun read a host file into an output, a tar or a layer, or write through a
# link planted where nrun writes (export -o).
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_bb
    export SECRET_DIR
    SECRET_DIR=$(mktemp -d /tmp/nrun-dcli-secret.XXXXXX)
    echo HOST-SECRET-$RANDOM >"$SECRET_DIR/secret"
    cat "$SECRET_DIR/secret" >"$BATS_FILE_TMPDIR/secret.word"
    echo HOST-VICTIM >"$SECRET_DIR/victim"
    # /etc/passwd of the container replaced by links out of it, climbs, a
    # link to the host's secret dir as a directory, and the same names in
    # the secret's own path inside the container (so a resolution against
    # the host root would find it)
    rt_run -d --network none --name evil bb:1 sh -c "
        rm /etc/passwd; ln -s $SECRET_DIR/secret /etc/passwd
        ln -s ../../../../../../../..$SECRET_DIR/secret /up
        ln -s / /rootlink; ln -s $SECRET_DIR /dirlink
        mkdir -p /deep/a; ln -s ../../../../.. /deep/a/climb
        sleep 1000" >/dev/null
    for _ in $(seq 1 50); do "$NRUN" exec evil test -L /deep/a/climb 2>/dev/null && break; sleep 0.1; done
}

teardown_file() {
    rt_rm_all
    rt_assert_clean
    case ${SECRET_DIR:-} in /tmp/nrun-dcli-secret.*) rm -rf "$SECRET_DIR" ;; esac
    nr_remove_root
}

secret() { cat "$BATS_FILE_TMPDIR/secret.word"; }
upper_of() { echo "$NRUN_ROOT/containers/$("$NRUN" inspect -f '{{.Id}}' "$1")/upper"; }

@test "diff of a container whose files are links to host paths reads none of them" {
    run "$NRUN" diff evil
    [ "$status" -eq 0 ]
    [[ $output == *"C /etc/passwd"* ]]
    [[ $output == *"A /up"* && $output == *"A /dirlink"* && $output == *"A /deep/a/climb"* ]]
    ! grep -q "$(secret)" <<<"$output" || false
    # nothing below the linked dir was listed: the link was not walked
    ! grep -q "/dirlink/" <<<"$output" || false
}

@test "export stores links as links: no host file's bytes in the tar" {
    "$NRUN" export evil >"$BATS_FILE_TMPDIR/evil.tar"
    run tar -tvf "$BATS_FILE_TMPDIR/evil.tar"
    [ "$status" -eq 0 ]
    grep -q "etc/passwd -> $SECRET_DIR/secret" <<<"$output"
    grep -q "dirlink -> $SECRET_DIR" <<<"$output"
    ! grep -q "dirlink/" <<<"$output" || false
    ! grep -q "rootlink/" <<<"$output" || false
    ! grep -aq "$(secret)" "$BATS_FILE_TMPDIR/evil.tar" || false
}

@test "commit stores links as links: no host file's bytes in the layer" {
    run "$NRUN" commit evil evil:1
    [ "$status" -eq 0 ]
    layer=$(jq -r '.layers[-1].digest' "$(blob "$(manifest_of evil:1)")")
    run tar -tvzf "$(blob "$layer")"
    grep -q "etc/passwd -> $SECRET_DIR/secret" <<<"$output"
    ! zcat "$(blob "$layer")" | grep -aq "$(secret)" || false
    # and the config of no blob of the store holds it either
    ! grep -raq "$(secret)" "$NRUN_ROOT/blobs" || false
}

@test "export -o onto a planted symlink or hard link replaces it, never writes through it" {
    out=$(mktemp -d "$BATS_FILE_TMPDIR/out.XXXXXX")
    ln -s "$SECRET_DIR/victim" "$out/ctr.tar"
    run "$NRUN" export -o "$out/ctr.tar" evil
    [ "$status" -eq 0 ]
    [ "$(cat "$SECRET_DIR/victim")" = HOST-VICTIM ]
    [ ! -L "$out/ctr.tar" ]
    tar -tf "$out/ctr.tar" | grep -qx bin/busybox
    # a hard link to the victim at the output path
    ln "$SECRET_DIR/victim" "$out/hard.tar"
    run "$NRUN" export -o "$out/hard.tar" evil
    [ "$status" -eq 0 ]
    [ "$(cat "$SECRET_DIR/victim")" = HOST-VICTIM ]
    [ "$(stat -c %h "$SECRET_DIR/victim")" = 1 ]
}

@test "commit of an upper dir holding a device node is refused, naming it; nothing is tagged" {
    rt_run -d --network none --name devn bb:1 sleep 1000 >/dev/null
    # planted from the host as a privileged container could have made it
    mknod "$(upper_of devn)/mem" c 1 1
    run "$NRUN" commit devn devn:1
    [ "$status" -ne 0 ]
    [[ $output == *"mem"*"device node"* ]]
    run -127 "$NRUN" image inspect devn:1
    [ "$status" -ne 0 ]
    # diff lists it, export stores it as a node (its bytes are never read)
    run "$NRUN" diff devn
    [[ $output == *"A /mem"* ]]
    run timeout 20 "$NRUN" export -o "$BATS_FILE_TMPDIR/devn.tar" devn
    [ "$status" -eq 0 ]
    tar -tvf "$BATS_FILE_TMPDIR/devn.tar" | grep -q '^c.* mem$'
    [ "$(stat -c %s "$BATS_FILE_TMPDIR/devn.tar")" -lt $((64 << 20)) ]
    "$NRUN" rm -f devn >/dev/null
}

@test "a huge sparse file: commit and export refuse it at once (bounded), writing nothing" {
    rt_run -d --network none --name sparse bb:1 sleep 1000 >/dev/null
    "$NRUN" exec sparse truncate -s 200G /huge
    blobs_before=$(ls "$NRUN_ROOT/blobs/sha256" | wc -l)
    run timeout 30 "$NRUN" commit sparse sparse:1
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    [[ $output == *"/huge is a sparse file"*"refused"* ]]
    [ "$(ls "$NRUN_ROOT/blobs/sha256" | wc -l)" -eq "$blobs_before" ]
    run timeout 30 "$NRUN" export -o "$BATS_FILE_TMPDIR/sparse.tar" sparse
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    [[ $output == *"/huge is a sparse file"* ]]
    [ ! -e "$BATS_FILE_TMPDIR/sparse.tar" ]
    ! ls -a "$BATS_FILE_TMPDIR" | grep -q nrun-export || false
    # a paused-for-commit container is thawed again after the refusal
    [ "$("$NRUN" inspect -f '{{.State.Status}}' sparse)" = running ]
    "$NRUN" rm -f sparse >/dev/null
}
