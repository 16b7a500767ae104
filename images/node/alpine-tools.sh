#!/usr/bin/env bash
# Make the context of the one layer that FROM node:<tag>-alpine gets on top of
# the Debian slim image nbuild builds it on (builder/base_alpine.c): Alpine's
# busybox tools that Debian slim lacks, so a `HEALTHCHECK CMD wget -qO- ...`,
# a `nc -z db 5432` wait loop or a `#!/bin/ash` script written for Alpine
# runs.  The busybox is Debian's busybox-static, the file mkbase.sh's
# selection (DEBIAN_PKGS, debs/selected.txt) already downloads into the same
# cache, so the distroless image, Google's :debug names and this layer share
# one download; the second make is offline.
#
# Usage: alpine-tools.sh VERSIONS_FILE CACHE_DIR OUT_DIR [DIVERSIONS]
#   OUT_DIR   created; receives Nodefile, image.json (steps and the config
#             to add) and tools/ (the layer)
#   DIVERSIONS  the slim image's /var/lib/dpkg/diversions (absent: it has none)
# Environment: NRUN_OFFLINE=1 forbids any download (a missing input is an error).
#
# The layer: /usr/bin/busybox (/bin/busybox: /bin is /usr/bin in Debian) and
# a link to it for each applet below, at Alpine's place (/bin or /sbin, so
# /usr/bin or /usr/sbin here).  Only applets whose path Debian slim (bookworm
# and trixie minbase, node or not) does not have: nothing of Debian's is
# shadowed, and a package apt installs later replaces a link as it would
# any file.  One path of Debian's is changed on purpose: /bin/sh is bash
# (below).  Modes fixed, owners and mtimes by the layer writer (0:0, 0).
set -euo pipefail
umask 022
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=images/node/common.sh
. "$here/common.sh"

# Alpine's busybox applets (its base image, not busybox-extras) that scripts
# and health checks use and Debian slim has no file of: network, processes,
# archives, editors and text tools.
applets=(ash bc bunzip2 bzcat bzip2 dc dos2unix free hexdump ifconfig ip kill killall less nc netstat
    nslookup ping ps route strings top traceroute unix2dos unxz unzip uptime vi watch wget xxd xz xzcat)

[ $# -eq 3 ] || [ $# -eq 4 ] || die "usage: alpine-tools.sh VERSIONS_FILE CACHE_DIR OUT_DIR [DIVERSIONS]"
versions_file=$1 cache=$2 out=$3 diversions=${4:-}
[ ! -e "$out" ] || die "output directory $out already exists"
for t in dpkg-deb sha256sum flock; do
    command -v "$t" >/dev/null || die "$t is needed to make base images (not in PATH)"
done
offline=${NRUN_OFFLINE:-0}
ro_cache= # common.sh's fetch_npm: no read-only cache for this recipe
load_pins
read -r -a debian_pkgs <<<"$(pin DEBIAN_PKGS)"

mkdir -p "$cache/debs"
exec 9>"$cache/.lock"
flock 9
rm -rf "$cache"/debs/.dl.*
fetch_debs selected.txt "${debian_pkgs[@]}"
bb_ver= bb_file=
while read -r p v _ f; do
    [ "$p" != busybox-static ] || bb_ver=$v bb_file=$cache/debs/$f
done <"$cache/debs/selected.txt"
[ -n "$bb_file" ] || die "$cache/debs/selected.txt names no busybox-static (DEBIAN_PKGS in versions.txt)"
mkdir -p "$out"
x="$out/.extract"
mkdir -p "$x"
trap 'rm -rf "$x"' EXIT
dpkg-deb -x "$bb_file" "$x"
flock -u 9

t="$out/tools"
mkdir -p "$t/usr/bin" "$t/usr/sbin"
cp "$x/bin/busybox" "$t/usr/bin/busybox"
declare -A where=()
while read -r p; do where[${p##*/}]=${p%/*}; done < <("$t/usr/bin/busybox" --list-full)
for a in "${applets[@]}"; do
    [ "$a" != nc ] || continue # (a script: below)
    case ${where[$a]:-} in
    bin | usr/bin) ln -s busybox "$t/usr/bin/$a" ;;
    sbin | usr/sbin) ln -s ../bin/busybox "$t/usr/sbin/$a" ;;
    '') say "note: Debian's busybox-static $bb_ver has no $a applet" ;;
    *) die "busybox places $a in ${where[$a]}, not a bin directory" ;;
    esac
done
[ -L "$t/usr/bin/wget" ] || die "Debian's busybox-static $bb_ver has no wget applet"
# nc: Debian's busybox-static has the small nc, without Alpine's -z (does
# the port open?), which wait loops use (`until nc -z db 5432; do sleep 1;
# done`); -z is a connect that runs true (-e), anything else busybox's nc.
[ "${where[nc]:-}" = bin ] || [ "${where[nc]:-}" = usr/bin ] || die "Debian's busybox-static $bb_ver has no nc applet"
cat >"$t/usr/bin/nc" <<'NC'
#!/bin/sh
# nc of Alpine's busybox on Debian's busybox-static (nrun's Alpine tools):
# -z [-v] [-w SEC] HOST PORT only checks that HOST:PORT accepts a connection.
z=
for a in "$@"; do
    case $a in --) break ;; --*) ;; -*z*) z=1 ;; esac
done
[ -n "$z" ] || exec /usr/bin/busybox nc "$@"
host= port= w=2
while [ $# -gt 0 ]; do
    case $1 in
    -w) w=${2:-2} && shift ;;
    --*) ;;
    -*w?*) w=${1##*w} ;;
    -*) ;;
    *) if [ -z "$host" ]; then host=$1; elif [ -z "$port" ]; then port=$1; fi ;;
    esac
    shift
done
[ -n "$host" ] && [ -n "$port" ] || { echo "nc: -z needs HOST PORT" >&2 && exit 1; }
exec /usr/bin/busybox nc -w "$w" "$host" "$port" -e /bin/true
NC
chmod 0755 "$t/usr/bin/nc"
# /bin/sh: Alpine's is busybox ash, built with its bash extensions (source,
# function NAME {, [[ ]], ${v//a/b}, ${v:1:2}, echo -e, local), which dash
# refuses and Alpine's scripts use.  Not this busybox: Debian's
# busybox-static runs its own applets before PATH (FEATURE_SH_STANDALONE),
# so every script under it, dpkg's maintainer scripts too, would get
# busybox's dpkg, sed and find.  bash takes ash's extensions and is a /bin/sh
# Debian supports, set up as Debian's admins do it: a local diversion of
# dash's /bin/sh (bookworm's path) and /usr/bin/sh (trixie's), so dpkg puts
# dash's link at sh.distrib on an upgrade and dash's postinst leaves it
# ("LOCAL": the sysadmin's choice).  The diversions file holds every
# diversion: the slim image's, dash's own one of /bin/sh (bookworm) left out.
ln -s bash "$t/usr/bin/sh"
ln -s dash "$t/usr/bin/sh.distrib"
mkdir -p "$t/var/lib/dpkg"
{
    if [ -n "$diversions" ] && [ -f "$diversions" ]; then
        while IFS= read -r from && IFS= read -r to && IFS= read -r by; do
            case $from in /bin/sh | /usr/bin/sh) continue ;; esac
            printf '%s\n%s\n%s\n' "$from" "$to" "$by"
        done <"$diversions"
    fi
    printf '%s\n' /bin/sh /bin/sh.distrib : /usr/bin/sh /usr/bin/sh.distrib :
} >"$t/var/lib/dpkg/diversions"
normalise_modes "$t"

# --- the description: a Nodefile for people, image.json for base_write.c ----
labels=("io.nrun.base.busybox=busybox-static=$bb_ver")
envs=()
check_plain_values
by="COPY tools/ / # Alpine's busybox tools (Debian's busybox-static $bb_ver at /bin/busybox): ${applets[*]}; /bin/sh is bash"
{
    echo "# Alpine's busybox tools on the Debian slim image, made by nrun images/node/alpine-tools.sh."
    echo "FROM node:slim"
    echo "$by"
    echo "LABEL ${labels[0]%%=*}=\"${labels[0]#*=}\""
} >"$out/Nodefile"
{
    echo "{"
    echo "  \"steps\": ["
    echo "    {\"created_by\": $(json_str "$by"), \"layer\": {\"src\": \"tools\", \"dest\": \"/\", \"uid\": 0, \"gid\": 0}},"
    echo "    {\"created_by\": $(json_str "LABEL ${labels[0]}")}"
    echo "  ],"
    echo "  \"config\": {\"Labels\": {\"${labels[0]%%=*}\": \"${labels[0]#*=}\"}}"
    echo "}"
} >"$out/image.json"
