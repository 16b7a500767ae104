#!/usr/bin/env bats
# The image store through the nrun CLI: images, tag, rmi, inspect, prune,
# load/save, corruption, concurrency, read-only and full stores, and the
# images we write checked by real tools (umoci, skopeo, podman,
# docker-registry).  Images are made by our own layer/image writers through
# the test aid `test_store --make-image` (until nbuild exists) and by umoci.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/registry

MAKE_IMAGE=$BUILD/tests/test_store

setup_file() {
    nr_make_root
    export WORK
    WORK=$(mktemp -d /tmp/nrun-store-e2e.XXXXXX)
    "$MAKE_IMAGE" --make-image "$NRUN_ROOT" demo:1 >"$WORK/demo.digest"
    # An image made by another tool: umoci.
    umoci init --layout "$WORK/umoci"
    umoci new --image "$WORK/umoci:base"
    mkdir -p "$WORK/content/data"
    head -c 300000 /dev/urandom >"$WORK/content/data/blob.bin"
    echo hi >"$WORK/content/data/hi.txt"
    umoci insert --image "$WORK/umoci:base" "$WORK/content/data" /data >/dev/null
    umoci config --image "$WORK/umoci:base" --config.cmd /bin/true >/dev/null
}

teardown_file() {
    nr_registry_stop 2>/dev/null || true
    for m in "$WORK"/ro "$WORK"/full; do
        mountpoint -q "$m" 2>/dev/null && umount "$m"
    done
    case ${WORK:-} in /tmp/nrun-store-e2e.*) rm -rf "$WORK" ;; esac
    nr_remove_root
}

@test "nrun images lists an image in docker's columns" {
    run "$NRUN" images
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +DIGEST\ +SIZE\ +CREATED$ ]]
    [[ ${lines[1]} =~ ^demo\ +1\ +[0-9a-f]{12}\ +$(cat "$WORK/demo.digest")\ +[0-9.]+k?B ]]
    [ "${#lines[@]}" -eq 2 ]
}

@test "nrun images --format json and -q" {
    run "$NRUN" images --format json
    [ "$status" -eq 0 ]
    [ "$(jq length <<<"$output")" -eq 1 ]
    [ "$(jq -r '.[0].Repository + ":" + .[0].Tag' <<<"$output")" = demo:1 ]
    [ "$(jq -r '.[0].Digest' <<<"$output")" = "$(cat "$WORK/demo.digest")" ]
    size=$(jq '.[0].Size' <<<"$output")
    want=$("$NRUN" image inspect demo:1 | jq '.[0].Layers | map(.Size) | add')
    want=$((want + $(stat -c %s "$NRUN_ROOT/blobs/sha256/$(jq -r '.[0].Id[7:]' <<<"$output")")))
    [ "$size" -eq "$want" ]
    [ "$(jq -r '.[0].Created' <<<"$output")" = 1970-01-01T00:00:00Z ]
    id=$(jq -r '.[0].Id' <<<"$output")
    run "$NRUN" images -q
    [ "$status" -eq 0 ]
    [ "$output" = "${id:7:12}" ]
}

@test "the store root is a valid OCI layout (skopeo reads it directly)" {
    [ "$(jq -r .imageLayoutVersion "$NRUN_ROOT/oci-layout")" = 1.0.0 ]
    run skopeo inspect "oci:$NRUN_ROOT:demo:1"
    [ "$status" -eq 0 ]
    [ "$(jq -r .Digest <<<"$output")" = "$(cat "$WORK/demo.digest")" ]
}

@test "nrun tag adds a name; bad names give one line and exit 2" {
    run "$NRUN" tag demo:1 demo:2
    [ "$status" -eq 0 ]
    run "$NRUN" tag demo:1 registry.example.com:5000/team/app
    [ "$status" -eq 0 ]
    run "$NRUN" images --format json
    [ "$(jq -r '[.[].Repository + ":" + .[].Tag] | length' <<<"$output")" -ge 3 ]
    [ "$(jq -r '[.[].Id] | unique | length' <<<"$output")" -eq 1 ]
    run "$NRUN" tag demo:1 'Bad Name'
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == *"invalid reference format"* ]]
    run "$NRUN" tag nosuch:1 x:1
    [ "$status" -ne 0 ]
    [[ $output == *"no such image: nosuch:1"* ]]
    run "$NRUN" rmi registry.example.com:5000/team/app
    [ "$status" -eq 0 ]
}

@test "nrun rmi by ID needs -f when several tags point to the image; images filters by name" {
    "$NRUN" tag demo:1 multi:a
    "$NRUN" tag demo:1 multi:b
    run "$NRUN" images multi
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    run "$NRUN" images -q multi:a
    id=$output
    [[ $id =~ ^[0-9a-f]{12}$ ]]
    run "$NRUN" rmi "$id"
    [ "$status" -ne 0 ]
    [[ $output == *"must be forced"* ]]
    # Prove -f untags all of them on a copy, keep the shared store as it is.
    cp -a "$NRUN_ROOT" "$WORK/rmi"
    run "$NRUN" --root "$WORK/rmi" rmi -f "$id"
    [ "$status" -eq 0 ]
    [[ $output == *"Untagged: multi:a"* ]]
    [[ $output == *"Untagged: multi:b"* ]]
    [[ $output == *"Untagged: demo:1"* ]]
    [[ $output == *"Untagged: demo:2"* ]]
    [[ $output == *"Deleted: $(cat "$WORK/demo.digest")"* ]]
    [ "$(jq '.manifests | length' "$WORK/rmi/index.json")" -eq 0 ]
    [ ! -e "$WORK/rmi/blobs/sha256/$(cut -c8- "$WORK/demo.digest")" ]
    rm -rf "$WORK/rmi"
    "$NRUN" rmi multi:a multi:b >/dev/null
}

@test "nrun image inspect prints the image as JSON; unknown gives 127" {
    run "$NRUN" image inspect demo:1
    [ "$status" -eq 0 ]
    [ "$(jq -r '.[0].Digest' <<<"$output")" = "$(cat "$WORK/demo.digest")" ]
    [ "$(jq -r '.[0].RepoTags | sort | join(",")' <<<"$output")" = demo:1,demo:2 ]
    [ "$(jq -r '.[0].Config.Cmd | join(" ")' <<<"$output")" = "node server.js" ]
    [ "$(jq -r '.[0].Config.WorkingDir' <<<"$output")" = /app ]
    [ "$(jq -r '.[0].RootFS.Layers | length' <<<"$output")" -eq 2 ]
    [ "$(jq -r '.[0].Architecture + "/" + .[0].Os' <<<"$output")" = amd64/linux ]
    [ "$(jq -r '[.[0].History[] | select(.empty_layer)] | length' <<<"$output")" -eq 1 ]
    id=$(jq -r '.[0].Id' <<<"$output")
    # By short ID and through `nrun inspect`.
    run "$NRUN" inspect "${id:7:12}"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.[0].Id' <<<"$output")" = "$id" ]
    run -127 "$NRUN" image inspect nosuch:9
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == *"no such image: nosuch:9"* ]]
}

@test "nrun load of a umoci-made OCI layout and archive" {
    run "$NRUN" load -i "$WORK/umoci"
    [ "$status" -ne 0 ]
    [[ $output == *"give a repository name"* ]]
    run "$NRUN" load -i "$WORK/umoci" --name umo
    [ "$status" -eq 0 ]
    [ "$output" = "Loaded image: umo:base" ]
    (cd "$WORK/umoci" && tar cf "$WORK/umoci.tar" .)
    run "$NRUN" load -i "$WORK/umoci.tar" --name umo:fromtar
    [ "$status" -eq 0 ]
    [ "$output" = "Loaded image: umo:fromtar" ]
    run "$NRUN" image inspect umo:fromtar
    [ "$(jq -r '.[0].Config.Cmd[0]' <<<"$output")" = /bin/true ]
}

@test "hostile archives are refused with one line and leave the store unchanged" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    # A blob whose content does not match its name.
    mkdir -p "$WORK/evil/blobs/sha256"
    cp -r "$WORK/umoci/." "$WORK/evil/"
    big=$(find "$WORK/evil/blobs/sha256" -type f -size +100k | head -1)
    printf 'X' | dd of="$big" bs=1 seek=100 conv=notrunc status=none
    run "$NRUN" load -i "$WORK/evil" --name evil
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == *"$(basename "$big")"*corrupt* ]]
    # Not a tar at all, an index.json that is not JSON, a truncated archive.
    head -c 1000 /dev/urandom >"$WORK/garbage.tar"
    run "$NRUN" load -i "$WORK/garbage.tar" --name evil
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    mkdir -p "$WORK/badidx/blobs/sha256" && echo '{"manifests": [1,' >"$WORK/badidx/index.json"
    run "$NRUN" load -i "$WORK/badidx" --name evil
    [ "$status" -ne 0 ]
    [[ $output == *index.json* ]]
    head -c 150000 "$WORK/umoci.tar" >"$WORK/trunc.tar"
    run "$NRUN" load -i "$WORK/trunc.tar" --name evil
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "a load killed midway leaves a store that works and no temp files" {
    mkdir -p "$WORK/bigc/data"
    head -c 40000000 /dev/urandom >"$WORK/bigc/data/big.bin"
    umoci init --layout "$WORK/big"
    umoci new --image "$WORK/big:1"
    umoci insert --image "$WORK/big:1" "$WORK/bigc/data" /data >/dev/null
    tags_before=$(jq -c '[.manifests[].annotations["org.opencontainers.image.ref.name"]]' "$NRUN_ROOT/index.json")
    "$NRUN" load -i "$WORK/big" --name killed &
    pid=$!
    sleep 0.2
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" || true
    tags_after=$(jq -c '[.manifests[].annotations["org.opencontainers.image.ref.name"]] - ["killed:1"]' "$NRUN_ROOT/index.json")
    [ "$tags_after" = "$tags_before" ]
    [ -z "$(find "$NRUN_ROOT" -name '.tmp-*')" ]
    run "$NRUN" images
    [ "$status" -eq 0 ]
    # Whatever made it is whole: loading again completes and verifies.
    run "$NRUN" load -i "$WORK/big" --name killed
    [ "$status" -eq 0 ]
    run "$NRUN" image inspect killed:1
    [ "$status" -eq 0 ]
    run "$NRUN" rmi killed:1
    [ "$status" -eq 0 ]
    rm -rf "$WORK/big" "$WORK/bigc"
}

@test "nrun rmi untags, removes the manifest with its last tag; prune removes unreferenced blobs" {
    run "$NRUN" rmi demo:2
    [ "$status" -eq 0 ]
    [ "$output" = "Untagged: demo:2" ]
    run "$NRUN" rmi nosuch:1
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    umo=$("$NRUN" image inspect umo:base | jq -r '.[0].Digest')
    nblobs=$(ls "$NRUN_ROOT/blobs/sha256" | wc -l)
    run "$NRUN" rmi umo:base umo:fromtar
    [ "$status" -eq 0 ]
    [[ $output == *"Untagged: umo:base"* ]]
    [[ $output == *"Deleted: $umo"* ]]
    [ ! -e "$NRUN_ROOT/blobs/sha256/${umo#sha256:}" ]
    run "$NRUN" image prune
    [ "$status" -eq 0 ]
    [[ $output =~ Deleted\ blobs:\ [1-9][0-9]* ]]
    [[ $output =~ Total\ reclaimed\ space:\ [0-9.]+[kM]B ]]
    # Exactly what the tags reach is left.
    reach=$("$NRUN" image inspect $("$NRUN" images --format json | jq -r '.[] | .Repository + ":" + .Tag') |
        jq -r '.[] | .Digest, .Id, .Layers[].Digest' | sort -u | wc -l)
    [ "$(ls "$NRUN_ROOT/blobs/sha256" | wc -l)" -eq "$reach" ]
    [ "$reach" -lt "$nblobs" ]
    # What is still tagged is whole.
    run "$NRUN" image inspect demo:1
    [ "$status" -eq 0 ]
    run "$NRUN" image prune
    [[ $output == *"Deleted blobs: 0"* ]]
}

@test "a corrupt blob is detected by inspect and save, never exported" {
    cp -a "$NRUN_ROOT" "$WORK/corrupt"
    layer=$("$NRUN" --root "$WORK/corrupt" image inspect demo:1 | jq -r '.[0].Layers[1].Digest')
    printf '\x00' | dd of="$WORK/corrupt/blobs/sha256/${layer#sha256:}" bs=1 seek=20 conv=notrunc status=none
    run "$NRUN" --root "$WORK/corrupt" image inspect demo:1
    [ "$status" -ne 0 ]
    [[ $output == *"blob $layer is corrupt"* ]]
    run "$NRUN" --root "$WORK/corrupt" save -o "$WORK/corrupt.tar" demo:1
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == *"$layer"* ]]
    [ ! -e "$WORK/corrupt.tar" ]
    [ -z "$(ls "$WORK" | grep 'corrupt.tar.tmp')" ]
    # A corrupt config: even listing names it.
    cfg=$("$NRUN" image inspect demo:1 | jq -r '.[0].Id')
    echo '{}' >"$WORK/corrupt/blobs/sha256/${cfg#sha256:}"
    run "$NRUN" --root "$WORK/corrupt" images
    [ "$status" -ne 0 ]
    [[ $output == *"$cfg"* ]]
    rm -rf "$WORK/corrupt"
}

@test "8 concurrent tag writers and 8 concurrent image writers leave 8 tags each and a valid index" {
    pids=()
    for i in 1 2 3 4 5 6 7 8; do
        "$NRUN" tag demo:1 "x:$i" &
        pids+=($!)
        "$MAKE_IMAGE" --make-image "$NRUN_ROOT" "y:$i" >/dev/null &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    jq -e . "$NRUN_ROOT/index.json" >/dev/null
    [ "$(jq '[.manifests[].annotations["org.opencontainers.image.ref.name"] | select(startswith("x:"))] | length' "$NRUN_ROOT/index.json")" -eq 8 ]
    [ "$(jq '[.manifests[].annotations["org.opencontainers.image.ref.name"] | select(startswith("y:"))] | length' "$NRUN_ROOT/index.json")" -eq 8 ]
    run "$NRUN" images --format json
    [ "$status" -eq 0 ]
    [ "$(jq '[.[] | select(.Repository == "x" or .Repository == "y")] | length' <<<"$output")" -eq 16 ]
    [ -z "$(find "$NRUN_ROOT" -name '.tmp-*')" ]
}

@test "prune running during 8 concurrent image writers never breaks a tagged image" {
    pids=()
    for i in 1 2 3 4 5 6 7 8; do
        "$MAKE_IMAGE" --make-image "$NRUN_ROOT" "z:$i" >/dev/null &
        pids+=($!)
        if [ $((i % 2)) = 0 ]; then
            "$NRUN" image prune >/dev/null &
            pids+=($!)
        fi
    done
    for p in "${pids[@]}"; do wait "$p"; done
    for i in 1 2 3 4 5 6 7 8; do
        run "$NRUN" image inspect "z:$i" # verifies every layer blob
        [ "$status" -eq 0 ]
    done
    "$NRUN" rmi z:1 z:2 z:3 z:4 z:5 z:6 z:7 z:8 >/dev/null
}

@test "a read-only store serves reads; writes fail with one line and change nothing" {
    mkdir -p "$WORK/ro"
    mount --bind "$NRUN_ROOT" "$WORK/ro"
    mount -o remount,bind,ro "$WORK/ro"
    before=$(nr_tree_hash "$WORK/ro")
    run "$NRUN" --root "$WORK/ro" images
    [ "$status" -eq 0 ]
    [[ $output == *demo* ]]
    run "$NRUN" --root "$WORK/ro" image inspect demo:1
    [ "$status" -eq 0 ]
    run "$NRUN" --root "$WORK/ro" tag demo:1 demo:ro
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == *EROFS* ]]
    run "$NRUN" --root "$WORK/ro" load -i "$WORK/umoci" --name ro
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$NRUN" --root "$WORK/ro" rmi demo:1
    [ "$status" -ne 0 ]
    run "$NRUN" --root "$WORK/ro" image prune
    [ "$status" -ne 0 ]
    [ "$(nr_tree_hash "$WORK/ro")" = "$before" ]
    umount "$WORK/ro"
    # A plain OCI layout (umoci's, no lock files, no layers/), read-only.
    mount --bind "$WORK/umoci" "$WORK/ro"
    mount -o remount,bind,ro "$WORK/ro"
    run "$NRUN" --root "$WORK/ro" image inspect base
    [ "$status" -eq 0 ]
    [ "$(jq -r '.[0].Config.Cmd[0]' <<<"$output")" = /bin/true ]
    umount "$WORK/ro"
}

@test "a full disk (2 MB tmpfs) fails with one line and leaves the store byte-identical" {
    mkdir -p "$WORK/full"
    mount -t tmpfs -o size=2m tmpfs "$WORK/full"
    "$MAKE_IMAGE" --make-image "$WORK/full/store" small:1 >/dev/null
    dd if=/dev/zero of="$WORK/full/filler" bs=64k status=none 2>/dev/null || true
    before=$(nr_tree_hash "$WORK/full/store")
    run "$NRUN" --root "$WORK/full/store" load -i "$WORK/umoci" --name big
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == *ENOSPC* ]]
    run "$NRUN" --root "$WORK/full/store" tag small:1 small:2
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == *ENOSPC* ]]
    run "$NRUN" --root "$WORK/full/store" save -o "$WORK/full/x.tar" small:1
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [ -z "$(ls "$WORK/full" | grep x.tar)" ]
    [ "$(nr_tree_hash "$WORK/full/store")" = "$before" ]
    # With room again, the same commands work.
    rm -f "$WORK/full/filler"
    run "$NRUN" --root "$WORK/full/store" load -i "$WORK/umoci" --name big
    [ "$status" -eq 0 ]
    umount "$WORK/full"
}

@test "CLI misuse and bad roots: one line, exit 2 for usage, 3 for the store" {
    run "$NRUN" images --format yaml
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$NRUN" rmi
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$NRUN" tag onlyone
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$NRUN" tag demo:1 'x@sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$NRUN" image frobnicate
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$NRUN" load -i "$WORK/does-not-exist.tar"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == *does-not-exist.tar*ENOENT* ]]
    run "$NRUN" save --dir demo:1
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    touch "$WORK/afile"
    run "$NRUN" --root "$WORK/afile" images
    [ "$status" -eq 3 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == *ENOTDIR* ]]
    mkdir -p "$WORK/notlayout" && echo mine >"$WORK/notlayout/file"
    run "$NRUN" save --dir -o "$WORK/notlayout" demo:1
    [ "$status" -eq 1 ]
    [[ $output == *"not an OCI layout"* ]]
    [ "$(ls "$WORK/notlayout")" = file ]
    rm -rf "$WORK/notlayout"
    run "$NRUN" --root /proc/nrun-store images
    [ "$status" -eq 3 ]
    [ "${#lines[@]}" -eq 1 ]
    # An empty store lists nothing but the header.
    run "$NRUN" --root "$WORK/empty" images
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$NRUN" --root "$WORK/empty" images --format json
    [ "$output" = "[]" ]
    rm -rf "$WORK/empty" "$WORK/afile"
}

# ---- item 7: our images, checked by real tools ----

@test "umoci unpacks an exported image (OCI layout dir)" {
    run "$NRUN" save --dir --tag 1 -o "$WORK/oci" demo:1
    [ "$status" -eq 0 ]
    umoci unpack --image "$WORK/oci:1" "$WORK/bundle" >/dev/null
    rootfs=$WORK/bundle/rootfs
    grep -q createServer "$rootfs/app/server.js"
    [ "$(stat -c %h "$rootfs/app/server.js")" -eq 2 ]
    [ "$(stat -c '%a %u' "$rootfs/tmp")" = "1777 0" ]
    [ "$(stat -c '%u:%g' "$rootfs/app/server.js")" = 1000:1000 ]
    [ "$(readlink "$rootfs/bin/sh")" = busybox ]
    [ "$(cat "$rootfs/app/café.txt")" = utf8 ]
    [ "$(cat "$rootfs"/app/node_modules/a-very-long-package-name-for-testing/lib/and-a-long-directory-name-below-it/deeper/still-deeper/index.js)" = "module.exports = 1" ]
    [ ! -e "$rootfs/tmp/.wh.old" ]
    [ "$(jq -r '.process.args | join(" ")' "$WORK/bundle/config.json")" = "node server.js" ]
    rm -rf "$WORK/bundle"
}

@test "skopeo inspects an exported layout and archive" {
    run skopeo inspect "oci:$WORK/oci:1"
    [ "$status" -eq 0 ]
    [ "$(jq -r .Digest <<<"$output")" = "$(cat "$WORK/demo.digest")" ]
    [ "$(jq -r '.Layers | length' <<<"$output")" -eq 2 ]
    run "$NRUN" save -o "$WORK/demo.tar" demo:1
    [ "$status" -eq 0 ]
    run skopeo inspect "oci-archive:$WORK/demo.tar:demo:1"
    [ "$status" -eq 0 ]
    [ "$(jq -r .Digest <<<"$output")" = "$(cat "$WORK/demo.digest")" ]
    # The archive round-trips through nrun load into another store.
    run "$NRUN" --root "$WORK/store2" load -i "$WORK/demo.tar"
    [ "$status" -eq 0 ]
    [ "$output" = "Loaded image: demo:1" ]
    [ "$("$NRUN" --root "$WORK/store2" image inspect demo:1 | jq -r '.[0].Digest')" = "$(cat "$WORK/demo.digest")" ]
    rm -rf "$WORK/store2"
    # Through a pipe, as docker save | docker load.
    run bash -c "'$NRUN' save demo:1 | '$NRUN' --root '$WORK/store4' load"
    [ "$status" -eq 0 ]
    [ "$output" = "Loaded image: demo:1" ]
    # --name REPO keeps the archive's tag.
    run "$NRUN" --root "$WORK/store4" load -i "$WORK/demo.tar" --name renamed
    [ "$output" = "Loaded image: renamed:1" ]
    rm -rf "$WORK/store4"
}

@test "an exported archive is also a docker-archive (manifest.json, as docker save writes): skopeo reads and unpacks it" {
    run "$NRUN" save -o "$WORK/demo-d.tar" demo:1
    [ "$status" -eq 0 ]
    m=$(tar -xOf "$WORK/demo-d.tar" manifest.json)
    [ "$(jq -r '.[0].RepoTags | join(",")' <<<"$m")" = demo:1 ]
    cfg=$("$NRUN" image inspect demo:1 | jq -r '.[0].Id')
    [ "$(jq -r '.[0].Config' <<<"$m")" = "blobs/sha256/${cfg#sha256:}" ]
    run skopeo inspect --config "docker-archive:$WORK/demo-d.tar"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.config.Cmd | join(" ")' <<<"$output")" = "node server.js" ]
    rm -rf "$WORK/fromdocker" "$WORK/dbundle"
    run skopeo copy -q "docker-archive:$WORK/demo-d.tar" "oci:$WORK/fromdocker:1"
    [ "$status" -eq 0 ]
    umoci unpack --image "$WORK/fromdocker:1" "$WORK/dbundle" >/dev/null
    grep -q createServer "$WORK/dbundle/rootfs/app/server.js"
    [ ! -e "$WORK/dbundle/rootfs/tmp/.wh.old" ]
    # a bare --tag is an OCI ref.name, not a docker reference: no RepoTags
    run "$NRUN" save --tag 1 -o "$WORK/demo-t.tar" demo:1
    [ "$status" -eq 0 ]
    [ "$(tar -xOf "$WORK/demo-t.tar" manifest.json | jq '.[0].RepoTags | length')" -eq 0 ]
    rm -rf "$WORK/fromdocker" "$WORK/dbundle" "$WORK/demo-d.tar" "$WORK/demo-t.tar"
}

@test "nrun load of a docker-archive skopeo wrote (docker save's form): the image ID is kept, the layers verify, the name is Docker's short form" {
    rm -rf "$WORK/oci-d" "$WORK/sk-d.tar"
    "$NRUN" save --dir --tag 1 -o "$WORK/oci-d" demo:1
    run skopeo copy -q "oci:$WORK/oci-d:1" "docker-archive:$WORK/sk-d.tar:skopeo/demo:d"
    [ "$status" -eq 0 ]
    tar -tf "$WORK/sk-d.tar" | grep -qx manifest.json
    ! tar -tf "$WORK/sk-d.tar" | grep -qx index.json || false
    run "$NRUN" --root "$WORK/store5" load -i "$WORK/sk-d.tar"
    [ "$status" -eq 0 ]
    # skopeo writes docker.io/skopeo/demo:d; docker load shows the short form, as we do
    [ "$output" = "Loaded image: skopeo/demo:d" ]
    want=$("$NRUN" image inspect demo:1 | jq -r '.[0].Id')
    [ "$("$NRUN" --root "$WORK/store5" image inspect skopeo/demo:d | jq -r '.[0].Id')" = "$want" ]
    run "$NRUN" --root "$WORK/store5" image inspect skopeo/demo:d
    [ "$status" -eq 0 ]
    # what nrun made of it is an OCI image umoci unpacks
    rm -rf "$WORK/oci-d2" "$WORK/dbundle2"
    "$NRUN" --root "$WORK/store5" save --dir --tag d -o "$WORK/oci-d2" skopeo/demo:d
    umoci unpack --image "$WORK/oci-d2:d" "$WORK/dbundle2" >/dev/null
    grep -q createServer "$WORK/dbundle2/rootfs/app/server.js"
    # -n REPO keeps the archive's tag, as for an OCI archive
    run "$NRUN" --root "$WORK/store5" load -i "$WORK/sk-d.tar" -n renamed
    [ "$output" = "Loaded image: renamed:d" ]
    rm -rf "$WORK/store5" "$WORK/oci-d" "$WORK/oci-d2" "$WORK/dbundle2" "$WORK/sk-d.tar"
}

@test "nrun load of an archive named as containerd and Docker 25 name it (io.containerd.image.name, ref.name only the tag)" {
    rm -rf "$WORK/d25" && mkdir -p "$WORK/d25"
    "$NRUN" save -o "$WORK/d25.tar" demo:1
    tar -C "$WORK/d25" -xf "$WORK/d25.tar"
    named() { # index.json entry annotations: containerd name $1, ref.name $2
        jq -c --arg n "$1" --arg t "$2" '.manifests[0].annotations = {"io.containerd.image.name": $n,
            "org.opencontainers.image.ref.name": $t}' "$WORK/d25/index.json" >"$WORK/d25/i" && mv "$WORK/d25/i" "$WORK/d25/index.json"
        tar -C "$WORK/d25" -cf "$WORK/d25.tar" .
    }
    named docker.io/library/demo:25 25
    run "$NRUN" --root "$WORK/store6" load -i "$WORK/d25.tar"
    [ "$status" -eq 0 ]
    [ "$output" = "Loaded image: demo:25" ]
    named docker.io/team/demo:26 26
    run "$NRUN" --root "$WORK/store6" load -i "$WORK/d25.tar"
    [ "$output" = "Loaded image: team/demo:26" ]
    named 127.0.0.1:5000/x/demo:27 27
    run "$NRUN" --root "$WORK/store6" load -i "$WORK/d25.tar"
    [ "$output" = "Loaded image: 127.0.0.1:5000/x/demo:27" ]
    # -n REPO still wins; a containerd name whose tag is not ref.name, or not a name, is not used
    run "$NRUN" --root "$WORK/store6" load -i "$WORK/d25.tar" -n mine
    [ "$output" = "Loaded image: mine:27" ]
    for bad in docker.io/library/demo:other 'Not A Name:28'; do
        named "$bad" 28
        run "$NRUN" --root "$WORK/store6" load -i "$WORK/d25.tar"
        [ "$status" -ne 0 ]
        [[ $output == *'named only by the tag "28"; give a repository name'* ]]
    done
    rm -rf "$WORK/store6" "$WORK/d25" "$WORK/d25.tar"
}

@test "the same image written into two stores has the same digest" {
    d1=$("$MAKE_IMAGE" --make-image "$WORK/s1" r:1)
    d2=$(SOURCE_DATE_EPOCH=0 "$MAKE_IMAGE" --make-image "$WORK/s2" other:2)
    [ "$d1" = "$d2" ]
    [ "$d1" = "$(cat "$WORK/demo.digest")" ]
    d3=$(SOURCE_DATE_EPOCH=1700000000 "$MAKE_IMAGE" --make-image "$WORK/s3" r:1)
    [ "$d3" != "$d1" ]
    [ "$("$NRUN" --root "$WORK/s3" image inspect r:1 | jq -r '.[0].Created')" = 2023-11-14T22:13:20Z ]
    rm -rf "$WORK/s1" "$WORK/s2" "$WORK/s3"
}

podman_tmp() {
    podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" --storage-driver vfs \
        --cgroup-manager cgroupfs --events-backend none "$@"
}

@test "podman loads an exported archive (gzip and zstd layers)" {
    mkdir -p "$WORK/podman"
    run podman_tmp load -i "$WORK/demo.tar"
    [ "$status" -eq 0 ]
    [[ $output == *"Loaded image: localhost/demo:1"* ]]
    run podman_tmp images --format '{{.Digest}}' localhost/demo:1
    [ "$output" = "$(cat "$WORK/demo.digest")" ]
    # The zstd image has the same config (so the same podman image ID): a fresh podman store.
    podman_tmp rmi -f localhost/demo:1 >/dev/null
    rm -rf "$WORK/podman" && mkdir -p "$WORK/podman"
    "$MAKE_IMAGE" --make-image "$NRUN_ROOT" demo:zstd zstd >"$WORK/zstd.digest"
    run "$NRUN" save -o "$WORK/zstd.tar" demo:zstd
    [ "$status" -eq 0 ]
    run podman_tmp load -i "$WORK/zstd.tar"
    [ "$status" -eq 0 ]
    run podman_tmp images --format '{{.Digest}}' localhost/demo:zstd
    [ "$output" = "$(cat "$WORK/zstd.digest")" ]
    podman_tmp rmi -f localhost/demo:zstd >/dev/null
    rm -rf "$WORK/podman"
}

@test "skopeo copy into a docker-registry on 127.0.0.1 and back keeps the digest" {
    nr_registry_start
    digest=$(cat "$WORK/demo.digest")
    run skopeo copy --dest-tls-verify=false "oci:$WORK/oci:1" "docker://$NR_REGISTRY/demo:1"
    [ "$status" -eq 0 ]
    run skopeo inspect --tls-verify=false "docker://$NR_REGISTRY/demo:1"
    [ "$status" -eq 0 ]
    [ "$(jq -r .Digest <<<"$output")" = "$digest" ]
    run skopeo copy --src-tls-verify=false "docker://$NR_REGISTRY/demo:1" "oci:$WORK/back:1"
    [ "$status" -eq 0 ]
    run "$NRUN" --root "$WORK/store3" load -i "$WORK/back" --name back
    [ "$status" -eq 0 ]
    [ "$("$NRUN" --root "$WORK/store3" image inspect back:1 | jq -r '.[0].Digest')" = "$digest" ]
    rm -rf "$WORK/store3"
    # A zstd image goes through the registry unchanged as well.
    "$NRUN" save --dir --tag z -o "$WORK/ociz" demo:zstd
    # --preserve-digests: else skopeo swaps in the gzip blobs of demo:1 it knows share these diff_ids.
    run skopeo copy --preserve-digests --dest-tls-verify=false "oci:$WORK/ociz:z" "docker://$NR_REGISTRY/demo:zstd"
    [ "$status" -eq 0 ]
    skopeo inspect --tls-verify=false --raw "docker://$NR_REGISTRY/demo:zstd" >"$WORK/zstd.manifest"
    [ "$(jq -r '.layers[0].mediaType' "$WORK/zstd.manifest")" = application/vnd.oci.image.layer.v1.tar+zstd ]
    [ "$(sha256sum <"$WORK/zstd.manifest" | cut -c1-64)" = "$(cut -c8- "$WORK/zstd.digest")" ]
    nr_registry_stop
}
