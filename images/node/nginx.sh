# shellcheck shell=bash
# Sourced by mkdebian.sh for nginx:* (flavour os-nginx): turn a Debian slim
# rootfs with Debian's nginx package installed into the shape of Docker's
# official nginx image.  Our own files; nginx and envsubst are Debian's.
#   nginx_setup ROOTFS   user/group nginx (101), /etc/nginx/nginx.conf with
#                        `user nginx;`, temp files in /var/cache/nginx and
#                        conf.d/*.conf, conf.d/default.conf
#                        serving /usr/share/nginx/html on port 80, logs to
#                        the container's stdout/stderr, /docker-entrypoint.sh
#                        and /docker-entrypoint.d/ (templates through envsubst)
#   nginx_version ROOTFS the upstream version of the installed nginx (1.26.3)

nginx_version() {
    dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Version}' nginx | sed 's/^[0-9]*://; s/-[^-]*$//'
}

nginx_setup() {
    local r=$1 e=/etc/nginx
    [ -x "$r/usr/sbin/nginx" ] || die "Debian's nginx package did not install /usr/sbin/nginx"
    # the official image's ids; refused rather than doubled if Debian took them
    rootfs_nolink "$r" etc/group etc/gshadow etc/passwd etc/shadow etc/nginx/sites-enabled etc/nginx/conf.d/default.conf \
        etc/nginx/templates etc/nginx/nginx.conf usr/share/nginx/html/index.html usr/share/nginx/html/50x.html \
        var/log/nginx var/cache/nginx docker-entrypoint.d/20-envsubst-on-templates.sh docker-entrypoint.sh \
        docker-entrypoint.d/10-listen-on-ipv6-by-default.sh
    ! grep -q '^[^:]*:[^:]*:101:' "$r/etc/passwd" "$r/etc/group" || die "uid or gid 101 is taken in the $suite rootfs"
    echo 'nginx:x:101:' >>"$r/etc/group"
    echo 'nginx:!::' >>"$r/etc/gshadow"
    echo 'nginx:x:101:101:nginx:/nonexistent:/usr/sbin/nologin' >>"$r/etc/passwd"
    echo "nginx:!:$((epoch / 86400)):0:99999:7:::" >>"$r/etc/shadow"
    # Debian's default site is not part of this image's shape (conf.d is)
    rm -f "$r$e/sites-enabled/default"
    mkdir -p "$r$e/conf.d" "$r$e/templates" "$r/usr/share/nginx/html" "$r/docker-entrypoint.d"
    # Docker's nginx keeps its temporary files in /var/cache/nginx (compiled
    # in; Debian's are in /var/lib/nginx): Dockerfiles chown/chgrp it to run
    # nginx as another user, so it exists and nginx.conf points there
    mkdir -p "$r/var/cache/nginx"
    chmod 0755 "$r/var/cache/nginx"
    cat >"$r$e/nginx.conf" <<'X'
# nrun's nginx image (Debian's nginx package): the main context.  Sites go in
# /etc/nginx/conf.d/*.conf (or /etc/nginx/templates/*.template, filled from
# the environment when the container starts).
user nginx;
worker_processes auto;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log notice;
include /etc/nginx/modules-enabled/*.conf;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/access.log combined;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    client_body_temp_path /var/cache/nginx/client_temp;
    proxy_temp_path /var/cache/nginx/proxy_temp;
    fastcgi_temp_path /var/cache/nginx/fastcgi_temp;
    uwsgi_temp_path /var/cache/nginx/uwsgi_temp;
    scgi_temp_path /var/cache/nginx/scgi_temp;
    include /etc/nginx/conf.d/*.conf;
}
X
    cat >"$r$e/conf.d/default.conf" <<'X'
# The default site: the files of /usr/share/nginx/html on port 80.
server {
    listen 80;
    server_name localhost;
    root /usr/share/nginx/html;

    location / {
        index index.html index.htm;
    }

    error_page 500 502 503 504 /50x.html;
}
X
    cat >"$r/usr/share/nginx/html/index.html" <<'X'
<!DOCTYPE html>
<html><head><title>nginx</title></head>
<body><h1>nginx is serving</h1><p>Put your site in /usr/share/nginx/html.</p></body></html>
X
    cat >"$r/usr/share/nginx/html/50x.html" <<'X'
<!DOCTYPE html>
<html><head><title>Server error</title></head>
<body><h1>The server could not answer this request.</h1></body></html>
X
    rm -f "$r/var/log/nginx/access.log" "$r/var/log/nginx/error.log"
    mkdir -p "$r/var/log/nginx"
    ln -s /dev/stdout "$r/var/log/nginx/access.log"
    ln -s /dev/stderr "$r/var/log/nginx/error.log"
    cat >"$r/docker-entrypoint.sh" <<'X'
#!/bin/sh
# nrun's nginx image: when the command is nginx, run the executable
# /docker-entrypoint.d/*.sh in order (and source *.envsh) first, as Docker's
# nginx image does; then the command.  NGINX_ENTRYPOINT_QUIET_LOGS=1 quiets it.
set -e
say() { [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "$0: $*"; }
if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
    for f in /docker-entrypoint.d/*; do
        [ -f "$f" ] || continue
        case $f in
        *.envsh)
            if [ -x "$f" ]; then say "sourcing $f"; . "$f"; else say "ignoring $f, not executable"; fi ;;
        *.sh)
            if [ -x "$f" ]; then say "running $f"; "$f"; else say "ignoring $f, not executable"; fi ;;
        *) say "ignoring $f" ;;
        esac
    done
fi
exec "$@"
X
    cat >"$r/docker-entrypoint.d/20-envsubst-on-templates.sh" <<'X'
#!/bin/sh
# Each /etc/nginx/templates/NAME.template becomes /etc/nginx/conf.d/NAME with
# the ${VAR}s of variables set in the environment replaced (others, like
# nginx's own $uri, stay).  NGINX_ENVSUBST_TEMPLATE_DIR, _SUFFIX and
# NGINX_ENVSUBST_OUTPUT_DIR move them; NGINX_ENVSUBST_FILTER (a regular
# expression) keeps only the variables whose names match it.
set -e
dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
out=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
[ -d "$dir" ] || exit 0
# the names themselves (not `env`'s lines: a value with a newline and "uri=" in it
# is no variable uri, and ${uri} must stay for nginx)
vars=$(awk 'END { f = ENVIRON["NGINX_ENVSUBST_FILTER"]
    for (n in ENVIRON) if (n ~ /^[A-Za-z_][A-Za-z0-9_]*$/ && n ~ f) printf "${%s} ", n }' </dev/null)
find "$dir" -follow -type f -name "*$suffix" | while read -r t; do
    rel=${t#"$dir"/}
    o=$out/${rel%"$suffix"}
    if [ ! -w "$out" ]; then
        echo "$0: $out is not writable: $t not used" >&2
        exit 0
    fi
    mkdir -p "$(dirname "$o")"
    envsubst "$vars" <"$t" >"$o"
    echo "$0: $t -> $o"
done
X
    # the default site on [::]:80 too when the container has IPv6, as Docker's
    # image does at start (a HEALTHCHECK's `wget http://localhost/` tries ::1
    # first); only while default.conf is the image's own (its sha256 below)
    local sum
    sum=$(sha256sum "$r$e/conf.d/default.conf" | cut -d' ' -f1)
    cat >"$r/docker-entrypoint.d/10-listen-on-ipv6-by-default.sh" <<X
#!/bin/sh
# The default site listens on [::]:80 as well as port 80 when the container
# has IPv6 and /etc/nginx/conf.d/default.conf is still this image's own; a
# file of yours, or a read-only one, is left as it is.
say() { [ -n "\${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "\$0: \$*"; }
f=/etc/nginx/conf.d/default.conf
[ -e /proc/net/if_inet6 ] || { say "no IPv6 here: default.conf left as it is"; exit 0; }
[ -f "\$f" ] && [ -w "\$f" ] || exit 0
[ "\$(sha256sum "\$f" | cut -d' ' -f1)" = $sum ] || { say "\$f is not the image's own: left as it is"; exit 0; }
sed -i 's/^    listen 80;\$/    listen 80;\n    listen [::]:80;/' "\$f"
say "the default site listens on [::]:80 too"
X
    chmod 0755 "$r/docker-entrypoint.sh" "$r/docker-entrypoint.d/20-envsubst-on-templates.sh" \
        "$r/docker-entrypoint.d/10-listen-on-ipv6-by-default.sh"
    chmod 0644 "$r$e/nginx.conf" "$r$e/conf.d/default.conf" "$r/usr/share/nginx/html/"*.html
}

# nginxinc/nginx-unprivileged (flavour os-nginx-unpriv): the image of
# nginx_setup made to run as user 101 (USER 101 in its config): no `user`
# line, the pid file and temporary files in /tmp, the default site on port
# 8080, and /var/cache/nginx, /etc/nginx and /usr/share/nginx/html owned by
# 101:0 and group-writable (an arbitrary uid of group 0 replaces a config or
# the site, as `COPY --chown=101:101 dist /usr/share/nginx/html` does).
nginx_unpriv() {
    local r=$1 e=/etc/nginx old new
    old=$(sha256sum "$r$e/conf.d/default.conf" | cut -d' ' -f1)
    sed -i '/^user nginx;$/d; s|^pid /run/nginx.pid;$|pid /tmp/nginx.pid;|; s|/var/cache/nginx/\([a-z]*_temp\);|/tmp/\1;|' \
        "$r$e/nginx.conf"
    sed -i '1s|^# nrun.s nginx image|# nrun'"'"'s nginx-unprivileged image|' "$r$e/nginx.conf"
    sed -i 's/^    listen 80;$/    listen 8080;/; s/on port 80\.$/on port 8080./' "$r$e/conf.d/default.conf"
    grep -q '^    listen 8080;$' "$r$e/conf.d/default.conf" || die "default.conf: no 'listen 80;' to move to 8080"
    ! grep -q '^user \|/run/nginx.pid\|/var/cache/nginx/' "$r$e/nginx.conf" || die "nginx.conf: not made unprivileged"
    new=$(sha256sum "$r$e/conf.d/default.conf" | cut -d' ' -f1)
    sed -i "s/\[::\]:80\b/[::]:8080/g; s/listen 80;/listen 8080;/g; s/port 80 /port 8080 /; s/$old/$new/" \
        "$r/docker-entrypoint.d/10-listen-on-ipv6-by-default.sh"
    grep -q "$new" "$r/docker-entrypoint.d/10-listen-on-ipv6-by-default.sh" || die "the IPv6 script: its sha256 not moved"
    chown -R 101:0 "$r/var/cache/nginx" "$r$e" "$r/usr/share/nginx/html"
    chmod -R g+w "$r/var/cache/nginx" "$r$e" "$r/usr/share/nginx/html"
}
