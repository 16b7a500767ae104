/* Running a created container: the launch / wait / record / restart loop,
 * in the foreground (signals forwarded, the app's exit code returned) or in
 * a small detached monitor process that records the exit status and time in
 * state.json and applies --restart.  `nrun stop` leaves a "stopping" mark so
 * a stopped container is not restarted. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/alert.h"
#include "runtime/create.h"
#include "runtime/net.h"
#include "runtime/runtime.h"
#include "runtime/events.h"

static int container_remove(const char *root, const char *id, bool background, nr_err *err);

int rt_restart_parse(const char *s, rt_restart *out, nr_err *err)
{
    memset(out, 0, sizeof *out);
    if (!s || !strcmp(s, "no"))
        return 0;
    if (!strcmp(s, "always") || !strcmp(s, "unless-stopped")) {
        out->policy = RT_RESTART_ALWAYS;
        return 0;
    }
    if (!strncmp(s, "on-failure", 10) && (s[10] == 0 || s[10] == ':')) {
        out->policy = RT_RESTART_ON_FAILURE;
        if (s[10] == ':') {
            char *end;
            long n = strtol(s + 11, &end, 10);
            if (*end || end == s + 11 || n < 0 || n > 1000000)
                return nr_err_set(err, "--restart %s: bad retry count", s);
            out->max = (int)n;
        }
        return 0;
    }
    return nr_err_set(err, "--restart %s: expected no, on-failure[:N], always or unless-stopped", s);
}

static bool stop_requested(const char *root, const char *id)
{
    cleanup_free char *p = nr_xasprintf("%s/containers/%s/stopping", root, id);
    return access(p, F_OK) == 0;
}

static int wait_plain(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 255;
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

/* A detached container: wait for its exit on a pidfd, polling the --alert
 * rules and the HEALTHCHECK status (health_status events) every second
 * meanwhile. */
static int wait_alerting(pid_t pid, rt_alerts *a, const rt_cgroup *cg)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (pfd >= 0)
                close(pfd);
            rt_alerts_poll(a, cg); /* an OOM kill that ended it */
            return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
        }
        if (r < 0 && errno != EINTR) {
            if (pfd >= 0)
                close(pfd);
            return 255;
        }
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            if (poll(&p, 1, 1000) > 0)
                continue;
        } else {
            sleep(1);
        }
        rt_alerts_poll(a, cg);
    }
}

/* the foreground monitor's poll: health_status events (no --alert rules) */
struct fg_tick {
    rt_alerts *a;
    const rt_cgroup *cg;
};

static void fg_poll(void *arg)
{
    struct fg_tick *t = arg;
    rt_alerts_poll(t->a, t->cg);
}

/* the launched child shares the lock's open file: unlock, not just close */
static void ctr_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* notify_fd >= 0: report the first start ("OK" or "E<message>") there. */
static int run_loop(const char *root, const char *id, const rt_launch_io *io, const rt_run_params *rp, bool fg,
                    int notify_fd, nr_err *err)
{
    int restarts = 0, code = NR_EXIT_CMD;
    cleanup_free char *stopping = nr_xasprintf("%s/containers/%s/stopping", root, id);
    unlink(stopping);
    for (;;) {
        rt_proc p;
        rt_state st;
        if (fg)
            rt_forward_block(); /* a signal between launch and wait is queued, not fatal */
        int sp[2] = {-1, -1};
        rt_launch_io lio = *io;
        if (rp->tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0)
            lio.console_sock = sp[1];
        /* from the cgroups to the state naming them, no rm in between */
        int lock = rt_ctr_lock(root, id, err);
        if (lock < 0 && err->errnum == ENOENT)
            nr_err_set(err, "container %.12s was removed before it started", id);
        /* a stop while we waited for the lock (it saw no process to stop):
         * between two runs the last exit stands; a first start fails */
        if (lock >= 0 && stop_requested(root, id)) {
            ctr_unlock(lock);
            if (restarts > 0) {
                for (int k = 0; k < 2; k++)
                    if (sp[k] >= 0)
                        close(sp[k]);
                break;
            }
            nr_err_set(err, "container %.12s was stopped before it started", id);
            lock = -1;
        }
        int lr = lock < 0 ? -1 : rt_launch(root, id, &lio, &p, err);
        if (sp[1] >= 0)
            close(sp[1]);
        if (lr < 0) {
            if (sp[0] >= 0)
                close(sp[0]);
            if (notify_fd >= 0) {
                dprintf(notify_fd, "E%s", err->msg);
                close(notify_fd);
                notify_fd = -1;
            }
            nr_err ign;
            if (rt_state_read(root, id, &st, &ign) == 0) {
                if (restarts > 0) {
                    st.status = "exited";
                    st.exit_code = NR_EXIT_CMD;
                    st.finished = time(NULL);
                    rt_state_write(root, &st, &ign);
                }
                rt_state_free(&st);
            }
            ctr_unlock(lock);
            return -1;
        }
        rt_alerts *al = rp->alerts;
        if (rt_state_read(root, id, &st, err) == 0) {
            if (al && !al->name)
                al->name = nr_xstrdup(st.name ? st.name : "");
            st.status = "running";
            st.pid = p.pid;
            st.start_time = p.start_time;
            st.started = time(NULL);
            st.monitor_pid = getpid();
            st.monitor_start = rt_pid_start_time(st.monitor_pid);
            st.restart_count = restarts;
            st.oom_killed = false;
            json_decref(st.cgroups);
            st.cgroups = rt_cgroup_to_json(&p.cg);
            nr_err ign;
            rt_state_write(root, &st, &ign);
            rt_event_container(root, "start", id, &st, NULL);
            rt_state_free(&st);
        }
        ctr_unlock(lock);
        if (notify_fd >= 0) {
            if (write(notify_fd, "OK", 2) < 0)
                (void)0;
            close(notify_fd);
            notify_fd = -1;
        }
        if (sp[0] >= 0) {
            int master = rt_recv_fd(sp[0]);
            close(sp[0]);
            if (master >= 0) {
                if (fg) {
                    rt_ttylog *log = rt_ttylog_open(root, id, p.pid);
                    rt_tty_relay(master, p.pid, log);
                    rt_ttylog_close(log);
                } else
                    rt_attach_serve(root, id, master, p.pid); /* -dt: `nrun attach` reaches it here */
                close(master);
            }
        }
        if (al) {
            al->root = root;
            al->id = id;
        }
        struct fg_tick tick = {al, &p.cg};
        code = fg ? (al ? rt_wait_forward_tick(p.pid, fg_poll, &tick) : rt_wait_forward(p.pid))
             : al && rt_alerts_active(al) ? wait_alerting(p.pid, al, &p.cg)
                                          : wait_plain(p.pid);
        rt_timing("app exited");
        /* the app's own code, as docker reports it: an OOM kill of some
         * child the app survived is OOMKilled, not a 137 of the app */
        bool oom = rt_cgroup_oom_killed(&p.cg);
        /* the networks are let go after the exit is recorded: DEL runs a
         * plugin chain (iptables, netlink), and stop, wait and inspect
         * should not wait for it */
        cleanup_free char *net_root = steal_ptr(&p.net_root), *net_id = steal_ptr(&p.net_id);
        rt_launch_cleanup(&p);
        nr_err ign;
        /* --rm without restarts: the container is removed next, and until
         * then its dead pid already shows it as exited */
        bool removed_next = rp->rm && rp->restart.policy == RT_RESTART_NO;
        if (oom)
            rt_event_container(root, "oom", id, NULL, NULL);
        char ec[16];
        snprintf(ec, sizeof ec, "%d", code);
        json_t *x = json_pack("{s:s}", "exitCode", ec);
        rt_event_container(root, "die", id, NULL, x);
        json_decref(x);
        if (!removed_next && rt_state_read(root, id, &st, &ign) == 0) {
            st.status = "exited";
            st.exit_code = code;
            st.oom_killed = oom;
            st.finished = time(NULL);
            json_decref(st.cgroups);
            st.cgroups = json_array();
            rt_state_write(root, &st, &ign);
            rt_state_free(&st);
        }
        if (net_id)
            rt_net_detach(net_root, net_id);
        rt_timing("cleaned up, state written");
        bool again = !stop_requested(root, id) &&
                     (rp->restart.policy == RT_RESTART_ALWAYS ||
                      (rp->restart.policy == RT_RESTART_ON_FAILURE && code != 0 &&
                       (rp->restart.max == 0 || restarts < rp->restart.max)));
        if (!again)
            break;
        /* between an exit and the next start: ps says Restarting, and rm
         * without -f refuses, as docker's do */
        if (rt_state_read(root, id, &st, &ign) == 0) {
            st.status = "restarting";
            rt_state_write(root, &st, &ign);
            rt_state_free(&st);
        }
        restarts++;
        if (rp->alerts)
            rt_alerts_container_restart(rp->alerts);
        /* docker-like backoff: 100 ms doubling, capped at 10 s */
        long ms = 100L << (restarts < 8 ? restarts - 1 : 7);
        if (ms > 10000)
            ms = 10000;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (stop_requested(root, id))
            break;
    }
    unlink(stopping);
    return code;
}

/* run -i without -t: the app reads a pipe that a child of ours fills from
 * our stdin, as exec -i's relay and docker's do, never the caller's stdin
 * itself: a host file (`< /etc/passwd`) the container could reopen for
 * writing, chmod and chown through /proc/self/fd/0, a terminal (its ioctls,
 * O_NONBLOCK on the shell's own open file, a copy passed on to a process
 * that outlives the run), a host socket (DESIGN: none crosses into a
 * container), a pipe of the caller's.  The pipe is nrun's own, so a
 * non-root app gets it as its other stdio (rt_stdio_own).  The read end in
 * *in_fd; the child's pid (killed when the run ends) returned, -1 on
 * failure. */
static pid_t stdin_relay(int *in_fd, nr_err *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return nr_err_sys(err, errno, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return nr_err_sys(err, e, "fork");
    }
    if (pid == 0) {
        int keep[2] = {0, p[1]};
        rt_close_fds_except(keep, 2);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* the terminal's ^C and ^\ are for nrun, which forwards them */
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        signal(SIGPIPE, SIG_DFL);
        char buf[4096];
        for (;;) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || nr_write_all(p[1], buf, (size_t)n) < 0)
                _exit(0);
        }
    }
    close(p[1]);
    *in_fd = p[0];
    return pid;
}

int rt_run_foreground(const char *root, const char *id, const rt_run_params *rp, nr_err *err)
{
    rt_launch_io io = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .echo_stdio = true, .console_sock = -1,
                       .pass_stdin = rp->interactive};
    cleanup_close int null = -1, relay_in = -1;
    pid_t relay = -1;
    if (!rp->interactive && !rp->tty) {
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        io.stdin_fd = null;
    } else if (rp->interactive && !rp->tty) {
        if ((relay = stdin_relay(&relay_in, err)) < 0) {
            nr_err ign;
            if (rp->rm)
                container_remove(root, id, true, &ign);
            return -1;
        }
        io.stdin_fd = relay_in;
    }
    /* the wait blocks every signal it forwards and gives them no-op
     * handlers; the caller's come back when it returns (nbuild's stop flag
     * must see a ^C after a RUN step, and while it writes the layer) */
    struct sigaction acts[NSIG];
    sigset_t mask;
    for (int s = 1; s < NSIG; s++)
        sigaction(s, NULL, &acts[s]);
    sigprocmask(SIG_SETMASK, NULL, &mask);
    int code = run_loop(root, id, &io, rp, true, -1, err);
    if (relay > 0) {
        kill(relay, SIGKILL);
        waitpid(relay, NULL, 0);
    }
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &acts[s], NULL);
    sigprocmask(SIG_SETMASK, &mask, NULL);
    if (rp->rm) {
        nr_err ign;
        container_remove(root, id, true, &ign);
    }
    rt_timing("removed");
    return code;
}

int rt_run_detached(const char *root, const char *id, const rt_run_params *rp, nr_err *err)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return nr_err_sys(err, errno, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return nr_err_sys(err, errno, "fork");
    if (pid == 0) {
        close(pfd[0]);
        /* hold nothing of the caller's: no fd (a test harness waits on its
         * pipes), no cwd (it would keep a mount busy) */
        rt_close_fds_except(&pfd[1], 1);
        if (chdir("/") < 0)
            _exit(NR_EXIT_CMD);
        setsid();
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        /* the app's output goes to the supervisor's log, not through us */
        int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(NR_EXIT_CMD);
        close(in);
        close(out);
        rt_launch_io io = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .echo_stdio = false, .console_sock = -1};
        /* -d -i (compose's stdin_open): the app's stdin stays open, as
         * docker's, where /dev/null would end it at once (a dev server that
         * exits when its stdin ends, react-scripts start's, stopped): a pipe
         * of ours whose write end this monitor holds and never writes, the
         * same one over restarts */
        int hold[2] = {-1, -1};
        if (rp->interactive && !rp->tty) {
            if (pipe2(hold, O_CLOEXEC) < 0) {
                dprintf(pfd[1], "Ethe container's stdin: %s", strerror(errno));
                _exit(NR_EXIT_CMD);
            }
            io.stdin_fd = hold[0];
            io.pass_stdin = true;
        }
        nr_err e = {0};
        int code = run_loop(root, id, &io, rp, false, pfd[1], &e);
        if (rp->alerts)
            rt_alerts_reap(rp->alerts, true);
        if (rp->rm) {
            nr_err ign;
            rt_container_remove(root, id, &ign);
        }
        _exit(code < 0 ? NR_EXIT_CMD : code & 0xff);
    }
    close(pfd[1]);
    char msg[1100];
    size_t got = rt_sync_read(pfd[0], msg, sizeof msg);
    if (got >= 2 && !strncmp(msg, "OK", 2))
        return 0;
    if (msg[0] == 'E')
        return nr_err_set(err, "%s", msg + 1);
    return nr_err_set(err, "the container monitor died before the container started");
}

/* rt_container_remove, with `background`: once the container is out of the
 * list (renamed to .rm-<id>), a child deletes its files and the caller goes
 * on: `run --rm` returns as soon as the container is gone from ps, without
 * waiting for ext4 to free its inodes (about 1 ms).  The child holds no fd
 * and no cwd of ours, so a caller waiting on its pipes or a mount is not held. */
int rt_container_remove(const char *root, const char *id, nr_err *err)
{
    return container_remove(root, id, false, err);
}

static int container_remove(const char *root, const char *id, bool background, nr_err *err)
{
    rt_state st;
    nr_err ign;
    bool recorded = false; /* the state names the container's cgroups */
    if (rt_state_read(root, id, &st, err) < 0) {
        /* a directory whose state cannot be read (cut short, too big, never
         * written by an nrun killed while creating it) has no process we
         * could know of: it is removed, not kept forever */
        cleanup_free char *d = rt_ctr_dir(root, id);
        struct stat sb;
        if (stat(d, &sb) < 0)
            return -1;
    } else {
        const char *live = rt_state_live_status(&st);
        if (!strcmp(live, "running") || !strcmp(live, "restarting")) {
            nr_err_set(err, "container %.12s is %s: stop it first or use rm -f", id, live);
            rt_state_free(&st);
            return -1;
        }
        rt_cgroup cg;
        rt_cgroup_from_json(st.cgroups, &cg);
        recorded = cg.n > 0;
        rt_cgroup_destroy(&cg, &ign);
        rt_cgroup_free(&cg);
        rt_state_free(&st);
    }
    if (!recorded) {
        /* none written down: an ended container's, or those its nrun made
         * and died before recording (killed while starting it) */
        rt_cgroup guess;
        rt_cgroup_guess(id, &guess);
        rt_cgroup_destroy(&guess, &ign);
        rt_cgroup_free(&guess);
    }
    rt_net_detach(root, id); /* what a killed nrun left attached */
    cleanup_free char *dir = rt_ctr_dir(root, id);
    /* (its name, image and labels are read from it: said before it goes) */
    rt_event_container(root, "destroy", id, NULL, NULL);
    /* rename first so a half-removed container is never listed */
    cleanup_free char *gone = nr_xasprintf("%s/containers/.rm-%s", root, id);
    if (rename(dir, gone) < 0)
        return nr_err_sys(err, errno, "remove %s", dir);
    if (background) {
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || chdir("/") < 0)
                _exit(1);
            rt_close_fds_except(NULL, 0);
            setsid();
            nr_err ign;
            _exit(rt_ctr_dir_discard(root, gone, id, &ign) < 0);
        }
        if (pid > 0)
            return 0;
        /* no fork: do it here */
    }
    return rt_ctr_dir_discard(root, gone, id, err);
}
