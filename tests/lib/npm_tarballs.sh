#!/usr/bin/env bash
# The npm tarballs the examples' lock files (and bench/express-dep's, and
# those of the app shapes in tests/apps/shapes, yarn.lock too) name, fetched once into
# DIR (default $NRUN_CACHE_DIR/npm-tarballs) with `npm pack`, so that the
# tests and benchmarks that build the examples serve them from a registry on
# 127.0.0.1 (tests/lib/npm_registry.py) and never reach the network.
# Each tarball is checked against the lock file's integrity.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-${NRUN_CACHE_DIR:-/var/cache/nrun-test}/npm-tarballs}
mkdir -p "$dir"
# name version integrity, one line per package of every lock file
want=$(for l in "$here"/examples/*/package-lock.json "$here"/bench/express-dep/package-lock.json \
    "$here"/tests/apps/shapes/*/package-lock.json; do
    jq -r '.packages | to_entries[] | select(.key != "" and (.value.link | not))
        | "\(.key | sub("^.*node_modules/"; "")) \(.value.version) \(.value.integrity)"' "$l"
done
# yarn.lock (v1): an entry's first key "name@range", its version and integrity
for l in "$here"/tests/apps/shapes/*/yarn.lock; do
    awk '/^[^ #]/ { k = $1; gsub(/[":,]/, "", k); sub(/@[^@]*$/, "", k); n = k }
        /^  version / { v = $2; gsub(/"/, "", v) }
        /^  integrity / { print n, v, $2 }' "$l"
done | sort -u)
missing=()
while read -r name ver integ; do
    [ -n "$name" ] || continue
    f="$dir/$(echo "${name#@}" | tr / -)-$ver.tgz"
    [ -s "$f" ] || missing+=("$name@$ver")
done <<<"$want"
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: npm pack ${#missing[@]} tarballs for examples/ into $dir"
    (cd "$dir" && npm pack --silent --no-audit --no-fund "${missing[@]}" >/dev/null)
fi
bad=0
while read -r name ver integ; do
    [ -n "$name" ] || continue
    f="$dir/$(echo "${name#@}" | tr / -)-$ver.tgz"
    algo=${integ%%-*}
    got="$algo-$(openssl dgst "-$algo" -binary "$f" | base64 -w0)"
    if [ "$got" != "$integ" ]; then
        echo "deps: $f: integrity $got, the lock file says $integ" >&2
        rm -f "$f"
        bad=1
    fi
done <<<"$want"
exit $bad
