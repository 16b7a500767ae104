#!/usr/bin/env bats
# Networks as an attack surface: a CNI plugin's reply is hostile input (bad
# JSON, a bogus address, an error with control characters: one clear line,
# nothing left), and a container with NET_ADMIN reaches only its own
# namespace: not the host's NAT rules, not another network's containers.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() { rt_file_setup_bb; export SFX=${NR_NETNS#nrt-}; }
teardown_file() { rt_file_teardown; }

# a network whose chain ends in plugin "evil" (a script printing $1)
evil_net() {
    mkdir -p "$BATS_FILE_TMPDIR/cni" "$NRUN_ROOT/networks"
    printf '#!/bin/sh\ncat >/dev/null\n%s\n' "$1" >"$BATS_FILE_TMPDIR/cni/evil"
    chmod 755 "$BATS_FILE_TMPDIR/cni/evil"
    "$NRUN" network create "ev$SFX" >/dev/null
    jq '.plugins += [{"type":"evil"}]' "$NRUN_ROOT/networks/ev$SFX.conflist" >"$BATS_FILE_TMPDIR/c"
    cp "$BATS_FILE_TMPDIR/c" "$NRUN_ROOT/networks/ev$SFX.conflist"
}

@test "hostile CNI plugin output: bad JSON, no address, an error with escapes: one clear line, nothing left" {
    export NRUN_CNI_PATH="$BATS_FILE_TMPDIR/cni:/usr/lib/cni"
    evil_net "echo '{not json'"
    n=$(ls "$NRUN_ROOT/containers" | wc -l)
    run -125 rt_run --rm --network "ev$SFX" bb:1 true
    [[ "$output" == "nrun: network ev$SFX: CNI plugin evil ADD: invalid JSON result"* ]]
    [ "${#lines[@]}" -eq 1 ]
    printf '#!/bin/sh\ncat >/dev/null\necho %s\n' "'{\"cniVersion\":\"0.4.0\",\"ips\":[{\"address\":\"300.1.1.1/24\"}]}'" >"$BATS_FILE_TMPDIR/cni/evil"
    run -125 rt_run --rm --network "ev$SFX" bb:1 true
    [[ "$output" == *"is not an address"* ]]
    printf '#!/bin/sh\ncat >/dev/null\nprintf %s\nexit 7\n' "'{\"code\":7,\"msg\":\"bad\\\\u001b[31mthing\"}'" >"$BATS_FILE_TMPDIR/cni/evil"
    run -125 rt_run --rm --network "ev$SFX" bb:1 true
    [[ "$output" == *"CNI plugin evil ADD failed (exit 7): bad"* ]]
    [[ "$output" != *$'\e'* ]]
    [ "${#lines[@]}" -eq 1 ]
    # every failed ADD was undone: no container, no record, no lease, no veth
    [ "$(ls "$NRUN_ROOT/containers" | wc -l)" -eq "$n" ]
    [ -z "$(ls "$NRUN_ROOT/networks/attach")" ]
    ! ls "$NRUN_ROOT/networks/ipam/ev$SFX" | grep -q '^[0-9]' || false
    ! nr_in_ns ip -o link show type veth | grep -q . || false
    # a plugin type that is a path is refused, not run
    jq '.plugins[-1].type = "../../bin/sh"' "$NRUN_ROOT/networks/ev$SFX.conflist" >"$BATS_FILE_TMPDIR/c"
    cp "$BATS_FILE_TMPDIR/c" "$NRUN_ROOT/networks/ev$SFX.conflist"
    run -125 rt_run --rm --network "ev$SFX" bb:1 true
    [[ "$output" == *"is not a plain program name"* ]]
    # a conflist that is not JSON: file:line:col
    echo '{"name":' >"$NRUN_ROOT/networks/ev$SFX.conflist"
    run -125 rt_run --rm --network "ev$SFX" bb:1 true
    [[ "$output" == *"networks/ev$SFX.conflist:"[0-9]*:[0-9]*": "* ]]
    rm -f "$NRUN_ROOT/networks/ev$SFX.conflist"
}

@test "NET_ADMIN in a container: its own namespace only; no host-namespace socket in PID 1; other networks unreachable" {
    a=na$SFX
    "$NRUN" network create --subnet 10.66.0.0/24 "$a" >/dev/null
    other=$(rt_run -d --network "$a" bb:1 sh -c 'echo x >/tmp/i; exec httpd -f -p 80 -h /tmp')
    ip=$("$NRUN" network inspect "$a" | jq -r ".[0].Containers[\"$other\"].IPv4Address")
    port=$(rt_free_port)
    id=$(rt_run -d --cap-add NET_ADMIN --cap-add NET_RAW -p "127.0.0.1:$port:80" bb:1 sleep 60)
    rules=$(nr_in_ns iptables-save -t nat | grep -c -- "--dport $port ")
    [ "$rules" -ge 1 ]
    # every socket PID 1 holds is of the container's namespace (SIOCGSKNS-free check: sockets
    # of another namespace would show up in a socket inode the container's /proc/net lacks)
    pid=$(jq -r .pid "$NRUN_ROOT/containers/$id/state.json")
    [ "$(readlink /proc/$pid/ns/net)" != "$(nr_in_ns readlink /proc/self/ns/net)" ]
    for fd in /proc/$pid/fd/*; do
        l=$(readlink "$fd") || continue
        case $l in socket:*) ;; *) continue ;; esac
        ino=${l#socket:[}; ino=${ino%]}
        # the host namespace's socket tables must not list it
        ! nr_in_ns cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 | awk '{print $10}' | grep -qx "$ino" || false
    done
    # with NET_ADMIN it rewires its own namespace, not the host's NAT
    "$NRUN" exec "$id" ip route add "$ip/32" dev eth0 2>/dev/null || true
    run "$NRUN" exec "$id" timeout 3 wget -qO- "http://$ip/i"
    [ "$status" -ne 0 ]
    [ "$(nr_in_ns iptables-save -t nat | grep -c -- "--dport $port ")" -eq "$rules" ]
    "$NRUN" rm -f "$id" "$other" >/dev/null
    "$NRUN" network rm "$a" >/dev/null
}
