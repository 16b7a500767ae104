# An npm registry on 127.0.0.1 for build tests, offline: it serves the
# tarballs `make deps` fetched for the examples' lock files
# (tests/lib/npm_tarballs.sh), over HTTPS with a certificate from a CA this
# file makes (which no image trusts: the build gets it with --host-ca), as
# an intercepting proxy would present.
#   npmreg_start DIR   sets NPMREG_URL, NPMREG_CA (the CA's PEM) and
#                      NPMREG_RC (an .npmrc naming the registry, for
#                      nbuild --secret id=npmrc,src=$NPMREG_RC)
#   npmreg_stop DIR
# With NPMREG_NETNS set, the registry listens in that network namespace
# (a test file's, where its builds run) instead of the host's loopback.

NPMREG_TARBALLS=${NPMREG_TARBALLS:-$NRUN_CACHE_DIR/npm-tarballs}

npmreg_start() {
    local w=$1
    mkdir -p "$w"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nrun-test-ca \
        -keyout "$w/ca.key" -out "$w/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$w/srv.key" -out "$w/srv.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >"$w/san.ext"
    openssl x509 -req -in "$w/srv.csr" -CA "$w/ca.pem" -CAkey "$w/ca.key" -CAcreateserial -days 2 \
        -extfile "$w/san.ext" -out "$w/srv.pem" 2>/dev/null
    ${NPMREG_NETNS:+nsenter --net=/run/netns/$NPMREG_NETNS} \
        python3 "$REPO/tests/lib/npm_registry.py" "$NPMREG_TARBALLS" "$w/port" "$w/srv.pem" "$w/srv.key" &
    echo $! >"$w/registry.pid"
    for _ in $(seq 200); do [ -s "$w/port" ] && break; sleep 0.05; done
    [ -s "$w/port" ] || { echo "npm registry did not start" >&2; return 1; }
    export NPMREG_URL="https://127.0.0.1:$(cat "$w/port")/" NPMREG_CA="$w/ca.pem" NPMREG_RC="$w/npmrc"
    printf 'registry=%s\nfetch-retries=0\nupdate-notifier=false\n' "$NPMREG_URL" >"$NPMREG_RC"
}

npmreg_stop() {
    [ -s "$1/registry.pid" ] && kill "$(cat "$1/registry.pid")" 2>/dev/null
    rm -f "$1/registry.pid"
}

# Whether every tarball the examples' lock files name is in the cache.
npmreg_have_tarballs() {
    local l n
    for l in "$REPO"/examples/*/package-lock.json; do
        while read -r n; do
            [ -s "$NPMREG_TARBALLS/$n" ] || { echo "$NPMREG_TARBALLS/$n"; return 1; }
        done < <(jq -r '.packages | to_entries[] | select(.key != "")
            | "\(.key | sub("^.*node_modules/"; "") | ltrimstr("@") | gsub("/"; "-"))-\(.value.version).tgz"' "$l")
    done
}

# Whether every tarball lock file $1 names is in the cache.
npmreg_have_lock() {
    local n
    while read -r n; do
        [ -s "$NPMREG_TARBALLS/$n" ] || return 1
    done < <(jq -r '.packages | to_entries[] | select(.key != "")
        | "\(.key | sub("^.*node_modules/"; "") | ltrimstr("@") | gsub("/"; "-"))-\(.value.version).tgz"' "$1")
}
