#!/usr/bin/env bats
# redis:* and postgres:* made here (images/node/db.sh, the recipe's os-redis
# and os-postgres modes; tag grammar in builder/base_db.c): Debian's
# redis-server and postgresql shaped as Docker's images, reproducible, and a
# compose project of a node app (rt_node_image, no npm client library: node's
# net module) with redis and postgres reached by service name, checked with
# the servers' own CLIs, a volume keeping the database across down/up and
# the init scripts run once; compose makes a missing redis:/postgres: image
# as `nrun base` does.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

digest_of() {
    jq -r --arg r "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' "$1/index.json"
}

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap)"
    command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed (make deps)"
    nr_make_root
    "$NR_REAL_NRUN" base redis:7-alpine >"$BATS_FILE_TMPDIR/redis.out" 2>&1
    "$NR_REAL_NRUN" base postgres:16 >"$BATS_FILE_TMPDIR/pg.out" 2>&1
    rt_node_image nd:1
}

teardown_file() {
    rt_rm_all
    for n in $("$NRUN" network ls -q 2>/dev/null); do
        case $n in bridge) ;; *) "$NRUN" network rm "$n" >/dev/null 2>&1 || true ;; esac
    done
    for v in $("$NRUN" volume ls -q 2>/dev/null); do "$NRUN" volume rm "$v" >/dev/null 2>&1 || true; done
    rt_assert_clean
    nr_remove_root
}

@test "redis and postgres tags resolve offline to Debian's packages, with a note; listed" {
    stable=$(sed -n 's/^DEBIAN_DIST_DEFAULT=//p' "$REPO/images/node/versions.txt")
    major=$(sed -n "s/^POSTGRES_MAJOR_${stable^^}=//p" "$REPO/images/node/versions.txt")
    run unshare --net "$NRUN" base --list redis redis:7 redis:7.2-alpine redis:alpine3.20 redis:bookworm \
        docker.io/library/redis:7 postgres postgres:16 postgres:15-alpine postgres:15-bookworm "postgres:$major"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "redis:latest redis:debian-$stable  # redis:latest: Debian $stable's redis-server package (its version: REDIS_VERSION in the image)" ]]
    [[ "${lines[1]}" == "redis:7 redis:debian-$stable  # "*", not redis 7" ]]
    [[ "${lines[2]}" == "redis:7.2-alpine redis:debian-$stable  # "*"not redis 7.2; Debian slim, glibc, not Alpine" ]]
    [[ "${lines[3]}" == "redis:alpine3.20 redis:debian-$stable  # "*"; Debian slim, glibc, not Alpine" ]]
    [[ "${lines[4]}" == "redis:bookworm redis:debian-bookworm  # "* ]]
    [[ "${lines[5]}" == "redis:7 redis:debian-$stable  # "* ]]
    [[ "${lines[6]}" == "postgres:latest postgres:debian-$stable  # postgres:latest: Debian $stable's PostgreSQL $major (PG_VERSION in the image)" ]]
    [[ "${lines[7]}" == "postgres:16 postgres:debian-$stable  # "*"PostgreSQL $major "*", not 16: a data directory of another major does not start with it" ]]
    # a major a suite packages is that suite's (a data directory of 15 needs 15)
    [[ "${lines[8]}" == "postgres:15-alpine postgres:debian-bookworm  # postgres:15-alpine: Debian bookworm's PostgreSQL 15 (PG_VERSION in the image); Debian slim, glibc, not Alpine" ]]
    [[ "${lines[9]}" == "postgres:15-bookworm postgres:debian-bookworm  # "*"Debian bookworm's PostgreSQL 15 (PG_VERSION in the image)" ]]
    [[ "${lines[10]}" != *"not $major"* ]]
    run "$NRUN" base --list
    [[ "$output" == *$'\n'"redis:7-alpine redis:debian-$stable  # "* ]]
    [[ "$output" == *$'\n'"postgres:16 postgres:debian-$stable  # "* ]]
}

@test "redis:7-alpine: Docker's redis image's shape on Debian's redis-server; a second make offline gives the same digest" {
    grep -q "Debian .*'s redis-server is " "$BATS_FILE_TMPDIR/redis.out"
    run skopeo inspect --config "oci:$NRUN_ROOT:redis:7-alpine"
    [ "$status" -eq 0 ]
    c=$output
    [ "$(jq -c .config.Cmd <<<"$c")" = '["redis-server"]' ]
    [ "$(jq -c .config.Entrypoint <<<"$c")" = '["docker-entrypoint.sh"]' ]
    [ "$(jq -r .config.WorkingDir <<<"$c")" = /data ]
    [ "$(jq -c '.config.Volumes | keys' <<<"$c")" = '["/data"]' ]
    [ "$(jq -c '.config.ExposedPorts | keys' <<<"$c")" = '["6379/tcp"]' ]
    v=$(jq -r '.config.Env[] | select(startswith("REDIS_VERSION=")) | sub("REDIS_VERSION="; "")' <<<"$c")
    [[ "$(jq -r '.config.Labels["io.nrun.base.debian"]' <<<"$c")" == *" redis-server=5:$v-"* ]]
    # FROM takes it too (another tag of the same image: tagged, nothing downloaded)
    c=$BATS_TEST_TMPDIR/c
    mkdir -p "$c"
    printf 'FROM redis:alpine3.20\nRUN redis-server --version >/version\n' >"$c/Nodefile"
    run nr_in_ns "$NBUILD" --progress=plain -t r:1 "$c"
    [ "$status" -eq 0 ]
    [[ "$(rt_run --rm r:1 cat /version)" == "Redis server v=$v "* ]]
    # (the Alpine tag is it with Alpine's busybox tools on top: build_alpine.bats)
    d1=$(digest_of "$NRUN_ROOT" "redis:debian-$(sed -n 's/^DEBIAN_DIST_DEFAULT=//p' "$REPO/images/node/versions.txt")")
    r2=$(mktemp -d /tmp/nrun-test.XXXXXX)
    # (Docker Hub's full name is the same image, as FROM and --list read it)
    NRUN_ROOT=$r2 NRUN_OFFLINE=1 run "$NR_REAL_NRUN" base docker.io/library/redis:7
    d2=$(digest_of "$r2" redis:7)
    rm -rf "$r2"
    [ "$status" -eq 0 ]
    [ -n "$d1" ] && [ "$d1" = "$d2" ]
}

@test "postgres:16: Docker's postgres image's shape on Debian's postgresql; a second make offline gives the same digest" {
    grep -q "Debian .*'s PostgreSQL is " "$BATS_FILE_TMPDIR/pg.out"
    run skopeo inspect --config "oci:$NRUN_ROOT:postgres:16"
    [ "$status" -eq 0 ]
    c=$output
    m=$(jq -r '.config.Env[] | select(startswith("PG_MAJOR=")) | sub("PG_MAJOR="; "")' <<<"$c")
    [[ "$m" =~ ^[0-9]+$ ]]
    [ "$(jq -c .config.Cmd <<<"$c")" = '["postgres"]' ]
    [ "$(jq -c .config.Entrypoint <<<"$c")" = '["docker-entrypoint.sh"]' ]
    [ "$(jq -r .config.StopSignal <<<"$c")" = SIGINT ]
    [ "$(jq -c '.config.Volumes | keys' <<<"$c")" = '["/var/lib/postgresql/data"]' ]
    [ "$(jq -c '.config.ExposedPorts | keys' <<<"$c")" = '["5432/tcp"]' ]
    jq -e --arg m "$m" '.config.Env | index("PGDATA=/var/lib/postgresql/data") and (.[0] | startswith("PATH=/usr/lib/postgresql/" + $m + "/bin:"))' <<<"$c"
    d1=$(digest_of "$NRUN_ROOT" postgres:16)
    r2=$(mktemp -d /tmp/nrun-test.XXXXXX)
    NRUN_ROOT=$r2 NRUN_OFFLINE=1 run "$NR_REAL_NRUN" base postgres:16
    d2=$(digest_of "$r2" postgres:16)
    rm -rf "$r2"
    [ "$status" -eq 0 ]
    [ -n "$d1" ] && [ "$d1" = "$d2" ]
}

@test "redis: redis-server --appendonly yes runs as the redis user in /data, on every address, protected mode off" {
    id=$(rt_run -d redis:7-alpine redis-server --appendonly yes)
    for _ in $(seq 100); do [ "$("$NRUN" exec "$id" redis-cli ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
    run "$NRUN" exec "$id" redis-cli config get appendonly
    [ "${lines[1]}" = yes ]
    run "$NRUN" exec "$id" redis-cli config get protected-mode
    [ "${lines[1]}" = no ]
    run "$NRUN" exec "$id" redis-cli config get bind
    [[ "${lines[1]}" == "*"* ]]
    run "$NRUN" exec "$id" sh -c 'for p in /proc/[0-9]*; do [ "$(cat $p/comm)" = redis-server ] && stat -c %U $p; done; stat -c %U /data/appendonlydir'
    [ "$output" = $'redis\nredis' ]
    # options alone are redis-server's
    v=$(skopeo inspect --config "oci:$NRUN_ROOT:redis:7-alpine" | jq -r '.config.Env[] | select(startswith("REDIS_VERSION=")) | sub("REDIS_VERSION="; "")')
    run rt_run --rm redis:7-alpine --version
    [[ "$output" == *"Redis server v=$v "* ]]
    "$NRUN" stop "$id" >/dev/null
}

@test "postgres: no POSTGRES_PASSWORD exits non-zero with one line in nrun logs; bad POSTGRES_HOST_AUTH_METHOD too" {
    id=$(rt_run -d postgres:16)
    for _ in $(seq 100); do [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.Status')" = exited ] && break; sleep 0.1; done
    [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.ExitCode')" != 0 ]
    run "$NRUN" logs "$id"
    [ "$(grep -c 'POSTGRES_PASSWORD' <<<"$output")" = 1 ]
    [[ "$output" == *"POSTGRES_PASSWORD is empty: set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust"* ]]
    id=$(rt_run -d -e POSTGRES_PASSWORD=x -e 'POSTGRES_HOST_AUTH_METHOD=trust
host all all all trust' postgres:16)
    for _ in $(seq 100); do [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.Status')" = exited ] && break; sleep 0.1; done
    [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.ExitCode')" != 0 ]
    run "$NRUN" logs "$id"
    [[ "$output" == *"POSTGRES_HOST_AUTH_METHOD must be trust, reject, scram-sha-256, md5 or password"* ]]
    id=$(rt_run -d -e POSTGRES_PASSWORD=x -e "POSTGRES_USER=$(printf 'u%.0s' $(seq 64))" postgres:16)
    for _ in $(seq 100); do [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.Status')" = exited ] && break; sleep 0.1; done
    [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.ExitCode')" != 0 ]
    run "$NRUN" logs "$id"
    [[ "$output" == *"POSTGRES_USER and POSTGRES_DB are at most 63 bytes"* ]]
    id=$(rt_run -d -e POSTGRES_PASSWORD=x -e "POSTGRES_USER=o'neil" postgres:16)
    for _ in $(seq 100); do [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.Status')" = exited ] && break; sleep 0.1; done
    run "$NRUN" logs "$id"
    [[ "$output" == *"POSTGRES_USER may not hold \", ', \$, \\, --, /* or */ (PostgreSQL refuses them"* ]]
}

@test "postgres: POSTGRES_USER and POSTGRES_DB with quotes and SQL in them are names, never SQL; trust without a password warns" {
    id=$(rt_run -d -e POSTGRES_HOST_AUTH_METHOD=trust -e "POSTGRES_USER=app; x" -e 'POSTGRES_DB=d"b; drop database postgres; --' \
        -e 'POSTGRES_INITDB_ARGS=--data-checksums -E UTF8' postgres:16)
    for _ in $(seq 200); do "$NRUN" exec "$id" pg_isready -q 2>/dev/null && break; sleep 0.1; done
    run "$NRUN" exec "$id" psql -U "app; x" -d 'd"b; drop database postgres; --' -tAc 'select current_database(), current_user'
    [ "$output" = "d\"b; drop database postgres; --|app; x" ]
    run "$NRUN" exec "$id" psql -U "app; x" -d postgres -tAc 'show data_checksums'
    [ "$output" = on ]
    run "$NRUN" logs "$id"
    [[ "$output" == *"POSTGRES_HOST_AUTH_METHOD=trust: every connection is let in without a password"* ]]
    # STOPSIGNAL SIGINT: postgres's fast shutdown
    "$NRUN" stop "$id" >/dev/null
    run "$NRUN" logs "$id"
    [[ "$output" == *"received fast shutdown request"* ]]
    [[ "$output" == *"database system is shut down"* ]]
}

@test "compose: a node app with redis and postgres by service name; psql and redis-cli from other services; the volume keeps the database across down/up; init scripts once" {
    D=$BATS_TEST_TMPDIR/shop
    mkdir -p "$D/app" "$D/initdb"
    cp "$REPO/tests/apps/compose-db.js" "$D/app/app.js"
    printf 'FROM nd:1\nCOPY app.js /app.js\nCMD ["node", "/app.js"]\n' >"$D/app/Dockerfile"
    printf 'create table items (name text);\ninsert into items values ($$from-init$$);\n' >"$D/initdb/01-schema.sql"
    printf '#!/bin/sh\necho "init ran as $(id -un) for $POSTGRES_DB" >>"$PGDATA/init-runs"\n' >"$D/initdb/02-note.sh"
    chmod +x "$D/initdb/02-note.sh"
    printf 'insert into items values ($$from-gz$$);\n' | gzip >"$D/initdb/03-more.sql.gz"
    printf 'echo "sourced with POSTGRES_USER=$POSTGRES_USER" >>"$PGDATA/init-runs"\n' >"$D/initdb/04-sourced.sh"
    echo 'not sql' >"$D/initdb/05-readme.txt"
    port=$(rt_free_port)
    cat >"$D/compose.yaml" <<EOF
services:
  web:
    build: ./app
    ports: ["127.0.0.1:$port:3000"]
    environment: {REDIS_HOST: redis, PGHOST: db}
    depends_on:
      redis: {condition: service_started}
      db: {condition: service_healthy}
  redis:
    image: redis:alpine
    command: ["redis-server", "--appendonly", "yes"]
  db:
    image: docker.io/library/postgres:16-alpine
    environment: {POSTGRES_USER: app, POSTGRES_PASSWORD: s3cret, POSTGRES_DB: shop}
    volumes: [pgdata:/var/lib/postgresql/data, ./initdb:/docker-entrypoint-initdb.d:ro]
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "app", "-d", "shop"]
      interval: 1s
      retries: 60
  pgcli:
    image: postgres:16
    profiles: [tools]
    environment: {PGPASSWORD: s3cret}
    entrypoint: ["psql", "-h", "db", "-U", "app", "-d", "shop", "-tA", "-c"]
  rcli:
    image: redis:7-alpine
    profiles: [tools]
    entrypoint: ["redis-cli", "-h", "redis"]
volumes:
  pgdata: {}
EOF
    cmp() { (cd "$D" && "$NRUN" compose "$@"); }
    run cmp up -d
    echo "$output"
    [ "$status" -eq 0 ]
    # images nbuild makes are made (here: tagged from the images setup_file made), not pulled
    [[ "$output" == *"Service redis  Making redis:alpine (nrun base)"* ]]
    [[ "$output" == *"Service db  Making docker.io/library/postgres:16-alpine (nrun base)"* ]]
    for _ in $(seq 150); do out=$(nr_in_ns curl -s --max-time 2 "http://127.0.0.1:$port/") && [[ "$out" == visits* ]] && break; sleep 0.1; done
    [ "$out" = "visits 1, postgres up" ]
    run nr_in_ns curl -s "http://127.0.0.1:$port/"
    [ "$output" = "visits 2, postgres up" ]
    run cmp run --rm rcli ping
    [ "$output" = PONG ]
    run cmp run --rm pgcli 'select 1'
    [ "$output" = 1 ]
    run cmp run --rm pgcli 'insert into items values ($$added$$); select string_agg(name, $$,$$ order by name) from items'
    [[ "$output" == *"added,from-gz,from-init"* ]]
    # wrong password: refused over TCP (host all all all scram-sha-256)
    run cmp run --rm -e PGPASSWORD=nope pgcli 'select 1'
    [ "$status" -ne 0 ]
    [[ "$output" == *"password authentication failed"* ]]
    run cmp down
    [ "$status" -eq 0 ]
    run cmp up -d --wait
    echo "$output"
    [ "$status" -eq 0 ]
    run cmp run --rm pgcli 'select string_agg(name, $$,$$ order by name) from items'
    [ "$output" = "added,from-gz,from-init" ]
    run cmp exec -T db cat /var/lib/postgresql/data/init-runs
    [ "$output" = $'init ran as postgres for shop\nsourced with POSTGRES_USER=app' ]
    run cmp logs db
    [ "$(grep -c 'running /docker-entrypoint-initdb.d/01-schema.sql' <<<"$output")" -le 1 ]
    run cmp down -v
    [ "$status" -eq 0 ]
}
