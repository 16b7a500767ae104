#!/usr/bin/env bats
# Hostile multi-platform indexes, from a registry (`nrun pull --all-platforms`
# against tests/security/hostile-registry.py on 127.0.0.1) and from an OCI
# layout (`nrun load`): an entry that is an index (nesting, and with it any
# loop), an entry whose digest serves the index again, more entries than the
# bound, a 5 MiB index, a manifest listed twice (consistently: fetched once;
# with another size: refused), no linux/amd64 image, an entry without a
# platform (kept), a platform whose manifest is missing after another was
# fetched.  Each refusal is one line naming what was wrong, a non-zero
# exit, bounded memory and time, and the store as it was.
load ../lib/registry
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() { reg_hostile_setup_file; }
teardown_file() { reg_hostile_teardown_file; }
setup() { reg_hostile_setup; }

# At most 512 MiB and 60 s (under ASAN, which reserves a huge shadow, by RSS).
bounded() { sec_bounded 60 "$@"; }

unchanged() { reg_store_unchanged "$@"; }

# pull --all-platforms of repository $1 is refused with a last line matching $2.
refused() {
    local before
    before=$(nr_tree_hash "$NRUN_ROOT")
    run bounded "$NRUN" pull --all-platforms "$REG/$1:1"
    echo "$output"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { echo "exit $status"; return 1; }
    [[ ${lines[-1]} == nrun:\ $2 ]] || { echo "want: nrun: $2"; return 1; }
    unchanged "$before"
}

@test "the control: a two-platform index pulls whole" {
    root=$BATS_FILE_TMPDIR/ok
    run bounded "$NRUN" --root "$root" pull -q --all-platforms "$REG/multiok:1"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.manifests[0].mediaType' "$root/index.json")" = application/vnd.oci.image.index.v1+json ]
    run "$NRUN" --root "$root" images --format json
    [ "$(jq -r '[.[0].Platforms[].Platform] | join(",")' <<<"$output")" = linux/arm64,linux/amd64 ]
    rm -rf "$root"
}

@test "rmi of one platform's digest (bare or tagged) keeps the blob the stored index lists: the image stays whole" {
    root=$BATS_FILE_TMPDIR/rmichild
    run bounded "$NRUN" --root "$root" pull -q --all-platforms "$REG/multiok:1"
    [ "$status" -eq 0 ]
    idx=$(jq -r '.manifests[0].digest' "$root/index.json")
    for arch in arm64 amd64; do
        d=$(jq -r ".manifests[] | select(.platform.architecture==\"$arch\") | .digest" "$root/blobs/sha256/${idx#sha256:}")
        run "$NRUN" --root "$root" rmi "$d"
        echo "$output"
        [ "$status" -ne 0 ]
        [[ ${lines[-1]} == "nrun: $d is one platform of a multi-platform image in the store: remove that image instead" ]]
        [ -f "$root/blobs/sha256/${d#sha256:}" ]
    done
    # a platform tagged on its own: rmi of that tag untags it, the index keeps its blob
    "$NRUN" --root "$root" tag "$d" solo:1
    run "$NRUN" --root "$root" rmi solo:1
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "Untagged: solo:1" ]
    [ -f "$root/blobs/sha256/${d#sha256:}" ]
    run "$NRUN" --root "$root" inspect "$REG/multiok:1"
    [ "$status" -eq 0 ]
    run "$NRUN" --root "$root" image prune -a -f
    [ "$status" -eq 0 ]
    # the index itself goes with its images
    run "$NRUN" --root "$root" rmi "$REG/multiok:1"
    [ "$status" -eq 0 ]
    [ ! -e "$root/blobs/sha256/${idx#sha256:}" ] && [ ! -e "$root/blobs/sha256/${d#sha256:}" ]
    rm -rf "$root"
}

@test "an entry that is an index (nesting, a loop through it): refused before it is fetched" {
    : >"$HOSTILE_LOG"
    refused multinest "*index sha256:*: manifests\[0\]: is a application/vnd.oci.image.index.v1+json, not an image manifest (nested indexes are not supported)"
    [ "$(grep -c '^GET /v2/multinest/manifests/sha256' "$HOSTILE_LOG")" -eq 0 ]
}

@test "an entry whose digest serves the index again: refused by its hash" {
    refused multiloop "*manifest sha256:*: content hashes to sha256:*"
}

@test "more entries than the bound, and a 5 MiB index: refused" {
    refused multimany "*index sha256:*: index lists 65 manifests (at most 64)"
    refused multibig "*manifest 1*reply body larger than 4194304 bytes"
}

@test "a manifest listed twice: fetched once when the entries agree, refused when they do not" {
    root=$BATS_FILE_TMPDIR/dup
    : >"$HOSTILE_LOG"
    run bounded "$NRUN" --root "$root" pull -q --all-platforms "$REG/multidup:1"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^GET /v2/multidup/manifests/sha256' "$HOSTILE_LOG")" -eq 1 ]
    run "$NRUN" --root "$root" images --format json
    [ "$(jq -r '[.[0].Platforms[].Platform] | join(",")' <<<"$output")" = linux/amd64,linux/arm64 ]
    rm -rf "$root"
    refused multidupbad "*manifests\[1\]: lists sha256:* again (as manifests\[0\]) with another size or media type"
}

@test "an index with no linux/amd64 image: refused (nrun could not run it)" {
    refused multinoamd "*index sha256:*: index has no linux/amd64 image"
}

@test "an entry without a platform is kept and shown as unknown" {
    root=$BATS_FILE_TMPDIR/noplat
    run bounded "$NRUN" --root "$root" pull -q --all-platforms "$REG/multinoplat:1"
    [ "$status" -eq 0 ]
    run "$NRUN" --root "$root" images --format json
    [ "$(jq -r '[.[0].Platforms[].Platform] | join(",")' <<<"$output")" = unknown,linux/amd64 ]
    rm -rf "$root"
}

@test "an attestation manifest (unknown/unknown, an in-toto layer), as buildx adds: kept whole, never run" {
    root=$BATS_FILE_TMPDIR/attest
    run bounded "$NRUN" --root "$root" pull -q --all-platforms "$REG/multiattest:1"
    [ "$status" -eq 0 ]
    run "$NRUN" --root "$root" images --format json
    [ "$(jq -r '[.[0].Platforms[].Platform] | join(",")' <<<"$output")" = linux/amd64,unknown/unknown ]
    # its layer is stored as served, by digest
    m=$(jq -r '.[0].Platforms[1].Digest' <<<"$output")
    l=$(jq -r '.layers[0].digest' "$root/blobs/sha256/${m#sha256:}")
    [ "$(jq -r ._type "$root/blobs/sha256/${l#sha256:}")" = https://in-toto.io/Statement/v0.1 ]
    run "$NRUN" --root "$root" image inspect "$REG/multiattest:1"
    [ "$(jq -r '.[0].Architecture' <<<"$output")" = amd64 ]
    rm -rf "$root"
}

@test "a platform whose manifest or layer is missing: the store is as it was, also after another's layer came" {
    refused multimissing "*manifest sha256:*MANIFEST_UNKNOWN*"
    : >"$HOSTILE_LOG"
    refused multibadblob "*blob sha256:*BLOB_UNKNOWN*"
    # the amd64 layer was downloaded (staged, never linked) before the arm64 one failed
    grep -q '^GET /v2/multibadblob/blobs/sha256:' "$HOSTILE_LOG"
}

# ---- the same rules for an OCI layout (nrun load) ----

# A layout at $1 with one image (amd64), its manifest digest in $1.amd; the
# index written by the caller.
layout() {
    local dir=$1
    mkdir -p "$dir/blobs/sha256"
    printf 'hostile layer\n' >"$dir/f"
    tar -C "$dir" -cf "$dir/l.tar" f
    rm "$dir/f"
    put "$dir" "$dir/l.tar" >"$dir.layer"
    jq -ncj --arg l "$(cat "$dir.layer")" '{architecture:"amd64",os:"linux",config:{},rootfs:{type:"layers",diff_ids:[$l]}}' >"$dir/c"
    put "$dir" "$dir/c" >"$dir.cfg"
    jq -ncj --arg c "$(cat "$dir.cfg")" --argjson cs "$(stat -c %s "$dir/blobs/sha256/$(cut -c8- "$dir.cfg")")" \
        --arg l "$(cat "$dir.layer")" --argjson ls "$(stat -c %s "$dir/blobs/sha256/$(cut -c8- "$dir.layer")")" \
        '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
          config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
          layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar",digest:$l,size:$ls}]}' >"$dir/m"
    put "$dir" "$dir/m" >"$dir.amd"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
}

# Move file $2 into layout $1's blobs; print its digest.
put() {
    local d
    d=sha256:$(sha256sum <"$2" | cut -c1-64)
    mv "$2" "$1/blobs/sha256/${d#sha256:}"
    echo "$d"
}

# An entry: digest $2 of layout $1, media type $3 (default image manifest), platform arch $4 (none: "").
entry() {
    jq -nc --arg d "$2" --argjson s "$(stat -c %s "$1/blobs/sha256/${2#sha256:}")" \
        --arg mt "${3:-application/vnd.oci.image.manifest.v1+json}" --arg a "${4-amd64}" \
        '{mediaType:$mt,digest:$d,size:$s} + (if $a == "" then {} else {platform:{os:"linux",architecture:$a}} end)'
}

# Write index blob from entries (JSON objects, one per argument) and make
# index.json name it as "x:1"; print the index digest.
index_of() {
    local dir=$1 d
    shift
    printf '%s\n' "$@" | jq -scj '{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",manifests:.}' >"$dir/i"
    d=$(put "$dir" "$dir/i")
    jq -nc --arg d "$d" --argjson s "$(stat -c %s "$dir/blobs/sha256/${d#sha256:}")" \
        '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.index.v1+json",digest:$d,size:$s,
          annotations:{"org.opencontainers.image.ref.name":"x:1"}}]}' >"$dir/index.json"
    echo "$d"
}

# nrun load of layout $1 is refused with a last line matching $2.
load_refused() {
    local before
    before=$(nr_tree_hash "$NRUN_ROOT")
    run bounded "$NRUN" load -i "$1"
    echo "$output"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { echo "exit $status"; return 1; }
    [[ ${lines[-1]} == nrun:\ $2 ]] || { echo "want: nrun: $2"; return 1; }
    unchanged "$before"
}

@test "load: the control, then a nested index and 65 entries: refused" {
    d=$BATS_FILE_TMPDIR/lay
    rm -rf "$d"*; layout "$d"
    amd=$(cat "$d.amd")
    index_of "$d" "$(entry "$d" "$amd")" >/dev/null
    root=$BATS_FILE_TMPDIR/lroot
    run "$NRUN" --root "$root" load -i "$d"
    [ "$status" -eq 0 ]
    [[ $output == *"Loaded image: x:1"* ]]
    rm -rf "$root"
    inner=$(index_of "$d" "$(entry "$d" "$amd")")
    index_of "$d" "$(entry "$d" "$inner" application/vnd.oci.image.index.v1+json)" "$(entry "$d" "$amd")" >/dev/null
    load_refused "$d" "*index sha256:*manifests\[0\]: is a application/vnd.oci.image.index.v1+json, not an image manifest (nested indexes are not supported)"
    many=()
    for i in $(seq 1 65); do many+=("$(entry "$d" "$amd")"); done
    index_of "$d" "${many[@]}" >/dev/null
    load_refused "$d" "*index lists 65 manifests (at most 64)"
}

@test "load: a digest listed twice with another size, no linux/amd64, a platform's blob missing: refused" {
    d=$BATS_FILE_TMPDIR/lay2
    rm -rf "$d"*; layout "$d"
    amd=$(cat "$d.amd")
    bad=$(entry "$d" "$amd" "" arm64 | jq -c '.size += 1')
    index_of "$d" "$(entry "$d" "$amd")" "$bad" >/dev/null
    load_refused "$d" "*manifests\[1\]: lists sha256:* again (as manifests\[0\]) with another size or media type"
    index_of "$d" "$(entry "$d" "$amd" "" arm64)" >/dev/null
    load_refused "$d" "*index has no linux/amd64 image"
    # an arm64 image whose config blob is not in the layout
    jq -cj '.config.digest="sha256:'"$(printf 0%.0s {1..64})"'"' "$d/blobs/sha256/${amd#sha256:}" >"$d/m2"
    arm=$(put "$d" "$d/m2")
    index_of "$d" "$(entry "$d" "$amd")" "$(entry "$d" "$arm" "" arm64)" >/dev/null
    load_refused "$d" "*blob sha256:0000000000000000000000000000000000000000000000000000000000000000 is missing"
}
