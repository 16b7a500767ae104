/* Launch a container from containers/<id>/config.json.
 *
 * Parent (host side)                      Child (clone: new mnt/pid/ipc/uts/net ns)
 *   load spec, compile seccomp (cached)
 *   create cgroups,
 *   open logs/ and control.sock,
 *   open PID 1's program (init_exe.c)
 *   clone ───────────────────────────────►  join the cgroups (itself: fast),
 *                                            unshare cgroup ns, hostname, lo up,
 *                                            overlay + mounts, pivot_root,
 *                                            --sysctl, masked paths, rlimits, setsid,
 *                                            close every other fd,
 *                                            exec nrun-init (config in a memfd)
 *                                            └ privileges, non-dumpable
 *   CNI ADD (net.c) into its netns ────────►  waits for the network's /etc lines
 *                                            (only with a network of nrun's)
 *   wait for "OK" or an error line ◄──────  "OK", then the supervisor as PID 1
 *
 * The child reports a setup failure as one line on the sync pipe; the parent
 * turns it into its error and removes the cgroups.  PID 1 is a fresh static
 * program, not this process: it holds none of nrun's libraries or memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/net.h"
#include "runtime/runtime.h"
#include "runtime/init/initcfg.h"
#include "runtime/supervisor/supervisor.h"
#include "runtime/supervisor/options.h"

typedef struct launch_ctx {
    rt_spec spec;
    void *seccomp_prog;
    int join_fd; /* --network container:ID: that container's network namespace, joined by the child */
    int net_fd; /* the child reads the network's /etc lines here, then goes on (-1: no network to wait for) */
    int log_fd, control_fd;
    const rt_cgroup *cg; /* the child puts itself in these (see rt_cgroup_add) */
    int init_fd; /* PID 1's program (init_exe.c), executed once the root is in place */
    bool minimal_init; /* NRUN_MINIMAL_INIT=1: pid1.c instead of the supervisor (measurements) */
} launch_ctx;

char *rt_ctr_dir(const char *root, const char *id)
{
    return nr_xasprintf("%s/containers/%s", root, id);
}

static int open_control(int ctrfd, const char *dir, nr_err *err)
{
    cleanup_free char *path = nr_xasprintf("%s/control.sock", dir);
    struct sockaddr_un sa;
    cleanup_close int keep = -1;
    if (nr_unix_addr(path, &sa, &keep, err) < 0)
        return -1;
    unlinkat(ctrfd, "control.sock", 0);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nr_err_sys(err, errno, "socket");
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r < 0 || fchmodat(ctrfd, "control.sock", 0600, 0) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return nr_err_sys(err, e, "control socket %s", path);
    }
    return fd;
}

/* The logs dir as PID 1 gets it: the root of a detached clone of its mount,
 * not a plain directory fd.  A container process given CAP_SYS_PTRACE can
 * open /proc/1/fd/N, and `..` from a plain fd walks up into the host's store
 * and on to / (CVE-2024-21626); `..` from the root of a detached mount stays
 * in it.  An O_PATH fd: openat, renameat and unlinkat take it as dirfd (no
 * getdents: reopen "." for that).  The mount goes with the last fd, PID 1's. */
static int open_logs(int dfd, const char *dir, nr_err *err)
{
    if (mkdirat(dfd, "logs", 0700) < 0 && errno != EEXIST)
        return nr_err_sys(err, errno, "mkdir %s/logs", dir);
    int fd = (int)syscall(SYS_open_tree, dfd, "logs", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
    if (fd < 0)
        return nr_err_sys(err, errno, "detached mount of %s/logs", dir);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
        close(fd);
        return nr_err_sys(err, ENOTDIR, "open %s/logs", dir);
    }
    return fd;
}

static int lo_up(nr_err *err)
{
    cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return nr_err_sys(err, errno, "socket");
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return nr_err_sys(err, errno, "get lo flags");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return nr_err_sys(err, errno, "bring lo up");
    return 0;
}

/* The network namespace of running container `id`, checked to be its init's still. */
static int join_open(const char *root, const char *id, nr_err *err)
{
    rt_state st;
    if (rt_state_read(root, id, &st, err) < 0)
        return nr_err_wrap(err, "--network container:%.12s", id);
    int fd = -1;
    if (!strcmp(rt_state_live_status(&st), "running")) {
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/ns/net", (int)st.pid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && !rt_pid_alive(st.pid, st.start_time)) {
            close(fd);
            fd = -1;
        }
    }
    rt_state_free(&st);
    return fd >= 0 ? fd : nr_err_set(err, "--network container:%.12s: the container is not running", id);
}

static __attribute__((noreturn)) void child_fail(int fd, const nr_err *e)
{
    dprintf(fd, "E%s", e->msg);
    _exit(NR_EXIT_CMD);
}

/* Become PID 1: execute nrun-init with its configuration in a memfd.  It
 * sets PID 1's privileges, says "OK" on the sync pipe and runs the supervisor. */
static __attribute__((noreturn)) void exec_init(launch_ctx *c, int sync_fd, const rt_launch_io *io)
{
    nr_err e = {0};
    rt_spec *s = &c->spec;
    rt_initcfg ic;
    memset(&ic, 0, sizeof ic);
    sv_config_init(&ic.sv);
    ic.sv.argv = s->args;
    ic.sv.envp = s->env;
    ic.sv.cwd = s->cwd;
    ic.sv.uid = s->uid;
    ic.sv.gid = s->gid;
    ic.sv.groups = s->groups;
    ic.sv.ngroups = s->ngroups;
    ic.sv.mode = (enum sv_mode)s->sv_mode;
    ic.sv.balance = (enum sv_balance)s->sv_balance;
    ic.sv.workers = s->sv_workers;
    ic.sv.log_dir_fd = c->log_fd;
    ic.sv.echo_stdio = io->echo_stdio;
    ic.sv.pass_stdin = io->pass_stdin;
    ic.sv.control_fd = c->control_fd;
    ic.sv.runtime_dir = RT_CTR_RUN_DIR;
    ic.sv.stop_signal = s->stop_signal;
    for (size_t i = 0; i < s->nsv_opts; i++) {
        /* checked when config.json was read: apply cannot fail here */
        cleanup_free char *opt = nr_xstrdup(s->sv_opts[i]);
        char *eq = strchr(opt, '=');
        *eq = 0;
        if (sv_opt_apply(&ic.sv, opt, eq + 1, &e) < 0)
            child_fail(sync_fd, &e);
    }
    ic.caps = s->caps;
    ic.nnp = s->no_new_privs;
    ic.minimal = c->minimal_init;
    ic.lockdown = true;
    const void *bpf;
    ic.bpf_len = rt_seccomp_bytes(c->seccomp_prog, &bpf);
    ic.bpf = (unsigned char *)bpf;
    char *envp[] = {NULL};
    rt_init_exec(c->init_fd, &ic, sync_fd, envp, &e); /* returns only on failure */
    child_fail(sync_fd, &e);
}

int rt_oom_score_adj_apply(int adj, nr_err *err)
{
    char v[16];
    int n = snprintf(v, sizeof v, "%d", adj);
    cleanup_close int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, v, (size_t)n) != n)
        return nr_err_sys(err, errno, "--oom-score-adj %d: write /proc/self/oom_score_adj", adj);
    return 0;
}

static __attribute__((noreturn)) void child_main(launch_ctx *c, int sync_fd, const rt_launch_io *io)
{
    nr_err e = {0};
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* the parent may block or catch signals it forwards: start clean */
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGCHLD, SIGPIPE};
    for (size_t i = 0; i < NR_ARRAY_LEN(sigs); i++)
        signal(sigs[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* join the cgroups first (still single-threaded, before the cgroup
     * namespace is made, nothing run yet): the fast way, see rt_cgroup_add */
    if (rt_cgroup_add(c->cg, 0, &e) < 0)
        child_fail(sync_fd, &e);
    rt_spec *s = &c->spec;
    if (unshare(CLONE_NEWCGROUP) < 0) {
        nr_err_sys(&e, errno, "unshare cgroup namespace");
        child_fail(sync_fd, &e);
    }
    if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0) {
        nr_err_sys(&e, errno, "sethostname");
        child_fail(sync_fd, &e);
    }
    if (s->domainname && *s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0) {
        nr_err_sys(&e, errno, "setdomainname");
        child_fail(sync_fd, &e);
    }
    /* --oom-score-adj: inherited by every process the container starts */
    if (s->oom_score_adj_set && rt_oom_score_adj_apply(s->oom_score_adj, &e) < 0)
        child_fail(sync_fd, &e);
    if (c->join_fd >= 0) {
        if (setns(c->join_fd, CLONE_NEWNET) < 0) {
            nr_err_sys(&e, errno, "join the network namespace of container %.12s", s->net_join);
            child_fail(sync_fd, &e);
        }
        close(c->join_fd);
        c->join_fd = -1;
    }
    if (s->ns_net && s->net_lo_up && lo_up(&e) < 0)
        child_fail(sync_fd, &e);
    if (c->net_fd >= 0) {
        /* the parent attaches our namespace to the networks (CNI ADD) and
         * sends the /etc/hosts and resolv.conf lines they give; EOF without
         * them: it failed, and reports it itself */
        char *text = NULL;
        size_t len = 0;
        if (nr_read_fd(c->net_fd, 1 << 16, &text, &len, &e) < 0 || len == 0 || !memchr(text, 0, len))
            _exit(NR_EXIT_CMD);
        close(c->net_fd);
        c->net_fd = -1;
        s->net_etc = nr_xmalloc(len + 1);
        memcpy(s->net_etc, text, len);
        s->net_etc[len] = 0;
        free(text);
    }
    /* --sysctl between the two: the container's /proc/sys, still writable */
    if (rt_mounts_setup(s, &e) < 0 || rt_sysctls_apply(s, &e) < 0 || rt_mounts_finish(s, &e) < 0 ||
        rt_rlimits_apply(s, &e) < 0)
        child_fail(sync_fd, &e);
    if (setsid() < 0) {
        nr_err_sys(&e, errno, "setsid");
        child_fail(sync_fd, &e);
    }
    int fds[3] = {io->stdin_fd, io->stdout_fd, io->stderr_fd};
    if (s->terminal && io->console_sock >= 0) {
        /* after pivot_root and setsid: a pty of the container's own devpts */
        int sl = rt_pty_open_slave(io->console_sock, &e);
        if (sl < 0)
            child_fail(sync_fd, &e);
        fds[0] = fds[1] = fds[2] = sl;
        /* an interactive session is one process on a terminal: the minimal
         * init, not the supervisor, whose workers talk through pipes */
        c->minimal_init = true;
    }
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0 && dup2(fds[i], i) < 0) {
            nr_err_sys(&e, errno, "dup2 stdio");
            child_fail(sync_fd, &e);
        }
    /* CVE-2024-21626: nothing of the host stays open but what we pass on purpose. */
    int keep[260];
    size_t nk = 0;
    keep[nk++] = sync_fd;
    if (c->log_fd >= 0)
        keep[nk++] = c->log_fd;
    if (c->control_fd >= 0)
        keep[nk++] = c->control_fd;
    keep[nk++] = c->init_fd;
    rt_close_fds_except(keep, nk);
    /* the host's supplementary groups of the caller must not reach the container */
    if (rt_setgroups(s->ngroups, s->groups) < 0) {
        nr_err_sys(&e, errno, "setgroups");
        child_fail(sync_fd, &e);
    }
    exec_init(c, sync_fd, io);
}

size_t rt_sync_read(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    ssize_t n;
    while (got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    return got;
}

static void ctx_free(launch_ctx *c)
{
    if (c->log_fd >= 0)
        close(c->log_fd);
    if (c->control_fd >= 0)
        close(c->control_fd);
    if (c->init_fd >= 0)
        close(c->init_fd);
    if (c->join_fd >= 0)
        close(c->join_fd);
    free(c->seccomp_prog);
    rt_spec_free(&c->spec);
}

int rt_launch(const char *root, const char *id, const rt_launch_io *io, rt_proc *p, nr_err *err)
{
    memset(p, 0, sizeof *p);
    launch_ctx c = {.log_fd = -1, .control_fd = -1, .init_fd = -1, .net_fd = -1, .join_fd = -1, .minimal_init = getenv("NRUN_MINIMAL_INIT") != NULL};
    cleanup_free char *dir = rt_ctr_dir(root, id);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    if (rt_spec_load(dfd, "config.json", &c.spec, err) < 0)
        return nr_err_wrap(err, "%s", dir);
    int r = -1;
    if (c.spec.seccomp_json) {
        cleanup_free char *cache = nr_xasprintf("%s/cache", root);
        mkdir(cache, 0700); /* owner-only, as img_store_open makes it */
        cleanup_close int cfd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rt_seccomp_prepare(c.spec.seccomp_json, cfd, &c.seccomp_prog, err) < 0)
            goto out;
    }
    if (c.spec.net_join && (c.join_fd = join_open(root, c.spec.net_join, err)) < 0)
        goto out;
    c.log_fd = open_logs(dfd, dir, err);
    if (c.log_fd < 0)
        goto out;
    c.control_fd = open_control(dfd, dir, err);
    if (c.control_fd == -1)
        goto out;
    if (c.control_fd < 0)
        c.control_fd = -1;
    c.init_fd = rt_init_exe(err);
    if (c.init_fd < 0)
        goto out;
    if (rt_cgroup_create(id, &c.spec, &p->cg, err) < 0)
        goto out;

    c.cg = &p->cg;
    rt_timing("cgroups+ports+seccomp ready");
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) < 0) {
        nr_err_sys(err, errno, "pipe");
        goto out_cg;
    }
    int netp[2] = {-1, -1};
    if (c.spec.networks && pipe2(netp, O_CLOEXEC) < 0) {
        nr_err_sys(err, errno, "pipe");
        close(sync[0]), close(sync[1]);
        goto out_cg;
    }
    c.net_fd = netp[0];
    unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    if (c.spec.ns_net)
        flags |= CLONE_NEWNET;
    fflush(NULL);
    rt_timing("clone");
    pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0) {
        close(sync[0]);
        if (netp[1] >= 0)
            close(netp[1]);
        child_main(&c, sync[1], io);
    }
    close(sync[1]);
    if (netp[0] >= 0)
        close(netp[0]);
    c.net_fd = -1;
    if (pid < 0) {
        nr_err_sys(err, errno, "clone");
        close(sync[0]);
        if (netp[1] >= 0)
            close(netp[1]);
        goto out_cg;
    }
    if (c.spec.networks) {
        /* CNI ADD into the child's namespace while it waits for the lines */
        rt_timing("network attach");
        cleanup_free char *etc = NULL;
        rt_net_port *np = nr_xcalloc(c.spec.nports + 1, sizeof *np);
        for (size_t i = 0; i < c.spec.nports; i++) {
            snprintf(np[i].host_ip, sizeof np[i].host_ip, "%s", c.spec.ports[i].addr);
            np[i].host_port = c.spec.ports[i].host_port;
            np[i].ctr_port = c.spec.ports[i].ctr_port;
            np[i].udp = c.spec.ports[i].udp;
        }
        const char *hn = c.spec.hostname && *c.spec.hostname ? c.spec.hostname : id;
        int ar = rt_net_attach(root, id, pid, c.spec.networks, hn, np, c.spec.nports, &etc, &p->port_hold,
                               &p->nport_hold, err);
        free(np);
        if (ar == 0) {
            size_t hl = strlen(etc);
            if (nr_write_all(netp[1], etc, hl + 1 + strlen(etc + hl + 1)) < 0)
                ar = nr_err_sys(err, errno, "pass the network's /etc lines to the container");
        }
        close(netp[1]);
        p->net_root = nr_xstrdup(root);
        p->net_id = nr_xstrdup(id);
        if (ar < 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            close(sync[0]);
            goto out_cg;
        }
        rt_timing("network attached");
    }
    char msg[1100];
    size_t got = rt_sync_read(sync[0], msg, sizeof msg);
    if (got < 2 || strncmp(msg, "OK", 2)) {
        int st;
        waitpid(pid, &st, 0);
        if (msg[0] == 'E')
            nr_err_set(err, "container setup: %s", msg + 1);
        else
            nr_err_set(err, "container setup: init exited (status %d)", st);
        goto out_cg;
    }
    rt_timing("container init running");
    p->pid = pid;
    p->start_time = rt_pid_start_time(pid);
    r = 0;
    goto out;
out_cg:
    rt_launch_cleanup(p); /* the cgroups, and the networks when attached */
out:
    ctx_free(&c);
    return r;
}

void rt_launch_cleanup(rt_proc *p)
{
    if (p->net_id) {
        rt_net_detach(p->net_root, p->net_id);
        free(p->net_root);
        free(p->net_id);
        p->net_root = p->net_id = NULL;
    }
    for (size_t i = 0; i < p->nport_hold; i++)
        close(p->port_hold[i]);
    free(p->port_hold);
    p->port_hold = NULL;
    p->nport_hold = 0;
    nr_err ign;
    rt_cgroup_destroy(&p->cg, &ign);
    rt_cgroup_free(&p->cg);
}
