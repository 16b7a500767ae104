/* nrun stop [-t SECS] | kill [-s SIG] | rm [-f]: signal a container's PID 1
 * through a pidfd (opened, then checked against the recorded start time, so
 * a recycled pid is never signalled) and wait for its monitor to record the
 * exit.  A container whose monitor is gone is recorded here instead. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/signal.h"
#include "common/util.h"
#include "cli/cli.h"
#include "runtime/alert.h"
#include "runtime/create.h"
#include "runtime/events.h"
#include "runtime/runtime.h"

/* With the supervisor as PID 1 (nrun-init, always there), a stop is SIGTERM
 * to it: it drains and sends the image's STOPSIGNAL to the workers itself.
 * (The minimal init of `run -t` forwards what it gets.) */


static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The monitor is gone: its "oom" and "die" events come from here. */
static void ctr_died(const char *root, const rt_state *st)
{
    if (st->oom_killed)
        rt_event_container(root, "oom", st->id, st, NULL);
    json_t *x = json_object();
    json_object_set_new(x, "exitCode", json_sprintf("%d", st->exit_code));
    rt_event_container(root, "die", st->id, st, x);
    json_decref(x);
}

/* One event with one extra attribute. */
static void ctr_event1(const char *root, const char *action, const char *id, const char *k, const char *v)
{
    json_t *x = json_pack("{s:s}", k, v);
    rt_event_container(root, action, id, NULL, x);
    json_decref(x);
}

/* Wait until the monitor recorded the exit; record it ourselves when the
 * monitor is gone (its pid is dead) or takes too long. */
static void settle(const char *root, const char *id, int code_if_lost)
{
    long long deadline = now_ms() + 5000;
    for (;;) {
        rt_state st;
        nr_err ign;
        if (rt_state_read(root, id, &st, &ign) < 0)
            return;
        bool done = strcmp(st.status, "running") != 0;
        bool monitor_alive = rt_state_monitor_alive(&st);
        if (!done && (!monitor_alive || now_ms() > deadline)) {
            rt_cgroup cg;
            rt_cgroup_from_json(st.cgroups, &cg);
            st.oom_killed = rt_cgroup_oom_killed(&cg);
            rt_cgroup_destroy(&cg, &ign);
            rt_cgroup_free(&cg);
            st.status = "exited";
            st.exit_code = code_if_lost;
            st.finished = time(NULL);
            json_decref(st.cgroups);
            st.cgroups = json_array();
            rt_state_write(root, &st, &ign);
            ctr_died(root, &st);
            done = true;
        }
        rt_state_free(&st);
        if (done)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* No restart after an explicit stop: the monitor's restart loop looks for this mark. */
static void mark_stopping(const char *root, const char *id)
{
    cleanup_free char *mark = nr_xasprintf("%s/containers/%s/stopping", root, id);
    int mfd = open(mark, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (mfd >= 0)
        close(mfd);
}

/* The container's stop signal (its image's STOPSIGNAL), from config.json; TERM if unreadable. */
static int ctr_stop_signal(const char *root, const char *id)
{
    cleanup_free char *dir = rt_ctr_dir(root, id);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rt_spec spec;
    nr_err ign;
    int sig = SIGTERM;
    if (dfd >= 0 && rt_spec_load(dfd, "config.json", &spec, &ign) == 0) {
        sig = spec.stop_signal;
        rt_spec_free(&spec);
    }
    return sig;
}

/* A kill that ends the container (KILL, TERM, INT, QUIT or its own stop
 * signal) turns its restart policy off until it is started again, as
 * docker's does; USR1 and the like leave the policy alone. */
static bool kill_is_fatal(const char *root, const char *id, int sig)
{
    return sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT || ctr_stop_signal(root, id) == sig;
}

/* locked: the caller holds the container's start lock (rm); else a start
 * in progress is waited out here, so the stop finds it running, or its
 * monitor finds the mark and does not start it. */
/* A paused container is thawed before it is stopped, killed or removed, as
 * docker does: a frozen process neither answers the control socket nor dies. */
static void thaw_if_paused(const rt_state *st)
{
    if (!rt_state_paused(st))
        return;
    rt_cgroup cg;
    rt_cgroup_from_json(st->cgroups, &cg);
    nr_err ign;
    rt_cgroup_freeze(&cg, false, &ign);
    rt_cgroup_free(&cg);
}

static int stop_one(const char *root, const char *ref, int timeout_s, int force_sig, bool locked, nr_err *err)
{
    char id[65];
    rt_state st;
    if (rt_container_find(root, ref, id, err) < 0)
        return -1;
    int lock = locked ? -1 : rt_ctr_lock(root, id, err);
    if (!locked && lock < 0)
        return err->errnum == ENOENT ? nr_err_set(err, "no such container: %s", ref) : -1;
    if (rt_state_read(root, id, &st, err) < 0) {
        if (lock >= 0)
            close(lock);
        return -1;
    }
    mark_stopping(root, id);
    if (lock >= 0)
        close(lock);
    thaw_if_paused(&st);
    int sig = force_sig;
    if (!sig)
        sig = SIGTERM;
    cleanup_close int pfd = !strcmp(st.status, "running") ? rt_state_pidfd(&st) : -1;
    /* between two runs the monitor only waits out its backoff: end it there */
    if (!strcmp(rt_state_live_status(&st), "restarting")) {
        /* by pidfd, checked to be the monitor still: never a reused pid */
        int mfd = (int)syscall(SYS_pidfd_open, st.monitor_pid, 0);
        if (mfd >= 0 && rt_state_monitor_alive(&st)) {
            syscall(SYS_pidfd_send_signal, mfd, SIGKILL, NULL, 0);
            struct pollfd mp = {.fd = mfd, .events = POLLIN};
            poll(&mp, 1, 2000);
        }
        if (mfd >= 0)
            close(mfd);
    }
    rt_state_free(&st);
    if (pfd >= 0) {
        /* The supervisor stops gracefully on its control socket, sending the
         * image's STOPSIGNAL to the app; a signal to PID 1 is only the fallback
         * (a raw signal is forwarded as it is, like `nrun kill`). */
        bool asked = false;
        if (!force_sig) {
            nr_global g = {.root = root, .prog = "nrun"};
            nr_err ign = {0};
            cleanup_free char *reply = sv_control_call(&g, id, NULL, "{\"cmd\":\"stop\"}", 2000, &ign);
            asked = reply && strstr(reply, "\"ok\":true");
        }
        if (!asked)
            syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
        char sn[16];
        snprintf(sn, sizeof sn, "%d", sig);
        ctr_event1(root, "kill", id, "signal", sn);
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        if (sig != SIGKILL && poll(&p, 1, timeout_s * 1000) == 0)
            syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
        poll(&p, 1, 10000);
    }
    settle(root, id, 128 + SIGKILL);
    if (pfd >= 0)
        rt_event_container(root, "stop", id, NULL, NULL);
    return 0;
}

/* -t of stop and restart: whole seconds, 0..86400. */
static int stop_seconds(const char *arg, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < 0 || v > 86400)
        return -1;
    *out = (int)v;
    return 0;
}

int nr_cmd_stop(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"time", 't', required_argument, "SECONDS", "wait this long for a graceful stop, then SIGKILL (default 10)"},
        {0},
    };
    static const nr_cmdspec spec = {"stop [OPTIONS] CONTAINER...", "Stop running containers: the image's "
                                    "STOPSIGNAL (SIGTERM), then SIGKILL after the timeout.", opts, true};
    int t = 10, c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == 't') {
            if (stop_seconds(optarg, &t) < 0)
                return nr_usage_error(g, "stop: -t %s: expected seconds", optarg);
        } else {
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    int i = optind;
    if (i >= argc)
        return nr_usage_error(g, "stop: which container?");
    int rc = 0;
    for (; i < argc; i++) {
        nr_err err = {0};
        if (stop_one(g->root, argv[i], t, 0, false, &err) < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        else
            printf("%s\n", argv[i]);
    }
    return rc;
}

static pid_t ppid_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* comm may hold anything: fields restart after it */
    int ppid;
    return p && sscanf(p + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : -1;
}

/* SIGSTOP cannot be caught, so PID 1 cannot forward it, and sent to PID 1 it
 * stops the supervisor while the app runs on.  It goes to PID 1's children
 * instead (the workers, or -t's app), found in the container's cgroup: where
 * PID 1 forwards every other signal, so the SIGCONT it forwards resumes them.
 * Each one is checked to be PID 1's child again through its pidfd. */
static int stop_children(const rt_state *st, nr_err *err)
{
    rt_cgroup cg;
    rt_cgroup_from_json(st->cgroups, &cg);
    cleanup_free char *procs = cg.n ? nr_xasprintf("%s/cgroup.procs", cg.paths[0]) : NULL;
    rt_cgroup_free(&cg);
    cleanup_fclose FILE *f = procs ? fopen(procs, "re") : NULL;
    if (!f)
        return nr_err_sys(err, procs ? errno : ENOENT, "container %.12s: its processes", st->id);
    int n = 0, pid;
    while (fscanf(f, "%d", &pid) == 1) {
        if (pid == st->pid || ppid_of(pid) != st->pid)
            continue;
        cleanup_close int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pfd >= 0 && ppid_of(pid) == st->pid && syscall(SYS_pidfd_send_signal, pfd, SIGSTOP, NULL, 0) == 0)
            n++;
    }
    if (n == 0)
        return nr_err_set(err, "container %.12s has no process for PID 1 to stop", st->id);
    return 0;
}

int nr_cmd_kill(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"signal", 's', required_argument, "SIGNAL", "the signal to send (default KILL): a name or a number"},
        {0},
    };
    static const nr_cmdspec spec = {"kill [OPTIONS] CONTAINER...", "Send a signal to the PID 1 of running containers.",
                                    opts, true};
    int sig = SIGKILL, c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == 's') {
            const char *name = optarg;
            sig = nr_signal_parse(name);
            if (sig < 0)
                return nr_usage_error(g, "kill: -s \"%s\": unknown signal (a name like TERM or SIGRTMIN+1, or 1..64)",
                                      name);
        } else {
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    int i = optind;
    if (i >= argc)
        return nr_usage_error(g, "kill: which container?");
    int rc = 0;
    for (; i < argc; i++) {
        nr_err err = {0};
        char id[65];
        rt_state st;
        if (rt_container_state(g->root, argv[i], id, &st, &err) < 0) {
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
            continue;
        }
        int pfd = !strcmp(rt_state_live_status(&st), "running") ? rt_state_pidfd(&st) : -1;
        if (pfd < 0) {
            rt_state_free(&st);
            nr_err_set(&err, "container %s is not running", argv[i]);
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
            continue;
        }
        if (kill_is_fatal(g->root, id, sig))
            mark_stopping(g->root, id);
        thaw_if_paused(&st);
        int r = sig == SIGSTOP ? stop_children(&st, &err) : 0;
        rt_state_free(&st);
        if (r < 0) {
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        } else if (sig != SIGSTOP && syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0) {
            nr_err_sys(&err, errno, "kill %s", argv[i]);
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        } else {
            char sn[16];
            snprintf(sn, sizeof sn, "%d", sig);
            ctr_event1(g->root, "kill", id, "signal", sn);
            printf("%s\n", argv[i]);
        }
        close(pfd);
    }
    return rc;
}

/* The name (or short id) of another container that binds one of id's
 * anonymous volumes (containers/<id>/volumes/...), NULL if none (malloc'd). */
char *nr_ctr_volume_user(const char *root, const char *id)
{
    char **ids = NULL;
    size_t n = 0;
    nr_err ign = {0};
    if (rt_container_list(root, &ids, &n, &ign) < 0)
        return NULL;
    cleanup_free char *mine = nr_xasprintf("%s/containers/%s/volumes/", root, id);
    size_t ml = strlen(mine);
    char *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!found && strcmp(ids[i], id)) {
            cleanup_free char *path = nr_xasprintf("%s/containers/%s/config.json", root, ids[i]);
            json_auto_t *cfg = json_load_file(path, 0, NULL);
            size_t k;
            json_t *m;
            json_array_foreach(json_object_get(cfg, "mounts"), k, m)
            {
                const char *src = json_string_value(json_object_get(m, "source"));
                if (!found && src && !strncmp(src, mine, ml)) {
                    rt_state st;
                    if (rt_state_read(root, ids[i], &st, &ign) == 0) {
                        found = st.name ? nr_xstrdup(st.name) : nr_xstrndup(ids[i], 12);
                        rt_state_free(&st);
                    } else {
                        found = nr_xstrndup(ids[i], 12);
                    }
                }
            }
        }
        free(ids[i]);
    }
    free(ids);
    return found;
}

int nr_cmd_rm(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"force", 'f', no_argument, NULL, "remove a running container too (it is killed)"},
        {"volumes", 'v', no_argument, NULL, "remove anonymous volumes (they always go with the container)"},
        {0},
    };
    static const nr_cmdspec spec = {"rm [OPTIONS] CONTAINER...", "Remove containers.", opts, true};
    bool force = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == 'f')
            force = true;
        else if (c == 'v')
            ; /* anonymous volumes live in the container dir and always go with it */
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    int i = optind;
    if (i >= argc)
        return nr_usage_error(g, "rm: which container?");
    int rc = 0;
    for (; i < argc; i++) {
        nr_err err = {0};
        char id[65];
        if (rt_container_find(g->root, argv[i], id, &err) < 0) {
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
            continue;
        }
        /* an anonymous volume of this container that another one took
         * with --volumes-from: removing it would delete the other's data
         * (docker keeps a volume in use) */
        cleanup_free char *user = nr_ctr_volume_user(g->root, id);
        if (user) {
            nr_err_set(&err, "container %s: its anonymous volume is in use by container %s (--volumes-from): remove "
                       "that one first", argv[i], user);
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
            continue;
        }
        /* wait out a start in progress: its cgroups are named in its state
         * only once it is running, and then -f stops it */
        cleanup_close int lock = rt_ctr_lock(g->root, id, &err);
        if (lock < 0) {
            if (err.errnum == ENOENT)
                nr_err_set(&err, "no such container: %s", argv[i]);
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
            continue;
        }
        rt_state st;
        if (!force && rt_state_read(g->root, id, &st, &err) == 0) {
            const char *live = rt_state_live_status(&st);
            bool running = !strcmp(live, "running") || !strcmp(live, "restarting");
            cleanup_free char *what = nr_xstrdup(live);
            rt_state_free(&st);
            if (running) {
                nr_err_set(&err, "container %s is %s: stop it first or use rm -f", argv[i], what);
                rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
                continue;
            }
        }
        if (force && stop_one(g->root, id, 0, SIGKILL, true, &err) < 0) {
            /* a state that cannot be read names no process to stop: remove the rest */
            rt_state chk;
            nr_err ign = {0};
            int readable = rt_state_read(g->root, id, &chk, &ign) == 0;
            if (readable)
                rt_state_free(&chk);
            if (readable || ign.errnum == ENOENT) {
                rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
                continue;
            }
            memset(&err, 0, sizeof err);
        }
        /* a monitor may still be finishing its bookkeeping: let it */
        settle(g->root, id, 128 + SIGKILL);
        if (rt_container_remove(g->root, id, &err) < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        else
            printf("%s\n", argv[i]);
    }
    return rc;
}

/* ---- start, restart, wait, rename ---- */

/* Start a created or exited container under its monitor; a running one is
 * left alone (docker's start is idempotent).  attach: in the foreground,
 * its output here and its exit code ours. */
static int start_one(nr_global *g, const char *ref, bool attach, nr_err *err)
{
    char id[65];
    rt_state st;
    if (rt_container_state(g->root, ref, id, &st, err) < 0)
        return -1;
    const char *live = rt_state_live_status(&st);
    bool running = !strcmp(live, "running") || !strcmp(live, "restarting");
    bool monitor = rt_state_monitor_alive(&st);
    if (monitor && !running) {
        /* an exit just recorded: its monitor is finishing (events, marks); wait for it, briefly */
        int mfd = (int)syscall(SYS_pidfd_open, st.monitor_pid, 0);
        if (mfd >= 0 && rt_state_monitor_alive(&st)) {
            struct pollfd mp = {.fd = mfd, .events = POLLIN};
            monitor = poll(&mp, 1, 5000) == 0;
        } else {
            monitor = mfd >= 0;
        }
        if (mfd >= 0)
            close(mfd);
    }
    rt_state_free(&st);
    if (running)
        return 0;
    /* an ended container's monitor may still be letting its networks go
     * (CNI DEL runs after the exit is recorded): give it a moment */
    for (int i = 0; monitor && i < 500; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (rt_state_read(g->root, id, &st, err) < 0)
            return -1;
        monitor = rt_state_monitor_alive(&st) && strcmp(rt_state_live_status(&st), "running");
        rt_state_free(&st);
    }
    if (monitor)
        return nr_err_set(err, "container %s is being stopped or removed: try again", ref);
    /* this nrun is its monitor from here (the detached one's parent until
     * it runs): a ps meanwhile must not take a create --rm container for
     * an orphan (its monitor, the create, long gone) and remove it */
    int lock = rt_ctr_lock(g->root, id, err);
    if (lock < 0)
        return err->errnum == ENOENT ? nr_err_set(err, "no such container: %s", ref) : -1;
    if (rt_state_read(g->root, id, &st, err) < 0) {
        close(lock);
        return -1;
    }
    st.monitor_pid = getpid();
    st.monitor_start = rt_pid_start_time(st.monitor_pid);
    int wr = rt_state_write(g->root, &st, err);
    rt_state_free(&st);
    close(lock);
    if (wr < 0)
        return -1;
    rt_run_params rp;
    if (nr_run_params_load(g, id, &rp, err) < 0)
        return -1;
    /* the monitor writes health_status events (the --alert rules of run
     * are not kept in run.json: `start` brings back health events only) */
    static rt_alerts health;
    rt_alerts_init(&health);
    health.stats = nr_monitor_stats;
    rp.alerts = &health;
    if (attach) {
        int code = rt_run_foreground(g->root, id, &rp, err);
        return code < 0 ? -1 : code;
    }
    return rt_run_detached(g->root, id, &rp, err);
}

int nr_cmd_start(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"attach", 'a', no_argument, NULL, "in the foreground: its output here, its exit code ours"},
        {0},
    };
    static const nr_cmdspec spec = {"start [OPTIONS] CONTAINER...",
                                    "Start created or stopped containers (with the restart policy they were made "
                                    "with).", opts, true};
    bool attach = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == 'a')
            attach = true;
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    if (optind >= argc)
        return nr_usage_error(g, "start: which container?");
    if (attach && argc - optind != 1)
        return nr_usage_error(g, "start: -a takes one container");
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        nr_err err = {0};
        int r = start_one(g, argv[i], attach, &err);
        if (r < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        else if (attach)
            return r;
        else
            printf("%s\n", argv[i]);
    }
    return rc;
}

int nr_cmd_restart(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"time", 't', required_argument, "SECONDS", "wait this long for a graceful stop, then SIGKILL (default 10)"},
        {0},
    };
    static const nr_cmdspec spec = {"restart [OPTIONS] CONTAINER...", "Stop containers (if running), then start them.",
                                    opts, true};
    int t = 10, c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == 't') {
            if (stop_seconds(optarg, &t) < 0)
                return nr_usage_error(g, "restart: -t %s: expected seconds", optarg);
        } else {
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return nr_usage_error(g, "restart: which container?");
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        nr_err err = {0};
        char id[65];
        if (stop_one(g->root, argv[i], t, 0, false, &err) < 0 || start_one(g, argv[i], false, &err) < 0) {
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        } else {
            if (rt_container_find(g->root, argv[i], id, &err) == 0)
                rt_event_container(g->root, "restart", id, NULL, NULL);
            printf("%s\n", argv[i]);
        }
    }
    return rc;
}

/* Block until the container has exited (state written by its monitor); its code. */
static int wait_one(nr_global *g, const char *ref, int *code, nr_err *err)
{
    char id[65];
    if (rt_container_find(g->root, ref, id, err) < 0)
        return -1;
    for (;;) {
        rt_state st;
        if (rt_state_read(g->root, id, &st, err) < 0)
            return -1; /* removed meanwhile (--rm): docker says the same */
        const char *live = rt_state_live_status(&st);
        bool exited = !strcmp(live, "exited") && (!rt_state_monitor_alive(&st) || strcmp(st.status, "running"));
        *code = st.exit_code;
        cleanup_close int pfd = !strcmp(live, "running") ? rt_state_pidfd(&st) : -1;
        rt_state_free(&st);
        if (exited && strcmp(live, "restarting"))
            return 0;
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            poll(&p, 1, 1000);
        }
        struct timespec ts = {0, 50 * 1000000L}; /* the monitor writes the code just after */
        nanosleep(&ts, NULL);
    }
}

int nr_cmd_wait(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {{0}};
    static const nr_cmdspec spec = {"wait CONTAINER...", "Block until containers stop, then print their exit codes.",
                                    opts, true};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    if (optind >= argc)
        return nr_usage_error(g, "wait: which container?");
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        nr_err err = {0};
        int code;
        if (wait_one(g, argv[i], &code, &err) < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        else
            printf("%d\n", code);
        fflush(stdout);
    }
    return rc;
}

int nr_cmd_rename(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {{0}};
    static const nr_cmdspec spec = {"rename CONTAINER NEW_NAME", "Rename a container.", opts, false};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    if (argc - optind != 2)
        return nr_usage_error(g, "rename: needs CONTAINER and NEW_NAME");
    nr_err err = {0};
    char id[65];
    rt_state st;
    if (rt_container_state(g->root, argv[optind], id, &st, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    cleanup_free char *old = nr_xasprintf("/%s", st.name ? st.name : "");
    rt_state_free(&st);
    if (rt_container_rename(g->root, argv[optind], argv[optind + 1], &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    ctr_event1(g->root, "rename", id, "oldName", old);
    return 0;
}
