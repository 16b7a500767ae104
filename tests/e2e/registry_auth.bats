#!/usr/bin/env bats
# Registry auth as Docker's: htpasswd (Basic) over TLS with a certificate the
# test makes, the Bearer token flow with a token server (tests/lib/
# token-server.js, the external service the registry trusts), credentials
# in Docker's config.json (auths, or a docker-credential helper), nrun
# login / logout, TLS verification and --tls-verify=false.

bats_require_minimum_version 1.5.0
load ../lib/common
load ../lib/registry
load ../lib/runtime

setup_file() {
    reg_setup_file auth
    # A CA and a server certificate for 127.0.0.1.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nrun-test-ca -keyout "$WORK/ca.key" \
        -out "$WORK/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$WORK/srv.key" -out "$WORK/srv.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >"$WORK/san.ext"
    openssl x509 -req -in "$WORK/srv.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial -days 2 \
        -extfile "$WORK/san.ext" -out "$WORK/srv.pem" 2>/dev/null
    htpasswd -Bbn alice 's3cret!' >"$WORK/htpasswd"
    # The token server's signing key and certificate.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nrun-token -keyout "$WORK/tok.key" \
        -out "$WORK/tok.pem" 2>/dev/null
}

teardown_file() {
    [ -f "$WORK/token.pid" ] && kill "$(cat "$WORK/token.pid")" 2>/dev/null || true
    reg_teardown_file
}

setup() {
    export DOCKER_CONFIG=$WORK/docker-$BATS_TEST_NUMBER
    rm -rf "$DOCKER_CONFIG"
}

teardown() { nr_registry_stop 2>/dev/null || true; }

start_htpasswd_tls() {
    NR_REGISTRY_SCHEME=https NR_REGISTRY_HTTP_YAML="  tls:
    certificate: $WORK/srv.pem
    key: $WORK/srv.key" NR_REGISTRY_YAML="auth:
  htpasswd:
    realm: nrun-test
    path: $WORK/htpasswd" nr_registry_start
}

@test "htpasswd over TLS: login (checked, stored in config.json), push, pull, logout" {
    start_htpasswd_tls
    REG=$NR_REGISTRY
    # anonymous: refused, with the way out named
    run "$NRUN" push --ca-file "$WORK/ca.pem" bb:1 "$REG/bb:1"
    [ "$status" -ne 0 ]
    [[ $output == *"authentication required (nrun login $REG)"* ]]
    # a wrong password: login fails and stores nothing
    run "$NRUN" login -u alice --password-stdin --ca-file "$WORK/ca.pem" "$REG" <<<"wrong"
    [ "$status" -ne 0 ]
    [[ $output == *"HTTP 401"* ]]
    [ ! -e "$DOCKER_CONFIG/config.json" ]
    run "$NRUN" login -u alice --password-stdin --ca-file "$WORK/ca.pem" "$REG" <<<'s3cret!'
    [ "$status" -eq 0 ]
    [[ $output == *"Login Succeeded"* ]]
    [ "$(jq -r --arg r "$REG" '.auths[$r].auth' "$DOCKER_CONFIG/config.json" | base64 -d)" = 'alice:s3cret!' ]
    [ "$(stat -c %a "$DOCKER_CONFIG/config.json")" = 600 ]
    run "$NRUN" push --ca-file "$WORK/ca.pem" bb:1 "$REG/bb:1"
    [ "$status" -eq 0 ]
    # skopeo reads it with the same credentials file
    run skopeo inspect --cert-dir "$WORK/certs.d" --authfile "$DOCKER_CONFIG/config.json" --tls-verify=false "docker://$REG/bb:1"
    [ "$status" -eq 0 ]
    want=$(jq -r .Digest <<<"$output")
    run "$NRUN" --root "$WORK/pull1" pull -q --ca-file "$WORK/ca.pem" "$REG/bb:1"
    [ "$status" -eq 0 ]
    [ "$output" = "$want" ]
    run "$NRUN" logout "$REG"
    [ "$status" -eq 0 ]
    [ "$(jq -r --arg r "$REG" '.auths[$r] // "gone"' "$DOCKER_CONFIG/config.json")" = gone ]
    run "$NRUN" logout "$REG"
    [ "$status" -ne 0 ]
    [[ $output == *"not logged in to $REG"* ]]
}

@test "TLS: an untrusted certificate is refused (no http fallback), --tls-verify=false accepts it" {
    start_htpasswd_tls
    REG=$NR_REGISTRY
    printf 's3cret!' | "$NRUN" login -u alice --password-stdin --ca-file "$WORK/ca.pem" "$REG" >/dev/null
    "$NRUN" push --ca-file "$WORK/ca.pem" bb:1 "$REG/bb:1" >/dev/null
    run "$NRUN" --root "$WORK/pull2" pull "$REG/bb:1"
    [ "$status" -ne 0 ]
    [[ $output == *"https://$REG/v2/"*"SSL peer certificate"* ]] || [[ $output == *"https://$REG/v2/"*"certificate"* ]]
    [[ $output != *"http://$REG"* ]]
    run "$NRUN" --root "$WORK/pull2" pull -q --tls-verify=false "$REG/bb:1"
    [ "$status" -eq 0 ]
    [ "$output" = "$("$NRUN" image inspect bb:1 | jq -r '.[0].Digest')" ]
}

start_token() {
    rm -f "$WORK/token.port" "$WORK/token.log"
    node "$REPO/tests/lib/token-server.js" --key "$WORK/tok.key" --cert "$WORK/tok.pem" --users 'alice:tok3n' \
        --issuer nrun-test-issuer --log "$WORK/token.log" --port-file "$WORK/token.port" 3>&- &
    echo $! >"$WORK/token.pid"
    for _ in $(seq 1 100); do [ -s "$WORK/token.port" ] && break; sleep 0.1; done
    [ -s "$WORK/token.port" ]
    NR_REGISTRY_YAML="auth:
  token:
    realm: http://127.0.0.1:$(cat "$WORK/token.port")/token
    service: nrun-test-registry
    issuer: nrun-test-issuer
    rootcertbundle: $WORK/tok.pem" nr_registry_start
}

stop_token() { kill "$(cat "$WORK/token.pid")" 2>/dev/null || true; rm -f "$WORK/token.pid"; }

@test "Bearer token flow: anonymous refused, login, push and pull with tokens per scope (cached)" {
    start_token
    REG=$NR_REGISTRY
    run "$NRUN" push bb:1 "$REG/team/bb:1"
    [ "$status" -ne 0 ]
    [[ $output == *"HTTP 401"* ]]
    run "$NRUN" login -u alice --password-stdin "$REG" <<<"bad"
    [ "$status" -ne 0 ]
    run "$NRUN" login -u alice --password-stdin "$REG" <<<"tok3n"
    [ "$status" -eq 0 ]
    : >"$WORK/token.log"
    run "$NRUN" push bb:1 "$REG/team/bb:1"
    [ "$status" -eq 0 ]
    # the token asked for the push scope, with the registry's service, as alice
    grep -q '"user":"alice","service":"nrun-test-registry","scopes":\["repository:team/bb:pull,push"\]' "$WORK/token.log"
    # one token per scope for the whole push (ping + one scope), not one per request
    [ "$(wc -l <"$WORK/token.log")" -le 2 ]
    run "$NRUN" --root "$WORK/pull3" pull -q "$REG/team/bb:1"
    [ "$status" -eq 0 ]
    [ "$output" = "$("$NRUN" image inspect bb:1 | jq -r '.[0].Digest')" ]
    grep -q '"scopes":\["repository:team/bb:pull"\]' "$WORK/token.log"
    stop_token
}

@test "credential helpers: credHelpers / credsStore run docker-credential-*, login stores through them" {
    start_token
    REG=$NR_REGISTRY
    mkdir -p "$DOCKER_CONFIG" "$WORK/helper-store"
    export NRTEST_CRED_DIR=$WORK/helper-store PATH="$REPO/tests/lib:$PATH"
    jq -n --arg r "$REG" '{credHelpers: {($r): "nrtest"}}' >"$DOCKER_CONFIG/config.json"
    run "$NRUN" login -u alice --password-stdin "$REG" <<<"tok3n"
    [ "$status" -eq 0 ]
    # stored by the helper, not in config.json
    [ "$(jq -r '.auths // "none"' "$DOCKER_CONFIG/config.json")" = none ]
    [ "$(cat "$WORK"/helper-store/* | jq -r .Username)" = alice ]
    run "$NRUN" push bb:1 "$REG/helper/bb:1"
    [ "$status" -eq 0 ]
    # credsStore applies to every registry the same way
    jq -n '{credsStore: "nrtest"}' >"$DOCKER_CONFIG/config.json"
    run "$NRUN" --root "$WORK/pull4" pull -q "$REG/helper/bb:1"
    [ "$status" -eq 0 ]
    run "$NRUN" logout "$REG"
    [ "$status" -eq 0 ]
    [ -z "$(ls "$WORK/helper-store")" ]
    run "$NRUN" --root "$WORK/pull5" pull "$REG/helper/bb:1"
    [ "$status" -ne 0 ]
    # a helper that is not installed is named
    jq -n '{credsStore: "missing-one"}' >"$DOCKER_CONFIG/config.json"
    run "$NRUN" --root "$WORK/pull5" pull "$REG/helper/bb:1"
    [ "$status" -ne 0 ]
    [[ $output == *"docker-credential-missing-one not found"* ]]
    stop_token
}
