#!/usr/bin/env bats
# mysql:* and mariadb:* made here (images/node/db.sh, the recipe's os-mysql
# and os-mariadb modes; tag grammar in builder/base_db.c): Debian's MariaDB
# server shaped as Docker's mysql and mariadb images, reproducible, with our
# own entrypoint (root password choices, MYSQL_DATABASE, MYSQL_USER, init
# scripts once, names and passwords never pasted into SQL), and a compose
# project with a mysqladmin health check and a client service of the same
# image reaching the server by service name.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

digest_of() {
    jq -r --arg r "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' "$1/index.json"
}

# wait until container $1 answers mysqladmin ping on its socket
wait_up() {
    for _ in $(seq 240); do
        "$NRUN" exec "$1" mysqladmin ping -h localhost >/dev/null 2>&1 && return 0
        [ "$("$NRUN" inspect "$1" | jq -r '.[0].State.Status')" = running ] || break
        sleep 0.25
    done
    "$NRUN" logs "$1" >&2
    return 1
}

wait_exited() {
    for _ in $(seq 100); do
        [ "$("$NRUN" inspect "$1" | jq -r '.[0].State.Status')" = exited ] && return 0
        sleep 0.1
    done
    return 1
}

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap)"
    command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed (make deps)"
    nr_make_root
    if ! "$NR_REAL_NRUN" base mysql:8 >"$BATS_FILE_TMPDIR/mysql.out" 2>&1 ||
        ! "$NR_REAL_NRUN" base mariadb:11 >"$BATS_FILE_TMPDIR/mariadb.out" 2>&1; then
        tail -n 5 "$BATS_FILE_TMPDIR"/*.out >&2
        return 1
    fi
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

@test "mysql and mariadb tags resolve offline to Debian's MariaDB, with an honest note; listed" {
    stable=$(sed -n 's/^DEBIAN_DIST_DEFAULT=//p' "$REPO/images/node/versions.txt")
    series=$(sed -n "s/^MARIADB_MAJOR_${stable^^}=//p" "$REPO/images/node/versions.txt")
    run unshare --net "$NRUN" base --list mysql mysql:8 mysql:8.0-oracle mysql:8.0-bookworm docker.io/library/mysql:lts \
        mariadb mariadb:11-noble "mariadb:$series" mariadb:10.6 mariadb:10.11-bookworm
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "mysql:latest mysql:debian-$stable  # mysql:latest: MariaDB $series from Debian $stable (MARIADB_VERSION in the image), not MySQL: wire-compatible for most clients; "* ]]
    [[ "${lines[1]}" == "mysql:8 mysql:debian-$stable  # "*", not MySQL 8: "* ]]
    [[ "${lines[2]}" == "mysql:8.0-oracle mysql:debian-$stable  # "*"not MySQL 8.0: "*"; Debian, not Oracle Linux" ]]
    [[ "${lines[3]}" == "mysql:8.0-bookworm mysql:debian-bookworm  # mysql:8.0-bookworm: MariaDB 10.11 from Debian bookworm "* ]]
    [[ "${lines[4]}" == "mysql:lts mysql:debian-$stable  # "* ]]
    [[ "${lines[5]}" == "mariadb:latest mariadb:debian-$stable  # mariadb:latest: Debian $stable's MariaDB $series (MARIADB_VERSION in the image)" ]]
    [[ "${lines[6]}" == "mariadb:11-noble mariadb:debian-$stable  # "*"; Debian, not Ubuntu or UBI" ]]
    [[ "${lines[7]}" != *"not"* ]]
    [[ "${lines[8]}" == "mariadb:10.6 mariadb:debian-$stable  # "*", not 10.6: "* ]]
    [[ "${lines[9]}" == "mariadb:10.11-bookworm mariadb:debian-bookworm  # mariadb:10.11-bookworm: Debian bookworm's MariaDB 10.11 (MARIADB_VERSION in the image)" ]]
    run "$NRUN" base --list
    [[ "$output" == *$'\n'"mysql:8 mysql:debian-$stable  # "* ]]
    [[ "$output" == *$'\n'"mariadb:11 mariadb:debian-$stable  # "* ]]
    # a tag of no shape Docker has: one line naming the ref, at file:line:col for FROM
    run unshare --net "$NRUN" base mysql:8-alpine
    [ "$status" -ne 0 ]
    [ "$output" = "nrun: base: unknown base image (see nrun base --list): mysql:8-alpine: unknown variant (oracle, oraclelinux9, debian, bookworm, trixie)" ]
    d=$BATS_TEST_TMPDIR/c
    mkdir -p "$d"
    printf 'FROM alpine:3.19\n\nFROM  mariadb:eleven\n' >"$d/Nodefile"
    run unshare --net "$NBUILD" -t bad:1 "$d"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:7: unknown base image mariadb:eleven: not a version (latest, lts, 11, 10.11, 11.8.2)"* ]]
}

@test "mysql:8: Docker's mysql image's shape on Debian's MariaDB; mariadb:11 the same with mariadbd; a second make offline gives the same digest" {
    grep -q "Debian .*'s MariaDB is " "$BATS_FILE_TMPDIR/mysql.out"
    grep -q "base: mysql:8: MariaDB .* not MySQL 8: wire-compatible for most clients" "$BATS_FILE_TMPDIR/mysql.out"
    for img in mysql:8 mariadb:11; do
        run skopeo inspect --config "oci:$NRUN_ROOT:$img"
        [ "$status" -eq 0 ]
        c=$output
        [ "$(jq -c .config.Entrypoint <<<"$c")" = '["docker-entrypoint.sh"]' ]
        [ "$(jq -c '.config.Volumes | keys' <<<"$c")" = '["/var/lib/mysql"]' ]
        [ "$(jq -c '.config.ExposedPorts | keys' <<<"$c")" = '["3306/tcp"]' ]
        v=$(jq -r '.config.Env[] | select(startswith("MARIADB_VERSION=")) | sub("MARIADB_VERSION="; "")' <<<"$c")
        [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]
        [[ "$(jq -r '.config.Labels["io.nrun.base.debian"]' <<<"$c")" == *" mariadb-server=1:$v"* ]]
    done
    [ "$(skopeo inspect --config "oci:$NRUN_ROOT:mysql:8" | jq -c .config.Cmd)" = '["mysqld"]' ]
    [ "$(skopeo inspect --config "oci:$NRUN_ROOT:mariadb:11" | jq -c .config.Cmd)" = '["mariadbd"]' ]
    # the clients, by both names; no database in the image
    run rt_run --rm mysql:8 sh -c 'mysql --version && mysqladmin --version && mariadb-admin --version && ls -A /var/lib/mysql && stat -c %U /var/lib/mysql'
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == *"MariaDB"* ]]
    [ "${lines[3]}" = mysql ]
    # FROM takes it too (another tag of the same image: tagged, nothing downloaded)
    c=$BATS_TEST_TMPDIR/c
    mkdir -p "$c"
    printf 'FROM mysql:8.0-oracle\nRUN mysqld --version >/version\n' >"$c/Nodefile"
    run nr_in_ns "$NBUILD" --progress=plain -t m:1 "$c"
    [ "$status" -eq 0 ]
    [[ "$output" == *"not MySQL 8.0: "*"; Debian, not Oracle Linux"* ]]
    [[ "$(rt_run --rm m:1 cat /version)" == *"Ver $v-MariaDB"* ]]
    d1=$(digest_of "$NRUN_ROOT" mysql:8)
    r2=$(mktemp -d /tmp/nrun-test.XXXXXX)
    NRUN_ROOT=$r2 NRUN_OFFLINE=1 run "$NR_REAL_NRUN" base mysql:8
    d2=$(digest_of "$r2" mysql:8)
    rm -rf "$r2"
    [ "$status" -eq 0 ]
    [ -n "$d1" ] && [ "$d1" = "$d2" ]
}

@test "mysql: no root password choice exits 1 with one line in nrun logs; MYSQL_USER=root refused" {
    id=$(rt_run -d -e MYSQL_DATABASE=x mysql:8)
    wait_exited "$id"
    [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.ExitCode')" = 1 ]
    run "$NRUN" logs "$id"
    [ "$(grep -c 'password option is not specified' <<<"$output")" = 1 ]
    [[ "$output" == *"mariadb entrypoint: error: database is uninitialized and password option is not specified: set MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD=yes or MYSQL_RANDOM_ROOT_PASSWORD=yes"* ]]
    [[ "$output" != *"mariadb-install-db"* ]]
    id=$(rt_run -d -e MYSQL_ROOT_PASSWORD=x -e MYSQL_USER=root -e MYSQL_PASSWORD=y mysql:8)
    wait_exited "$id"
    run "$NRUN" logs "$id"
    [[ "$output" == *"MYSQL_USER=root: MYSQL_USER and MYSQL_PASSWORD make another user"* ]]
}

@test "mysql: passwords and names with quotes, spaces, backslashes and SQL stay values; mysqld options pass through; runs as mysql on every address" {
    pw=$'p\'a "s\\ w;-- \\\\ `$(id)` o\'\'rd\\'
    user=$'o\'neil `x` \\'
    db=$'d_b\'`x"; drop database mysql; --'
    id=$(rt_run -d -e "MYSQL_ROOT_PASSWORD=$pw" -e "MARIADB_DATABASE=$db" -e "MYSQL_USER=$user" -e "MYSQL_PASSWORD=$pw" \
        mysql:8 --character-set-server=latin1 --max-connections=77)
    wait_up "$id"
    run "$NRUN" exec "$id" mysql -h 127.0.0.1 -u "$user" -p"$pw" "$db" --raw -N \
        -e 'select current_user(), database(), @@character_set_server, @@max_connections'
    [ "$status" -eq 0 ]
    [ "$output" = "$user@%	$db	latin1	77" ]
    run "$NRUN" exec "$id" mysql -h 127.0.0.1 -uroot -p"$pw" -N -e 'select current_user(), count(*) from mysql.db'
    [ "$output" = "root@%	1" ]
    # the grant is the database's own, not a pattern (_ is a wildcard in GRANT)
    run "$NRUN" exec "$id" mysql --raw -N -e 'select Db from mysql.db'
    [ "$output" = "d\\_b'\`x\"; drop database mysql; --" ]
    run "$NRUN" exec "$id" mysql -h 127.0.0.1 -uroot -pwrong -e 'select 1'
    [ "$status" -ne 0 ]
    [[ "$output" == *"Access denied"* ]]
    run "$NRUN" exec "$id" sh -c 'for p in /proc/[0-9]*; do case $(cat $p/comm) in mysqld|mariadbd) stat -c %U $p ;; esac; done'
    [ "$output" = mysql ]
    run "$NRUN" exec "$id" mysql -N -e 'select @@bind_address is null, @@port, @@skip_name_resolve'
    [ "$output" = "1	3306	1" ]
    # random root password: printed once, and the only way in over TCP
    id2=$(rt_run -d -e MYSQL_RANDOM_ROOT_PASSWORD=yes mysql:8)
    wait_up "$id2"
    gen=$("$NRUN" logs "$id2" 2>&1 | sed -n 's/^mariadb entrypoint: GENERATED ROOT PASSWORD: //p')
    [ "${#gen}" -ge 24 ]
    run "$NRUN" exec "$id2" mysql -h 127.0.0.1 -uroot -p"$gen" -N -e 'select 1'
    [ "$output" = 1 ]
    "$NRUN" stop "$id" "$id2" >/dev/null
    run "$NRUN" logs "$id"
    [[ "$output" == *"Shutdown complete"* ]]
}

@test "compose: mysql:8 with MYSQL_* env, an initdb.d .sql, a mysqladmin health check; a client of the same image queries it by name after service_healthy; the volume keeps it across down/up, init scripts once" {
    D=$BATS_TEST_TMPDIR/shop
    mkdir -p "$D/initdb"
    printf 'create table items (name varchar(40));\ninsert into items values ("from-init");\n' >"$D/initdb/01-schema.sql"
    printf 'insert into items values ("from-gz");\n' | gzip >"$D/initdb/02-more.sql.gz"
    printf 'echo "init ran as $(id -un) for $MYSQL_DATABASE" >>/var/lib/mysql/init-runs\nmysql -uroot -p"$MYSQL_ROOT_PASSWORD" -e "insert into items values (\\"from-sh\\")" "$MYSQL_DATABASE"\n' >"$D/initdb/03-note.sh"
    echo 'not sql' >"$D/initdb/04-readme.txt"
    cat >"$D/compose.yaml" <<'EOF'
services:
  db:
    image: docker.io/library/mysql:8.0
    command: --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
    environment:
      MYSQL_ROOT_PASSWORD: r00t
      MYSQL_DATABASE: shop
      MYSQL_USER: app
      MYSQL_PASSWORD: 'it''s a "pass" \ word'
    volumes: [dbdata:/var/lib/mysql, ./initdb:/docker-entrypoint-initdb.d:ro]
    healthcheck:
      test: mysqladmin ping -h localhost
      interval: 1s
      retries: 120
  report:
    image: mysql:8
    depends_on:
      db: {condition: service_healthy}
    command: ["mysql", "-h", "db", "-u", "app", "-pit's a \"pass\" \\ word", "shop", "-N", "-e",
              "select group_concat(name order by name), @@character_set_server from items"]
  cli:
    image: mysql:8
    profiles: [tools]
    entrypoint: ["mysql", "-h", "db", "-u", "app", "-pit's a \"pass\" \\ word", "shop", "-N", "-e"]
volumes:
  dbdata: {}
EOF
    cmp() { (cd "$D" && "$NRUN" compose "$@"); }
    run cmp up -d
    echo "$output"
    [ "$status" -eq 0 ]
    # made here (tagged from the image setup_file made), not pulled
    [[ "$output" == *"Service db  Making docker.io/library/mysql:8.0 (nrun base)"* ]]
    # report started once db was healthy: its query found the init scripts' rows
    for _ in $(seq 100); do
        [ "$("$NRUN" inspect shop-report-1 | jq -r '.[0].State.Status')" = exited ] && break
        sleep 0.2
    done
    [ "$("$NRUN" inspect shop-report-1 | jq -r '.[0].State.ExitCode')" = 0 ]
    run cmp logs report
    [[ "$output" == *"from-gz,from-init,from-sh	utf8mb4"* ]]
    [ "$("$NRUN" inspect shop-db-1 | jq -r '.[0].State.Health.Status')" = healthy ]
    run cmp run --rm cli 'insert into items values ("added"); select count(*) from items'
    [ "$output" = 4 ]
    run cmp down
    [ "$status" -eq 0 ]
    run cmp up -d --wait db
    echo "$output"
    [ "$status" -eq 0 ]
    run cmp run --rm cli 'select group_concat(name order by name) from items'
    [ "$output" = "added,from-gz,from-init,from-sh" ]
    run cmp exec -T db cat /var/lib/mysql/init-runs
    [ "$output" = "init ran as mysql for shop" ]
    run cmp logs db
    [[ "$output" != *"running /docker-entrypoint-initdb.d/01-schema.sql"* ]]
    [[ "$output" != *"initializing"* ]]
    run cmp down -v
    [ "$status" -eq 0 ]
}

@test "mariadb:11: MARIADB_* settings, _FILE secrets, an empty root password; healthcheck.sh --connect --innodb_initialized as in Docker's mariadb image" {
    printf 'file pass\n' >"$BATS_TEST_TMPDIR/pw"
    id=$(rt_run -d -e MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1 -e MARIADB_USER=u -e MARIADB_PASSWORD_FILE=/run/pw \
        -e MYSQL_DATABASE=d -v "$BATS_TEST_TMPDIR/pw:/run/pw:ro" mariadb:11)
    wait_up "$id"
    run "$NRUN" exec "$id" healthcheck.sh --connect --innodb_initialized --innodb_buffer_pool_loaded
    [ "$status" -eq 0 ]
    run "$NRUN" exec "$id" healthcheck.sh --galera_online
    [ "$status" -eq 2 ]
    [[ "$output" == *"--galera_online is not a test nrun's image has"* ]]
    run "$NRUN" exec "$id" mariadb -h 127.0.0.1 -u u -p'file pass' d -N -e 'select current_user(), database()'
    [ "$output" = "u@%	d" ]
    run "$NRUN" exec "$id" mariadb -h 127.0.0.1 -u root -N -e 'select current_user()'
    [ "$output" = "root@%" ]
    # both spellings of one setting, or a value and its file: refused
    id=$(rt_run -d -e MYSQL_ROOT_PASSWORD=a -e MYSQL_ROOT_PASSWORD_FILE=/etc/hostname mariadb:11)
    wait_exited "$id"
    run "$NRUN" logs "$id"
    [[ "$output" == *"both MYSQL_ROOT_PASSWORD and MYSQL_ROOT_PASSWORD_FILE are set: set one"* ]]
    "$NRUN" rm -f "$id" >/dev/null
}
