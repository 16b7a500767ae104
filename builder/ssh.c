/* --ssh ID[=SOCKET|KEY[,KEY...]], docker build's SSH forwarding, for
 * `RUN --mount=type=ssh[,id=ID]`:
 *  - `default` alone is $SSH_AUTH_SOCK; a path that is a unix socket is an
 *    agent's; regular files are private keys, loaded into an ssh-agent of
 *    this build's own (OpenSSH's ssh-agent and ssh-add; a key with a
 *    passphrase cannot be loaded without a terminal: the error says to add
 *    it to one's own agent and give that socket).
 *  - A step never sees the agent's socket or its directory: it gets a
 *    socket of its own, owned uid:gid with the mount's mode (BuildKit's
 *    defaults 0:0 0600), bound at the mount's target, and a relay process
 *    that passes each connection through to the agent while the step runs
 *    (killed after it, and with nbuild).  SSH_AUTH_SOCK is set to the first
 *    ssh mount's target, as BuildKit does.
 * The agent's keys are never part of a cache key: a step is cached as for
 * BuildKit, by its command and mounts. */
#include "builder/build_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define SSH_ID_MAX 64

static bool id_ok(const char *s, size_t n)
{
    if (!n || n > SSH_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

int bld_ssh_check(const char *spec, nr_err *err)
{
    const char *eq = strchr(spec, '=');
    size_t idn = eq ? (size_t)(eq - spec) : strlen(spec);
    if (!id_ok(spec, idn))
        return nr_err_set(err, "--ssh %s: want ID[=SOCKET|KEY[,KEY...]] (ID: letters, digits, '-', '_', '.')", spec);
    if (!eq) {
        const char *s = getenv("SSH_AUTH_SOCK");
        if (strcmp(spec, "default"))
            return nr_err_set(err, "--ssh %s: an ID other than default needs =SOCKET or =KEY", spec);
        if (!s || !*s)
            return nr_err_set(err, "--ssh default: SSH_AUTH_SOCK is not set (start ssh-agent, or give =SOCKET|KEY)");
        eq = "=";
        spec = NULL;
    }
    cleanup_free char *list = nr_xstrdup(spec ? eq + 1 : getenv("SSH_AUTH_SOCK"));
    size_t socks = 0, keys = 0;
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        struct stat st;
        if (stat(p, &st) < 0)
            return nr_err_sys(err, errno, "--ssh: %s", p);
        if (S_ISSOCK(st.st_mode))
            socks++;
        else if (S_ISREG(st.st_mode))
            keys++;
        else
            return nr_err_set(err, "--ssh: %s: neither an agent's socket nor a key file", p);
        if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return nr_err_set(err, "--ssh: %s: the path is too long for a socket", p);
    }
    if (socks + keys == 0)
        return nr_err_set(err, "--ssh %s: no socket or key given", spec ? spec : "default");
    if (socks && (socks > 1 || keys))
        return nr_err_set(err, "--ssh %s: one agent socket, or key files, not both", spec ? spec : "default");
    return 0;
}

/* A child of nbuild, whose signals may be blocked while it builds: as a
 * fresh process would have them (a blocked SIGTERM would keep ssh-agent
 * from ever ending). */
static void child_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

/* The guard of the build's ssh-agent, its parent: ends it when nbuild is
 * gone (its parent-death signal, SIGTERM, or bld_ssh_free's SIGTERM) and
 * ends itself when the agent ends.  ssh-agent is set-group-ID on Debian, so
 * its exec clears a parent-death signal: one set for the agent itself never
 * came, and a killed nbuild left the agent, keys loaded, running. */
static _Noreturn void agent_guard(pid_t nbuild, const char *sock)
{
    child_signals();
    signal(SIGCHLD, SIG_DFL);
    sigset_t wait_for;
    sigemptyset(&wait_for);
    sigaddset(&wait_for, SIGTERM);
    sigaddset(&wait_for, SIGCHLD);
    sigprocmask(SIG_BLOCK, &wait_for, NULL);
    signal(SIGINT, SIG_IGN); /* a terminal's ^C reaches the agent itself */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != nbuild) /* nbuild was gone before the line above */
        _exit(0);
    pid_t ag = fork();
    if (ag < 0)
        _exit(1);
    if (ag == 0) {
        child_signals();
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
        }
        execlp("ssh-agent", "ssh-agent", "-D", "-a", sock, (char *)NULL);
        fprintf(stderr, "nbuild: --ssh: ssh-agent: %s (install openssh-client)\n", strerror(errno));
        _exit(127);
    }
    for (;;) {
        int sig = sigwaitinfo(&wait_for, NULL);
        int ws;
        if (sig == SIGCHLD && waitpid(ag, &ws, WNOHANG) == ag)
            _exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 1);
        if (sig == SIGTERM)
            break;
    }
    kill(ag, SIGTERM); /* ssh-agent removes its socket */
    while (waitpid(ag, NULL, 0) < 0 && errno == EINTR)
        ;
    _exit(0);
}

/* ssh-agent -D -a SOCK (under its guard), then ssh-add KEY...: the build's own agent. */
static int start_agent(bld_state *b, struct bld_ssh *a, const char *keys, nr_err *err)
{
    cleanup_free char *base = nr_xasprintf("%s/ssh", b->cache_dir);
    if (nr_mkdir_p(base, 0700, err) < 0)
        return -1;
    unsigned char r[6];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return nr_err_sys(err, errno, "getrandom");
    a->dir = nr_xasprintf("%s/%d-%02x%02x%02x%02x%02x%02x", base, (int)getpid(), r[0], r[1], r[2], r[3], r[4], r[5]);
    if (mkdir(a->dir, 0700) < 0)
        return nr_err_sys(err, errno, "mkdir %s", a->dir);
    a->sock = nr_xasprintf("%s/agent.sock", a->dir);
    pid_t parent = getpid();
    pid_t p = fork();
    if (p < 0)
        return nr_err_sys(err, errno, "fork");
    if (p == 0)
        agent_guard(parent, a->sock);
    a->agent_pid = p;
    struct stat st;
    for (int i = 0; i < 500 && stat(a->sock, &st) < 0; i++) {
        int ws;
        if (waitpid(p, &ws, WNOHANG) == p) {
            a->agent_pid = 0;
            return nr_err_set(err, "--ssh %s: ssh-agent did not start", a->id);
        }
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    if (stat(a->sock, &st) < 0 || !S_ISSOCK(st.st_mode))
        return nr_err_set(err, "--ssh %s: ssh-agent made no socket", a->id);
    cleanup_free char *list = nr_xstrdup(keys);
    for (char *save = NULL, *k = strtok_r(list, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        pid_t q = fork();
        if (q < 0)
            return nr_err_sys(err, errno, "fork");
        if (q == 0) {
            child_signals();
            int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (nul >= 0) {
                dup2(nul, 0);
                dup2(nul, 1);
                dup2(nul, 2);
            }
            setsid(); /* no terminal: a passphrase is never asked */
            setenv("SSH_AUTH_SOCK", a->sock, 1);
            unsetenv("SSH_ASKPASS");
            unsetenv("DISPLAY");
            execlp("ssh-add", "ssh-add", "-q", "--", k, (char *)NULL); /* a name is never an option */
            _exit(127);
        }
        int ws;
        while (waitpid(q, &ws, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
            return nr_err_set(err,
                              "--ssh %s: ssh-add %s failed (not a private key, or one with a passphrase: add it "
                              "to your own agent and give --ssh %s=$SSH_AUTH_SOCK)",
                              a->id, k, a->id);
    }
    return 0;
}

int bld_ssh_agent(bld_state *b, const char *id, const char **sock, nr_err *err)
{
    *sock = NULL;
    for (size_t i = 0; i < b->n_ssh; i++)
        if (!strcmp(b->ssh[i].id, id)) {
            *sock = b->ssh[i].sock;
            return 0;
        }
    /* the last --ssh of that ID wins */
    long k = bld_spec_find(b->o->ssh, b->o->n_ssh, id, false);
    if (k < 0)
        return 0;
    const char *spec = b->o->ssh[k];
    const char *eq = strchr(spec, '=');
    const char *paths = eq ? eq + 1 : getenv("SSH_AUTH_SOCK");
    if (!paths || !*paths)
        return nr_err_set(err, "--ssh %s: SSH_AUTH_SOCK is not set", id);
    b->ssh = nr_xrealloc(b->ssh, (b->n_ssh + 1) * sizeof *b->ssh);
    struct bld_ssh *a = &b->ssh[b->n_ssh++];
    memset(a, 0, sizeof *a);
    a->id = nr_xstrdup(id);
    struct stat st;
    if (!strchr(paths, ',') && stat(paths, &st) == 0 && S_ISSOCK(st.st_mode)) {
        a->sock = nr_xstrdup(paths);
    } else if (start_agent(b, a, paths, err) < 0) {
        return -1;
    }
    *sock = a->sock;
    return 0;
}

void bld_ssh_free(bld_state *b)
{
    for (size_t i = 0; i < b->n_ssh; i++) {
        struct bld_ssh *a = &b->ssh[i];
        if (a->agent_pid > 0) {
            kill(a->agent_pid, SIGTERM); /* its guard ends the agent, then itself */
            while (waitpid(a->agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        if (a->dir) {
            if (a->sock)
                unlink(a->sock);
            rmdir(a->dir);
        }
        free(a->dir);
        free(a->sock);
        free(a->id);
    }
    free(b->ssh);
    b->ssh = NULL;
    b->n_ssh = 0;
}

/* The agent protocol (draft-miller-ssh-agent): each message is a 4-byte
 * big-endian length, then a type byte and its body; the client asks, the
 * agent answers, one at a time.  A step may list the keys and ask for
 * signatures, as BuildKit's forwarded agent allows, and bind its
 * connection to a host key (OpenSSH's session-bind extension, which ssh
 * sends before it signs and which keys limited to destinations need);
 * adding, removing and locking (which would change or lock the caller's
 * own agent for every other use) and other extensions are answered
 * SSH_AGENT_FAILURE and never reach the agent. */
#define AGENT_MSG_MAX (256u << 10) /* OpenSSH's own limit */
#define AGENT_FAILURE 5
#define AGENT_REQUEST_IDENTITIES 11
#define AGENT_SIGN_REQUEST 13
#define AGENT_EXTENSION 27
#define SESSION_BIND "session-bind@openssh.com"

/* msg: a whole message (header included), n its length */
static bool agent_allowed(const unsigned char *msg, size_t n)
{
    if (msg[4] == AGENT_REQUEST_IDENTITIES || msg[4] == AGENT_SIGN_REQUEST)
        return true;
    size_t name = sizeof SESSION_BIND - 1;
    return msg[4] == AGENT_EXTENSION && n >= 9 + name && msg[5] == 0 && msg[6] == 0 && msg[7] == 0 &&
           msg[8] == name && !memcmp(msg + 9, SESSION_BIND, name);
}

static int read_full(int fd, unsigned char *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One message from fd into buf (header included): its total length, or 0
 * at the end, a short message or one over the limit. */
static size_t agent_msg(int fd, unsigned char *buf)
{
    if (read_full(fd, buf, 4) < 0)
        return 0;
    uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    if (n == 0 || n > AGENT_MSG_MAX || read_full(fd, buf + 4, n) < 0)
        return 0;
    return 4 + (size_t)n;
}

/* One connection: requests the step may make passed to the agent, its
 * answers back, until either side closes. */
static _Noreturn void pass(int c, const char *agent, pid_t relay)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != relay) /* the relay was gone before the line above */
        _exit(0);
    int a = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", agent);
    if (a < 0 || connect(a, (struct sockaddr *)&sa, sizeof sa) < 0)
        _exit(1);
    static unsigned char buf[4 + AGENT_MSG_MAX];
    static const unsigned char failure[] = {0, 0, 0, 1, AGENT_FAILURE};
    for (;;) {
        size_t n = agent_msg(c, buf);
        if (!n)
            _exit(0);
        if (!agent_allowed(buf, n)) {
            if (nr_write_all(c, failure, sizeof failure) < 0)
                _exit(0);
            continue;
        }
        if (nr_write_all(a, buf, n) < 0 || !(n = agent_msg(a, buf)) || nr_write_all(c, buf, n) < 0)
            _exit(0);
    }
}

/* Connections of one step passed at once: more wait in the listen queue
 * (each is a process of the host's, outside the step's pids limit). */
#define SSH_RELAY_CONNS 32

int bld_ssh_relay(const char *agent, const char *path, uid_t uid, gid_t gid, mode_t mode, pid_t *pid, nr_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return nr_err_set(err, "ssh relay %s: the path is too long for a socket", path);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    cleanup_close int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 16) < 0)
        return nr_err_sys(err, errno, "ssh relay %s", path);
    if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0)
        return nr_err_sys(err, errno, "ssh relay %s", path);
    pid_t parent = getpid();
    pid_t p = fork();
    if (p < 0)
        return nr_err_sys(err, errno, "fork");
    if (p == 0) {
        child_signals();
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(0);
        signal(SIGPIPE, SIG_IGN);
        pid_t self = getpid();
        unsigned live = 0;
        /* nothing of nbuild's open files (the store's locks) stays open here */
        if (dup2(l, 3) < 0)
            _exit(1);
        syscall(SYS_close_range, 4, ~0U, 0);
        for (;;) {
            /* the connections' processes that ended; at the cap, wait for one */
            pid_t w = waitpid(-1, NULL, live >= SSH_RELAY_CONNS ? 0 : WNOHANG);
            if (w > 0)
                live--;
            else if (w < 0 && errno == ECHILD)
                live = 0;
            if (w > 0 || live >= SSH_RELAY_CONNS)
                continue;
            int c = accept4(3, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0) {
                if (errno == EINTR || errno == ECONNABORTED)
                    continue;
                _exit(0);
            }
            pid_t q = fork();
            if (q == 0) {
                close(3);
                pass(c, agent, self);
            }
            if (q > 0)
                live++;
            close(c);
        }
    }
    *pid = p;
    return 0;
}
