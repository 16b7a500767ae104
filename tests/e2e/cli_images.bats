#!/usr/bin/env bats
# The image verbs (images, tag, rmi, image ..., save, load, build, base) as a
# docker user types them, and rmi's refusal to take an image from under a
# container.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/runtime
load ../lib/registry

setup_file() { rt_file_setup_bb; }

teardown_file() {
    nr_registry_stop 2>/dev/null || true
    rt_file_teardown
}

@test "images, tag, image ls/inspect, save and load round trip, rmi" {
    run "$NRUN" images
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == REPOSITORY*TAG*"IMAGE ID"* ]]
    [[ $output == *bb* ]]
    run "$NRUN" tag bb:1 copy:2
    [ "$status" -eq 0 ]
    run "$NRUN" image ls --format json
    [ "$status" -eq 0 ]
    run "$NRUN" image inspect copy:2
    [ "$status" -eq 0 ]
    [ "$(jq -r '.[0].RepoTags | index("copy:2") != null' <<<"$output")" = true ]
    out=$BATS_FILE_TMPDIR/copy.tar
    run "$NRUN" save -o "$out" copy:2
    [ "$status" -eq 0 ]
    [ -s "$out" ]
    run "$NRUN" rmi copy:2
    [ "$status" -eq 0 ]
    [ "$output" = "Untagged: copy:2" ]
    run "$NRUN" load -i "$out"
    [ "$status" -eq 0 ]
    [[ $output == *"copy:2"* ]]
    run "$NRUN" image rm copy:2
    [ "$status" -eq 0 ]
    run "$NRUN" image prune -f
    [ "$status" -eq 0 ]
    [[ $output == *"Total reclaimed space"* ]]
}

@test "images --format: a template per image, table TEMPLATE with docker's headers; a malformed one is a usage error" {
    "$NRUN" tag bb:1 fmt:2
    run "$NRUN" images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
    [ "$status" -eq 0 ]
    id=$("$NRUN" image inspect bb:1 | jq -r '.[0].Id' | sed 's/^sha256://' | cut -c1-12)
    [[ "$output" == *"bb:1 $id"* ]]
    [[ "$output" == *"fmt:2 $id"* ]]
    run "$NRUN" images --format 'table {{.Repository}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}' fmt
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "REPOSITORY"*"IMAGE ID"*"CREATED"*"SIZE" ]]
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[1]}" == "fmt "*"$id"* ]]
    run -2 "$NRUN" images --format '{{.Tag'
    [[ "$output" == *"unclosed {{"* ]]
    "$NRUN" rmi fmt:2 >/dev/null
}

@test "rmi of an image a container uses is refused without -f, as docker refuses it" {
    "$NRUN" tag bb:1 used:1
    "$NRUN" tag bb:1 used:2
    id=$(rt_run -d --name user bb:1 sleep 100)
    # another name of it: only untagged
    run "$NRUN" rmi used:2
    [ "$status" -eq 0 ]
    [ "$output" = "Untagged: used:2" ]
    "$NRUN" rmi used:1 >/dev/null
    # its last name, or its id: refused, the image still there
    run "$NRUN" rmi bb:1
    [ "$status" -eq 1 ]
    [ "$output" = "nrun: conflict: unable to remove bb:1 (must be forced) - container user is using it" ]
    digest=$("$NRUN" image inspect bb:1 | jq -r '.[0].Digest')
    run "$NRUN" rmi "$digest"
    [ "$status" -eq 1 ]
    [[ $output == *"container user is using it"* ]]
    "$NRUN" image inspect bb:1 >/dev/null
    # a stopped container still uses it
    "$NRUN" stop -t 1 user >/dev/null
    run "$NRUN" rmi bb:1
    [ "$status" -eq 1 ]
    [[ $output == *"container user is using it"* ]]
    "$NRUN" rm user >/dev/null
    # with no container left, it goes; put it back for the other tests
    "$NRUN" tag bb:1 keep:1
    run "$NRUN" rmi bb:1
    [ "$status" -eq 0 ]
    "$NRUN" tag keep:1 bb:1
    "$NRUN" rmi keep:1 >/dev/null
}

@test "rmi -f takes the name away from under a container, which keeps running" {
    "$NRUN" tag bb:1 forced:1
    rt_run -d --name forceduser forced:1 sleep 100 >/dev/null
    run "$NRUN" rmi -f forced:1
    [ "$status" -eq 0 ]
    [[ $output == *"Untagged: forced:1"* ]]
    run "$NRUN" exec forceduser echo still-here
    [ "$output" = still-here ]
    "$NRUN" rm -f forceduser >/dev/null
}

@test "build: nrun build and nbuild are the same command" {
    d=$(mktemp -d "$BATS_FILE_TMPDIR/ctx.XXXXXX")
    printf 'FROM scratch\nCOPY hello.txt /hello.txt\nCMD ["/hello.txt"]\n' >"$d/Nodefile"
    echo hi >"$d/hello.txt"
    run "$NRUN" build -q -t built:1 "$d"
    [ "$status" -eq 0 ]
    [[ $output == sha256:* ]]
    run "$NBUILD" -q -t built:2 "$d"
    [ "$status" -eq 0 ]
    [[ $output == sha256:* ]]
    [ "$("$NRUN" image inspect built:1 | jq -r '.[0].Id')" = "$("$NRUN" image inspect built:2 | jq -r '.[0].Id')" ]
    run "$NBUILD"
    [ "$status" -eq 2 ]
    [ "$output" = "nbuild: missing CONTEXT (see 'nbuild --help')" ]
    "$NRUN" rmi built:1 built:2 >/dev/null
}

@test "base --list names the base images this nrun can make (offline)" {
    run "$NRUN" base --list
    [ "$status" -eq 0 ]
    [[ $output == *node* ]]
    run "$NRUN" base
    [ "$status" -eq 2 ]
}

@test "push, pull, login, logout against a docker-registry on 127.0.0.1" {
    nr_registry_start
    # the registry listens on the host's 127.0.0.1: the registry verbs run
    # with the real nrun, outside the file's network namespace (they make no
    # network of nrun's), as in tests/e2e/registry.bats
    local NRUN=$NR_REAL_NRUN
    export DOCKER_CONFIG=$BATS_FILE_TMPDIR/docker
    run "$NRUN" push -q bb:1 "$NR_REGISTRY/cli/bb:1"
    [ "$status" -eq 0 ]
    [[ $output == sha256:* ]]
    digest=$output
    "$NRUN" tag bb:1 keepbb:1
    run "$NRUN" rmi bb:1
    run "$NRUN" pull -q "$NR_REGISTRY/cli/bb:1"
    [ "$status" -eq 0 ]
    [ "$output" = "$digest" ]
    "$NRUN" tag "$NR_REGISTRY/cli/bb:1" bb:1
    "$NRUN" rmi "$NR_REGISTRY/cli/bb:1" keepbb:1 >/dev/null
    # a registry without auth takes any login; logout removes what it stored
    run "$NRUN" login -u someone --password-stdin "$NR_REGISTRY" <<<"pw"
    [ "$status" -eq 0 ]
    jq -e --arg r "$NR_REGISTRY" '.auths[$r]' "$DOCKER_CONFIG/config.json"
    run "$NRUN" logout "$NR_REGISTRY"
    [ "$status" -eq 0 ]
    [[ $output == "Removing login credentials for $NR_REGISTRY" ]]
    ! jq -e --arg r "$NR_REGISTRY" '.auths[$r]' "$DOCKER_CONFIG/config.json" || false
    run "$NRUN" pull --bogus x
    [ "$status" -eq 2 ]
    nr_registry_stop
}
