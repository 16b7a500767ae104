#!/usr/bin/env bats
# Networks as an attack surface: a CNI plugin's reply is hostile input (bad
# JSON, a bogus address, an error with control characters: one clear line,
# nothing left), and a container with NET_ADMIN reaches only its own
# namespace: not the host's NAT rules, not another network's containers.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() { rt_file_setup_bb; export SFX=${NR_NETNS#nrt-}; }
teardown_file() {
    # the second store of the two-stores test, if it failed half way
    if o=$(cat "$BATS_FILE_TMPDIR/other-store" 2>/dev/null); then
        for c in $(NRUN_ROOT=$o "$NRUN" ps -aq 2>/dev/null); do NRUN_ROOT=$o "$NRUN" rm -f "$c" >/dev/null 2>&1 || true; done
        case $o in /tmp/nrun-test.*) rm -rf "$o" ;; esac
    fi
    rt_file_teardown
}

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

@test "a second store's default network never hands out the first store's addresses on the same bridge" {
    # both would make nrun0 with 10.88.0.0/16, each store its own leases:
    # before, the second store's container got 10.88.0.2 too, next to the
    # first's, and took its traffic
    a=$(rt_run -d bb:1 sleep 120)
    ia=$("$NRUN" exec "$a" ip -4 -o addr show eth0 | awk '{print $4}')
    o=$(mktemp -d /tmp/nrun-test.XXXXXX)
    echo "$o" >"$BATS_FILE_TMPDIR/other-store"
    NRUN_ROOT=$o "$NRUN" __internal mkimage -t bb:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' \
        "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    run env NRUN_ROOT=$o "$NRUN" run -d bb:1 sleep 120
    echo "$output"
    if [ "$status" -eq 0 ]; then
        ib=$(NRUN_ROOT=$o "$NRUN" exec "${lines[-1]}" ip -4 -o addr show eth0 | awk '{print $4}')
        echo "first store's $ia, second store's $ib"
        [ "$ia" != "$ib" ]
    else
        [[ "$output" == *"the default network's bridge nrun0 is up with 10.88.0.1, another store's default network: a second store cannot share it"* ]]
        [ -z "$(NRUN_ROOT=$o "$NRUN" ps -q)" ]
        [ ! -e "$o/networks/bridge.conflist" ]
    fi
    # another subnet for it would still put its containers on the first
    # store's nrun0, one L2 segment for both: refused too
    run env NRUN_ROOT=$o NRUN_BRIDGE_SUBNET=10.87.0.0/16 "$NRUN" run --rm bb:1 true
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"the default network's bridge nrun0 is up with 10.88.0.1, another store's default network: a second store cannot share it"* ]]
    [ ! -e "$o/networks/bridge.conflist" ]
    # a subnet the host's own LAN has (a namespace of this test's, with an
    # interface on 10.86.0.0/16, a veth, and no nrun0): refused, naming it
    ns=lan${NR_NETNS#nrt-}
    ip netns add "$ns"
    ip -n "$ns" link add lan0 type veth peer name lan1
    ip -n "$ns" addr add 10.86.0.7/16 dev lan0
    run env NRUN_ROOT=$o NRUN_BRIDGE_SUBNET=10.86.0.0/16 nsenter --net="/run/netns/$ns" "$NR_REAL_NRUN" run --rm bb:1 true
    ip netns del "$ns"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"the default network's subnet 10.86.0.0/16 overlaps the address 10.86.0.7 of lan0 on this host: set NRUN_BRIDGE_SUBNET"* ]]
    [ ! -e "$o/networks/bridge.conflist" ]
    # the first store's container keeps its address and its network
    "$NRUN" exec "$a" ip -4 -o addr show eth0 | grep -qF "$ia"
    "$NRUN" rm -f "$a" >/dev/null
    for c in $(NRUN_ROOT=$o "$NRUN" ps -aq); do NRUN_ROOT=$o "$NRUN" rm -f "$c" >/dev/null; done
    rm -rf "$o" "$BATS_FILE_TMPDIR/other-store"
}

@test "a conflist edited to name another network's dnsmasq instance: nrun uses its own; that DNS keeps answering" {
    v=dv$SFX
    f=df$SFX
    "$NRUN" network create "$v" >/dev/null
    "$NRUN" network create "$f" >/dev/null
    a=$(rt_run -d --network "$v" --name "dv$SFX" bb:1 sleep 120)
    dv=$(nr_dns_dir "$v")
    [ -n "$dv" ] && [ -e "$dv/pidfile" ]
    # $f's file now names $v's instance (another store's works the same),
    # and a second dnsname plugin names it too
    iv=${dv##*/}
    jq --arg i "$iv" '(.plugins[] | select(.type == "dnsname")).nrunInstance = $i
        | .plugins += [{"type":"dnsname","domainName":"dns.podman","nrunInstance":$i}]' \
        "$NRUN_ROOT/networks/$f.conflist" >"$BATS_TEST_TMPDIR/c"
    cp "$BATS_TEST_TMPDIR/c" "$NRUN_ROOT/networks/$f.conflist"
    b=$(rt_run -d --network "$f" --name "df$SFX" bb:1 sleep 120)
    # the forged network's container is not in $v's DNS
    ! grep -q "df$SFX" "$dv/addnhosts" || false
    "$NRUN" rm -f "$b" >/dev/null
    "$NRUN" network rm "$f" >/dev/null
    # $v's dnsmasq was not stopped by the other's rm
    [ -e "$dv/pidfile" ]
    "$NRUN" exec "$a" nslookup "dv$SFX" >/dev/null
    "$NRUN" rm -f "$a" >/dev/null
    "$NRUN" network rm "$v" >/dev/null
    [ ! -e "$dv" ]
}

@test "two stores' networks made before either runs get their own bridges: no shared segment, one's rm leaves the other's bridge" {
    o=$(mktemp -d /tmp/nrun-test.XXXXXX)
    echo "$o" >"$BATS_FILE_TMPDIR/other-store"
    "$NRUN" network create "sa$SFX" >/dev/null
    NRUN_ROOT=$o "$NRUN" network create "sb$SFX" >/dev/null
    ba=$("$NRUN" network inspect "sa$SFX" | jq -r '.[0].Bridge')
    bb=$(NRUN_ROOT=$o "$NRUN" network inspect "sb$SFX" | jq -r '.[0].Bridge')
    echo "bridges: $ba $bb"
    [ -n "$ba" ] && [ "$ba" != "$bb" ]
    # made with its network, the first's bridge holds its subnet: the
    # second store's network takes another
    sa=$("$NRUN" network inspect "sa$SFX" | jq -r '.[0].IPAM.Config[0].Subnet')
    sb=$(NRUN_ROOT=$o "$NRUN" network inspect "sb$SFX" | jq -r '.[0].IPAM.Config[0].Subnet')
    [ "$sa" != "$sb" ]
    NRUN_ROOT=$o "$NRUN" __internal mkimage -t bb:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' \
        "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    a=$(rt_run -d --network "sa$SFX" bb:1 sleep 120)
    b=$(NRUN_ROOT=$o "$NRUN" run -d --network "sb$SFX" bb:1 sleep 120)
    # the second store's container is not on the first's bridge
    [ "$(nr_in_ns ip -o link show master "$ba" | wc -l)" -eq 1 ]
    NRUN_ROOT=$o "$NRUN" rm -f "$b" >/dev/null
    NRUN_ROOT=$o "$NRUN" network rm "sb$SFX" >/dev/null
    nr_in_ns ip link show "$ba" >/dev/null
    "$NRUN" exec "$a" true
    "$NRUN" rm -f "$a" >/dev/null
    "$NRUN" network rm "sa$SFX" >/dev/null
    rm -rf "$o" "$BATS_FILE_TMPDIR/other-store"
}
