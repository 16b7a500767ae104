#!/usr/bin/env bats
# nrun compose end to end: projects of real containers in this file's own
# store and network namespace (nr_make_root).  The app image is built by
# compose from a Dockerfile in the test's directory (FROM the host's node,
# rt_node_image); the second service is a shell-started busybox httpd.
load ../lib/common
load ../lib/runtime
load ../lib/registry
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_bb
    rt_node_image nd:1
}
teardown_file() {
    nr_registry_stop 2>/dev/null || true
    rt_rm_all
    for n in $("$NRUN" network ls -q 2>/dev/null); do
        case $n in bridge) ;; *) "$NRUN" network rm "$n" >/dev/null 2>&1 || true ;; esac
    done
    rt_file_teardown
}

# a project directory $1 under the test's tmpdir with the app's build context
proj() {
    D=$BATS_TEST_TMPDIR/$1
    mkdir -p "$D/app"
    cp "$REPO/tests/apps/compose-app.js" "$D/app/app.js"
    printf 'FROM nd:1\nCOPY app.js /app.js\nCMD ["node", "/app.js"]\n' >"$D/app/Dockerfile"
}
cmp() { (cd "$D" && "$NRUN" compose "$@"); }
wait_http() { # URL [TEXT]: until it answers (with TEXT)
    for _ in $(seq 150); do
        out=$(nr_in_ns curl -s --max-time 2 "$1" 2>/dev/null) && [[ "$out" == *"${2:-}"* ]] && return 0
        sleep 0.1
    done
    echo "no answer from $1: $out"
    return 1
}
# the shell-started server of the second service
db_cmd() { echo "echo $1 >/tmp/i; exec httpd -f -p 8080 -h /tmp"; }
ids_of() { "$NRUN" ps -aq --no-trunc --filter "label=com.docker.compose.project=$1"; }
# nothing of containers $@ (full ids) left: container, cgroup, process, network attachment, lease, veth, netns
nothing_left() {
    local id d
    for id in "$@"; do
        [ ! -d "$NRUN_ROOT/containers/$id" ] || { echo "left: container $id"; return 1; }
        for d in $(rt_cgroup_dirs "$id"); do [ ! -d "$d" ] || { echo "left: cgroup $d"; return 1; }; done
        ! grep -ls "$id" /proc/[0-9]*/cgroup 2>/dev/null | grep -q . || { echo "left: process of $id"; return 1; }
        [ ! -e "$NRUN_ROOT/networks/attach/$id.json" ] || { echo "left: attachment $id"; return 1; }
        [ ! -e "$NRUN_ROOT/networks/ns/$id" ] || { echo "left: netns $id"; return 1; }
        ! grep -rqs "$id" "$NRUN_ROOT/networks/ipam" || { echo "left: lease $id"; return 1; }
    done
    ! nr_in_ns ip -o link show type veth 2>/dev/null | grep -q . || { echo "left: veth"; nr_in_ns ip -o link show type veth; return 1; }
}

@test "two services: up -d builds the app, the app reaches the second service by its name, the published port answers on 127.0.0.1; down leaves nothing" {
    proj two
    port=$(rt_free_port)
    cat >"$D/compose.yaml" <<EOF
services:
  web:
    build: ./app
    ports: ["127.0.0.1:$port:3000"]
    environment:
      UPSTREAM: db:8080/i
    depends_on: [db]
    labels: {team: web, com.docker.compose.project: not-this-one}
  db:
    image: bb:1
    command: ["sh", "-c", "$(db_cmd db-says-hi)"]
EOF
    run cmp up -d
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Network two_default  Created"* ]]
    [[ "$output" == *"Container two-web-1  Started"* ]]
    wait_http "http://127.0.0.1:$port/" "db-says-hi"
    run nr_in_ns curl -s "http://127.0.0.1:$port/"
    [ "$output" = "app got: db-says-hi" ]
    # compose's names and labels, found by nrun ps --filter
    run "$NRUN" ps --format '{{.Names}}' --filter label=com.docker.compose.project=two --filter label=com.docker.compose.service=db
    [ "$output" = two-db-1 ]
    "$NRUN" inspect two-web-1 | jq -e '.[0].Config.Labels | ."com.docker.compose.project" == "two" and
        ."com.docker.compose.service" == "web" and ."com.docker.compose.container-number" == "1" and
        ."com.docker.compose.oneoff" == "False" and .team == "web"'
    "$NRUN" images | grep -q '^two-web '
    run cmp ps
    [[ "$output" == *two-web-1* && "$output" == *two-db-1* ]]
    run cmp ps -q
    [ "${#lines[@]}" -eq 2 ]
    run "$NRUN" compose ls
    [[ "$output" == *"two"*"running(2)"*"$D/compose.yaml"* ]]
    ids=$(ids_of two)
    [ "$(wc -w <<<"$ids")" -eq 2 ]
    # -p NAME away from the project finds it (the files up read, recorded in the store)
    run bash -c "cd '$BATS_TEST_TMPDIR' && '$NRUN' compose -p two ps -q"
    [ "${#lines[@]}" -eq 2 ]
    run bash -c "cd '$BATS_TEST_TMPDIR' && '$NRUN' compose -p two down"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Network two_default  Removed"* ]]
    [ -z "$(ids_of two)" ]
    ! "$NRUN" network ls -q | grep -qx two_default || false
    nothing_left $ids
    run "$NRUN" compose ls -a
    [[ "$output" != *two* ]]
}

@test "depends_on service_healthy: the app starts only once the healthcheck passes, of every replica of the dependency" {
    proj healthy
    cat >"$D/compose.yaml" <<'EOF'
services:
  app:
    image: bb:1
    command: ["sh", "-c", "wget -qO- http://db:8080/i || echo db-not-ready; exec sleep 1000"]
    depends_on:
      db:
        condition: service_healthy
  db:
    image: bb:1
    # serves /i only after 2 s: an app started before the check passes sees a 404
    command: ["sh", "-c", "httpd -f -p 8080 -h /tmp & sleep 2; echo ready >/tmp/i; touch /tmp/ok; wait"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 500ms
      retries: 30
    deploy: {replicas: 2}
EOF
    run cmp up -d
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Container healthy-db-1  Healthy"*"Container healthy-db-2  Healthy"* ]]
    [ "$("$NRUN" inspect -f '{{.State.Health.Status}}' healthy-db-2)" = healthy ]
    for _ in $(seq 50); do [ -n "$("$NRUN" logs healthy-app-1 2>&1)" ] && break; sleep 0.1; done
    run "$NRUN" logs healthy-app-1
    [ "$output" = ready ]
    run cmp logs app
    [ "$output" = "app-1 | ready" ]
    cmp down
}

@test "depends_on service_healthy: an unhealthy dependency stops up with an error" {
    proj sick
    cat >"$D/compose.yaml" <<'EOF'
services:
  app:
    image: bb:1
    command: ["sleep", "1000"]
    depends_on: {db: {condition: service_healthy}}
  db:
    image: bb:1
    command: ["sleep", "1000"]
    healthcheck: {test: "false", interval: 200ms, retries: 2}
EOF
    run cmp up -d
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"dependency failed to start: container sick-db-1 is unhealthy"* ]]
    ! "$NRUN" ps -a --format '{{.Names}}' | grep -qx sick-app-1 || false
    cmp down
}

@test "a named volume keeps its data across down and up, down -v removes it; volumes_from another service's (started first), read-only" {
    proj vol
    cat >"$D/compose.yaml" <<'EOF'
services:
  reader:
    image: bb:1
    volumes_from: ["keeper:ro"]
    command: ["sh", "-c", "(echo x >/data/x) 2>/dev/null || echo ro; exec sleep 1000"]
  keeper:
    image: bb:1
    command: ["sh", "-c", "echo run >>/data/log; exec sleep 1000"]
    volumes: ["store:/data"]
volumes:
  store:
EOF
    run cmp up -d
    [ "$status" -eq 0 ]
    [[ "$output" == *"Volume vol_store  Created"* ]]
    [[ "$output" == *"vol-keeper-1  Started"*"vol-reader-1  Started"* ]]
    for _ in $(seq 50); do run "$NRUN" logs vol-reader-1; [ "$output" = ro ] && break; sleep 0.1; done
    [ "$output" = ro ]
    run cmp exec -T reader cat /data/log
    [ "$output" = run ]
    cmp down
    "$NRUN" volume ls -q | grep -qx vol_store
    cmp up -d
    run cmp exec -T keeper cat /data/log
    [ "$output" = $'run\nrun' ]
    run cmp down -v
    [[ "$output" == *"Volume vol_store  Removed"* ]]
    ! "$NRUN" volume ls -q | grep -qx vol_store || false
    cmp up -d
    run cmp exec -T keeper cat /data/log
    [ "$output" = run ]
    # a file that no longer names the volume: down -v still removes what up made
    printf 'services:\n  keeper:\n    image: bb:1\n  reader:\n    image: bb:1\n' >"$D/compose.yaml"
    run cmp down -v
    echo "$output"
    [[ "$output" == *"Volume vol_store  Removed"* && "$output" == *"Network vol_default  Removed"* ]]
    ! "$NRUN" volume ls -q | grep -qx vol_store || false
}

@test "two projects: the same service name answers within each project, the other project's network is not reachable" {
    for p in pa pb; do
        proj $p
        cat >"$D/compose.yaml" <<EOF
services:
  db:
    image: bb:1
    command: ["sh", "-c", "$(db_cmd "db-of-$p")"]
  client:
    image: bb:1
    command: ["sleep", "1000"]
EOF
        cmp up -d
    done
    D=$BATS_TEST_TMPDIR/pa
    for _ in $(seq 50); do cmp exec -T client wget -qO- http://db:8080/i 2>/dev/null && break; sleep 0.1; done
    run cmp exec -T client wget -qO- http://db:8080/i
    [ "$output" = db-of-pa ]
    D=$BATS_TEST_TMPDIR/pb
    run cmp exec -T client wget -qO- http://db:8080/i
    [ "$output" = db-of-pb ]
    # pb's db by its address, from pa's client: not reachable
    ip=$("$NRUN" inspect pb-db-1 | jq -r '.[0].NetworkSettings.Networks.pb_default.IPAddress')
    [[ "$ip" == [0-9]* ]]
    D=$BATS_TEST_TMPDIR/pa
    run cmp exec -T client timeout 3 wget -qO- "http://$ip:8080/i"
    [ "$status" -ne 0 ]
    [[ "$output" != *db-of-pb* ]]
    cmp down
    D=$BATS_TEST_TMPDIR/pb
    cmp down
}

@test ".env and the shell interpolate, \${X:?} stops with file:line:col and nothing is made" {
    proj interp
    cat >"$D/compose.yaml" <<'EOF'
name: ${NAME:-fallback}
services:
  s:
    image: ${IMG}
    command: ["echo", "${GREETING:-hi} $$HOME ${UNSET-dflt}"]
    environment:
      NEED: ${NEEDED:?set NEEDED please}
EOF
    printf 'IMG=bb:1\nGREETING="hello there" # a comment\nNEEDED=yes\n' >"$D/.env"
    run --separate-stderr cmp config --format json
    [ "$status" -eq 0 ]
    jq -e '.name == "fallback" and .services.s.image == "bb:1" and
        .services.s.command == ["echo", "hello there $HOME dflt"] and .services.s.environment.NEED == "yes"' <<<"$output"
    # the shell wins over .env
    run --separate-stderr env GREETING=shell NAME=Other_Name "$NRUN" compose --project-directory "$D" config --format json
    jq -e '.name == "other_name" and .services.s.command[1] == "shell $HOME dflt"' <<<"$output"
    before=$(nr_tree_hash "$NRUN_ROOT")
    sed -i /NEEDED/d "$D/.env"
    run cmp up -d
    echo "$output"
    [ "$status" -eq 1 ]
    [ "$output" = "nrun compose: $D/compose.yaml:7:13: required variable NEEDED is missing: set NEEDED please" ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    # --env-file instead of .env
    printf 'IMG=bb:1\nNEEDED=from-file\n' >"$BATS_TEST_TMPDIR/other.env"
    run --separate-stderr cmp --env-file "$BATS_TEST_TMPDIR/other.env" config --format json
    jq -e '.services.s.environment.NEED == "from-file"' <<<"$output"
}

@test "a malformed or refused file changes nothing: YAML error at file:line:col, a service run refuses, an unknown key" {
    proj bad
    before=$(nr_tree_hash "$NRUN_ROOT")
    printf 'services:\n  a:\n    image: bb:1\n   command: [x\n' >"$D/compose.yaml"
    run cmp up -d
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == "nrun compose: $D/compose.yaml:4:"* ]]
    # the second service is refused as nrun run refuses it: the first is not made either
    cat >"$D/compose.yaml" <<'EOF'
services:
  first:
    image: bb:1
    command: ["sleep", "1000"]
  second:
    image: bb:1
    privileged: true
EOF
    run cmp up -d
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"--privileged is not supported"* ]]
    [[ "$output" == *"services.second: refused by nrun run"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    printf 'services:\n  a:\n    image: bb:1\n    ports: ["80:80", [1]]\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$output" = 'nrun compose: services.a.ports[1]: expected "[HOST_IP:][HOST:]CONTAINER[/PROTO]" or a mapping' ]
    printf 'services:\n  a:\n    image: bb:1\n    container_name: bad-b-1\n  b:\n    image: bb:1\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$output" = 'nrun compose: services.a and services.b: both would be the container "bad-b-1"' ]
    printf 'services:\n  a:\n    image: bb:1\n    comand: [x]\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$output" = "nrun compose: services.a.comand: not a key of a compose service" ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "up again: an unchanged service keeps running, a changed one is recreated; --force-recreate recreates" {
    proj again
    cat >"$D/compose.yaml" <<'EOF'
services:
  a:
    image: bb:1
    command: ["sleep", "1000"]
  b:
    image: bb:1
    command: ["sleep", "1000"]
EOF
    cmp up -d
    a1=$("$NRUN" inspect -f '{{.Id}}' again-a-1)
    b1=$("$NRUN" inspect -f '{{.Id}}' again-b-1)
    run cmp up -d
    [[ "$output" == *"Container again-a-1  Running"* && "$output" == *"Container again-b-1  Running"* ]]
    sed -i '0,/1000/s//2000/' "$D/compose.yaml"
    run cmp up -d
    echo "$output"
    [[ "$output" == *"Container again-a-1  Recreate"* && "$output" == *"Container again-b-1  Running"* ]]
    [ "$("$NRUN" inspect -f '{{.Id}}' again-a-1)" != "$a1" ]
    [ "$("$NRUN" inspect -f '{{.Id}}' again-b-1)" = "$b1" ]
    cmp up -d --force-recreate b
    [ "$("$NRUN" inspect -f '{{.Id}}' again-b-1)" != "$b1" ]
    # stop, start, restart by service
    cmp stop a
    [ "$("$NRUN" inspect -f '{{.State.Status}}' again-a-1)" = exited ]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' again-b-1)" = running ]
    cmp start a
    [ "$("$NRUN" inspect -f '{{.State.Status}}' again-a-1)" = running ]
    run cmp restart b
    [[ "$output" == *"Container again-b-1  Restarted"* ]]
    cmp down
}

@test "up without -d follows the logs with service prefixes and stops everything on SIGTERM" {
    proj attached
    cat >"$D/compose.yaml" <<'EOF'
services:
  talker:
    image: bb:1
    command: ["sh", "-c", "echo hello from talker; exec sleep 1000"]
  other:
    image: bb:1
    command: ["sh", "-c", "echo hello from other; exec sleep 1000"]
EOF
    (cd "$D" && exec "$NRUN" compose up >"$BATS_TEST_TMPDIR/out" 2>&1) &
    pid=$!
    for _ in $(seq 100); do
        grep -q 'talker-1 | hello from talker' "$BATS_TEST_TMPDIR/out" && grep -q 'other-1  | hello from other' "$BATS_TEST_TMPDIR/out" && break
        sleep 0.1
    done
    cat "$BATS_TEST_TMPDIR/out"
    grep -q 'talker-1 | hello from talker' "$BATS_TEST_TMPDIR/out"
    grep -q 'other-1  | hello from other' "$BATS_TEST_TMPDIR/out"
    kill -TERM $pid
    wait $pid || true
    cat "$BATS_TEST_TMPDIR/out"
    [ "$("$NRUN" inspect -f '{{.State.Status}}' attached-talker-1)" = exited ]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' attached-other-1)" = exited ]
    # Ctrl-C: the same, exit 130
    (cd "$D" && exec "$NRUN" compose up >"$BATS_TEST_TMPDIR/out2" 2>&1) &
    pid=$!
    for _ in $(seq 100); do grep -q 'Attaching to' "$BATS_TEST_TMPDIR/out2" && break; sleep 0.1; done
    [ "$("$NRUN" inspect -f '{{.State.Status}}' attached-talker-1)" = running ]
    kill -INT $pid
    rc=0
    wait $pid || rc=$?
    cat "$BATS_TEST_TMPDIR/out2"
    [ "$rc" -eq 130 ]
    grep -q 'Gracefully stopping' "$BATS_TEST_TMPDIR/out2"
    [ "$("$NRUN" inspect -f '{{.State.Status}}' attached-talker-1)" = exited ]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' attached-other-1)" = exited ]
    cmp down
}

@test "run --rm: a one-off container of a service, its dependency up first; exec into a service" {
    proj oneoff
    cat >"$D/compose.yaml" <<EOF
services:
  tool:
    image: bb:1
    environment: [WHO=tool]
    depends_on: [db]
  db:
    image: bb:1
    command: ["sh", "-c", "$(db_cmd from-db)"]
EOF
    run cmp run --rm -T tool sh -c 'echo $WHO; for i in $(seq 50); do wget -qO- http://db:8080/i && break; sleep 0.1; done'
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *$'tool\nfrom-db'* ]]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' oneoff-db-1)" = running ]
    # the one-off is gone, only db is left
    [ "$(ids_of oneoff | wc -l)" -eq 1 ]
    # run's flags win over the service's
    run --separate-stderr cmp run --rm -T -e WHO=given -w /tmp --name one-off-x tool sh -c 'echo $WHO; pwd; hostname'
    echo "$output"
    [ "$output" = $'given\n/tmp\none-off-x' ]
    run cmp exec -T db cat /tmp/i
    [ "$output" = from-db ]
    run cmp exec -T tool true
    [ "$status" -ne 0 ]
    [[ "$output" == *'service "tool" is not running'* ]]
    cmp down
}

@test "-f files merge in order, networks with aliases, container_name, and a container name of someone else is refused" {
    proj merge
    cat >"$D/base.yml" <<'EOF'
services:
  srv:
    image: bb:1
    command: ["sh", "-c", "echo base; exec sleep 1000"]
    environment: {A: "1", B: "1"}
    networks: [front]
networks:
  front:
EOF
    cat >"$D/over.yml" <<'EOF'
services:
  srv:
    command: ["sh", "-c", "echo over; echo hi-srv >/tmp/i; exec httpd -f -p 8080 -h /tmp"]
    environment: [B=2]
    container_name: merged-srv
    networks:
      front:
        aliases: [web-alias]
  peer:
    image: bb:1
    command: ["sleep", "1000"]
    networks: [front, back]
networks:
  back:
EOF
    run --separate-stderr cmp -f base.yml -f over.yml config --format json
    jq -e '.services.srv.environment == {"A": "1", "B": "2"} and .services.srv.command[2] == "echo over; echo hi-srv >/tmp/i; exec httpd -f -p 8080 -h /tmp"' <<<"$output"
    run cmp -f base.yml -f over.yml up -d
    echo "$output"
    [ "$status" -eq 0 ]
    for _ in $(seq 50); do [ -n "$("$NRUN" logs merged-srv 2>&1)" ] && break; sleep 0.1; done
    run "$NRUN" logs merged-srv
    [ "$output" = over ]
    # the service's name and its alias, on the network they share
    for _ in $(seq 50); do cmp -f base.yml -f over.yml exec -T peer wget -qO- http://srv:8080/i 2>/dev/null && break; sleep 0.1; done
    run cmp -f base.yml -f over.yml exec -T peer wget -qO- http://srv:8080/i
    [ "$output" = hi-srv ]
    run cmp -f base.yml -f over.yml exec -T peer wget -qO- http://web-alias:8080/i
    [ "$output" = hi-srv ]
    "$NRUN" inspect merge-peer-1 | jq -e '.[0].NetworkSettings.Networks | has("merge_front") and has("merge_back")'
    cmp -f base.yml -f over.yml down
    # a container of the same name that is not this project's: refused, nothing made
    rt_run -d --name merged-srv bb:1 sleep 1000 >/dev/null
    run cmp -f base.yml -f over.yml up -d
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *'the container name "merged-srv" is in use by a container that is not this project'* ]]
    ! "$NRUN" network ls -q | grep -qx merge_front || false
    "$NRUN" rm -f merged-srv >/dev/null
}

@test "build: args, target and labels reach nbuild; up keeps a built image until --build, which recreates; --no-build refuses a missing image; down --rmi local removes it" {
    proj built
    cat >"$D/app/Dockerfile" <<'EOF'
FROM bb:1 AS base
ARG GREETING=unset
RUN echo "$GREETING" >/greeting
FROM base AS prod
RUN echo prod >/stage
FROM base AS dev
RUN echo dev >/stage
EOF
    cat >"$D/compose.yaml" <<'EOF'
services:
  app:
    build:
      context: ./app
      target: prod
      args: {GREETING: "${GREETING:-hello}"}
      labels: [org.example.team=compose]
    command: ["sh", "-c", "cat /greeting /stage; exec sleep 1000"]
EOF
    run cmp build
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Service app  Built"* ]]
    [ "$(cfg built-app:latest '.config.Labels["org.example.team"]')" = '"compose"' ]
    run cmp up -d --no-build
    [ "$status" -eq 0 ]
    for _ in $(seq 50); do [ -n "$("$NRUN" logs built-app-1 2>&1)" ] && break; sleep 0.1; done
    run "$NRUN" logs built-app-1
    [ "$output" = $'hello\nprod' ]
    id1=$("$NRUN" inspect -f '{{.Id}}' built-app-1)
    # a new argument: up alone keeps the image it has, --build makes the new one and recreates
    GREETING=again cmp up -d
    [ "$("$NRUN" inspect -f '{{.Id}}' built-app-1)" = "$id1" ]
    run env GREETING=again "$NRUN" compose --project-directory "$D" up -d --build
    echo "$output"
    [[ "$output" == *"Container built-app-1  Recreate"* ]]
    for _ in $(seq 50); do [ -n "$("$NRUN" logs built-app-1 2>&1)" ] && break; sleep 0.1; done
    run "$NRUN" logs built-app-1
    [ "$output" = $'again\nprod' ]
    run cmp down --rmi local
    [[ "$output" == *"Image built-app  Removed"* ]]
    ! "$NRUN" images --format '{{.Repository}}' | grep -qx built-app || false
    run cmp up -d --no-build
    [ "$status" -eq 1 ]
    [[ "$output" == *"services.app: image built-app is missing and --no-build"* ]]
    [ -z "$(ids_of built)" ]
    # pull_policy: build builds at every up, as --build does
    printf 'services:\n  app:\n    build: {context: ./app, target: prod}\n    pull_policy: build\n    command: ["sleep", "1000"]\n' >"$D/pp.yaml"
    for round in 1 2; do
        run cmp -f pp.yaml up -d
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"Service app  Building"* ]]
    done
    cmp -f pp.yaml down --rmi local >/dev/null 2>&1
    [ -z "$(ids_of built)" ]
}

@test "external networks and volumes are used, never made or removed; a missing one stops up before anything is made" {
    proj ext
    "$NRUN" network create extnet >/dev/null
    "$NRUN" volume create extvol >/dev/null
    cat >"$D/compose.yaml" <<EOF
services:
  db:
    image: bb:1
    command: ["sh", "-c", "$(db_cmd on-extnet) & echo kept >>/v/log; wait"]
    volumes: [shared:/v]
    networks: [outside]
networks:
  outside: {external: true, name: extnet}
volumes:
  shared: {external: true, name: extvol}
EOF
    cmp up -d
    # a plain nrun run container on the same network finds the service by its name
    run rt_run --rm --network extnet bb:1 sh -c 'for i in $(seq 50); do wget -qO- http://db:8080/i && break; sleep 0.1; done'
    [ "$output" = on-extnet ]
    cmp down -v
    "$NRUN" network ls -q | grep -qx extnet
    "$NRUN" volume ls -q | grep -qx extvol
    [ "$(cat "$NRUN_ROOT/volumes/extvol/_data/log")" = kept ]
    "$NRUN" network rm extnet >/dev/null
    before=$(nr_tree_hash "$NRUN_ROOT")
    run cmp up -d
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"networks.outside (external)"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    "$NRUN" volume rm extvol >/dev/null
}

@test "network_mode service:NAME shares the other service's network namespace; network_mode none has only lo" {
    proj netmode
    cat >"$D/compose.yaml" <<EOF
services:
  db:
    image: bb:1
    command: ["sh", "-c", "$(db_cmd via-localhost)"]
  side:
    image: bb:1
    network_mode: "service:db"
    depends_on: [db]
    command: ["sleep", "1000"]
  alone:
    image: bb:1
    network_mode: none
    command: ["sleep", "1000"]
EOF
    cmp up -d
    for _ in $(seq 50); do cmp exec -T side wget -qO- http://127.0.0.1:8080/i 2>/dev/null && break; sleep 0.1; done
    run cmp exec -T side wget -qO- http://127.0.0.1:8080/i
    [ "$output" = via-localhost ]
    run cmp exec -T alone ls /sys/class/net
    [ "$output" = lo ]
    cmp down
}

@test "depends_on service_completed_successfully waits for a job; up SERVICE --no-deps starts that one only; logs --tail and -f" {
    proj job
    cat >"$D/compose.yaml" <<'EOF'
services:
  migrate:
    image: bb:1
    command: ["sh", "-c", "sleep 1; echo migrated"]
  app:
    image: bb:1
    command: ["sh", "-c", "echo one; echo two; echo three; while :; do [ -f /tmp/say ] && rm /tmp/say && echo late; sleep 0.2; done"]
    depends_on:
      migrate: {condition: service_completed_successfully}
EOF
    run cmp up -d
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Container job-migrate-1  Exited"* ]]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' job-migrate-1)" = exited ]
    for _ in $(seq 50); do [ "$("$NRUN" logs job-app-1 2>&1 | wc -l)" -ge 3 ] && break; sleep 0.1; done
    run cmp logs --tail 1 app
    [ "$output" = "app-1 | three" ]
    run cmp logs
    [[ "$output" == *"migrate-1 | migrated"* && "$output" == *"app-1     | one"* ]]
    # -f follows until the container stops
    (cd "$D" && exec "$NRUN" compose logs -f app >"$BATS_TEST_TMPDIR/follow" 2>&1) &
    pid=$!
    cmp exec -T app touch /tmp/say
    for _ in $(seq 50); do grep -q 'app-1 | late' "$BATS_TEST_TMPDIR/follow" && break; sleep 0.1; done
    grep -q 'app-1 | late' "$BATS_TEST_TMPDIR/follow"
    cmp stop app
    wait $pid
    cmp down
    # --no-deps: the job is not run
    cmp up -d --no-deps app
    [ "$(ids_of job | wc -l)" -eq 1 ]
    ! "$NRUN" ps -a --format '{{.Names}}' | grep -qx job-migrate-1 || false
    cmp down
}

@test "pull: the services that name an image, through nrun pull (a registry on the host's 127.0.0.1); up pulls a missing one" {
    nr_registry_start
    # the registry listens on the host's loopback: these nrun runs stay in the host's namespace
    "$NR_REAL_NRUN" push bb:1 "$NR_REGISTRY/cmp/bb:1" >/dev/null
    proj pulled
    printf 'services:\n  fromreg:\n    image: %s/cmp/bb:1\n    command: ["sleep", "1000"]\n  local:\n    build: ./app\n' \
        "$NR_REGISTRY" >"$D/compose.yaml"
    ! "$NRUN" images --format '{{.Repository}}' | grep -qx "$NR_REGISTRY/cmp/bb" || false
    run bash -c "cd '$D' && '$NR_REAL_NRUN' compose pull"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Service fromreg  Pulling"* && "$output" != *"Service local  Pulling"* ]]
    "$NRUN" images --format '{{.Repository}}:{{.Tag}}' | grep -qx "$NR_REGISTRY/cmp/bb:1"
    # up pulls what is missing (network_mode none: this nrun makes no network in the host's namespace)
    "$NRUN" rmi "$NR_REGISTRY/cmp/bb:1" >/dev/null
    printf 'services:\n  fromreg:\n    image: %s/cmp/bb:1\n    command: ["sleep", "1000"]\n    network_mode: none\n' \
        "$NR_REGISTRY" >"$D/up.yaml"
    run bash -c "cd '$D' && '$NR_REAL_NRUN' compose -f up.yaml up -d"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Service fromreg  Pulling"* ]]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' pulled-fromreg-1)" = running ]
    cmp -f up.yaml down
    [ -z "$(ids_of pulled)" ]
    # a service's pull_policy: always pulls although the store has it, never
    # refuses a missing one; --pull on the command line wins over it
    printf 'services:\n  fromreg:\n    image: %s/cmp/bb:1\n    command: ["sleep", "1000"]\n    network_mode: none\n    pull_policy: always\n' \
        "$NR_REGISTRY" >"$D/pp.yaml"
    run bash -c "cd '$D' && '$NR_REAL_NRUN' compose -f pp.yaml up -d"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Service fromreg  Pulling"* ]]
    cmp -f pp.yaml down
    run bash -c "cd '$D' && '$NR_REAL_NRUN' compose -f pp.yaml up -d --pull missing"
    [ "$status" -eq 0 ]
    [[ "$output" != *"Pulling"* ]]
    cmp -f pp.yaml down
    "$NRUN" rmi "$NR_REGISTRY/cmp/bb:1" >/dev/null
    sed -i 's/pull_policy: always/pull_policy: never/' "$D/pp.yaml"
    run bash -c "cd '$D' && '$NR_REAL_NRUN' compose -f pp.yaml up -d"
    [ "$status" -ne 0 ]
    [[ "$output" == *"services.fromreg: image $NR_REGISTRY/cmp/bb:1 is missing and pull_policy: never"* ]]
    sed -i 's/pull_policy: never/pull_policy: sometimes/' "$D/pp.yaml"
    run bash -c "cd '$D' && '$NR_REAL_NRUN' compose -f pp.yaml config"
    [ "$status" -ne 0 ]
    [[ "$output" == *'services.fromreg.pull_policy: "sometimes": always, never, missing, build'* ]]
    [ -z "$(ids_of pulled)" ]
    nr_registry_stop
}

@test "up --wait returns once every service is running (healthy with a health check; a job another waits on may exit 0), non-zero when one exits or the --wait-timeout passes" {
    proj waiting
    cat >"$D/compose.yaml" <<'EOF'
services:
  web:
    image: bb:1
    command: ["sh", "-c", "sleep 1; touch /tmp/ok; exec sleep 1000"]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ok"], interval: 500ms, retries: 30}
  job:
    image: bb:1
    command: ["true"]
  app:
    image: bb:1
    command: ["sleep", "1000"]
    depends_on: {job: {condition: service_completed_successfully}}
EOF
    run cmp up --wait
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$("$NRUN" inspect -f '{{.State.Health.Status}}' waiting-web-1)" = healthy ]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' waiting-app-1)" = running ]
    cmp down
    cat >>"$D/compose.yaml" <<'EOF'
  bad:
    image: bb:1
    # "starting" (its check never ran) until it exits: never seen as up
    command: ["sh", "-c", "sleep 1; exit 3"]
    healthcheck: {test: ["CMD", "true"], interval: 1h, start_period: 1h}
EOF
    run cmp up --wait
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"nrun compose: container waiting-bad-1 exited (3)"* ]]
    cmp down
    printf 'services:\n  never:\n    image: bb:1\n    command: ["sleep", "1000"]\n    healthcheck: {test: ["CMD", "false"], interval: 10s, retries: 30}\n' >"$D/compose.yaml"
    run cmp up --wait --wait-timeout 1
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"--wait-timeout: the services were not all running (or healthy) in time"* ]]
    run cmp up --wait -d --abort-on-container-exit
    [ "$status" -eq 2 ]
    cmp down
}

@test "up --abort-on-container-exit stops every service when one exits and exits with its code; --exit-code-from SERVICE exits with that service's code" {
    proj aborting
    cat >"$D/compose.yaml" <<'EOF'
services:
  server:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 5' TERM; echo serving; sleep 1000 & wait"]
  tests:
    image: bb:1
    command: ["sh", "-c", "sleep 1; echo tests done; exit 7"]
EOF
    run cmp up --abort-on-container-exit
    echo "$output"
    [ "$status" -eq 7 ]
    [[ "$output" == *"tests-1  | tests done"* ]]
    [[ "$output" == *"aborting-tests-1 exited with code 7"* ]]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' aborting-server-1)" = exited ]
    run cmp up --exit-code-from server
    echo "$output"
    [ "$status" -eq 5 ]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' aborting-server-1)" = exited ]
    run cmp up --exit-code-from nosuch
    [ "$status" -eq 2 ]
    cmp down
}

@test "profiles: up starts the services without profiles, --profile adds its services, up SERVICE starts a profile's service and its dependencies; down removes them all" {
    proj profiled
    cat >"$D/compose.yaml" <<'EOF'
services:
  web: {image: bb:1, command: ["sleep", "1000"]}
  dbg: {image: bb:1, command: ["sleep", "1000"], profiles: [debug], depends_on: [tool]}
  tool: {image: bb:1, command: ["sleep", "1000"], profiles: [debug]}
  other: {image: bb:1, command: ["sleep", "1000"], profiles: [x]}
EOF
    names() { "$NRUN" ps --filter label=com.docker.compose.project=profiled --format '{{.Names}}' | sort | tr '\n' ' '; }
    cmp up -d
    [ "$(names)" = "profiled-web-1 " ]
    run cmp up -d dbg
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(names)" = "profiled-dbg-1 profiled-tool-1 profiled-web-1 " ]
    cmp --profile x up -d
    [ "$(names)" = "profiled-dbg-1 profiled-other-1 profiled-tool-1 profiled-web-1 " ]
    cmp down
    [ -z "$(ids_of profiled)" ]
}

@test "scale: deploy.replicas and up --scale make <project>-<service>-N, each with the service's name as alias; a lower --scale removes the extra ones; logs name each" {
    proj scaled
    cat >"$D/compose.yaml" <<'EOF'
services:
  web:
    image: bb:1
    command: ["sh", "-c", "hostname >/tmp/i; echo serving; exec httpd -f -p 8080 -h /tmp"]
    deploy: {replicas: 2}
  client:
    image: bb:1
    command: ["sleep", "1000"]
EOF
    names() { "$NRUN" ps --filter label=com.docker.compose.project=scaled --format '{{.Names}}' | sort | tr '\n' ' '; }
    run cmp up -d
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(names)" = "scaled-client-1 scaled-web-1 scaled-web-2 " ]
    [ "$("$NRUN" inspect scaled-web-2 | jq -r '.[0].Config.Labels["com.docker.compose.container-number"]')" = 2 ]
    [ "$("$NRUN" inspect scaled-web-2 | jq -c '.[0].NetworkSettings.Networks.scaled_default.Aliases')" = '["scaled-web-2","web"]' ]
    for _ in $(seq 50); do "$NRUN" exec scaled-client-1 wget -qO- http://web:8080/i >/dev/null 2>&1 && break; sleep 0.1; done
    # the service's name answers with each replica's address
    run "$NRUN" exec scaled-client-1 nslookup web
    echo "$output"
    for n in 1 2; do
        ip=$("$NRUN" inspect scaled-web-$n | jq -r '.[0].NetworkSettings.Networks.scaled_default.IPAddress')
        [[ "$output" == *"$ip"* ]]
    done
    run "$NRUN" exec scaled-client-1 wget -qO- http://web:8080/i
    [ "$status" -eq 0 ]
    [ -n "$output" ]
    run cmp up -d --scale web=3
    [ "$(names)" = "scaled-client-1 scaled-web-1 scaled-web-2 scaled-web-3 " ]
    [[ "$output" == *"Container scaled-web-1  Running"* ]]
    run cmp logs web
    [[ "$output" == *"web-3 | serving"* ]]
    # exec goes to container 1
    [ "$(cmp exec -T web cat /tmp/i)" = "$("$NRUN" exec scaled-web-1 cat /tmp/i)" ]
    [ "$(cmp exec -T web cat /tmp/i)" != "$("$NRUN" exec scaled-web-3 cat /tmp/i)" ]
    # --index N goes to container N, as compose's
    [ "$(cmp exec -T --index 3 web cat /tmp/i)" = "$("$NRUN" exec scaled-web-3 cat /tmp/i)" ]
    run cmp exec -T --index 4 web true
    [ "$status" -ne 0 ]
    [ "$output" = 'nrun compose: service "web" has no running container 4' ]
    run cmp exec -T --index 0 web true
    [ "$status" -eq 2 ]
    run cmp up -d --scale web=1
    echo "$output"
    [[ "$output" == *"Container scaled-web-3  Removed"* ]]
    [ "$(names)" = "scaled-client-1 scaled-web-1 " ]
    run cmp up -d --scale nosuch=2
    [ "$status" -eq 2 ]
    printf 'services:\n  w: {image: bb:1, container_name: only, scale: 2}\n' >"$D/compose.yaml"
    run cmp config
    [ "$output" = "nrun compose: services.w: container_name and more than one container (scale) cannot be combined" ]
    printf 'services:\n  w: {image: bb:1, scale: many}\n' >"$D/compose.yaml"
    run cmp config
    [ "$output" = "nrun compose: services.w.scale: expected a number of containers from 0 to 100" ]
    cat >"$D/compose.yaml" <<'EOF'
services:
  web: {image: bb:1}
  client: {image: bb:1}
EOF
    cmp down
    [ -z "$(ids_of scaled)" ]
}

@test "logging (json-file), ulimits, group_add, dns_search, dns_opt, domainname, oom_score_adj, cpu_shares, mem_reservation, stdin_open, tty, deploy.resources and restart_policy reach the container as run's flags; another log driver is a warning" {
    proj dk
    cat >"$D/compose.yaml" <<'EOF2'
services:
  s:
    image: bb:1
    command: sh -c 'ulimit -Sn; ulimit -Hn; id -G; cat /etc/resolv.conf; cat /proc/sys/kernel/domainname; cat /proc/self/oom_score_adj; sleep 600'
    logging:
      driver: json-file
      options: {max-size: "5m", max-file: "2", compress: "true"}
    ulimits:
      nofile: {soft: 2000, hard: 4000}
    group_add: ["1234"]
    dns_search: example.test
    dns_opt: ["ndots:2"]
    domainname: corp.test
    oom_score_adj: 100
    cpu_shares: 512
    mem_reservation: 32m
  t:
    image: bb:1
    command: sleep 600
    logging: {driver: syslog}
  u:
    image: bb:1
    stdin_open: true
    command: sh -c 'timeout 1 cat; echo "cat-ended $$?"; sleep 600'
  v:
    image: bb:1
    tty: true
    command: sh -c '[ -t 0 ] && [ -t 1 ] && echo on-a-tty; sleep 600'
  w:
    image: bb:1
    command: sleep 600
    platform: ${NRPLAT}
    deploy:
      resources:
        limits: {cpus: '0.50', memory: 64M, pids: 100}
        reservations: {memory: 32M}
      restart_policy: {condition: on-failure, max_attempts: 3}
      placement: {constraints: [node.role==manager]}
EOF2
    NRPLAT=linux/$(uname -m) run --separate-stderr cmp up -d
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"services.s.logging.options.compress: not supported by nrun, ignored"* ]]
    [[ "$stderr" != *platform* ]] # this machine's: run's --platform takes it
    [[ "$stderr" == *"services.t.logging.driver: syslog is not supported by nrun"* ]]
    [[ "$stderr" != *"services.s.ulimits"* && "$stderr" != *"services.s.group_add"* ]]
    for _ in $(seq 50); do run "$NRUN" logs dk-s-1; [[ "$output" == *"oom"* || "${#lines[@]}" -ge 7 ]] && break; sleep 0.1; done
    echo "$output"
    [ "${lines[0]}" = 2000 ]
    [ "${lines[1]}" = 4000 ]
    [[ "${lines[2]}" == *" 1234"* ]]
    [[ "$output" == *"search example.test"* ]]
    [[ "$output" == *"options ndots:2"* ]]
    [[ "$output" == *$'\ncorp.test\n'* ]]
    [ "${lines[-1]}" = 100 ]
    # stdin_open: stdin stays open (cat is ended by timeout's TERM, not by
    # an end of input); tty: a terminal, whose output is the log
    [[ "$stderr" != *"stdin_open"* && "$stderr" != *"services.v.tty"* ]]
    for _ in $(seq 50); do run "$NRUN" logs dk-u-1; [[ "$output" == *cat-ended* ]] && break; sleep 0.1; done
    echo "u: $output"
    [[ "$output" == *"cat-ended 143"* ]] # (and sh's "Terminated")
    for _ in $(seq 50); do run "$NRUN" logs dk-v-1; [[ "$output" == *on-a-tty* ]] && break; sleep 0.1; done
    echo "v: $output"
    [ "$output" = "on-a-tty" ]
    run "$NRUN" inspect dk-s-1
    jq -e '.[0].HostConfig | .LogConfig == {"Type": "json-file", "Config": {"max-size": "5m", "max-file": "2"}} and
        .CpuShares == 512 and .MemoryReservation == 33554432 and .OomScoreAdj == 100' <<<"$output"
    # deploy.resources and restart_policy outside swarm, as docker compose takes them; placement a warning
    [[ "$stderr" == *"services.w.deploy.placement: not supported by nrun, ignored"* && "$stderr" != *"services.w.deploy: "* ]]
    run "$NRUN" inspect dk-w-1
    jq -e '.[0].HostConfig | .NanoCpus == 500000000 and .Memory == 67108864 and .PidsLimit == 100 and
        .MemoryReservation == 33554432 and .RestartPolicy == {"Name": "on-failure", "MaximumRetryCount": 3}' <<<"$output"
    cmp down >/dev/null
}

@test "compose kill, pause/unpause, port, cp, top, images, wait, rm, scale, events, version: docker compose's verbs over the project's containers" {
    proj verbs
    port=$(rt_free_port)
    uport=$(rt_free_port)
    cat >"$D/compose.yaml" <<EOF
services:
  web:
    image: bb:1
    command: ["sh", "-c", "echo hi >/tmp/i; echo started; exec httpd -f -p 8080 -h /tmp"]
    ports: ["127.0.0.1:$port:8080", "127.0.0.1:$uport:53/udp"]
  job:
    image: bb:1
    command: ["sh", "-c", "sleep 1; exit 3"]
EOF
    run cmp up -d
    echo "$output"
    [ "$status" -eq 0 ]
    wait_http "http://127.0.0.1:$port/i" hi
    # version needs no project
    [ "$(cd / && "$NRUN" compose version --short)" = "$("$NRUN" --version | awk '{print $3}')" ]
    # port: the host address of a service's port, tcp or udp
    [ "$(cmp port web 8080)" = "127.0.0.1:$port" ]
    [ "$(cmp port --protocol udp web 53)" = "127.0.0.1:$uport" ]
    run cmp port web 9999
    [ "$status" -ne 0 ]
    run cmp port nosuch 8080
    [ "$status" -ne 0 ]
    [ "$output" = "nrun compose: no such service: nosuch" ]
    # cp both ways, by service name
    echo payload >"$BATS_TEST_TMPDIR/in"
    cmp cp "$BATS_TEST_TMPDIR/in" web:/tmp/in
    [ "$("$NRUN" exec verbs-web-1 cat /tmp/in)" = payload ]
    cmp cp web:/tmp/i "$BATS_TEST_TMPDIR/out"
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = hi ]
    # top: the container's name, then its processes
    run cmp top web
    [ "${lines[0]}" = verbs-web-1 ]
    [[ "$output" == *httpd* ]]
    # images: the image each container runs
    run cmp images web
    [[ "${lines[1]}" == "verbs-web-1 "*" bb "*" 1 "* ]]
    [ "$(cmp images -q web)" = "$("$NRUN" inspect verbs-web-1 | jq -r '.[0].Image | sub("^sha256:"; "") | .[:12]')" ]
    # wait: the exit code of the job
    [ "$(cmp wait job)" = 3 ]
    # ps --services (running ones, -a all, --status), ps --status
    [ "$(cmp ps --services)" = web ]
    [ "$(cmp ps --services -a | tr '\n' ' ')" = "job web " ]
    [ "$(cmp ps --services --status exited)" = job ]
    [ "$(cmp ps --status exited --format '{{.Names}}')" = verbs-job-1 ]
    [ "$(cmp ps --filter status=running --format '{{.Names}}')" = verbs-web-1 ]
    run cmp ps --status sleepy
    [ "$status" -eq 2 ]
    # logs without the prefix, with timestamps, of container N
    [ "$(cmp logs --no-log-prefix web)" = started ]
    [[ "$(cmp logs -t --index 1 web)" =~ ^web-1\ \|\ 20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:.]+Z\ started$ ]]
    [ -z "$(cmp logs --index 2 web)" ]
    # pause/unpause
    run cmp pause web
    [[ "$output" == *"Container verbs-web-1  Paused"* ]]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' verbs-web-1)" = paused ]
    run cmp unpause web
    [[ "$output" == *"Container verbs-web-1  Unpaused"* ]]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' verbs-web-1)" = running ]
    # events of the project while it is killed
    (cd "$D" && exec nsenter --net="/run/netns/$NR_NETNS" "$NR_REAL_NRUN" compose events --json) >"$BATS_TEST_TMPDIR/ev" 2>&1 &
    evpid=$!
    sleep 0.5
    run cmp kill -s TERM web
    [[ "$output" == *"Container verbs-web-1  Killed"* ]]
    for _ in $(seq 50); do [ "$("$NRUN" inspect -f '{{.State.Status}}' verbs-web-1)" = exited ] && break; sleep 0.1; done
    for _ in $(seq 50); do grep -q '"die"' "$BATS_TEST_TMPDIR/ev" && break; sleep 0.1; done
    kill "$evpid"
    wait "$evpid" || true
    grep '"kill"' "$BATS_TEST_TMPDIR/ev" | jq -e 'select(.Actor.Attributes.name == "verbs-web-1")' >/dev/null
    # rm: stopped containers only, after a yes (no with an empty stdin)
    run cmp rm </dev/null
    [[ "$output" == *"Going to remove verbs-job-1, verbs-web-1"* || "$output" == *"Going to remove verbs-web-1, verbs-job-1"* ]]
    [ -n "$("$NRUN" ps -aq --filter name=verbs-web-1)" ]
    run cmp rm -f job
    [[ "$output" == *"Container verbs-job-1  Removed"* ]]
    [ -z "$("$NRUN" ps -aq --filter name=verbs-job-1)" ]
    # scale: up -d of the services named with that number of containers (web, with its fixed ports, untouched)
    run cmp scale job=2
    echo "$output"
    [ "$status" -eq 0 ]
    [ -n "$("$NRUN" ps -aq --filter name=verbs-job-1)" ] && [ -n "$("$NRUN" ps -aq --filter name=verbs-job-2)" ]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' verbs-web-1)" = exited ]
    cmp down
    [ -z "$(ids_of verbs)" ]
}

@test "compose build --no-cache --build-arg, pull --policy missing, up --no-recreate, --pull never|always and the flags compose scripts pass (-t, -V, -y, --quiet-pull, --no-color)" {
    proj flags
    mkdir -p "$D/b"
    printf 'FROM bb:1\nARG WHO=file\nRUN echo "$WHO" >/who\nCMD ["sleep", "1000"]\n' >"$D/b/Dockerfile"
    cat >"$D/compose.yaml" <<'EOF'
services:
  app:
    build: {context: ./b, args: {WHO: fromfile}}
    environment: {V: "1"}
  side:
    image: bb:1
    command: ["sleep", "1000"]
EOF
    run cmp build --build-arg WHO=fromcli -q --progress plain
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$("$NRUN" run --rm flags-app cat /who)" = fromcli ]
    run cmp build --no-cache --pull app
    [ "$status" -eq 0 ]
    [ "$("$NRUN" run --rm flags-app cat /who)" = fromfile ]
    # pull: bb:1 is in the store, so --policy missing pulls nothing (no registry here)
    run cmp pull --policy missing -q --ignore-pull-failures
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *Pulling* ]]
    run cmp up -d -t 3 -V -y --quiet-pull --no-color
    echo "$output"
    [ "$status" -eq 0 ]
    id1=$("$NRUN" inspect -f '{{.Id}}' flags-app-1)
    # a changed service: --no-recreate keeps the container, a plain up recreates it
    sed -i 's/V: "1"/V: "2"/' "$D/compose.yaml"
    run cmp up -d --no-recreate
    [ "$status" -eq 0 ]
    [ "$("$NRUN" inspect -f '{{.Id}}' flags-app-1)" = "$id1" ]
    run cmp up -d --no-recreate --force-recreate
    [ "$status" -eq 2 ]
    run cmp up -d
    [[ "$output" == *"Container flags-app-1  Recreate"* ]]
    [ "$("$NRUN" exec flags-app-1 sh -c 'echo $V')" = 2 ]
    # --pull never: a missing image is an error, nothing pulled
    printf 'services:\n  gone: {image: "nosuch.invalid/x:1"}\n' >"$D/never.yaml"
    run cmp -f never.yaml -p flagsnever up -d --pull never
    [ "$status" -ne 0 ]
    [[ "$output" == *"services.gone: image nosuch.invalid/x:1 is missing and --pull never"* ]]
    [[ "$output" != *Pulling* ]]
    # --pull always: the image of a service without build: is pulled even when present
    run cmp up -d --pull always side
    [[ "$output" == *"Service side  Pulling"* ]]
    run cmp up -d --pull sometimes
    [ "$status" -eq 2 ]
    cmp down
    [ -z "$(ids_of flags)" ]
}

@test "secrets and configs: a file, an environment variable and a config's content, bound read-only at /run/secrets/NAME, a target, /NAME; config shows no secret's value; down removes the files written; an undeclared or swarm one is an error, nothing made" {
    D=$BATS_TEST_TMPDIR/sec
    mkdir -p "$D"
    printf 'file-secret\n' >"$D/db_password.txt"
    cat >"$D/compose.yaml" <<'YAML'
services:
  app:
    image: bb:1
    command: ["sh", "-c", "for f in /run/secrets/db_password /run/secrets/api_key /etc/app/token /app.conf; do echo \"[$$(cat $$f)]\"; done; id -u; sleep 100"]
    user: "1000"
    secrets:
      - db_password
      - source: token
        target: /etc/app/token
        mode: 0400
      - api_key
    configs:
      - app.conf
secrets:
  db_password:
    file: ./db_password.txt
  api_key:
    environment: NR_TEST_API_KEY
  token:
    environment: NR_TEST_TOKEN
configs:
  app.conf:
    content: |
      listen 8080
YAML
    export NR_TEST_API_KEY=env-secret NR_TEST_TOKEN=tok-secret
    run cmp config
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *env-secret* ]]
    [[ "$output" == *"target: /run/secrets/db_password"* ]]
    run cmp up -d
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"secrets[1].mode: not applied"* ]]
    for _ in $(seq 50); do "$NRUN" logs sec-app-1 2>&1 | grep -q '^1000$' && break; sleep 0.1; done
    run "$NRUN" logs sec-app-1
    echo "$output"
    [ "$output" = "$(printf '[file-secret]\n[env-secret]\n[tok-secret]\n[listen 8080]\n1000')" ]
    # read-only, for root too
    run "$NRUN" exec -u 0 sec-app-1 sh -c 'echo x >/run/secrets/db_password'
    [ "$status" -ne 0 ]
    [ "$(cat "$D/db_password.txt")" = file-secret ]
    files=$NRUN_ROOT/compose/sec.files
    [ "$(stat -c %a "$files")" = 700 ]
    [ "$(cat "$files/secrets.api_key")" = env-secret ]
    run cmp down
    [ "$status" -eq 0 ]
    [ ! -e "$files" ]
    # errors, before anything is made
    before=$(nr_tree_hash "$NRUN_ROOT")
    printf 'services:\n  app:\n    image: bb:1\n    secrets: [nope]\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$status" -ne 0 ]
    [[ "$output" == *'services.app.secrets[0]: "nope" is not declared in the top-level secrets'* ]]
    printf 'services:\n  app:\n    image: bb:1\n    secrets: [s]\nsecrets:\n  s:\n    external: true\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$status" -ne 0 ]
    [[ "$output" == *"secrets.s.external: swarm's secrets are not supported"* ]]
    printf 'services:\n  app:\n    image: bb:1\n    secrets: [s]\nsecrets:\n  s:\n    environment: NR_TEST_UNSET_VAR\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$status" -ne 0 ]
    [[ "$output" == *"secrets.s.environment: the variable NR_TEST_UNSET_VAR is not set"* ]]
    printf 'services:\n  app:\n    image: bb:1\n    secrets: [s]\nsecrets:\n  s: {file: ./x, environment: NR_TEST_UNSET_VAR}\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$status" -ne 0 ]
    [[ "$output" == *"secrets.s: needs one source: file, environment"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "extends: a service of this file or of another (its relative paths its own), merged as -f files merge; depends_on not taken from the base; chains; a loop or a missing base is an error" {
    D=$BATS_TEST_TMPDIR/ext
    mkdir -p "$D/common/data"
    echo from-common-dir >"$D/common/data/f"
    cat >"$D/common/base.yml" <<'YAML'
services:
  base:
    image: bb:1
    environment:
      A: from-base
      B: base
    volumes:
      - ./data:/data:ro
    depends_on: [nowhere]
YAML
    cat >"$D/compose.yaml" <<'YAML'
services:
  web:
    extends:
      file: common/base.yml
      service: base
    environment:
      B: web
    command: ["sh", "-c", "echo $$A $$B; cat /data/f; sleep 100"]
  worker:
    extends: web
    command: ["sh", "-c", "echo worker $$A $$B; sleep 100"]
YAML
    run cmp config
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *nowhere* ]]
    [[ "$output" == *"source: $D/common/data"* ]]
    run cmp up -d
    echo "$output"
    [ "$status" -eq 0 ]
    for _ in $(seq 50); do "$NRUN" logs ext-web-1 2>&1 | grep -q from-common && break; sleep 0.1; done
    [ "$("$NRUN" logs ext-web-1 2>&1)" = "$(printf 'from-base web\nfrom-common-dir')" ]
    for _ in $(seq 50); do "$NRUN" logs ext-worker-1 2>&1 | grep -q worker && break; sleep 0.1; done
    [ "$("$NRUN" logs ext-worker-1 2>&1)" = "worker from-base web" ]
    cmp down >/dev/null 2>&1
    before=$(nr_tree_hash "$NRUN_ROOT")
    printf 'services:\n  a:\n    image: bb:1\n    extends: b\n  b:\n    image: bb:1\n    extends: a\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$status" -ne 0 ]
    [[ "$output" == *"compose.yaml: services."*".extends: more than 16 levels (a loop?)"* ]]
    printf 'services:\n  a:\n    extends: {service: base, file: common/base.yml}\n  c:\n    extends: nosuch\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$status" -ne 0 ]
    [[ "$output" == *"compose.yaml: services.c.extends: no service nosuch in $D/compose.yaml"* ]]
    printf 'services:\n  a:\n    extends: {service: base, file: gone.yml}\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$status" -ne 0 ]
    [[ "$output" == *"compose.yaml: services.a.extends.file: compose file $D/gone.yml: ENOENT"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "include: another file's services, networks and secrets join the project with their relative paths their directory's; a service defined twice is an error" {
    D=$BATS_TEST_TMPDIR/inc
    mkdir -p "$D/db/data"
    echo db-data >"$D/db/data/f"
    echo db-secret >"$D/db/pw.txt"
    cat >"$D/db/compose.yaml" <<'YAML'
services:
  db:
    image: bb:1
    command: ["sh", "-c", "cat /data/f /run/secrets/pw; sleep 100"]
    volumes: ["./data:/data:ro"]
    secrets: [pw]
secrets:
  pw:
    file: ./pw.txt
YAML
    cat >"$D/compose.yaml" <<'YAML'
include:
  - db/compose.yaml
services:
  web:
    image: bb:1
    command: ["sh", "-c", "echo web; sleep 100"]
YAML
    run cmp up -d
    echo "$output"
    [ "$status" -eq 0 ]
    for _ in $(seq 50); do "$NRUN" logs inc-db-1 2>&1 | grep -q db-secret && break; sleep 0.1; done
    [ "$("$NRUN" logs inc-db-1 2>&1)" = "$(printf 'db-data\ndb-secret')" ]
    [ "$("$NRUN" inspect -f '{{.State.Status}}' inc-web-1)" = running ]
    cmp down >/dev/null 2>&1
    printf 'include: [db/compose.yaml]\nservices:\n  db:\n    image: bb:1\n' >"$D/compose.yaml"
    run cmp config
    [ "$status" -ne 0 ]
    [[ "$output" == *"include $D/db/compose.yaml: service db is defined twice"* ]]
    printf 'include: [gone.yml]\nservices:\n  a:\n    image: bb:1\n' >"$D/compose.yaml"
    run cmp config
    [ "$status" -ne 0 ]
    [[ "$output" == *"compose.yaml: include[0]: compose file $D/gone.yml: ENOENT"* ]]
}

@test "networks' ipam subnet and gateway, internal; a service's ipv4_address on its first network and on another (connect --ip); a bad subnet is an error at its path, nothing made" {
    proj ipam
    cat >"$D/compose.yaml" <<'EOF2'
services:
  s:
    image: bb:1
    command: sleep 600
    networks:
      front: {ipv4_address: 172.29.0.5}
      back: {ipv4_address: 10.67.1.9}
networks:
  front:
    ipam:
      driver: default
      config:
        - {subnet: 172.29.0.0/16, gateway: 172.29.0.254, ip_range: 172.29.5.0/24}
        - {subnet: "fd00:1::/64"}
  back:
    internal: true
    attachable: true
    ipam: {config: [{subnet: 10.67.1.0/24}]}
EOF2
    run --separate-stderr cmp up -d
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"networks.front.ipam.config[0].ip_range: not supported by nrun, ignored"* ]]
    [[ "$stderr" != *attachable* && "$stderr" != *internal* && "$stderr" != *ipv4_address* ]]
    for _ in $(seq 50); do run "$NRUN" exec ipam-s-1 ip -4 -o addr; [[ "$output" == *10.67.1.9* ]] && break; sleep 0.1; done
    echo "$output"
    [[ "$output" == *"inet 172.29.0.5/16"* && "$output" == *"inet 10.67.1.9/24"* ]]
    run "$NRUN" network inspect ipam_front
    jq -e '.[0].IPAM.Config == [{"Subnet": "172.29.0.0/16", "Gateway": "172.29.0.254"}] and .[0].Internal == false' <<<"$output"
    [ "$("$NRUN" network inspect ipam_back | jq '.[0].Internal')" = true ]
    cmp down >/dev/null
    printf 'services:\n  s: {image: bb:1}\nnetworks:\n  n:\n    ipam: {config: [{subnet: 10.1.2.3}]}\n' >"$D/compose.yaml"
    run cmp up -d
    [ "$status" -eq 1 ]
    [ "$output" = 'nrun compose: networks.n.ipam.config[0].subnet: "10.1.2.3": expected an IPv4 subnet like 172.28.0.0/16' ]
    ! "$NRUN" network ls -q | grep -q ipam_ || false
}
