/* nrun exec [-i] [-t] [-e K=V] [-w DIR] [-u USER[:GROUP]] CONTAINER CMD...
 *
 * Runs CMD in a running container with its identity, capabilities,
 * no_new_privs and seccomp filter (all from its config.json).  The order is
 * the defence (CVE-2019-5736, CVE-2024-21626):
 *
 *   1. re-execute from a sealed memfd copy: no process of ours, in the
 *      container or not, runs the host's nrun file;
 *   2. read what we need from the store (config.json, the seccomp program),
 *      then close every fd but stdio and the container's namespaces;
 *   3. join its cgroups and namespaces ourselves, the mount namespace last
 *      (our root and cwd become the container's root), not dumpable;
 *   4. still outside its pid namespace (no container process can name us):
 *      settle the user from the container's passwd/group and take on its
 *      identity, capabilities, no_new_privs and seccomp filter;
 *   5. only then fork the child the container can see: it has nothing more
 *      than any container process, and no host fd (its stdio are pipes we
 *      relay, or a pty of the container's devpts with -t);
 *   6. the working directory (and /dev/ptmx) are resolved inside the root
 *      without magic links (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS).
 *
 * CMD leads a session of its own: no terminal of the caller's ever reaches
 * it, so it can neither push input into the caller's shell (TIOCSTI) nor
 * read what the user types later. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/util.h"
#include "cli/cli.h"
#include "runtime/runtime.h"

typedef struct exec_opts {
    bool tty, interactive;
    char **env;
    size_t nenv;
    const char *cwd, *user;
    char **cmd;
} exec_opts;

static __attribute__((noreturn)) void die(const char *what, int e)
{
    if (e)
        dprintf(2, "nrun exec: %s: %s\n", what, strerror(e));
    else
        dprintf(2, "nrun exec: %s\n", what);
    _exit(NR_EXIT_CMD);
}

/* /etc/passwd or /etc/group of the container: a regular file of at most
 * 4 MiB, never a FIFO that would block; NULL when there is none. */
static char *read_ctr_file(const char *path)
{
    cleanup_close int fd = rt_open_in_root(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    char *text = NULL;
    nr_err ign;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || nr_read_fd(fd, 4u << 20, &text, NULL, &ign) < 0)
        return NULL;
    return text;
}

/* chdir to the working directory, resolved inside the container as the
 * user that will run CMD (a directory it cannot search is its error). */
static void enter_cwd(const char *cwd)
{
    if (rt_chdir_in_root(cwd) < 0) {
        int e = errno;
        cleanup_free char *what =
            nr_xasprintf(e == ELOOP ? "working directory %s: a link that leads out of the container (or a loop)"
                                    : "working directory %s",
                         cwd);
        die(what, e == ELOOP ? 0 : e);
    }
}

/* 4: who runs CMD, settled here, before the child the container can see
 * exists: its user from the container's own passwd/group (regular files,
 * opened without blocking or following a magic link), rlimits, then our
 * own identity, capabilities, no_new_privs and seccomp filter become the
 * container's.  The child is born with nothing more than any container
 * process has: a container process that catches it (CAP_SYS_PTRACE, a
 * FIFO where it opens a file) gains nothing. */
static int take_identity(rt_spec *s, const exec_opts *o, void *prog, nr_err *err)
{
    if (o->user) {
        cleanup_free char *passwd = read_ctr_file("/etc/passwd"), *group = read_ctr_file("/etc/group");
        rt_user u;
        if (rt_user_resolve(o->user, passwd, group, &u, err) < 0)
            return -1;
        free(s->groups);
        s->uid = u.uid;
        s->gid = u.gid;
        s->groups = u.groups;
        s->ngroups = u.ngroups;
    }
    if (rt_rlimits_apply(s, err) < 0)
        return -1;
    /* without no_new_privs, installing the filter needs CAP_SYS_ADMIN: now */
    if (!s->no_new_privs && rt_seccomp_load(prog, err) < 0)
        return -1;
    if (rt_bounding_drop(s->caps, err) < 0 || rt_user_switch(s, err) < 0 || rt_security_exec(s, s->uid, err) < 0)
        return -1;
    /* and the filter, so the child is born confined (we relay and wait:
     * poll, read, write, wait4, kill, recvmsg, ioctl on the caller's tty) */
    if (s->no_new_privs && rt_seccomp_load(prog, err) < 0)
        return -1;
    return 0;
}

/* The pty, made in the container's own devpts: /dev/ptmx resolved in the
 * root (no magic link) and checked to be the ptmx device, the slave opened
 * through the master (TIOCGPTPEER), never by a name the container chose. */
static int open_pty(int sock)
{
    int m = rt_open_in_root("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (m < 0 || fstat(m, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2)
        die("/dev/ptmx in the container is not the pty multiplexer", m < 0 ? errno : 0);
    int fl = fcntl(m, F_GETFL);
    if (fl < 0 || fcntl(m, F_SETFL, fl & ~O_NONBLOCK) < 0 || unlockpt(m) < 0)
        die("open /dev/ptmx in the container", errno);
    int sl = ioctl(m, TIOCGPTPEER, O_RDWR | O_CLOEXEC);
    if (sl < 0 || ioctl(sl, TIOCSCTTY, 0) < 0)
        die("open pty", errno);
    if (rt_send_fd(sock, m) < 0)
        die("pass pty", errno);
    close(m);
    return sl;
}

/* The process the container sees: forked inside every namespace of the
 * container with its privileges and seccomp filter only, holding no fd of
 * the host: its stdio are pipes to us (or a pty of the container), never
 * the caller's. */
static __attribute__((noreturn)) void child(rt_spec *s, const exec_opts *o, int sock, int io[3])
{
    /* A session of its own, as PID 1 has: no controlling tty but ours. */
    if (setsid() < 0)
        die("setsid", errno);
    if (o->tty) {
        int sl = open_pty(sock);
        if (dup2(sl, 0) < 0 || dup2(sl, 1) < 0 || dup2(sl, 2) < 0)
            die("dup2", errno);
        close(sl);
    } else {
        for (int i = 0; i < 3; i++)
            if (dup2(io[i], i) < 0)
                die("dup2", errno);
    }
    enter_cwd(o->cwd ? o->cwd : s->cwd);
    /* the container's env, each -e replacing a variable of the same name
     * (getenv takes the first: an appended duplicate would not count), and
     * TERM for a terminal */
    size_t n = 0;
    while (s->env[n])
        n++;
    char **env = nr_xcalloc(n + o->nenv + 2, sizeof(char *));
    if (n)
        memcpy(env, s->env, n * sizeof(char *));
    const char *adds[o->nenv + 1];
    size_t na = 0;
    for (size_t k = 0; k < o->nenv; k++)
        adds[na++] = o->env[k];
    if (o->tty)
        adds[na++] = "TERM=xterm";
    for (size_t k = 0; k < na; k++) {
        size_t klen = strcspn(adds[k], "=");
        size_t j = 0;
        while (j < n && !(strncmp(env[j], adds[k], klen) == 0 && env[j][klen] == '='))
            j++;
        if (j < n && k == na - 1 && o->tty && !strcmp(adds[k], "TERM=xterm"))
            continue; /* the container's own TERM stays */
        env[j] = (char *)adds[k];
        if (j == n)
            n++;
    }
    extern char **environ;
    environ = env;
    rt_close_fds_except(NULL, 0);
    execvp(o->cmd[0], o->cmd);
    int err = errno;
    dprintf(2, "nrun exec: %s: %s\n", o->cmd[0], strerror(err));
    _exit(err == ENOENT ? NR_EXIT_NOTFOUND : NR_EXIT_NOEXEC);
}

/* Without -t: copy the caller's stdin (with -i) to the child and its
 * output back, forward signals, and return its exit code once it has
 * exited (what it left running may hold the pipes: we do not wait for it). */
static int relay_pipes(pid_t pid, int in_w, int out_r, int err_r)
{
    sigset_t set;
    sigfillset(&set);
    static const int keep[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE};
    for (size_t i = 0; i < NR_ARRAY_LEN(keep); i++)
        sigdelset(&set, keep[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    int code = -1, st;
    /* a SIGCHLD that came before we blocked it is gone: ask once */
    if (waitpid(pid, &st, WNOHANG) == pid)
        code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    int out[2] = {out_r, err_r};
    char buf[16384];
    /* stdin goes to the child without ever blocking us: a child that does
     * not read it must not stop its output or the signals we forward */
    char in[16384];
    size_t in_len = 0, in_off = 0;
    bool in_eof = false;
    if (in_w >= 0)
        fcntl(in_w, F_SETFL, fcntl(in_w, F_GETFL) | O_NONBLOCK);
    while (code < 0 || out[0] >= 0 || out[1] >= 0) {
        struct pollfd p[5] = {{.fd = in_w >= 0 && !in_eof && in_len == 0 ? 0 : -1, .events = POLLIN},
                              {.fd = out[0], .events = POLLIN},
                              {.fd = out[1], .events = POLLIN},
                              {.fd = code < 0 ? sfd : -1, .events = POLLIN},
                              {.fd = in_w >= 0 && in_len > 0 ? in_w : -1, .events = POLLOUT}};
        /* once it has exited, only what is already in the pipes is copied */
        int r = poll(p, 5, code < 0 ? -1 : 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (p[3].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGCHLD)
                kill(pid, (int)si.ssi_signo);
            if (waitpid(pid, &st, WNOHANG) == pid)
                code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        for (int k = 0; k < 2; k++) {
            if (!p[1 + k].revents)
                continue;
            ssize_t n = read(out[k], buf, sizeof buf);
            if (n > 0 && nr_write_all(1 + k, buf, (size_t)n) == 0)
                continue;
            if (n < 0 && errno == EINTR)
                continue;
            close(out[k]);
            out[k] = -1;
        }
        if (p[0].revents) {
            ssize_t n = read(0, in, sizeof in);
            if (n > 0) {
                in_len = (size_t)n;
                in_off = 0;
            } else if (n == 0 || errno != EINTR) {
                in_eof = true;
            }
        }
        if (p[4].revents && in_w >= 0) {
            ssize_t n = write(in_w, in + in_off, in_len - in_off);
            if (n > 0) {
                in_off += (size_t)n;
                if (in_off == in_len)
                    in_len = in_off = 0;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                in_len = in_off = 0; /* it closed its stdin: what it did not read is dropped */
                in_eof = true;
            }
        }
        if (in_eof && in_len == 0 && in_w >= 0) {
            close(in_w);
            in_w = -1;
        }
    }
    if (in_w >= 0)
        close(in_w);
    if (code < 0) {
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return code;
}

/* Once we have joined the container's namespaces, a normal return would
 * run exit-time tools (LeakSanitizer's tracer thread would be cloned into
 * the container's pid namespace and hang): report and leave at once. */
static __attribute__((noreturn)) void leave(const nr_err *err, const char *prog)
{
    int code = nr_err_report(err, prog, NR_EXIT_CMD);
    fflush(NULL);
    _exit(code);
}

/* 2: everything exec needs from the store and the host, then nothing of
 * them open: the spec and seccomp program in memory, the container's
 * namespaces as fds (pid last), and we are in its cgroups and not dumpable. */
static int exec_prepare(const char *root, const char *ref, rt_spec *spec, void **prog, int nsfd[6], nr_err *err)
{
    char id[65];
    rt_state st;
    if (rt_container_state(root, ref, id, &st, err) < 0)
        return -1;
    int r = -1;
    bool have_spec = false;
    for (int k = 0; k < 6; k++)
        nsfd[k] = -1;
    if (strcmp(rt_state_live_status(&st), "running")) {
        nr_err_set(err, "container %s is not running", ref);
        goto out;
    }
    if (rt_state_paused(&st)) { /* docker's words */
        nr_err_set(err, "Container %s is paused, unpause the container before exec", id);
        goto out;
    }
    {
        cleanup_free char *dir = rt_ctr_dir(root, id);
        cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
            nr_err_sys(err, errno, "open %s", dir);
            goto out;
        }
        if (rt_spec_load(dfd, "config.json", spec, err) < 0)
            goto out;
        have_spec = true;
        cleanup_free char *cache = nr_xasprintf("%s/cache", root);
        cleanup_close int cfd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (spec->seccomp_json && rt_seccomp_prepare(spec->seccomp_json, cfd, prog, err) < 0)
            goto out;
    }
    static const char *const names[] = {"ipc", "uts", "net", "cgroup", "mnt", "pid"};
    for (int k = 0; k < 6; k++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)st.pid, names[k]);
        nsfd[k] = open(path, O_RDONLY | O_CLOEXEC);
    }
    /* opened, then re-checked: the pid must still be the container's init */
    if (nsfd[4] < 0 || nsfd[5] < 0 || !rt_pid_alive(st.pid, st.start_time)) {
        nr_err_set(err, "container %s is not running", ref);
        goto out;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
        nr_err_sys(err, errno, "PR_SET_DUMPABLE");
        goto out;
    }
    /* the cgroups while their host paths are in reach; we stay outside
     * the container's pid namespace, so its processes cannot name us */
    rt_cgroup cg;
    rt_cgroup_from_json(st.cgroups, &cg);
    int c = rt_cgroup_add(&cg, 0, err);
    rt_cgroup_free(&cg);
    if (c < 0)
        goto out;
    r = 0;
out:
    rt_state_free(&st);
    if (r < 0) {
        for (int k = 0; k < 6; k++)
            if (nsfd[k] >= 0)
                close(nsfd[k]);
        if (have_spec)
            rt_spec_free(spec);
        free(*prog);
        *prog = NULL;
        return r;
    }
    /* no fd of the host survives into the container's namespaces */
    int keep[6];
    memcpy(keep, nsfd, sizeof keep);
    rt_close_fds_except(keep, 6);
    return 0;
}

int nr_cmd_exec(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"interactive", 'i', no_argument, NULL, "keep stdin open for the command"},
        {"tty", 't', no_argument, NULL, "a pty in the container's devpts"},
        {"env", 'e', required_argument, "K=V", "set an environment variable (-e K: the caller's value)"},
        {"workdir", 'w', required_argument, "/DIR", "working directory inside the container"},
        {"user", 'u', required_argument, "USER[:GROUP]", "run as this user (name or uid) of the container"},
        {0},
    };
    static const nr_cmdspec cmd = {"exec [OPTIONS] CONTAINER CMD [ARG...]",
                                    "Run a command in a running container (its namespaces, cgroup, seccomp and "
                                    "capabilities).", opts, false};
    exec_opts o = {0};
    int c;
    while ((c = nr_opt_next(&cmd, argc, argv, g)) != -1) {
        const char *v = optarg;
        switch (c) {
        case 'i': o.interactive = true; break;
        case 't': o.tty = true; break;
        case 'e': {
            if (!*v || *v == '=')
                return nr_usage_error(g, "exec: -e %s: expected NAME=VALUE or NAME", v);
            const char *kv = v;
            if (!strchr(kv, '=')) { /* -e NAME: the caller's value, if it has one (docker's rule) */
                const char *ev = getenv(kv);
                if (!ev)
                    break;
                kv = nr_xasprintf("%s=%s", kv, ev); /* lives until exec */
            }
            o.env = nr_xrealloc(o.env, (o.nenv + 1) * sizeof(char *));
            o.env[o.nenv++] = (char *)kv;
            break;
        }
        case 'w':
            if (v[0] != '/')
                return nr_usage_error(g, "exec: -w %s: the working directory must be an absolute path", v);
            o.cwd = v;
            break;
        case 'u':
            if (!*v || strlen(v) >= 256 || strpbrk(v, "\n/"))
                return nr_usage_error(g, "exec: -u %s: expected USER[:GROUP]", v);
            o.user = v;
            break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    int i = optind;
    if (i + 1 >= argc)
        return nr_usage_error(g, "exec: usage: exec [OPTIONS] CONTAINER CMD...");
    nr_err err = {0};
    /* 1: from here on we run from a sealed copy (back to main() once) */
    if (rt_reexec_sealed(&err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    o.cmd = argv + i + 1;
    rt_spec spec;
    void *prog = NULL;
    int nsfd[6]; /* ipc uts net cgroup mnt, then pid: the order we join them */
    if (exec_prepare(g->root, argv[i], &spec, &prog, nsfd, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    /* the container's --oom-score-adj, as its other processes have it (the
     * host's /proc: before we enter) */
    if (spec.oom_score_adj_set && rt_oom_score_adj_apply(spec.oom_score_adj, &err) < 0)
        leave(&err, "nrun exec");
    /* 3: setns(CLONE_NEWNS) makes our root and cwd the container's root;
     * setns(CLONE_NEWPID) only places the child we fork next */
    static const int types[] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWNS, CLONE_NEWPID};
    static const char *const tnames[] = {"ipc", "uts", "network", "cgroup", "mount", "pid"};
    for (int k = 0; k < 6; k++) {
        if (nsfd[k] >= 0 && setns(nsfd[k], types[k]) < 0) {
            nr_err_sys(&err, errno, "join the %s namespace of %s", tnames[k], argv[i]);
            leave(&err, g->prog);
        }
        if (nsfd[k] >= 0)
            close(nsfd[k]);
    }
    if (take_identity(&spec, &o, prog, &err) < 0)
        leave(&err, "nrun exec");
    /* the child's stdio: a pty of the container (-t), else pipes to us */
    int sp[2] = {-1, -1}, pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    if ((o.tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) ||
        (!o.tty && (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0))) {
        nr_err_sys(&err, errno, "pipe");
        leave(&err, g->prog);
    }
    fflush(NULL);
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t pid = fork();
    if (pid < 0) {
        nr_err_sys(&err, errno, "fork");
        leave(&err, g->prog);
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int io[3] = {pin[0], pout[1], perr[1]};
        child(&spec, &o, sp[1], io);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    int code;
    if (o.tty) {
        rt_forward_block();
        close(sp[1]);
        int master = rt_recv_fd(sp[0]);
        close(sp[0]);
        if (master >= 0) {
            rt_tty_relay(master, pid, NULL); /* exec -t: not the container's log, as docker's */
            close(master);
        }
        int s2;
        waitpid(pid, &s2, 0);
        code = WIFEXITED(s2) ? WEXITSTATUS(s2) : 128 + WTERMSIG(s2);
    } else {
        close(pin[0]);
        close(pout[1]);
        close(perr[1]);
        if (!o.interactive) {
            close(pin[1]); /* stdin at its end, as /dev/null would be */
            pin[1] = -1;
        }
        code = relay_pipes(pid, pin[1], pout[0], perr[0]);
    }
    rt_spec_free(&spec);
    free(prog);
    free(o.env);
    /* We joined the container's pid namespace: exit-time tools that clone
     * threads (LeakSanitizer's tracer) would land there and hang.  Leave now. */
    fflush(NULL);
    _exit(code);
}
