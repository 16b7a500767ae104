#!/usr/bin/env bats
# Container networks (runtime/net.c over the CNI plugins), all inside this
# file's own network namespace (nr_make_root): the default bridge with its
# way out, ports published for any process, user networks with names,
# isolation, and what rm, a kill -9 of nrun and a full subnet leave behind.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_bb
    "$NRUN" __internal mkimage -t bbx:1 \
        --config '{"Cmd":["sh"],"Env":["PATH=/bin"],"ExposedPorts":{"80/tcp":{},"81/tcp":{}}}' \
        "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    export SFX=${NR_NETNS#nrt-}
    host_nrun0 >"$BATS_FILE_TMPDIR/host-nrun0"
}
teardown_file() {
    p=$(cat "$BATS_FILE_TMPDIR/hostsvc" 2>/dev/null) && kill "$p" 2>/dev/null || true
    for n in $(cat "$BATS_FILE_TMPDIR/outside-netns" 2>/dev/null); do ip netns del "$n" 2>/dev/null || true; done
    # the second store of the two-stores test, if it failed half way
    if o=$(cat "$BATS_FILE_TMPDIR/other-store" 2>/dev/null); then
        for c in $(NRUN_ROOT=$o "$NRUN" ps -aq 2>/dev/null); do NRUN_ROOT=$o "$NRUN" rm -f "$c" >/dev/null 2>&1 || true; done
        NRUN_ROOT=$o "$NRUN" network rm "tw$SFX" >/dev/null 2>&1 || true
        case $o in /tmp/nrun-test.*) rm -rf "$o" ;; esac
    fi
    rt_file_teardown
}

# the host namespace's nrun0 and what is on it: `make demo` (an nrun run in
# the host's namespace) leaves the default bridge there, as docker leaves
# docker0; this file must add nothing to it
host_nrun0() { ip -o link show nrun0 2>/dev/null | cut -d: -f1-2; ip -o link show master nrun0 2>/dev/null | cut -d: -f2; true; }
# an httpd in a container answering /i with $1
web() { echo "echo $1 >/tmp/i; exec httpd -f -p 80 -h /tmp"; }
wait_http() { # URL: until it answers (in the file's namespace)
    for _ in $(seq 100); do nr_in_ns wget -qO- "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}
# nothing of container $1 left in the namespace or the store
net_clean() {
    local id=$1
    [ ! -e "$NRUN_ROOT/networks/attach/$id.json" ]
    [ ! -e "$NRUN_ROOT/networks/ns/$id" ]
    ! grep -rqs "$id" "$NRUN_ROOT/networks/ipam" || false
    ! nr_in_ns iptables-save | grep -q "$id" || false
    ! nr_in_ns ebtables -t nat -L | grep -q "NRUN-${id:0:12}" || false
}

@test "default bridge: nrun0, an address, a default route, /etc/hosts with host.nrun.internal, resolv.conf" {
    run rt_run --rm --name net1 bb:1 sh -c 'ip -4 -o addr show eth0; ip route; cat /etc/hosts; cat /etc/resolv.conf'
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == *"eth0"*"inet 10.88."* ]]
    [[ "$output" == *"default via 10.88.0.1 dev eth0"* ]]
    [[ "$output" == *$'10.88.0.1\thost.nrun.internal host.docker.internal'* ]]
    ip=$(awk '{print $4}' <<<"${lines[0]}"); ip=${ip%/*}
    [[ "$output" == *"$ip"$'\t'"net1"* ]]
    [[ "$output" == *"nameserver "* ]]
    # in this file's namespace only: the host's nrun0 (absent, or left by
    # make demo) and its ports as they were
    nr_in_ns ip link show nrun0 >/dev/null
    [ "$(host_nrun0)" = "$(cat "$BATS_FILE_TMPDIR/host-nrun0")" ]
    # the default network is listed, and bridge/private/default name it
    run "$NRUN" network ls -q
    [[ "$output" == *bridge* ]]
    run rt_run --rm --network private bb:1 sh -c 'ip -4 -o addr show eth0'
    [[ "$output" == *"inet 10.88."* ]]
}

@test "outbound: a host service on the bridge address, by host.nrun.internal" {
    mkdir -p "$BATS_FILE_TMPDIR/hs" && echo host-says-hi >"$BATS_FILE_TMPDIR/hs/i"
    port=$(rt_free_port)
    # nsenter execs httpd: $! is the service itself
    nsenter --net="/run/netns/$NR_NETNS" busybox httpd -f -p "0.0.0.0:$port" -h "$BATS_FILE_TMPDIR/hs" </dev/null >/dev/null 2>&1 3>&- &
    HOSTSVC=$!
    echo "$HOSTSVC" >"$BATS_FILE_TMPDIR/hostsvc"
    run rt_run --rm bb:1 wget -qO- "http://host.nrun.internal:$port/i"
    [ "$status" -eq 0 ]
    [ "$output" = host-says-hi ]
    run rt_run --rm bb:1 wget -qO- "http://host.docker.internal:$port/i"
    [ "$output" = host-says-hi ]
    kill "$HOSTSVC"
}

@test "-p for a shell-started app: reached on the host's 127.0.0.1, from inside, and a port nobody serves refuses" {
    port=$(rt_free_port)
    port2=$(rt_free_port)
    id=$(rt_run -d -p "127.0.0.1:$port:80" -p "$port2:81" bb:1 sh -c "$(web from-shell)")
    wait_http "http://127.0.0.1:$port/i"
    run nr_in_ns wget -qO- "http://127.0.0.1:$port/i"
    [ "$output" = from-shell ]
    # the app's own port from inside the container
    run "$NRUN" exec "$id" wget -qO- http://localhost:80/i
    [ "$output" = from-shell ]
    # published, nothing listens on 81: refused at once, not a hang
    run ! nr_in_ns timeout 10 wget -O- "http://127.0.0.1:$port2/i"
    [ "$status" -ne 124 ]
    [[ "$output" == *"refused"* ]]
    "$NRUN" inspect "$id" | jq -e --arg p "$port" '.[0].NetworkSettings | (.Ports["80/tcp"][0].HostPort == $p)
        and (.Networks.bridge.IPAddress | startswith("10.88.")) and .Networks.bridge.Gateway == "10.88.0.1"'
    run "$NRUN" port "$id"
    [[ "$output" == *"80/tcp -> 127.0.0.1:$port"* ]]
    [[ "$output" == *"81/tcp -> 0.0.0.0:$port2"* ]]
    # the port is taken while it runs: a second container gets a clear error
    run -125 rt_run --rm -p "127.0.0.1:$port:80" bb:1 true
    [[ "$output" == *"publish port 127.0.0.1:$port/tcp"*"EADDRINUSE"* || "$output" == *"publish port 127.0.0.1:$port/tcp"*"in use"* ]]
    "$NRUN" rm -f "$id" >/dev/null
    net_clean "$id"
    ! nr_in_ns iptables-save -t nat | grep -q -- "--dport $port " || false
}

@test "-p HOST:CTR/udp: datagrams reach a UDP server run as cluster workers (node dgram), from the host's 127.0.0.1 and from another namespace with its own address" {
    rt_node_image nd:1
    port=$(rt_free_port)
    id=$(rt_run -d --workers 2 -p "$port:5353/udp" -e PORT=5353 -v "$REPO/tests/apps:/apps:ro" nd:1 node /apps/udp-echo.js)
    for _ in $(seq 100); do [ "$("$NRUN" logs "$id" 2>&1 | grep -c 'udp listening on 5353')" -ge 2 ] && break; sleep 0.1; done
    ask() { # ADDRESS PORT MSG: the answer, from this file's namespace
        nr_in_ns python3 -c "
import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2)
for _ in range(3):
    s.sendto(sys.argv[3].encode(),(sys.argv[1],int(sys.argv[2])))
    try:
        print(s.recvfrom(200)[0].decode()); break
    except socket.timeout: pass
else: print('timeout')
" "$1" "$2" "$3"
    }
    run ask 127.0.0.1 "$port" hello
    echo "$output"
    [[ "$output" == "hello pid="* ]]
    # from a client of its own, outside: its address reaches the app
    out=ou$SFX
    echo "$out" >>"$BATS_FILE_TMPDIR/outside-netns"
    ip netns add "$out"
    nr_in_ns ip link add "o$SFX" type veth peer name eth0 netns "$out"
    nr_in_ns ip addr add 192.168.77.1/24 dev "o$SFX"
    nr_in_ns ip link set "o$SFX" up
    ip -n "$out" addr add 192.168.77.2/24 dev eth0
    ip -n "$out" link set eth0 up
    run nsenter --net="/run/netns/$out" python3 -c "
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2)
for _ in range(3):
    s.sendto(b'far',('192.168.77.1',$port))
    try:
        print(s.recvfrom(200)[0].decode()); break
    except socket.timeout: pass
else: print('timeout')
"
    echo "$output"
    [[ "$output" == "far pid="*" from=192.168.77.2" ]]
    "$NRUN" inspect "$id" | jq -e ".[0].NetworkSettings.Ports[\"5353/udp\"][0].HostPort == \"$port\""
    "$NRUN" rm -f "$id" >/dev/null
    ip netns del "$out"
    net_clean "$id"
}

@test "-P publishes every EXPOSEd port on a free host port; -p ranges and bad specs" {
    id=$(rt_run -d -P bbx:1 sh -c "$(web exposed)")
    run "$NRUN" port "$id"
    [ "${#lines[@]}" -eq 2 ]
    hp=$(grep '^80/tcp' <<<"$output" | sed 's/.*://')
    [ "$hp" -gt 0 ]
    wait_http "http://127.0.0.1:$hp/i"
    [ "$(nr_in_ns wget -qO- "http://127.0.0.1:$hp/i")" = exposed ]
    "$NRUN" rm -f "$id" >/dev/null
    p=$(rt_free_port)
    id=$(rt_run -d -p "127.0.0.1:$p-$((p + 1)):80-81/tcp" bb:1 sleep 30)
    run "$NRUN" port "$id"
    [[ "$output" == *"81/tcp -> 127.0.0.1:$((p + 1))"* ]]
    "$NRUN" rm -f "$id" >/dev/null
    for bad in 80-81:90 0:80 1.2.3:80:80 80/sctp x:80; do
        run -125 rt_run --rm -p "$bad" bb:1 true
        [[ "$output" == "nrun: -p $bad: "* ]]
    done
}

@test "--network container:NAME shares that container's namespace (its address, its localhost)" {
    id=$(rt_run -d --name "srv$SFX" bb:1 sh -c "$(web shared)")
    run rt_run --rm --network "container:srv$SFX" bb:1 sh -c 'for i in $(seq 50); do wget -qO- http://127.0.0.1/i && break; sleep 0.1; done; ip -4 -o addr show eth0'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = shared ]
    [ "$(awk '{print $4}' <<<"${lines[1]}")" = "$("$NRUN" exec "$id" ip -4 -o addr show eth0 | awk '{print $4}')" ]
    run -125 rt_run --rm --network "container:srv$SFX" -p 8080:80 bb:1 true
    run -125 rt_run --rm --network container:nosuch bb:1 true
    [[ "$output" == *"container:nosuch"* ]]
    "$NRUN" rm -f "$id" >/dev/null
    run -125 rt_run --network "container:$id" bb:1 true
}

@test "--network none: only lo, and -p is refused" {
    run rt_run --rm --network none bb:1 ls /sys/class/net
    [ "$output" = lo ]
    run -125 rt_run --rm --network none -p 8080:80 bb:1 true
    [[ "$output" == *"-p and -P need a network of nrun's"* ]]
}

@test "user networks: containers find each other by name and alias; networks are isolated" {
    a=fa$SFX b=fb$SFX
    "$NRUN" network create "$a" >/dev/null
    "$NRUN" network create "$b" >/dev/null
    run "$NRUN" network create "$a"
    [ "$status" -ne 0 ]
    [[ "$output" == *"already exists"* ]]
    web1=$(rt_run -d --name "w1$SFX" --network "$a" --network-alias api bb:1 sh -c "$(web one)")
    run rt_run --rm --network "$a" bb:1 sh -c "for i in \$(seq 50); do wget -qO- http://w1$SFX/i && break; sleep 0.1; done; wget -qO- http://api/i"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = one ]
    [ "${lines[1]}" = one ]
    ip=$("$NRUN" network inspect "$a" | jq -r ".[0].Containers[\"$web1\"].IPv4Address")
    [[ "$ip" == 10.89.* ]]
    # inspect shows the names the network knows it by, as docker's Aliases
    [ "$("$NRUN" inspect "$web1" | jq -c ".[0].NetworkSettings.Networks[\"$a\"].Aliases")" = "[\"w1$SFX\",\"api\"]" ]
    # from the other network and from the default one: no way through
    run rt_run --rm --network "$b" bb:1 timeout 3 wget -qO- "http://$ip/i"
    [ "$status" -ne 0 ]
    [[ "$output" != *one* ]]
    run rt_run --rm bb:1 timeout 3 wget -qO- "http://$ip/i"
    [ "$status" -ne 0 ]
    [[ "$output" != *one* ]]
    # connect: now the default-network container reaches it (a second interface)
    c=$(rt_run -d bb:1 sleep 60)
    "$NRUN" network connect "$a" "$c"
    run "$NRUN" exec "$c" wget -qO- "http://$ip/i"
    [ "$output" = one ]
    "$NRUN" network disconnect "$a" "$c"
    run "$NRUN" exec "$c" timeout 3 wget -qO- "http://$ip/i"
    [ "$status" -ne 0 ]
    # a network in use is not removed; then it is
    run "$NRUN" network rm "$a"
    [ "$status" -ne 0 ]
    [[ "$output" == *"active endpoints"* ]]
    "$NRUN" rm -f "$web1" "$c" >/dev/null
    net_clean "$web1"
    net_clean "$c"
    "$NRUN" network rm "$a" "$b"
    run "$NRUN" network ls -q
    [[ "$output" != *"$a"* ]]
    run -125 rt_run --rm --network "$a" bb:1 true
    [[ "$output" == *"network $a not found"* ]]
}

@test "two stores with a network of the same name: each its own DNS; removing one's leaves the other's answering" {
    n=tw$SFX
    o=$(mktemp -d /tmp/nrun-test.XXXXXX)
    echo "$o" >"$BATS_FILE_TMPDIR/other-store"
    "$NRUN" network create "$n" >/dev/null
    a=$(rt_run -d --network "$n" --name "ta$SFX" bb:1 sleep 120)
    # the first store's bridge has its address now: the second store's
    # network takes another subnet (the host's addresses count as taken)
    NRUN_ROOT=$o "$NRUN" __internal mkimage -t bb:1 --config '{"Cmd":["sh"],"Env":["PATH=/bin"]}' \
        "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    NRUN_ROOT=$o "$NRUN" network create "$n" >/dev/null
    sa=$("$NRUN" network inspect "$n" | jq -r '.[0].IPAM.Config[0].Subnet')
    sb=$(NRUN_ROOT=$o "$NRUN" network inspect "$n" | jq -r '.[0].IPAM.Config[0].Subnet')
    [ "$sa" != "$sb" ]
    run env NRUN_ROOT=$o "$NRUN" network create --subnet "$sa" "x$n"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--subnet $sa overlaps the address ${sa%.0/*}.1 of "* ]]
    b=$(NRUN_ROOT=$o "$NRUN" run -d --network "$n" --name "tb$SFX" bb:1 sleep 120)
    da=$(nr_dns_dir "$n")
    db=$(NRUN_ROOT=$o nr_dns_dir "$n")
    [ -n "$da" ] && [ -n "$db" ] && [ "$da" != "$db" ]
    grep -q "ta$SFX" "$da/addnhosts"
    grep -q "tb$SFX" "$db/addnhosts"
    ! grep -q "tb$SFX" "$da/addnhosts" || false
    # each answers for its own containers, on its own bridge
    "$NRUN" exec "$a" nslookup "ta$SFX" >/dev/null
    NRUN_ROOT=$o "$NRUN" exec "$b" nslookup "tb$SFX" >/dev/null
    run env NRUN_ROOT=$o "$NRUN" exec "$b" nslookup "ta$SFX"
    [ "$status" -ne 0 ]
    # the first store's network goes, its dnsmasq with it; the other's stays
    "$NRUN" rm -f "$a" >/dev/null
    "$NRUN" network rm "$n" >/dev/null
    [ ! -e "$da" ]
    NRUN_ROOT=$o "$NRUN" exec "$b" nslookup "tb$SFX" >/dev/null
    NRUN_ROOT=$o "$NRUN" rm -f "$b" >/dev/null
    NRUN_ROOT=$o "$NRUN" network rm "$n" >/dev/null
    [ ! -e "$db" ]
    rm -rf "$o" "$BATS_FILE_TMPDIR/other-store"
}

@test "concurrent runs get distinct addresses; a full subnet is a clear error and leaves nothing" {
    ids=()
    for i in 1 2 3 4; do rt_run -d bb:1 sleep 30 >"$BATS_TEST_TMPDIR/id$i" & done
    wait
    for i in 1 2 3 4; do ids+=("$(cat "$BATS_TEST_TMPDIR/id$i")"); done
    ips=$(for id in "${ids[@]}"; do "$NRUN" exec "$id" ip -4 -o addr show eth0 | awk '{print $4}'; done | sort -u | wc -l)
    [ "$ips" -eq 4 ]
    "$NRUN" rm -f "${ids[@]}" >/dev/null
    s=fs$SFX
    "$NRUN" network create --subnet 10.77.0.0/30 "$s" >/dev/null
    one=$(rt_run -d --network "$s" bb:1 sleep 30)
    n=$(ls "$NRUN_ROOT/containers" | wc -l)
    run -125 rt_run --network "$s" bb:1 true
    [[ "$output" == *"network $s"*"host-local"* || "$output" == *"no IP addresses available"* ]]
    [ "${#lines[@]}" -eq 1 ]
    [ "$(ls "$NRUN_ROOT/containers" | wc -l)" -eq "$n" ]
    [ "$(ls "$NRUN_ROOT/networks/attach" | wc -l)" -eq 1 ]
    "$NRUN" rm -f "$one" >/dev/null
    "$NRUN" network rm "$s"
}

@test "kill -9 of nrun: the next nrun removes the address, the rules and the pinned namespace" {
    port=$(rt_free_port)
    "$NRUN" run --cidfile "$BATS_TEST_TMPDIR/cid" -p "127.0.0.1:$port:80" bb:1 sleep 2 </dev/null >/dev/null 2>&1 3>&- &
    pid=$!
    for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/cid" ] && [ -e "$NRUN_ROOT/networks/attach/$(cat "$BATS_TEST_TMPDIR/cid").json" ] && break; sleep 0.05; done
    id=$(cat "$BATS_TEST_TMPDIR/cid")
    for _ in $(seq 100); do nr_in_ns iptables-save -t nat | grep -q -- "--dport $port " && break; sleep 0.05; done
    kill -9 "$pid"
    wait "$pid" || true
    # the container ends on its own; its nrun is gone: the next nrun cleans
    for _ in $(seq 100); do [ "$("$NRUN" ps -a --format '{{.Status}}' 2>/dev/null | grep -c Up)" -eq 0 ] && break; sleep 0.1; done
    sleep 2.5
    "$NRUN" ps -a >/dev/null
    ls -R "$NRUN_ROOT/networks" >&2
    net_clean "$id"
    ! nr_in_ns iptables-save -t nat | grep -q -- "--dport $port " || false
    ! grep -qF "$NRUN_ROOT/networks/ns" /proc/mounts || false
    "$NRUN" rm -f "$id" >/dev/null
}

@test "an outside client (another namespace) reaches the cluster master's workers with its own address; NAT out hides the container's" {
    rt_node_tar "$BATS_FILE_TMPDIR/node.tar"
    "$NRUN" __internal mkimage -t nd:1 --config '{"Env":["PATH=/usr/bin"]}' "$BATS_FILE_TMPDIR/node.tar" >/dev/null
    # "outside": a namespace of this test, linked to the file's by a veth pair
    out=${NR_NETNS}o
    ip netns add "$out"
    echo "$out" >>"$BATS_FILE_TMPDIR/outside-netns" # teardown_file deletes it if the test fails
    nr_in_ns ip link add nrto0 type veth peer name nrti0 netns "$out"
    nr_in_ns ip addr add 192.168.231.1/24 dev nrto0
    nr_in_ns ip link set nrto0 up
    ip -n "$out" addr add 192.168.231.2/24 dev nrti0
    ip -n "$out" link set nrti0 up
    ip -n "$out" link set lo up
    port=$(rt_free_port)
    id=$(rt_run -d --workers 2 -p "$port:3000" nd:1 node -e \
        "require('http').createServer((q, r) => r.end(q.socket.remoteAddress + ' ' + process.pid)).listen(3000)")
    for _ in $(seq 100); do ip netns exec "$out" curl -sf --max-time 2 "http://192.168.231.1:$port/" >/dev/null && break; sleep 0.1; done
    run ip netns exec "$out" curl -sf --max-time 5 "http://192.168.231.1:$port/"
    [ "$status" -eq 0 ]
    [[ "$output" == "192.168.231.2 "* || "$output" == "::ffff:192.168.231.2 "* ]]
    # both workers serve it (the master accepts inside the container and hands connections on)
    pids=$(for _ in $(seq 20); do ip netns exec "$out" curl -sf --max-time 5 "http://192.168.231.1:$port/" | cut -d' ' -f2; echo; done | sort -u | grep -c .)
    [ "$pids" -eq 2 ]
    # the way out: a service outside sees the file's address, not the container's
    ip netns exec "$out" python3 -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("192.168.231.2", 18777)); s.listen(1); c, a = s.accept(); c.sendall(a[0].encode()); c.close()' &
    srv=$!
    for _ in $(seq 50); do ip netns exec "$out" ss -Htln "sport = :18777" | grep -q . && break; sleep 0.05; done
    run "$NRUN" exec "$id" node -e "require('net').connect(18777, '192.168.231.2').on('data', d => console.log(String(d)))"
    wait "$srv" || true
    [[ "$output" = 192.168.231.1 || "$output" = ::ffff:192.168.231.1 ]]
    "$NRUN" rm -f "$id" >/dev/null
    ip netns del "$out"
    nr_in_ns ip link del nrto0 2>/dev/null || true
}

# ---- docker run's --add-host, --dns*, --expose (cli/run.c, runtime/etc_extra.c) ----

@test "--add-host (NAME:IP, NAME=IP, IPv6, host-gateway) and --dns/--dns-search/--dns-option on the default bridge: the lines docker writes" {
    run rt_run --rm --add-host db:10.1.2.3 --add-host cache=10.1.2.4 --add-host v6:fd00::5 --add-host 'b6:[fd00::6]' \
        --add-host gw:host-gateway --add-host host.docker.internal:host-gateway \
        --dns 10.9.9.9 --dns fd00::53 --dns-search corp.example --dns-search b.example --dns-option ndots:2 \
        --dns-opt timeout:1 bb:1 sh -c 'cat /etc/hosts; echo --; cat /etc/resolv.conf'
    [ "$status" -eq 0 ]
    hosts=${output%%--*}
    [[ "$hosts" == *$'10.88.0.1\thost.nrun.internal host.docker.internal\n10.1.2.3\tdb\n10.1.2.4\tcache\nfd00::5\tv6\nfd00::6\tb6\n10.88.0.1\tgw\n10.88.0.1\thost.docker.internal\n' ]]
    [ "${output#*--$'\n'}" = "$(printf 'nameserver 10.9.9.9\nnameserver fd00::53\nsearch corp.example b.example\noptions ndots:2 timeout:1')" ]
    # the name resolves in the container (getaddrinfo reads /etc/hosts)
    run rt_run --rm --add-host db:10.1.2.3 bb:1 ping -c1 -W1 db
    [[ "$output" == *"(10.1.2.3)"* ]]
    # only --dns-search: the host's nameservers stay; "." is no search line
    run rt_run --rm --dns-search . --dns-option ndots:1 bb:1 cat /etc/resolv.conf
    [[ "$output" == *"nameserver "* ]]
    [[ "$output" != *"search"* ]]
    [[ "$output" == *"options ndots:1" ]]
    # inspect: docker's HostConfig fields
    id=$(rt_run -d --add-host db:10.1.2.3 --dns 10.9.9.9 --dns-search corp.example --dns-option ndots:2 bb:1 sleep 30)
    [ "$("$NRUN" inspect "$id" | jq -c '.[0].HostConfig | [.ExtraHosts, .Dns, .DnsSearch, .DnsOptions]')" = \
        '[["db:10.1.2.3"],["10.9.9.9"],["corp.example"],["ndots:2"]]' ]
    "$NRUN" rm -f "$id" >/dev/null
    # refused by their line
    run -125 rt_run --rm --add-host db bb:1 true
    [ "$output" = "nrun: run: --add-host db: expected NAME:IP or NAME=IP" ]
    run -125 rt_run --rm --add-host db:10.1.2 bb:1 true
    [ "$output" = 'nrun: run: --add-host db: "10.1.2" is not an IPv4 or IPv6 address (or host-gateway)' ]
    run -125 rt_run --rm --dns 10.9.9 bb:1 true
    [ "$output" = "nrun: run: --dns 10.9.9: not an IPv4 or IPv6 address" ]
    run -125 rt_run --rm --dns-option 'a b' bb:1 true
    [ "$output" = "nrun: run: --dns-option a b: expected an option without spaces, '#' or ';' (ndots:2)" ]
    run -125 rt_run --rm --network none --add-host gw:host-gateway bb:1 true
    [ "$output" = "nrun: --add-host NAME:host-gateway needs a network with the host on it (not --network none)" ]
    # --network none: the lines all the same
    run rt_run --rm --network none --add-host db:10.1.2.3 --dns 10.9.9.9 bb:1 sh -c 'tail -1 /etc/hosts; cat /etc/resolv.conf'
    [ "$output" = "$(printf '10.1.2.3\tdb\nnameserver 10.9.9.9')" ]
}

@test "--network host: the host's resolv.conf unless --dns* is given, then docker's lines; host-gateway is the host itself" {
    run rt_run --rm --net host bb:1 cat /etc/resolv.conf
    [ "$output" = "$(cat /etc/resolv.conf)" ]
    run rt_run --rm --net host --dns 10.9.9.9 bb:1 cat /etc/resolv.conf
    want=$({ echo "nameserver 10.9.9.9"; grep -E '^(search|options)[[:space:]]' /etc/resolv.conf; } || true)
    [ "$output" = "$want" ]
    run rt_run --rm --net host --add-host me:host-gateway --add-host db:10.1.2.3 bb:1 sh -c 'tail -2 /etc/hosts'
    [ "$output" = "$(printf '127.0.0.1\tme\n10.1.2.3\tdb')" ]
}

@test "a user network with DNS: --dns comes after the network's own nameserver, so names on the network still resolve; --expose adds to -P" {
    n=dn$SFX
    "$NRUN" network create "$n" >/dev/null
    web1=$(rt_run -d --name "dw$SFX" --network "$n" bb:1 sh -c "$(web named)")
    run rt_run --rm --network "$n" --dns 10.9.9.9 --dns-search corp.example --dns-option ndots:1 bb:1 \
        sh -c "cat /etc/resolv.conf; for i in \$(seq 50); do wget -qO- http://dw$SFX/i && break; sleep 0.1; done"
    [ "$status" -eq 0 ]
    gw=$("$NRUN" network inspect "$n" | jq -r '.[0].IPAM.Config[0].Gateway')
    [ "${lines[0]}" = "nameserver $gw" ]
    [ "${lines[1]}" = "nameserver 10.9.9.9" ]
    [ "${lines[2]}" = "search corp.example" ]
    [ "${lines[3]}" = "options ndots:1" ]
    [ "${lines[4]}" = named ]
    "$NRUN" rm -f "$web1" >/dev/null
    "$NRUN" network rm "$n" >/dev/null
    # --expose: the image's ExposedPorts and these, each published by -P
    id=$(rt_run -d -P --expose 90 --expose 91-92/udp --expose 80/tcp bbx:1 sleep 30)
    run "$NRUN" port "$id"
    [ "${#lines[@]}" -eq 5 ]
    [[ "$output" == *"90/tcp -> "* && "$output" == *"91/udp -> "* && "$output" == *"92/udp -> "* ]]
    [ "$("$NRUN" inspect "$id" | jq -c '.[0].Config.ExposedPorts | keys')" = '["80/tcp","81/tcp","90/tcp","91/udp","92/udp"]' ]
    "$NRUN" rm -f "$id" >/dev/null
    run -125 rt_run --rm --expose 90/sctp bb:1 true
    [ "$output" = "nrun: run: --expose 90/sctp: expected PORT[-PORT][/tcp|udp] with ports 1-65535" ]
}

@test "network connect lasts a restart, as docker's: a --restart container whose app exits comes back on both networks, its alias answering; after a disconnect it comes back on the first alone" {
    a=ra$SFX
    "$NRUN" network create "$a" >/dev/null
    web=$(rt_run -d --name "rw$SFX" --network "$a" bb:1 sh -c "$(web one)")
    # on the default network; the app exits when /dev/shm/bye exists (a
    # tmpfs of each start's own)
    c=$(rt_run -d --name "rc$SFX" --restart always bb:1 sh -c 'while [ ! -e /dev/shm/bye ]; do sleep 0.1; done; exit 3')
    "$NRUN" network connect --alias extra "$a" "$c"
    run "$NRUN" exec "$c" sh -c "for i in \$(seq 50); do wget -qO- http://rw$SFX/i && break; sleep 0.1; done"
    [ "$output" = one ]
    # the app ends: the monitor starts it again, attached to what it had
    "$NRUN" exec "$c" touch /dev/shm/bye
    for _ in $(seq 100); do
        [ "$("$NRUN" inspect -f '{{.RestartCount}}' "$c" 2>/dev/null)" -ge 1 ] 2>/dev/null &&
            [ "$("$NRUN" inspect -f '{{.State.Status}}' "$c")" = running ] && break
        sleep 0.1
    done
    [ "$("$NRUN" inspect -f '{{.RestartCount}}' "$c")" -ge 1 ]
    run "$NRUN" exec "$c" sh -c "for i in \$(seq 50); do wget -qO- http://rw$SFX/i && break; sleep 0.1; done"
    echo "$output"
    [ "$output" = one ]
    run rt_run --rm --network "$a" bb:1 sh -c 'for i in $(seq 50); do nslookup extra >/dev/null 2>&1 && echo found && break; sleep 0.1; done'
    [ "$output" = found ]
    [ "$("$NRUN" inspect "$c" | jq -c ".[0].NetworkSettings.Networks | keys | length")" = 2 ]
    # disconnected, then restarted: the default network alone
    "$NRUN" network disconnect "$a" "$c"
    "$NRUN" restart "$c" >/dev/null
    [ "$("$NRUN" inspect "$c" | jq -c ".[0].NetworkSettings.Networks | keys | length")" = 1 ]
    run "$NRUN" exec "$c" timeout 3 wget -qO- "http://rw$SFX/i"
    [ "$status" -ne 0 ]
    "$NRUN" rm -f "$web" "$c" >/dev/null
    net_clean "$web"
    net_clean "$c"
    "$NRUN" network rm "$a"
}

@test "--ip and network connect --ip: the address asked for on a user network, kept over a restart; a taken one, one outside the subnet, the default network and --ip6 refused" {
    s=si$SFX
    t=sj$SFX
    "$NRUN" network create --subnet 10.78.0.0/24 "$s" >/dev/null
    "$NRUN" network create --subnet 10.79.0.0/24 "$t" >/dev/null
    a=$(rt_run -d --network "$s" --ip 10.78.0.50 bb:1 sleep 600)
    [ "$("$NRUN" inspect "$a" | jq -r ".[0].NetworkSettings.Networks[\"$s\"].IPAddress")" = 10.78.0.50 ]
    "$NRUN" network connect --ip 10.79.0.7 "$t" "$a"
    run "$NRUN" exec "$a" ip -4 -o addr
    [[ "$output" == *"eth0"*"inet 10.78.0.50/24"* && "$output" == *"eth1"*"inet 10.79.0.7/24"* ]]
    "$NRUN" restart -t 1 "$a" >/dev/null
    run "$NRUN" exec "$a" ip -4 -o addr
    echo "$output"
    [[ "$output" == *"inet 10.78.0.50/24"* && "$output" == *"inet 10.79.0.7/24"* ]]
    run -125 rt_run --rm --network "$s" --ip 10.78.0.50 bb:1 true
    [[ "$output" == *"network $s"*"10.78.0.50 is not available"* ]]
    run -125 rt_run --rm --network "$s" --ip 10.99.0.5 bb:1 true
    [[ "$output" == *"network $s"*"10.99.0.5"* ]]
    run -125 rt_run --rm --ip 10.88.0.9 bb:1 true
    [ "$output" = "nrun: --ip is only for user-defined networks (nrun network create)" ]
    run -125 rt_run --rm --network "$s" --ip 10.78.0.999 bb:1 true
    [ "$output" = "nrun: run: --ip 10.78.0.999: not an IPv4 address" ]
    run -125 rt_run --rm --network "$s" --ip6 fd00::5 bb:1 true
    [ "$output" = "nrun: run: --ip6: nrun's networks are IPv4 only" ]
    run "$NRUN" network connect --ip nope "$t" "$a"
    [ "$status" -ne 0 ]
    [ "$output" = "nrun: network connect: --ip nope: not an IPv4 address" ]
    "$NRUN" rm -f "$a" >/dev/null
    net_clean "$a"
    "$NRUN" network rm "$s" "$t" >/dev/null
}

@test "--link C:ALIAS on the default bridge: C's address in /etc/hosts by its name and the alias, its server answers by them; a container not running or not on the network refused" {
    db=$(rt_run -d --name "ld$SFX" bb:1 sh -c "$(web linked)")
    run rt_run --rm --link "ld$SFX:database" bb:1 sh -c \
        'grep -c -e "ld'"$SFX"'\$" -e "database\$" /etc/hosts; for i in $(seq 50); do wget -qO- http://database/i && break; sleep 0.1; done'
    echo "$output"
    [ "$output" = "$(printf '2\nlinked')" ]
    run -125 rt_run --rm --network none --link "ld$SFX" bb:1 true
    [ "$output" = "nrun: run: --link ld$SFX: container ld$SFX is not on network none" ]
    run -125 rt_run --rm --link "ld$SFX:no way" bb:1 true
    [ "$output" = "nrun: run: --link ld$SFX:no way: expected CONTAINER or CONTAINER:ALIAS (a DNS name)" ]
    "$NRUN" stop -t 1 "$db" >/dev/null
    run -125 rt_run --rm --link "ld$SFX" bb:1 true
    [ "$output" = "nrun: run: --link ld$SFX: container ld$SFX is not running" ]
    "$NRUN" rm -f "$db" >/dev/null
    net_clean "$db"
}
