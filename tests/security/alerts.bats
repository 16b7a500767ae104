#!/usr/bin/env bats
# --alert-exec runs on the host, as the user who ran nrun, from the detached
# monitor: it must hold no descriptor of the monitor (pidfd, the container's
# files), get the event only as JSON on stdin (never on its command line or
# in its environment), and nothing of the container's environment.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() { rt_file_setup_bb; }
teardown() { rt_rm_all; }
teardown_file() { rt_file_teardown; }

@test "alert-exec: host namespaces, our uid, no inherited fd, the event only on stdin" {
    out=$BATS_TEST_TMPDIR/probe
    cat >"$BATS_TEST_TMPDIR/probe.sh" <<SH
#!/bin/sh
{
  echo "fds: \$(ls /proc/self/fd | tr '\n' ' ')"
  echo "uid: \$(id -u)"
  echo "pidns: \$(readlink /proc/self/ns/pid)"
  echo "mntns: \$(readlink /proc/self/ns/mnt)"
  echo "secret: \${SECRET_IN_CONTAINER:-none}"
  echo "args: \$#"
  echo "stdin: \$(cat)"
} >"$out"
SH
    chmod +x "$BATS_TEST_TMPDIR/probe.sh"
    rt_run -d --name al1 -e SECRET_IN_CONTAINER=s3cr3t --health-cmd 'exit 1' --health-interval 100ms \
        --health-retries 1 --alert unhealthy --alert-exec "$BATS_TEST_TMPDIR/probe.sh" bb:1 sleep 1000 >/dev/null
    for i in $(seq 1 100); do grep -q '^stdin: ' "$out" 2>/dev/null && break; sleep 0.1; done
    cat "$out"
    # 0 1 2 and ls's own directory (the shell's $(...) pipe is fd 1)
    [ "$(grep "^fds:" "$out")" = "fds: 0 1 2 3 " ]
    [ "$(grep '^uid:' "$out")" = "uid: $(id -u)" ]
    [ "$(grep '^pidns:' "$out")" = "pidns: $(readlink /proc/self/ns/pid)" ]
    [ "$(grep '^mntns:' "$out")" = "mntns: $(readlink /proc/self/ns/mnt)" ]
    [ "$(grep '^secret:' "$out")" = "secret: none" ]
    [ "$(grep '^args:' "$out")" = "args: 0" ]
    sed -n 's/^stdin: //p' "$out" | jq -e '.rule == "unhealthy" and .container.name == "al1"'
}

@test "alert-webhook: an unreachable URL retries in the background and never blocks the container" {
    port=$(rt_free_port) # nobody listens there
    rt_run -d --name al2 --health-cmd 'exit 1' --health-interval 100ms --health-retries 1 \
        --alert unhealthy --alert-webhook "http://127.0.0.1:$port/" bb:1 sleep 1000 >/dev/null
    for i in $(seq 1 100); do "$NRUN" logs al2 2>&1 | grep -q 'alert firing: unhealthy' && break; sleep 0.1; done
    "$NRUN" logs al2 2>&1 | grep -q 'alert firing: unhealthy'
    # the container and its monitor answer at once
    "$NRUN" exec al2 true
    [ "$("$NRUN" inspect al2 | jq -r '.[0].State.Status')" = running ]
}
