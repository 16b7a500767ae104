#!/usr/bin/env bats
# Forms found building public Node apps with their own Dockerfiles (round 6),
# each reproduced by a Nodefile written here.
load ../lib/compat
bats_require_minimum_version 1.5.0

@test "COPY/ADD source with a leading / names the context's root, as BuildKit's join(\"/\", src): /dir, /glob, / alone; .. is still refused at file:line:col" {
    c=$(ctx 'FROM cbase:1' 'COPY /public ./p/' 'COPY /public/*.txt /g/' 'ADD //public/a.txt /add.txt' \
        'COPY --parents /public/./sub/b.txt /par/' 'COPY / /all/')
    mkdir -p "$c/public/sub" && echo a >"$c/public/a.txt" && echo b >"$c/public/sub/b.txt"
    run "$NBUILD" --progress=plain -t lead:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm lead:1 sh -c 'cat /p/a.txt /p/sub/b.txt /g/a.txt /add.txt /par/sub/b.txt /all/public/a.txt; ls /g'
    [ "$output" = "$(printf 'a\nb\na\na\nb\na\na.txt')" ]
    # the host's root is never read: /etc/passwd is the context's etc/passwd
    run "$NBUILD" -t lead:2 "$(ctx 'FROM cbase:1' 'COPY /etc/passwd /x')"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"/etc/passwd"* ]]
    run "$NBUILD" -t lead:3 "$(ctx 'FROM cbase:1' 'COPY ../x /x')"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "$(grep -c '^nbuild:' <<<"$output")" -eq 1 ]
    [[ "${lines[-1]}" == "nbuild: "*"Nodefile:2:6: COPY: source ../x is outside the build context" ]]
    ! "$NRUN" images | grep -q '^lead *[23] ' || false
}

@test "a container has docker's empty /.dockerenv (is-docker: fastify-cli then listens on 0.0.0.0); a RUN step has none, as BuildKit's; diff and commit leave it out" {
    run "$NBUILD" --progress=plain -t denv:1 "$(ctx 'FROM cbase:1' 'RUN if [ -e /.dockerenv ]; then echo step-has-it; else echo step-has-none; fi')"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *step-has-none* ]]
    run rt_run --rm denv:1 sh -c 'stat -c "%F %s %a %u:%g" /.dockerenv'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "regular empty file 0 755 0:0" ]
    rt_run -d --name denv denv:1 sleep 100
    run "$NRUN" diff denv
    echo "$output"
    [[ "$output" != *dockerenv* ]]
    "$NRUN" commit denv denv:2 >/dev/null
    "$NRUN" rm -f denv >/dev/null
    # the committed image has none: a step FROM it sees none
    run "$NBUILD" --progress=plain -t denv:3 "$(ctx 'FROM denv:2' 'RUN [ ! -e /.dockerenv ] && echo committed-none')"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *committed-none* ]]
}

@test "FROM nginx:stable-alpine-slim@sha256:<Alpine's digest> (a Renovate pin) on the image made here on Debian: the pin names the Alpine image, not checked, as a node Alpine tag's; a loaded image of that name and a Debian tag's pin still are" {
    pin=sha256:2c605dbeab79a6b2a63340474fe58119d0ef95bdc4b1f41df0aa689659b3d13b
    rt_bb_image nginx:stable-alpine-slim '{"Cmd":["sh"],"Env":["PATH=/bin"],"Labels":{"io.nrun.base.flavour":"nginx"}}'
    nr_mark_made nginx:stable-alpine-slim
    run "$NBUILD" --progress=plain -t pinal:1 "$(ctx "FROM nginx:stable-alpine-slim@$pin" 'RUN echo ok > /ok')"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM nginx:stable-alpine-slim@$pin: made here on Debian, not Alpine (the Nodefile's digest pin is for the Alpine image: not checked)"* ]]
    run rt_run --rm pinal:1 cat /ok
    [ "$output" = ok ]
    # no base label: an Alpine image pulled or loaded under that name is checked
    rt_bb_image nginx:1.27-alpine '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    run "$NBUILD" -t pinal:2 "$(ctx "FROM nginx:1.27-alpine@$pin")"
    echo "$output"
    [ "$status" -ne 0 ]
    [ "$(grep -c '^nbuild:' <<<"$output")" -eq 1 ]
    [[ "${lines[-1]}" == "nbuild: "*"Nodefile:1:6: FROM nginx:1.27-alpine@$pin: digest mismatch"* ]]
    # a Debian tag made here: its pin names Docker Hub's build, still a mismatch
    rt_bb_image nginx:1.27 '{"Cmd":["sh"],"Env":["PATH=/bin"],"Labels":{"io.nrun.base.flavour":"nginx"}}'
    run "$NBUILD" -t pinal:3 "$(ctx "FROM nginx:1.27@$pin")"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "${lines[-1]}" == "nbuild: "*"Nodefile:1:6: FROM nginx:1.27@$pin: digest mismatch"*"--base-map"* ]]
    ! "$NRUN" images | grep -q '^pinal *[23] ' || false
    "$NRUN" rmi nginx:stable-alpine-slim nginx:1.27-alpine nginx:1.27 >/dev/null
}
