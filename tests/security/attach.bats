#!/usr/bin/env bats
# The attach channel of a detached -t container (runtime/attach.c): a socket
# in the container's host directory, 0600 and root's, whose server (the
# container's host-side monitor) also refuses any other user by SO_PEERCRED;
# the container's terminal is its own devpts pty, so what it does to it
# (TIOCSTI) stays in the container.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() { sec_file_setup_probes at:1 tiocsti; }

teardown() {
    [ -z "${pub:-}" ] || rm -rf "$pub"
    rt_rm_all
}

teardown_file() { rt_file_teardown; }

# connect to $1 as uid 65534 and read: "refused <errno>", "closed" (EOF at once) or "open"
connect_as_nobody() {
    setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("refused", e.errno); sys.exit(0)
s.settimeout(5)
try:
    s.send(b"echo injected > /tmp/pwned\n")
    print("closed" if s.recv(100) == b"" else "open")
except OSError as e:
    print("closed")
' "$1"
}

@test "attach.sock: 0600 root's; another user is refused by its mode, and by SO_PEERCRED when the mode is opened" {
    id=$(rt_run -dit --name t1 at:1 sh)
    sock="$NRUN_ROOT/containers/$id/attach.sock"
    [ "$(stat -c '%F %a %u %g' "$sock")" = "socket 600 0 0" ]
    # a hard link in a world-readable dir reaches the same socket past the store's 0700 dirs
    pub=$(mktemp -d /tmp/nrun-attach-pub.XXXXXX)
    chmod 755 "$pub"
    ln "$sock" "$pub/s"
    run connect_as_nobody "$pub/s"
    [ "$output" = "refused 13" ]
    chmod 666 "$sock" # the mode alone no longer protects it: the server's peer check must
    run connect_as_nobody "$pub/s"
    chmod 600 "$sock"
    echo "$output"
    [ "$output" = "closed" ]
    run "$NRUN" exec t1 sh -c 'test -e /tmp/pwned && echo pwned || echo clean'
    [ "$output" = clean ]
    "$NRUN" rm -f t1 >/dev/null
}

@test "the container's terminal is its own devpts pty: TIOCSTI from it cannot reach the attached terminal" {
    rt_run -dit --name t2 at:1 sh >/dev/null
    # the container has its own devpts (one mount, its first pty is the app's: see cli_attach.bats' tty)
    run "$NRUN" exec t2 sh -c 'grep -c " /dev/pts devpts " /proc/mounts; ls /dev/pts'
    [ "${lines[0]}" = 1 ]
    [[ $output == *0* ]]
    # an attached caller: the probe pushes "#" on each of its fds; whatever it
    # injects lands in the container's own terminal input (the shell sees it),
    # and the caller's terminal (a host pty here) gets no "#" typed into it
    out="$BATS_TEST_TMPDIR/caller"
    python3 - "$NRUN" "$out" <<'PY'
import os, pty, select, sys, time, termios
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "attach", "t2"])
buf = b""
def until(s, t=20):
    global buf
    end = time.time() + t
    while s not in buf and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            buf += os.read(fd, 4096)
os.write(fd, b"tiocsti; echo probe-$((1+1))\n")
until(b"probe-2")
# the shell's next prompt line shows the three "#" it read; then a second
# more, so that a second such line (injected into this terminal) is seen too
until(b"# ###", 10)
end = time.time() + 1
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        buf += os.read(fd, 4096)
os.write(fd, b"\x10\x11")
end = time.time() + 20
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        buf += d
os.waitpid(pid, 0)
open(sys.argv[2], "wb").write(buf)
PY
    grep -q "probe-2" "$out"
    grep -q "fd0=" "$out"
    # The three "#" the probe pushed (one per fd) are the container terminal's
    # own input: the shell reads them after the probe and echoes them on its
    # next prompt line, once.  Had TIOCSTI also reached the caller's terminal,
    # attach would have read them from its stdin and relayed them as typed
    # input too: six "#" on that line, or a second such line.
    run grep -a '^/ # #' "$out"
    [ "${#lines[@]}" = 1 ]
    [ "$(tr -d '\r' <<<"${lines[0]}")" = '/ # ###' ]
    "$NRUN" rm -f t2 >/dev/null
}

@test "a -t container's output is its log as JSON lines: a forged record, control bytes, bytes that are not UTF-8 and a 1 MiB line without an end stay in their msg, one stdout line per 16 KiB; the files stay within --log-opt" {
    id=$(rt_run -dt --log-opt max-size=64k --log-opt max-file=2 at:1 sh -c '
        printf "%s\n" "x\"},{\"stream\":\"stderr\",\"msg\":\"forged"
        printf "bell\a esc\033[31m nul-free \377\376 end\n"
        head -c 1048576 /dev/zero | tr "\0" a
        sleep 600')
    d=$NRUN_ROOT/containers/$id/logs
    for _ in $(seq 100); do
        [ "$(cat "$d"/container.log* 2>/dev/null | wc -c)" -gt 60000 ] && grep -qs '"msg":"a' "$d/container.log" && break
        sleep 0.1
    done
    sleep 1.5 # a line without its end is written after a second of quiet
    # every line one JSON record of stream stdout; none longer than the split
    run jq -c -s 'map(.stream) | unique' "$d/container.log.1" "$d/container.log"
    [ "$output" = '["stdout"]' ]
    while IFS= read -r l; do [ "${#l}" -le $((16384 * 6 + 256)) ] || { echo "long: ${#l}"; false; }; done <"$d/container.log"
    [ "$(stat -c %s "$d/container.log")" -le 65536 ] && [ "$(stat -c %s "$d/container.log.1")" -le 65536 ]
    [ ! -e "$d/container.log.2" ]
    # (the first lines rotated away: 1 MiB of a's is 64 records) the last is the a's, whole
    [ -z "$(jq -c 'select(.msg | test("^a+$") | not)' "$d/container.log")" ]
    [ "$(jq -s 'map(.msg | length) | max' "$d/container.log")" = 16384 ]
    "$NRUN" rm -f "$id" >/dev/null
    # and with room for them: the forged record is the text of one stdout line, the bytes escaped
    id=$(rt_run -dt at:1 sh -c 'printf "%s\n" "x\"},{\"stream\":\"stderr\",\"msg\":\"forged"; printf "bell\a \377 end\n"; sleep 600')
    d=$NRUN_ROOT/containers/$id/logs
    for _ in $(seq 100); do [ "$(wc -l <"$d/container.log" 2>/dev/null)" -ge 2 ] && break; sleep 0.1; done
    run jq -r -s 'map(.stream + "|" + .msg) | .[]' "$d/container.log"
    echo "$output"
    [ "${lines[0]}" = 'stdout|x"},{"stream":"stderr","msg":"forged' ]
    [ "${lines[1]}" = "$(printf 'stdout|bell\a \xef\xbf\xbd end')" ]
    "$NRUN" rm -f "$id" >/dev/null
}
