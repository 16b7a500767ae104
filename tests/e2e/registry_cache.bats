#!/usr/bin/env bats
# The registry build cache: nbuild --cache-to type=registry,ref=... pushes
# the build's cache records and layers; a build in an empty store with
# --cache-from downloads them instead of running the RUN steps again (the
# RUN's marker line is not printed, the step says CACHED, the image digest is
# the first build's), a changed source re-runs only the steps after it, and a
# cache that is missing or not a cache is a warning and a miss.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/registry
load ../lib/runtime

setup_file() {
    reg_setup_file cache
    reg_start
    "$NRUN" push bb:1 "$NR_REGISTRY/base/bb:1" >/dev/null
    mkdir -p "$WORK/ctx"
    echo one >"$WORK/ctx/a.txt"
    echo two >"$WORK/ctx/b.txt"
    cat >"$WORK/ctx/Nodefile" <<EOF
FROM $NR_REGISTRY/base/bb:1
COPY a.txt /a.txt
RUN echo MARKER-A-\$((6*7)) && cp /a.txt /a.copy
COPY b.txt /b.txt
RUN echo MARKER-B-\$((6*7)) && cp /b.txt /b.copy
RUN echo MARKER-E-\$((6*7))
CMD ["cat", "/a.copy", "/b.copy"]
EOF
}

teardown_file() { reg_teardown_file; }

setup() { REG=$(cat "$WORK/registry"); }

@test "--cache-to pushes the cache; a fresh store with --cache-from downloads the layers and runs no RUN step" {
    run "$NBUILD" --root "$WORK/r1" --progress plain -t app:1 \
        --cache-to "type=registry,ref=$REG/team/app:cache" "$WORK/ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"MARKER-A-42"* && "$output" == *"MARKER-B-42"* ]]
    [[ "$output" == *"MARKER-E-42"* ]]
    # 4 layers, and the RUN that changed nothing
    [[ "$output" == *"CACHE TO $REG/team/app:cache: 5 steps, 4 layers"* ]]
    first=${lines[-1]}
    # an OCI image any tool reads; not left tagged in the store
    run skopeo inspect --tls-verify=false --config "docker://$REG/team/app:cache"
    [ "$status" -eq 0 ]
    [[ "$output" == *"org.nrun.buildcache.v1"* ]]
    run "$NRUN" --root "$WORK/r1" images
    [[ "$output" != *"team/app"* ]]
    # a fresh runner: nothing in the store, the cache in the registry
    run "$NBUILD" --root "$WORK/r2" --progress plain -t app:1 --cache-from "$REG/team/app:cache" "$WORK/ctx"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *"MARKER-A-42"* && "$output" != *"MARKER-B-42"* && "$output" != *"MARKER-E-42"* ]]
    [ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 5 ]
    [[ "$output" == *"(0 layers built, 4 from cache"* ]]
    [ "${lines[-1]}" = "$first" ]
    run "$NRUN" --root "$WORK/r2" run --rm --network none app:1
    [ "$output" = "$(printf 'one\ntwo')" ]
}

@test "--cache-from with a changed source re-runs only the steps after it; BuildKit's long form works" {
    cp -r "$WORK/ctx" "$WORK/ctx2"
    echo changed >"$WORK/ctx2/b.txt"
    run "$NBUILD" --root "$WORK/r3" --progress plain -t app:2 \
        --cache-from "type=registry,ref=$REG/team/app:cache" "$WORK/ctx2"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *"MARKER-A-42"* ]]
    [[ "$output" == *"MARKER-B-42"* && "$output" == *"MARKER-E-42"* ]]
    [[ "$output" == *"(2 layers built, 2 from cache"* ]]
    run "$NRUN" --root "$WORK/r3" run --rm --network none app:2
    [ "$output" = "$(printf 'one\nchanged')" ]
}

@test "mode=max records every stage; --no-cache ignores --cache-from" {
    mkdir -p "$WORK/ctx3"
    cat >"$WORK/ctx3/Nodefile" <<EOF
FROM $REG/base/bb:1 AS build
RUN echo MARKER-S-\$((6*7)) && echo built >/out
FROM $REG/base/bb:1
COPY --from=build /out /out
EOF
    run "$NBUILD" --root "$WORK/r4" -q -t m:1 --cache-to "type=registry,ref=$REG/team/m:cache,mode=max" "$WORK/ctx3"
    [ "$status" -eq 0 ]
    run "$NBUILD" --root "$WORK/r5" --progress plain -t m:1 --cache-from "$REG/team/m:cache" "$WORK/ctx3"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"CACHE FROM $REG/team/m:cache: 2 steps"* ]]
    [[ "$output" != *"MARKER-S-42"* ]]
    run "$NBUILD" --root "$WORK/r6" --progress plain -t m:1 --no-cache --cache-from "$REG/team/m:cache" "$WORK/ctx3"
    [ "$status" -eq 0 ]
    [[ "$output" == *"MARKER-S-42"* ]]
}

@test "--cache-from that is missing or not a cache is a warning and a miss; bad --cache-to/--cache-from specs are usage errors" {
    run --separate-stderr "$NBUILD" --root "$WORK/r7" --progress plain -t app:1 --cache-from "$REG/team/none:cache" "$WORK/ctx"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"--cache-from $REG/team/none:cache: "*"(not used)"* ]]
    [[ "$output" == *"MARKER-A-42"* ]]
    # an ordinary image is not a cache
    run --separate-stderr "$NBUILD" --root "$WORK/r8" --progress plain -t app:1 --cache-from "$REG/base/bb:1" "$WORK/ctx"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"not an nbuild cache"* ]]
    [[ "$output" == *"MARKER-A-42"* ]]
    run "$NBUILD" --root "$WORK/r9" --cache-to "type=local,dest=/tmp/x" "$WORK/ctx"
    [ "$status" -eq 2 ]
    [[ "$output" == *"only type=registry is supported"* ]]
    run "$NBUILD" --root "$WORK/r9" --cache-to "$REG/team/app:cache" "$WORK/ctx"
    [ "$status" -eq 2 ]
    [[ "$output" == *"want type=registry,ref="* ]]
    run "$NBUILD" --root "$WORK/r9" --cache-from "type=registry,reff=x" "$WORK/ctx"
    [ "$status" -eq 2 ]
    [[ "$output" == *"unknown attribute reff=x"* ]]
    [ ! -e "$WORK/r9/index.json" ] || [ "$(jq '.manifests | length' "$WORK/r9/index.json")" -eq 0 ]
}
