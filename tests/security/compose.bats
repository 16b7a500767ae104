#!/usr/bin/env bats
# Hostile compose files: nrun compose reads them under limits (a YAML bomb of
# aliases, a huge file, deep nesting, a device or a FIFO as the file) and
# checks the names it would make from them (container_name, volume and
# network names with ../ or control characters).  Each is one line naming
# the file:line:col or the key path, a non-zero exit, quickly, with memory
# bounded, and the store unchanged.  A bind mount of a host path outside the
# project is allowed as docker allows it, but goes through nrun run's own -v
# checks; a service whose container name another project holds is refused.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    mkfifo "$BATS_FILE_TMPDIR/fifo"
}
teardown() { rt_rm_all; }
teardown_file() {
    for n in $("$NRUN" network ls -q 2>/dev/null); do
        case $n in bridge) ;; *) "$NRUN" network rm "$n" >/dev/null 2>&1 || true ;; esac
    done
    rt_file_teardown
}

bounded() { sec_bounded 10 "$@"; }
# nrun compose -f FILE up -d: refused with one line containing $2, the store unchanged
refused() {
    local file=$1 want=$2 before
    before=$(nr_tree_hash "$NRUN_ROOT")
    SECONDS=0
    run bounded "$NRUN" compose -p probe -f "$file" up -d
    echo "$output"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { echo "exit $status"; return 1; }
    [ "$SECONDS" -lt 8 ] || { echo "took ${SECONDS}s"; return 1; }
    [ "${#lines[@]}" -eq 1 ] || { echo "more than one line"; return 1; }
    [[ "$output" == *"$want"* ]] || { echo "expected: $want"; return 1; }
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ] || { echo "the store changed"; return 1; }
}

@test "a billion laughs (aliases of aliases) is refused by its expanded size, at its line, in bounded memory" {
    f=$BATS_TEST_TMPDIR/bomb.yaml
    {
        echo 'x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
        p=a
        for l in b c d e f g h i; do
            printf 'x-%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n' $l $l $p $p $p $p $p $p $p $p $p $p
            p=$l
        done
        echo 'services: {s: {image: bb:1, command: *i}}'
    } >"$f"
    refused "$f" "more than 200000 nodes (aliases expanded): refused"
    [[ "$output" == *"bomb.yaml:"[0-9]*:[0-9]*": "* ]]
    # << merges of aliases count the same way
    {
        echo 'x-a: &a {k0: [1,2,3,4,5,6,7,8,9,0], k1: [1,2,3,4,5,6,7,8,9,0]}'
        for i in $(seq 1 20000); do echo "x-m$i: {<<: *a}"; done
        echo 'services: {s: {image: bb:1}}'
    } >"$f"
    refused "$f" "(aliases expanded): refused"
}

@test "deep nesting, a huge file, a device, a FIFO, binary junk and a second document are one line each" {
    f=$BATS_TEST_TMPDIR/deep.yaml
    { printf 'services: '; for _ in $(seq 100000); do printf '['; done; } >"$f"
    refused "$f" "nested more than 64 levels deep: refused"
    f=$BATS_TEST_TMPDIR/huge.yaml
    { echo 'services: {s: {image: bb:1}}'; head -c 5000000 /dev/zero | tr '\0' '#'; } >"$f"
    refused "$f" "more than the"
    refused /dev/zero "a device, not a regular file"
    refused "$BATS_FILE_TMPDIR/fifo" "a FIFO or pipe, not a regular file"
    f=$BATS_TEST_TMPDIR/junk.yaml
    printf 'services:\n  s:\n    image: "\xff\xfe"\n' >"$f"
    refused "$f" "junk.yaml:"
    printf 'services: {s: {image: bb:1}}\n---\nservices: {t: {image: bb:1}}\n' >"$f"
    refused "$f" "junk.yaml:3:1: more than one YAML document"
    printf 'services:\n  s: {image: bb:1}\n  s: {image: bb:1}\n' >"$f"
    refused "$f" "junk.yaml:3:3: mapping key \"s\" already defined"
    printf 'services:\n  s: {image: bb:1, command: *nope}\n' >"$f"
    refused "$f" "junk.yaml:2:29: unknown anchor *nope"
    # the project's .env as a FIFO, and an env_file of /dev/zero (read with .env's reader)
    d=$BATS_TEST_TMPDIR/envs
    mkdir -p "$d"
    printf 'services: {s: {image: bb:1}}\n' >"$d/compose.yaml"
    mkfifo "$d/.env"
    refused "$d/compose.yaml" "$d/.env: a FIFO or pipe, not a regular file"
    rm "$d/.env"
    printf 'services: {s: {image: bb:1, env_file: /dev/zero}}\n' >"$d/compose.yaml"
    before=$(nr_tree_hash "$NRUN_ROOT")
    run bounded "$NRUN" compose -f "$d/compose.yaml" up -d
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"/dev/zero: a device, not a regular file"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "names made from the file: container_name, volume and network names with ../ or control characters are refused before anything is made" {
    f=$BATS_TEST_TMPDIR/names.yaml
    printf 'services:\n  s: {image: bb:1, container_name: ../../etc}\n' >"$f"
    refused "$f" "services.s.container_name: --name \"../../etc\""
    printf 'services:\n  s: {image: bb:1, container_name: "a\\x1b[31mb"}\n' >"$f"
    refused "$f" "services.s.container_name"
    [[ "$output" != *$'\x1b'* ]]
    printf 'services:\n  s: {image: bb:1, volumes: ["v:/d"]}\nvolumes:\n  v: {name: ../../escape}\n' >"$f"
    refused "$f" "volumes.v: \"../../escape\" is not a valid volume name"
    printf 'services:\n  s: {image: bb:1}\nnetworks:\n  n: {name: "a/../b"}\n' >"$f"
    refused "$f" "networks.n: \"a/../b\" is not a valid network name"
    printf 'services:\n  "../x": {image: bb:1}\n' >"$f"
    refused "$f" "services.../x: a service name is made of letters"
    printf 'services:\n  "a\\nb": {image: bb:1}\n' >"$f"
    refused "$f" 'services.a\nb: a service name'
    # a project name of a path is refused, not normalized into one
    run bounded "$NRUN" compose -p / -f "$f" config
    [ "$status" -ne 0 ]
}

@test "a bind mount outside the project is allowed as docker allows it, through nrun run's -v checks" {
    d=$BATS_TEST_TMPDIR/p
    mkdir -p "$d" "$BATS_TEST_TMPDIR/outside"
    echo outside-file >"$BATS_TEST_TMPDIR/outside/f"
    printf 'services:\n  s:\n    image: bb:1\n    command: ["sleep", "1000"]\n    volumes: ["../outside:/o:ro"]\n' >"$d/compose.yaml"
    (cd "$d" && "$NRUN" compose up -d)
    run "$NRUN" exec p-s-1 cat /o/f
    [ "$output" = outside-file ]
    run "$NRUN" exec p-s-1 sh -c 'echo x >/o/g'
    [ "$status" -ne 0 ]
    (cd "$d" && "$NRUN" compose down)
    # what run refuses for -v, compose refuses too (run's own message), nothing made
    printf 'services:\n  s:\n    image: bb:1\n    volumes: ["/etc:relative"]\n' >"$d/compose.yaml"
    before=$(nr_tree_hash "$NRUN_ROOT")
    run bounded "$NRUN" compose --project-directory "$d" up -d
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"services.s: refused by nrun run"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "a service whose container name is another project's container is refused, and that container is untouched" {
    for p in one two; do
        mkdir -p "$BATS_TEST_TMPDIR/$p"
    done
    printf 'services:\n  s: {image: bb:1, command: ["sleep", "1000"]}\n' >"$BATS_TEST_TMPDIR/one/compose.yaml"
    (cd "$BATS_TEST_TMPDIR/one" && "$NRUN" compose up -d)
    id=$("$NRUN" inspect -f '{{.Id}}' one-s-1)
    printf 'services:\n  s: {image: bb:1, container_name: one-s-1, command: ["sleep", "2000"]}\n' >"$BATS_TEST_TMPDIR/two/compose.yaml"
    run bounded "$NRUN" compose --project-directory "$BATS_TEST_TMPDIR/two" up -d --force-recreate
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *'the container name "one-s-1" is in use by a container that is not this project'* ]]
    [ "$("$NRUN" inspect -f '{{.Id}}' one-s-1)" = "$id" ]
    ! "$NRUN" network ls -q | grep -qx two_default || false
    # and down of the other project leaves it alone
    (cd "$BATS_TEST_TMPDIR/two" && "$NRUN" compose down)
    [ "$("$NRUN" inspect -f '{{.State.Status}}' one-s-1)" = running ]
    (cd "$BATS_TEST_TMPDIR/one" && "$NRUN" compose down)
}

@test "a missing bind source is made as compose makes it (short syntax, create_host_path default); create_host_path: false refuses it before anything is made" {
    umask 022
    d=$BATS_TEST_TMPDIR/mk
    mkdir -p "$d"
    cat >"$d/compose.yaml" <<'YAML'
services:
  s:
    image: bb:1
    command: ["sleep", "1000"]
    volumes:
      - ./data/sub:/d
      - {type: bind, source: ./other, target: /o, bind: {create_host_path: true}}
YAML
    (cd "$d" && "$NRUN" compose up -d)
    [ "$(stat -c '%a %u %F' "$d/data/sub")" = "755 0 directory" ]
    [ -d "$d/other" ]
    "$NRUN" exec mk-s-1 sh -c 'echo in >/d/f'
    [ "$(cat "$d/data/sub/f")" = in ]
    (cd "$d" && "$NRUN" compose down)
    cat >"$d/compose.yaml" <<'YAML'
services:
  s:
    image: bb:1
    volumes:
      - {type: bind, source: ./absent, target: /o, bind: {create_host_path: false}}
YAML
    before=$(nr_tree_hash "$NRUN_ROOT")
    run bounded "$NRUN" compose --project-directory "$d" up -d
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"host path $d/absent: ENOENT"* ]]
    [ ! -e "$d/absent" ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    printf 'services:\n  s:\n    image: bb:1\n    volumes: [{type: bind, source: ./x, target: /o, bind: {create_host_path: 3}}]\n' >"$d/compose.yaml"
    run bounded "$NRUN" compose --project-directory "$d" up -d
    [[ "$output" == *"services.s.volumes[0].bind.create_host_path: "* ]]
}

@test "compose cp and port name a service: a path with .. or a link inside the container stays in its root; a service name that is a flag or a path is refused" {
    d=$BATS_TEST_TMPDIR/cpp && mkdir -p "$d"
    printf 'services:\n  s: {image: bb:1, command: [sh, -c, "ln -s /etc /tmp/up; ln -s ../../../../etc/shadow /tmp/sh; exec sleep 600"]}\n' >"$d/compose.yaml"
    (cd "$d" && "$NRUN" compose -p cpp up -d) >/dev/null 2>&1
    for _ in $(seq 50); do "$NRUN" exec cpp-s-1 test -L /tmp/sh 2>/dev/null && break; sleep 0.1; done
    # the host's /etc/shadow never comes out: .. and links resolve inside the container
    for src in s:/../../../../etc/shadow s:/tmp/sh s:/tmp/up/shadow; do
        rm -f "$d/out"
        (cd "$d" && "$NRUN" compose -p cpp cp "$src" "$d/out") >/dev/null 2>&1 || true
        [ ! -e "$d/out" ] || ! cmp -s "$d/out" /etc/shadow || { echo "$src gave the host's shadow"; false; }
    done
    # (cp itself works: through the container's /tmp/up link, the container's own passwd)
    (cd "$d" && "$NRUN" compose -p cpp cp s:/tmp/up/passwd "$d/pw")
    [ -s "$d/pw" ] && ! cmp -s "$d/pw" /etc/passwd
    # a service name that is a flag, a path or unknown reaches no nrun verb
    for svc in --help ../s /s nosuch; do
        run bash -c "cd '$d' && '$NRUN' compose -p cpp cp '$svc:/etc/hostname' '$d/o2'"
        [ "$status" -ne 0 ]
        [ ! -e "$d/o2" ]
        run bash -c "cd '$d' && '$NRUN' compose -p cpp port -- '$svc' 80"
        [ "$status" -ne 0 ]
    done
    (cd "$d" && "$NRUN" compose -p cpp down) >/dev/null 2>&1
}
