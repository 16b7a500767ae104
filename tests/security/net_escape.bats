#!/usr/bin/env bats
# Containers on nrun's bridges attacking the host and each other: the host's
# loopback through portmap's route_localnet, forged names in a network's DNS
# (dnsname's hosts file), another network's containers and DNS server, and
# ARP and MAC spoofing on a bridge, and what the default capabilities leave.  The probe rawudp puts
# hand-made datagrams on the bridge (a container with NET_RAW can).
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    sec_file_setup_probes nx:1 rawudp
    export SFX=${NR_NETNS#nrt-}
}
teardown_file() { rt_file_teardown; }
teardown() { ip netns del "ou$SFX" 2>/dev/null || true; } # the "outside" of the --internal test

# the first datagram to UDP port $1 on any address of the file's namespace,
# into $2 ("$2.ready" once bound); 30 s at most (a failure, never a pass)
udp_first() {
    nr_in_ns python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
open(sys.argv[2] + ".ready", "w").close()
s.settimeout(30)
try:
    print(s.recvfrom(100)[0].decode())
except socket.timeout:
    print("nothing came")
' "$1" "$2" >"$2" &
    echo $! >"$2.pid"
    for _ in $(seq 200); do [ -e "$2.ready" ] && return 0; sleep 0.05; done
    return 1
}

bridge_mac() { nr_in_ns ip -br link show "$1" | awk '{print $3}'; }
bridge_ip() { nr_in_ns ip -4 -o addr show "$1" | awk '{print $4}' | cut -d/ -f1; }
dns_hosts() { cat "$(nr_dns_dir "$1")/addnhosts" 2>/dev/null || true; }

@test "NET_RAW in a container: packets for the host's 127.0.0.0/8 sent on the bridge are dropped (portmap sets route_localnet=1 there)" {
    hp=$(rt_free_port)
    id=$(rt_run -d --cap-add NET_RAW -p "127.0.0.1:$hp:80" nx:1 sh -c 'echo lo >/tmp/i; exec httpd -f -p 80 -h /tmp')
    # the reason: with route_localnet=1 the host routes 127/8 arriving on nrun0 to its loopback
    [ "$(nr_in_ns sysctl -n net.ipv4.conf.nrun0.route_localnet)" = 1 ]
    got=$BATS_TEST_TMPDIR/got
    udp_first 40123 "$got"
    # in this order: the forged one to the host's 127.0.0.1 first, then one to the
    # bridge address, which proves the path; the listener takes the first that came
    run "$NRUN" exec "$id" rawudp "$(bridge_mac nrun0)" 40123 "127.0.0.1:STOLEN" "$(bridge_ip nrun0):CONTROL"
    [ "$output" = "sent 2" ]
    wait "$(cat "$got.pid")"
    [ "$(cat "$got")" = CONTROL ]
    nr_in_ns iptables -t raw -S PREROUTING | grep -q -- '-d 127.0.0.0/8 -i nrun0 .*-j DROP'
    # the host's own 127.0.0.1 -p path is untouched by the drop
    for _ in $(seq 100); do nr_in_ns wget -qO- "http://127.0.0.1:$hp/i" 2>/dev/null && break; sleep 0.05; done
    [ "$(nr_in_ns wget -qO- "http://127.0.0.1:$hp/i")" = lo ]
    "$NRUN" rm -f "$id" >/dev/null
}

@test "a user network's bridge gets the same loopback drop on attach, and network rm removes it" {
    n=lo$SFX
    "$NRUN" network create "$n" >/dev/null
    br=$("$NRUN" network inspect "$n" | jq -r '.[0].Bridge')
    id=$(rt_run -d --cap-add NET_RAW --network "$n" nx:1 sleep 120)
    got=$BATS_TEST_TMPDIR/got
    nr_in_ns sysctl -qw "net.ipv4.conf.$br.route_localnet=1" # as a -p on it would
    udp_first 40124 "$got"
    run "$NRUN" exec "$id" rawudp "$(bridge_mac "$br")" 40124 "127.0.0.1:STOLEN" "$(bridge_ip "$br"):CONTROL"
    [ "$output" = "sent 2" ]
    wait "$(cat "$got.pid")"
    [ "$(cat "$got")" = CONTROL ]
    nr_in_ns iptables -t raw -S PREROUTING | grep -q -- "-d 127.0.0.0/8 -i $br .*-j DROP"
    "$NRUN" rm -f "$id" >/dev/null
    "$NRUN" network rm "$n" >/dev/null
    run nr_in_ns iptables -t raw -S PREROUTING
    [[ "$output" != *"-i $br "* ]]
}

@test "network connect --alias with a newline, a space or a reserved name is refused: no forged line in the network's DNS" {
    n=dn$SFX
    "$NRUN" network create "$n" >/dev/null
    vic=$(rt_run -d --network "$n" --name "vic$SFX" nx:1 sleep 120)
    other=$(rt_run -d --name "oth$SFX" nx:1 sleep 120)
    before=$(dns_hosts "$n")
    [[ "$before" == *"vic$SFX"* ]]
    run -2 "$NRUN" network connect --alias $'al\n10.1.2.3 forged' "$n" "$other"
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *'--alias al\n10.1.2.3 forged: expected a DNS name'* ]]
    for bad in 'a b' 'host.nrun.internal' 'HOST.DOCKER.INTERNAL.' localhost ''; do
        run -2 "$NRUN" network connect --alias "$bad" "$n" "$other"
        [[ "$output" == *"--alias $bad: expected a DNS name"* ]]
    done
    [ "$(dns_hosts "$n")" = "$before" ]
    run "$NRUN" exec "$vic" nslookup forged
    [[ "$output" != *"10.1.2.3"* ]]
    # a plain alias still works
    "$NRUN" network connect --alias "ok$SFX" "$n" "$other"
    run "$NRUN" exec "$vic" nslookup "ok$SFX"
    [ "$status" -eq 0 ]
    "$NRUN" rm -f "$vic" "$other" >/dev/null
    "$NRUN" network rm "$n" >/dev/null
}

@test "--network-alias and --hostname cannot put localhost or host.nrun.internal into a network's DNS; a hostname with a newline is refused" {
    n=rn$SFX
    "$NRUN" network create "$n" >/dev/null
    for bad in host.nrun.internal host.docker.internal localhost.; do
        run -125 rt_run --rm --network "$n" --network-alias "$bad" nx:1 true
        [[ "$output" == "nrun: run: --network-alias $bad: expected a DNS name"* ]]
    done
    id=$(rt_run -d --network "$n" --hostname host.nrun.internal nx:1 sleep 120)
    [[ "$(dns_hosts "$n")" != *host.nrun.internal* ]]
    ip=$("$NRUN" network inspect "$n" | jq -r ".[0].Containers[\"$id\"].IPv4Address" | cut -d/ -f1)
    gw=$("$NRUN" network inspect "$n" | jq -r '.[0].IPAM.Config[0].Gateway')
    vic=$(rt_run -d --network "$n" nx:1 sleep 120)
    run "$NRUN" exec "$vic" nslookup host.nrun.internal "$gw"
    [[ "$output" != *"Address: $ip"* ]]
    "$NRUN" rm -f "$id" "$vic" >/dev/null
    n0=$(ls "$NRUN_ROOT/containers" | wc -l)
    for net in "$n" none bridge; do
        run -125 rt_run --rm --network "$net" --hostname $'h\n10.1.2.3 forged' nx:1 true
        [ "$output" = "nrun: hostname: a space, '#' or a control character at byte 2" ]
    done
    [ "$(ls "$NRUN_ROOT/containers" | wc -l)" -eq "$n0" ]
    "$NRUN" network rm "$n" >/dev/null
}

@test "--internal network: NET_RAW frames to its gateway's MAC for an outside address are not forwarded; its own members still talk" {
    n=in$SFX out=ou$SFX
    "$NRUN" network create --internal "$n" >/dev/null
    br=$("$NRUN" network inspect "$n" | jq -r '.[0].Bridge')
    # "outside": a namespace of this test behind a veth of the file's namespace
    ip netns add "$out"
    ip link add "o0$SFX" netns "$NR_NETNS" type veth peer name o1 netns "$out"
    nr_in_ns ip addr add 192.0.2.1/24 dev "o0$SFX"
    nr_in_ns ip link set "o0$SFX" up
    ip -n "$out" addr add 192.0.2.2/24 dev o1
    ip -n "$out" link set o1 up
    peer=$(rt_run -d --network "$n" nx:1 sleep 120)
    id=$(rt_run -d --network "$n" --cap-add NET_RAW nx:1 sleep 120)
    got=$BATS_TEST_TMPDIR/got
    ip netns exec "$out" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40126))
open(sys.argv[1] + ".ready", "w").close()
s.settimeout(30)
try:
    print(s.recvfrom(100)[0].decode())
except socket.timeout:
    print("nothing came")
' "$got" >"$got" &
    lp=$!
    for _ in $(seq 200); do [ -e "$got.ready" ] && break; sleep 0.05; done
    run "$NRUN" exec "$id" rawudp "$(bridge_mac "$br")" 40126 "192.0.2.2:LEAK"
    [ "$output" = "sent 1" ]
    # then the host itself sends: if the container's had been forwarded, it came first
    nr_in_ns python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"CONTROL", ("192.0.2.2", 40126))'
    wait "$lp"
    ip netns del "$out"
    [ "$(cat "$got")" = CONTROL ]
    pip=$("$NRUN" network inspect "$n" | jq -r ".[0].Containers[\"$peer\"].IPv4Address" | cut -d/ -f1)
    run "$NRUN" exec "$id" ping -c1 -W2 "$pip"
    [ "$status" -eq 0 ]
    "$NRUN" rm -f "$id" "$peer" >/dev/null
    "$NRUN" network rm "$n" >/dev/null
    run nr_in_ns iptables -t mangle -S FORWARD
    [[ "$output" != *" $br "* ]]
}

@test "NET_ADMIN+NET_RAW on a network: answering ARP for another container's address (or taking its MAC) does not take its published port" {
    n=as$SFX
    "$NRUN" network create "$n" >/dev/null
    hp=$(rt_free_port)
    vic=$(rt_run -d --network "$n" -p "127.0.0.1:$hp:80" nx:1 sh -c 'echo victim >/tmp/i; exec httpd -f -p 80 -h /tmp')
    att=$(rt_run -d --network "$n" --cap-add NET_ADMIN --cap-add NET_RAW nx:1 sh -c 'echo attacker >/tmp/i; exec httpd -f -p 80 -h /tmp')
    for _ in $(seq 100); do nr_in_ns wget -qO- "http://127.0.0.1:$hp/i" 2>/dev/null && break; sleep 0.05; done
    [ "$(nr_in_ns wget -T 10 -t 1 -qO- "http://127.0.0.1:$hp/i")" = victim ] # the host has the victim in its ARP cache now
    vip=$("$NRUN" network inspect "$n" | jq -r ".[0].Containers[\"$vic\"].IPv4Address" | cut -d/ -f1)
    gw=$("$NRUN" network inspect "$n" | jq -r '.[0].IPAM.Config[0].Gateway')
    "$NRUN" exec "$att" ip addr add "$vip/32" dev eth0
    run "$NRUN" exec "$att" arping -U -c 2 -I eth0 "$vip"
    [[ "$output" == *"Sent 2 probe"* ]]
    for _ in 1 2 3; do
        [ "$(nr_in_ns wget -T 10 -t 1 -qO- "http://127.0.0.1:$hp/i")" = victim ]
    done
    # the victim's MAC on the attacker's interface: its frames go nowhere
    vmac=$("$NRUN" exec "$vic" cat /sys/class/net/eth0/address)
    "$NRUN" exec "$att" sh -c "ip addr del $vip/32 dev eth0; ip link set eth0 address $vmac"
    run "$NRUN" exec "$att" ping -c1 -W2 "$gw"
    [[ "$output" == *"1 packets transmitted, 0 packets received"* ]]
    # and the bridge did not learn the victim's MAC on the attacker's port
    br=$("$NRUN" network inspect "$n" | jq -r '.[0].Bridge')
    vveth=$(jq -r --arg b "$br" '.attachments[0].result.interfaces[] | select(.sandbox == null and .name != $b) | .name' \
        "$NRUN_ROOT/networks/attach/$vic.json")
    run nr_in_ns bridge fdb show br "$br"
    [[ "$output" != *"$vmac dev "* || "$(grep -i "^$vmac " <<<"$output")" == *"dev $vveth "* ]]
    [ "$(grep -ic "^$vmac " <<<"$output")" -le 1 ]
    for _ in 1 2 3; do
        [ "$(nr_in_ns wget -T 10 -t 1 -qO- "http://127.0.0.1:$hp/i")" = victim ]
    done
    # the attacker's own traffic was never the issue: a fresh one on its address works
    att2=$(rt_run -d --network "$n" --cap-add NET_RAW nx:1 sleep 60)
    run "$NRUN" exec "$att2" ping -c1 -W2 "$gw"
    [ "$status" -eq 0 ]
    "$NRUN" rm -f "$vic" "$att" "$att2" >/dev/null
    # the per-attachment chains go with the containers
    run nr_in_ns ebtables -t nat -L
    [[ "$output" != *"NRUN-${vic:0:12}"* && "$output" != *"NRUN-${att:0:12}"* ]]
    "$NRUN" network rm "$n" >/dev/null
}

@test "NET_RAW on network A: no ICMP to network B's containers and no answer from B's DNS; A's own gateway answers" {
    a=ia$SFX b=ib$SFX
    "$NRUN" network create "$a" >/dev/null
    "$NRUN" network create "$b" >/dev/null
    vb=$(rt_run -d --network "$b" --name "sec$SFX" nx:1 sleep 120)
    bip=$("$NRUN" network inspect "$b" | jq -r ".[0].Containers[\"$vb\"].IPv4Address" | cut -d/ -f1)
    bgw=$("$NRUN" network inspect "$b" | jq -r '.[0].IPAM.Config[0].Gateway')
    agw=$("$NRUN" network inspect "$a" | jq -r '.[0].IPAM.Config[0].Gateway')
    id=$(rt_run -d --cap-add NET_RAW --network "$a" nx:1 sleep 120)
    run "$NRUN" exec "$id" ping -c1 -W2 "$agw"
    [ "$status" -eq 0 ]
    run "$NRUN" exec "$id" ping -c1 -W2 "$bip"
    [[ "$output" == *"1 packets transmitted, 0 packets received"* ]]
    # B's dnsmasq listens on B's bridge only: names of B do not leak to A
    run "$NRUN" exec "$id" nslookup "sec$SFX" "$bgw"
    [[ "$output" != *"$bip"* ]]
    run "$NRUN" exec "$vb" nslookup "sec$SFX" "$bgw"
    [[ "$output" == *"$bip"* ]]
    "$NRUN" rm -f "$id" "$vb" >/dev/null
    "$NRUN" network rm "$a" "$b" >/dev/null
}

@test "default capabilities: no raw socket to forge frames, no taking another container's address" {
    n=sp$SFX
    "$NRUN" network create "$n" >/dev/null
    vic=$(rt_run -d --network "$n" nx:1 sleep 120)
    vip=$("$NRUN" network inspect "$n" | jq -r ".[0].Containers[\"$vic\"].IPv4Address" | cut -d/ -f1)
    id=$(rt_run -d --network "$n" nx:1 sleep 120)
    run "$NRUN" exec "$id" rawudp 00:11:22:33:44:55 9 "$vip:x"
    # the seccomp filter refuses the family without NET_RAW (EAFNOSUPPORT); the capability check would say EPERM
    [[ "$output" == socket=EAFNOSUPPORT || "$output" == socket=EPERM ]]
    run "$NRUN" exec "$id" ip addr add "$vip/32" dev eth0
    [[ "$output" == *"Operation not permitted"* ]]
    run "$NRUN" exec "$id" ip link set eth0 address 02:00:00:00:00:01
    [[ "$output" == *"Operation not permitted"* || "$output" == *"Address family not supported"* ]]
    run "$NRUN" exec "$id" ip -4 addr show eth0
    [[ "$output" != *"$vip/"* ]]
    [[ "$("$NRUN" exec "$id" cat /sys/class/net/eth0/address)" != 02:00:00:00:00:01 ]]
    "$NRUN" rm -f "$vic" "$id" >/dev/null
    "$NRUN" network rm "$n" >/dev/null
}

@test "kill -9 of nrun run at several points of the network setup: the next nrun leaves no veth, lease, rule, chain or pinned namespace" {
    n=kl$SFX
    "$NRUN" network create --subnet 10.86.0.0/29 "$n" >/dev/null
    br=$("$NRUN" network inspect "$n" | jq -r '.[0].Bridge')
    for d in 0.02 0.05 0.1 0.15 0.2 0.3 0.5 0.8; do
        port=$(rt_free_port)
        "$NRUN" run --rm --network "$n" -p "127.0.0.1:$port:80" nx:1 sleep 1 </dev/null >/dev/null 2>&1 3>&- &
        pid=$!
        sleep "$d"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
    done
    # each container ends within a second: its nrun is gone, the next nrun cleans
    for _ in $(seq 100); do [ -z "$("$NRUN" ps -q)" ] && break; sleep 0.1; done
    [ -z "$("$NRUN" ps -q)" ]
    sleep 0.5 # a monitor-less init's last exit
    "$NRUN" ps -a >/dev/null
    "$NRUN" rm -f $("$NRUN" ps -aq) >/dev/null 2>&1 || true
    "$NRUN" network ls >/dev/null
    [ -z "$(ls "$NRUN_ROOT/networks/attach")" ]
    [ -z "$(ls "$NRUN_ROOT/networks/ns" 2>/dev/null)" ]
    ! grep -qF "$NRUN_ROOT/networks/ns" /proc/mounts || false
    ! ls "$NRUN_ROOT/networks/ipam/$n" | grep -q '^10\.' || false
    [ -z "$(nr_in_ns ip -o link show master "$br")" ]
    ! nr_in_ns ebtables -t nat -L | grep -q NRUN- || false
    ! nr_in_ns iptables-save -t nat | grep -q -- '-d 127.0.0.1/32 .*--dport' || false
    # and the network still gives out all its five addresses (.1 is the gateway's)
    for _ in 1 2 3 4 5; do rt_run -d --network "$n" nx:1 sleep 30 >>"$BATS_TEST_TMPDIR/ids"; done
    "$NRUN" rm -f $(cat "$BATS_TEST_TMPDIR/ids") >/dev/null
    "$NRUN" network rm "$n" >/dev/null
}
