#!/usr/bin/env bats
# Session 11's surfaces under attack: nbuild --ssh's relay (a hostile
# Dockerfile author holds the socket of the caller's own agent for a step).
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    export CTX="$BATS_FILE_TMPDIR/ctx"
    mkdir -p "$CTX"
}

teardown() {
    [ -z "${SSH_AGENT_PID:-}" ] || kill "$SSH_AGENT_PID" 2>/dev/null || true
    rt_rm_all
}

teardown_file() { rt_file_teardown; }

# The caller's agent holding one key: $1 its comment.
own_agent() {
    rm -f "$BATS_FILE_TMPDIR/k" "$BATS_FILE_TMPDIR/k.pub" "$BATS_FILE_TMPDIR/a.sock"
    ssh-keygen -q -t ed25519 -N '' -C "$1" -f "$BATS_FILE_TMPDIR/k"
    eval "$(ssh-agent -s -a "$BATS_FILE_TMPDIR/a.sock")" >/dev/null
    ssh-add -q "$BATS_FILE_TMPDIR/k"
}

@test "--ssh: a step lists and uses the caller's agent but cannot remove its keys (ssh-add -D, -d) or change it" {
    command -v ssh-agent >/dev/null || skip "no ssh-agent (make deps installs openssh-client)"
    rt_ssh_image s11ssh:1
    own_agent s11-key
    cp "$BATS_FILE_TMPDIR/k.pub" "$CTX/k.pub"
    cat >"$CTX/Nodefile" <<'EOF2'
FROM s11ssh:1
RUN --mount=type=ssh,target=/a.sock --mount=type=bind,source=k.pub,target=/k.pub export SSH_AUTH_SOCK=/a.sock; ssh-add -l > /l1; ssh-add -d /k.pub > /d 2>&1; ssh-add -D > /D 2>&1; ssh-add -l > /l2 2>&1; true
EOF2
    run "$NBUILD" -q --ssh default -t s11ssh:2 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    run ssh-add -l
    echo "host agent after the build: $output"
    [[ $output == *"s11-key (ED25519)"* ]]
    run rt_run --rm s11ssh:2 cat /l1 /l2
    echo "$output"
    [ "$(grep -c 's11-key (ED25519)' <<<"$output")" -eq 2 ]
}

@test "--ssh: a step that floods its relay with connections gets a bounded number of host processes for them" {
    command -v ssh-agent >/dev/null || skip "no ssh-agent (make deps installs openssh-client)"
    sec_build_probes "$BATS_FILE_TMPDIR/probes.tar" agent_conns
    rt_ssh_image s11ssh:1
    "$NRUN" __internal mkimage -t s11flood:1 --config '{"Cmd":["sh"],"Env":["PATH=/usr/bin:/bin"]}' \
        "$BATS_FILE_TMPDIR/ssh.tar" "$BATS_FILE_TMPDIR/probes.tar" >/dev/null
    own_agent s11-flood
    printf 'FROM s11flood:1\nRUN --mount=type=ssh agent_conns 400 4 > /held\n' >"$CTX/Nodefile"
    "$NBUILD" -q --ssh default -t s11flood:2 "$CTX" >"$BATS_FILE_TMPDIR/flood.out" 2>&1 &
    local nb=$! most=0 n i
    for i in $(seq 60); do
        # processes whose parent is a child of this nbuild (the relay's connections)
        n=$(ps -e -o pid=,ppid= | awk -v nb="$nb" '$2 == nb { kid[$1] = 1 } { pp[$1] = $2 } END { c = 0; for (p in pp) if (pp[p] in kid) c++; print c }')
        [ "$n" -le "$most" ] || most=$n
        kill -0 "$nb" 2>/dev/null || break
        sleep 0.1
    done
    wait "$nb"
    cat "$BATS_FILE_TMPDIR/flood.out"
    echo "most grandchildren of nbuild: $most"
    run rt_run --rm s11flood:2 cat /held
    echo "$output"
    [[ $output == "held "* ]]
    [ "$most" -lt 100 ]
}

@test "--ssh ID=KEY: a key file whose name looks like an option (-k, -D) is loaded as that file, never read as ssh-add's option" {
    command -v ssh-agent >/dev/null || skip "no ssh-agent (make deps installs openssh-client)"
    rt_ssh_image s11ssh:1
    local kd="$BATS_FILE_TMPDIR/optkeys"
    mkdir -p "$kd"
    ssh-keygen -q -t ed25519 -N '' -C s11-optkey -f "$kd/-k"
    printf 'FROM s11ssh:1\nRUN --mount=type=ssh,id=k ssh-add -l > /l 2>&1; true\n' >"$CTX/Nodefile"
    cd "$kd"
    run "$NBUILD" -q --ssh k=-k -t s11opt:1 "$CTX"
    cd - >/dev/null
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm s11opt:1 cat /l
    echo "$output"
    [[ $output == *"s11-optkey (ED25519)" ]]
    [ "${#lines[@]}" -eq 1 ]
}

@test "--ssh ID=KEY: the build's own ssh-agent (set-group-ID: no parent-death signal survives its exec) ends when nbuild is killed with -9" {
    command -v ssh-agent >/dev/null || skip "no ssh-agent (make deps installs openssh-client)"
    rt_bb_image s11bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    rm -f "$BATS_FILE_TMPDIR/kk" "$BATS_FILE_TMPDIR/kk.pub"
    ssh-keygen -q -t ed25519 -N '' -C s11-kill -f "$BATS_FILE_TMPDIR/kk"
    printf 'FROM s11bb:1\nRUN --mount=type=ssh,id=k sleep 5\n' >"$CTX/Nodefile"
    "$NBUILD" -q --ssh k="$BATS_FILE_TMPDIR/kk" -t s11kill:1 "$CTX" >/dev/null 2>&1 &
    local nb=$! i agents
    for i in $(seq 100); do
        [ -z "$(pgrep -f "ssh-agent -D -a $NRUN_ROOT/cache/build/ssh/$nb-")" ] || break
        sleep 0.05
    done
    [ -n "$(pgrep -f "ssh-agent -D -a $NRUN_ROOT/cache/build/ssh/$nb-")" ]
    sleep 0.5
    kill -9 "$nb"
    wait "$nb" || true
    for i in $(seq 40); do
        agents=$(pgrep -f "ssh-agent -D -a $NRUN_ROOT/cache/build/ssh/$nb-" || true)
        [ -n "$agents" ] || break
        sleep 0.1
    done
    echo "agents left: $agents"
    if [ -n "$agents" ]; then
        kill $agents
        false
    fi
    sleep 5 # the killed build's step ends; the next nbuild sweeps it
}

@test "diff: a file name with a newline or an escape sequence forges no line and reaches the terminal escaped" {
    rt_bb_image s11bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    rt_run --name s11diff --network none s11bb:1 sh -c 'mkdir /d && touch "/d/x$(printf "\nA forged\033]0;owned\007")"'
    run "$NRUN" diff s11diff
    echo "$output" | od -c | head -20
    [ "$status" -eq 0 ]
    [[ $output != *$'\n'"A forged"* ]]
    [[ $output != *$'\033'* && $output != *$'\007'* ]]
    [[ $output == *'A /d/x\nA forged\x1b]0;owned\x07'* ]]
}

@test "image history: an escape sequence in a step's command (the image author's text) reaches the terminal escaped" {
    rt_bb_image s11bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    printf 'FROM s11bb:1\nRUN echo \047\033]0;owned\007\033[2J\047\n' >"$CTX/Nodefile"
    "$NBUILD" -q -t s11hist:1 "$CTX"
    for flags in "" "--no-trunc" "--format {{.CreatedBy}}"; do
        run "$NRUN" image history $flags s11hist:1
        echo "$output" | od -c | head -20
        [ "$status" -eq 0 ]
        [[ $output != *$'\033'* && $output != *$'\007'* ]]
        [[ $output == *'\x1b]0;owned'* ]]
    done
}

@test "export and commit: many sparse files each under the per-file limit are refused together (the tree's holes are bounded, not each file's)" {
    rt_bb_image s11bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    rt_run --name s11sparse --network none s11bb:1 sh -c 'mkdir /sp && for i in 1 2 3; do truncate -s 900M /sp/f$i; done'
    run "$NRUN" export s11sparse
    echo "${output:0:300}"
    [ "$status" -ne 0 ]
    [[ $output == *"sparse files' holes: refused"* ]]
    run "$NRUN" export -o "$BATS_FILE_TMPDIR/sp.tar" s11sparse
    [ "$status" -ne 0 ]
    [ ! -e "$BATS_FILE_TMPDIR/sp.tar" ]
    run "$NRUN" commit s11sparse s11sparse:1
    echo "$output"
    [ "$status" -ne 0 ]
    [[ $output == *"sparse files' holes: refused"* ]]
    run -127 "$NRUN" image inspect s11sparse:1
    # one such file alone is still taken
    rt_run --name s11sparse1 --network none s11bb:1 sh -c 'truncate -s 900M /f1'
    run "$NRUN" commit s11sparse1 s11sparse:2
    [ "$status" -eq 0 ]
}

@test "commit interrupted (SIGINT, or kill -9) while it has the container paused: the container is thawed, not left frozen" {
    rt_bb_image s11bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    local id sig pid i st
    id=$(rt_run -d --name s11frz --network none s11bb:1 sh -c 'head -c 400000000 /dev/urandom > /big; touch /ready; sleep 1000')
    for i in $(seq 300); do
        "$NRUN" exec s11frz test -e /ready 2>/dev/null && break
        sleep 0.2
    done
    for sig in INT KILL; do
        "$NRUN" commit s11frz s11frz:1 >/dev/null 2>&1 &
        pid=$!
        for i in $(seq 100); do
            [ "$("$NRUN" inspect --format '{{.State.Status}}' s11frz)" != paused ] || break
            sleep 0.05
        done
        [ "$("$NRUN" inspect --format '{{.State.Status}}' s11frz)" = paused ]
        sleep 0.3
        kill -s "$sig" "$pid"
        wait "$pid" || true
        for i in $(seq 50); do
            st=$("$NRUN" inspect --format '{{.State.Status}}' s11frz)
            [ "$st" != running ] || break
            sleep 0.1
        done
        echo "after SIG$sig: $st"
        if [ "$st" != running ]; then
            "$NRUN" unpause s11frz || true
            false
        fi
    done
    "$NRUN" rm -f s11frz >/dev/null
}

@test "ps: an image's labels (its author's text) reach the terminal escaped in the Labels column" {
    "$NRUN" __internal mkimage -t s11lbl:1 \
        --config '{"Cmd":["sleep","100"],"Env":["PATH=/bin"],"Labels":{"k":"v\u001b]0;owned\u0007\nforged"}}' \
        "$BATS_FILE_TMPDIR/bb.tar" >/dev/null
    rt_run -d --name s11lbl --network none s11lbl:1 >/dev/null
    for f in '{{.Labels}}' 'table {{.Names}}\t{{.Labels}}'; do
        run "$NRUN" ps --filter name=s11lbl --format "$f"
        echo "$output" | od -c | head
        [ "$status" -eq 0 ]
        [[ $output != *$'\033'* && $output != *$'\007'* && $output != *$'\n'forged* ]]
        [[ $output == *'k=v\x1b]0;owned\x07\nforged'* ]]
    done
    "$NRUN" rm -f s11lbl >/dev/null
}

@test "export killed with -9 while its reader stalls: the child holding the container's view (a private mount of its layers) ends with it" {
    rt_bb_image s11bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    rt_run --name s11exp --network none s11bb:1 sh -c 'head -c 20000000 /dev/urandom > /big'
    local fifo="$BATS_FILE_TMPDIR/exp.fifo" pid kids i
    rm -f "$fifo"
    mkfifo "$fifo"
    # a reader that takes nothing: the export blocks writing
    sleep 30 <"$fifo" &
    local reader=$!
    "$NRUN" export s11exp >"$fifo" &
    pid=$!
    for i in $(seq 100); do
        kids=$(pgrep -P "$pid" || true)
        [ -z "$kids" ] || break
        sleep 0.05
    done
    [ -n "$kids" ]
    sleep 0.5
    kill -9 "$pid"
    wait "$pid" || true
    for i in $(seq 20); do
        ps -p "$kids" >/dev/null || break
        sleep 0.1
    done
    run ps -o pid=,args= -p "$kids"
    kill "$reader" 2>/dev/null || true
    echo "left: $output"
    [ -z "$output" ]
}

@test "--build-context DIR: a FIFO is never opened (no hang), a device node is refused, a '..' source stays inside the directory" {
    rt_bb_image s11bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    local nd="$BATS_FILE_TMPDIR/named" out
    rm -rf "$nd"
    mkdir -p "$nd/sub"
    mkfifo "$nd/fifo" "$nd/sub/f2"
    echo ok >"$nd/ok"
    printf 'FROM s11bb:1\nCOPY --from=nd . /x/\nRUN test -p /x/fifo && test -p /x/sub/f2 && cat /x/ok\n' >"$CTX/Nodefile"
    run timeout 60 "$NBUILD" -q --build-context nd="$nd" -t s11nd:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    printf 'FROM s11bb:1\nCOPY --from=nd fifo /x\n' >"$CTX/Nodefile"
    run timeout 60 "$NBUILD" -q --build-context nd="$nd" -t s11nd:2 "$CTX"
    [ "$status" -eq 1 ]
    [[ $output == *"COPY --from=nd: source fifo: cannot copy a fifo" ]]
    printf 'FROM s11bb:1\nCOPY --from=nd sub/../../../../../..%s /x\n' "$BATS_FILE_TMPDIR/host-only" >"$CTX/Nodefile"
    echo host-only >"$BATS_FILE_TMPDIR/host-only"
    run timeout 60 "$NBUILD" -q --build-context nd="$nd" -t s11nd:3 "$CTX"
    [ "$status" -eq 1 ]
    [[ $output == *"is outside the build context" ]]
    mknod "$nd/null" c 1 3
    printf 'FROM s11bb:1\nCOPY --from=nd . /x/\n' >"$CTX/Nodefile"
    run timeout 60 "$NBUILD" -q --build-context nd="$nd" -t s11nd:4 "$CTX"
    rm -f "$nd/null"
    [ "$status" -eq 1 ]
    [[ $output == *"/null: cannot copy a character device" ]]
}
