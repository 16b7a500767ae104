# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # sets and reads mkdebian.sh's variables
# Sourced by mkdebian.sh for redis:* and postgres:* (flavours os-redis and
# os-postgres): a Debian slim rootfs with Debian's redis-server or
# postgresql, shaped as Docker's official redis and postgres images.  The
# servers are Debian's; the entrypoints are our own.
#   db_packages SVC       the Debian packages to install
#   SVC_setup ROOTFS      dirs, entrypoint (/usr/local/bin/docker-entrypoint.sh)
#   SVC_config ROOTFS     envs, labels, image_cmd_json, image_extra_json,
#                         entry, cmd_by and svc_steps for mkdebian.sh

db_packages() {
    case $1 in
    redis) echo redis-server redis-tools ;;
    postgres) echo postgresql postgresql-client ;;
    *) die "no such service image '$1'" ;;
    esac
}

# The upstream version of an installed package: 5:7.0.15-1~deb12u10 -> 7.0.15.
db_version() {
    dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Version}' "$2" | sed 's/^[0-9]*://; s/-[^-]*$//; s/[~+].*$//'
}

db_user_ok() {
    grep -q "^$2:" "$1/etc/passwd" || die "Debian's package did not make the $2 user"
}

redis_setup() {
    local r=$1
    [ -x "$r/usr/bin/redis-server" ] || die "Debian's redis-server package did not install /usr/bin/redis-server"
    [ -x "$r/usr/bin/setpriv" ] || die "setpriv (util-linux) is missing from the rootfs"
    db_user_ok "$r" redis
    rootfs_nolink "$r" data usr/local/bin/docker-entrypoint.sh
    mkdir -p "$r/data" "$r/usr/local/bin"
    chown "$(awk -F: '$1 == "redis" {print $3 ":" $4}' "$r/etc/passwd")" "$r/data"
    chmod 0755 "$r/data"
    cat >"$r/usr/local/bin/docker-entrypoint.sh" <<'X'
#!/bin/sh
# nrun's redis image (Debian's redis-server).  Options alone
# (`--appendonly yes`) or a config file run redis-server with them.
# redis-server listens on every address of the container with protected
# mode off unless the arguments or the config file set it, as Docker's
# redis image does (it builds redis with that default): the container's
# network is the boundary.  Run as root in /data, it gives /data to the
# redis user; it runs redis-server as that user.
set -e
case ${1:-} in
-* | *.conf) set -- redis-server "$@" ;;
esac
if [ "${1:-}" = redis-server ]; then
    pm=
    for a in "$@"; do [ "$a" != --protected-mode ] || pm=1; done
    # redis-server FILE ...: a protected-mode line of the file wins (options after it would not)
    case ${2:-} in
    -* | '') ;;
    *) [ ! -r "$2" ] || ! grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$2" || pm=1 ;;
    esac
    [ -n "$pm" ] || set -- "$@" --protected-mode no
    if [ "$(id -u)" = 0 ]; then
        # (only /data: a command run elsewhere must not take that tree)
        [ "$(pwd -P)" != /data ] || find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
        [ "$(umask)" != 0022 ] || umask 0077
        exec setpriv --reuid=redis --regid=redis --init-groups -- "$@"
    fi
fi
exec "$@"
X
    chmod 0755 "$r/usr/local/bin/docker-entrypoint.sh"
}

redis_config() {
    local v
    v=$(db_version "$1" redis-server)
    [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "Debian's redis-server has an odd version '$v'"
    say "$name: Debian $suite's redis-server is $v"
    envs+=("REDIS_VERSION=$v")
    labels=("org.opencontainers.image.title=redis" "org.opencontainers.image.version=$v"
        "io.nrun.base.flavour=redis" "io.nrun.base.debian.suite=$suite" "io.nrun.base.debian=$pkgs")
    image_cmd_json='"redis-server"'
    image_extra_json='    "WorkingDir": "/data",
    "Volumes": {"/data": {}},
    "ExposedPorts": {"6379/tcp": {}},'
    entry=docker-entrypoint.sh cmd_by='CMD [\"redis-server\"]'
    svc_steps=('VOLUME ["/data"]' 'WORKDIR /data' 'ENTRYPOINT ["docker-entrypoint.sh"]' 'EXPOSE 6379/tcp')
}

postgres_major() {
    local d
    for d in "$1"/usr/lib/postgresql/*/bin/postgres; do
        [ -x "$d" ] || continue
        d=${d%/bin/postgres}
        echo "${d##*/}"
        return
    done
    die "Debian's postgresql package did not install /usr/lib/postgresql/N/bin/postgres"
}

postgres_setup() {
    local r=$1 m ids
    m=$(postgres_major "$r")
    [ -x "$r/usr/bin/setpriv" ] || die "setpriv (util-linux) is missing from the rootfs"
    db_user_ok "$r" postgres
    ids=$(awk -F: '$1 == "postgres" {print $3 ":" $4}' "$r/etc/passwd")
    # /var/run/postgresql in the image: run/ (var/run -> /run is absolute, the host's /run here)
    rootfs_nolink "$r" var/lib/postgresql/data run/postgresql docker-entrypoint-initdb.d usr/local/bin/docker-entrypoint.sh
    mkdir -p "$r/var/lib/postgresql/data" "$r/run/postgresql" "$r/docker-entrypoint-initdb.d" "$r/usr/local/bin"
    chown "$ids" "$r/var/lib/postgresql" "$r/var/lib/postgresql/data" "$r/run/postgresql"
    chmod 0700 "$r/var/lib/postgresql/data"
    chmod 3777 "$r/run/postgresql"
    # bash, as Docker's entrypoint: it sources the init scripts that are not
    # executable, which are written for bash (function, arrays, [[ ]])
    [ -x "$r/bin/bash" ] || die "bash is missing from the rootfs"
    cat >"$r/usr/local/bin/docker-entrypoint.sh" <<'X'
#!/bin/bash
# nrun's postgres image (Debian's postgresql).  When the command is postgres
# and $PGDATA holds no database yet: initdb as the postgres user with
# POSTGRES_USER (default postgres) and POSTGRES_PASSWORD (required unless
# POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_INITDB_ARGS, then
# POSTGRES_DB (default: the user's name) made, /docker-entrypoint-initdb.d/
# *.sh, *.sql and *.sql.gz run once against a server listening on no TCP
# address, and the server stopped.  Then postgres runs in the foreground,
# as the postgres user, listening on every address with
# `host all all all METHOD` (scram-sha-256 unless the method is given).
# Sourced init scripts run as under Docker's entrypoint: bash, set -Eeo
# pipefail, no -u (an unset variable is empty), docker_process_sql defined.
set -Eeo pipefail
err() { echo "postgres entrypoint: $*" >&2; exit 1; }
case ${1:-} in -*) set -- postgres "$@" ;; esac
[ "${1:-}" = postgres ] || exec "$@"
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
case $PGDATA in /*) ;; *) err "PGDATA must be an absolute path, not '$PGDATA'" ;; esac
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    [ "$(stat -c %U "$PGDATA")" = postgres ] || chown -R postgres:postgres "$PGDATA"
    chown postgres:postgres /var/run/postgresql
    chmod 3777 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    method=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    pw=${POSTGRES_PASSWORD:-}
    case $method in
    trust | reject | scram-sha-256 | md5 | password) ;;
    *) err "POSTGRES_HOST_AUTH_METHOD must be trust, reject, scram-sha-256, md5 or password, not '$method'" ;;
    esac
    [ -n "$pw" ] || [ "$method" = trust ] ||
        err "no database in $PGDATA yet and POSTGRES_PASSWORD is empty: set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust to let anyone in without a password, unsafe)"
    for n in "$user" "$db"; do
        # (bytes, whatever the locale: PostgreSQL's NAMEDATALEN)
        [ "$(printf '%s' "$n" | wc -c)" -le 63 ] || err "POSTGRES_USER and POSTGRES_DB are at most 63 bytes ('$n' is longer)"
        case $n in *"
"*) err "POSTGRES_USER and POSTGRES_DB are one line each" ;; esac
    done
    case $user in *[\"\'\$\\]* | *--* | */\** | *\*/*)
        err "POSTGRES_USER may not hold \", ', \$, \\, --, /* or */ (PostgreSQL refuses them in the superuser's name)" ;;
    esac
    [ "$method" != trust ] || [ -n "$pw" ] ||
        echo "postgres entrypoint: warning: POSTGRES_HOST_AUTH_METHOD=trust: every connection is let in without a password" >&2
    pwdir=$(mktemp -d /tmp/pg-init.XXXXXX) # (not in $TMPDIR, which the user's env may point anywhere)
    printf '%s\n' "$pw" >"$pwdir/pw"
    set -f
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is split into words, never evaluated
    if ! initdb --username="$user" --auth-local=trust --auth-host=trust ${pw:+--pwfile="$pwdir/pw"} ${POSTGRES_INITDB_ARGS:-}; then
        rm -rf "$pwdir"
        err "initdb failed (its output is above)"
    fi
    set +f
    rm -rf "$pwdir"
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    printf '\nhost all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"
    # the first start listens on a socket of its own only: pg_isready (a
    # health check) says "no response" until initialization is over
    sock=$(mktemp -d /tmp/pg-sock.XXXXXX)
    pg_ctl -D "$PGDATA" -o "-c listen_addresses= -k $sock" -w start
    export PGHOST="$sock"
    q() { psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$user" --no-password "$@"; }
    # psql takes a --dbname with '=' in it as a connection string ("my=db",
    # "shop host=elsewhere"): the database is always named in one, quoted
    sq="'" dbq=${db//\\/\\\\}
    dbq="dbname='${dbq//$sq/\\$sq}'"
    # Docker's helper for sourced scripts: SQL on stdin (or psql's own flags) against POSTGRES_DB
    docker_process_sql() { q --dbname "$dbq" "$@"; }
    if [ "$db" != postgres ]; then
        printf 'CREATE DATABASE :"db";\n' | q --dbname postgres -v db="$db" >/dev/null
        echo "postgres entrypoint: database $db made"
    fi
    export PGPASSWORD="$pw" POSTGRES_USER="$user" POSTGRES_DB="$db"
    for f in /docker-entrypoint-initdb.d/*; do
        [ -f "$f" ] || continue
        case $f in
        *.sh)
            echo "postgres entrypoint: running $f"
            if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
        *.sql) echo "postgres entrypoint: running $f"; q --dbname "$dbq" -f "$f" ;;
        *.sql.gz) echo "postgres entrypoint: running $f"; gzip -dc "$f" | q --dbname "$dbq" ;;
        *) echo "postgres entrypoint: ignoring $f" ;;
        esac
    done
    unset PGPASSWORD PGHOST
    pg_ctl -D "$PGDATA" -m fast -w stop
    rmdir "$sock" 2>/dev/null || true
    echo "postgres entrypoint: database initialized; starting postgres"
fi
exec "$@"
X
    chmod 0755 "$r/usr/local/bin/docker-entrypoint.sh"
}

postgres_config() {
    local v m
    m=$(postgres_major "$1")
    [ "$m" = "$(pin "POSTGRES_MAJOR_${suite^^}")" ] ||
        die "Debian $suite's postgresql installed PostgreSQL $m, not the POSTGRES_MAJOR_${suite^^} of $versions_file"
    v=$(db_version "$1" "postgresql-$m")
    [[ $v =~ ^[0-9]+\.[0-9]+$ ]] || die "Debian's postgresql-$m has an odd version '$v'"
    say "$name: Debian $suite's PostgreSQL is $v"
    envs=("PATH=/usr/lib/postgresql/$m/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        "PG_MAJOR=$m" "PG_VERSION=$v" "PGDATA=/var/lib/postgresql/data")
    labels=("org.opencontainers.image.title=postgres" "org.opencontainers.image.version=$v"
        "io.nrun.base.flavour=postgres" "io.nrun.base.debian.suite=$suite" "io.nrun.base.debian=$pkgs")
    image_cmd_json='"postgres"'
    image_extra_json='    "Volumes": {"/var/lib/postgresql/data": {}},
    "ExposedPorts": {"5432/tcp": {}},
    "StopSignal": "SIGINT",'
    entry=docker-entrypoint.sh cmd_by='CMD [\"postgres\"]'
    svc_steps=('VOLUME ["/var/lib/postgresql/data"]' 'ENTRYPOINT ["docker-entrypoint.sh"]' 'EXPOSE 5432/tcp'
        'STOPSIGNAL SIGINT')
}
