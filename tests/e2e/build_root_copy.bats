#!/usr/bin/env bats
# COPY of a directory's contents to "/" (the common `COPY rootfs/ /`): the
# layer holds the contents, never an entry for the root itself.
load ../lib/common

setup_file() { nr_make_root; }
teardown_file() { nr_remove_root; }

@test "COPY rootfs/ / writes the contents at the top of the layer" {
    ctx="$BATS_TEST_TMPDIR/ctx"
    mkdir -p "$ctx/rootfs/etc" "$ctx/rootfs/usr/bin"
    echo hi >"$ctx/rootfs/etc/motd"
    printf '#!/bin/sh\n' >"$ctx/rootfs/usr/bin/tool"
    chmod 755 "$ctx/rootfs/usr/bin/tool"
    printf 'FROM scratch\nCOPY rootfs/ /\nCOPY rootfs /copy2/\n' >"$ctx/Nodefile"
    run "$NBUILD" -q -t rootcopy:1 "$ctx"
    [ "$status" -eq 0 ]
    m="$NRUN_ROOT/blobs/sha256/${output#sha256:}"
    l1=$(jq -r '.layers[0].digest' "$m")
    run sh -c "tar tzf $NRUN_ROOT/blobs/sha256/${l1#sha256:} 2>/dev/null"
    [ "$status" -eq 0 ]
    [ "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" = "etc/ etc/motd usr/ usr/bin/ usr/bin/tool " ]
    l2=$(jq -r '.layers[1].digest' "$m")
    tar tzf "$NRUN_ROOT/blobs/sha256/${l2#sha256:}" 2>/dev/null | grep -qx 'copy2/etc/motd'
    # and the image unpacks with a real tool
    "$NRUN" image save -o "$BATS_TEST_TMPDIR/img.tar" rootcopy:1
    mkdir "$BATS_TEST_TMPDIR/oci" && tar -C "$BATS_TEST_TMPDIR/oci" -xf "$BATS_TEST_TMPDIR/img.tar"
    umoci unpack --rootless --image "$BATS_TEST_TMPDIR/oci:rootcopy:1" "$BATS_TEST_TMPDIR/bundle" >/dev/null
    [ "$(cat "$BATS_TEST_TMPDIR/bundle/rootfs/etc/motd")" = hi ]
}
