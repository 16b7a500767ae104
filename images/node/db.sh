# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # sets and reads mkdebian.sh's variables
# Sourced by mkdebian.sh for redis:*, postgres:*, mysql:* and mariadb:*
# (flavours os-redis, os-postgres, os-mysql and os-mariadb): a Debian slim
# rootfs with Debian's redis-server, postgresql or MariaDB server, shaped as
# Docker's official redis, postgres, mysql and mariadb images.  The servers
# are Debian's (mysql:* is MariaDB); the entrypoints are our own.
#   db_packages SVC       the Debian packages to install
#   db_rootfs SVC         the name of its rootfs in the cache (mysql and
#                         mariadb share one)
#   SVC_setup ROOTFS      dirs, entrypoint (/usr/local/bin/docker-entrypoint.sh)
#   SVC_config ROOTFS     envs, labels, image_cmd_json, image_extra_json,
#                         entry, cmd_by and svc_steps for mkdebian.sh

db_packages() {
    case $1 in
    redis) echo redis-server redis-tools ;;
    postgres) echo postgresql postgresql-client ;;
    mysql | mariadb) echo mariadb-server mariadb-client ;;
    *) die "no such service image '$1'" ;;
    esac
}

db_rootfs() {
    case $1 in mysql) echo mariadb ;; *) echo "$1" ;; esac
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

# mysql:* and mariadb:*: one rootfs (Debian's mariadb-server and
# mariadb-client, whose mysql, mysqladmin and mysqld names are links to the
# mariadb ones), two images differing in their Cmd and labels.
mariadb_setup() {
    local r=$1 ids
    [ -x "$r/usr/sbin/mariadbd" ] || die "Debian's mariadb-server did not install /usr/sbin/mariadbd"
    for p in mysqld mariadb-install-db mariadb mysql mariadb-admin mysqladmin; do
        [ -x "$r/usr/bin/$p" ] || [ -x "$r/usr/sbin/$p" ] || die "Debian's MariaDB packages did not install $p"
    done
    [ -x "$r/usr/bin/setpriv" ] || die "setpriv (util-linux) is missing from the rootfs"
    db_user_ok "$r" mysql
    ids=$(awk -F: '$1 == "mysql" {print $3 ":" $4}' "$r/etc/passwd")
    # the package's postinst made a database (and Debian's flag files): an
    # image has none, the entrypoint makes it where the container's volume is
    rootfs_nolink "$r" var/lib/mysql run/mysqld docker-entrypoint-initdb.d usr/local/bin/docker-entrypoint.sh \
        usr/local/bin/healthcheck.sh etc/mysql/mariadb.conf.d/05-container.cnf etc/mysql/mariadb.conf.d/50-server.cnf
    rm -rf "$r/var/lib/mysql" "$r/run/mysqld"
    mkdir -p "$r/var/lib/mysql" "$r/run/mysqld" "$r/docker-entrypoint-initdb.d" "$r/usr/local/bin"
    chown "$ids" "$r/var/lib/mysql" "$r/run/mysqld"
    chmod 0755 "$r/var/lib/mysql"
    chmod 1777 "$r/run/mysqld" # (a container run with --user of another uid makes its socket there)
    # Debian binds to 127.0.0.1; in a container the server listens on every
    # address, as in Docker's images (the container's network is the boundary)
    local cnf=$r/etc/mysql/mariadb.conf.d/50-server.cnf
    grep -q '^bind-address' "$cnf" || die "$cnf has no bind-address line to take out"
    sed -i 's/^bind-address/#&/' "$cnf"
    ! grep -q '^bind-address' "$cnf" || die "$cnf still binds one address"
    cat >"$r/etc/mysql/mariadb.conf.d/05-container.cnf" <<'X'
# nrun's mysql and mariadb images, as Docker's: no DNS look-up of a client's
# address (accounts are name@'%' or IP addresses; a container's peers often
# have no reverse name), no host cache.
[mariadbd]
skip-name-resolve
host-cache-size = 0
X
    cat >"$r/usr/local/bin/docker-entrypoint.sh" <<'X'
#!/bin/bash
# nrun's mysql and mariadb images (Debian's MariaDB server; written for nrun).
# Options alone (`--character-set-server=utf8mb4`) are mariadbd's.  When the
# command is mariadbd or mysqld and its data directory holds no database yet:
# mariadb-install-db as the mysql user, then a first server that listens on
# no address and on a socket of its own only (so a `mysqladmin ping` health
# check waits for the end of initialization) gives root (root@localhost and
# root@MYSQL_ROOT_HOST, default '%') the password MYSQL_ROOT_PASSWORD, an
# empty one (MYSQL_ALLOW_EMPTY_PASSWORD) or a random one it prints
# (MYSQL_RANDOM_ROOT_PASSWORD): one of the three is required; root@localhost
# is also let in by the socket as the container's root.  It makes
# MYSQL_DATABASE and the user MYSQL_USER with MYSQL_PASSWORD (every right on
# that database), loads the time zones (unless MYSQL_INITDB_SKIP_TZINFO), and
# runs /docker-entrypoint-initdb.d/*.sh (sourced unless executable), *.sql
# and *.sql.gz once, in order, as root on MYSQL_DATABASE.  Every MYSQL_X may
# be spelt MARIADB_X (first), and X_FILE names a file holding X.  Names and
# passwords reach SQL as quoted literals and identifiers, never pasted in.
# Then the server runs in the foreground as the mysql user, on every address.
# (no set -u: sourced init scripts run in this shell, as in Docker's images)
set -eo pipefail
say() { echo "mariadb entrypoint: $*"; }
err() {
    echo "mariadb entrypoint: error: $*" >&2
    exit 1
}
case ${1:-} in -*) set -- mariadbd "$@" ;; esac
case ${1:-} in mariadbd | mysqld) ;; *) exec "$@" ;; esac
for a in "$@"; do
    case $a in -'?' | --help | --print-defaults | -V | --version) exec "$@" ;; esac
done

# The server's own reading of its options and config files.
conf=$("$@" --verbose --help 2>&1) ||
    err "$1 refuses its options: $(grep -m1 -i error <<<"$conf" || head -n1 <<<"$conf")"
# (a value of the table after the line of dashes, not a word of the help text)
option() { awk -v k="$1" '/^-+ +-+$/ { t = 1; next } t && $1 == k { print $2; exit }' <<<"$conf"; }
datadir=$(option datadir)
datadir=${datadir%/}
socket=$(option socket)
[ -n "$datadir" ] || err "$1 --verbose --help names no datadir"
[ -n "$socket" ] || err "$1 --verbose --help names no socket"

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$datadir"
    # (a link in the data directory is never followed)
    find "$datadir" \! -user mysql -exec chown -h mysql:mysql '{}' +
    sockdir=${socket%/*}
    if [ ! -d "$sockdir" ]; then
        mkdir -p "$sockdir"
        chown mysql:mysql "$sockdir"
    fi
    exec setpriv --reuid=mysql --regid=mysql --init-groups -- "$0" "$@"
fi

# setting VAR NAME...: VAR = the first of the NAMEs set, or the contents of
# the file NAME_FILE names (docker secrets)
setting() {
    local var=$1 n f
    shift
    printf -v "$var" '%s' ''
    for n in "$@"; do
        f=${n}_FILE
        [ -z "${!n:-}" ] || [ -z "${!f:-}" ] || err "both $n and $f are set: set one"
        if [ -n "${!n:-}" ]; then
            printf -v "$var" '%s' "${!n}"
            return
        elif [ -n "${!f:-}" ]; then
            [ -f "${!f}" ] || err "$f names ${!f}, which is not a file"
            [ -r "${!f}" ] || err "$f names ${!f}, which the mysql user cannot read"
            printf -v "$var" '%s' "$(<"${!f}")"
            return
        fi
    done
}
# an SQL string literal and an identifier
lit() {
    local s=${1//\\/\\\\}
    printf "'%s'" "${s//\'/\'\'}"
}
# shellcheck disable=SC2016 # (backquotes, not an expansion)
ident() { printf '`%s`' "${1//\`/\`\`}"; }

initialize() {
    local root_pw allow_empty random_pw root_host db user user_pw skip_tz v tmp sock pid i sql f
    setting root_pw MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD
    setting allow_empty MARIADB_ALLOW_EMPTY_ROOT_PASSWORD MARIADB_ALLOW_EMPTY_PASSWORD MYSQL_ALLOW_EMPTY_PASSWORD
    setting random_pw MARIADB_RANDOM_ROOT_PASSWORD MYSQL_RANDOM_ROOT_PASSWORD
    setting root_host MARIADB_ROOT_HOST MYSQL_ROOT_HOST
    setting db MARIADB_DATABASE MYSQL_DATABASE
    setting user MARIADB_USER MYSQL_USER
    setting user_pw MARIADB_PASSWORD MYSQL_PASSWORD
    setting skip_tz MARIADB_INITDB_SKIP_TZINFO MYSQL_INITDB_SKIP_TZINFO
    root_host=${root_host:-%}
    [ -n "$root_pw$allow_empty$random_pw" ] ||
        err "database is uninitialized and password option is not specified: set MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD=yes or MYSQL_RANDOM_ROOT_PASSWORD=yes (or MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD, MARIADB_RANDOM_ROOT_PASSWORD)"
    [ "$user" != root ] ||
        err "MYSQL_USER=root: MYSQL_USER and MYSQL_PASSWORD make another user; root's password is MYSQL_ROOT_PASSWORD"
    for v in "$db" "$user" "$root_host"; do
        [[ $v != *[[:cntrl:]]* ]] || err "MYSQL_DATABASE, MYSQL_USER and MYSQL_ROOT_HOST are one line of printable characters"
    done
    if [ -n "$random_pw" ]; then
        root_pw=$(head -c 24 /dev/urandom | base64)
        say "GENERATED ROOT PASSWORD: $root_pw"
    fi
    say "no database in $datadir yet: initializing it"
    if ! v=$(mariadb-install-db --rpm --datadir="$datadir" --auth-root-authentication-method=socket \
        --auth-root-socket-user=mysql --skip-test-db --skip-name-resolve "${@:2}" 2>&1); then
        printf '%s\n' "$v" >&2
        err "mariadb-install-db failed (its output is above)"
    fi
    tmp=$(mktemp -d)
    sock=$tmp/mysqld.sock
    "$@" --skip-networking --socket="$sock" --pid-file="$tmp/mysqld.pid" &
    pid=$!
    # (a failure below stops it: the container ends with the entrypoint)
    trap 'kill "$pid" 2>/dev/null; wait "$pid"' EXIT
    for i in $(seq 600); do
        ! mariadb-admin --socket="$sock" --user=mysql ping >/dev/null 2>&1 || break
        kill -0 "$pid" 2>/dev/null || err "the first server stopped (its log is above)"
        [ "$i" != 600 ] || err "the first server did not answer in 60 s"
        sleep 0.1
    done
    # as the mysql account (the socket's), with the client's commands off
    own() { mariadb --protocol=socket --socket="$sock" --user=mysql --binary-mode --batch "$@"; }
    # (the proxy grant install-db gives mysql@<this host's name>, an account
    # that does not exist, would be warned of at every start)
    sql="SET @@SESSION.SQL_LOG_BIN = 0;
SET @@SESSION.SQL_MODE = REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost', '%');
FLUSH PRIVILEGES;
ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD($(lit "$root_pw")) OR unix_socket;
"
    if [ "$root_host" != localhost ]; then
        sql+="CREATE USER 'root'@$(lit "$root_host") IDENTIFIED BY $(lit "$root_pw");
GRANT ALL ON *.* TO 'root'@$(lit "$root_host") WITH GRANT OPTION;
"
    fi
    if [ -n "$db" ]; then
        say "making database $db"
        sql+="CREATE DATABASE IF NOT EXISTS $(ident "$db");
"
    fi
    if [ -n "$user" ] && [ -n "$user_pw" ]; then
        say "making user $user"
        sql+="CREATE USER $(lit "$user")@'%' IDENTIFIED BY $(lit "$user_pw");
"
        if [ -n "$db" ]; then
            # (in GRANT, _ and % in a database name are wildcards)
            v=${db//\\/\\\\}
            v=${v//_/\\_}
            sql+="GRANT ALL ON $(ident "${v//%/\\%}").* TO $(lit "$user")@'%';
"
        fi
    elif [ -n "$user$user_pw" ]; then
        say "warning: MYSQL_USER and MYSQL_PASSWORD go together: no user made"
    fi
    printf '%s' "$sql" | own || err "setting up root, MYSQL_DATABASE and MYSQL_USER failed (the server's error is above)"
    if [ -z "$skip_tz" ] && [ -d /usr/share/zoneinfo ]; then
        mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null | own mysql ||
            err "loading the time zones failed (set MYSQL_INITDB_SKIP_TZINFO=1 to skip it)"
    fi
    # init scripts, in a subshell: as root with its password, and a script's
    # own mysql or mariadb reaches this first server ($MYSQL_HOME/my.cnf is
    # read after /etc/mysql/my.cnf); both spellings of the settings are set
    # (with the password made for MYSQL_RANDOM_ROOT_PASSWORD)
    printf '[client]\nsocket = %s\n' "$sock" >"$tmp/my.cnf"
    (
        export MYSQL_HOME=$tmp MYSQL_ROOT_PASSWORD=$root_pw MARIADB_ROOT_PASSWORD=$root_pw MYSQL_DATABASE=$db \
            MARIADB_DATABASE=$db MYSQL_USER=$user MARIADB_USER=$user MYSQL_PASSWORD=$user_pw MARIADB_PASSWORD=$user_pw
        as_root() { MYSQL_PWD=$root_pw mariadb --protocol=socket --socket="$sock" --user=root ${db:+--database="$db"}; }
        for f in /docker-entrypoint-initdb.d/*; do
            [ -f "$f" ] || continue
            case $f in
            *.sh)
                say "running $f"
                # shellcheck disable=SC1090 # (the user's script)
                if [ -x "$f" ]; then "$f"; else . "$f"; fi
                ;;
            *.sql)
                say "running $f"
                as_root <"$f" || err "$f failed (the server's error is above)"
                ;;
            *.sql.gz)
                say "running $f"
                gzip -dc "$f" | as_root || err "$f failed (the server's error is above)"
                ;;
            *) say "ignoring $f" ;;
            esac
        done
    ) || exit 1
    kill "$pid"
    wait "$pid" || true
    trap - EXIT
    rm -rf "$tmp"
    say "database initialized; starting $1"
}
[ -d "$datadir/mysql" ] || initialize "$@"
exec "$@"
X
    chmod 0755 "$r/usr/local/bin/docker-entrypoint.sh"
    cat >"$r/usr/local/bin/healthcheck.sh" <<'X'
#!/bin/bash
# nrun's healthcheck.sh (the tests of Docker's mariadb image's, written for
# nrun), for `healthcheck: test: ["CMD", "healthcheck.sh", "--connect",
# "--innodb_initialized"]`.  Exit 0 when every test named passes:
#   --connect                  the server accepts TCP connections on localhost
#                              (not while the entrypoint initializes: that
#                              server listens on no address)
#   --innodb_initialized       InnoDB is up
#   --innodb_buffer_pool_loaded  the buffer pool is loaded
# No test: --connect.  The queries connect through the server's socket as the
# account of this process's user (root and mysql are let in by the socket).
# --no-defaults and --defaults-*file=FILE go to the client; --su-mysql and
# --su=USER are accepted and ignored; other tests are refused.
set -eo pipefail
opts=() tests=()
for a in "$@"; do
    case $a in
    --connect | --innodb_initialized | --innodb_buffer_pool_loaded) tests+=("${a#--}") ;;
    --no-defaults | --defaults-file=* | --defaults-extra-file=* | --defaults-group-suffix=*) opts+=("$a") ;;
    --su-mysql | --su=*) ;;
    *)
        echo "healthcheck.sh: $a is not a test nrun's image has (--connect, --innodb_initialized, --innodb_buffer_pool_loaded)" >&2
        exit 2
        ;;
    esac
done
[ ${#tests[@]} -gt 0 ] || tests=(connect)
query() { mariadb "${opts[@]}" --protocol=socket --batch --skip-column-names -e "$1"; }
for t in "${tests[@]}"; do
    case $t in
    connect)
        # (an account refusing us still means the server listens)
        if out=$(mariadb "${opts[@]}" --protocol=tcp -h localhost --skip-ssl -e 'select 1' 2>&1); then continue; fi
        case $out in *"Can't connect"* | *"Lost connection"*) echo "healthcheck.sh: connect: $out" >&2 && exit 1 ;; esac
        ;;
    innodb_initialized)
        [ "$(query "select 1 from information_schema.ENGINES where engine = 'InnoDB' and support in ('YES', 'DEFAULT', 'ENABLED')")" = 1 ] ||
            { echo "healthcheck.sh: InnoDB is not initialized" >&2 && exit 1; }
        ;;
    innodb_buffer_pool_loaded)
        [[ "$(query "select variable_value from information_schema.GLOBAL_STATUS where variable_name = 'INNODB_BUFFER_POOL_LOAD_STATUS'")" == "Buffer pool(s) load completed"* ]] ||
            { echo "healthcheck.sh: the buffer pool is not loaded" >&2 && exit 1; }
        ;;
    esac
done
X
    chmod 0755 "$r/usr/local/bin/healthcheck.sh"
}
mysql_setup() { mariadb_setup "$@"; }

# maria_config ROOTFS REPO SERVER
maria_config() {
    local v m
    v=$(db_version "$1" mariadb-server)
    [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "Debian's mariadb-server has an odd version '$v'"
    m=${v%.*}
    [ "$m" = "$(pin "MARIADB_MAJOR_${suite^^}")" ] ||
        die "Debian $suite's mariadb-server installed MariaDB $m, not the MARIADB_MAJOR_${suite^^} of $versions_file"
    say "$name: Debian $suite's MariaDB is $v"
    envs+=("MARIADB_MAJOR=$m" "MARIADB_VERSION=$v")
    labels=("org.opencontainers.image.title=$2" "org.opencontainers.image.version=$v"
        "org.opencontainers.image.description=MariaDB $v from Debian $suite" "io.nrun.base.flavour=$2"
        "io.nrun.base.debian.suite=$suite" "io.nrun.base.debian=$pkgs")
    image_cmd_json="\"$3\""
    image_extra_json='    "Volumes": {"/var/lib/mysql": {}},
    "ExposedPorts": {"3306/tcp": {}},'
    entry=docker-entrypoint.sh cmd_by="CMD [\\\"$3\\\"]"
    svc_steps=('VOLUME ["/var/lib/mysql"]' 'ENTRYPOINT ["docker-entrypoint.sh"]' 'EXPOSE 3306/tcp')
}
mysql_config() { maria_config "$1" mysql mysqld; }
mariadb_config() { maria_config "$1" mariadb mariadbd; }
