#!/usr/bin/env bash
# make demo: build the base image and examples/hello, show the store, run the
# app in a container, ask it for a page, and stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-$PWD/build}
unset NODE_EXTRA_CA_CERTS
nrun() { "$BUILD/nrun" "$@"; }
nbuild() { "$BUILD/nbuild" "$@"; }

echo "== nbuild -t hello:1.0 examples/hello  (makes node:20-distroless first if the store lacks it)"
digest=$(nbuild -q -t hello:1.0 examples/hello)
echo "image digest: $digest"
echo
echo "== nrun images"
nrun images
echo
port=${DEMO_PORT:-18080}
echo "== nrun run -d --name hello-demo -p 127.0.0.1:$port:3000 hello:1.0"
nrun rm -f hello-demo >/dev/null 2>&1 || true
id=$(nrun run -d --name hello-demo -p "127.0.0.1:$port:3000" hello:1.0)
echo "container: $id"
for _ in $(seq 1 50); do
    if out=$(curl -fsS "http://127.0.0.1:$port/" 2>/dev/null); then break; fi
    sleep 0.1
done
echo "curl http://127.0.0.1:$port/ -> ${out:-no answer}"
nrun ps
nrun logs --tail 5 hello-demo || true
nrun stop hello-demo >/dev/null
nrun rm hello-demo >/dev/null
echo "stopped and removed hello-demo"
