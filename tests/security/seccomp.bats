#!/usr/bin/env bats
# The default seccomp allowlist by probe: socket families (no AF_VSOCK,
# bluetooth, AF_ALG, AF_KEY; AF_PACKET only with NET_RAW; netlink without
# the host's device events), personality() with docker's values only, and
# the published -p socket, which is the host's: no CAP_NET_ADMIN beside it.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() { sec_file_setup_probes sc:1 sockfam skns; }

teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }

# The value of key $1 in the probe's output ($output).
probe_val() {
    local l
    for l in "${lines[@]}"; do
        [ "${l%%=*}" = "$1" ] && { echo "${l#*=}"; return 0; }
    done
    echo missing
}

# Nothing listens on the host's vsock port 4242 (what the probe tried to bind).
no_host_vsock_listener() {
    ! grep -qs ':1092 ' /proc/net/vsock 2>/dev/null # 4242 = 0x1092 || false
}

# Each K=V: the probe's line K= (probe_val) says V; names the first that does not.
probes_are() {
    local kv
    for kv in "$@"; do
        [ "$(probe_val "${kv%%=*}")" = "${kv#*=}" ] || { echo "${kv%%=*}: $(probe_val "${kv%%=*}"), not ${kv#*=}"; return 1; }
    done
}

@test "seccomp: AF_VSOCK, bluetooth, AF_ALG, AF_KEY, AF_PACKET, unknown families are EAFNOSUPPORT; unix, inet, inet6, netlink route work" {
    run rt_run --rm --net none sc:1 /bin/sockfam
    [ "$status" -eq 0 ]
    for k in unix inet inet6 netlink-route socketpair-unix; do
        [ "$(probe_val $k)" = ok ] || { echo "$k: $(probe_val $k)"; return 1; }
    done
    for k in vsock vsock-highbits bluetooth alg key packet unspec family-99; do
        [ "$(probe_val $k)" = EAFNOSUPPORT ] || { echo "$k: $(probe_val $k)"; return 1; }
    done
    [ "$(probe_val socketpair-vsock)" = EAFNOSUPPORT ]
    # the attack got nowhere: nothing bound, nothing listening on the host
    probes_are vsock-bind=missing vsock-listen=missing
    no_host_vsock_listener
}

@test "seccomp: netlink gives routes, not the host's device events (NETLINK_KOBJECT_UEVENT) nor netfilter" {
    run rt_run --rm sc:1 /bin/sockfam
    [ "$status" -eq 0 ]
    probes_are netlink-route=ok netlink-uevent=EPROTONOSUPPORT netlink-netfilter=EPROTONOSUPPORT
}

@test "seccomp: AF_PACKET with --cap-add NET_RAW (as docker); the rest stays denied" {
    run rt_run --rm --cap-add NET_RAW sc:1 /bin/sockfam
    [ "$status" -eq 0 ]
    probes_are packet=ok vsock=EAFNOSUPPORT netlink-uevent=EPROTONOSUPPORT
    no_host_vsock_listener
}

@test "seccomp: personality() only with docker's values: the query and PER_LINUX work, ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, 3GB/32-bit limits are EPERM" {
    run rt_run --rm sc:1 /bin/sockfam
    [ "$status" -eq 0 ]
    probes_are personality-query=ok personality-linux=ok
    for k in personality-no-randomize personality-read-implies-exec personality-linux32-3gb personality-addr-limit-32bit; do
        [ "$(probe_val $k)" = EPERM ] || { echo "$k: $(probe_val $k)"; return 1; }
    done
    # and the process kept its plain Linux personality
    [ "$(probe_val personality-now)" = 0 ]
}

@test "seccomp: the compiled default filter is cached by its content (a changed profile gets a new entry)" {
    rm -rf "$NRUN_ROOT/cache/seccomp"
    rt_run --rm sc:1 true
    rt_run --rm sc:1 true
    [ "$(ls "$NRUN_ROOT/cache/seccomp" | wc -l)" -eq 1 ]
    rt_run --rm --cap-add NET_RAW sc:1 true
    [ "$(ls "$NRUN_ROOT/cache/seccomp" | wc -l)" -eq 2 ]
}

@test "-p with --cap-add NET_ADMIN: the container's own namespace only; the host's NAT rules are out of its reach" {
    port=$(rt_free_port)
    id=$(rt_run -d --cap-add NET_ADMIN -p "127.0.0.1:$port:80" sc:1 sleep 30)
    before=$(nr_in_ns iptables-save -t nat | grep -c -- "--dport $port ")
    [ "$before" -ge 1 ]
    # its ioctl/netlink reach only its own namespace: flushing "NAT" there leaves the publishing rules
    "$NRUN" exec "$id" ip link set eth0 down 2>/dev/null || true
    "$NRUN" exec "$id" ip route flush table main 2>/dev/null || true
    [ "$(nr_in_ns iptables-save -t nat | grep -c -- "--dport $port ")" -eq "$before" ]
    nr_in_ns ip link show nrun0 >/dev/null
    # PID 1 holds no socket of the host's namespace: every socket it has is of the container's
    ctrns=$(readlink "/proc/$(jq -r .pid "$NRUN_ROOT/containers/$id/state.json")/ns/net")
    hostns=$(nr_in_ns readlink /proc/self/ns/net)
    [ "$ctrns" != "$hostns" ]
    "$NRUN" rm -f "$id" >/dev/null
}

@test "SIOCGSKNS on PID 1's sockets gives the container's own namespace: no host socket enters with -p" {
    port=$(rt_free_port)
    run rt_run --rm --mode single -p "127.0.0.1:$port:80" sc:1 /bin/skns
    [ "$status" -eq 0 ]
    # no fd 3 handed in any more
    [[ "$output" != *"skns=ok"* ]]
    # it sees its own lo and eth0, none of the host's interfaces
    [[ "$output" == *"if=eth0"* ]]
    for i in $(ls /sys/class/net); do
        [ "$i" = lo ] || [ "$i" = eth0 ] && continue
        [[ "$output" != *"if=$i"* ]]
    done
}

@test "node under the default filter: an HTTP server and client, os.networkInterfaces(), dns.lookup, a unix socket" {
    rt_node_image scnode:1
    run rt_run --rm --mode single scnode:1 node -e '
        const http = require("http"), os = require("os"), dns = require("dns"), net = require("net");
        console.log("ifaces", Object.keys(os.networkInterfaces()).join(","));
        dns.lookup("localhost", (e, a) => {
            console.log("dns", e ? e.code : a);
            const s = http.createServer((q, r) => r.end("pong")).listen(0, "127.0.0.1", () => {
                http.get({host: "127.0.0.1", port: s.address().port}, r => {
                    let b = ""; r.on("data", d => b += d).on("end", () => {
                        console.log("http", b);
                        const u = net.createServer(c => c.end("u")).listen("/tmp/u.sock", () =>
                            net.connect("/tmp/u.sock").on("data", d => { console.log("unix", String(d)); process.exit(0); }));
                    });
                });
            });
        });'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "ifaces lo,eth0" ]
    [[ "${lines[1]}" == "dns 127.0.0.1" || "${lines[1]}" == "dns ::1" ]]
    [ "${lines[2]}" = "http pong" ]
    [ "${lines[3]}" = "unix u" ]
}
