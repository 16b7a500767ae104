#!/usr/bin/env bats
# Hostile strings and files for the networks: names that would be paths or
# options, subnets and gateways that are not, -p specs past every limit,
# conflists, attachment records and leases edited into garbage, and two
# nruns racing on the same network.  Each refusal is checked by its message,
# and the store is left as it was.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_bb
    export SFX=${NR_NETNS#nrt-}
}
teardown_file() { rt_file_teardown; }
teardown() { ip netns del "dc$SFX" 2>/dev/null || true; } # the decoy of the forged-record test

nets() { ls -a "$NRUN_ROOT/networks" | grep -v '^\.lock$'; }

@test "network names that are paths, options, too long or hold control characters: refused, no file made" {
    "$NRUN" network ls >/dev/null
    before=$(nets)
    long=$(printf 'a%.0s' $(seq 65))
    for bad in ../x x/y /etc/passwd .hidden "$long" $'a\nb' 'a"b' 'a b' 'a\b' bridge host none default private; do
        run -1 "$NRUN" network create "$bad"
        [[ "$output" == "nrun: network name \""*"\": expected [a-zA-Z0-9][a-zA-Z0-9_.-]* (at most 64)"* ]]
        [ "${#lines[@]}" -eq 1 ]
    done
    run -2 "$NRUN" network create -j
    [ "$output" = "nrun: network create: unknown option -j" ]
    for bad in ../x x/y "$long"; do
        run -1 "$NRUN" network rm "$bad"
        [ "$output" = "nrun: network $bad not found" ]
        run -125 rt_run --rm --network "$bad" bb:1 true
        [[ "$output" == "nrun: run: --network $bad: expected bridge, host, none or a network's name"* ]]
    done
    [ "$(nets)" = "$before" ]
    [ ! -e "$NRUN_ROOT/x.conflist" ] && [ ! -e "$NRUN_ROOT/networks/x" ]
}

@test "--subnet and --gateway: anything but an aligned IPv4 network and a host address of it is refused" {
    before=$(nets)
    for bad in 10.0.0.0/33 10.0.0.1/24 10.0.0.0/7 10.0.0.0/31 '10.0.0.0/24"' $'10.0.0.0/24\n' 10.0.0.0/+24 10.0.0.0/024 \
        '10.0.0.0/ 24' 010.0.0.0/24 10.0.0.0/2147483672 10.0.0.0/-24 '-j ACCEPT' ::1/64 10.0.0.0 ''; do
        run -1 "$NRUN" network create --subnet "$bad" "s$SFX"
        [[ "$output" == "nrun: --subnet "*": expected an IPv4 network like 10.90.0.0/24 (prefix 8 to 30, host bits zero)" ]]
    done
    for bad in 10.77.1.1 '10.77.0.1"' '-j' 10.77.0.1/24 ''; do
        run -1 "$NRUN" network create --subnet 10.77.0.0/24 --gateway "$bad" "g$SFX"
        [ "$output" = "nrun: --gateway $bad: not an address in 10.77.0.0/24" ]
    done
    for bad in 10.77.0.0 10.77.0.255; do
        run -1 "$NRUN" network create --subnet 10.77.0.0/24 --gateway "$bad" "g$SFX"
        [ "$output" = "nrun: --gateway $bad: the network or broadcast address of 10.77.0.0/24" ]
    done
    run -2 "$NRUN" network create --driver macvlan "d$SFX"
    [ "$output" = "nrun: network create: --driver macvlan: only bridge" ]
    [ "$(nets)" = "$before" ]
}

@test "-p specs past the limits: port 0 and 65536, 1-2-3, sctp, huge ranges, overflowing numbers, a newline in the address, IPv6 host addresses" {
    n=$(ls "$NRUN_ROOT/containers" | wc -l)
    for bad in 65536:80 80:65536 0:80 80:0 -1:80 1-2-3 80/sctp 80/tcp/udp 1-65535:1-65535 8000-7999:80 \
        99999999999999999999:80 80:99999999999999999999 1.2.3.4.5:80:80 $'127.0.0.1\n:80:80' '[::1]x:80:80' \
        ' 80' '80 ' '+80:80' '80:+80' '80-+81:80-81' 0x50:80; do
        run -125 rt_run --rm -p "$bad" bb:1 true
        [[ "$output" == "nrun: -p "* ]]
        [[ "$output" == *": bad "* || "$output" == *"the protocol is tcp or udp"* || "$output" == *"more than 1000 ports"* ]]
        [ "${#lines[@]}" -eq 1 ]
    done
    [ "$(ls "$NRUN_ROOT/containers" | wc -l)" -eq "$n" ]
    run -125 rt_run --rm --network none -p 80 bb:1 true
    [[ "$output" == "nrun: "*"-p"* ]]
    # an IPv6 host address would be accepted and never forwarded (IPv4 networks)
    for v6 in '[::1]:8080:80' '[::]:8080:80/udp' '[::ffff:127.0.0.1]::80'; do
        run -125 rt_run --rm -p "$v6" bb:1 true
        [ "$output" = "nrun: -p $v6: an IPv6 host address is not published (container networks are IPv4 only): give an IPv4 address, or none for all of them" ]
    done
    [ "$(ls "$NRUN_ROOT/containers" | wc -l)" -eq "$n" ]
}

@test "conflists edited into garbage or hostile JSON: a clear error naming the file, no plugin run with it" {
    n=cf$SFX
    "$NRUN" network create "$n" >/dev/null
    f=$NRUN_ROOT/networks/$n.conflist
    cp "$f" "$BATS_TEST_TMPDIR/good"
    printf '{"name":"%s","plugins":[1,' "$n" >"$f"
    run -125 rt_run --rm --network "$n" bb:1 true
    [[ "$output" == "nrun: $NRUN_ROOT/networks/$n.conflist:1:"[0-9]*": "* ]]
    printf '{"name":"other","plugins":[]}' >"$f"
    run -125 rt_run --rm --network "$n" bb:1 true
    [[ "$output" == *"networks/$n.conflist: not a CNI conflist named \"$n\""* ]]
    # a bridge name that is an iptables option: refused before any plugin or iptables runs
    jq '.plugins[0].bridge = "-j ACCEPT"' "$BATS_TEST_TMPDIR/good" >"$f"
    run -125 rt_run --rm --network "$n" bb:1 true
    [ "$output" = "nrun: network $n: bridge \"-j ACCEPT\" is not a plain device name" ]
    run nr_in_ns iptables-save
    [[ "$output" != *"ACCEPT\""* && "$output" != *"-i -j"* ]]
    [ -z "$(ls "$NRUN_ROOT/networks/attach")" ]
    cp "$BATS_TEST_TMPDIR/good" "$f"
    "$NRUN" network rm "$n" >/dev/null
}

@test "an attachment record or a lease edited into garbage: ps, rm and network ls still work; a full range is a clear error" {
    n=gb$SFX
    "$NRUN" network create --subnet 10.78.0.0/30 "$n" >/dev/null
    id=$(rt_run -d --network "$n" bb:1 sleep 120)
    for junk in '{"attachments":[{"conflist":"x","ifname":7}],"owner_pid":"a"}' \
        '[1,2' "$(head -c 300 /dev/urandom | tr -d '\0')"; do
        printf '%s' "$junk" >"$NRUN_ROOT/networks/attach/$id.json"
        run "$NRUN" ps
        [ "$status" -eq 0 ]
        run "$NRUN" network ls
        [ "$status" -eq 0 ]
        run "$NRUN" network inspect "$n"
        [ "$status" -eq 0 ]
    done
    br=$("$NRUN" network inspect "$n" | jq -r '.[0].Bridge')
    [ -n "$(nr_in_ns ip -o link show master "$br")" ]
    run "$NRUN" rm -f "$id"
    [ "$status" -eq 0 ]
    # its namespace is unpinned from the path nrun pins it at, not the
    # record's: the container's veth goes with it
    [ ! -e "$NRUN_ROOT/networks/ns/$id" ]
    for _ in $(seq 50); do [ -z "$(nr_in_ns ip -o link show master "$br")" ] && break; sleep 0.1; done
    [ -z "$(nr_in_ns ip -o link show master "$br")" ]
    # a lease edited into garbage, or naming a container with no record
    # (nothing would ever release either), is collected: the range's only
    # free address is given again, and the run works
    id2=$(rt_run -d --network "$n" bb:1 sleep 120)
    lease=$(grep -l "$id2" "$NRUN_ROOT"/networks/ipam/"$n"/10.* | xargs -n1 basename)
    [ -n "$lease" ]
    run -125 rt_run --rm --network "$n" bb:1 true # the range (one address) is taken
    [[ "$output" == *"no IP addresses available in range set: 10.78.0.1-10.78.0.2"* ]]
    "$NRUN" rm -f "$id2" >/dev/null
    for junk in $'\0\377garbage\n' "$(printf 'f%.0s' $(seq 64))"$'\neth0'; do
        printf '%s' "$junk" >"$NRUN_ROOT/networks/ipam/$n/$lease"
        echo nan >"$NRUN_ROOT/networks/ipam/$n/last_reserved_ip.0"
        run rt_run --rm --network "$n" bb:1 true
        echo "$output"
        [ "$status" -eq 0 ]
    done
    # a lease of a container that is attached is kept
    id3=$(rt_run -d --network "$n" bb:1 sleep 120)
    "$NRUN" ps >/dev/null
    grep -l "$id3" "$NRUN_ROOT"/networks/ipam/"$n"/10.* >/dev/null
    "$NRUN" rm -f "$id3" >/dev/null
    "$NRUN" network rm "$n" >/dev/null
}

@test "an attachment record or a container's state that is a FIFO, or a link to /dev/zero: ps, network ls and rm finish" {
    id=$(rt_run -d bb:1 sleep 120)
    f=$(printf 'a%.0s' $(seq 64))
    mkfifo "$NRUN_ROOT/networks/attach/$f.json"
    ln -s /dev/zero "$NRUN_ROOT/networks/attach/$(printf 'b%.0s' $(seq 64)).json"
    run sec_bounded 60 "$NRUN" ps
    [ "$status" -eq 0 ]
    [[ "$output" == *"${id:0:12}"* ]]
    run sec_bounded 60 "$NRUN" network ls
    [ "$status" -eq 0 ]
    # records of no live nrun: collected, the FIFO and the link with them
    [ ! -e "$NRUN_ROOT/networks/attach/$f.json" ]
    [ ! -L "$NRUN_ROOT/networks/attach/$(printf 'b%.0s' $(seq 64)).json" ]
    "$NRUN" rm -f "$id" >/dev/null
    c=$("$NRUN" create bb:1 true)
    rm "$NRUN_ROOT/containers/$c/state.json"
    mkfifo "$NRUN_ROOT/containers/$c/state.json"
    run sec_bounded 60 "$NRUN" ps -a
    [ "$status" -ne 124 ]
    run sec_bounded 60 "$NRUN" rm -f "$c"
    [ "$status" -eq 0 ]
    [ ! -e "$NRUN_ROOT/containers/$c" ]
}

@test "host-local's leases stay in the store: a conflist's dataDir edited to another directory, an ipam or ns dir that is a symlink" {
    n=dd$SFX
    o=$BATS_TEST_TMPDIR/other-ipam
    mkdir -p "$o"
    "$NRUN" network create --subnet 10.79.0.0/29 "$n" >/dev/null
    jq --arg d "$o" '(.plugins[] | select(.type == "bridge")).ipam.dataDir = $d' \
        "$NRUN_ROOT/networks/$n.conflist" >"$BATS_TEST_TMPDIR/c"
    cp "$BATS_TEST_TMPDIR/c" "$NRUN_ROOT/networks/$n.conflist"
    id=$(rt_run -d --network "$n" bb:1 sleep 120)
    grep -l "$id" "$NRUN_ROOT"/networks/ipam/"$n"/10.* >/dev/null
    [ -z "$(ls -A "$o")" ]
    "$NRUN" rm -f "$id" >/dev/null
    # the store's ipam directory replaced by a link to another: refused, naming it
    mv "$NRUN_ROOT/networks/ipam" "$NRUN_ROOT/networks/ipam.real"
    ln -s "$o" "$NRUN_ROOT/networks/ipam"
    run -125 rt_run --rm --network "$n" bb:1 true
    [[ "$output" == *"networks/ipam: not a directory (a symlink): remove it"* ]]
    [ "${#lines[@]}" -eq 1 ]
    [ -z "$(ls -A "$o")" ]
    rm "$NRUN_ROOT/networks/ipam"
    mv "$NRUN_ROOT/networks/ipam.real" "$NRUN_ROOT/networks/ipam"
    # so is the directory the namespaces are pinned in (a mount through it)
    mv "$NRUN_ROOT/networks/ns" "$NRUN_ROOT/networks/ns.real"
    ln -s "$o" "$NRUN_ROOT/networks/ns"
    run -125 rt_run --rm --network "$n" bb:1 true
    [[ "$output" == *"networks/ns: not a directory (a symlink): remove it"* ]]
    [ -z "$(ls -A "$o")" ]
    rm "$NRUN_ROOT/networks/ns"
    mv "$NRUN_ROOT/networks/ns.real" "$NRUN_ROOT/networks/ns"
    "$NRUN" network rm "$n" >/dev/null
}

@test "a forged attachment record cannot make nrun's clean-up unlink a file or DEL an interface in another namespace" {
    n=fg$SFX
    "$NRUN" network create "$n" >/dev/null
    decoy=$BATS_TEST_TMPDIR/decoy
    echo keep >"$decoy"
    ns=dc$SFX
    ip netns add "$ns"
    ip -n "$ns" link add eth0 type veth peer name eth1
    fake=$(printf 'f%.0s' $(seq 64))
    jq -n --arg f "$decoy" --slurpfile c "$NRUN_ROOT/networks/$n.conflist" \
        '{owner_pid: 999999999, init_pid: 999999999, netns: $f, attachments: [{conflist: $c[0], ifname: "eth0", result: {}}]}' \
        >"$NRUN_ROOT/networks/attach/$fake.json"
    "$NRUN" ps >/dev/null # its owner is dead: the clean-up runs
    [ ! -e "$NRUN_ROOT/networks/attach/$fake.json" ]
    [ "$(cat "$decoy")" = keep ]
    jq -n --arg f "/run/netns/$ns" --slurpfile c "$NRUN_ROOT/networks/$n.conflist" \
        '{owner_pid: 999999999, init_pid: 999999999, netns: $f, attachments: [{conflist: $c[0], ifname: "eth0", result: {}}]}' \
        >"$NRUN_ROOT/networks/attach/$fake.json"
    "$NRUN" ps >/dev/null
    run ip -n "$ns" -o link show eth0
    [ "$status" -eq 0 ]
    ip netns del "$ns"
    # nor in a running container's namespace, by the path nrun pins that one at
    live=$(rt_run -d --network "$n" bb:1 sleep 120)
    pin=$NRUN_ROOT/networks/ns/$live
    grep -qF " $(realpath "$pin") nsfs " /proc/mounts
    br=$("$NRUN" network inspect "$n" | jq -r '.[0].Bridge')
    [ -n "$(nr_in_ns ip -o link show master "$br")" ]
    jq -n --arg f "$pin" --slurpfile c "$NRUN_ROOT/networks/$n.conflist" \
        '{owner_pid: 999999999, init_pid: 999999999, netns: $f, attachments: [{conflist: $c[0], ifname: "eth0", result: {}}]}' \
        >"$NRUN_ROOT/networks/attach/$fake.json"
    "$NRUN" ps >/dev/null
    [ ! -e "$NRUN_ROOT/networks/attach/$fake.json" ]
    grep -qF " $(realpath "$pin") nsfs " /proc/mounts
    [ -n "$(nr_in_ns ip -o link show master "$br")" ]
    "$NRUN" exec "$live" ip -o -4 addr show eth0 | grep -q ' 10\.'
    "$NRUN" rm -f "$live" >/dev/null
    [ ! -e "$pin" ]
    "$NRUN" network rm "$n" >/dev/null
}

@test "a pin that is a symlink (networks/ns/<id> to another namespace) is no pin: DEL does not run in what it names" {
    n=fl$SFX
    "$NRUN" network create "$n" >/dev/null
    ns=dl$SFX
    ip netns add "$ns"
    ip -n "$ns" link add eth0 type veth peer name eth1
    fake=$(printf 'e%.0s' $(seq 64))
    mkdir -p "$NRUN_ROOT/networks/ns"
    ln -s "/run/netns/$ns" "$NRUN_ROOT/networks/ns/$fake"
    jq -n --slurpfile c "$NRUN_ROOT/networks/$n.conflist" \
        '{owner_pid: 999999999, init_pid: 999999999, attachments: [{conflist: $c[0], ifname: "eth0", result: {}}]}' \
        >"$NRUN_ROOT/networks/attach/$fake.json"
    "$NRUN" ps >/dev/null # its owner is dead: the clean-up runs
    [ ! -e "$NRUN_ROOT/networks/attach/$fake.json" ]
    [ ! -L "$NRUN_ROOT/networks/ns/$fake" ]
    run ip -n "$ns" -o link show eth0
    ip netns del "$ns"
    [ "$status" -eq 0 ]
    "$NRUN" network rm "$n" >/dev/null
}

@test "a forged attachment record cannot make DEL write outside the store: its dataDir and a name with '..' are the store's to decide" {
    n=fd$SFX
    o=$BATS_TEST_TMPDIR/elsewhere
    mkdir -p "$o"
    "$NRUN" network create "$n" >/dev/null
    fake=$(printf 'e%.0s' $(seq 64))
    # host-local's DEL makes <dataDir>/<name>/ (and its lock) before it looks for leases
    for edit in '.plugins[0].ipam.dataDir = $o' ".name = \"../../../../../../..$o/up\""; do
        jq --arg o "$o" "$edit" "$NRUN_ROOT/networks/$n.conflist" >"$BATS_TEST_TMPDIR/c"
        jq -n --slurpfile c "$BATS_TEST_TMPDIR/c" \
            '{owner_pid: 999999999, init_pid: 999999999, attachments: [{conflist: $c[0], ifname: "eth0", result: {}}]}' \
            >"$NRUN_ROOT/networks/attach/$fake.json"
        "$NRUN" ps >/dev/null # its owner is dead: the clean-up runs DEL
        [ ! -e "$NRUN_ROOT/networks/attach/$fake.json" ]
        echo "$edit: $(ls -A "$o")"
        [ -z "$(ls -A "$o")" ]
    done
    "$NRUN" network rm "$n" >/dev/null
}

@test "two nruns creating, then removing, the same network at once: one wins, the other says why" {
    n=cc$SFX
    for _ in 1 2 3; do
        "$NRUN" network create "$n" >"$BATS_TEST_TMPDIR/o1" 2>&1 &
        p1=$!
        "$NRUN" network create "$n" >"$BATS_TEST_TMPDIR/o2" 2>&1 &
        p2=$!
        r1=0 r2=0
        wait $p1 || r1=$?
        wait $p2 || r2=$?
        [ $((r1 + r2)) -eq 1 ]
        grep -qx "nrun: network $n already exists" "$BATS_TEST_TMPDIR/o1" "$BATS_TEST_TMPDIR/o2"
        jq -e --arg n "$n" '.name == $n' "$NRUN_ROOT/networks/$n.conflist" >/dev/null
        "$NRUN" network rm "$n" >"$BATS_TEST_TMPDIR/o1" 2>&1 &
        p1=$!
        "$NRUN" network rm "$n" >"$BATS_TEST_TMPDIR/o2" 2>&1 &
        p2=$!
        r1=0 r2=0
        wait $p1 || r1=$?
        wait $p2 || r2=$?
        [ $((r1 + r2)) -eq 1 ]
        grep -qx "nrun: network $n not found" "$BATS_TEST_TMPDIR/o1" "$BATS_TEST_TMPDIR/o2"
        [ ! -e "$NRUN_ROOT/networks/$n.conflist" ]
    done
}

@test "network rm while a container is attached is refused and changes nothing; rm of the default network is refused" {
    n=at$SFX
    "$NRUN" network create "$n" >/dev/null
    id=$(rt_run -d --network "$n" bb:1 sleep 120)
    cp "$NRUN_ROOT/networks/$n.conflist" "$BATS_TEST_TMPDIR/before"
    run -1 "$NRUN" network rm "$n"
    [ "$output" = "nrun: network $n has active endpoints (container ${id:0:12}): stop or disconnect them first" ]
    cmp "$NRUN_ROOT/networks/$n.conflist" "$BATS_TEST_TMPDIR/before"
    br=$(jq -r '.plugins[0].bridge' "$BATS_TEST_TMPDIR/before")
    nr_in_ns ip link show "$br" >/dev/null
    run -1 "$NRUN" network rm bridge
    [ "$output" = "nrun: network bridge is the default network: it cannot be removed" ]
    "$NRUN" rm -f "$id" >/dev/null
    "$NRUN" network rm "$n" >/dev/null
    ! nr_in_ns ip link show "$br" >/dev/null 2>&1 || false # its own bridge went with it
}

@test "network rm of a conflist edited to join a bridge nrun did not make: the network goes, the bridge stays" {
    n=hb$SFX
    "$NRUN" network create "$n" >/dev/null
    own=$("$NRUN" network inspect "$n" | jq -r '.[0].Bridge')
    for hb in "hb$SFX" nrun0; do
        # nrun0 may be there already: the default network of an earlier test
        made=
        nr_in_ns ip link show "$hb" >/dev/null 2>&1 || { nr_in_ns ip link add "$hb" type bridge && made=1; }
        f=$NRUN_ROOT/networks/$n.conflist
        [ -e "$f" ] || "$NRUN" network create "$n" >/dev/null
        jq --arg b "$hb" '.plugins[0].bridge = $b' "$f" >"$BATS_TEST_TMPDIR/c" && cp "$BATS_TEST_TMPDIR/c" "$f"
        "$NRUN" network rm "$n" >/dev/null
        [ ! -e "$f" ]
        nr_in_ns ip link show "$hb" >/dev/null
        [ -z "$made" ] || nr_in_ns ip link delete "$hb"
    done
    # the bridge network create made, and left when the file named another: removed by hand here
    nr_in_ns ip link delete "$own" 2>/dev/null || true
}
