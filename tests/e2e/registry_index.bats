#!/usr/bin/env bats
# Multi-platform images (an OCI index or a Docker manifest list) against a
# real docker-registry on 127.0.0.1: `nrun pull --all-platforms` keeps the
# index and every platform's image, `nrun push` sends them all and then the
# index, so the registry's index digest is the source's (checked with skopeo);
# run picks linux/amd64; images/inspect show the platforms; a plain pull
# keeps linux/amd64 only; load of a layout skopeo wrote with --all; rmi and
# prune take the index and what only it used, nothing else.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/registry
load ../lib/runtime

setup_file() {
    reg_setup_file index
    reg_start
    make_two_platforms "$WORK/lay"
    # the index goes to the registry as it is (skopeo keeps its digest)
    skopeo copy -q --all --preserve-digests --dest-tls-verify=false "oci:$WORK/lay:multi" \
        "docker://$NR_REGISTRY/src:multi"
    # and as a Docker manifest list (skopeo converts it: other digests)
    skopeo copy -q --all --format v2s2 --dest-tls-verify=false "oci:$WORK/lay:multi" \
        "docker://$NR_REGISTRY/list:multi"
}

teardown_file() { reg_teardown_file; }

setup() {
    REG=$(cat "$WORK/registry")
}

# An OCI layout at $1 whose tag "multi" is an index of two images: bb:1 as
# linux/amd64, and an "arm64" image that reuses bb:1's layers with its own
# config (enough for a registry: nothing runs it).  Writes the digests to
# $WORK/{index,amd,arm}.digest.
make_two_platforms() {
    local lay=$1 b amd cfg armcfg armman idx
    "$NRUN" save --dir --tag amd -o "$lay" bb:1
    b=$lay/blobs/sha256
    amd=$(jq -r '.manifests[0].digest' "$lay/index.json")
    cfg=$(jq -r '.config.digest' "$b/${amd#sha256:}")
    jq -cj '.architecture="arm64" | .variant="v8"' "$b/${cfg#sha256:}" >"$lay/tmp"
    armcfg=sha256:$(sha256sum <"$lay/tmp" | cut -c1-64)
    mv "$lay/tmp" "$b/${armcfg#sha256:}"
    jq -cj --arg d "$armcfg" --argjson s "$(stat -c %s "$b/${armcfg#sha256:}")" \
        '.config.digest=$d | .config.size=$s' "$b/${amd#sha256:}" >"$lay/tmp"
    armman=sha256:$(sha256sum <"$lay/tmp" | cut -c1-64)
    mv "$lay/tmp" "$b/${armman#sha256:}"
    jq -ncj --arg a "$amd" --argjson asz "$(stat -c %s "$b/${amd#sha256:}")" \
        --arg r "$armman" --argjson rs "$(stat -c %s "$b/${armman#sha256:}")" '{schemaVersion:2,
        mediaType:"application/vnd.oci.image.index.v1+json", manifests:[
        {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$r,size:$rs,
         platform:{os:"linux",architecture:"arm64",variant:"v8"}},
        {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$a,size:$asz,
         platform:{os:"linux",architecture:"amd64"}}]}' >"$lay/tmp"
    idx=sha256:$(sha256sum <"$lay/tmp" | cut -c1-64)
    jq -nc --arg d "$idx" --argjson s "$(stat -c %s "$lay/tmp")" '{schemaVersion:2, manifests:[
        {mediaType:"application/vnd.oci.image.index.v1+json",digest:$d,size:$s,
         annotations:{"org.opencontainers.image.ref.name":"multi"}}]}' >"$lay/index.json"
    mv "$lay/tmp" "$b/${idx#sha256:}"
    echo "$idx" >"$WORK/index.digest"
    echo "$amd" >"$WORK/amd.digest"
    echo "$armman" >"$WORK/arm.digest"
}

fresh() { rm -rf "$WORK/$1"; mkdir -p "$WORK/$1"; echo "$WORK/$1"; }
raw_digest() { skopeo inspect --raw --tls-verify=false "docker://$1" | sha256sum | sed 's/^/sha256:/; s/ .*//'; }

@test "the source: the registry holds the index with the layout's digest" {
    [ "$(raw_digest "$REG/src:multi")" = "$(cat "$WORK/index.digest")" ]
}

@test "pull --all-platforms keeps the index and both images; push to another repository keeps the digest" {
    idx=$(cat "$WORK/index.digest") amd=$(cat "$WORK/amd.digest") arm=$(cat "$WORK/arm.digest")
    root=$(fresh all)
    run "$NRUN" --root "$root" pull --all-platforms "$REG/src:multi"
    [ "$status" -eq 0 ]
    [[ $output == *"Digest: $idx"* ]]
    for d in "$idx" "$amd" "$arm"; do [ -f "$root/blobs/sha256/${d#sha256:}" ]; done
    # the arm64 config too
    armcfg=$(jq -r .config.digest "$root/blobs/sha256/${arm#sha256:}")
    [ -f "$root/blobs/sha256/${armcfg#sha256:}" ]
    # the tag names the index, with its media type
    [ "$(jq -r '.manifests[0].digest' "$root/index.json")" = "$idx" ]
    [ "$(jq -r '.manifests[0].mediaType' "$root/index.json")" = application/vnd.oci.image.index.v1+json ]
    run "$NRUN" --root "$root" push "$REG/src:multi" "$REG/copy/dst:multi"
    [ "$status" -eq 0 ]
    [[ ${lines[-1]} == "multi: digest: $idx size: "* ]]
    [ "$(raw_digest "$REG/copy/dst:multi")" = "$idx" ]
    # each platform's image is there by digest, complete (skopeo reads its config)
    run skopeo inspect --tls-verify=false --override-arch arm64 "docker://$REG/copy/dst:multi"
    [ "$status" -eq 0 ]
    [ "$(jq -r .Architecture <<<"$output")" = arm64 ]
    [ "$(raw_digest "$REG/copy/dst@$arm")" = "$arm" ]
    run skopeo copy -q --all --src-tls-verify=false "docker://$REG/copy/dst:multi" "dir:$WORK/check"
    [ "$status" -eq 0 ]
    rm -rf "$WORK/check"
    # a second push finds everything there and changes nothing
    run "$NRUN" --root "$root" push "$REG/src:multi" "$REG/copy/dst:multi"
    [ "$status" -eq 0 ]
    [[ $output != *Pushed* ]]
}

@test "run and images/inspect: linux/amd64 runs; the tag shows as an index with its platforms" {
    idx=$(cat "$WORK/index.digest") amd=$(cat "$WORK/amd.digest")
    root=$WORK/all
    [ -d "$root" ] || "$NRUN" --root "$root" pull -q --all-platforms "$REG/src:multi"
    run "$NRUN" --root "$root" run --rm --network none "$REG/src:multi" sh -c 'echo amd64-of-the-index'
    [ "$status" -eq 0 ]
    [[ $output == *amd64-of-the-index* ]]
    run "$NRUN" --root "$root" images
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +DIGEST\ +SIZE\ +CREATED\ +PLATFORMS$ ]]
    [[ ${lines[1]} == *"$idx"*"linux/arm64/v8,linux/amd64" ]]
    run "$NRUN" --root "$root" images --format json
    [ "$(jq -r '.[0].Digest' <<<"$output")" = "$idx" ]
    [ "$(jq -r '[.[0].Platforms[].Platform] | join(",")' <<<"$output")" = linux/arm64/v8,linux/amd64 ]
    run "$NRUN" --root "$root" image inspect "$REG/src:multi"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.[0].Digest' <<<"$output")" = "$idx" ]
    [ "$(jq -r '.[0].ManifestDigest' <<<"$output")" = "$amd" ]
    [ "$(jq -r '.[0].Architecture' <<<"$output")" = amd64 ]
    [ "$(jq -r '.[0].Index.MediaType' <<<"$output")" = application/vnd.oci.image.index.v1+json ]
    [ "$(jq -r '.[0].Index.Platforms | length' <<<"$output")" -eq 2 ]
    [ "$(jq -r '.[0].RepoDigests[0]' <<<"$output")" = "$REG/src@$idx" ]
    # by the index's digest too, and a new tag names the index
    run "$NRUN" --root "$root" tag "$REG/src@$idx" again:1
    [ "$status" -eq 0 ]
    [ "$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="again:1") | .digest' "$root/index.json")" = "$idx" ]
    "$NRUN" --root "$root" rmi again:1 >/dev/null
}

@test "nbuild FROM and COPY --from a stored index use its linux/amd64 image; FROM name@<index digest> too" {
    idx=$(cat "$WORK/index.digest") amd=$(cat "$WORK/amd.digest")
    root=$WORK/all
    [ -d "$root" ] || "$NRUN" --root "$root" pull -q --all-platforms "$REG/src:multi"
    mkdir -p "$WORK/ctx"
    printf 'FROM %s\nCOPY --from=%s /bin/busybox /bb2\nCMD ["sh"]\n' "$REG/src@$idx" "$REG/src:multi" >"$WORK/ctx/Nodefile"
    run "$NBUILD" --root "$root" --progress plain -t fromidx:1 "$WORK/ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output != *PULL* ]] # found in the store, not pulled again
    base=$(jq -c '[.layers[].digest]' "$root/blobs/sha256/${amd#sha256:}")
    run "$NRUN" --root "$root" image inspect fromidx:1
    [ "$(jq -c '[.[0].Layers[:-1][].Digest]' <<<"$output")" = "$base" ]
    run "$NRUN" --root "$root" run --rm --network none fromidx:1 sh -c 'test -x /bb2 && echo built-on-index'
    [ "$status" -eq 0 ]
    [[ $output == *built-on-index* ]]
}

@test "a plain pull of the index keeps only linux/amd64, as docker pull does" {
    amd=$(cat "$WORK/amd.digest") arm=$(cat "$WORK/arm.digest") idx=$(cat "$WORK/index.digest")
    root=$(fresh plain)
    run "$NRUN" --root "$root" pull "$REG/src:multi"
    [ "$status" -eq 0 ]
    [[ $output == *"Digest: $amd"* ]]
    [ ! -e "$root/blobs/sha256/${arm#sha256:}" ]
    [ ! -e "$root/blobs/sha256/${idx#sha256:}" ]
    run "$NRUN" --root "$root" images
    [[ ${lines[0]} =~ CREATED$ ]]
}

@test "a Docker manifest list: kept as a list, pushed back with the same digest" {
    want=$(raw_digest "$REG/list:multi")
    [ "$want" != "$(cat "$WORK/index.digest")" ]
    root=$(fresh list)
    run "$NRUN" --root "$root" pull --all-platforms "$REG/list:multi"
    [ "$status" -eq 0 ]
    [[ $output == *"Digest: $want"* ]]
    [ "$(jq -r '.manifests[0].mediaType' "$root/index.json")" = application/vnd.docker.distribution.manifest.list.v2+json ]
    run "$NRUN" --root "$root" push "$REG/list:multi" "$REG/list2:multi"
    [ "$status" -eq 0 ]
    [ "$(raw_digest "$REG/list2:multi")" = "$want" ]
    [ "$(skopeo inspect --raw --tls-verify=false "docker://$REG/list2:multi" | jq -r .mediaType)" = \
        application/vnd.docker.distribution.manifest.list.v2+json ]
    run "$NRUN" --root "$root" run --rm --network none "$REG/list:multi" sh -c 'echo list-runs'
    [ "$status" -eq 0 ]
    [[ $output == *list-runs* ]]
}

@test "nrun load of a layout skopeo wrote with --all keeps the index; push keeps its digest" {
    idx=$(cat "$WORK/index.digest")
    rm -rf "$WORK/back"
    skopeo copy -q --all --preserve-digests --src-tls-verify=false "docker://$REG/src:multi" "oci:$WORK/back:multi"
    root=$(fresh load)
    run "$NRUN" --root "$root" load -i "$WORK/back" -n loaded
    [ "$status" -eq 0 ]
    [[ $output == *"Loaded image: loaded:multi"* ]]
    [ "$(jq -r '.manifests[0].digest' "$root/index.json")" = "$idx" ]
    run "$NRUN" --root "$root" image inspect loaded:multi
    [ "$(jq -r '.[0].Index.Platforms | length' <<<"$output")" -eq 2 ]
    run "$NRUN" --root "$root" push loaded:multi "$REG/loaded:multi"
    [ "$status" -eq 0 ]
    [ "$(raw_digest "$REG/loaded:multi")" = "$idx" ]
    # an archive of the same layout loads the same way
    tar -C "$WORK/back" -cf "$WORK/back.tar" .
    root=$(fresh loadtar)
    run "$NRUN" --root "$root" load -i "$WORK/back.tar" -n loaded
    [ "$status" -eq 0 ]
    [ "$(jq -r '.manifests[0].digest' "$root/index.json")" = "$idx" ]
}

@test "nrun load of a layout whose index.json lists a name once per platform: the name goes to linux/amd64" {
    amd=$(cat "$WORK/amd.digest") arm=$(cat "$WORK/arm.digest")
    rm -rf "$WORK/flat"
    cp -r "$WORK/lay" "$WORK/flat"
    b=$WORK/flat/blobs/sha256
    jq -nc --arg a "$amd" --argjson asz "$(stat -c %s "$b/${amd#sha256:}")" --arg r "$arm" \
        --argjson rsz "$(stat -c %s "$b/${arm#sha256:}")" '{schemaVersion:2, manifests:[
        {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$a,size:$asz,
         platform:{os:"linux",architecture:"amd64"},annotations:{"org.opencontainers.image.ref.name":"both:1"}},
        {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$r,size:$rsz,
         platform:{os:"linux",architecture:"arm64",variant:"v8"},annotations:{"org.opencontainers.image.ref.name":"both:1"}}]}' \
        >"$WORK/flat/index.json"
    root=$(fresh flatroot)
    run "$NRUN" --root "$root" load -i "$WORK/flat"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"Loaded image: both:1"* ]]
    [[ $output == *"Loaded image ID: $arm"* ]]
    [ "$(jq -r '.manifests[0].digest' "$root/index.json")" = "$amd" ]
}

@test "nrun save of a multi-platform tag writes the whole index: skopeo copies it with its digest, load reads it back" {
    idx=$(cat "$WORK/index.digest")
    root=$WORK/all
    [ -d "$root" ] || "$NRUN" --root "$root" pull -q --all-platforms "$REG/src:multi"
    rm -rf "$WORK/saved"
    run "$NRUN" --root "$root" save --dir --tag multi -o "$WORK/saved" "$REG/src:multi"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.manifests[0].digest' "$WORK/saved/index.json")" = "$idx" ]
    run skopeo copy -q --all --preserve-digests --dest-tls-verify=false "oci:$WORK/saved:multi" "docker://$REG/saved:multi"
    [ "$status" -eq 0 ]
    [ "$(raw_digest "$REG/saved:multi")" = "$idx" ]
    run "$NRUN" --root "$root" save -o "$WORK/saved.tar" "$REG/src:multi"
    [ "$status" -eq 0 ]
    # its docker-archive manifest.json (what docker load reads) names the linux/amd64 image
    amd=$(cat "$WORK/amd.digest")
    [ "$(tar -xOf "$WORK/saved.tar" manifest.json | jq -r '.[0].Config')" = \
        "blobs/sha256/$(jq -r '.config.digest[7:]' "$root/blobs/sha256/${amd#sha256:}")" ]
    run skopeo inspect --config "docker-archive:$WORK/saved.tar"
    [ "$status" -eq 0 ]
    [ "$(jq -r .architecture <<<"$output")" = amd64 ]
    r2=$(fresh saveload)
    run "$NRUN" --root "$r2" load -i "$WORK/saved.tar"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.manifests[0].digest' "$r2/index.json")" = "$idx" ]
    run "$NRUN" --root "$r2" run --rm --network none "$REG/src:multi" sh -c 'echo saved-and-loaded'
    [ "$status" -eq 0 ]
    [[ $output == *saved-and-loaded* ]]
}

@test "rmi takes the index and what only it lists; prune the rest; another tag's image stays" {
    idx=$(cat "$WORK/index.digest") amd=$(cat "$WORK/amd.digest") arm=$(cat "$WORK/arm.digest")
    "$NRUN" push bb:1 "$REG/src:amd" >/dev/null
    root=$(fresh gc)
    "$NRUN" --root "$root" pull -q --all-platforms "$REG/src:multi" >/dev/null
    "$NRUN" --root "$root" pull -q "$REG/src:amd" >/dev/null
    armcfg=$(jq -r .config.digest "$root/blobs/sha256/${arm#sha256:}")
    # prune with both tags: nothing of either goes
    n=$(ls "$root/blobs/sha256" | wc -l)
    run "$NRUN" --root "$root" image prune
    [ "$status" -eq 0 ]
    [ "$(ls "$root/blobs/sha256" | wc -l)" -eq "$n" ]
    run "$NRUN" --root "$root" rmi "$REG/src:multi"
    [ "$status" -eq 0 ]
    [[ $output == *"Deleted: $idx"* ]]
    [ ! -e "$root/blobs/sha256/${idx#sha256:}" ]
    [ ! -e "$root/blobs/sha256/${arm#sha256:}" ]
    [ -f "$root/blobs/sha256/${amd#sha256:}" ] # src:amd still names it
    run "$NRUN" --root "$root" image prune
    [ "$status" -eq 0 ]
    [ ! -e "$root/blobs/sha256/${armcfg#sha256:}" ]
    run "$NRUN" --root "$root" run --rm --network none "$REG/src:amd" sh -c 'echo still-here'
    [ "$status" -eq 0 ]
    [[ $output == *still-here* ]]
    "$NRUN" --root "$root" rmi "$REG/src:amd" >/dev/null
    "$NRUN" --root "$root" image prune >/dev/null
    [ "$(ls "$root/blobs/sha256" | wc -l)" -eq 0 ]
}

@test "pull --all-platforms of a single-platform image is a plain pull" {
    root=$(fresh single)
    "$NRUN" push bb:1 "$REG/one:1" >/dev/null
    run "$NRUN" --root "$root" pull --all-platforms "$REG/one:1"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.manifests[0].mediaType' "$root/index.json")" = application/vnd.oci.image.manifest.v1+json ]
}
