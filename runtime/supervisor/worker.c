/* Workers: fork/exec with the supervisor's setup, exit handling, restarts.
 * Each worker is the leader of its own process group (so a stop reaches the
 * children it spawned), dies with the supervisor (PR_SET_PDEATHSIG), and gets
 * stdout/stderr as pipes to the log collector and, in cluster mode, one end
 * of a socketpair as NODE_CHANNEL_FD.  No other descriptor of ours reaches it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "common/signal.h"
#include "runtime/lockdown.h"
#include "runtime/supervisor/sv_internal.h"

extern char **environ;

sv_worker *sv_worker_by_pid(pid_t pid)
{
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if (w->pid == pid && !w->reaped)
            return w;
    return NULL;
}

sv_worker *sv_worker_by_id(int id)
{
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if (w->id == id)
            return w;
    return NULL;
}

int sv_live_workers(void)
{
    int n = 0;
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        n += !w->reaped;
    return n;
}

void sv_worker_signal(sv_worker *w, int sig)
{
    if (!w->reaped && w->pid > 0)
        kill(w->pid, sig);
}

void sv_worker_signal_group(sv_worker *w, int sig)
{
    if (!w->reaped && w->pid > 0 && kill(-w->pid, sig) < 0)
        kill(w->pid, sig); /* not yet its own group leader (just forked) */
}

static bool env_skip(const char *e)
{
    static const char *const drop[] = {"NODE_UNIQUE_ID=", "NODE_CHANNEL_FD=", "NODE_CHANNEL_SERIALIZATION_MODE=",
                                       "NRUN_UNIQUE_ID=", "NRUN_CHANNEL_FD=",
                                       "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=", "NODE_OPTIONS=",
                                       "NRUN_HANG_MS="};
    for (size_t i = 0; i < NR_ARRAY_LEN(drop); i++)
        if (!strncmp(e, drop[i], strlen(drop[i])))
            return true;
    return false;
}

/* The worker's environment: the configured one, plus what the protocol
 * needs.  *listen_pid points at the LISTEN_PID entry the child fills in. */
static char **build_env(sv_worker *w, char **listen_pid)
{
    const sv_config *cfg = sv_g->cfg;
    char **src = sv_g->envp ? sv_g->envp : cfg->envp ? cfg->envp : environ;
    size_t n = 0;
    while (src[n])
        n++;
    char **env = nr_xcalloc(n + 9, sizeof *env);
    size_t k = 0;
    const char *node_options = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(src[i], "NODE_OPTIONS=", 13))
            node_options = src[i] + 13;
        if (!env_skip(src[i]))
            env[k++] = nr_xstrdup(src[i]);
    }
    *listen_pid = NULL;
    if (w->cluster) {
        bool agent = sv_g->agent_path && !strpbrk(sv_g->agent_path, "\"\\");
        /* Node connects NODE_CHANNEL_FD before any code runs; the agent
         * connects NRUN_CHANNEL_FD of an eval when it is needed. */
        bool lazy = agent && sv_g->node_eval;
        env[k++] = nr_xasprintf("%s=%d", lazy ? "NRUN_UNIQUE_ID" : "NODE_UNIQUE_ID", w->id);
        env[k++] = nr_xstrdup(lazy ? "NRUN_CHANNEL_FD=3" : "NODE_CHANNEL_FD=3");
        env[k++] = nr_xstrdup("NODE_CHANNEL_SERIALIZATION_MODE=json");
        /* --hang-report: the agent's watch reports a loop stuck for 2/3 of the heartbeat timeout */
        if (agent && cfg->hang_report && cfg->heartbeat_timeout_ms > 0)
            env[k++] = nr_xasprintf("NRUN_HANG_MS=%d", cfg->heartbeat_timeout_ms / 3 * 2 > 1100
                                                           ? cfg->heartbeat_timeout_ms / 3 * 2 : 1100);
        /* first, so that the app's own preloads see a cluster worker;
         * quoted only when it must be: node 8 splits NODE_OPTIONS at
         * spaces and keeps quotes as part of the path */
        if (agent) {
            const char *q = strpbrk(sv_g->agent_path, " \t\n") ? "\"" : "";
            env[k++] = nr_xasprintf("NODE_OPTIONS=--require %s%s%s%s%s", q, sv_g->agent_path, q,
                                    node_options && *node_options ? " " : "", node_options ? node_options : "");
        }
        else if (node_options)
            env[k++] = nr_xasprintf("NODE_OPTIONS=%s", node_options);
        if (agent && sv_g->log_level[0])
            env[k++] = nr_xasprintf("NRUN_LOG_LEVEL=%s", sv_g->log_level);
    } else {
        if (node_options)
            env[k++] = nr_xasprintf("NODE_OPTIONS=%s", node_options);
        if (cfg->n_listen > 0) {
            /* systemd's socket activation convention: fds 3.. and our pid. */
            env[k++] = nr_xasprintf("LISTEN_FDS=%zu", cfg->n_listen);
            *listen_pid = env[k++] = nr_xstrdup("LISTEN_PID=0000000000");
        }
    }
    env[k] = NULL;
    return env;
}

static void free_env(char **env)
{
    for (char **e = env; *e; e++)
        free(*e);
    free(env);
}

/* A script found whose #! interpreter is missing (ENOENT of an exec names
 * the script; the message must name the interpreter). */
static char missing_interp[128];

static void note_missing(const char *path)
{
    if (errno == ENOENT && !missing_interp[0]) {
        nr_exec_missing_interp(path, missing_interp, sizeof missing_interp);
        errno = ENOENT;
    }
}

/* execvpe() searches the PATH of our environment; the worker's PATH is the one that counts. */
void sv_exec_in_path(char *const argv[], char **env)
{
    const char *cmd = argv[0];
    if (strchr(cmd, '/')) {
        execve(cmd, argv, env);
        note_missing(cmd);
        return;
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char **e = env; *e; e++)
        if (!strncmp(*e, "PATH=", 5))
            path = *e + 5;
    int saved = ENOENT;
    char buf[4096];
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        int len = snprintf(buf, sizeof buf, "%.*s%s%s", (int)(end - p), p, end == p ? "" : "/", cmd);
        if (len > 0 && (size_t)len < sizeof buf) {
            execve(buf, argv, env);
            note_missing(buf);
            if (errno != ENOENT && errno != ENOTDIR)
                saved = errno;
        }
        if (!*end)
            break;
        p = end;
    }
    errno = saved;
}

/* What a child that could not exec reports on its error pipe. */
enum { FAILED_EXEC, FAILED_CHDIR };
typedef struct spawn_failure {
    int step, errnum;
    char interp[128]; /* the missing #! interpreter of the program, if that is why */
} spawn_failure;

/* 127 for a command that is not there, 126 for anything else that kept it
 * from running (a working directory that cannot be entered included). */
static int failure_code(const spawn_failure *f)
{
    return f->step == FAILED_EXEC && f->errnum == ENOENT ? NR_EXIT_NOTFOUND : NR_EXIT_NOEXEC;
}

void sv_child_reset(void)
{
    sigset_t none;
    sigemptyset(&none);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

int sv_child_identity(const sv_config *cfg)
{
    if (cfg->uid != (uid_t)-1 && cfg->uid != getuid()) {
        rt_stdio_own(cfg->uid);
        if (rt_setgroups(cfg->ngroups, cfg->groups) < 0 || setgid(cfg->gid) < 0 || setuid(cfg->uid) < 0)
            return -1;
    } else if (cfg->gid != (gid_t)-1 && cfg->gid != getgid() && setgid(cfg->gid) < 0) {
        return -1;
    }
    return 0;
}

/* In the child: never returns.  Only async-signal-safe calls matter little
 * here (we are single-threaded), but every failure reports on `errfd`. */
static void child_setup(sv_worker *w, int out, int err, int ipc, int errfd, char **env, char *listen_pid, pid_t parent)
{
    const sv_config *cfg = sv_g->cfg;
    sv_child_reset();
    if (getppid() != parent)
        _exit(1);
    if (listen_pid)
        snprintf(listen_pid, 22, "LISTEN_PID=%d", (int)getpid());

    /* Move every source fd out of the way (above all targets), then into place. */
    int nl = w->cluster ? 0 : (int)cfg->n_listen;
    int high = 10 + nl;
    int o = fcntl(out, F_DUPFD, high), e = fcntl(err, F_DUPFD, high);
    int c = ipc >= 0 ? fcntl(ipc, F_DUPFD, high) : -1;
    int lf[64];
    for (int i = 0; i < nl && i < 64; i++)
        lf[i] = fcntl(cfg->listen_fds[i], F_DUPFD, high);
    int ef = fcntl(errfd, F_DUPFD_CLOEXEC, high);
    /* run -i: the app is slot 1 (the one process, or the first cluster
     * worker and its replacements); stdin is ours, inherited from nrun */
    bool keep_stdin = cfg->pass_stdin && w->slot == 1;
    int nul = keep_stdin ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
    spawn_failure f = {FAILED_EXEC, 0, ""};
    if (o < 0 || e < 0 || ef < 0 || (ipc >= 0 && c < 0))
        goto fail;
    if (nul >= 0 && dup2(nul, 0) < 0)
        goto fail;
    if (dup2(o, 1) < 0 || dup2(e, 2) < 0)
        goto fail;
    if (c >= 0 && dup2(c, 3) < 0)
        goto fail;
    for (int i = 0; i < nl && i < 64; i++)
        if (lf[i] < 0 || dup2(lf[i], 3 + i) < 0)
            goto fail;
    {
        int first = 3 + (c >= 0 ? 1 : nl);
        /* Close everything from `first` up except the error pipe (CLOEXEC, for exec failures). */
        if (ef > first)
            syscall(SYS_close_range, first, ef - 1, 0);
        syscall(SYS_close_range, ef + 1, ~0U, 0);
    }
    errfd = ef;
    if (sv_child_identity(cfg) < 0)
        goto fail;
    const char *cwd = sv_g->cwd ? sv_g->cwd : cfg->cwd;
    if (cwd && rt_chdir_in_root(cwd) < 0) {
        f.step = FAILED_CHDIR;
        goto fail;
    }
    if (cfg->worker_prepare && cfg->worker_prepare(cfg->worker_prepare_arg) < 0)
        goto fail;
    sv_exec_in_path(sv_g->argv, env);
fail:
    f.errnum = errno ? errno : EINVAL;
    if (f.errnum == ENOENT && missing_interp[0])
        memcpy(f.interp, missing_interp, sizeof f.interp);
    (void)!write(errfd >= 0 ? errfd : 2, &f, sizeof f);
    _exit(failure_code(&f));
}

sv_worker *sv_worker_spawn(int slot, nr_err *err)
{
    sv_worker *w = nr_xcalloc(1, sizeof *w);
    w->slot = slot;
    w->id = ++sv_g->next_id;
    w->cluster = sv_g->cluster;
    w->ipc_fd = -1;
    w->out.fd = w->err.fd = -1;
    int op[2] = {-1, -1}, ep[2] = {-1, -1}, sp[2] = {-1, -1}, xp[2] = {-1, -1};
    if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0 || pipe2(xp, O_CLOEXEC) < 0 ||
        (w->cluster && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)) {
        nr_err_sys(err, errno, "worker %d: pipe", slot);
        goto fail;
    }
    char *listen_pid;
    char **env = build_env(w, &listen_pid);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        nr_err_sys(err, errno, "worker %d: fork", slot);
        free_env(env);
        goto fail;
    }
    if (pid == 0)
        child_setup(w, op[1], ep[1], sp[1], xp[1], env, listen_pid, parent);
    free_env(env);
    close(op[1]);
    close(ep[1]);
    close(xp[1]);
    if (sp[1] >= 0)
        close(sp[1]);
    op[1] = ep[1] = xp[1] = sp[1] = -1;
    setpgid(pid, pid); /* also from here, so a group kill right after fork reaches it */
    w->pid = pid;
    w->started_ms = sv_now_ms();

    spawn_failure f;
    ssize_t r;
    do
        r = read(xp[0], &f, sizeof f);
    while (r < 0 && errno == EINTR);
    close(xp[0]);
    xp[0] = -1;
    w->next = sv_g->workers;
    sv_g->workers = w;
    sv_logs_attach(w, op[0], ep[0]);
    if (r == (ssize_t)sizeof f) {
        /* exec failed: the child exits with 126/127; SIGCHLD will reap it. */
        if (sp[0] >= 0)
            close(sp[0]);
        sv_g->spawn_code = failure_code(&f);
        if (f.step == FAILED_CHDIR)
            nr_err_sys(err, f.errnum, "chdir %s", sv_g->cwd ? sv_g->cwd : sv_g->cfg->cwd);
        else if (f.interp[0] && memchr(f.interp, 0, sizeof f.interp))
            nr_err_sys(err, f.errnum, "exec %s: its interpreter %s was not found", sv_g->cfg->argv[0], f.interp);
        else
            nr_err_sys(err, f.errnum, "exec %s", sv_g->argv[0]);
        w->state = SV_W_STOPPING;
        return NULL;
    }
    if (w->cluster) {
        w->ipc_fd = sp[0];
        if (sv_watch_add(&w->ipc_w, w->ipc_fd, EPOLLIN, sv_ipc_on_event, w) < 0) {
            sv_log_sys("worker %d: epoll: %s", slot, strerror(errno));
            close(w->ipc_fd);
            w->ipc_fd = -1;
        }
    } else {
        w->state = SV_W_UP;
    }
    return w;
fail:
    for (int i = 0; i < 2; i++) {
        if (op[i] >= 0)
            close(op[i]);
        if (ep[i] >= 0)
            close(ep[i]);
        if (sp[i] >= 0)
            close(sp[i]);
        if (xp[i] >= 0)
            close(xp[i]);
    }
    free(w);
    return NULL;
}

static bool slot_occupied(int slot)
{
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if (!w->reaped && w->slot == slot && w->state != SV_W_DRAINING && w->state != SV_W_STOPPING)
            return true;
    return false;
}

static void restart_fire(void *arg)
{
    int slot = (int)(intptr_t)arg;
    sv_g->slots[slot].restart_pending = false;
    sv_worker_start_slot(slot);
}

void sv_worker_start_slot(int slot)
{
    if (sv_g->stopping || slot > sv_g->target || slot_occupied(slot))
        return;
    nr_err err = {0};
    sv_worker *w = sv_worker_spawn(slot, &err);
    if (!w) {
        sv_log_sys("worker %d: %s", slot, err.msg);
        /* A failed exec still leaves a child that exits 126/127: the crash path restarts it. */
    }
}

void sv_worker_schedule_restart(int slot)
{
    sv_slot *s = &sv_g->slots[slot];
    const sv_config *cfg = sv_g->cfg;
    if (s->restart_pending || sv_g->stopping)
        return;
    uint64_t delay = (uint64_t)cfg->backoff_base_ms;
    for (int i = 0; i < s->consec && delay < (uint64_t)cfg->backoff_max_ms; i++)
        delay *= 2;
    if (delay > (uint64_t)cfg->backoff_max_ms)
        delay = (uint64_t)cfg->backoff_max_ms;
    /* +-20% jitter so workers that crashed together do not restart together. */
    delay = delay * (uint64_t)(80 + random() % 41) / 100;
    s->consec++;
    s->restarts++;
    s->restart_pending = true;
    sv_log_sys("worker %d: restarting in %llu ms", slot, (unsigned long long)delay);
    sv_timer_start(&s->restart_t, delay, restart_fire, (void *)(intptr_t)slot);
}

/* Count a crash; true when the crash-loop limit is reached. */
static bool crash_loop(void)
{
    const sv_config *cfg = sv_g->cfg;
    uint64_t now = sv_now_ms();
    int keep = 0;
    for (int i = 0; i < sv_g->ncrash; i++)
        if (now - sv_g->crash_times[i] < (uint64_t)cfg->crash_loop_window_ms)
            sv_g->crash_times[keep++] = sv_g->crash_times[i];
    sv_g->ncrash = keep;
    if (sv_g->ncrash < (int)NR_ARRAY_LEN(sv_g->crash_times))
        sv_g->crash_times[sv_g->ncrash++] = now;
    return cfg->crash_loop_max > 0 && sv_g->ncrash > cfg->crash_loop_max;
}

static void describe(int status, char *buf, size_t n)
{
    char sn[NR_SIGNAME_MAX];
    if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by %s", nr_signal_name(WTERMSIG(status), sn));
    else
        snprintf(buf, n, "exited with code %d", WEXITSTATUS(status));
}

void sv_worker_reaped(sv_worker *w, int status)
{
    const sv_config *cfg = sv_g->cfg;
    int code = sv_exit_code_of(status);
    enum sv_wstate was = w->state;
    w->reaped = true;
    w->status = status;
    w->state = SV_W_DEAD;
    sv_timer_stop(&w->drain_t);
    sv_timer_stop(&w->kill_t);
    sv_timer_stop(&w->listen_t);
    kill(-w->pid, SIGKILL); /* whatever it left behind in its group */
    sv_logs_detach(w);
    sv_balance_worker_gone(w);
    sv_ipc_close(w);
    char how[64];
    describe(status, how, sizeof how);
    uint64_t up = sv_now_ms() - w->started_ms;
    if (sv_g->exiting)
        return;

    if (!w->cluster) {
        if (sv_g->stopping) {
            sv_g->exit_code = code;
            return;
        }
        if (w->restart_after_exit || (cfg->restart_single && code != 0)) {
            sv_log_sys("process %d %s", (int)w->pid, how);
            if (!w->restart_after_exit && crash_loop()) {
                sv_log_sys("crash loop: %d restarts within %d s, giving up", cfg->crash_loop_max,
                           cfg->crash_loop_window_ms / 1000);
                sv_fatal_exit(code ? code : 1);
                return;
            }
            if (up >= (uint64_t)cfg->stable_ms || w->restart_after_exit)
                sv_g->slots[w->slot].consec = 0;
            if (w->restart_after_exit)
                sv_worker_start_slot(w->slot);
            else
                sv_worker_schedule_restart(w->slot);
            return;
        }
        sv_g->exit_code = code;
        sv_g->exiting = true;
        return;
    }

    if (sv_g->stopping) {
        /* Exited by itself, or by the stop signal we sent: both are clean. */
        int stop_sig = cfg->stop_signal ? cfg->stop_signal : SIGTERM;
        bool clean = code == 0 || (WIFSIGNALED(status) && WTERMSIG(status) == stop_sig);
        sv_log_sys("worker %d (pid %d) %s", w->slot, (int)w->pid, how);
        if (!clean && !sv_g->exit_code)
            sv_g->exit_code = code;
        return;
    }
    if (!sv_g->cluster_up && !w->listened) {
        /* A node command that never listened: a script; its code is the container's. */
        sv_g->exit_code = code;
        sv_g->exiting = true;
        sv_fatal_exit(code);
        return;
    }
    if (w->replaces_id && was == SV_W_STARTING) {
        sv_log_sys("worker %d (pid %d) %s before it was up: replacement abandoned", w->slot, (int)w->pid, how);
        sv_reload_worker_failed(w);
    } else if (w->expected_exit) {
        sv_log_sys("worker %d (pid %d) %s after drain", w->slot, (int)w->pid, how);
        return;
    } else {
        sv_log_sys("worker %d (pid %d) %s after %llu ms", w->slot, (int)w->pid, how, (unsigned long long)up);
    }
    if (crash_loop()) {
        sv_log_sys("crash loop: more than %d worker crashes within %d s, giving up (last: %s)", cfg->crash_loop_max,
                   cfg->crash_loop_window_ms / 1000, how);
        sv_fatal_exit(code ? code : 1);
        return;
    }
    if (up >= (uint64_t)cfg->stable_ms)
        sv_g->slots[w->slot].consec = 0;
    if (!w->replaces_id || was != SV_W_STARTING)
        sv_worker_schedule_restart(w->slot);
}

/* Free the workers that are reaped and have nothing left open.  Runs between
 * loop iterations, so no pending epoll event can point into a freed worker. */
void sv_worker_gc(void)
{
    sv_worker **pp = &sv_g->workers;
    while (*pp) {
        sv_worker *w = *pp;
        if (w->reaped && w->out.fd < 0 && w->err.fd < 0 && w->ipc_fd < 0) {
            *pp = w->next;
            nr_buf_free(&w->ipc_in);
            nr_buf_free(&w->ipc_out);
            free(w);
        } else {
            pp = &w->next;
        }
    }
}
