#!/usr/bin/env bats
# RUN npm ci on node:20-slim (Debian slim + npm) behind a TLS interception, as on this machine's network: the
# registry is a local HTTPS server (127.0.0.1) whose certificate comes from a
# CA the test makes, which the image does not trust.  nbuild hands the
# host's trust anchors (here --host-ca=the test's CA) to RUN steps only.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    W=$BATS_FILE_TMPDIR
    # a CA and a server certificate for 127.0.0.1 signed by it
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nrun-test-ca \
        -keyout "$W/ca.key" -out "$W/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$W/srv.key" -out "$W/srv.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >"$W/san.ext"
    openssl x509 -req -in "$W/srv.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial -days 2 \
        -extfile "$W/san.ext" -out "$W/srv.pem" 2>/dev/null
    # a one-package registry
    mkdir -p "$W/pkg" "$W/reg/nrun-test-dep/-"
    printf '{"name":"nrun-test-dep","version":"1.0.0","main":"index.js"}\n' >"$W/pkg/package.json"
    printf 'module.exports = "dep-ok";\n' >"$W/pkg/index.js"
    (cd "$W/pkg" && npm pack --silent >/dev/null && mv nrun-test-dep-1.0.0.tgz "$W/reg/nrun-test-dep/-/")
    python3 - "$W" <<'EOF' &
import http.server, ssl, sys, os, socketserver
w = sys.argv[1]
os.chdir(w + "/reg")
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
    def guess_type(self, p): return "application/json" if not p.endswith(".tgz") else "application/octet-stream"
    def translate_path(self, p):
        p = super().translate_path(p)
        return p if p.endswith(".tgz") else p.rstrip("/") + "/index.json"
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain(w + "/srv.pem", w + "/srv.key")
s.socket = c.wrap_socket(s.socket, server_side=True)
open(w + "/port.tmp", "w").write(str(s.server_address[1]))
os.rename(w + "/port.tmp", w + "/port")
s.serve_forever()
EOF
    echo $! >"$W/server.pid"
    for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
    PORT=$(cat "$W/port")
    REG="https://127.0.0.1:$PORT/"
    integrity="sha512-$(openssl dgst -sha512 -binary "$W/reg/nrun-test-dep/-/nrun-test-dep-1.0.0.tgz" | base64 -w0)"
    cat >"$W/reg/nrun-test-dep/index.json" <<EOF
{"name":"nrun-test-dep","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"nrun-test-dep","version":"1.0.0",
"dist":{"tarball":"${REG}nrun-test-dep/-/nrun-test-dep-1.0.0.tgz","integrity":"$integrity"}}}}
EOF
    # the app, its lock file made against that registry
    export CTX="$W/app"
    mkdir -p "$CTX"
    printf '{"name":"app","version":"1.0.0","dependencies":{"nrun-test-dep":"1.0.0"}}\n' >"$CTX/package.json"
    (cd "$CTX" && npm install --package-lock-only --no-audit --no-fund --cafile "$W/ca.pem" \
        --omit-lockfile-registry-resolved=false --registry "$REG" >/dev/null 2>&1)
    cat >"$CTX/Nodefile" <<EOF
FROM node:20-slim
ENV npm_config_registry=$REG npm_config_update_notifier=false npm_config_fetch_retries=0
WORKDIR /app
COPY package*.json ./
RUN npm ci --no-audit --no-fund
CMD ["node", "-e", "console.log(require('nrun-test-dep'))"]
EOF
    export W
}

teardown_file() {
    [ -s "$W/server.pid" ] && kill "$(cat "$W/server.pid")" 2>/dev/null
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}

@test "RUN npm ci through an intercepting CA: works with the host's trust anchors, which stay out of the image" {
    grep -q '"resolved": "https://127.0.0.1' "$CTX/package-lock.json"
    run "$NBUILD" --host-ca="$W/ca.pem" -t npmapp:1 "$CTX"
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    run rt_run --rm npmapp:1
    [ "$output" = dep-ok ]
    # the CA is in no layer and not in the config
    body=$(sed -n 2p "$W/ca.pem")
    m=$(jq -r --arg r npmapp:1 '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$r) | .digest' \
        "$NRUN_ROOT/index.json")
    mf="$NRUN_ROOT/blobs/sha256/${m#sha256:}"
    for l in $(jq -r '.layers[].digest' "$mf"); do
        ! tar xzOf "$NRUN_ROOT/blobs/sha256/${l#sha256:}" 2>/dev/null | grep -qF "$body" || false
    done
    cfgd=$(jq -r .config.digest "$mf")
    ! grep -qE 'CERT|nrun-host-ca|BEGIN' "$NRUN_ROOT/blobs/sha256/${cfgd#sha256:}" || false
}

@test "RUN npm ci without the trust anchors (--host-ca=false) fails on the certificate, nothing tagged" {
    run "$NBUILD" --no-cache --host-ca=false -t npmapp:2 "$CTX"
    echo "$output" | tail -5
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:5:1:"* ]]
    [[ "$output" == *SELF_SIGNED* || "$output" == *UNABLE_TO* || "$output" == *certificate* ]]
    ! "$NRUN" images | grep -q 'npmapp *2' || false
}

@test "RUN npm ci is reproducible: two empty stores, the same SOURCE_DATE_EPOCH, the same image digest" {
    for i in 1 2; do
        r=$(mktemp -d /tmp/nrun-test.XXXXXX)
        echo "$r" >>"$W/roots"
        SOURCE_DATE_EPOCH=1700000000 run "$NBUILD" --root "$r" --no-cache --host-ca="$W/ca.pem" -q -t rep:1 "$CTX"
        echo "$output" | tail -3
        [ "$status" -eq 0 ]
        echo "${lines[-1]}" >"$W/digest$i"
    done
    d1=$(cat "$W/digest1") d2=$(cat "$W/digest2")
    if [ "$d1" != "$d2" ]; then
        r1=$(sed -n 1p "$W/roots") r2=$(sed -n 2p "$W/roots")
        for r in "$r1" "$r2"; do
            m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="rep:1") | .digest' "$r/index.json")
            l=$(jq -r '.layers[-1].digest' "$r/blobs/sha256/${m#sha256:}")
            tar tvzf "$r/blobs/sha256/${l#sha256:}" 2>/dev/null | sort >"$r.list"
            mkdir -p "$r.x" && tar -C "$r.x" -xzf "$r/blobs/sha256/${l#sha256:}" 2>/dev/null
        done
        diff "$r1.list" "$r2.list" | head -20
        diff -rq "$r1.x" "$r2.x" | head -10
        rm -rf "$r1.x" "$r2.x"
    fi
    while read -r r; do (NRUN_ROOT=$r; nr_remove_root); rm -f "$r.list"; done <"$W/roots"
    [ "$d1" = "$d2" ]
}
