#!/usr/bin/env bats
# Docker's official debian image made here (FROM debian:bookworm-slim, ...):
# the node images' recipe without node (images/node/mkdebian.sh os-slim /
# os-full), its tag grammar (builder/base_os.c) read from the same pins,
# reproducible and offline from the shared cache (NRUN_CACHE_DIR), and the
# lookup order FROM keeps (store image, --base-map before making one).
# nginx:* (Debian's nginx package shaped as Docker's nginx image) serves a
# single-page app built by a node:20-alpine stage (tests/apps/spa-nginx).
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

VERSIONS=$REPO/images/node/versions.txt
pin() { sed -n "s/^$1=//p" "$VERSIONS"; }
digest_of() {
    jq -r --arg r "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' "$1/index.json"
}
ctx() {
    local d
    d=$(mktemp -d "$W/ctx.XXXXXX")
    printf '%s\n' "$@" >"$d/Nodefile"
    echo "$d"
}

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap)"
    command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed (make deps)"
    export W
    W=$(mktemp -d /tmp/nrun-baseos.XXXXXX)
    nr_make_root
    # made with the host's network (downloads; $NRUN runs in the file's namespace): the node
    # image the single-page app's build stage uses, too
    "$NR_REAL_NRUN" base debian:bookworm-slim node:20-slim >"$W/base.out" 2>"$W/base.err" || { tail -20 "$W/base.err" >&2; return 1; }
    umoci unpack --image "$NRUN_ROOT:debian:bookworm-slim" "$W/u" >/dev/null 2>&1
}

teardown_file() {
    rt_rm_all
    rt_assert_clean
    nr_remove_root
    case ${W:-} in /tmp/nrun-baseos.*) rm -rf "$W" ;; esac
}

@test "debian tags: suites, numbers, stable/oldstable/latest, dated and old tags resolve from the pins, offline" {
    stable=$(pin DEBIAN_DIST_DEFAULT)
    [ "$stable" = trixie ] || skip "the assertions below know trixie as stable; the pins say $stable"
    run unshare --net "$NRUN" base --list debian debian:latest debian:stable debian:oldstable-slim debian:bookworm \
        debian:trixie-slim debian:12 debian:13-slim debian:12.8-slim docker.io/library/debian:bookworm library/debian:12-slim
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "debian:latest debian:trixie" ]
    [ "${lines[1]}" = "debian:latest debian:trixie" ]
    [ "${lines[2]}" = "debian:stable debian:trixie" ]
    [ "${lines[3]}" = "debian:oldstable-slim debian:bookworm-slim" ]
    [ "${lines[4]}" = "debian:bookworm debian:bookworm" ]
    [ "${lines[5]}" = "debian:trixie-slim debian:trixie-slim" ]
    [ "${lines[6]}" = "debian:12 debian:bookworm" ]
    [ "${lines[7]}" = "debian:13-slim debian:trixie-slim" ]
    [[ "${lines[8]}" == "debian:12.8-slim debian:bookworm-slim  # "*"current point release, not always 12.8"* ]]
    [ "${lines[9]}" = "debian:bookworm debian:bookworm" ]
    [ "${lines[10]}" = "debian:12-slim debian:bookworm-slim" ]
    # a dated tag: its suite as served today, said; an older suite: the nearest served one, warned
    run unshare --net "$NRUN" base --list debian:bookworm-20241111-slim debian:bullseye-slim debian:11 debian:buster
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "debian:bookworm-20241111-slim debian:bookworm-slim  # "*"made from Debian bookworm as its archive serves it today, not as on 20241111" ]]
    [[ "${lines[1]}" == "debian:bullseye-slim debian:bookworm-slim  # "*"bullseye is no longer in Debian's archive; using the nearest suite, bookworm" ]]
    [[ "${lines[2]}" == "debian:11 debian:bookworm  # "*"bullseye is no longer in Debian's archive"* ]]
    [[ "${lines[3]}" == "debian:buster debian:bookworm  # "*"buster is no longer in Debian's archive"* ]]
    # listed with the node tags, by both commands
    run "$NRUN" base --list
    [[ "$output" == *$'\n'"debian:stable-slim debian:trixie-slim"$'\n'* ]]
    [[ "$output" == *$'\n'"debian:12-slim debian:bookworm-slim"$'\n'* ]]
    all=$output
    run "$NBUILD" --list-bases
    [ "$output" = "$all" ]
}

@test "debian tags: unreleased suites, other distributions and bad tags are one-line errors; store unchanged" {
    before=$(nr_tree_hash "$NRUN_ROOT")
    for ref in debian:sid debian:experimental debian:testing-slim debian:latest-slim debian:15 debian:12-20241111 \
        debian:bookworm-slim-slim debian:nosuch debian:bookworm-backports; do
        run "$NRUN" base "$ref"
        [ "$status" -eq 2 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *"unknown base image"*"$ref"* ]]
    done
    run "$NRUN" base --list debian:sid
    [[ "$output" == *"debian:sid: nbuild makes only Debian's released suites"* ]]
    for from in debian:sid ubuntu:22.04 debian:unstable-slim; do
        run "$NBUILD" -t bad:1 "$(ctx "FROM $from" 'CMD ["bash"]')"
        [ "$status" -eq 1 ]
        [[ "$output" == *"Nodefile:1:6: unknown base image $from"* ]]
    done
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "debian:bookworm-slim: both tags name one image; shaped as Docker's debian image (Cmd bash, PATH only, no node)" {
    d=$(digest_of "$NRUN_ROOT" debian:bookworm-slim)
    [ -n "$d" ]
    [ "$(head -n1 "$W/base.out")" = "debian:bookworm-slim $d" ] # then node:20-slim's line (setup_file)
    run skopeo inspect --config "oci:$NRUN_ROOT:debian:bookworm-slim"
    [ "$status" -eq 0 ]
    [ "$(jq -c .config.Cmd <<<"$output")" = '["bash"]' ]
    [ "$(jq -c .config.Env <<<"$output")" = '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]' ]
    [ "$(jq -r '.config.Entrypoint // "none"' <<<"$output")" = none ]
    [ "$(jq -r '.config.Labels["io.nrun.base.debian.suite"]' <<<"$output")" = bookworm ]
    [[ "$(jq -r '.config.Labels["io.nrun.base.debian"]' <<<"$output")" == *"base-files=12."* ]]
    r=$W/u/rootfs
    [ -x "$r/bin/bash" ] && [ -x "$r/usr/bin/apt-get" ]
    [ ! -e "$r/usr/local/bin/node" ] && [ ! -e "$r/home/node" ]
    ! grep -q '^node:' "$r/etc/passwd"
    grep -q '^12\.' "$r/etc/debian_version"
    # slim: no docs, man pages or locales (copyrights stay)
    [ -z "$(ls "$r/usr/share/man" 2>/dev/null)" ]
    [ -z "$(find "$r/usr/share/doc" -type f ! -name copyright | head -n1)" ]
    [ "$(jq -r '.npm | length' "$r/usr/share/nrun/sbom.json")" = 0 ]
}

@test "debian:bookworm (not slim) keeps docs and man pages; debian:12 names the same image" {
    run "$NR_REAL_NRUN" base debian:bookworm
    [ "$status" -eq 0 ]
    run "$NRUN" base debian:12
    [ "$status" -eq 0 ]
    [ "$(digest_of "$NRUN_ROOT" debian:12)" = "$(digest_of "$NRUN_ROOT" debian:bookworm)" ]
    [ "$(digest_of "$NRUN_ROOT" debian:12)" != "$(digest_of "$NRUN_ROOT" debian:bookworm-slim)" ]
    umoci unpack --image "$NRUN_ROOT:debian:bookworm" "$W/full" >/dev/null 2>&1
    [ -n "$(find "$W/full/rootfs/usr/share/doc" -type f ! -name copyright | head -n1)" ]
    [ -n "$(ls "$W/full/rootfs/usr/share/man" 2>/dev/null)" ]
    ! grep -q '^node:' "$W/full/rootfs/etc/passwd"
}

@test "debian:bookworm-slim: a second store is made offline from the cache to the same digest" {
    mkdir -p "$W/shim"
    for t in npm apt-get mmdebstrap; do
        printf '#!/bin/sh\necho called >>"%s/%s.called"\nexit 1\n' "$W" "$t" >"$W/shim/$t"
        chmod +x "$W/shim/$t"
    done
    root2=$(mktemp -d /tmp/nrun-test.XXXXXX)
    PATH="$W/shim:$PATH" NRUN_OFFLINE=1 SOURCE_DATE_EPOCH=1700000000 run unshare --net "$NR_REAL_NRUN" --root "$root2" \
        base debian:oldstable-slim
    d2=$(digest_of "$root2" debian:oldstable-slim)
    rm -rf "$root2"
    [ "$status" -eq 0 ]
    [ -z "$(ls "$W"/*.called 2>/dev/null)" ]
    [ "$d2" = "$(digest_of "$NRUN_ROOT" debian:bookworm-slim)" ]
}

@test "FROM debian:...: Docker Hub spellings, a RUN step, a date-pinned tag's note and digest pins" {
    d=$(digest_of "$NRUN_ROOT" debian:bookworm-slim)
    run "$NBUILD" --progress=plain -t os:1 "$(ctx 'FROM docker.io/library/debian:bookworm-slim' \
        'RUN . /etc/os-release && echo "$VERSION_CODENAME" >/codename && ! command -v node')"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM docker.io/library/debian:bookworm-slim: Docker Hub's debian image, debian:bookworm-slim here"* ]]
    run "$NRUN" run --rm os:1 cat /codename
    [ "$output" = bookworm ]
    base=$(jq -r '.layers[0].digest' "$NRUN_ROOT/blobs/sha256/${d#sha256:}")
    run "$NBUILD" --progress=plain -t os:2 "$(ctx 'FROM debian:bookworm-20241111-slim' 'CMD ["bash"]')"
    [ "$status" -eq 0 ]
    [[ "$output" == *"a dated tag is made from Debian bookworm as its archive serves it today"* ]]
    m2=$(digest_of "$NRUN_ROOT" os:2)
    [ "$(jq -r '.layers[0].digest' "$NRUN_ROOT/blobs/sha256/${m2#sha256:}")" = "$base" ]
    run "$NBUILD" -q -t os:3 "$(ctx "FROM library/debian:12-slim@$d" 'CMD ["bash"]')"
    [ "$status" -eq 0 ]
    before=$(nr_tree_hash "$NRUN_ROOT")
    bad=sha256:$(printf '0%.0s' $(seq 64))
    run "$NBUILD" -t os:4 "$(ctx "FROM debian:bookworm-slim@$bad" 'CMD ["bash"]')"
    [ "$status" -eq 1 ]
    [[ "$output" == *"Nodefile:1:6: FROM debian:bookworm-slim@$bad: digest mismatch: debian:bookworm-slim is $d in this store"*"--base-map 'debian:*=debian:*'"* ]]
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}

@test "FROM debian:...: a store image of that tag and --base-map win over making one" {
    # debian:trixie-slim is never made here: the store's image of that name is used
    run "$NRUN" tag debian:bookworm-slim debian:trixie-slim
    [ "$status" -eq 0 ]
    run "$NBUILD" --progress=plain -t win:1 "$(ctx 'FROM debian:trixie-slim' 'RUN grep -q "^12" /etc/debian_version')"
    [ "$status" -eq 0 ]
    [[ "$output" != *"base: "*"making"* ]]
    run "$NBUILD" --progress=plain --base-map 'debian:*=debian:bookworm-slim' -t win:2 \
        "$(ctx 'FROM debian:stable' 'RUN grep -q "^12" /etc/debian_version')"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM debian:stable: --base-map gives debian:bookworm-slim"* ]]
    [[ "$output" != *"making debian:trixie"* ]]
}

@test "nginx tags: versions, aliases and variants resolve offline to Debian's nginx, with a note; others refused" {
    stable=$(pin DEBIAN_DIST_DEFAULT)
    run unshare --net "$NRUN" base --list nginx nginx:stable nginx:1.27 nginx:alpine nginx:stable-alpine \
        nginx:1.27-alpine-slim nginx:mainline-alpine3.20-slim nginx:bookworm docker.io/library/nginx:1.26-alpine
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "nginx:latest nginx:debian-$stable  # nginx:latest: Debian $stable's nginx package"* ]]
    [[ "${lines[2]}" == "nginx:1.27 nginx:debian-$stable  # "*"not nginx 1.27" ]]
    [[ "${lines[4]}" == "nginx:stable-alpine nginx:debian-$stable  # "*"not nginx stable; Debian slim, glibc, not Alpine" ]]
    [[ "${lines[5]}" == "nginx:1.27-alpine-slim nginx:debian-$stable  "* ]]
    [[ "${lines[6]}" == "nginx:mainline-alpine3.20-slim nginx:debian-$stable  "* ]]
    [[ "${lines[7]}" == "nginx:bookworm nginx:debian-bookworm  "* ]]
    [[ "${lines[8]}" == "nginx:1.26-alpine nginx:debian-$stable  "* ]]
    for ref in nginx:perl nginx:1.27-perl nginx:alpine-otel nginx:2 nginx:1.x nginx:sid nginx:1.27-alpine-slim-slim; do
        run "$NRUN" base "$ref"
        [ "$status" -eq 2 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *"unknown base image"*"$ref"* ]]
    done
}

@test "nginx:stable-alpine: Docker's nginx image's shape on Debian's nginx (user nginx, conf.d, logs to stdout/stderr, temp files in /var/cache/nginx, SIGQUIT)" {
    run "$NR_REAL_NRUN" base nginx:stable-alpine
    [ "$status" -eq 0 ]
    [[ "$output" == *"Debian "*"'s nginx is "* ]] || [ -n "$(digest_of "$NRUN_ROOT" nginx:stable-alpine)" ]
    run skopeo inspect --config "oci:$NRUN_ROOT:nginx:stable-alpine"
    [ "$status" -eq 0 ]
    c=$output
    [ "$(jq -c .config.Cmd <<<"$c")" = '["nginx","-g","daemon off;"]' ]
    [ "$(jq -c .config.Entrypoint <<<"$c")" = '["/docker-entrypoint.sh"]' ]
    [ "$(jq -r .config.StopSignal <<<"$c")" = SIGQUIT ]
    [ "$(jq -c '.config.ExposedPorts | keys' <<<"$c")" = '["80/tcp"]' ]
    v=$(jq -r '.config.Env[] | select(startswith("NGINX_VERSION=")) | sub("NGINX_VERSION="; "")' <<<"$c")
    [[ "$v" =~ ^1\.[0-9]+\.[0-9]+$ ]]
    [[ "$(jq -r '.config.Labels["io.nrun.base.debian"]' <<<"$c")" == *" nginx=$v-"* ]]
    umoci unpack --image "$NRUN_ROOT:nginx:stable-alpine" "$W/ng" >/dev/null 2>&1
    r=$W/ng/rootfs
    grep -q '^user nginx;' "$r/etc/nginx/nginx.conf"
    grep -q 'include /etc/nginx/conf.d/\*.conf;' "$r/etc/nginx/nginx.conf"
    grep -q 'root /usr/share/nginx/html;' "$r/etc/nginx/conf.d/default.conf"
    grep -q '^nginx:x:101:101:' "$r/etc/passwd"
    grep -q '^nginx:x:101:' "$r/etc/group"
    [ "$(readlink "$r/var/log/nginx/access.log")" = /dev/stdout ]
    [ "$(readlink "$r/var/log/nginx/error.log")" = /dev/stderr ]
    [ -x "$r/docker-entrypoint.sh" ] && [ -x "$r/docker-entrypoint.d/20-envsubst-on-templates.sh" ]
    [ -x "$r/usr/bin/envsubst" ] && [ -x "$r/usr/sbin/nginx" ]
    [ ! -e "$r/usr/local/bin/node" ]
    # Docker's nginx keeps temporary files in /var/cache/nginx, which Dockerfiles chgrp/chown
    # (redoc: chgrp -R 0 /var/cache/nginx && chmod -R g+rwX /var/cache/nginx)
    [ "$(stat -c '%F %a %u:%g' "$r/var/cache/nginx")" = "directory 755 0:0" ]
    grep -q 'client_body_temp_path /var/cache/nginx/client_temp;' "$r/etc/nginx/nginx.conf"
    run nr_in_ns "$NBUILD" -t ngc:1 "$(ctx 'FROM nginx:stable-alpine' 'RUN chgrp -R 0 /var/cache/nginx && chmod -R g+rwX /var/cache/nginx')"
    echo "$output"
    [ "$status" -eq 0 ]
    # nginx accepts its configuration as the image has it (through the entrypoint)
    run rt_run --rm nginx:stable-alpine nginx -t
    [ "$status" -eq 0 ]
    [[ "$output" == *"20-envsubst-on-templates.sh"* ]]
    [[ "$output" == *"configuration file /etc/nginx/nginx.conf test is successful"* ]]
}

# build tests/apps/spa-nginx with Dockerfile $1 as $2, serve it on a free port; prints "ID PORT"
spa_serve() {
    nr_in_ns "$NBUILD" --progress=plain -f "$REPO/tests/apps/spa-nginx/$1" -t "$2" "$REPO/tests/apps/spa-nginx" >"$W/spa.log" 2>&1 ||
        { tail -20 "$W/spa.log" >&2; return 1; }
    local port id
    port=$(rt_free_port)
    id=$(rt_run -d -p "127.0.0.1:$port:80" "$2")
    for _ in $(seq 200); do nr_in_ns curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
    echo "$id $port"
}

@test "SPA: FROM node:20-alpine AS build, npm run build, FROM nginx:stable-alpine, COPY --from: served on -p, stopped by SIGQUIT" {
    read -r id port < <(spa_serve Dockerfile spa:1)
    [ -n "$id" ]
    grep -q "FROM nginx:stable-alpine" "$W/spa.log"
    run nr_in_ns curl -sf "http://127.0.0.1:$port/"
    [ "$status" -eq 0 ]
    [[ "$output" == *"spa index"* ]]
    run nr_in_ns curl -sf "http://127.0.0.1:$port/assets/app.js"
    [ "$output" = 'document.title = "spa";' ]
    # no try_files here: a deep link is nginx's 404
    run nr_in_ns curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/users/42"
    [ "$output" = 404 ]
    # the default site listens on [::]:80 too, as Docker's image makes it at
    # start: busybox wget's localhost (::1 first) answers, as a HEALTHCHECK asks it
    run "$NRUN" exec "$id" wget -qO- http://localhost/
    [[ "$output" == *"spa index"* ]]
    run "$NRUN" exec "$id" grep -c 'listen \[::\]:80;' /etc/nginx/conf.d/default.conf
    [ "$output" = 1 ]
    # the access log is the container's output
    run "$NRUN" logs "$id"
    [[ "$output" == *'"GET /assets/app.js HTTP/1.1" 200'* ]]
    run "$NRUN" stop "$id"
    [ "$status" -eq 0 ]
    run "$NRUN" logs "$id"
    [[ "$output" == *"signal 3 (SIGQUIT) received"* ]]
    [ "$("$NRUN" inspect "$id" | jq -r '.[0].State.Status')" = exited ]
}

@test "SPA with its own conf.d/default.conf (try_files \$uri /index.html): a deep link gets index.html" {
    read -r id port < <(spa_serve Dockerfile.router spa:2)
    [ -n "$id" ]
    run nr_in_ns curl -sf "http://127.0.0.1:$port/users/42/profile"
    [ "$status" -eq 0 ]
    [[ "$output" == *"spa index"* ]]
    run nr_in_ns curl -sf "http://127.0.0.1:$port/assets/app.js"
    [ "$output" = 'document.title = "spa";' ]
    "$NRUN" stop "$id" >/dev/null
}

@test "nginx templates: /etc/nginx/templates/*.template filled from the environment at start (envsubst), nginx's own \$vars kept" {
    c=$(ctx 'FROM nginx:alpine' 'RUN mkdir -p /etc/nginx/templates && rm /etc/nginx/conf.d/default.conf && printf "%s\n" "server {" "  listen \${PORT};" "  location / { return 200 \"\${GREETING} \$uri\\n\"; }" "}" >/etc/nginx/templates/site.conf.template')
    run nr_in_ns "$NBUILD" --progress=plain -t tpl:1 "$c"
    [ "$status" -eq 0 ]
    port=$(rt_free_port)
    id=$(rt_run -d -e PORT=8081 -e GREETING=hello -p "127.0.0.1:$port:8081" tpl:1)
    for _ in $(seq 200); do nr_in_ns curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
    run nr_in_ns curl -sf "http://127.0.0.1:$port/x/y"
    [ "$output" = "hello /x/y" ]
    "$NRUN" stop "$id" >/dev/null
}

@test "nginxinc/nginx-unprivileged:stable-alpine: nginx as user 101 on 8080 (pid and temp files in /tmp), COPY --chown=101:101 and a config replaced as 101, apk translated; nginx:* untouched" {
    stable=$(pin DEBIAN_DIST_DEFAULT)
    run unshare --net "$NRUN" base --list nginxinc/nginx-unprivileged:1.27-alpine docker.io/nginxinc/nginx-unprivileged:alpine-slim
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "nginxinc/nginx-unprivileged:1.27-alpine nginxinc/nginx-unprivileged:debian-$stable  # "*"; as user 101 on port 8080" ]]
    [[ "${lines[1]}" == "nginxinc/nginx-unprivileged:alpine-slim nginxinc/nginx-unprivileged:debian-$stable  "* ]]
    run unshare --net "$NRUN" base --list nginxinc/nginx-unprivileged:1.27-perl
    [ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"nginxinc/nginx-unprivileged:1.27-perl: unknown variant"* ]]
    before=$(digest_of "$NRUN_ROOT" nginx:stable-alpine)
    # made offline from the cached nginx rootfs by the FROM; the usual non-root SPA steps (no apk in
    # the image: `apk info` runs translated)
    c=$(ctx 'FROM nginxinc/nginx-unprivileged:stable-alpine' 'USER root' 'RUN apk info >/dev/null' 'USER 101' \
        'COPY --chown=101:101 index.html /usr/share/nginx/html/index.html' \
        'RUN id -u >/usr/share/nginx/html/uid.txt && printf "server {\n listen 8080;\n listen [::]:8080;\n root /usr/share/nginx/html;\n add_header X-Un 1;\n}\n" >/etc/nginx/conf.d/default.conf')
    echo '<p>unpriv site</p>' >"$c/index.html"
    run nr_in_ns "$NBUILD" --progress=plain -t unpriv:1 "$c"
    [ "$status" -eq 0 ]
    [ "$(digest_of "$NRUN_ROOT" nginx:stable-alpine)" = "$before" ]
    run skopeo inspect --config "oci:$NRUN_ROOT:nginxinc/nginx-unprivileged:stable-alpine"
    [ "$(jq -c '[.config.User, .config.ExposedPorts, .config.StopSignal]' <<<"$output")" = '["101",{"8080/tcp":{}},"SIGQUIT"]' ]
    port=$(rt_free_port)
    id=$(rt_run -d -p "127.0.0.1:$port:8080" unpriv:1)
    for _ in $(seq 200); do nr_in_ns curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
    run nr_in_ns curl -si "http://127.0.0.1:$port/"
    [[ "$output" == *"X-Un: 1"*"unpriv site"* ]]
    run nr_in_ns curl -sf "http://127.0.0.1:$port/uid.txt"
    [ "$output" = 101 ]
    # the master runs as 101 with its pid file and temp files in /tmp
    run "$NRUN" exec "$id" sh -c 'stat -c %u "/proc/$(cat /tmp/nginx.pid)"; ls -d /tmp/client_temp; wget -qO- http://localhost:8080/'
    [[ "$output" == "101"*"/tmp/client_temp"*"unpriv site"* ]]
    "$NRUN" stop "$id" >/dev/null
}
