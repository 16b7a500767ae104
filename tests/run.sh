#!/usr/bin/env bash
# Run every test: cmocka unit tests, then bats end-to-end tests (tests/e2e/,
# then the escape probes of tests/security/), and end with
# one line "N passed, N failed[, N skipped]".  Each test's time is on its
# line (bats --timing) and each file's after it, to see where the suite's
# minutes go.  TAP from both is counted here.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-$PWD/build}
export BUILD NRUN="$BUILD/nrun" NBUILD="$BUILD/nbuild"
unit=1 e2e=1 files=() sets=(tests/e2e/*.bats tests/security/*.bats)
for a in "$@"; do
    case $a in
    --unit-only) e2e=0 ;;
    --e2e-only) unit=0 ;;
    --security-only) unit=0 sets=(tests/security/*.bats) ;;
    *) files+=("$a") ;;
    esac
done

pass=0 fail=0 skip=0
log=$(mktemp)
count() { # reads TAP on stdin, echoes it, counts results
    while IFS= read -r line; do
        printf '%s\n' "$line"
        case $line in
        "not ok "*"# skip"* | "not ok "*"# SKIP"*) skip=$((skip + 1)) ;;
        "ok "*"# skip"* | "ok "*"# SKIP"*) skip=$((skip + 1)) ;;
        "not ok "*) fail=$((fail + 1)) ;;
        "ok "*) pass=$((pass + 1)) ;;
        esac
    done
}

if [ $unit = 1 ]; then
    for t in "$BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        echo "# unit: $(basename "$t")"
        count < <(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1; rc=$?; [ $rc -eq 0 ] || [ $rc -lt 128 ] || echo "not ok - $(basename "$t") crashed with status $rc")
    done
fi
if [ $e2e = 1 ]; then
    # every test file makes its networks in a namespace of its own; an nrun
    # bridge in the host's namespace is from an nrun run outside one (make
    # demo leaves nrun0 there, as docker leaves docker0): the tests leave it
    # as it is, and say it is there
    left=$(ip -br link 2>/dev/null | awk '$1 ~ /^nrun/ {print $1}' | tr '\n' ' ')
    [ -z "$left" ] || echo "# note: the host's network namespace has nrun bridges ($left), from an nrun run outside a test namespace (make demo, a manual nrun run); the tests do not touch them"
    [ ${#files[@]} -gt 0 ] || files=("${sets[@]}")
    for f in "${files[@]}"; do
        [ -f "$f" ] || continue
        echo "# e2e: $f"
        t0=$SECONDS
        count < <(bats --tap --timing "$f" 2>&1)
        echo "# e2e: $f took $((SECONDS - t0)) s"
    done
fi
rm -f "$log"
if [ $skip -gt 0 ]; then
    echo "$pass passed, $fail failed, $skip skipped"
else
    echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
