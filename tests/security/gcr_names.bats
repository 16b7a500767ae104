#!/usr/bin/env bats
# Names under gcr.io/distroless/ are parsed by nbuild (builder/base_gcr.c) to
# pick what to make: a hostile one (huge, control characters, traversal in
# the name or tag, a malformed digest, numbers that overflow, doubled
# suffixes) gives one clear line naming it and a non-zero exit, at once, from
# `nrun base`, `nrun base --list` and nbuild's FROM, with the store and the
# download cache unchanged and nothing made or fetched (NRUN_OFFLINE=1 would
# turn any download into an error).  nbuild runs in the file's network
# namespace, which has no way out.
load ../lib/security
bats_require_minimum_version 1.5.0

G=gcr.io/distroless

setup_file() {
    nr_make_root
    export NRUN_CACHE_DIR=$BATS_FILE_TMPDIR/cache NRUN_OFFLINE=1
    mkdir -p "$NRUN_CACHE_DIR"
    "$NR_REAL_NRUN" images >/dev/null # the store made, as any first command makes it
}

teardown_file() { nr_remove_root; }

bounded() { sec_bounded 10 "$@"; }

hostile() {
    printf '%s\n' \
        "$G/$(head -c 10000 /dev/zero | tr '\0' a)" \
        "$G/nodejs20-debian12:$(head -c 5000 /dev/zero | tr '\0' l)" \
        "$G/" \
        "$G/:latest" \
        "$G/../../../etc/passwd-debian12" \
        "$G/nodejs20-debian12/../../x" \
        "$G/nodejs20-debian12:../../x" \
        "$G/nodejs20-debian12@sha256:zz" \
        "$G/nodejs20-debian12@sha256:$(head -c 63 /dev/zero | tr '\0' a)" \
        "$G/nodejs20-debian12@sha256:$(head -c 64 /dev/zero | tr '\0' A)" \
        "$G/nodejs20-debian12@md5:0123" \
        "$G/nodejs99999999999999999999-debian12" \
        "$G/nodejs020-debian12" \
        "$G/nodejs-20-debian12" \
        "$G/nodejs20-debian012" \
        "$G/nodejs20-debian99999999999999999999" \
        "$G/nodejs20-debian12-debian12" \
        "$G/nodejs20-debian" \
        "$G/nodejs20debian12" \
        "$G/-debian12" \
        "$G/nodejs20-debian12:latest-amd64-amd64" \
        "$G/nodejs20-debian12:-amd64" \
        "$G/static-debian12:debug-nonroot-nonroot" \
        "$G/cc-debian12:%00" \
        "$G/nodejs20-debian12:late"$'\x1b'"[31mst" \
        "$G/nodejs20-debian12"$'\r'"x"
}

@test "hostile gcr.io/distroless names: nrun base and base --list refuse each in one line, nothing made" {
    # control: a name made here resolves (offline, nothing made)
    run "$NR_REAL_NRUN" base --list "$G/nodejs20-debian12:nonroot"
    [ "$status" -eq 0 ]
    before=$(nr_tree_hash "$NRUN_ROOT")
    cache_before=$(ls -A "$NRUN_CACHE_DIR" | sort)
    while IFS= read -r name; do
        for cmd in "base" "base --list"; do
            # shellcheck disable=SC2086
            run bounded "$NR_REAL_NRUN" $cmd "$name"
            [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { echo "status $status for ${name:0:80}"; false; }
            [ "${#lines[@]}" -eq 1 ] || { echo "${#lines[@]} lines for ${name:0:80}: $output"; false; }
            [ "${#output}" -lt 1200 ]
            ! grep -q $'\x1b' <<<"$output" || false
            ! grep -q 'ready\|making it here' <<<"$output" || false
        done
    done < <(hostile)
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
    [ "$(ls -A "$NRUN_CACHE_DIR" | sort)" = "$cache_before" ]
}

@test "hostile gcr.io/distroless names in FROM: one line at file:line:col or a reference error, store unchanged" {
    mkdir -p "$BATS_FILE_TMPDIR/ctx"
    before=$(nr_tree_hash "$NRUN_ROOT")
    while IFS= read -r name; do
        case $name in *$'\r'* | *$'\x1b'*) continue ;; esac # not one Nodefile line
        printf 'FROM %s\nCMD ["x"]\n' "$name" >"$BATS_FILE_TMPDIR/ctx/Nodefile"
        run bounded nsenter --net="/run/netns/$NR_NETNS" "$NBUILD" --progress=plain -t bad:1 "$BATS_FILE_TMPDIR/ctx"
        [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { echo "status $status for ${name:0:80}"; false; }
        # refused as a reference or as a name nbuild does not make: never a pull
        grep -Eq 'Nodefile:1:[0-9]+: (unknown base image gcr.io/distroless/|FROM: invalid image reference)' <<<"$output" ||
            { echo "${name:0:80}: $output" | cut -c1-300; false; }
        ! grep -q 'PULL\|pull:' <<<"$output" || false
    done < <(hostile)
    [ "$(nr_tree_hash "$NRUN_ROOT")" = "$before" ]
}
