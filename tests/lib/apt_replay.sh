#!/usr/bin/env bash
# Record what `apt-get update && apt-get install -y tini` fetches inside
# node:20-slim, for tests/e2e/build_shapes.bats to replay from 127.0.0.1
# (tests must not reach Debian's archive).  Run by `make deps` (tests/lib/deps.sh)
# once nbuild is built; again when the recorded indexes expire soon (apt
# refuses an InRelease past its Valid-Until, as the security suite's is
# within days).  The recording is made by building the app's own Dockerfile
# (tests/apps/shapes/tini-apt) with apt_replay.py in record mode as
# http_proxy, so it holds exactly the files that build asks for.
#
#   apt_replay.sh BUILD_DIR [DIR [APP]]   DIR: default $NRUN_CACHE_DIR/apt-replay/tini
#                                         APP: the app whose build is recorded
#                                         (default tests/apps/shapes/tini-apt)
#
# DIR/index.json, DIR/files/ (apt_replay.py), DIR/valid-until (the earliest
# Valid-Until of the recorded InRelease files, epoch seconds; "none").
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: apt_replay.sh BUILD_DIR [DIR]}
export NRUN_CACHE_DIR=${NRUN_CACHE_DIR:-/var/cache/nrun-test}
dir=${2:-$NRUN_CACHE_DIR/apt-replay/tini}
app=${3:-$here/tests/apps/shapes/tini-apt}
# a recording that stays valid this long is kept
margin=$((3 * 86400))

if [ -f "$dir/valid-until" ]; then
    vu=$(cat "$dir/valid-until")
    if [ "$vu" = none ] || [ "$vu" -gt $(($(date +%s) + margin)) ]; then
        exit 0
    fi
    echo "deps: the recorded apt indexes expire $(date -u -d "@$vu" +%FT%TZ): recording again"
fi
[ -x "$build/nbuild" ] || {
    echo "deps: no $build/nbuild: run make build, then make deps, to record apt's files for build_shapes.bats" >&2
    exit 0
}
echo "deps: recording what apt-get fetches to build $app into $dir"
mkdir -p "$(dirname "$dir")"
work=$(mktemp -d "$(dirname "$dir")/.rec.XXXXXX")
store=$(mktemp -d /tmp/nrun-aptrec.XXXXXX)
pid=
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    rm -rf "$store" "$work"
}
trap cleanup EXIT
# The host's apt proxy, if it has one, carries the recording's requests.
hp=
eval "$(apt-config shell hp Acquire::http::Proxy)"
python3 "$here/tests/lib/apt_replay.py" record "$work/rec" "$work/port" ${hp:+"$hp"} &
pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "deps: apt_replay.py did not start" >&2; exit 1; }
NRUN_ROOT=$store "$build/nbuild" -q --no-cache --build-arg "http_proxy=http://127.0.0.1:$(cat "$work/port")" \
    -t tini-rec:1 "$app" >"$work/log" 2>&1 || {
    tail -n 20 "$work/log" >&2
    echo "deps: recording apt's files failed (the lines above are nbuild's last)" >&2
    exit 1
}
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
# The earliest Valid-Until of the InRelease files apt took.
python3 - "$work/rec" >"$work/rec/valid-until" <<'PY'
import email.utils, json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
ends = []
for url, e in idx.items():
    if url.endswith("/InRelease") and e["status"] == 200:
        for line in open(os.path.join(d, "files", e["sha256"]), "rb").read().decode("utf-8", "replace").splitlines():
            if line.startswith("Valid-Until:"):
                ends.append(int(email.utils.parsedate_to_datetime(line.split(":", 1)[1].strip()).timestamp()))
print(min(ends) if ends else "none")
PY
grep -q '_amd64\.deb"' "$work/rec/index.json" || { echo "deps: the recording holds no .deb" >&2; exit 1; }
rm -rf "$dir.old"
[ ! -e "$dir" ] || mv "$dir" "$dir.old"
mv "$work/rec" "$dir"
rm -rf "$dir.old"
echo "deps: recorded $(jq length "$dir/index.json") URLs; valid until $(cat "$dir/valid-until")"
