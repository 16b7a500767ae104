# Helpers for the observability tests (tests/e2e/obs_*.bats).

# Scrape /metrics of PORT and check it strictly (tests/lib/promparse.py):
# prints the samples as JSON lines.
obs_scrape() {
    local body
    body=$(curl -sf --max-time 5 "http://127.0.0.1:$1/metrics") || return 1
    printf '%s\n' "$body" | python3 "$REPO/tests/lib/promparse.py"
}

# Sum of the samples named $2 (jq filter on labels optional as $3) in scrape output $1.
obs_sum() {
    printf '%s\n' "$1" | jq -s --arg n "$2" "[.[] | select(.name == \$n) ${3:+| select($3)} | .value] | add // 0"
}

# Debian's prometheus package (prometheus + promtool), unpacked once into the
# test cache, never installed (no daemon is started): prints its bin dir.
obs_prometheus() {
    local dir=$NRUN_CACHE_DIR/prometheus
    if [ ! -x "$dir/usr/bin/promtool" ]; then
        mkdir -p "$dir"
        local tmp
        tmp=$(mktemp -d "$dir/tmp.XXXXXX")
        (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1 && dpkg-deb -x prometheus_*.deb "$dir") || {
            rm -rf "$tmp"
            return 1
        }
        rm -rf "$tmp"
    fi
    echo "$dir/usr/bin"
}
