#!/usr/bin/env bats
# version, info, system df|info|prune, and stats over every container.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/runtime

setup_file() { rt_file_setup_bb; }

teardown_file() { rt_file_teardown; }

@test "version: text, json, template" {
    run "$NRUN" version
    [ "$status" -eq 0 ]
    [[ ${lines[1]} == " Version:"* ]]
    run "$NRUN" version --format json
    [ "$(jq -r .Os <<<"$output")" = linux ]
    [ "$("$NRUN" version -f '{{.Version}}')" = "$("$NRUN" --version | awk '{print $3}')" ]
}

@test "info and system info count containers and images" {
    rt_run -d --name up1 bb:1 sleep 100 >/dev/null
    rt_run --name down1 bb:1 true
    run "$NRUN" info --format json
    [ "$status" -eq 0 ]
    jq -e '.ContainersRunning == 1 and .ContainersStopped == 1 and .Containers == 2 and .Images == 1' <<<"$output"
    [ "$(jq -r .RootDir <<<"$output")" = "$NRUN_ROOT" ]
    run "$NRUN" system info
    [[ $output == *"Containers: 2"* ]]
    [[ $output == *" Running: 1"* ]]
    [ "$("$NRUN" system info -f '{{.Images}}')" = 1 ]
}

@test "stats without a container: one row per running container, --no-stream, --format json" {
    run "$NRUN" stats --no-stream
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^CONTAINER\ ID\ +NAME\ +CPU\ %\ +MEM\ USAGE\ +WORKERS\ +RESTARTS$ ]]
    [ "${#lines[@]}" -eq 2 ]
    [[ ${lines[1]} == *up1* ]]
    run "$NRUN" stats --format json
    [ "$(jq -r .Name <<<"$output")" = up1 ]
    [ "$(jq -r .Workers <<<"$output")" = 1 ]
}

@test "volume create, ls, inspect, rm (refused while a container mounts it), prune" {
    run "$NRUN" volume create data1
    [ "$output" = data1 ]
    anon=$("$NRUN" volume create)
    [ "${#anon}" -eq 64 ]
    run "$NRUN" volume ls
    [[ ${lines[0]} =~ ^DRIVER\ +VOLUME\ NAME$ ]]
    [[ $output == *"local"*data1* ]]
    run "$NRUN" volume ls -q
    [[ $output == *data1* ]]
    run "$NRUN" volume inspect data1
    [ "$(jq -r '.[0].Mountpoint' <<<"$output")" = "$NRUN_ROOT/volumes/data1/_data" ]
    rt_run --name vuser -v data1:/data bb:1 sh -c 'echo kept >/data/f'
    [ "$(cat "$NRUN_ROOT/volumes/data1/_data/f")" = kept ]
    run "$NRUN" volume rm data1
    [ "$status" -eq 1 ]
    [[ $output == *"volume is in use - [vuser]"* ]]
    run "$NRUN" volume prune -f
    [ "$status" -eq 0 ]
    [[ $output == *"$anon"* ]]
    [[ $output != *data1* ]]
    "$NRUN" rm vuser >/dev/null
    run "$NRUN" volume rm data1
    [ "$status" -eq 0 ]
    [ ! -e "$NRUN_ROOT/volumes/data1" ]
    run "$NRUN" volume create 'bad/name'
    [ "$status" -eq 2 ]
    run "$NRUN" volume inspect nosuch
    [ "$status" -eq 1 ]
}

@test "network create, ls, inspect, rm: the default bridge is listed, a user network gets a subnet and a bridge" {
    n=cs${NR_NETNS#nrt-}
    run "$NRUN" network create --subnet 10.91.0.0/24 "$n"
    [ "$status" -eq 0 ]
    run "$NRUN" network ls
    [[ "$output" == *"bridge"*"10.88.0.0/16"*"nrun0"* ]]
    [[ "$output" == *"$n"*"10.91.0.0/24"* ]]
    run "$NRUN" network ls --format '{{.Name}} {{.Subnet}} {{.Internal}}'
    [[ "$output" == *"$n 10.91.0.0/24 false"* ]]
    [[ "$output" == *"bridge 10.88.0.0/16 false"* ]]
    run "$NRUN" network ls --format 'table {{.ID}}\t{{.Driver}}\t{{.Scope}}'
    [[ "${lines[0]}" == "NETWORK ID"*"DRIVER"*"SCOPE" ]]
    [[ "$output" == *"$n"*"bridge"*"local"* ]]
    "$NRUN" network inspect "$n" | jq -e '.[0].IPAM.Config[0].Gateway == "10.91.0.1" and .[0].DNS == true'
    run "$NRUN" network create --subnet 10.91.0.128/25 "x$n"
    [ "$status" -ne 0 ]
    [[ "$output" == *"overlaps network $n"* ]]
    run "$NRUN" network rm bridge
    [ "$status" -ne 0 ]
    "$NRUN" network rm "$n"
    run "$NRUN" network inspect "$n"
    [ "$status" -ne 0 ]
    [[ "$output" == *"network $n not found"* ]]
}

@test "system df: images, containers, volumes, build cache" {
    run "$NRUN" system df
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^TYPE\ +TOTAL\ +ACTIVE\ +SIZE$ ]]
    [[ ${lines[1]} =~ ^Images\ +1\ +1\  ]]
    [[ ${lines[2]} =~ ^Containers\ +2\ +1\  ]]
    run "$NRUN" system df --format json
    [ "$(jq -s length <<<"$output")" -eq 4 ]
    [ "$(jq -s '.[0].Bytes > 0' <<<"$output")" = true ]
}

@test "system prune removes stopped containers and keeps running ones and tagged images" {
    run "$NRUN" system prune -f
    [ "$status" -eq 0 ]
    [[ $output == *"Total reclaimed space"* ]]
    run "$NRUN" ps -a --format '{{.Names}}'
    [ "$output" = up1 ]
    "$NRUN" image inspect bb:1 >/dev/null
    run "$NRUN" system bogus
    [ "$status" -eq 2 ]
    "$NRUN" rm -f up1 >/dev/null
}
