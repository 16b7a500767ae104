/* --jobs N: independent stages built at once (see build_int.h).
 *
 * The build state is one process's and not thread-safe, so each stage the
 * target needs (other than the target itself) is built by a forked nbuild
 * whose target is that stage: it plans the file up to it, runs its RUN
 * steps, and their layers land in the store and in the build cache (the
 * store is safe for concurrent writers, DESIGN.md).  A stage starts once
 * every stage it reads (FROM, COPY --from, RUN --mount from=) is done, at
 * most o->jobs at a time.  Then the ordinary sequential pass builds the
 * target, finding those steps in the cache: the result is the sequential
 * build's, digest for digest.  Under --no-cache the jobs run every step
 * too and the sequential pass takes from the cache only what they wrote in
 * this build (b->fresh_since).  A job's lines, its steps' output included,
 * start with its stage ("[deps] "): several stages interleave on plain
 * progress (BuildKit's plain view numbers them alike).  A failing stage stops the others (SIGTERM,
 * which a running step gets through the runtime's forwarding) and its
 * error, with its file:line:col, is the build's; so is a SIGINT/SIGTERM
 * to nbuild.  Nothing is tagged then: the sequential pass does not run. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/build_int.h"
#include "builder/context.h"
#include "common/util.h"

static volatile sig_atomic_t par_stop;

static void on_stop(int sig)
{
    par_stop = sig;
}

static void stage_label(const bld_state *t, size_t k, char *out, size_t cap)
{
    if (t->stage_names[k])
        snprintf(out, cap, "[%s] ", t->stage_names[k]);
    else
        snprintf(out, cap, "[stage-%zu] ", k);
}

/* The forked job: build stage k as the target, report an error on wfd. */
static _Noreturn void job(bld_state *parent, const bld_state *t, size_t k, int wfd)
{
    bld_opts o = *parent->o;
    o.tty = false; /* lines of several stages interleave: plain ones */
    o.jobs = 1;
    char label[160];
    stage_label(t, k, label, sizeof label);
    if (o.progress)
        setvbuf(o.progress, NULL, _IOLBF, 0);
    /* under --no-cache, what the jobs before this one built is fresh for
     * it too: a stage FROM another job's stage builds on that one's layers */
    bld_state c = {.s = parent->s, .o = &o, .only_stage = k + 1, .prefix = label, .fresh_since = parent->fresh_since};
    c.build_arg_used = nr_xcalloc(o.n_build_args + 1, sizeof *c.build_arg_used);
    c.cache_dir = nr_xstrdup(parent->cache_dir);
    nr_err e = {0};
    int rc = bld_read_nodefile(&c, &e);
    if (rc == 0)
        rc = bld_ctx_open(o.context, c.nodefile_disk, c.cache_dir, &c.ctx, &e);
    if (rc == 0)
        rc = bld_plan(&c, &e);
    for (size_t i = 0; i < c.n_downloads; i++)
        unlink(c.downloads[i]);
    if (rc < 0)
        (void)nr_write_all(wfd, e.msg, strlen(e.msg));
    if (o.progress)
        fflush(o.progress);
    fflush(stderr);
    _exit(rc < 0 ? 1 : 0);
}

int bld_par_prebuild(bld_state *b, nr_err *err)
{
    const bld_opts *o = b->o;
    if (o->jobs <= 1)
        return 0;
    bld_state t = {.s = b->s, .o = o, .f = b->f};
    /* every image the stages need, before any job starts (plan_from.c) */
    if (bld_stages_analyze(&t, err) < 0 || bld_images_precheck(&t, err) < 0) {
        bld_trees_free(&t);
        bld_vars_free(t.gargs, t.n_gargs);
        return -1;
    }
    size_t n = t.n_all_stages, want = 0;
    for (size_t k = 0; k < n; k++) {
        bool nc = false;
        for (size_t i = 0; t.stage_names[k] && i < o->n_no_cache_stages; i++)
            nc |= !strcasecmp(t.stage_names[k], o->no_cache_stages[i]);
        if (nc)
            t.stage_needed[k] = false; /* --no-cache-filter: built by the sequential pass only */
        want += t.stage_needed[k] && k != t.target;
    }
    if (want < 2) {
        bld_trees_free(&t);
        bld_vars_free(t.gargs, t.n_gargs);
        return 0; /* nothing runs beside anything else */
    }
    enum { WAIT, RUNNING, DONE } *state = nr_xcalloc(n, sizeof *state);
    pid_t *pid = nr_xcalloc(n, sizeof *pid);
    int *rfd = nr_xcalloc(n, sizeof *rfd);
    struct sigaction sa = {.sa_handler = on_stop}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    par_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    size_t running = 0;
    bool failed = false;
    int rc = 0;
    for (;;) {
        for (size_t k = 0; k < n && !failed && !par_stop && running < o->jobs; k++) {
            if (!t.stage_needed[k] || k == t.target || state[k] != WAIT)
                continue;
            bool ready = true;
            for (size_t d = 0; d < k; d++)
                ready &= !t.stage_deps[k][d] || !t.stage_needed[d] || state[d] == DONE;
            if (!ready)
                continue;
            int p[2];
            if (pipe2(p, O_CLOEXEC) < 0) {
                rc = nr_err_sys(err, errno, "pipe");
                failed = true;
                break;
            }
            if (o->progress)
                fflush(o->progress);
            fflush(stderr);
            pid_t self = getpid(), c = fork();
            if (c == 0) {
                close(p[0]);
                /* a killed nbuild (kill -9) takes its jobs with it; the next sweeps their steps */
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != self)
                    _exit(1);
                sigaction(SIGINT, &old_int, NULL);
                sigaction(SIGTERM, &old_term, NULL);
                job(b, &t, k, p[1]);
            }
            close(p[1]);
            if (c < 0) {
                close(p[0]);
                rc = nr_err_sys(err, errno, "fork");
                failed = true;
                break;
            }
            pid[k] = c, rfd[k] = p[0], state[k] = RUNNING;
            running++;
        }
        if (!running)
            break;
        int ws;
        pid_t w = waitpid(-1, &ws, 0);
        if (w < 0 && errno == EINTR) {
            for (size_t k = 0; k < n; k++)
                if (state[k] == RUNNING)
                    kill(pid[k], par_stop ? par_stop : SIGTERM);
            if (par_stop && !failed) {
                rc = nr_err_set(err, "interrupted (%s)", strsignal(par_stop));
                failed = true;
            }
            continue;
        }
        if (w < 0) {
            rc = nr_err_sys(err, errno, "waitpid");
            break;
        }
        size_t k = 0;
        while (k < n && !(state[k] == RUNNING && pid[k] == w))
            k++;
        if (k == n)
            continue;
        state[k] = DONE;
        running--;
        char msg[sizeof err->msg];
        size_t len = 0;
        ssize_t r;
        while (len < sizeof msg - 1 && (r = read(rfd[k], msg + len, sizeof msg - 1 - len)) > 0)
            len += (size_t)r;
        msg[len] = 0;
        close(rfd[k]);
        bool ok = WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
        if (!ok && !failed) {
            failed = true;
            char label[160];
            stage_label(&t, k, label, sizeof label);
            if (len)
                rc = nr_err_set(err, "%s", msg);
            else if (par_stop)
                rc = nr_err_set(err, "interrupted (%s)", strsignal(par_stop));
            else
                rc = nr_err_set(err, "stage %.150s: the job ended by signal %d", label, WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
            for (size_t j = 0; j < n; j++)
                if (state[j] == RUNNING)
                    kill(pid[j], SIGTERM);
        }
    }
    if (par_stop && !rc)
        rc = nr_err_set(err, "interrupted (%s)", strsignal(par_stop));
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(state);
    free(pid);
    free(rfd);
    bld_trees_free(&t);
    bld_vars_free(t.gargs, t.n_gargs);
    return rc < 0 ? -1 : 0;
}
