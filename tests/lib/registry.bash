# A throw-away docker-registry (distribution) on 127.0.0.1 for push/pull
# tests.  nr_registry_start sets and exports NR_REGISTRY_PID,
# NR_REGISTRY_PORT, NR_REGISTRY (host:port) and NR_REGISTRY_DIR (config,
# storage, log); nr_registry_stop stops it by PID and removes the directory.
# The directory is also recorded in $BATS_FILE_TMPDIR, so a test that fails
# before stopping it does not leak it: call nr_registry_stop in teardown_file too.

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
  level: error
storage:
  filesystem:
    rootdirectory: $NR_REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $NR_REGISTRY
EOC
    # fd 3 closed: bats waits for every holder of its output fds.
    /usr/bin/docker-registry serve "$NR_REGISTRY_DIR/config.yml" >"$NR_REGISTRY_DIR/log" 2>&1 3>&- &
    NR_REGISTRY_PID=$!
    echo "$NR_REGISTRY_PID" >"$NR_REGISTRY_DIR/pid"
    echo "$NR_REGISTRY_DIR" >>"${BATS_FILE_TMPDIR:-/tmp}/nrun-registry.dirs"
    local i
    for i in $(seq 1 100); do
        if curl -fsS "http://$NR_REGISTRY/v2/" >/dev/null 2>&1; then
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
