#!/usr/bin/env bats
# A RUN step's overlay upper dir as a layer (img_layer_add_upper, through
# `nrun __internal upperlayer`), against the real kernel and a real OCI
# tool: a real overlayfs is mounted in a private mount namespace, changed
# the ways RUN steps change things (removals, rm -rf, delete-then-recreate,
# file <-> dir, hardlinks, chmod/chown, renames), and the image "lower
# layer + converted upper" unpacked by umoci must be exactly the merged
# view the step saw: names, types, modes, owners, link targets, link
# counts of files, contents.  (Not tried: removing one name of a lower
# hardlink pair, after which the merged view still reports the lower's link
# count, an overlay artefact no layer can reproduce.)

bats_require_minimum_version 1.5.0
load ../lib/common

setup_file() {
    nr_make_root
    export WORK
    WORK=$(mktemp -d /tmp/nrun-layerdiff-e2e.XXXXXX)
}

teardown_file() {
    case ${WORK:-} in /tmp/nrun-layerdiff-e2e.*) rm -rf "$WORK" ;; esac
    nr_remove_root
}

# What must survive the round trip, for a tree: one line per entry.
listing() {
    (cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%U|%G|%l\n' | LC_ALL=C sort &&
        find . -type f -printf '%P|%n\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# Lower dir, overlay over it, the step's changes in the merged view (its
# listing saved before the unmount); leaves $1/upper.
run_step() {
    local t=$1 ops=$2
    mkdir -p "$t/lower" "$t/upper" "$t/work" "$t/merged"
    (
        cd "$t/lower" &&
            echo a >a && mkdir d e i m s mv && echo b >d/b && echo c >d/c && echo f >e/f &&
            echo h >h && echo j >i/j && echo k >k && echo l >l && echo n >m/n &&
            echo t >s/t && echo u >s/u && echo w >mv/w && echo keep >keep && ln keep keep2 &&
            chmod 0600 h && chown 11:12 m
    )
    export -f listing
    unshare -m --propagation private bash -ec "
        mount -t overlay overlay -o lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work $t/merged
        cd $t/merged
        $ops
        cd /
        listing $t/merged >$t/merged.list
        umount $t/merged"
}

# Lower as layer 1, the converted upper as layer 2, unpacked by umoci.
roundtrip() {
    local t=$1 tag=$2
    run "$NRUN" __internal upperlayer "$t/upper"
    [ "$status" -eq 0 ]
    read -r digest diff_id n <<<"$output"
    [ "$n" -gt 0 ]
    cp "$NRUN_ROOT/blobs/sha256/${digest#sha256:}" "$t/diff.tar.gz"
    tar --numeric-owner -C "$t/lower" -czf "$t/lower.tar.gz" .
    "$NRUN" __internal mkimage -t "$tag" "$t/lower.tar.gz" "$t/diff.tar.gz" >/dev/null
    umoci unpack --image "$NRUN_ROOT:$tag:latest" "$t/bundle" >/dev/null
    listing "$t/bundle/rootfs" >"$t/umoci.list"
    diff -u "$t/merged.list" "$t/umoci.list"
}

@test "removals, rm -rf, delete-then-recreate, file<->dir, hardlinks, chmod/chown round-trip through umoci exactly" {
    t=$WORK/all
    run_step "$t" '
        rm a                                  # a file of the lower layer
        rm -rf e                              # a dir with children
        rm -rf d && mkdir d && echo new >d/n  # delete, then recreate: opaque
        rm h && mkdir h && echo x >h/x        # file -> dir
        rm -rf i && echo now-a-file >i        # dir -> file
        ln l l2                               # a new name of a lower file
        echo p >p && ln p q && ln p sd-q      # a new file with three names
        chown 1234:5678 k && chmod 4711 k     # metadata of a lower file
        chown 42:43 m && echo more >>m/n      # a lower dir copied up, not opaque
        rm s/t                                # one child of a kept dir
        mv mv moved                           # a lower dir renamed (EXDEV: copied)
        ln -s ../a dangling && ln -s h/x rel  # symlinks, verbatim
        mkdir -m 3775 sd && chown 5:6 sd      # setgid + sticky
        mkfifo -m 640 fifo
        mkdir -p new/deep/er && echo z >"new/deep/er/sp ace"
        cp /bin/true captrue && setcap cap_net_bind_service=ep captrue
        getcap captrue >captrue.caps'
    # the upper really holds what this test is about
    [ "$(stat -c '%F %t:%T' "$t/upper/a")" = "character special file 0:0" ]
    [ "$(stat -c '%F %t:%T' "$t/upper/e")" = "character special file 0:0" ]
    grep -q '^d|d|' "$t/merged.list"
    roundtrip "$t" all
    # and the layer says it the OCI way
    tar -tzf "$t/diff.tar.gz" 2>/dev/null >"$t/diff.names"
    grep -qx '.wh.a' "$t/diff.names"
    grep -qx '.wh.e' "$t/diff.names"
    grep -qx 'd/.wh..wh..opq' "$t/diff.names"
    grep -qx 's/.wh.t' "$t/diff.names"
    ! grep -q 'm/.wh..wh..opq' "$t/diff.names" || false
    # file capabilities (setcap in a RUN) survive
    [ "$(getcap "$t/bundle/rootfs/captrue")" = "$(sed "s|captrue|$t/bundle/rootfs/captrue|" "$t/bundle/rootfs/captrue.caps")" ]
    grep -q cap_net_bind_service "$t/bundle/rootfs/captrue.caps"
}

@test "a step that changes nothing gives no entries; mount points given to skip are left out" {
    t=$WORK/none
    run_step "$t" 'cat a >/dev/null; ls -R >/dev/null'
    run "$NRUN" __internal upperlayer "$t/upper"
    [ "$status" -eq 0 ]
    [ "${output##* }" = 0 ]
    t=$WORK/skip
    run_step "$t" 'mkdir -p dev proc && touch dev/null etc-hosts && echo kept >kept'
    run "$NRUN" __internal upperlayer --skip /dev --skip proc --skip etc-hosts "$t/upper"
    [ "$status" -eq 0 ]
    [ "${output##* }" = 1 ]
}

@test "a socket is left out; a device node is refused, naming it" {
    t=$WORK/dev
    run_step "$t" 'mknod tty c 5 0'
    run "$NRUN" __internal upperlayer "$t/upper"
    [ "$status" -ne 0 ]
    [[ "$output" == *'"tty": device node c 5:0'* ]]
    t=$WORK/sock
    run_step "$t" 'python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"s.sock\")"; echo y >y'
    run "$NRUN" __internal upperlayer "$t/upper"
    [ "$status" -eq 0 ]
    [ "${output##* }" = 1 ]
}
