#!/usr/bin/env bats
# Forms that real Node Dockerfiles use and nbuild reads as BuildKit does:
# COPY/ADD --exclude and COPY --parents (Dockerfile 1.19).
load ../lib/compat
bats_require_minimum_version 1.5.0

# a context with a small app and the Nodefile given as arguments (one line
# each): this file's own ctx, in place of tests/lib/compat.bash's
ctx() {
    local c=$W/ctx.$BATS_TEST_NUMBER
    rm -rf "$c" && mkdir -p "$c/src/lib" "$c/docs"
    echo '{}' >"$c/package.json"
    echo '{}' >"$c/package-lock.json"
    echo m >"$c/src/a.js"
    echo t >"$c/src/a.test.js"
    echo t >"$c/src/lib/b.test.js"
    echo r >"$c/README.md"
    echo d >"$c/docs/x.md"
    printf '%s\n' "$@" >"$c/Nodefile"
    echo "$c"
}

@test "COPY --exclude: patterns (repeatable, ** and variables) relative to each source leave paths out; the key follows them" {
    c=$(ctx 'FROM cbase:1' \
        'COPY --exclude=*.md --exclude=src/**/*.test.js . /all/' \
        'ARG PAT=*.test.js' \
        'COPY --exclude=$PAT --exclude=lib src/ /s/' \
        'COPY --exclude=package-lock.json package*.json /p/' \
        'ADD --exclude=**/*.md docs /d/')
    run "$NBUILD" --progress=plain -t ex:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm ex:1 sh -c 'cd / && find all s p d | sort'
    echo "$output"
    [ "$output" = "$(printf 'all\nall/Nodefile\nall/docs\nall/docs/x.md\nall/package-lock.json\nall/package.json\nall/src\nall/src/a.js\nall/src/lib\nd\np\np/package.json\ns\ns/a.js')" ]
    # the history shows the patterns; another pattern is another step
    run cfg ex:1 '[.history[].created_by] | map(select(test("exclude"))) | length'
    [ "$output" = 4 ]
    sed -i 's/--exclude=lib /--exclude=nothing /' "$c/Nodefile"
    run "$NBUILD" --progress=plain -t ex:2 "$c"
    [ "$status" -eq 0 ]
    run rt_run --rm ex:2 sh -c 'cd / && find s | sort'
    [ "$output" = "$(printf 's\ns/a.js\ns/lib\ns/lib/b.test.js')" ]
}

@test "COPY --exclude: a blank or comment pattern, or on RUN: file:line:col, nothing tagged" {
    run "$NBUILD" -t eb:1 "$(ctx 'FROM cbase:1' 'COPY --exclude= . /x/')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:6: COPY --exclude: bad pattern \"\""* ]]
    run "$NBUILD" -t eb:2 "$(ctx 'FROM cbase:1' 'ARG P=#x' 'COPY --exclude=$P . /x/')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:6: COPY --exclude: bad pattern \"#x\""* ]]
    run "$NBUILD" -t eb:3 "$(ctx 'FROM cbase:1' 'RUN --exclude=x true')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:5: RUN: unknown flag --exclude"* ]]
    for t in eb:1 eb:2 eb:3; do [ -z "$(manifest_of $t)" ]; done
}

@test "COPY --parents: each match keeps its path (below a /./ pivot) under the destination, from the context and from a stage" {
    c=$(ctx 'FROM cbase:1 AS tree' 'RUN mkdir -p /w/pkgs/x/dist && echo o > /w/pkgs/x/dist/o.js' \
        'FROM cbase:1' \
        'WORKDIR /app' \
        'COPY --parents packages/*/package.json ./' \
        'COPY --parents ./packages/./*/index.js /q/' \
        'COPY --parents src/lib /r' \
        'COPY --from=tree --parents /w/./pkgs/*/dist /out/')
    for p in a b; do mkdir -p "$c/packages/$p" && echo "{\"name\":\"$p\"}" >"$c/packages/$p/package.json"; done
    echo i >"$c/packages/a/index.js"
    run "$NBUILD" --progress=plain -t pa:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm pa:1 sh -c 'cd / && find app q r out | sort'
    echo "$output"
    [ "$output" = "$(printf 'app\napp/packages\napp/packages/a\napp/packages/a/package.json\napp/packages/b\napp/packages/b/package.json\nout\nout/pkgs\nout/pkgs/x\nout/pkgs/x/dist\nout/pkgs/x/dist/o.js\nq\nq/a\nq/a/index.js\nr\nr/src\nr/src/lib\nr/src/lib/b.test.js')" ]
    # without --parents, the same sources would land on one name: another step
    run cfg pa:1 '[.history[].created_by] | map(select(test("--parents"))) | length'
    [ "$output" = 4 ]
    run "$NBUILD" -t pb:1 "$(ctx 'FROM cbase:1' 'COPY --parents=yes src /x/')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:6: COPY --parents=yes: want true or false"* ]]
    run "$NBUILD" -t pb:2 "$(ctx 'FROM cbase:1' 'COPY --parents src/./../../etc /x/')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"*"outside the build context"* ]]
    [ -z "$(manifest_of pb:1)" ] && [ -z "$(manifest_of pb:2)" ]
}

@test "FROM ... AS Builder: stage names are case-insensitive (BuildKit lowercases them), in FROM, COPY --from and --target" {
    c=$(ctx 'FROM cbase:1 AS Builder' 'RUN echo b > /b' \
        'FROM BUILDER AS Next' 'RUN echo n > /n' \
        'FROM cbase:1' 'COPY --from=builder /b /b' 'COPY --from=NEXT /n /n')
    run "$NBUILD" -t up:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm up:1 cat /b /n
    [ "$output" = "$(printf 'b\nn')" ]
    run "$NBUILD" --target next -t up:2 "$c"
    [ "$status" -eq 0 ]
    run rt_run --rm up:2 cat /n
    [ "$output" = n ]
    run "$NBUILD" -t up:3 "$(ctx 'FROM cbase:1 AS Bu!ld')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:1:17: FROM: invalid stage name \"bu!ld\""* ]]
}

@test "ONBUILD: the trigger is parsed where it is written, recorded in the config, and run right after FROM in the builds that use the image (not passed on)" {
    c=$(ctx 'FROM cbase:1' 'WORKDIR /app' 'ONBUILD COPY package.json ./' 'onbuild RUN echo ran > /app/ran' 'CMD ["sh"]')
    run "$NBUILD" --progress=plain -t ob:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run cfg ob:1 '.config.OnBuild'
    [ "$output" = '["COPY package.json ./","RUN echo ran > /app/ran"]' ]
    run rt_run --rm ob:1 ls /app
    [ "$output" = "" ]
    c2=$(ctx 'FROM ob:1' 'RUN cat /app/package.json /app/ran')
    run "$NBUILD" --progress=plain -t ob:2 "$c2"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"--> ONBUILD COPY package.json ./"*"--> ONBUILD RUN echo ran > /app/ran"*"STEP 2/2: RUN cat"* ]]
    [[ "$output" == *"{}"*"ran"* ]]
    run cfg ob:2 '.config.OnBuild'
    [ "$output" = null ]
    # a trigger's error names the trigger and the FROM line
    rm "$c2/package.json"
    run "$NBUILD" -t ob:3 "$c2"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:1: ONBUILD trigger 1 of ob:1:1:6: COPY: source package.json not found in the build context"* ]]
    [ -z "$(manifest_of ob:3)" ]
}

@test "ONBUILD: a chained, FROM, MAINTAINER, unknown or malformed trigger is an error at its place in the file, nothing tagged" {
    run "$NBUILD" -t ox:1 "$(ctx 'FROM cbase:1' 'ONBUILD ONBUILD RUN true')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:9: ONBUILD isn't allowed as an ONBUILD trigger"* ]]
    run "$NBUILD" -t ox:2 "$(ctx 'FROM cbase:1' 'ONBUILD   FROM cbase:1')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:11: FROM isn't allowed as an ONBUILD trigger"* ]]
    run "$NBUILD" -t ox:3 "$(ctx 'FROM cbase:1' 'ONBUILD FROB x')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:9:"*"FROB"* ]]
    run "$NBUILD" -t ox:4 "$(ctx 'FROM cbase:1' 'ONBUILD COPY --bogus a b')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:14: COPY: unknown flag --bogus"* ]]
    run "$NBUILD" -t ox:5 "$(ctx 'FROM cbase:1' 'ONBUILD')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:"* ]]
    for t in ox:1 ox:2 ox:3 ox:4 ox:5; do [ -z "$(manifest_of $t)" ]; done
}

@test "--base-map of an Alpine tag to another image: a RUN whose command is not found says which base the stage has and why; apk there says it has no apt-get" {
    c=$(ctx 'FROM cbase:1-alpine AS deps' 'RUN true' 'FROM deps' 'RUN apk-only-on-alpine --no-cache libc6-compat')
    run "$NBUILD" --base-map 'cbase:*-alpine=cbase:*' -t al:1 "$c"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:4:1: RUN /bin/sh -c apk-only-on-alpine --no-cache libc6-compat: exit code 127 (this stage's base is cbase:1, which nbuild used for cbase:1-alpine: Alpine's apk, adduser and addgroup are translated, its other commands are not in it)"* ]]
    # apk is translated to apt-get, which a busybox image has not
    run "$NBUILD" --base-map 'cbase:*-alpine=cbase:*' -t al:1 "$(ctx 'FROM cbase:1-alpine' 'RUN apk add --no-cache libc6-compat')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:1: RUN /bin/sh -c apk add --no-cache libc6-compat: exit code 1"*"apk: this stage's base has no apt-get"* ]]
    # no mapping, or another failure: no such note
    run "$NBUILD" -t al:2 "$(ctx 'FROM cbase:1' 'RUN apk add x')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"exit code 127; its last output"* ]]
    run "$NBUILD" --base-map 'cbase:*-alpine=cbase:*' -t al:3 "$(ctx 'FROM cbase:1-alpine' 'RUN exit 3')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"exit code 3"* && "$output" != *"which nbuild used"* ]]
    for t in al:1 al:2 al:3; do [ -z "$(manifest_of $t)" ]; done
}

@test "COPY --from=STAGE of a path the stage lacks (npm ci with no dependencies makes no node_modules): the error names the stage, not the build context" {
    run "$NBUILD" -t nf:1 "$(ctx 'FROM cbase:1 AS deps' 'RUN mkdir /app' 'FROM cbase:1' 'COPY --from=deps /app/node_modules ./node_modules')"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:4:18: COPY --from=deps: source app/node_modules not found"* ]]
    [[ "$output" != *"build context"* ]]
    [ -z "$(manifest_of nf:1)" ]
}

@test "ARG/ENV pattern forms \${V%%.*} \${V#*.} \${V/a/b} \${V//a/b} (Dockerfile 1.7), in FROM and in a stage; a value too long for a pattern is an error at its place" {
    c=$(ctx 'ARG BASE=cbase:1-ignored' 'ARG NODE_VERSION=20.11.1' 'FROM ${BASE%-*}' 'ARG NODE_VERSION' \
        'ENV MAJOR=${NODE_VERSION%%.*} MINOR=${NODE_VERSION%.*} PATCH=${NODE_VERSION##*.} REST=${NODE_VERSION#*.} DASH=${NODE_VERSION//./-} ONE=${NODE_VERSION/./_}' \
        'RUN echo "$MAJOR $MINOR $PATCH $REST $DASH $ONE" > /v')
    run "$NBUILD" -t pf:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm pf:1 cat /v
    [ "$output" = "20 20.11 1 11.1 20-11-1 20_11.1" ]
    run "$NBUILD" -t pf:2 "$(ctx 'FROM cbase:1' 'ARG V=1.2' 'ENV X=${V/.}')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:7: ENV: bad substitution: \${V/pattern/replacement} needs its second '/'"* ]]
    run "$NBUILD" --build-arg L="$(head -c 5000 /dev/zero | tr '\0' a)" -t pf:3 "$(ctx 'FROM cbase:1' 'ARG L' 'ENV X=${L%%a}')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:7: ENV: bad substitution: the value of L is too long for a pattern"* ]]
    [ -z "$(manifest_of pf:2)" ] && [ -z "$(manifest_of pf:3)" ]
}

@test "COPY/ADD --chmod symbolic (Dockerfile 1.14): applied to each file's and directory's own mode, as chmod(1) with no umask (an ADDed archive's entries keep theirs, as BuildKit unpacks them); a bad one is an error at its place" {
    c=$(ctx 'FROM cbase:1' \
        'COPY --chmod=u+x,go=rX src /s/' \
        'COPY --chmod=a-w package.json /p.json' \
        'ADD --chmod=go-rwx t.tar /t/' \
        'ARG M=g+w' \
        'COPY --chmod=$M README.md /r.md')
    chmod 0644 "$c/src/a.js" "$c/package.json" "$c/README.md"
    chmod 0755 "$c/src/lib"
    chmod 0750 "$c/src/lib/b.test.js"
    mkdir -p "$W/tt/d" && echo x >"$W/tt/d/f" && chmod 0755 "$W/tt/d" && chmod 0664 "$W/tt/d/f"
    tar -C "$W/tt" -cf "$c/t.tar" d
    run "$NBUILD" --progress=plain -t cm:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm cm:1 sh -c 'stat -c "%a %n" /s/a.js /s/lib /s/lib/b.test.js /p.json /t/d /t/d/f /r.md'
    echo "$output"
    [ "$output" = "$(printf '755 /s/a.js\n755 /s/lib\n755 /s/lib/b.test.js\n444 /p.json\n755 /t/d\n664 /t/d/f\n664 /r.md')" ]
    # the mode is part of the step: another one is another layer
    run cfg cm:1 '[.history[].created_by] | map(select(test("--chmod=u\\+x,go=rX"))) | length'
    [ "$output" = 1 ]
    run "$NBUILD" -t cm:2 "$(ctx 'FROM cbase:1' 'COPY --chmod=u+q src /s/')"
    [ "$status" -ne 0 ]
    [[ "$output" == *'Nodefile:2:6: invalid --chmod "u+q" (want octal like 0644, or symbolic like u+x,go=rX)'* ]]
    [ -z "$(manifest_of cm:2)" ]
}

@test "EXPOSE [IP:][HOST:]PORT[/PROTO] (a publish spec copied into a Dockerfile): the image exposes PORT with a warning, as BuildKit; a host part that is not a port is an error at its place" {
    c=$(ctx 'FROM cbase:1' 'ENV PORT=8080' 'EXPOSE 3000:3000 9229 $PORT 127.0.0.1:80:81 [::1]:82:83/udp 4000-4001/udp')
    run "$NBUILD" -t xp:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Nodefile:3: EXPOSE 3000:3000: an image exposes only 3000"* ]]
    [[ "$output" == *"EXPOSE [::1]:82:83/udp: an image exposes only 83/udp"* ]]
    run cfg xp:1 '.config.ExposedPorts | keys'
    [ "$output" = '["3000/tcp","4000/udp","4001/udp","8080/tcp","81/tcp","83/udp","9229/tcp"]' ]
    run "$NBUILD" -t xp:2 "$(ctx 'FROM cbase:1' 'EXPOSE 80 abc:80')"
    [ "$status" -ne 0 ]
    [[ "$output" == *'Nodefile:2:11: EXPOSE: invalid port "abc:80": the host part of IP:HOST:PORT is not a port'* ]]
    run "$NBUILD" -t xp:3 "$(ctx 'FROM cbase:1' 'EXPOSE x%:80:80')"
    [ "$status" -ne 0 ]
    [[ "$output" == *'Nodefile:2:8: EXPOSE: invalid port "x%:80:80": bad address in IP:HOST:PORT'* ]]
    [ -z "$(manifest_of xp:2)" ] && [ -z "$(manifest_of xp:3)" ]
}

@test "SHELL is recorded in the image config (BuildKit's Shell) and a build FROM that image runs its shell forms with it" {
    run "$NBUILD" -t sh:1 "$(ctx 'FROM cbase:1' 'SHELL ["/bin/sh", "-c", "echo \"$0\" >>/log; eval \"$0\""]' 'RUN true')"
    echo "$output"
    [ "$status" -eq 0 ]
    run cfg sh:1 '.config.Shell'
    [ "$output" = '["/bin/sh","-c","echo \"$0\" >>/log; eval \"$0\""]' ]
    run "$NBUILD" -t sh:2 "$(ctx 'FROM sh:1' 'RUN echo ran > /r' 'HEALTHCHECK CMD true')"
    echo "$output"
    [ "$status" -eq 0 ]
    # the inherited shell logged the command before running it
    run rt_run --rm sh:2 cat /log /r
    [ "$output" = "$(printf 'true\necho ran > /r\nran')" ]
    run cfg sh:2 '.config.Shell'
    [ "$output" = '["/bin/sh","-c","echo \"$0\" >>/log; eval \"$0\""]' ]
}

@test "COPY --chown=NAME and WORKDIR after USER NAME: the group is the user's primary group from /etc/passwd (as BuildKit reads it); --chown=UID alone keeps gid = uid" {
    # adduser --system puts the user in nogroup, not in a group of its own uid
    c=$(ctx 'FROM cbase:1' \
        "RUN printf 'root:x:0:0::/root:/bin/sh\\nnextjs:x:1001:65534::/home/nextjs:/bin/sh\\n' > /etc/passwd && printf 'root:x:0:\\nnogroup:x:65534:\\nnodejs:x:1002:\\n' > /etc/group" \
        'WORKDIR /app' \
        'COPY --chown=nextjs package.json ./a' \
        'COPY --chown=nextjs:nodejs package.json ./b' \
        'COPY --chown=1001 package.json ./c' \
        'USER nextjs' \
        'WORKDIR /app/w')
    run "$NBUILD" -t co:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm --user 0 co:1 stat -c '%u:%g %n' /app/a /app/b /app/c /app/w
    echo "$output"
    [ "$output" = "$(printf '1001:65534 /app/a\n1001:1002 /app/b\n1001:1001 /app/c\n1001:65534 /app/w')" ]
}

@test "-f DIR/X.Dockerfile: DIR/X.Dockerfile.dockerignore beside it is used instead of the context's .dockerignore (BuildKit's Dockerfile-specific ignore file)" {
    c=$(ctx 'FROM cbase:1' 'COPY . /c/')
    mkdir -p "$c/docker"
    printf 'FROM cbase:1\nCOPY . /c/\n' >"$c/docker/api.Dockerfile"
    printf 'docs\n' >"$c/.dockerignore"
    printf '*.md\nsrc/lib\ndocker\n' >"$c/docker/api.Dockerfile.dockerignore"
    run "$NBUILD" -f "$c/docker/api.Dockerfile" -t di:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm di:1 sh -c 'cd /c && find . | sort'
    echo "$output"
    [ "$output" = "$(printf '.\n./.dockerignore\n./Nodefile\n./docs\n./docs/x.md\n./package-lock.json\n./package.json\n./src\n./src/a.js\n./src/a.test.js')" ]
    # the default Nodefile reads Nodefile.dockerignore the same way
    printf 'src\n' >"$c/Nodefile.dockerignore"
    run "$NBUILD" -t di:2 "$c"
    [ "$status" -eq 0 ]
    run rt_run --rm di:2 sh -c 'cd /c && ls'
    [[ "$output" != *src* && "$output" == *docs* ]]
    # a hostile one is an error naming it (a NUL byte was not seen before)
    printf 'ok\n\0x\n' >"$c/docker/api.Dockerfile.dockerignore"
    run "$NBUILD" -f "$c/docker/api.Dockerfile" -t di:3 "$c"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"docker/api.Dockerfile.dockerignore: NUL byte"* ]]
    [ -z "$(manifest_of di:3)" ]
}

@test "FROM an earlier stage: its ARGs (with their values) are in scope in the new stage, as BuildKit passes them on; a stage FROM an image does not see them" {
    c=$(ctx 'ARG BASE=cbase:1' 'FROM $BASE AS a' 'ARG APP_ENV=prod' 'ARG BASE' 'ENV E=1' \
        'FROM a AS b' 'RUN echo "b [$APP_ENV] [$BASE] [$E]" > /b' 'LABEL env=$APP_ENV' \
        'FROM cbase:1' 'COPY --from=b /b /b' 'RUN echo "c [$APP_ENV]" >> /b')
    run "$NBUILD" --build-arg APP_ENV=staging -t ai:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm ai:1 cat /b
    [ "$output" = "$(printf 'b [staging] [cbase:1] [1]\nc []')" ]
    run "$NBUILD" --target b -t ai:2 "$c"
    [ "$status" -eq 0 ]
    run cfg ai:2 '.config.Labels.env'
    [ "$output" = '"prod"' ]
}

@test "ADD of a git repository (URL.git#ref, git@host:path): an error at its place, nothing downloaded or tagged (BuildKit clones; nbuild does not)" {
    run "$NBUILD" -t gi:1 "$(ctx 'FROM cbase:1' 'ADD https://127.0.0.1:9/o/r.git#v1.2:sub /src')"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:5: ADD https://127.0.0.1:9/o/r.git#v1.2:sub: git repositories are not fetched by nbuild (clone it into the build context)"* ]]
    run "$NBUILD" -t gi:2 "$(ctx 'FROM cbase:1' 'ARG R=git@127.0.0.1:o/r.git' 'ADD --keep-git-dir=true $R /src')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:25: ADD git@127.0.0.1:o/r.git: git repositories are not fetched"* ]]
    [ -z "$(manifest_of gi:1)" ] && [ -z "$(manifest_of gi:2)" ]
}

@test "FROM image  # note (a comment after the image, seen in real files): BuildKit's error, at the '#', saying where comments may start" {
    run "$NBUILD" -t fc:1 "$(ctx 'FROM cbase:1          # Debian, smaller')"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:1:23: FROM requires either one or three arguments (image [AS name]); '#' starts a comment only at the start of a line"* ]]
    run "$NBUILD" -t fc:2 "$(ctx 'FROM cbase:1 AS a # x')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:1:19: FROM requires"*"'#' starts a comment"* ]]
    [ -z "$(manifest_of fc:1)" ] && [ -z "$(manifest_of fc:2)" ]
}

@test "a context with a lowercase 'dockerfile' and no Dockerfile: it is the default file, as docker build and BuildKit look for it" {
    c=$(ctx 'FROM cbase:1')
    rm "$c/Nodefile"
    printf 'FROM cbase:1\nCOPY src/a.js /a.js\n' >"$c/dockerfile"
    run "$NBUILD" --progress=plain -t lc:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm lc:1 cat /a.js
    [ "$output" = m ]
    # a Dockerfile beside it wins
    printf 'FROM cbase:1\nCOPY README.md /r\n' >"$c/Dockerfile"
    run "$NBUILD" -t lc:2 "$c"
    [ "$status" -eq 0 ]
    run rt_run --rm lc:2 cat /r
    [ "$output" = r ]
}

@test ".dockerignore saved with a UTF-8 BOM and CRLF line ends (a Windows editor): its first pattern applies, as Docker skips the BOM" {
    c=$(ctx 'FROM cbase:1' 'COPY . /c/')
    printf '\xef\xbb\xbfdocs\r\n*.md \r\n' >"$c/.dockerignore"
    run "$NBUILD" -t bo:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm bo:1 sh -c 'cd /c && find . -name "*.md" -o -name docs'
    echo "$output"
    [ -z "$output" ]
}

@test "FROM docker.io/library/node:TAG (docker.io/node, library/node): Docker Hub's node written out is node:TAG, as in Docker: the store's image, --base-map, COPY --from" {
    rt_bb_image node:20-slim '{"Cmd":["sh"],"Env":["PATH=/bin","NODE_VERSION=20"]}'
    c=$(ctx 'FROM docker.io/library/node:20-slim AS a' 'RUN echo a > /a' \
        'FROM docker.io/node:20-slim' 'COPY --from=a /a /a' 'COPY --from=library/node:20-slim /etc/passwd /p')
    run "$NBUILD" --progress=plain -t dh:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM docker.io/library/node:20-slim: Docker Hub's node image, node:20-slim here"* ]]
    [[ "$output" != *PULL* ]]
    run rt_run --rm dh:1 sh -c 'cat /a && echo $NODE_VERSION && head -1 /p'
    [ "$output" = "$(printf 'a\n20\nroot:x:0:0:root:/root:/bin/sh')" ]
    # the alpine substitution a CI sets for node:* applies to the written-out name too
    run "$NBUILD" --base-map 'node:*-alpine*=node:*-slim' -t dh:2 "$(ctx 'FROM docker.io/library/node:20-alpine3.19' 'RUN echo $NODE_VERSION > /v')"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm dh:2 cat /v
    [ "$output" = 20 ]
    "$NRUN" rmi node:20-slim >/dev/null
}

@test "COPY . of a context holding a unix socket (a dev server's) and a fifo: the socket is skipped and the fifo copied, as BuildKit does" {
    c=$(ctx 'FROM cbase:1' 'COPY . /c/')
    python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$c/src/dev.sock"
    mkfifo "$c/src/pipe"
    run "$NBUILD" -t so:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm so:1 sh -c 'cd /c/src && ls && test -p pipe && echo fifo'
    echo "$output"
    [ "$output" = "$(printf 'a.js\na.test.js\nlib\npipe\nfifo')" ]
}

@test "RUN --mount=type=ssh npm ci (no --ssh given): the step runs with no agent, as BuildKit runs an optional ssh mount; required is an error at its place, before any step" {
    c=$(ctx 'FROM cbase:1' 'RUN --mount=type=ssh echo "ran [$SSH_AUTH_SOCK]" > /ran' \
        'RUN --mount=type=ssh,id=github,target=/tmp/agent.sock,mode=0666 test ! -e /tmp/agent.sock')
    run "$NBUILD" --progress=plain -t ss:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"--> RUN --mount=type=ssh,id=default: no --ssh default given; the step runs with no agent"* ]]
    [[ "$output" == *"--> RUN --mount=type=ssh,id=github: no --ssh github given; the step runs with no agent"* ]]
    run rt_run --rm ss:1 cat /ran
    echo "$output"
    [ "$output" = "ran []" ]
    run "$NBUILD" --progress=plain -t ss:2 "$(ctx 'FROM cbase:1' 'RUN echo ran-first' 'RUN --mount=type=ssh,required echo x')"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:5: RUN --mount=type=ssh,id=default,required: no --ssh default given (without required the step runs with no agent, as BuildKit's does)"* ]]
    [[ "$output" != *ran-first* ]]
    [ -z "$(manifest_of ss:2)" ]
}

@test "FROM node:TAG@sha256:<Docker Hub's digest> (a Renovate pin): the mismatch names --base-map; a --base-map that matches substitutes the image and does not check the pin" {
    rt_bb_image node:20-slim '{"Cmd":["sh"],"Env":["PATH=/bin","NODE_VERSION=20"]}'
    pin=sha256:$(printf '%064d' 7)
    run "$NBUILD" -t pn:1 "$(ctx "FROM node:20-slim@$pin" 'RUN echo $NODE_VERSION > /v')"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:1:6: FROM node:20-slim@$pin: digest mismatch: "*"the Nodefile asks for $pin (a node: base made here never has Docker Hub's digest; --base-map 'node:*=node:*' builds"* ]]
    [ -z "$(manifest_of pn:1)" ]
    run "$NBUILD" --progress=plain --base-map 'node:*=node:*' -t pn:2 "$(ctx "FROM node:20-slim@$pin" 'RUN echo $NODE_VERSION > /v')"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"--base-map gives node:20-slim (the Nodefile's digest pin is for the image it replaces: not checked)"* ]]
    run rt_run --rm pn:2 cat /v
    [ "$output" = 20 ]
    run "$NBUILD" --base-map 'node:*-alpine*=node:*-slim' -t pn:3 "$(ctx "FROM node:20-alpine3.20@$pin AS b" 'RUN echo $NODE_VERSION > /v')"
    echo "$output"
    [ "$status" -eq 0 ]
    # an image that is not mapped still has its pin checked
    run "$NBUILD" --base-map 'other:*=node:*' -t pn:4 "$(ctx "FROM node:20-slim@$pin")"
    [ "$status" -ne 0 ]
    [[ "$output" == *"digest mismatch"* ]]
    "$NRUN" rmi node:20-slim >/dev/null
}

@test "node:21-slim, node:19, node:23-alpine, node:fermium (14): the odd and older majors real Dockerfiles name resolve offline; zero-config still picks an even major" {
    pin() { sed -n "s/^$1=//p" "$BATS_TEST_DIRNAME/../../images/node/versions.txt"; }
    run unshare --net "$NBUILD" --list-bases node:21-slim node:19 node:fermium-slim node:25 node:23-bookworm
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "node:21-slim node:$(pin NODE_21)-bookworm-slim" ]
    [[ "${lines[1]}" == "node:19 node:$(pin NODE_19)-bookworm  # "*"bullseye is no longer in Debian's archive"* ]]
    [[ "${lines[2]}" == "node:fermium-slim node:$(pin NODE_14)-bookworm-slim  # "* ]]
    [ "${lines[3]}" = "node:25 node:$(pin NODE_25)-trixie" ]
    [ "${lines[4]}" = "node:23-bookworm node:$(pin NODE_23)-bookworm" ]
    run "$NBUILD" --list-bases node:23-alpine
    [ "$status" -eq 0 ]
    [ "$output" = "node:23-alpine node:$(pin NODE_23)-bookworm-slim  # Debian slim for Alpine: nbuild's FROM node:23-alpine builds on node:23-slim (glibc, apk translated)" ]
    c=$W/zc.$BATS_TEST_NUMBER
    mkdir -p "$c"
    echo '{"name":"z","engines":{"node":">=20 <24"}}' >"$c/package.json"
    run "$NBUILD" --print-nodefile "$c"
    [[ "$output" == *$'\nFROM node:22 AS deps\n'* ]]
    echo '{"name":"z","engines":{"node":"^21"}}' >"$c/package.json"
    run "$NBUILD" --print-nodefile "$c"
    [[ "$output" == *$'\nFROM node:21 AS deps\n'* ]]
}

@test "EXPOSE \$PORT of an ARG given no value exposes nothing, and of \"3000 9229/udp\" two ports: the expansion splits into words, as BuildKit's" {
    c=$(ctx 'FROM cbase:1' 'ARG PORT' 'ARG PORTS="3000 9229/udp"' 'EXPOSE $PORT' 'EXPOSE $PORTS 80' 'EXPOSE ${DEBUG_PORT:-9230}')
    run "$NBUILD" -t xw:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run cfg xw:1 '.config.ExposedPorts | keys'
    [ "$output" = '["3000/tcp","80/tcp","9229/udp","9230/tcp"]' ]
    # a word that is not a port is still an error at its place
    run "$NBUILD" -t xw:2 "$(ctx 'FROM cbase:1' 'ARG PORTS="3000 web"' 'EXPOSE $PORTS')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:8: EXPOSE: invalid port \"web\""* ]]
    [ -z "$(manifest_of xw:2)" ]
}

@test "MAINTAINER (deprecated, still in real files) sets the config's author, as BuildKit; an image FROM it keeps it, a later MAINTAINER replaces it" {
    run "$NBUILD" -t au:1 "$(ctx 'FROM cbase:1' 'MAINTAINER Jane Doe <jane@example.com>')"
    echo "$output"
    [ "$status" -eq 0 ]
    run cfg au:1 '.author'
    [ "$output" = '"Jane Doe <jane@example.com>"' ]
    run "$NBUILD" -t au:2 "$(ctx 'FROM au:1 AS a' 'FROM a' 'LABEL x=1')"
    [ "$status" -eq 0 ]
    run cfg au:2 '.author'
    [ "$output" = '"Jane Doe <jane@example.com>"' ]
    run "$NBUILD" -t au:3 "$(ctx 'FROM au:1' 'MAINTAINER Ops')"
    run cfg au:3 '.author'
    [ "$output" = '"Ops"' ]
    run cfg cbase:1 '.author'
    [ "$output" = null ]
}

@test "CMD [ \"node\" \"index.js\" ] (a comma missing) is not JSON, so the shell form, and in ENTRYPOINT [...] # note the text after the array is ignored, as BuildKit reads them, each with a warning at file:line:col; a JSON array of non-strings is an error" {
    c=$(ctx 'FROM cbase:1' \
        'RUN ["sh", "-c", "echo exec > /e"]' \
        'RUN [ -f /etc/passwd ] && echo test > /t' \
        'RUN ["sh", "-c", "echo a > /a"] && echo b > /b' \
        'CMD [ "node" "index.js" ]' \
        'ENTRYPOINT ["sh", "-c", "echo hi"] # nosemgrep: missing-user' \
        'HEALTHCHECK CMD ["wget", "-q", "http://127.0.0.1:3000/",]')
    run "$NBUILD" --progress=plain -t js:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"nbuild: warning: "*"/Nodefile:4:33: RUN: the text after the JSON array (&& echo b > /b) is ignored"* ]]
    [[ "$output" == *"nbuild: warning: "*"/Nodefile:5:23: CMD: not a JSON array (']' expected near '\"index.js\"'), so it is the shell form, as BuildKit reads it"* ]]
    [[ "$output" == *"nbuild: warning: "*"/Nodefile:6:36: ENTRYPOINT: the text after the JSON array (# nosemgrep: missing-user) is ignored, as BuildKit ignores it"* ]]
    [[ "$output" == *"nbuild: warning: "*"/Nodefile:7:"*": HEALTHCHECK: not a JSON array"* ]]
    [ "$(grep -c 'warning: ' <<<"$output")" = 4 ] # the exec form and the shell test are what they were
    run cfg js:1 '[.config.Cmd, .config.Entrypoint, .config.Healthcheck.Test]'
    [ "$output" = '[["/bin/sh","-c","[ \"node\" \"index.js\" ]"],["sh","-c","echo hi"],["CMD-SHELL","[\"wget\", \"-q\", \"http://127.0.0.1:3000/\",]"]]' ]
    run rt_run --rm --entrypoint sh js:1 -c 'cat /e /t /a; ls /b'
    [ "$output" = "$(printf 'exec\ntest\na\nls: /b: No such file or directory')" ]
    # COPY and VOLUME take the words, as BuildKit does (quotes removed)
    c=$(ctx 'FROM cbase:1' 'COPY ["package.json" "README.md"] /x/')
    touch "$c/[package.json" "$c/README.md]"
    run "$NBUILD" -t js:2 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm --entrypoint ls js:2 /x
    [ "$output" = "$(printf 'README.md]\n[package.json')" ]
    run "$NBUILD" -t js:6 "$(ctx 'FROM cbase:1' 'VOLUME ["/data" "/logs"]')"
    [ "$status" -eq 0 ]
    run cfg js:6 '.config.Volumes | keys'
    [ "$output" = '["/logs]","[/data"]' ]
    # valid JSON with a number in it is BuildKit's error; an array left open
    # on its line makes the next line an unknown instruction, which says why
    run "$NBUILD" -t js:3 "$(ctx 'FROM cbase:1' 'CMD ["node", 3000]')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:5: CMD: JSON array elements must be strings"* ]]
    run "$NBUILD" -t js:4 "$(ctx 'FROM cbase:1' 'CMD ["node",' '     "server.js"]')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:3:6: unknown instruction: \"server.js\"] (line 2's JSON array has no closing ']' on its line: a line that goes on ends with '\\')"* ]]
    run "$NBUILD" -t js:5 "$(ctx 'FROM cbase:1' 'SHELL ["sh" "-c"]')"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Nodefile:2:16: SHELL requires the arguments in JSON form (not JSON: ']' expected near '\"-c\"')"* ]]
    for t in js:3 js:4 js:5; do [ -z "$(manifest_of $t)" ]; done
}

@test "\$1, \$\$ and \$@ in ENV, LABEL and COPY are unset variables, as BuildKit's lexer reads them ('he\$1x' is 'hex'); '\$' before anything else stays" {
    c=$(ctx 'FROM cbase:1' 'ENV A=he$1x B="a$$b" C=$@ D=x$.y E="$ 5" F=\$1' 'LABEL price="$9.99" shell=$0' 'COPY README.md /r$1.md')
    run "$NBUILD" -t dl:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run cfg dl:1 '[.config.Env[1:], .config.Labels]'
    [ "$output" = '[["A=hex","B=ab","C=","D=x$.y","E=$ 5","F=$1"],{"price":".99","shell":""}]' ]
    run rt_run --rm dl:1 cat /r.md
    [ "$output" = r ]
}

@test "FROM public.ecr.aws/docker/library/node:TAG and mirror.gcr.io/library/node:TAG (mirrors of Docker's official images): node:TAG, as docker.io/library/node is: the store's image, COPY --from, --base-map" {
    rt_bb_image node:20-slim '{"Cmd":["sh"],"Env":["PATH=/bin","NODE_VERSION=20"]}'
    c=$(ctx 'FROM public.ecr.aws/docker/library/node:20-slim AS a' 'RUN echo a > /a' \
        'FROM mirror.gcr.io/library/node:20-slim' 'COPY --from=a /a /a' \
        'COPY --from=public.ecr.aws/docker/library/node:20-slim /etc/passwd /p' \
        'RUN --mount=type=bind,from=mirror.gcr.io/library/node:20-slim,source=/etc/group,target=/g cp /g /g2')
    run "$NBUILD" --progress=plain -t mi:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"FROM public.ecr.aws/docker/library/node:20-slim: Docker Hub's node image, node:20-slim here"* ]]
    [[ "$output" == *"FROM mirror.gcr.io/library/node:20-slim: Docker Hub's node image, node:20-slim here"* ]]
    [[ "$output" != *PULL* ]]
    run rt_run --rm mi:1 sh -c 'cat /a && echo $NODE_VERSION && head -1 /p && head -1 /g2'
    [ "$output" = "$(printf 'a\n20\nroot:x:0:0:root:/root:/bin/sh\nroot:x:0:')" ]
    run "$NBUILD" --base-map 'node:*-alpine*=node:*-slim' -t mi:2 "$(ctx 'FROM public.ecr.aws/docker/library/node:20-alpine3.20' 'RUN echo $NODE_VERSION > /v')"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm mi:2 cat /v
    [ "$output" = 20 ]
    "$NRUN" rmi node:20-slim >/dev/null
}

@test "RUN <<EOF with #!/usr/bin/env node: the body is a file the step executes (/dev/pipes/EOF, as BuildKit), so node, which resolves its script's path, runs it, as USER too; in no layer; the body is in the key" {
    rt_node_tar "$W/node.tar"
    rt_bb_image cnode:1 '{"Cmd":["sh"],"Env":["PATH=/usr/bin:/bin"]}' "$W/node.tar"
    c=$(ctx 'FROM cnode:1' 'RUN ln -s /bin/env /usr/bin/env && mkdir /out && chown 1000 /out' \
        'RUN <<EOF' '#!/usr/bin/env node' "require('fs').writeFileSync('/out/a', process.argv[1] + ' ' + process.getuid())" 'EOF' \
        'USER 1000' \
        'RUN <<JS' '#!/usr/bin/node' "require('fs').writeFileSync('/out/b', __filename + ' ' + process.getuid())" 'JS')
    run "$NBUILD" --progress=plain -t nh:1 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    run rt_run --rm nh:1 sh -c 'cat /out/a; echo; cat /out/b; echo; ls /dev/pipes 2>&1'
    echo "$output"
    [ "$output" = "$(printf '/dev/pipes/EOF 0\n/dev/pipes/JS 1000\nls: /dev/pipes: No such file or directory')" ]
    run cfg nh:1 '[.history[].created_by | select(startswith("RUN <<"))] | length'
    [ "$output" = 2 ]
    # another body is another step; the same is CACHED
    sed -i "s|__filename + ' '|__filename + ' changed '|" "$c/Nodefile"
    run "$NBUILD" --progress=plain -t nh:2 "$c"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c CACHED <<<"$output")" = 2 ]
    run rt_run --rm nh:2 cat /out/b
    [ "$output" = "/dev/pipes/JS changed 1000" ]
}
