/* HEALTHCHECK, run as docker runs it: every interval (start-interval during
 * the start period) the test runs in the container with the timeout; exit 0
 * is healthy, anything else (a timeout too) a failure; `retries` failures in
 * a row make the container unhealthy, except failures inside the start
 * period, which do not count.  The status starts as "starting".
 *
 * Where it runs: PID 1 forks it exactly as it forks a worker (worker.c's
 * child setup): the workers' uid/gid/groups and working directory, the
 * workers' capabilities and seccomp (cfg->worker_prepare), every descriptor
 * of PID 1 closed but a pipe for its output, /dev/null as stdin, its own
 * process group (a timeout kills the group), PDEATHSIG.  It never enters
 * from the host: no host process or descriptor is involved, so it can gain
 * nothing the app itself does not have (tests/security/health.bats).
 *
 * The result is in the control socket's stats reply ("health", as docker's
 * .State.Health with the last 5 results), which `nrun ps` and `inspect`
 * read; each change of status is a line in the log.  --on-unhealthy reload
 * replaces the workers one at a time (a rolling reload) when it turns
 * unhealthy. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#include "runtime/lockdown.h"
#include "runtime/supervisor/sv_internal.h"

extern char **environ;

#define HC_LOG 5          /* results kept, as docker */
#define HC_OUTPUT 4096    /* output kept per result, as docker */

typedef struct hc_result {
    char start[40], end[40];
    int code;
    char *output;
} hc_result;

static struct {
    bool on;
    char **argv;
    enum { HC_STARTING, HC_HEALTHY, HC_UNHEALTHY } status;
    int streak;
    hc_result log[HC_LOG];
    int nlog;
    sv_timer next_t, timeout_t;
    pid_t pid;
    int out_fd;
    sv_watch out_w;
    nr_buf out;
    bool timed_out;
    char start[40];
    uint64_t started_ms; /* container start (for the start period) */
} H = {.pid = -1, .out_fd = -1};

static const char *const status_names[] = {"starting", "healthy", "unhealthy"};

static int ms_or(int v, int dflt)
{
    return v > 0 ? v : dflt;
}

static void rfc3339(char out[40])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char date[24];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%09ldZ", date, ts.tv_nsec);
}

/* ["CMD", a...] -> argv; ["CMD-SHELL", line] -> /bin/sh -c line (docker's default shell). */
static char **split_test(const char *text)
{
    json_t *t = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    const char *kind = json_string_value(json_array_get(t, 0));
    size_t n = json_array_size(t);
    char **argv = NULL;
    if (kind && !strcmp(kind, "CMD") && n >= 2) {
        argv = nr_xcalloc(n, sizeof *argv);
        for (size_t i = 1; i < n; i++) {
            const char *a = json_string_value(json_array_get(t, i));
            argv[i - 1] = nr_xstrdup(a ? a : "");
        }
    } else if (kind && !strcmp(kind, "CMD-SHELL") && n == 2 && json_is_string(json_array_get(t, 1))) {
        argv = nr_xcalloc(4, sizeof *argv);
        argv[0] = nr_xstrdup("/bin/sh");
        argv[1] = nr_xstrdup("-c");
        argv[2] = nr_xstrdup(json_string_value(json_array_get(t, 1)));
    }
    json_decref(t);
    return argv;
}

static void schedule(void);

static void set_status(int st)
{
    if ((int)H.status == st)
        return;
    sv_log_sys("health: %s -> %s", status_names[H.status], status_names[st]);
    H.status = st;
    if (st == HC_UNHEALTHY && sv_g->cfg->reload_unhealthy && sv_g->cluster && !sv_g->reloading && !sv_g->stopping) {
        sv_log_sys("health: unhealthy, --on-unhealthy reload: replacing the workers one at a time");
        sv_reload_start(NULL);
    }
}

static void finish(int code)
{
    const sv_config *cfg = sv_g->cfg;
    hc_result *r;
    if (H.nlog == HC_LOG) {
        free(H.log[0].output);
        memmove(H.log, H.log + 1, (HC_LOG - 1) * sizeof *H.log);
        H.nlog--;
    }
    r = &H.log[H.nlog++];
    memcpy(r->start, H.start, sizeof r->start);
    rfc3339(r->end);
    r->code = code;
    if (H.timed_out)
        r->output = nr_xasprintf("Health check exceeded timeout (%dms)", ms_or(cfg->health_timeout_ms, 30000));
    else
        r->output = nr_xstrndup(H.out.data ? H.out.data : "", H.out.len);
    H.out.len = 0;
    bool in_start = sv_now_ms() - H.started_ms < (uint64_t)cfg->health_start_period_ms;
    if (code == 0) {
        H.streak = 0;
        set_status(HC_HEALTHY);
    } else if (!in_start || H.status != HC_STARTING) {
        /* inside the start period a failure does not count (a success ends the period) */
        H.streak++;
        if (H.streak >= ms_or(cfg->health_retries, 3))
            set_status(HC_UNHEALTHY);
    }
}

static void read_output(void)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(H.out_fd, buf, sizeof buf)) > 0)
        if (H.out.len < HC_OUTPUT)
            nr_buf_add(&H.out, buf, H.out.len + (size_t)n > HC_OUTPUT ? HC_OUTPUT - H.out.len : (size_t)n);
}

static void close_output(void)
{
    if (H.out_fd < 0)
        return;
    sv_watch_del(&H.out_w);
    close(H.out_fd);
    H.out_fd = -1;
}

static void on_output(void *arg, uint32_t events)
{
    (void)arg;
    read_output();
    if (events & (EPOLLHUP | EPOLLERR))
        close_output(); /* the exit still decides; what a grandchild writes later is not its output */
}

static void on_timeout(void *arg)
{
    (void)arg;
    if (H.pid > 0) {
        H.timed_out = true;
        if (kill(-H.pid, SIGKILL) < 0)
            kill(H.pid, SIGKILL);
    }
}

bool sv_health_reaped(pid_t pid, int status)
{
    if (!H.on || pid != H.pid)
        return false;
    H.pid = -1;
    sv_timer_stop(&H.timeout_t);
    if (H.out_fd >= 0)
        read_output();
    close_output();
    /* the probe's group: what it left behind goes with it */
    kill(-pid, SIGKILL);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    finish(H.timed_out ? -1 : code);
    H.timed_out = false;
    schedule();
    return true;
}

/* In the child: never returns (the same setup as a worker's, worker.c). */
static void child(int out)
{
    const sv_config *cfg = sv_g->cfg;
    sv_child_reset();
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
    /* nothing of PID 1 (log dir, control socket, listening sockets, channels) */
    syscall(SYS_close_range, 3, ~0U, 0);
    if (sv_child_identity(cfg) < 0)
        _exit(126);
    if (cfg->cwd && rt_chdir_in_root(cfg->cwd) < 0)
        _exit(126);
    if (cfg->worker_prepare && cfg->worker_prepare(cfg->worker_prepare_arg) < 0)
        _exit(126);
    sv_exec_in_path(H.argv, cfg->envp ? cfg->envp : environ);
    dprintf(2, "exec %s: %s\n", H.argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
}

static void run_probe(void *arg)
{
    (void)arg;
    if (sv_g->stopping || H.pid > 0)
        return;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        sv_log_sys("health: pipe: %s", strerror(errno));
        schedule();
        return;
    }
    rfc3339(H.start);
    pid_t pid = fork();
    if (pid < 0) {
        sv_log_sys("health: fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        schedule();
        return;
    }
    if (pid == 0)
        child(p[1]);
    close(p[1]);
    setpgid(pid, pid);
    H.pid = pid;
    H.out_fd = p[0];
    fcntl(H.out_fd, F_SETFL, O_NONBLOCK);
    if (sv_watch_add(&H.out_w, H.out_fd, EPOLLIN, on_output, NULL) < 0)
        close_output();
    sv_timer_start(&H.timeout_t, (uint64_t)ms_or(sv_g->cfg->health_timeout_ms, 30000), on_timeout, NULL);
}

static void schedule(void)
{
    const sv_config *cfg = sv_g->cfg;
    if (sv_g->stopping)
        return;
    bool in_start = H.status == HC_STARTING && sv_now_ms() - H.started_ms < (uint64_t)cfg->health_start_period_ms;
    int every = in_start ? ms_or(cfg->health_start_interval_ms, 5000) : ms_or(cfg->health_interval_ms, 30000);
    sv_timer_start(&H.next_t, (uint64_t)every, run_probe, NULL);
}

void sv_health_start(void)
{
    const sv_config *cfg = sv_g->cfg;
    if (cfg->health_off || !cfg->health_test)
        return;
    H.argv = split_test(cfg->health_test);
    if (!H.argv) {
        sv_log_sys("health: bad healthcheck test %s: not run", cfg->health_test);
        return;
    }
    H.on = true;
    H.started_ms = sv_now_ms();
    schedule();
}

void sv_health_stop(void)
{
    if (!H.on)
        return;
    sv_timer_stop(&H.next_t);
    sv_timer_stop(&H.timeout_t);
    if (H.pid > 0 && kill(-H.pid, SIGKILL) < 0)
        kill(H.pid, SIGKILL);
}

json_t *sv_health_json(void)
{
    if (!H.on)
        return NULL;
    json_t *log = json_array();
    for (int i = 0; i < H.nlog; i++) {
        json_t *out = json_stringn(H.log[i].output, strlen(H.log[i].output));
        if (!out) {
            /* not UTF-8: every byte above ASCII shown as '?' */
            char *c = nr_xstrdup(H.log[i].output);
            for (char *q = c; *q; q++)
                if ((unsigned char)*q >= 0x80)
                    *q = '?';
            out = json_string(c);
            free(c);
        }
        json_array_append_new(log, json_pack("{s:s,s:s,s:i,s:o}", "Start", H.log[i].start, "End", H.log[i].end,
                                             "ExitCode", H.log[i].code, "Output", out ? out : json_string("")));
    }
    return json_pack("{s:s,s:i,s:o}", "Status", status_names[H.status], "FailingStreak", H.streak, "Log", log);
}
