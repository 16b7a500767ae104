/* sv_run: the supervisor's main.  It owns the PID-1 duties (tini's job):
 * every signal arrives through the loop's signalfd, SIGCHLD reaps every
 * zombie with waitpid(-1, WNOHANG) -- workers and re-parented grandchildren
 * alike -- and the container's exit code is the app's (128+signal when it was
 * killed).  Signals (README "Signals"):
 *   SIGCHLD          reap
 *   SIGTERM, SIGINT  graceful stop; a second one kills every worker at once
 *   SIGHUP           cluster: rolling reload; single process: forwarded
 *   any other        forwarded to every worker (QUIT, USR1, WINCH, CONT, TSTP,
 *                    ALRM, real-time ones...): the app's, as if it were PID 1 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/embed.h"
#include "common/signal.h"
#include "runtime/supervisor/sv_internal.h"

extern char **environ;

sv_state *sv_g;

/* A line from the supervisor itself: in the log (worker 0) and on stderr. */
void sv_log_sys(const char *fmt, ...)
{
    char raw[1024];
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    /* the line carries what workers said (a listen address, a key): its
     * control characters escaped, a worker can neither forge a line of
     * PID 1's nor send the terminal an escape */
    cleanup_free char *msg = nr_escape_controls(raw);
    size_t n = strnlen(msg, 1023);
    msg[n] = 0;
    sv_logs_write(0, sv_g->self, "supervisor", msg, n);
    char line[1100];
    int m = snprintf(line, sizeof line, "nrun: %s\n", msg);
    /* Never block PID 1 on a full stderr: the line is in the log anyway. */
    if (m > 0 && sv_g->sys_err >= 0)
        (void)!write(sv_g->sys_err, line, (size_t)m < sizeof line ? (size_t)m : sizeof line - 1);
}

int sv_exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

static void reap_all(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        if (sv_health_reaped(pid, status))
            continue;
        sv_worker *w = sv_worker_by_pid(pid);
        if (w)
            sv_worker_reaped(w, status);
        /* Anything else was an orphan re-parented to us: reaping it is all we owe it. */
    }
}

static void signal_all(int sig)
{
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if (!w->reaped) {
            if (sig == SIGKILL)
                sv_worker_signal_group(w, sig);
            else
                sv_worker_signal(w, sig);
        }
}

static void stop_timeout(void *arg)
{
    sv_log_sys("stop timeout: killing every worker");
    signal_all(SIGKILL);
}

/* Stop accepting, drain the workers, exit when they are gone.  A plain
 * process gets the signal we received (as docker run's signal proxy does);
 * sig 0 means the configured stop signal. */
void sv_begin_stop(int sig)
{
    if (!sig)
        sig = sv_g->cfg->stop_signal ? sv_g->cfg->stop_signal : SIGTERM;
    if (sv_g->stopping)
        return;
    sv_g->stopping = true;
    sv_g->target = 0;
    sv_health_stop();
    sv_balance_close_all();
    for (int s = 1; s <= SV_MAX_SLOTS; s++)
        if (sv_g->slots[s].restart_pending) {
            sv_timer_stop(&sv_g->slots[s].restart_t);
            sv_g->slots[s].restart_pending = false;
        }
    for (sv_worker *w = sv_g->workers; w; w = w->next) {
        if (w->reaped)
            continue;
        w->expected_exit = true;
        if (w->cluster && w->state != SV_W_STOPPING)
            sv_drain_worker(w);
        else if (w->state != SV_W_STOPPING) {
            w->state = SV_W_STOPPING;
            sv_worker_signal(w, sig);
        }
    }
    sv_timer_start(&sv_g->stop_t, (uint64_t)sv_g->cfg->stop_timeout_ms, stop_timeout, NULL);
    sv_maybe_finish();
}

/* End the container with `code` once every worker is gone (they are killed). */
void sv_fatal_exit(int code)
{
    if (!sv_g->exiting) {
        sv_g->exiting = true;
        sv_g->exit_code = code;
    }
    sv_g->stopping = true;
    sv_g->target = 0;
    sv_health_stop();
    sv_balance_close_all();
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if (!w->reaped) {
            w->expected_exit = true;
            w->state = SV_W_STOPPING;
        }
    signal_all(SIGKILL);
}

void sv_maybe_finish(void)
{
    if ((sv_g->stopping || sv_g->exiting) && sv_live_workers() == 0)
        sv_g->exiting = true;
}

static void on_signal(int sig)
{
    char sn[NR_SIGNAME_MAX];
    switch (sig) {
    case SIGCHLD:
        reap_all();
        break;
    case SIGTERM:
    case SIGINT:
        if (sv_g->stopping) {
            sv_log_sys("second %s: killing every worker", nr_signal_name(sig, sn));
            signal_all(SIGKILL);
        } else {
            sv_log_sys("%s: graceful stop", nr_signal_name(sig, sn));
            sv_begin_stop(sig);
        }
        break;
    case SIGHUP:
        if (sv_g->cluster) {
            sv_log_sys("SIGHUP: rolling reload");
            sv_reload_start(NULL);
        } else {
            signal_all(SIGHUP);
        }
        break;
    default:
        signal_all(sig);
        break;
    }
}

/* `node [OPTIONS] -e|-p CODE ...`: Node sets up a cluster worker only for a
 * file, and the agent connects an eval's channel lazily (agent.js).  Only
 * the options before the first non-option count; a wrong guess either way
 * costs time, not function (the agent connects a file's channel at once). */
static bool argv_is_node_eval(char **argv)
{
    static const char *const takes_value[] = {"-r", "--require", "--import", "--loader", "--experimental-loader",
                                              "-C", "--conditions", "--title", "--input-type", "--env-file"};
    for (size_t i = 1; argv[i]; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !strcmp(a, "--") || !strcmp(a, "-"))
            return false;
        if (!strcmp(a, "-e") || !strcmp(a, "--eval") || !strcmp(a, "-p") || !strcmp(a, "--print") ||
            !strcmp(a, "-pe") || !strcmp(a, "-ep") || !strncmp(a, "--eval=", 7) || !strncmp(a, "--print=", 8))
            return true;
        for (size_t k = 0; k < NR_ARRAY_LEN(takes_value); k++)
            if (!strcmp(a, takes_value[k]) && argv[i + 1]) {
                i++;
                break;
            }
    }
    return false;
}

/* The environment with the resolution's NAME=value entries set on top. */
static char **merge_env(char *const *base, char *const *add)
{
    size_t nb = 0, na = 0, k = 0;
    while (base && base[nb])
        nb++;
    while (add[na])
        na++;
    char **env = nr_xcalloc(nb + na + 1, sizeof *env);
    for (size_t i = 0; i < nb + na; i++) {
        const char *e = i < nb ? base[i] : add[i - nb];
        size_t l = strcspn(e, "=");
        bool later = false;
        for (size_t j = (i < nb ? 0 : i - nb + 1); j < na && !later; j++)
            later = !strncmp(add[j], e, l) && add[j][l] == '=';
        if (!later)
            env[k++] = nr_xstrdup(e);
    }
    return env;
}

/* Cluster or single, the command the workers run, and why (README "Which
 * commands are a cluster"; resolve.c). */
static void choose_mode(sv_state *s)
{
    const sv_config *cfg = s->cfg;
    char **base = cfg->envp ? cfg->envp : environ;
    if (cfg->mode == SV_MODE_SINGLE) {
        s->cluster = false;
        s->argv = cfg->argv;
        s->envp = base;
        s->mode_reason = nr_xstrdup("--mode single");
        return;
    }
    sv_resolved r;
    sv_resolve(cfg->argv, base, cfg->cwd, cfg->uid, cfg->gid, &r);
    s->cluster = cfg->mode == SV_MODE_CLUSTER || r.node;
    s->mode_notable = r.notable;
    if (r.node) {
        s->argv = r.argv;
        s->envp = r.env[0] ? merge_env(base, r.env) : base;
        if (r.cwd) {
            s->cwd = r.cwd;
            r.cwd = NULL;
        }
        r.argv = NULL;
    } else {
        s->argv = cfg->argv;
        s->envp = base;
    }
    if (cfg->mode == SV_MODE_CLUSTER)
        s->mode_reason = nr_xasprintf("--mode cluster; %s", r.reason);
    else {
        s->mode_reason = r.reason;
        r.reason = NULL;
    }
    sv_resolved_free(&r);
}

/* Write the agent where the workers can read it (it is in our binary). */
static int write_agent(sv_state *s, nr_err *err)
{
    const char *dir = s->cfg->runtime_dir;
    if (!dir || !*dir)
        return 0;
    size_t len;
    const char *js = nr_embed_get("runtime/supervisor/agent.js", &len);
    if (!js)
        return nr_err_set(err, "agent.js is not embedded in this binary");
    if (nr_mkdir_p(dir, 0755, err) < 0)
        return -1;
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    if (nr_write_atomic(dfd, "nrun-agent.js", js, len, 0644, err) < 0)
        return -1;
    s->agent_path = nr_xasprintf("%s/nrun-agent.js", dir);
    return 0;
}

/* The supervisor shares its binary and libraries (libcrypto, libcurl,
 * libarchive...) with the rest of nrun but uses little of them; dynamic
 * linking and the kernel's fault-around leave many of their pages mapped.
 * After setup, unmap the file-backed pages of every mapping that holds no
 * private (copied-on-write) page: they are clean page-cache pages, so a later
 * touch maps the same bytes back.  Mappings with private pages (relocated
 * data, GOT) are left alone.  Measured here: RSS 3.3 MB -> 2.3 MB. */
static void drop_unused_pages(void)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return;
    char line[512];
    unsigned long a = 0, b = 0;
    bool file = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long x, y;
        int path = 0;
        unsigned long anon;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &x, &y, &path) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            a = x, b = y;
            file = path && line[path] == '/';
            /* No fault-around either: map back only the pages really used. */
            if (file)
                madvise((void *)a, b - a, MADV_RANDOM);
        } else if (file && sscanf(line, "Anonymous: %lu", &anon) == 1) {
            if (anon == 0)
                madvise((void *)a, b - a, MADV_DONTNEED);
            file = false;
        }
    }
    fclose(f);
}

int sv_run(const sv_config *cfg)
{
    static sv_state state;
    memset(&state, 0, sizeof state);
    sv_state *s = sv_g = &state;
    s->cfg = cfg;
    s->self = getpid();
    s->log_fd = s->echo_out = s->echo_err = s->sys_err = s->ctl_fd = -1;
    nr_err err = {0};

    if (!cfg->argv || !cfg->argv[0]) {
        fprintf(stderr, "nrun: supervisor: no command\n");
        return NR_EXIT_CMD;
    }
    choose_mode(s);
    s->node_eval = s->cluster && sv_argv0_is_node(s->argv[0]) && argv_is_node_eval(s->argv);
    s->target = s->cluster ? (cfg->workers > 0 ? cfg->workers : sv_cpu_count()) : 1;
    if (s->target > SV_MAX_SLOTS)
        s->target = SV_MAX_SLOTS;
    if (getpid() != 1)
        prctl(PR_SET_CHILD_SUBREAPER, 1);

    snprintf(s->log_level, sizeof s->log_level, "%s", cfg->log_level);
    if (sv_loop_init(&err) < 0 || sv_logs_open(&err) < 0 ||
        (s->cluster && !cfg->no_agent && write_agent(s, &err) < 0) ||
        (cfg->control_fd >= 0 && sv_control_init(cfg->control_fd) < 0) || sv_metrics_init(&err) < 0) {
        fprintf(stderr, "nrun: supervisor: %s\n", err.msg);
        return NR_EXIT_CMD;
    }
    if (s->mode_notable) {
        cleanup_free char *line = nr_xasprintf("mode: %s (%s)", s->cluster ? "cluster" : "single", s->mode_reason);
        sv_logs_write(0, s->self, "supervisor", line, strlen(line));
    }
    if (!s->cluster && cfg->n_listen > 0 && cfg->mode == SV_MODE_AUTO) {
        /* Sockets handed in (`nrun supervise -p`; a container's ports are
         * DNAT rules into its own namespace and hand nothing in) reach
         * cluster workers only (or, with --mode single, a process that takes
         * it as fd 3): never accept connections that no process will serve. */
        sv_log_sys("a published port needs the app to run as node cluster workers, and the command runs as one "
                   "process: %s (use --mode single only if the app serves the socket it gets as fd 3, LISTEN_FDS)",
                   s->mode_reason);
        sv_control_fini();
        sv_loop_fini();
        return NR_EXIT_CMD;
    }
    sv_stats_sample();
    /* Cluster mode starts one worker; the others follow once it listens. */
    sv_worker *first = sv_worker_spawn(1, &err);
    if (!first) {
        sv_log_sys("%s", err.msg); /* on stderr and in the log: `nrun logs` of a detached container says why */
        return s->spawn_code ? s->spawn_code : NR_EXIT_NOEXEC;
    }
    /* after the first fork, not before: the worker would fault back in,
     * one page at a time, what it touches of our binary on its way to exec */
    drop_unused_pages();
    sv_health_start();
    while (!s->exiting) {
        if (sv_loop_once(on_signal, &err) < 0) {
            fprintf(stderr, "nrun: supervisor: %s\n", err.msg);
            sv_fatal_exit(NR_EXIT_CMD);
        }
        sv_worker_gc();
        sv_maybe_finish();
    }
    /* Host mode (a subreaper, not PID 1): leave no process of ours behind. */
    for (sv_worker *w = s->workers; w; w = w->next)
        if (w->pid > 0 && !w->reaped)
            kill(-w->pid, SIGKILL);
    reap_all();
    sv_logs_report_drops();
    sv_control_fini();
    sv_metrics_fini();
    sv_loop_fini();
    return s->exit_code;
}
