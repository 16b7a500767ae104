# Rootless nbuild tests: a user of their own, made for the test file and
# removed with it (useradd gives it a subuid/subgid range from login.defs,
# userdel takes the range and the home away), so that no run depends on a
# user a previous run or `make deps` left behind, and a test never shares
# a store or processes with another file's user.
#   rl_user_add VAR [norange]   make a user, its name in $VAR (and VAR_UID)
#   rl_as USER CMD...           run CMD as USER, with a clean environment
#                               (HOME, PATH, XDG_DATA_HOME when RL_XDG is set)
#   rl_user_del USER            end its processes (by PID), remove it
#   rl_give USER FILE           a copy of FILE the user owns ($RL_GIVEN)
#   rl_store USER               its default store: ~/.local/share/nrun

rl_user_add() {
    local var=$1 name
    name=nrt$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
    local opts=() i
    [ "${2:-}" != norange ] || opts=(-K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0)
    # another test file may hold /etc/passwd's lock a moment (exit 10): retried
    for i in 1 2 3 4 5 6 7 8 9 10; do
        useradd -m -s /bin/sh "${opts[@]}" "$name" >&2 && break
        [ $? -eq 10 ] && [ "$i" -lt 10 ] || return 1
        sleep 0.5
    done
    printf -v "$var" '%s' "$name"
    printf -v "${var}_UID" '%s' "$(id -u "$name")"
    export "${var?}" "${var}_UID"
}

rl_as() {
    local u=$1
    shift
    local home
    home=$(getent passwd "$u" | cut -d: -f6)
    setpriv --reuid "$u" --regid "$u" --init-groups -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" \
        ${RL_XDG:+XDG_DATA_HOME=$RL_XDG} ${SOURCE_DATE_EPOCH:+SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH} \
        NRUN_CACHE_DIR="$home/.cache/nrun" "$@"
}

# A copy of file $2 for user $1 (the test's own dir is closed to it): in
# its home, its own; the path in $RL_GIVEN.
rl_give() {
    RL_GIVEN=$(getent passwd "$1" | cut -d: -f6)/given-$(basename "$2")
    install -o "$1" -g "$(id -g "$1")" -m 600 "$2" "$RL_GIVEN"
}

rl_store() { echo "$(getent passwd "$1" | cut -d: -f6)/.local/share/nrun"; }

# The user's processes, by PID: none may be left when a test ends.
rl_pids() { ps -o pid= -u "$1" 2>/dev/null | tr -d ' '; }

rl_user_del() {
    local u=$1 p
    [ -n "$u" ] && id "$u" >/dev/null 2>&1 || return 0
    for p in $(rl_pids "$u"); do kill -9 "$p" 2>/dev/null || true; done
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        userdel -r "$u" 2>/dev/null && return 0
        id "$u" >/dev/null 2>&1 || return 0
        sleep 0.5
    done
    userdel "$u"
}
