#!/usr/bin/env bash
# Install what the build, the tests and the benchmarks need, from Debian's
# archive (apt-get) and the npm registry.  Idempotent; silent when all is there.
set -euo pipefail

APT_PKGS=(
    gcc make pkg-config git ca-certificates
    libarchive-dev libjansson-dev libseccomp-dev libcap-dev libssl-dev libcurl4-openssl-dev libyaml-dev zlib1g-dev
    libcmocka-dev bats jq
    umoci skopeo podman buildah crun runc docker-registry apache2-utils openssl
    busybox-static tini wrk hyperfine iproute2 util-linux procps psmisc curl python3 libc6-dev strace
    containernetworking-plugins golang-github-containernetworking-plugin-dnsname dnsmasq-base iptables
    nodejs npm mmdebstrap dpkg-dev
    uidmap passwd # rootless nbuild: newuidmap/newgidmap, useradd for its test users
    openssh-client # nbuild --ssh KEY: ssh-agent and ssh-add (and the tests' agent)
    docker.io # registry_docker.bats: docker pulls, runs and loads what nrun pushed and saved (it skipped without)
    chromium
)

# Only for `make bench` (deps.sh --bench); docker.io, BuildKit to compare nbuild with, is above.
BENCH_PKGS=(bc)
[ "${1:-}" = --bench ] && APT_PKGS+=("${BENCH_PKGS[@]}")

missing=()
for p in "${APT_PKGS[@]}"; do
    s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$s" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing packages ${missing[*]}; run 'make deps' as root" >&2
        exit 1
    fi
    # nodejs/npm may come from elsewhere on a developer machine: keep what works.
    if command -v node >/dev/null && command -v npm >/dev/null; then
        keep=(); for p in "${missing[@]}"; do case $p in nodejs|npm) ;; *) keep+=("$p");; esac; done
        missing=("${keep[@]}")
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        echo "deps: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

# JS tools for the tests and benchmarks, pinned exactly.
here=$(cd "$(dirname "$0")/../.." && pwd)
# The marker holds the lock file's hash: a package added to tests/apps installs again.
apps=$here/tests/apps
if [ -f "$apps/package.json" ]; then
    want=$(cat "$apps/package.json" "$apps/package-lock.json" 2>/dev/null | sha256sum | cut -c1-64)
    if [ "$(cat "$apps/node_modules/.nrun-installed" 2>/dev/null)" != "$want" ]; then
        echo "deps: npm install in tests/apps"
        (cd "$apps" && npm install --no-audit --no-fund --loglevel=error >/dev/null &&
            echo "$want" >node_modules/.nrun-installed)
    fi
fi
# playwright-core (no browser download: it drives Debian's chromium) for the
# dashboard's browser tests, in the test cache (tests/lib/dashboard.bash).
pw=${NR_PLAYWRIGHT_DIR:-/var/cache/nrun-test/playwright}
pw_version=1.49.1
if [ "$(cat "$pw/.nrun-installed" 2>/dev/null)" != "$pw_version" ]; then
    echo "deps: npm install playwright-core@$pw_version in $pw"
    mkdir -p "$pw"
    (cd "$pw" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error \
        "playwright-core@$pw_version" >/dev/null && echo "$pw_version" >.nrun-installed)
fi
# The npm tarballs the examples' lock files name, for the offline registry
# that tests/e2e/build_examples.bats and bench/build_express.sh serve.
"$here/tests/lib/npm_tarballs.sh"
# What apt-get fetches for tests/apps/shapes/tini-apt, replayed by
# tests/e2e/build_shapes.bats from 127.0.0.1 (needs nbuild built; again when
# the security suite's InRelease is about to expire).
"$here/tests/lib/apt_replay.sh" "${BUILD:-$here/build}"
# ... and for tests/apps/alpine (apk add translated to apt-get), replayed by
# tests/e2e/build_alpine.bats
"$here/tests/lib/apt_replay.sh" "${BUILD:-$here/build}" "${NRUN_CACHE_DIR:-/var/cache/nrun-test}/apt-replay/alpine" \
    "$here/tests/apps/alpine"
exit 0
