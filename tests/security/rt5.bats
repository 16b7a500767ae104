#!/usr/bin/env bats
# Red-team round 5: what a compose file from a cloned repository can make
# nrun compose do that its user did not write.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
}
teardown() { rt_rm_all; }
teardown_file() {
    for n in $("$NRUN" network ls -q 2>/dev/null); do
        case $n in bridge) ;; *) "$NRUN" network rm "$n" >/dev/null 2>&1 || true ;; esac
    done
    for v in $("$NRUN" volume ls -q 2>/dev/null); do "$NRUN" volume rm "$v" >/dev/null 2>&1 || true; done
    rt_file_teardown
}

@test "down -v never removes a volume or network the file only names (name: of one the user made by hand)" {
    "$NRUN" volume create pgdata
    "$NRUN" network create mynet
    d=$BATS_TEST_TMPDIR/app
    mkdir -p "$d"
    printf 'services:\n  s: {image: bb:1, command: ["true"]}\nvolumes:\n  db: {name: pgdata}\n  own: {}\nnetworks:\n  n: {name: mynet}\n  m: {}\n' >"$d/compose.yaml"
    # without any up: nothing of the user's goes
    (cd "$d" && "$NRUN" compose down -v)
    "$NRUN" volume ls -q | grep -qx pgdata
    "$NRUN" network ls -q | grep -qx mynet
    # after up: what up made goes, what was there before stays
    (cd "$d" && "$NRUN" compose up -d)
    "$NRUN" volume ls -q | grep -qx app_own
    (cd "$d" && "$NRUN" compose down -v)
    "$NRUN" volume ls -q | grep -qx pgdata
    "$NRUN" network ls -q | grep -qx mynet
    [ -z "$("$NRUN" volume ls -q | grep -x app_own)" ]
    [ -z "$("$NRUN" network ls -q | grep -xE 'app_(m|default)')" ]
}

@test "build + image never tags a base image nbuild makes (a cloned file's node:22 would be every later FROM node:22)" {
    d=$BATS_TEST_TMPDIR/poison
    mkdir -p "$d"
    printf 'FROM bb:1\nLABEL evil=1\n' >"$d/Dockerfile"
    for img in node:22 docker.io/library/debian:bookworm amd64/nginx:alpine gcr.io/distroless/nodejs22-debian12; do
        printf 'services:\n  s:\n    image: %s\n    build: .\n' "$img" >"$d/compose.yaml"
        run "$NRUN" compose --project-directory "$d" -f "$d/compose.yaml" build
        echo "$output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"services.s.image: \"$img\" names a base image nbuild makes"* ]]
    done
    run "$NRUN" images --format '{{.Repository}}:{{.Tag}}'
    echo "$output"
    [[ "$output" != *node:22* && "$output" != *debian* && "$output" != *nginx* && "$output" != *distroless* ]]
    # any other name is tagged as compose tags it
    printf 'services:\n  s:\n    image: myapp:1\n    build: .\n' >"$d/compose.yaml"
    "$NRUN" compose --project-directory "$d" -f "$d/compose.yaml" build
    "$NRUN" image inspect myapp:1 >/dev/null
    "$NRUN" rmi myapp:1
}

@test "a .env that is a symlink to a file of secrets: its lines never reach the error text" {
    d=$BATS_TEST_TMPDIR/envleak
    mkdir -p "$d"
    printf 'root:$y$j9T$SECRETHASH:19000:0:99999:7:::\n' >"$BATS_TEST_TMPDIR/shadow"
    ln -s "$BATS_TEST_TMPDIR/shadow" "$d/.env"
    printf 'services:\n  s: {image: bb:1}\n' >"$d/compose.yaml"
    run "$NRUN" compose --project-directory "$d" -f "$d/compose.yaml" config
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *".env:1: expected KEY=VALUE"* ]]
    [[ "$output" != *SECRETHASH* && "$output" != *root:* ]]
}
