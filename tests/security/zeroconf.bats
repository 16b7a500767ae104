#!/usr/bin/env bats
# Zero-config builds read the context's package.json (and yarn.lock) from a
# directory the user may not have written: a FIFO, a device, a 2 GiB sparse
# file or a deeply nested document gives one line naming the file, at once;
# values that look like Dockerfile syntax or shell never leave their JSON string.
load ../lib/security
bats_require_minimum_version 1.5.0

setup_file() { nr_make_root; }

teardown_file() { nr_remove_root; }

# 10 s and 512 MiB at most (under AddressSanitizer, which reserves terabytes
# of address space, 512 MiB resident), as in inputs.bats
bounded() { sec_bounded 10 "$@"; }

@test "package.json as a FIFO, /dev/zero, a directory or a 2 GiB sparse file: one line, at once" {
    c=$BATS_TEST_TMPDIR/c
    mkdir -p "$c"
    mkfifo "$c/package.json"
    run bounded "$NBUILD" --print-nodefile "$c"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [ "$output" = "nbuild: package.json $c/package.json: a FIFO or pipe, not a regular file" ]
    rm "$c/package.json" && ln -s /dev/zero "$c/package.json"
    run bounded "$NBUILD" -t bad:1 "$c"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"a device, not a regular file" ]] && [ "${#lines[@]}" -eq 1 ]
    rm "$c/package.json" && mkdir "$c/package.json"
    run bounded "$NBUILD" --print-nodefile "$c"
    [ "$status" -ne 0 ] && [ "$output" = "nbuild: package.json $c/package.json: EISDIR (Is a directory)" ]
    rmdir "$c/package.json" && truncate -s 2G "$c/package.json"
    run bounded "$NBUILD" --print-nodefile "$c"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ "$output" == *"2147483648 bytes, more than the 1048576 allowed" ]]
}

@test "a deeply nested package.json and a FIFO yarn.lock do not hang or crash the generator" {
    c=$BATS_TEST_TMPDIR/c
    mkdir -p "$c"
    { printf '{"a":'; head -c 200000 /dev/zero | tr '\0' '['; } >"$c/package.json"
    run bounded "$NBUILD" --print-nodefile "$c"
    [ "$status" -eq 1 ]
    [[ "$output" == "nbuild: $c/package.json:1:"* ]] && [ "${#lines[@]}" -eq 1 ]
    printf '{"scripts":{"start":"node s.js"}}' >"$c/package.json"
    mkfifo "$c/yarn.lock"
    run bounded "$NBUILD" --print-nodefile "$c"
    [ "$status" -eq 0 ]
    # a lock file that is not a regular file is not a lock file: npm install, and nothing read from it
    grep -q 'npm install$' <<<"$output"
    rm "$c/yarn.lock" && truncate -s 2G "$c/yarn.lock" # a yarn.lock above 64 MiB is taken as v1, unread
    run bounded "$NBUILD" --print-nodefile "$c"
    [ "$status" -eq 0 ]
    grep -q 'yarn install --frozen-lockfile$' <<<"$output"
}

@test "Dockerfile syntax and shell in package.json stay inside one JSON string or are refused" {
    c=$BATS_TEST_TMPDIR/c
    mkdir -p "$c"
    # scripts never enter the recipe; main is one exec-form argument
    cat >"$c/package.json" <<'JSON'
{"name": "x\nRUN touch /pwned", "main": "a.js\"]\u0020$(touch /pwned) `id` \\",
 "scripts": {"build": "touch /pwned\nRUN touch /pwned2"},
 "engines": {"node": "20\nRUN touch /pwned"}}
JSON
    run "$NBUILD" --print-nodefile "$c"
    [ "$status" -ne 0 ]
    [[ "$output" == "nbuild: $c/package.json: engines.node \"20\\nRUN touch /pwned\": not a semver range" ]]
    jq '.engines.node = "20"' "$c/package.json" >"$c/p" && mv "$c/p" "$c/package.json"
    run "$NBUILD" --print-nodefile "$c"
    [ "$status" -eq 0 ]
    ! grep -q pwned2 <<<"$output" || false
    [ "$(grep -c '^RUN' <<<"$output")" -eq 4 ] # install, rm, build, prune: ours only
    cmd=$(grep '^CMD ' <<<"$output")
    [ "$(jq -c . <<<"${cmd#CMD }")" = '["node","./a.js\"] $(touch /pwned) `id` \\"]' ]
}
