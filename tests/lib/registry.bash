# A throw-away docker-registry (distribution) on 127.0.0.1 for push/pull
# tests.  nr_registry_start sets and exports NR_REGISTRY_PID,
# NR_REGISTRY_PORT, NR_REGISTRY (host:port) and NR_REGISTRY_DIR (config,
# storage, log); nr_registry_stop stops it by PID and removes the directory.
# The directory is also recorded in $BATS_FILE_TMPDIR, so a test that fails
# before stopping it does not leak it: call nr_registry_stop in teardown_file too.
# Optional, set before nr_registry_start: NR_REGISTRY_LOGLEVEL (default error;
# "info" logs every request), NR_REGISTRY_YAML (top-level config lines, e.g.
# auth:), NR_REGISTRY_HTTP_YAML (lines under http:, indented by 2, e.g. tls:),
# NR_REGISTRY_SCHEME=https when that config serves TLS.

nr_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

nr_registry_start() {
    export NR_REGISTRY_DIR NR_REGISTRY_PORT NR_REGISTRY NR_REGISTRY_PID
    NR_REGISTRY_DIR=$(mktemp -d /tmp/nrun-registry.XXXXXX)
    NR_REGISTRY_PORT=$(nr_free_port)
    NR_REGISTRY=127.0.0.1:$NR_REGISTRY_PORT
    mkdir -p "$NR_REGISTRY_DIR/data"
    cat >"$NR_REGISTRY_DIR/config.yml" <<EOC
version: 0.1
log:
  level: ${NR_REGISTRY_LOGLEVEL:-error}
storage:
  filesystem:
    rootdirectory: $NR_REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $NR_REGISTRY
${NR_REGISTRY_HTTP_YAML:-}
${NR_REGISTRY_YAML:-}
EOC
    # fd 3 closed: bats waits for every holder of its output fds.
    /usr/bin/docker-registry serve "$NR_REGISTRY_DIR/config.yml" >"$NR_REGISTRY_DIR/log" 2>&1 3>&- &
    NR_REGISTRY_PID=$!
    echo "$NR_REGISTRY_PID" >"$NR_REGISTRY_DIR/pid"
    echo "$NR_REGISTRY_DIR" >>"${BATS_FILE_TMPDIR:-/tmp}/nrun-registry.dirs"
    local i
    for i in $(seq 1 100); do
        # Any HTTP reply (an auth-protected registry says 401).
        if [ "$(curl -ks -o /dev/null -w '%{http_code}' "${NR_REGISTRY_SCHEME:-http}://$NR_REGISTRY/v2/")" != 000 ]; then
            return 0
        fi
        kill -0 "$NR_REGISTRY_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "docker-registry did not start on $NR_REGISTRY:" >&2
    cat "$NR_REGISTRY_DIR/log" >&2
    nr_registry_stop
    return 1
}

_nr_registry_stop_dir() {
    local dir=$1 pid=""
    case $dir in /tmp/nrun-registry.*) ;; *) return 0 ;; esac
    [ -f "$dir/pid" ] && pid=$(cat "$dir/pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
        grep -q docker-registry "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid"
        local i
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

# Stops the registry of this test, or (from teardown_file) every registry
# this test file started.
nr_registry_stop() {
    if [ -n "${NR_REGISTRY_DIR:-}" ]; then
        _nr_registry_stop_dir "$NR_REGISTRY_DIR"
    fi
    local list="${BATS_FILE_TMPDIR:-/tmp}/nrun-registry.dirs" d
    if [ -z "${NR_REGISTRY_DIR:-}" ] && [ -f "$list" ]; then
        while read -r d; do _nr_registry_stop_dir "$d"; done <"$list"
        rm -f "$list"
    fi
    NR_REGISTRY_PID= NR_REGISTRY_DIR=
}

# setup_file of the registry e2e tests: this file's store; nrun on the host
# (the registry listens on the host's 127.0.0.1, so nrun talks to it from
# the host's namespace, and containers run with --network none: no bridge is
# made there); WORK=/tmp/nrun-reg-$1.XXXXXX and the busybox image bb:1.
reg_setup_file() {
    nr_make_root
    NRUN=$NR_REAL_NRUN
    export WORK
    WORK=$(mktemp -d "/tmp/nrun-reg-$1.XXXXXX")
    rt_make_busybox_image
}

# nr_registry_start, with its address and directory kept in $WORK for the
# tests (setup_file's exports do not reach them otherwise).
reg_start() {
    nr_registry_start || return 1
    echo "$NR_REGISTRY" >"$WORK/registry"
    echo "$NR_REGISTRY_DIR" >"$WORK/registry.dir"
}

reg_teardown_file() {
    nr_registry_stop 2>/dev/null || true
    rt_rm_all
    case ${WORK:-} in /tmp/nrun-reg-*.*) rm -rf "$WORK" ;; esac
    nr_remove_root
}

# setup_file / teardown_file of the hostile-registry tests
# (tests/security/hostile-registry.py on the host's 127.0.0.1, nrun on the
# host); its requests are logged to $HOSTILE_LOG, setup sets REG.
reg_hostile_setup_file() {
    nr_make_root
    NRUN=$NR_REAL_NRUN
    export HOSTILE_LOG=$BATS_FILE_TMPDIR/hostile.log
    python3 "$REPO/tests/security/hostile-registry.py" --log "$HOSTILE_LOG" \
        --port-file "$BATS_FILE_TMPDIR/port" 3>&- &
    echo $! >"$BATS_FILE_TMPDIR/hostile.pid"
    for _ in $(seq 1 100); do [ -s "$BATS_FILE_TMPDIR/port" ] && break; sleep 0.1; done
    [ -s "$BATS_FILE_TMPDIR/port" ] || return 1
    "$NRUN" images >/dev/null # the store exists before the first hash
}

reg_hostile_teardown_file() {
    kill "$(cat "$BATS_FILE_TMPDIR/hostile.pid")" 2>/dev/null || true
    nr_remove_root
}

reg_hostile_setup() { REG=127.0.0.1:$(cat "$BATS_FILE_TMPDIR/port"); }

# The store is as it was before a refused pull: its tree hash is still $1
# (nr_tree_hash), no temp file, no tag.
reg_store_unchanged() {
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$1" ] || { echo "store changed"; return 1; }
    [ -z "$(find "$NRUN_ROOT/blobs" -name '.tmp-*')" ] || { echo "temp file left"; return 1; }
    [ "$(jq '.manifests | length' "$NRUN_ROOT/index.json")" -eq 0 ]
}
