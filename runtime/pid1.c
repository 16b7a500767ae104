/* A minimal PID 1 used only while the supervisor (runtime/supervisor/) is not
 * linked: fork+exec the command, forward signals, reap everything, exit with
 * the command's code (128+signal when killed).  Also the host-side wait of a
 * foreground `nrun run`, which forwards the same signals to the container. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"
#include "runtime/supervisor/supervisor.h"

/* What a foreground nrun passes on to its container: these and the
 * real-time signals, as docker's signal proxy does.  Not job control (a
 * terminal's Ctrl-Z stops nrun, as it stops any command), nor what the
 * kernel sends nrun about itself (SEGV, PIPE, XCPU, ...). */
static const int fwd_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM};

static void noop(int sig)
{
    (void)sig;
}

static int code_of(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

/* Block the forwarded signals (and SIGCHLD) and give them a handler so the
 * kernel queues them for PID 1 of a pid namespace instead of dropping them.
 * `all`: the container's minimal init, which forwards every signal it can
 * catch (as the supervisor does; glibc keeps 32 and 33 to itself here). */
static void block_all(sigset_t *set, sigset_t *old, bool all)
{
    sigemptyset(set);
    struct sigaction sa = {.sa_handler = noop};
    for (int s = 1; s < NSIG; s++) {
        bool fwd = (all && s != SIGKILL && s != SIGSTOP) || (s >= SIGRTMIN && s <= SIGRTMAX);
        for (size_t i = 0; i < NR_ARRAY_LEN(fwd_signals) && !fwd; i++)
            fwd = s == fwd_signals[i];
        if (fwd && sigaddset(set, s) == 0)
            sigaction(s, &sa, NULL);
    }
    sigaddset(set, SIGCHLD);
    sigprocmask(SIG_BLOCK, set, old);
}

/* Undo block_all (and the app gets SIGPIPE's default back). */
static void restore_signals(const sigset_t *set, const sigset_t *old)
{
    struct sigaction sa = {.sa_handler = SIG_DFL};
    for (int s = 1; s < NSIG; s++)
        if (s != SIGCHLD && (s == SIGPIPE || sigismember(set, s) == 1))
            sigaction(s, &sa, NULL);
    sigprocmask(SIG_SETMASK, old, NULL);
}

volatile sig_atomic_t rt_stop_forwarded;

/* With every signal in `set` blocked: forward each one to `child` until it
 * exits, and return its exit code.  `reap_all` also reaps any other child (as
 * PID 1 must); otherwise only `child` is waited for. */
static int forward_until_exit(const sigset_t *set, pid_t child, bool reap_all, void (*tick)(void *), void *arg)
{
    for (;;) {
        siginfo_t si;
        struct timespec one = {1, 0};
        int sig = tick ? sigtimedwait(set, &si, &one) : sigwaitinfo(set, &si);
        if (sig < 0) {
            if (tick && errno == EAGAIN)
                tick(arg);
            continue;
        }
        if (sig != SIGCHLD) {
            if (si.si_pid != getpid()) /* not one we raised on ourselves */
                kill(child, sig);
            if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT)
                rt_stop_forwarded = sig;
            continue;
        }
        int st;
        pid_t p;
        while ((p = waitpid(reap_all ? -1 : child, &st, WNOHANG)) > 0)
            if (p == child)
                return code_of(st);
    }
}

int rt_pid1_fallback(const sv_config *cfg)
{
    sigset_t set, old;
    block_all(&set, &old, true);
    pid_t child = fork();
    if (child < 0) {
        perror("nrun: fork");
        return NR_EXIT_CMD;
    }
    if (child == 0) {
        restore_signals(&set, &old);
        extern char **environ;
        if (cfg->n_listen) {
            /* systemd-style socket activation: fds 3.. and LISTEN_FDS */
            int tmp[256];
            for (size_t i = 0; i < cfg->n_listen; i++)
                tmp[i] = fcntl(cfg->listen_fds[i], F_DUPFD_CLOEXEC, 300);
            for (size_t i = 0; i < cfg->n_listen; i++)
                if (dup2(tmp[i], 3 + (int)i) < 0)
                    _exit(NR_EXIT_CMD);
        }
        size_t n = 0;
        while (cfg->envp[n])
            n++;
        char **env = nr_xcalloc(n + 3, sizeof(char *));
        memcpy(env, cfg->envp, n * sizeof(char *));
        if (cfg->n_listen) {
            env[n++] = nr_xasprintf("LISTEN_FDS=%zu", cfg->n_listen);
            env[n++] = nr_xasprintf("LISTEN_PID=%d", (int)getpid());
        }
        environ = env;
        if (cfg->cwd && rt_chdir_in_root(cfg->cwd) < 0) {
            int e = errno;
            dprintf(2, "nrun: chdir %s: %s (%s)\n", cfg->cwd, strerrorname_np(e), strerror(e));
            _exit(NR_EXIT_NOEXEC);
        }
        rt_stdio_own(cfg->uid);
        if (rt_setgroups(cfg->ngroups, cfg->groups) < 0 || setresgid(cfg->gid, cfg->gid, cfg->gid) < 0 ||
            setresuid(cfg->uid, cfg->uid, cfg->uid) < 0) {
            dprintf(2, "nrun: switch to uid %u: %s\n", (unsigned)cfg->uid, strerror(errno));
            _exit(NR_EXIT_CMD);
        }
        if (cfg->worker_prepare && cfg->worker_prepare(cfg->worker_prepare_arg) < 0)
            _exit(NR_EXIT_CMD);
        /* fds the app must not see: the log dir and control socket of PID 1 */
        if (syscall(SYS_close_range, 3 + cfg->n_listen, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
            for (int fd = 3 + (int)cfg->n_listen; fd < 1024; fd++)
                fcntl(fd, F_SETFD, FD_CLOEXEC);
        execvp(cfg->argv[0], cfg->argv);
        int e = errno;
        char interp[128];
        if (e == ENOENT && strchr(cfg->argv[0], '/') && nr_exec_missing_interp(cfg->argv[0], interp, sizeof interp))
            dprintf(2, "nrun: exec %s: its interpreter %s was not found: %s\n", cfg->argv[0], interp, strerror(e));
        else
            dprintf(2, "nrun: exec %s: %s\n", cfg->argv[0], strerror(e));
        _exit(e == ENOENT ? NR_EXIT_NOTFOUND : NR_EXIT_NOEXEC);
    }
    /* PID 1 exiting kills the rest of the namespace: no need to wait for them. */
    return forward_until_exit(&set, child, true, NULL, NULL);
}

void rt_forward_block(void)
{
    sigset_t set, old;
    block_all(&set, &old, false);
}

int rt_wait_forward(pid_t pid)
{
    return rt_wait_forward_tick(pid, NULL, NULL);
}

/* Give back the handlers (and mask) a caller had before block_all: a caller
 * with its own (nbuild's stop flag) keeps it over a step it waited for. */
static void give_back(const sigset_t *set, const sigset_t *old, const struct sigaction *acts)
{
    for (int s = 1; s < NSIG; s++)
        if (s != SIGCHLD && sigismember(set, s) == 1)
            sigaction(s, &acts[s], NULL);
    sigprocmask(SIG_SETMASK, old, NULL);
}

int rt_wait_forward_tick(pid_t pid, void (*tick)(void *), void *arg)
{
    struct sigaction acts[NSIG];
    for (int s = 1; s < NSIG; s++)
        sigaction(s, NULL, &acts[s]);
    sigset_t set, old;
    block_all(&set, &old, false);
    int code, st0;
    if (waitpid(pid, &st0, WNOHANG) == pid) {
        give_back(&set, &old, acts);
        return code_of(st0);
    }
    code = forward_until_exit(&set, pid, false, tick, arg);
    give_back(&set, &old, acts);
    return code;
}
