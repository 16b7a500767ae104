#!/usr/bin/env bats
# nbuild with a registry: FROM and COPY --from of images the store lacks are
# pulled, nbuild --push sends every tag; a node: base goes to a configured
# mirror only, and with none the local recipe stays the path (no network).

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/registry
load ../lib/runtime

setup_file() {
    reg_setup_file build
    reg_start
    "$NRUN" push bb:1 "$NR_REGISTRY/base/bb:1" >/dev/null
}

teardown_file() { reg_teardown_file; }

setup() { REG=$(cat "$WORK/registry"); }

@test "nbuild: FROM and COPY --from of registry images the store lacks are pulled; --push pushes every tag" {
    root=$WORK/b1
    mkdir -p "$WORK/ctx1"
    cat >"$WORK/ctx1/Nodefile" <<EOF
FROM $REG/base/bb:1
COPY --from=$REG/base/bb:1 /etc/passwd /copied-passwd
RUN echo built >/built
CMD ["cat", "/built"]
EOF
    run "$NBUILD" --root "$root" --progress plain -t "$REG/team/app:1" -t "$REG/team/app:latest" --push "$WORK/ctx1"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"PULL $REG/base/bb:1"* ]]
    [[ $output == *"pulled from $REG"* ]]
    [[ $output == *"PUSH $REG/team/app:1"* ]]
    digest=${lines[-1]}
    [ "$(skopeo inspect --tls-verify=false "docker://$REG/team/app:1" | jq -r .Digest)" = "$digest" ]
    [ "$(skopeo inspect --tls-verify=false "docker://$REG/team/app:latest" | jq -r .Digest)" = "$digest" ]
    # and a deploy host pulls and runs it
    run "$NRUN" --root "$WORK/deploy" pull -q "$REG/team/app:1"
    [ "$status" -eq 0 ]
    [ "$output" = "$digest" ]
    run "$NRUN" --root "$WORK/deploy" run --rm --network none "$REG/team/app:1"
    [ "$status" -eq 0 ]
    [ "$output" = built ]
    run "$NRUN" --root "$WORK/deploy" run --rm --network none "$REG/team/app:1" cat /copied-passwd
    [[ $output == root:* ]]
}

@test "nbuild: FROM an image the registry lacks names the reference, nothing tagged" {
    mkdir -p "$WORK/ctx2"
    printf 'FROM %s/base/none:1\nCMD ["true"]\n' "$REG" >"$WORK/ctx2/Nodefile"
    run "$NBUILD" --root "$WORK/b2" -t x:1 "$WORK/ctx2"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ $output == *"Nodefile:1:"*"FROM $REG/base/none:1: pull: "*"HTTP 404 MANIFEST_UNKNOWN"* ]]
    run "$NRUN" --root "$WORK/b2" images -q
    [ -z "$output" ]
}

@test "FROM node:N goes to a configured mirror first and says so" {
    "$NRUN" push bb:1 "$REG/library/node:99-mirrortest" >/dev/null
    mkdir -p "$WORK/ctx3"
    printf 'FROM node:99-mirrortest\nCMD ["true"]\n' >"$WORK/ctx3/Nodefile"
    run "$NBUILD" --root "$WORK/b3" --progress plain --registry-mirror "http://$REG" -t n:1 "$WORK/ctx3"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"node:99-mirrortest: pulled from http://$REG"* ]]
}

@test "FROM node:N with no mirror configured never pulls (the local recipe is the path)" {
    mkdir -p "$WORK/ctx4"
    # 99 is no version the local recipe pins: the build fails, and without a network attempt.
    printf 'FROM node:99-nomirror\nCMD ["true"]\n' >"$WORK/ctx4/Nodefile"
    NRUN_REGISTRIES_CONFIG= run "$NBUILD" --root "$WORK/b4" --progress plain -t n:1 "$WORK/ctx4"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ $output != *PULL* ]]
    [[ $output == *"unknown base image node:99-nomirror"* ]]
}

@test "FROM node:N whose mirror lacks it falls back to the local recipe and says so" {
    mkdir -p "$WORK/ctx5"
    printf 'FROM node:98-absent\nCMD ["true"]\n' >"$WORK/ctx5/Nodefile"
    run "$NBUILD" --root "$WORK/b5" --progress plain --registry-mirror "http://$REG" -t n:1 "$WORK/ctx5"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ $output == *"node:98-absent: not pulled"*"making it from the local base recipe"* ]]
    [[ $output == *"unknown base image node:98-absent"* ]]
}

@test "a short Docker Hub name in FROM is pulled through a mirror only, never from docker.io itself" {
    "$NRUN" push bb:1 "$REG/library/hubonly:1" >/dev/null
    mkdir -p "$WORK/ctx6"
    printf 'FROM hubonly:1\nCMD ["true"]\n' >"$WORK/ctx6/Nodefile"
    NRUN_REGISTRIES_CONFIG= run "$NBUILD" --root "$WORK/b6" --progress plain -t h:1 "$WORK/ctx6"
    [ "$status" -ne 0 ]
    [[ $output != *PULL* ]]
    [[ $output == *"unknown base image hubonly:1"* ]]
    echo "{\"registry-mirrors\": [\"http://$REG\"]}" >"$WORK/daemon.json"
    run "$NBUILD" --root "$WORK/b6" --progress plain --registries-config "$WORK/daemon.json" -t h:1 "$WORK/ctx6"
    [ "$status" -eq 0 ]
    [[ $output == *"hubonly:1: pulled from http://$REG"* ]]
}

@test "nbuild --pull: FROM and COPY --from images the store has are pulled again (as docker build --pull); without it the store's stay; a failed pull fails the build" {
    root=$WORK/bp
    mkdir -p "$WORK/pv1" "$WORK/pv2" "$WORK/pctx"
    # two versions of one registry tag, made in the default store
    printf 'FROM bb:1\nRUN echo one >/v\n' >"$WORK/pv1/Nodefile"
    printf 'FROM bb:1\nRUN echo two >/v\n' >"$WORK/pv2/Nodefile"
    "$NBUILD" -q -t pv:1 "$WORK/pv1" >/dev/null
    "$NBUILD" -q -t pv:2 "$WORK/pv2" >/dev/null
    "$NRUN" push pv:1 "$REG/base/pv:1" >/dev/null
    printf 'FROM %s/base/pv:1\nCOPY --from=%s/base/pv:1 /v /copied\nCMD ["cat", "/v", "/copied"]\n' "$REG" "$REG" \
        >"$WORK/pctx/Nodefile"
    run "$NBUILD" --root "$root" -q -t app:1 "$WORK/pctx"
    [ "$status" -eq 0 ]
    run "$NRUN" --root "$root" run --rm --network none app:1
    [ "$output" = "$(printf 'one\none')" ]
    # the registry's tag moves on
    "$NRUN" push pv:2 "$REG/base/pv:1" >/dev/null
    run "$NBUILD" --root "$root" --progress plain -t app:2 "$WORK/pctx"
    [ "$status" -eq 0 ]
    [[ $output != *"PULL "* ]]
    run "$NRUN" --root "$root" run --rm --network none app:2
    [ "$output" = "$(printf 'one\none')" ]
    run "$NBUILD" --root "$root" --progress plain --pull -t app:3 "$WORK/pctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"PULL $REG/base/pv:1"* ]]
    run "$NRUN" --root "$root" run --rm --network none app:3
    [ "$output" = "$(printf 'two\ntwo')" ]
    # --pull=false is the default
    run "$NBUILD" --root "$root" --progress plain --pull=false -t app:4 "$WORK/pctx"
    [ "$status" -eq 0 ]
    [[ $output != *"PULL "* ]]
    # the store has it, the registry does not: --pull fails, naming the place
    "$NRUN" --root "$root" tag "$REG/base/pv:1" "$REG/base/gone:1"
    printf 'FROM %s/base/gone:1\n' "$REG" >"$WORK/pctx/Nodefile"
    run "$NBUILD" --root "$root" -q -t app:5 "$WORK/pctx"
    [ "$status" -eq 0 ]
    run "$NBUILD" --root "$root" --pull -t app:6 "$WORK/pctx"
    [ "$status" -ne 0 ]
    [[ $output == *"Nodefile:1:"*"FROM $REG/base/gone:1: pull: "*"HTTP 404 MANIFEST_UNKNOWN"* ]]
    run "$NRUN" --root "$root" images -q app:6
    [ -z "$output" ]
}
