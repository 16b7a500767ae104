#!/usr/bin/env bats
# Entering a running container: `nrun exec` must hold nothing of the host by
# the time the container can see or influence it (CVE-2024-21626), must never
# let the container reach the host's nrun file (CVE-2019-5736), and a process
# with CAP_SYS_PTRACE that catches the helper must find only the container.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    sec_build_probes "$BATS_FILE_TMPDIR/probes.tar" entrywatch
    # a script whose interpreter is the running program itself
    mkdir -p "$BATS_FILE_TMPDIR/evil/bin" "$BATS_FILE_TMPDIR/evil/app"
    printf '#!/proc/self/exe\n' >"$BATS_FILE_TMPDIR/evil/bin/evil"
    chmod 755 "$BATS_FILE_TMPDIR/evil/bin/evil"
    tar --numeric-owner -C "$BATS_FILE_TMPDIR/evil" -cf "$BATS_FILE_TMPDIR/evil.tar" .
    rt_bb_image ex:1 '{"Cmd":["sh"],"Env":["PATH=/bin"],"WorkingDir":"/app"}' "$BATS_FILE_TMPDIR/probes.tar" "$BATS_FILE_TMPDIR/evil.tar"
    "$NRUN" __internal mkimage -t ex:user --config \
        '{"Cmd":["sh"],"Env":["PATH=/bin"],"WorkingDir":"/home/node/w","User":"1000"}' \
        "$BATS_FILE_TMPDIR/bb.tar" "$BATS_FILE_TMPDIR/probes.tar" >/dev/null
    sha256sum "$NRUN" | cut -c1-64 >"$BATS_FILE_TMPDIR/nrun.sha"
}

teardown() {
    rt_rm_all
    # what an escape made, when an assertion ended the test before its check
    [ -z "${tok:-}" ] || sec_no_marker_on_host "$tok" 2>/dev/null || true
}

teardown_file() { rt_file_teardown; }

# Fails naming every file called $1 on the host outside the container's own
# tree (its upper dir and merged view), and removes them: the store, and the
# directories a leaked fd or cwd of nrun leads to (the caller's cwd, /, /tmp).
sec_no_marker_on_host() {
    local found f
    found=$(find "$NRUN_ROOT" \( -path "$NRUN_ROOT/containers/*/upper" -o -path "$NRUN_ROOT/containers/*/merged" \) \
        -prune -o -name "$1" -print 2>/dev/null)
    for f in "/$1" "/tmp/$1" "$PWD/$1" "$REPO/$1" "$BUILD/$1" "$HOME/$1" "$BATS_FILE_TMPDIR/$1"; do
        [ -e "$f" ] && found+=" $f"
    done
    if [ -n "$found" ]; then
        echo "escaped: $found" >&2
        rm -f $found
        return 1
    fi
}

@test "exec: a WORKDIR replaced by a /proc/self/fd link never puts the command's cwd on the host" {
    tok=esc-wd-$$-$RANDOM
    id=$(rt_run -d ex:1 sleep 100)
    for n in 3 4 5 6 7 8 9 10 11 12 15 20; do
        "$NRUN" exec -w / "$id" sh -c "rm -rf /app && ln -s /proc/self/fd/$n /app"
        run "$NRUN" exec "$id" sh -c "touch $tok; pwd -P; ls"
        echo "fd $n: $status $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"/app"* ]]        # the error names the directory
        [[ "$output" != *config.json* && "$output" != *state.json* ]]
    done
    sec_no_marker_on_host "$tok"
    [ -z "$(ls "$NRUN_ROOT/containers/$id" | grep -v -x -E 'config.json|state.json|run.json|upper|work|merged|logs|control.sock')" ]
    # the same through ../ and an absolute link: resolved inside the container
    "$NRUN" exec -w / "$id" sh -c 'mkdir -p /real && rm -rf /app && ln -s ../../../../real /app'
    run "$NRUN" exec "$id" pwd
    [ "$status" -eq 0 ]
    [ "$output" = /real ]
    "$NRUN" rm -f "$id"
}

@test "exec -u 0 into a USER 1000 container: the user's trapped workdir leads nowhere" {
    tok=esc-user-$$-$RANDOM
    id=$(rt_run -d ex:user sleep 100)
    for n in 3 4 5 6 7 8 9 10 12; do
        run "$NRUN" exec -w /home/node "$id" sh -c "rm -rf w && ln -s /proc/self/fd/$n w && id -u"
        [ "$output" = 1000 ]
        run "$NRUN" exec -u 0 "$id" sh -c "touch $tok; pwd -P"
        echo "fd $n: $status $output"
        [ "$status" -ne 0 ]
    done
    sec_no_marker_on_host "$tok"
    "$NRUN" rm -f "$id"
}

@test "exec -w: a /proc/self/fd, /proc/1/cwd or /proc/self/root path is refused" {
    tok=esc-w-$$-$RANDOM
    id=$(rt_run -d ex:1 sleep 100)
    for w in /proc/self/fd/3 /proc/self/fd/4 /proc/self/fd/5 /proc/self/fd/6 /proc/self/fd/7 /proc/self/fd/8 \
        /proc/self/fd/9 /proc/self/fd/10 /proc/self/cwd /proc/self/root /proc/1/root /proc/1/cwd /proc/thread-self/fd/3; do
        run "$NRUN" exec -w "$w" "$id" sh -c "touch $tok; pwd -P"
        echo "$w: $status $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"$w"* ]]
    done
    sec_no_marker_on_host "$tok"
    # a plain directory still works, through symlinks that stay inside
    run "$NRUN" exec -w /tmp "$id" pwd
    [ "$output" = /tmp ]
    "$NRUN" rm -f "$id"
}

@test "exec: the helper runs from a sealed memfd, never from the host's nrun file" {
    id=$(rt_run -d ex:1 sleep 100)
    "$NRUN" exec "$id" sleep 5 &
    pid=$!
    # once its child runs in the container, nrun exec has re-executed itself
    for _ in $(seq 200); do pgrep -P "$pid" >/dev/null && break; sleep 0.02; done
    exe=$(readlink "/proc/$pid/exe")
    kill "$pid"; wait "$pid" || true
    echo "exe: $exe"
    [[ "$exe" == /memfd:nrun* ]]
    "$NRUN" rm -f "$id"
}

# The image's program is the helper's own /proc/self/exe (as a script's
# interpreter, or a symlink): a process of the container that takes a handle
# on it must never be able to write it.  (Kernels that refuse to execute a
# file outside the process's root stop the attack at execve already.)
@test "exec: an image's #!/proc/self/exe never gives the container a writable handle on the host's nrun" {
    id=$(rt_run -d ex:1 sh -c 'ln -s /proc/self/exe /bin/evil2; entrywatch exe 30 >/tmp/w.log 2>&1; sleep 100')
    for _ in $(seq 100); do "$NRUN" exec "$id" grep -q ready /tmp/w.log 2>/dev/null && break; sleep 0.05; done
    for _ in $(seq 10); do
        "$NRUN" exec "$id" evil >/dev/null 2>&1 || true
        "$NRUN" exec "$id" /bin/evil ps >/dev/null 2>&1 || true
        "$NRUN" exec "$id" evil2 ps >/dev/null 2>&1 || true
    done
    sleep 1
    run "$NRUN" exec "$id" cat /tmp/w.log
    echo "$output"
    [[ "$output" == *ready* ]]
    [[ "$output" != *WROTE* ]]
    [ "$(sha256sum "$NRUN" | cut -c1-64)" = "$(cat "$BATS_FILE_TMPDIR/nrun.sha")" ]
    "$NRUN" rm -f "$id"
}

@test "exec with CAP_SYS_PTRACE in the container: a watcher of new processes finds no host root, cwd or fd" {
    tok=esc-pt-$$-$RANDOM
    id=$(rt_run -d --cap-add SYS_PTRACE ex:1 sh -c "entrywatch root 30 $tok >/tmp/w.log 2>&1; sleep 100")
    for _ in $(seq 100); do "$NRUN" exec "$id" grep -q ready /tmp/w.log 2>/dev/null && break; sleep 0.05; done
    for _ in $(seq 20); do
        "$NRUN" exec "$id" true
        "$NRUN" exec -u 1000 -w /tmp "$id" true
    done
    sleep 0.5
    run "$NRUN" exec "$id" cat /tmp/w.log
    echo "$output"
    sec_no_marker_on_host "$tok" # first: it removes what an escape made
    [[ "$output" == *ready* ]]
    [[ "$output" != *ESCAPED* ]]
    "$NRUN" rm -f "$id"
}

@test "exec with CAP_SYS_PTRACE: the helper the container sees has its privileges only (caps, no_new_privs, seccomp)" {
    id=$(rt_run -d --cap-add SYS_PTRACE ex:1 sh -c 'entrywatch status 30 >/tmp/w.log 2>&1; sleep 100')
    for _ in $(seq 100); do "$NRUN" exec "$id" grep -q ready /tmp/w.log 2>/dev/null && break; sleep 0.05; done
    for _ in $(seq 15); do
        "$NRUN" exec "$id" true
        "$NRUN" exec -u 1000 "$id" true
    done
    run "$NRUN" exec "$id" cat /tmp/w.log
    echo "$output"
    # the container's own set: docker's default + SYS_PTRACE, nothing more
    bnd=$("$NRUN" exec "$id" sh -c 'grep CapBnd /proc/self/status | cut -f2')
    n=0
    while read -r line; do
        n=$((n + 1))
        eff=$(grep -o 'CapEff=[0-9a-f]*' <<<"$line" | cut -d= -f2)
        [ -n "$eff" ] && [ $((0x$eff & ~0x$bnd)) -eq 0 ] || { echo "CapEff beyond $bnd: $line"; false; }
        [[ "$line" == *" Seccomp=2"* ]] || { echo "no filter: $line"; false; }
        [[ "$line" == *" NoNewPrivs=1"* ]] || { echo "no no_new_privs: $line"; false; }
    done < <(grep '^status ' <<<"$output")
    [ "$n" -gt 0 ]
    # PID 1 runs under the container's filter too
    run "$NRUN" exec "$id" grep Seccomp: /proc/1/status
    [[ "$output" == *2 ]]
    "$NRUN" rm -f "$id"
}

@test "exec: a /dev/null or /dev/ptmx the container replaced (magic link, FIFO) gives it no host fd and no hang" {
    tok=esc-null-$$-$RANDOM
    id=$(rt_run -d ex:1 sleep 100)
    for n in 3 4 5 6 7 8 9; do
        "$NRUN" exec -w / "$id" sh -c "rm -f /dev/null; ln -s /proc/1/fd/$n /dev/null"
        run timeout 20 "$NRUN" exec "$id" sh -c "touch /proc/self/fd/0/$tok; readlink /proc/self/fd/0"
        echo "fd $n: $status $output"
        [ "$status" -ne 124 ]
        # stdin is nrun's pipe (touch's error and readlink's line come on
        # two streams, in either order)
        grep -qx 'pipe:\[[0-9]*\]' <<<"$output"
    done
    sec_no_marker_on_host "$tok"
    [ -z "$(find "$NRUN_ROOT/containers/$id/logs" -name "$tok*")" ]
    "$NRUN" exec -w / "$id" sh -c 'rm -f /dev/null /dev/ptmx; mkfifo /dev/null /dev/ptmx'
    run timeout 20 "$NRUN" exec "$id" echo fine
    [ "$status" -eq 0 ]
    [ "$output" = fine ]
    run timeout 20 "$NRUN" exec -t "$id" echo fine
    echo "$output"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"/dev/ptmx"* ]]
    "$NRUN" rm -f "$id"
}

@test "exec -i: a command that does not read its stdin can not stall nrun's relay, its output or the signals it forwards" {
    id=$(rt_run -d ex:1 sleep 100)
    head -c 4000000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
    run bash -c "timeout 60 '$NRUN' exec -i '$id' od -x <'$BATS_TEST_TMPDIR/in' | wc -c"
    [ "$output" = "$(od -x <"$BATS_TEST_TMPDIR/in" | wc -c)" ]
    # endless stdin, never read: the output still comes, and TERM still ends it
    run timeout -s KILL 30 bash -c "yes | timeout -s TERM 4 '$NRUN' exec -i '$id' sh -c 'echo alive; sleep 100'"
    echo "$status $output"
    [ "$status" -ne 137 ]
    [[ "$output" == *alive* ]]
    "$NRUN" rm -f "$id"
}
