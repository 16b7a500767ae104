#!/usr/bin/env bats
# Red-team round 6: what a compose file (and its .env) from a cloned
# repository can make nrun compose do that its user did not write, and the
# entrypoints of the redis, postgres and nginx images nbuild makes.
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
    rt_file_teardown
}

bounded() { sec_bounded 20 "$@"; }

@test "image: is a reference, never a flag of nrun run (--device=, which compose's devices: does not pass, is refused)" {
    d=$BATS_TEST_TMPDIR/inj
    mkdir -p "$d"
    printf 'services:\n  s:\n    image: "--device=/dev/kmsg:/dev/hostkmsg"\n    command: ["bb:1", "ls", "/dev/hostkmsg"]\n' \
        >"$d/compose.yaml"
    before=$(nr_tree_hash "$NRUN_ROOT")
    for verb in "run --rm -T s" "up -d" "config"; do
        # shellcheck disable=SC2086 # the verb's words
        run "$NRUN" compose --project-directory "$d" -f "$d/compose.yaml" $verb
        echo "$output"
        [ "$status" -ne 0 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *'services.s.image: invalid reference format "--device=/dev/kmsg:/dev/hostkmsg"'* ]]
        [[ "$output" != */dev/hostkmsg$'\n'* ]]
    done
    [ -z "$("$NRUN" ps -aq)" ]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

# nrun compose -f FILE config: refused with one line containing $2, within
# sec_bounded's memory, the store unchanged
refused() {
    local file=$1 want=$2 before
    before=$(nr_tree_hash "$NRUN_ROOT")
    run bounded "$NRUN" compose -p probe --project-directory "$(dirname "$file")" -f "$file" config
    echo "$output" | cut -c1-300
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { echo "exit $status"; return 1; }
    [ "${#lines[@]}" -eq 1 ] || { echo "more than one line"; return 1; }
    [[ "$output" == *"$want"* ]] || { echo "expected: $want"; return 1; }
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ] || { echo "the store changed"; return 1; }
}

@test "few nodes, huge values: a big scalar aliased many times, or \$X\$X... with a big X in .env, is refused at its line in bounded memory" {
    d=$BATS_TEST_TMPDIR/amp
    mkdir -p "$d"
    # 2 MB once, 300 aliases: 600 MB of strings from a 2 MB file (the node count is 302)
    {
        printf 'x-a: &a "'; head -c 2000000 /dev/zero | tr '\0' 'A'; printf '"\n'
        printf 'x-b: ['; for _ in $(seq 299); do printf '*a,'; done; printf '*a]\n'
        printf 'services: {s: {image: bb:1}}\n'
    } >"$d/alias.yaml"
    refused "$d/alias.yaml" "alias.yaml:2:"
    [[ "$output" == *"MiB of values (aliases and \${} expanded): refused"* ]]
    # a 1 MB .env value interpolated 1000 times: 1 GB from a 2 KB compose file
    { printf 'X='; head -c 1000000 /dev/zero | tr '\0' 'B'; echo; } >"$d/.env"
    { printf 'x-a: "'; for _ in $(seq 1000); do printf '$X'; done; printf '"\nservices: {s: {image: bb:1}}\n'; } \
        >"$d/interp.yaml"
    refused "$d/interp.yaml" "interp.yaml:1:6: more than"
    # what real files do with anchors and .env still reads
    printf 'X=hello\n' >"$d/.env"
    printf 'x-e: &e {A: "$X", B: "${X:-d}"}\nservices: {s: {image: bb:1, environment: *e}, t: {image: bb:1, environment: *e}}\n' \
        >"$d/ok.yaml"
    run "$NRUN" compose -p probe --project-directory "$d" -f "$d/ok.yaml" config --format json
    [ "$status" -eq 0 ]
    [[ "$output" == *'"A": "hello"'* ]]
}

@test "a compose file that is a link to a file of secrets (/etc/shadow): no line of it reaches the error text" {
    d=$BATS_TEST_TMPDIR/shadowlink
    mkdir -p "$d"
    printf 'root:$y$j9T$SECRETSALT$SECRETHASH:19000:0:99999:7:::\nnode:$6$5ALT5ECRET$H4SH5ECRET:19000:0:99999:7:::\n' \
        >"$BATS_TEST_TMPDIR/shadow"
    ln -s "$BATS_TEST_TMPDIR/shadow" "$d/compose.yaml"
    refused "$d/compose.yaml" "compose.yaml:1:1: not a compose file"
    [[ "$output" != *SECRET* && "$output" != *root* && "$output" != *'$y$'* ]]
    # an interpolation error shows where, and a variable's name at most, never the text
    printf 'services:\n  s:\n    image: bb:1\n    command: ["x$6$5ALT5ECRET$H4SH5ECRET"]\n' >"$d/c2.yaml"
    refused "$d/c2.yaml" "c2.yaml:4:15: invalid interpolation: a \$ followed by neither a name nor {"
    [[ "$output" != *SECRET* ]]
    printf 'services:\n  s:\n    image: bb:1\n    command: ["${SECRET/5ALT5ECRET}"]\n' >"$d/c3.yaml"
    refused "$d/c3.yaml" "c3.yaml:4:15: invalid interpolation in \${SECRET...}"
    [[ "$output" != *5ALT* ]]
}

# make_base REF: REF made in this file's store as `nrun base` makes it (the
# host's network, for Debian's archive; the cache makes it quick), in a mount
# namespace whose /run is an empty tmpfs: what the make wrote there (through
# the rootfs's var/run -> /run, say) is listed in "$BATS_FILE_TMPDIR/run.REF"
# instead of landing in the host's /run.
make_base() {
    local ref=$1 out=$BATS_FILE_TMPDIR/base.$1.out
    [ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap)"
    command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed (make deps)"
    "$NRUN" image inspect "$ref" >/dev/null 2>&1 && return
    unshare -m sh -c 'mount -t tmpfs -o mode=0755 rt6run /run && "$0" base "$1" >"$2" 2>&1; rc=$?
        find /run -mindepth 1 -printf "%P %m %u\n" >"$3"; exit $rc' \
        "$NR_REAL_NRUN" "$ref" "$out" "$BATS_FILE_TMPDIR/run.$ref" || { tail -5 "$out"; return 1; }
}
need_postgres() { make_base postgres:16; }

@test "making postgres, nginx and redis writes nothing outside the rootfs (var/run -> /run is the host's /run there); the image has /var/run/postgresql" {
    for ref in postgres:16 nginx:latest redis:7; do
        make_base "$ref"
        echo "$ref: $(cat "$BATS_FILE_TMPDIR/run.$ref")"
        [ ! -s "$BATS_FILE_TMPDIR/run.$ref" ]
    done
    run "$NRUN" run --rm --network none postgres:16 stat -c '%a %U:%G' /var/run/postgresql
    [ "$output" = "3777 postgres:postgres" ]
}

@test "postgres: an init script that is sourced runs as Docker's entrypoint runs it (bash, no -u, docker_process_sql)" {
    need_postgres
    d=$BATS_TEST_TMPDIR/init
    mkdir -p "$d"
    # not executable: sourced.  bash's function keyword and arrays, a variable nobody set
    cat >"$d/10-multi.sh" <<'EOF2'
function make_db() { docker_process_sql <<<"CREATE TABLE \"$1\" (n int);"; }
if [ -n "$POSTGRES_MULTIPLE_DATABASES" ]; then echo never; fi
tables=(alpha beta)
for t in "${tables[@]}"; do make_db "$t"; done
EOF2
    chmod 0644 "$d/10-multi.sh"
    id=$(rt_run -d -e POSTGRES_PASSWORD=x -e POSTGRES_DB=shop -v "$d:/docker-entrypoint-initdb.d:ro" postgres:16)
    for _ in $(seq 150); do
        "$NRUN" logs "$id" 2>&1 | grep -q 'database initialized; starting postgres' && break
        [ "$("$NRUN" inspect -f '{{.State.Running}}' "$id")" = true ] || break
        sleep 0.2
    done
    run "$NRUN" logs "$id"
    echo "$output" | tail -5
    [[ "$output" == *"database initialized; starting postgres"* ]]
    for _ in $(seq 50); do "$NRUN" exec "$id" pg_isready -q && break; sleep 0.2; done
    run "$NRUN" exec "$id" psql -U postgres -d shop -tAc "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public'"
    [ "$output" = "alpha,beta" ]
}

@test "postgres: POSTGRES_DB with = and quotes, a password with quotes and \$(...), init files named with spaces, quotes and a newline, TMPDIR elsewhere: init runs" {
    need_postgres
    d=$BATS_TEST_TMPDIR/init2
    mkdir -p "$d"
    printf 'create table "t one" (n int);\n' >"$d/01 it's here.sql"
    printf 'create table t2 (n int);\n' >"$d/02-a"$'\n'"b.sql"
    pw='it'"'"'s a "p\w" $(id) -x'
    # psql reads a --dbname with '=' as a connection string: "shop host=elsewhere" would send the
    # init scripts (and PGPASSWORD) to another server
    id=$(rt_run -d -e "POSTGRES_PASSWORD=$pw" -e "POSTGRES_DB=my=db na'me\\x host=192.0.2.1" -e POSTGRES_USER=app \
        -e TMPDIR=/nonexistent -v "$d:/docker-entrypoint-initdb.d:ro" postgres:16)
    for _ in $(seq 150); do
        "$NRUN" logs "$id" 2>&1 | grep -q 'database initialized; starting postgres' && break
        [ "$("$NRUN" inspect -f '{{.State.Running}}' "$id")" = true ] || break
        sleep 0.2
    done
    run "$NRUN" logs "$id"
    echo "$output" | grep -v '^20' | tail -5
    [[ "$output" == *"database initialized; starting postgres"* ]]
    for _ in $(seq 50); do "$NRUN" exec "$id" pg_isready -q && break; sleep 0.2; done
    run "$NRUN" exec "$id" psql -U app -d postgres -tAc "select datname from pg_database where datname like 'my=%'"
    [ "$output" = "my=db na'me\\x host=192.0.2.1" ]
    run "$NRUN" exec "$id" psql -U app -d "dbname='my=db na\\'me\\\\x host=192.0.2.1'" -tAc \
        "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public'"
    [ "$output" = "t one,t2" ]
    # the password, over TCP (not the trusted loopback address)
    run "$NRUN" exec -e "PGPASSWORD=$pw" "$id" psql -h 127.0.0.2 -U app -d postgres -tAc 'select 1'
    [ "$output" = 1 ]
}

@test "nginx templates: only variables of the environment are substituted (not names inside a value's lines), NGINX_ENVSUBST_FILTER honoured" {
    make_base nginx:latest
    d=$BATS_TEST_TMPDIR/tpl
    mkdir -p "$d"
    printf 'server { listen ${PORT}; location / { return 200 "${uri} ${host}"; } }\n' >"$d/site.conf.template"
    conf() {
        local id=$1
        for _ in $(seq 50); do "$NRUN" exec "$id" test -s /etc/nginx/conf.d/site.conf 2>/dev/null && break; sleep 0.2; done
        run "$NRUN" exec "$id" cat /etc/nginx/conf.d/site.conf
        echo "$output"
    }
    # ${uri} and ${host} are nginx's: FOO's value has lines "uri=1" and "host=2", which are no variables
    id=$(rt_run -d -e PORT=8080 -e "FOO=$(printf 'x\nuri=1\nhost=2')" -v "$d:/etc/nginx/templates:ro" nginx:latest)
    conf "$id"
    [ "$output" = 'server { listen 8080; location / { return 200 "${uri} ${host}"; } }' ]
    # a variable named host is substituted, unless the filter leaves it out
    id=$(rt_run -d -e PORT=8081 -e host=h -v "$d:/etc/nginx/templates:ro" nginx:latest)
    conf "$id"
    [ "$output" = 'server { listen 8081; location / { return 200 "${uri} h"; } }' ]
    id=$(rt_run -d -e PORT=8082 -e host=h -e 'NGINX_ENVSUBST_FILTER=^PORT$' -v "$d:/etc/nginx/templates:ro" nginx:latest)
    conf "$id"
    [ "$output" = 'server { listen 8082; location / { return 200 "${uri} ${host}"; } }' ]
}

@test "a compose file's build.dockerfile naming a file of secrets: the build fails without printing its first line" {
    d=$BATS_TEST_TMPDIR/dfleak
    mkdir -p "$d"
    printf 'root:$y$j9T$SECRETSALT$SECRETHASH:19000:0:99999:7:::\n' >"$BATS_TEST_TMPDIR/shadow"
    printf 'services:\n  s:\n    image: leak:1\n    build: {context: ., dockerfile: %s}\n' "$BATS_TEST_TMPDIR/shadow" \
        >"$d/compose.yaml"
    run "$NRUN" compose --project-directory "$d" -f "$d/compose.yaml" build
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"shadow:1:1: unknown instruction (the line does not start with a word of letters; not shown)"* ]]
    [[ "$output" != *SECRET* && "$output" != *'$y$'* ]]
    # a misspelt instruction is still named
    printf 'FROM bb:1\nFROBNICATE x\n' >"$d/Dockerfile"
    run "$NRUN" build "$d"
    [[ "$output" == *"Dockerfile:2:1: unknown instruction: FROBNICATE"* ]]
}

@test "redis-server with a config file: reachable from other containers as with Docker's image (protected mode off unless the file sets it)" {
    make_base redis:7
    d=$BATS_TEST_TMPDIR/rconf
    mkdir -p "$d"
    printf 'appendonly yes\n' >"$d/redis.conf"
    printf 'appendonly yes\nprotected-mode yes\n' >"$d/strict.conf"
    id=$(rt_run -d -v "$d:/usr/local/etc/redis:ro" redis:7 redis-server /usr/local/etc/redis/redis.conf)
    for _ in $(seq 50); do "$NRUN" exec "$id" redis-cli ping 2>/dev/null | grep -q PONG && break; sleep 0.2; done
    ip=$("$NRUN" exec "$id" hostname -i | awk '{print $1}')
    run "$NRUN" run --rm redis:7 redis-cli -h "$ip" ping
    echo "$output" | cut -c1-120
    [ "$output" = PONG ]
    run "$NRUN" exec "$id" redis-cli config get appendonly
    [ "${lines[1]}" = yes ]
    # the file's own protected-mode line is kept
    id=$(rt_run -d -v "$d:/usr/local/etc/redis:ro" redis:7 redis-server /usr/local/etc/redis/strict.conf)
    for _ in $(seq 50); do "$NRUN" exec "$id" redis-cli ping 2>/dev/null | grep -q PONG && break; sleep 0.2; done
    run "$NRUN" exec "$id" redis-cli config get protected-mode
    [ "${lines[1]}" = yes ]
}
