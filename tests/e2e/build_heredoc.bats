#!/usr/bin/env bats
# nbuild: the Dockerfile syntax real Dockerfiles use beyond the basics —
# heredocs in RUN and COPY (as BuildKit runs them), parser directives,
# legacy `ENV key value`, COPY with a wildcard that matches nothing next to
# one that matches, --link.  Each build runs real RUN steps on a busybox
# image, and the result is read by running the image.
load ../lib/common
load ../lib/runtime
bats_require_minimum_version 1.5.0

setup_file() {
    rt_file_setup_busybox
    rt_bb_image hbase:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
}

setup() {
    export CTX="$BATS_TEST_TMPDIR/ctx"
    mkdir -p "$CTX"
}

teardown() { rt_rm_all; }

teardown_file() { rt_file_teardown; }


build() {
    run "$NBUILD" "$@" "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "RUN <<EOF: the body is the shell's script, variables expanded by the shell, lines kept as written" {
    cat >"$CTX/Nodefile" <<'NODEFILE'
FROM hbase:1
ENV WHO=world
RUN <<EOF
set -e
mkdir -p /out
# a comment in a body is the script's, not the Nodefile's
echo "hello $WHO" >/out/a.txt
echo 'line ending with a backslash \' >>/out/a.txt
EOF
RUN <<'QUOTED'
echo "quoted: $WHO" >/out/b.txt
QUOTED
RUN echo after >/out/c.txt
NODEFILE
    build -t h1:1
    run rt_run --rm h1:1 cat /out/a.txt /out/b.txt /out/c.txt
    echo "$output"
    [ "${lines[0]}" = "hello world" ]
    [ "${lines[1]}" = 'line ending with a backslash \' ]
    [ "${lines[2]}" = "quoted: world" ]
    [ "${lines[3]}" = after ]
    # the history shows the script that ran
    jq -r '.history[].created_by' "$(blob "$(config_of h1:1)")" | grep -F 'echo "hello $WHO" >/out/a.txt'
}

@test "RUN <<-EOF strips leading tabs from the body and the delimiter line" {
    # the script's own heredoc ends at "X" only once the tabs are gone
    printf 'FROM hbase:1\nRUN <<-EOT\n\tmkdir -p /out\n\tcat >/out/t.txt <<X\n\t\tindented\n\tX\n\tEOT\n' >"$CTX/Nodefile"
    build -t h2:1
    run rt_run --rm h2:1 cat /out/t.txt
    [ "$output" = indented ]
}

@test "RUN with a #! heredoc runs its interpreter on the body" {
    cat >"$CTX/Nodefile" <<'NODEFILE'
FROM hbase:1
RUN <<EOF
#!/bin/sh -e
mkdir -p /out
echo "args: $0 $#" >/out/shebang.txt
echo "shell opts: $-" >>/out/shebang.txt
EOF
RUN <<EOF
#!/bin/awk -f
BEGIN { print "from awk" > "/out/awk.txt" }
EOF
NODEFILE
    build -t h3:1
    run rt_run --rm h3:1 cat /out/shebang.txt /out/awk.txt
    echo "$output"
    [[ "${lines[0]}" == "args: "*" 0" ]]
    [[ "${lines[1]}" == "shell opts: "*e* ]]
    [ "${lines[2]}" = "from awk" ]
    # nothing of the mechanism stays in the image
    run rt_run --rm h3:1 sh -c 'ls /dev/pipes 2>&1; ls -a /tmp'
    [[ "$output" != *NBUILD* ]]
}

@test "RUN cmd <<EOF: the heredoc is the command's stdin; several heredocs on one line" {
    cat >"$CTX/Nodefile" <<'NODEFILE'
FROM hbase:1
RUN mkdir /out
RUN cat <<EOF >/out/stdin.txt
from stdin $HOSTNAME_UNSET|
EOF
RUN sed 's/^/> /' <<'EOF' >/out/sed.txt
$NOT_EXPANDED
EOF
RUN cat /dev/fd/3 /dev/fd/4 3<<A 4<<B >/out/two.txt
first
A
second
B
RUN <<A <<B
unused
A
unused
B
NODEFILE
    build -t h4:1
    run rt_run --rm h4:1 cat /out/stdin.txt /out/sed.txt /out/two.txt
    echo "$output"
    [ "${lines[0]}" = "from stdin |" ]
    [ "${lines[1]}" = '> $NOT_EXPANDED' ]
    [ "${lines[2]}" = first ]
    [ "${lines[3]}" = second ]
}

@test "COPY <<EOF: a file with the body as content, mode 0644, variables expanded unless quoted, --chmod, several heredocs" {
    cat >"$CTX/Nodefile" <<'NODEFILE'
FROM hbase:1
ARG NAME=app
ENV PORT=3000
COPY <<EOF /etc/app.conf
name=$NAME
port=${PORT}
quote="kept" 'too'
EOF
COPY <<'EOF' /etc/raw.conf
name=$NAME
EOF
COPY --chmod=0755 <<EOF /usr/local/bin/hello
#!/bin/sh
echo hello from a heredoc
EOF
COPY <<robots.txt <<humans.txt /www/
User-agent: *
robots.txt
	team
humans.txt
COPY <<-EOF /www/chomp.txt
	no tabs
	EOF
NODEFILE
    build -t h5:1
    run rt_run --rm h5:1 cat /etc/app.conf
    echo "$output"
    [ "${lines[0]}" = "name=app" ]
    [ "${lines[1]}" = "port=3000" ]
    [ "${lines[2]}" = "quote=\"kept\" 'too'" ]
    run rt_run --rm h5:1 cat /etc/raw.conf
    [ "$output" = 'name=$NAME' ]
    run rt_run --rm h5:1 stat -c '%a %u %n' /etc/app.conf /usr/local/bin/hello /www/robots.txt
    echo "$output"
    [ "${lines[0]}" = "644 0 /etc/app.conf" ]
    [ "${lines[1]}" = "755 0 /usr/local/bin/hello" ]
    [ "${lines[2]}" = "644 0 /www/robots.txt" ]
    run rt_run --rm h5:1 /usr/local/bin/hello
    [ "$output" = "hello from a heredoc" ]
    run rt_run --rm h5:1 cat /www/robots.txt /www/humans.txt /www/chomp.txt
    [ "${lines[0]}" = "User-agent: *" ]
    [ "${lines[1]}" = "$(printf '\tteam')" ]
    [ "${lines[2]}" = "no tabs" ]
}

@test "COPY <<EOF is cached by its content: same body hits, another body misses" {
    printf 'FROM hbase:1\nCOPY <<EOF /c.txt\none\nEOF\n' >"$CTX/Nodefile"
    build -t h6:1
    build -t h6:2
    [[ "$output" == *"CACHED"* ]]
    printf 'FROM hbase:1\nCOPY <<EOF /c.txt\ntwo\nEOF\n' >"$CTX/Nodefile"
    build -t h6:3
    [[ "$output" != *"CACHED"* ]]
    run rt_run --rm h6:3 cat /c.txt
    [ "$output" = two ]
    run rt_run --rm h6:1 cat /c.txt
    [ "$output" = one ]
}

@test "heredoc errors name FILE:LINE:COL before any step runs" {
    printf 'FROM hbase:1\nRUN touch /ran\nRUN cat <<EOF\nnever ends\n' >"$CTX/Nodefile"
    run "$NBUILD" -t bad:1 "$CTX"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:9: RUN: unterminated heredoc"* ]]
    printf 'FROM hbase:1\nCOPY a <<EOF\nx\nEOF\n' >"$CTX/Nodefile"
    run "$NBUILD" -t bad:1 "$CTX"
    [[ "$output" == *"Nodefile:2:8: COPY cannot accept a heredoc as a destination"* ]]
}

@test "parser directives: # syntax= is ignored with a note (none with -q), # escape= applies, # check= is ignored" {
    cat >"$CTX/Nodefile" <<'NODEFILE'
# syntax=docker/dockerfile:1.7
# escape=`
# check=skip=all
FROM hbase:1
RUN mkdir -p /out && `
    echo escaped >/out/e.txt
NODEFILE
    run "$NBUILD" -t d1:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"# syntax=docker/dockerfile:1.7: ignored"* ]]
    run rt_run --rm d1:1 cat /out/e.txt
    [ "$output" = escaped ]
    run --separate-stderr "$NBUILD" -q -t d1:2 "$CTX"
    [ "$status" -eq 0 ]
    [[ "$stderr" != *syntax* ]]
    # a directive after an instruction is a comment; a repeated one is an error
    printf 'FROM hbase:1\n# escape=`\nRUN echo a \\\n  >/x\n' >"$CTX/Nodefile"
    build -t d2:1
    printf '# escape=`\n# escape=\\\\\nFROM hbase:1\n' >"$CTX/Nodefile"
    run "$NBUILD" -t d3:1 "$CTX"
    [[ "$output" == *"Nodefile:2:3: only one escape parser directive can be used"* ]]
}

@test "legacy ENV key value: one key, the rest of the line is the value" {
    printf 'FROM hbase:1\nENV GREETING hello big   world\nRUN echo "$GREETING" >/g.txt\n' >"$CTX/Nodefile"
    build -t e1:1
    run rt_run --rm e1:1 cat /g.txt
    [ "$output" = "hello big   world" ]
}

@test "COPY: a wildcard that matches nothing is skipped; when no source matches at all the step copies nothing (BuildKit)" {
    echo yes >"$CTX/present.txt"
    mkdir -p "$CTX/empty"
    printf 'FROM hbase:1\nCOPY present.txt missing*.txt empty/*.js /dst/\n' >"$CTX/Nodefile"
    build -t w1:1
    run rt_run --rm w1:1 ls /dst
    [ "$output" = present.txt ]
    # a heredoc counts as a source that matched
    printf 'FROM hbase:1\nCOPY missing*.txt <<EOF /dst/\nx\nEOF\n' >"$CTX/Nodefile"
    build -t w2:1
    run rt_run --rm w2:1 cat /dst/EOF
    [ "$output" = x ]
    # nothing at all matches: nothing is copied, as BuildKit does (AllowEmptyWildcard;
    # the classic builder refused it), and the step changes nothing (empty_layer)
    printf 'FROM hbase:1\nCOPY present.tx? missing*.txt nothere*.js /dst/\nCOPY .npmrc* ./\n' >"$CTX/Nodefile"
    rm "$CTX/present.txt"
    run "$NBUILD" -t w3:1 "$CTX"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm w3:1 ls -d /dst
    [ "$status" -ne 0 ]
    run cfg w3:1 '[.history[-2:][] | .empty_layer]'
    [ "$output" = '[true,true]' ]
    [ "$(cfg w3:1 '.rootfs.diff_ids | length')" = "$(cfg hbase:1 '.rootfs.diff_ids | length')" ]
    # a missing plain name is still an error
    printf 'FROM hbase:1\nCOPY missing*.txt nothere.js /dst/\n' >"$CTX/Nodefile"
    run "$NBUILD" -t w4:1 "$CTX"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:19: COPY: source nothere.js not found in the build context"* ]]
}

@test "COPY --link and ADD --link are accepted; ADD --chmod applies" {
    echo data >"$CTX/f.txt"
    printf 'FROM hbase:1\nCOPY --link f.txt /l/copy.txt\nADD --link --chmod=0600 f.txt /l/add.txt\n' >"$CTX/Nodefile"
    build -t k1:1
    run rt_run --rm k1:1 stat -c '%a %n' /l/copy.txt /l/add.txt
    echo "$output"
    [ "${lines[0]}" = "644 /l/copy.txt" ]
    [ "${lines[1]}" = "600 /l/add.txt" ]
}
