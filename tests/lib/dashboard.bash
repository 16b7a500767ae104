# `nrun dashboard` for the tests: started with the real nrun on the host's
# 127.0.0.1 (it talks to the containers' control sockets, not their ports).
# dash_start [ARGS...] sets DASH_PID, DASH_ADDR (IP:PORT), DASH_TOKEN;
# DASH_WRAP (a command prefix, e.g. nsenter into a namespace) runs it elsewhere.
dash_start() {
    local out=$BATS_FILE_TMPDIR/dash.out
    : >"$out"
    ${DASH_WRAP:-} "$NR_REAL_NRUN" dashboard "$@" >"$out" 2>"$BATS_FILE_TMPDIR/dash.err" &
    DASH_PID=$!
    for _ in $(seq 100); do grep -q '^nrun dashboard: http://' "$out" && break; sleep 0.1; done
    local url
    url=$(sed -n 's|^nrun dashboard: http://||p' "$out")
    [ -n "$url" ] || { cat "$BATS_FILE_TMPDIR/dash.err" >&2; return 1; }
    DASH_ADDR=${url%%/*}
    DASH_TOKEN=${url##*token=}
    export DASH_PID DASH_ADDR DASH_TOKEN
}
# Stop it; fails when a sanitizer build reported anything (leaks at exit too).
dash_stop() {
    [ -z "${DASH_PID:-}" ] || { kill "$DASH_PID" 2>/dev/null; wait "$DASH_PID" 2>/dev/null; } || true
    DASH_PID=
    if grep -qE 'Sanitizer|runtime error' "$BATS_FILE_TMPDIR/dash.err" 2>/dev/null; then
        cat "$BATS_FILE_TMPDIR/dash.err" >&2
        : >"$BATS_FILE_TMPDIR/dash.err"
        return 1
    fi
}
# A free port on 127.0.0.1.
dash_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Headless Chromium (Debian's) driven by playwright-core (tests/lib/deps.sh
# installs it into $NR_PLAYWRIGHT_DIR): skip with the reason when absent.
NR_PLAYWRIGHT_DIR=${NR_PLAYWRIGHT_DIR:-/var/cache/nrun-test/playwright}
dash_need_browser() {
    command -v chromium >/dev/null || skip "chromium is not installed (make deps)"
    [ -d "$NR_PLAYWRIGHT_DIR/node_modules/playwright-core" ] || skip "playwright-core is not in $NR_PLAYWRIGHT_DIR (make deps)"
}
dash_browser() { NODE_PATH=$NR_PLAYWRIGHT_DIR/node_modules node "$REPO/tests/lib/dashboard_browser.js" "$@"; }
# Where screenshots go as CI artifacts.
dash_artifacts() { local d=${NR_ARTIFACTS:-/tmp/nrun-artifacts}; mkdir -p "$d"; echo "$d"; }
