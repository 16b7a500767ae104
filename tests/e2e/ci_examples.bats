#!/usr/bin/env bats
# examples/ci/: the GitHub Actions workflow and the GitLab CI job parse as
# YAML of the expected shape, and every step that runs nrun or nbuild is
# accepted by their option parsers.  Offline: the registry is 127.0.0.1:1
# (nothing listens there), so a step gets as far as the network and fails
# there, never at its command line (exit 2, "usage", "unknown option").

bats_require_minimum_version 1.5.0
load ../lib/common

setup_file() {
    nr_make_root # $NRUN runs in the file's own network namespace
    export WORK
    WORK=$(mktemp -d /tmp/nrun-ci-e2e.XXXXXX)
    # the runner's tools: sudo runs the command as is (we are root), nrun and
    # nbuild are the ones under test
    mkdir -p "$WORK/bin" "$WORK/app"
    printf '#!/bin/sh\nexec "$@"\n' >"$WORK/bin/sudo"
    chmod +x "$WORK/bin/sudo"
    ln -s "$NRUN" "$WORK/bin/nrun"
    ln -s "$NBUILD" "$WORK/bin/nbuild"
    printf 'FROM scratch\nCOPY a.txt /a.txt\n' >"$WORK/app/Nodefile"
    echo a >"$WORK/app/a.txt"
}

teardown_file() {
    [ -z "${KEEP_CI_WORK:-}" ] || return 0
    case ${WORK:-} in /tmp/nrun-ci-e2e.*) rm -rf "$WORK" ;; esac
    nr_remove_root
}

# The steps of $1 (github|gitlab) that run nrun/nbuild, one script per file
# under $WORK/steps-$1/, CI expressions and variables replaced by test values.
extract() {
    python3 - "$1" "$REPO/examples/ci" "$WORK/steps-$1" <<'PY'
import os, re, sys, yaml
kind, src, out = sys.argv[1:]
os.makedirs(out, exist_ok=True)
cmd = re.compile(r'(^|[|;&]\s*|sudo\s+|\bthen\s+)(nrun|nbuild)\s', re.M)
reg = "127.0.0.1:1"
blocks = []
if kind == "github":
    y = yaml.safe_load(open(f"{src}/github-actions.yml"))
    assert y[True if True in y else "on"] is not None, "no triggers"
    job = y["jobs"]["image"]
    assert job["runs-on"] == "ubuntu-latest"
    subst = {"vars.REGISTRY": reg, "vars.IMAGE_REPO": "team/app", "github.sha": "abc",
             "github.event_name": "push", "secrets.REGISTRY_USER": "user", "secrets.REGISTRY_PASSWORD": "pw"}
    def expr(s):
        return re.sub(r"\$\{\{\s*([^}]*?)\s*\}\}", lambda m: subst[m.group(1)], s)
    env = {k: expr(v) for k, v in y["env"].items()}
    for st in job["steps"]:
        if "run" in st and cmd.search(st["run"]):
            blocks.append("".join(f"export {k}='{v}'\n" for k, v in env.items()) + expr(st["run"]))
else:
    y = yaml.safe_load(open(f"{src}/gitlab-ci.yml"))
    job = y["image-build-test-push"]
    assert job["stage"] in y["stages"]
    pre = (f"export CI_REGISTRY={reg} CI_REGISTRY_USER=user CI_REGISTRY_PASSWORD=pw "
           f"CI_REGISTRY_IMAGE={reg}/team/app CI_COMMIT_SHORT_SHA=abc\n")
    pre += "".join(f'export {k}="{v}"\n' for k, v in job["variables"].items())
    for line in job["script"]:
        if cmd.search(line):
            blocks.append(pre + line)
for i, b in enumerate(blocks):
    open(f"{out}/{i:02d}.sh", "w").write(b + "\n")
print(len(blocks))
PY
}

# Run every extracted step of $1 in the app dir: none may be refused by an
# option parser.
steps_accepted() {
    local f n=0
    for f in "$WORK/steps-$1"/*.sh; do
        n=$((n + 1))
        status=0
        output=$(env PATH="$WORK/bin:$PATH" NRUN_ROOT="$NRUN_ROOT/$1" DOCKER_CONFIG="$WORK/docker-$1" \
            bash -c "cd '$WORK/app' && . '$f'" 2>&1) || status=$?
        echo "--- $f (exit $status)"; cat "$f"; echo "$output"
        [ "$status" -ne 2 ] || return 1
        [[ "$output" != *"unknown"*"option"* && "$output" != *"usage:"* && "$output" != *"Usage:"* ]] || return 1
        # each failed at the network or the test image, not before (the
        # second job's store finds the first's default network on the
        # file's namespace, and says so)
        [[ "$output" == *"127.0.0.1:1"* || "$output" == *"npm"* ||
            "$output" == *"the default network's bridge nrun0 is up with 10.88.0.1, another store's default network"* ]] || return 1
    done
    echo "$n"
}

@test "examples/ci: the GitHub Actions workflow parses; its login, build, test and push steps pass nrun's parsers" {
    run extract github
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" -eq 4 ] # login, build, test, push
    run steps_accepted github
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q -- '--cache-to' "$WORK"/steps-github/*.sh
}

@test "examples/ci: the GitLab CI job parses; its login, build, test and push lines pass nrun's parsers" {
    run extract gitlab
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" -eq 4 ]
    run steps_accepted gitlab
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "the check itself: a command line with a misspelt option is caught" {
    mkdir -p "$WORK/steps-bad"
    echo 'sudo nbuild --cache-frm "type=registry,ref=127.0.0.1:1/x:c" .' >"$WORK/steps-bad/00.sh"
    run steps_accepted bad
    [ "$status" -ne 0 ]
}
