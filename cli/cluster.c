/* `nrun reload|scale|stats|top|monit|loglevel|dye ID` (or `--control PATH` instead of ID): thin
 * clients of the control socket. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include "common/util.h"
#include "cli/cli.h"
#include "runtime/runtime.h"
#include "runtime/supervisor/options.h"
#include "runtime/supervisor/supervisor.h"

typedef struct ctl_args {
    const char *id, *path;
    const char *extra;   /* the one extra positional (scale N) */
    bool json;
} ctl_args;

enum { OPT_CONTROL = NR_OPT_LONG, OPT_JSON, OPT_FORMAT };
static const nr_opt ctl_opts[] = {
    {"control", OPT_CONTROL, required_argument, "PATH", "talk to this control socket instead of a container's"},
    {"json", OPT_JSON, no_argument, NULL, "print the supervisor's reply as JSON"},
    {"format", OPT_FORMAT, required_argument, "FORMAT", "table (default) or json"},
    {0},
};
static const nr_opt ctl_opts_nojson[] = {
    {"control", OPT_CONTROL, required_argument, "PATH", "talk to this control socket instead of a container's"},
    {0},
};

/* Options first (a scale count may be "-2"), then the ID and the extra operand.
 * Returns 0 to go on, or the exit code (-1 for --help: exit 0). */
static int parse(const nr_cmdspec *spec, int argc, char **argv, nr_global *g, ctl_args *a, bool want_extra)
{
    memset(a, 0, sizeof *a);
    int c;
    while ((c = nr_opt_next(spec, argc, argv, g)) != -1) {
        if (c == OPT_CONTROL)
            a->path = optarg;
        else if (c == OPT_JSON)
            a->json = true;
        else if (c == OPT_FORMAT && (!strcmp(optarg, "json") || !strcmp(optarg, "table")))
            a->json = !strcmp(optarg, "json");
        else if (c == OPT_FORMAT)
            return nr_usage_error(g, "%s: --format %s: table or json", argv[0], optarg);
        else
            return c == NR_OPT_HELP ? -1 : NR_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            continue; /* the end of options scale puts before a "-N" */
        if (!a->id && !a->path) {
            a->id = argv[i];
        } else if (want_extra && !a->extra) {
            a->extra = argv[i];
        } else {
            return nr_usage_error(g, "%s: unexpected argument %s", argv[0], argv[i]);
        }
    }
    /* With --control, the first positional is the extra argument. */
    if (a->path && a->id && want_extra && !a->extra) {
        a->extra = a->id;
        a->id = NULL;
    }
    if (!a->id && !a->path)
        return nr_usage_error(g, "%s: which container? (ID or --control PATH)", argv[0]);
    if (want_extra && !a->extra)
        return nr_usage_error(g, "%s: missing argument", argv[0]);
    return 0;
}

static int call(nr_global *g, ctl_args *a, const char *req, int timeout_ms, json_t **out)
{
    nr_err err = {0};
    cleanup_free char *reply = sv_control_call(g, a->id, a->path, req, timeout_ms, &err);
    if (!reply)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    json_t *r = json_loads(reply, 0, NULL);
    if (!r || !json_is_object(r)) {
        json_decref(r);
        cleanup_free char *shown = nr_escape_controls(reply);
        fprintf(stderr, "%s: bad reply from the supervisor: %.200s\n", g->prog, shown);
        return NR_EXIT_FAIL;
    }
    if (!json_is_true(json_object_get(r, "ok"))) {
        const char *e = json_string_value(json_object_get(r, "error"));
        cleanup_free char *shown = nr_escape_controls(e ? e : "failed");
        fprintf(stderr, "%s: %s\n", g->prog, shown);
        json_decref(r);
        return NR_EXIT_FAIL;
    }
    *out = r;
    return 0;
}

int nr_cmd_reload(int argc, char **argv, nr_global *g)
{
    ctl_args a;
    json_t *r;
    static const nr_cmdspec spec = {"reload [OPTIONS] CONTAINER", "Replace the workers of a container one by one, "
                                    "each new one ready before the old one drains (zero downtime).", ctl_opts_nojson, true};
    int rc = parse(&spec, argc, argv, g, &a, false);
    if (rc)
        return rc < 0 ? 0 : rc;
    /* A reload takes as long as its workers take to start: wait generously. */
    if ((rc = call(g, &a, "{\"cmd\":\"reload\"}", 600000, &r)))
        return rc;
    long long nrep = (long long)json_integer_value(json_object_get(r, "replaced"));
    printf("reloaded: %lld worker%s replaced\n", nrep, nrep == 1 ? "" : "s");
    json_decref(r);
    return 0;
}

int nr_cmd_scale(int argc, char **argv, nr_global *g)
{
    ctl_args a;
    json_t *r;
    static const nr_cmdspec spec = {"scale [OPTIONS] CONTAINER N|+N|-N|max",
                                    "Set the number of workers of a container (+N / -N: that many more or fewer, "
                                    "max: one per CPU), as pm2 scale.", ctl_opts_nojson, false};
    /* "-2" is a count, not an option: options end before it */
    cleanup_free char **av = nr_xcalloc((size_t)argc + 2, sizeof *av);
    int ac = 0;
    for (int i = 0, cut = 0; i < argc; i++) {
        if (!cut && i > 0 && argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9')
            av[ac++] = "--", cut = 1;
        av[ac++] = argv[i];
    }
    int rc = parse(&spec, ac, av, g, &a, true);
    if (rc)
        return rc < 0 ? 0 : rc;
    char *end;
    long n;
    if (!strcmp(a.extra, "max")) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
    } else {
        n = strtol(a.extra, &end, 10);
        if (*end || end == a.extra)
            return nr_usage_error(g, "scale: %s: expected N, +N, -N or max", a.extra);
    }
    if (a.extra[0] == '+' || a.extra[0] == '-') { /* relative to the workers it has now */
        if ((rc = call(g, &a, "{\"cmd\":\"ps\"}", 10000, &r)))
            return rc;
        long now = (long)json_array_size(json_object_get(r, "workers"));
        json_decref(r);
        n += now;
    }
    if (n < 1 || n > 256)
        return nr_usage_error(g, "scale: %s: that makes %ld workers, expected 1..256", a.extra, n);
    char req[64];
    snprintf(req, sizeof req, "{\"cmd\":\"scale\",\"workers\":%ld}", n);
    if ((rc = call(g, &a, req, 10000, &r)))
        return rc;
    json_decref(r);
    return 0;
}

static void human_ms(long long ms, char *out, size_t n)
{
    if (ms < 60000)
        snprintf(out, n, "%llds", ms / 1000);
    else if (ms < 3600000)
        snprintf(out, n, "%lldm%llds", ms / 60000, ms / 1000 % 60);
    else
        snprintf(out, n, "%lldh%lldm", ms / 3600000, ms / 60000 % 60);
}

static int table(const nr_cmdspec *spec, int argc, char **argv, nr_global *g, bool full)
{
    ctl_args a;
    json_t *r;
    int rc = parse(spec, argc, argv, g, &a, false);
    if (rc)
        return rc < 0 ? 0 : rc;
    if ((rc = call(g, &a, full ? "{\"cmd\":\"stats\"}" : "{\"cmd\":\"ps\"}", 10000, &r)))
        return rc;
    if (a.json) {
        char *s = json_dumps(r, JSON_COMPACT);
        puts(s ? s : "{}");
        free(s);
        json_decref(r);
        return 0;
    }
    if (full)
        printf("%-7s %-8s %-9s %-8s %-8s %-6s %-9s %-6s %-8s %-8s %-6s %s\n", "WORKER", "PID", "STATE", "UPTIME",
               "RESTARTS", "CPU%", "RSS", "CONNS", "LAG", "REQ/S", "ERR%", "P99");
    else
        printf("%-7s %-8s %-9s %-8s %s\n", "WORKER", "PID", "STATE", "UPTIME", "RESTARTS");
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(r, "workers"), i, w)
    {
        char up[32], rss[32], lag[32] = "-", rps[32] = "-", errp[32] = "-", p99[32] = "-";
        /* the state is the supervisor's word: shown with its controls escaped */
        const char *sv = json_string_value(json_object_get(w, "state"));
        cleanup_free char *state = nr_escape_controls(sv ? sv : "?");
        human_ms(json_integer_value(json_object_get(w, "uptime_ms")), up, sizeof up);
        nr_human_size((unsigned long long)json_integer_value(json_object_get(w, "rss")), rss, sizeof rss);
        json_t *l = json_object_get(w, "lag_ms");
        if (l)
            snprintf(lag, sizeof lag, "%.1fms", json_number_value(l));
        /* from the agent's request metrics (absent without the agent, or before its first batch) */
        if (json_object_get(w, "rps")) {
            snprintf(rps, sizeof rps, "%.1f", json_number_value(json_object_get(w, "rps")));
            snprintf(errp, sizeof errp, "%.1f", 100.0 * json_number_value(json_object_get(w, "error_rate")));
        }
        json_t *p = json_object_get(w, "p99_ms");
        if (json_is_number(p))
            snprintf(p99, sizeof p99, "%gms", json_number_value(p));
        else if (json_is_string(p))
            snprintf(p99, sizeof p99, ">10s");
        if (full)
            printf("%-7lld %-8lld %-9s %-8s %-8lld %-6.1f %-9s %-6lld %-8s %-8s %-6s %s\n",
                   (long long)json_integer_value(json_object_get(w, "worker")),
                   (long long)json_integer_value(json_object_get(w, "pid")),
                   state, up, (long long)json_integer_value(json_object_get(w, "restarts")),
                   json_number_value(json_object_get(w, "cpu")), rss,
                   (long long)json_integer_value(json_object_get(w, "connections")), lag, rps, errp, p99);
        else
            printf("%-7lld %-8lld %-9s %-8s %lld\n", (long long)json_integer_value(json_object_get(w, "worker")),
                   (long long)json_integer_value(json_object_get(w, "pid")), state, up,
                   (long long)json_integer_value(json_object_get(w, "restarts")));
    }
    json_decref(r);
    return 0;
}

/* `nrun stats` without a container: one row per running container, as
 * docker's stats, from each supervisor's own figures (its workers summed). */
static int stats_all(nr_global *g, bool json, bool stream)
{
    for (;;) {
        char **ids = NULL;
        size_t n = 0;
        nr_err err = {0};
        if (rt_container_list(g->root, &ids, &n, &err) < 0)
            return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        char **lines = nr_xcalloc(n + 2, sizeof *lines);
        size_t nl = 0;
        if (!json)
            lines[nl++] = nr_xstrdup("CONTAINER ID\tNAME\tCPU %\tMEM USAGE\tWORKERS\tRESTARTS");
        for (size_t i = 0; i < n; i++) {
            rt_state st;
            nr_err ign = {0};
            if (rt_state_read(g->root, ids[i], &st, &ign) == 0) {
                if (!strcmp(rt_state_live_status(&st), "running")) {
                    cleanup_free char *reply = sv_control_call(g, st.id, NULL, "{\"cmd\":\"stats\"}", 3000, &ign);
                    json_t *r = reply ? json_loads(reply, 0, NULL) : NULL;
                    double cpu = 0;
                    long long rss = 0;
                    size_t k;
                    json_t *w;
                    json_array_foreach(json_object_get(r, "workers"), k, w)
                    {
                        cpu += json_number_value(json_object_get(w, "cpu"));
                        rss += json_integer_value(json_object_get(w, "rss"));
                    }
                    size_t nw = json_array_size(json_object_get(r, "workers"));
                    long long restarts = json_integer_value(json_object_get(r, "restarts"));
                    cleanup_free char *name = nr_escape_controls(st.name);
                    if (json) {
                        json_t *o = json_pack("{s:s, s:s, s:f, s:I, s:i, s:I}", "ID", st.id, "Name", st.name, "CPUPerc",
                                              cpu, "MemUsage", (json_int_t)rss, "Workers", (int)nw, "Restarts",
                                              (json_int_t)restarts);
                        char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                        printf("%s\n", t);
                        free(t);
                        json_decref(o);
                    } else {
                        char mem[32];
                        nr_human_size((unsigned long long)rss, mem, sizeof mem);
                        lines[nl++] = r ? nr_xasprintf("%.12s\t%s\t%.2f%%\t%s\t%zu\t%lld", st.id, name, cpu, mem, nw,
                                                       restarts)
                                        : nr_xasprintf("%.12s\t%s\t-\t-\t-\t-", st.id, name);
                    }
                    json_decref(r);
                }
                rt_state_free(&st);
            }
            free(ids[i]);
        }
        free(ids);
        if (stream && isatty(STDOUT_FILENO))
            fputs("\033[H\033[2J", stdout); /* redraw in place, as docker's stats does */
        nr_table_print(lines, nl, stdout);
        for (size_t i = 0; i < nl; i++)
            free(lines[i]);
        free(lines);
        fflush(stdout);
        if (!stream)
            return 0;
        sleep(1);
    }
}

int nr_cmd_stats(int argc, char **argv, nr_global *g)
{
    enum { O_NOSTREAM = NR_OPT_LONG + 10 };
    static const nr_opt opts[] = {
        {"control", OPT_CONTROL, required_argument, "PATH", "talk to this control socket instead of a container's"},
        {"json", OPT_JSON, no_argument, NULL, "print the supervisor's reply as JSON"},
        {"format", OPT_FORMAT, required_argument, "FORMAT", "table (default) or json"},
        {"no-stream", O_NOSTREAM, no_argument, NULL, "print once (without a container: else every second)"},
        {0},
    };
    static const nr_cmdspec spec = {"stats [OPTIONS] [CONTAINER]",
                                    "Without a container: CPU, memory, workers and restarts of every running "
                                    "container (refreshed every second unless --no-stream).  With one: its workers' "
                                    "state, uptime, restarts, CPU, memory, connections, event-loop lag.", opts, true};
    /* no container and no --control: the all-containers view */
    bool any_operand = false, control = false, json = false, stream = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--control") || !strncmp(a, "--control=", 10))
            control = true, i += a[9] == 0;
        else if (!strcmp(a, "--format"))
            i++;
        else if (a[0] != '-')
            any_operand = true;
    }
    if (any_operand || control) {
        /* drop --no-stream: one container's view is printed once */
        int k = 0;
        for (int i = 0; i < argc; i++)
            if (strcmp(argv[i], "--no-stream"))
                argv[k++] = argv[i];
        argv[k] = NULL;
        return table(&spec, k, argv, g, true);
    }
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == OPT_JSON)
            json = true;
        else if (c == O_NOSTREAM)
            stream = false;
        else if (c == OPT_FORMAT && (!strcmp(optarg, "json") || !strcmp(optarg, "table")))
            json = !strcmp(optarg, "json");
        else if (c == OPT_FORMAT)
            return nr_usage_error(g, "stats: --format %s: table or json", optarg);
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    return stats_all(g, json, stream && !json);
}

/* The processes of a container's cgroup, as docker's top (ps -ef) shows them. */
static int top_processes(nr_global *g, const char *ref)
{
    char id[65];
    nr_err err = {0};
    rt_state st;
    if (rt_container_state(g->root, ref, id, &st, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    bool running = !strcmp(rt_state_live_status(&st), "running");
    cleanup_free char *live = nr_xstrdup(rt_state_live_status(&st));
    cleanup_free char *procs = NULL;
    rt_cgroup cg;
    rt_cgroup_from_json(st.cgroups, &cg);
    for (size_t i = 0; running && i < cg.n && !procs; i++) {
        cleanup_free char *path = nr_xasprintf("%s/cgroup.procs", cg.paths[i]);
        size_t len;
        if (nr_read_file(AT_FDCWD, path, 1 << 20, &procs, &len, &err) < 0)
            procs = NULL;
    }
    rt_cgroup_free(&cg);
    rt_state_free(&st);
    if (!running) {
        fprintf(stderr, "%s: container %s is not running (%s)\n", g->prog, ref, live);
        return NR_EXIT_FAIL;
    }
    long hz = sysconf(_SC_CLK_TCK);
    char **lines = nr_xcalloc(1025, sizeof *lines);
    size_t nl = 0;
    lines[nl++] = nr_xstrdup("UID\tPID\tPPID\tTIME\tCMD");
    for (char *save = NULL, *t = procs ? strtok_r(procs, "\n", &save) : NULL; t && nl < 1024; t = strtok_r(NULL, "\n", &save)) {
        int pid = atoi(t);
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        cleanup_free char *stat = NULL, *cmd = NULL, *status = NULL;
        size_t len;
        if (nr_read_file(AT_FDCWD, path, 4096, &stat, &len, &err) < 0)
            continue;
        const char *rp = strrchr(stat, ')');
        int ppid = 0;
        unsigned long long ut = 0, stt = 0;
        if (!rp || sscanf(rp + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ppid, &ut, &stt) != 3)
            continue;
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        if (nr_read_file(AT_FDCWD, path, 4096, &cmd, &len, &err) < 0 || !len) {
            /* a kernel thread or a zombie: its name in brackets */
            const char *lp = strchr(stat, '(');
            cmd = lp && rp > lp ? nr_xasprintf("[%.*s]", (int)(rp - lp - 1), lp + 1) : nr_xstrdup("?");
        } else {
            for (size_t i = 0; i + 1 < len; i++)
                if (!cmd[i])
                    cmd[i] = ' ';
        }
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        unsigned uid = 0;
        if (nr_read_file(AT_FDCWD, path, 8192, &status, &len, &err) == 0 && strstr(status, "\nUid:"))
            uid = (unsigned)strtoul(strstr(status, "\nUid:") + 5, NULL, 10);
        unsigned long long secs = hz > 0 ? (ut + stt) / (unsigned long long)hz : 0;
        cleanup_free char *shown = nr_escape_controls(cmd);
        lines[nl++] = nr_xasprintf("%u\t%d\t%d\t%02llu:%02llu:%02llu\t%s", uid, pid, ppid, secs / 3600, secs / 60 % 60,
                                   secs % 60, shown);
    }
    nr_table_print(lines, nl, stdout);
    for (size_t i = 0; i < nl; i++)
        free(lines[i]);
    free(lines);
    return 0;
}

int nr_cmd_top(int argc, char **argv, nr_global *g)
{
    static const nr_cmdspec spec = {"top [OPTIONS] CONTAINER",
                                    "Show the processes of a container (host pids, as docker's top).  With --json "
                                    "or --control: its supervisor's workers (nrun monit shows them live).",
                                    ctl_opts, true};
    bool workers = false;
    int operands = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") || !strncmp(argv[i], "--control", 9) || !strncmp(argv[i], "--format", 8))
            workers = true;
        else if (argv[i][0] != '-')
            operands++;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            workers = true; /* the help of the one spec */
    }
    if (workers || operands != 1)
        return table(&spec, argc, argv, g, false);
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-')
            return top_processes(g, argv[i]);
    return NR_EXIT_USAGE;
}

/* `nrun monit CONTAINER`: the workers' view refreshed every second on a
 * terminal (q quits), plain tables a second apart otherwise, as pm2 monit. */
int nr_cmd_monit(int argc, char **argv, nr_global *g)
{
    enum { O_NOSTREAM = NR_OPT_LONG + 10 };
    static const nr_opt opts[] = {
        {"control", OPT_CONTROL, required_argument, "PATH", "talk to this control socket instead of a container's"},
        {"no-stream", O_NOSTREAM, no_argument, NULL, "print once"},
        {0},
    };
    static const nr_cmdspec spec = {"monit [OPTIONS] CONTAINER",
                                    "A live view of a container's workers: CPU, memory, connections, event-loop lag, "
                                    "restarts; refreshed every second, q quits.", opts, true};
    const char *control = NULL, *id = NULL;
    bool stream = true;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == OPT_CONTROL)
            control = optarg;
        else if (c == O_NOSTREAM)
            stream = false;
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    if (optind < argc)
        id = argv[optind];
    if (!id == !control || argc - optind > 1)
        return nr_usage_error(g, "monit: which container? (ID or --control PATH)");
    char *targv[] = {"stats", control ? "--control" : (char *)id, control ? (char *)control : NULL, NULL};
    int targc = control ? 3 : 2;
    bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
    struct termios saved;
    bool raw = stream && tty && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
    }
    int rc = 0;
    for (;;) {
        if (raw)
            fputs("\033[H\033[2J", stdout);
        char *a[4] = {targv[0], targv[1], targv[2], NULL};
        rc = table(&spec, targc, a, g, true);
        if (raw)
            puts("\n(q quits)");
        fflush(stdout);
        if (rc || !stream)
            break;
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        if (raw && poll(&p, 1, 1000) > 0) {
            char ch;
            if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
                break;
        } else if (!raw) {
            sleep(1);
        }
    }
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return rc;
}

/* `nrun loglevel ID debug|info|warn|error`: the workers' console level, live. */
int nr_cmd_loglevel(int argc, char **argv, nr_global *g)
{
    ctl_args a;
    json_t *r;
    static const nr_cmdspec spec = {"loglevel [OPTIONS] CONTAINER debug|info|warn|error",
                                    "Set the console level of a container's workers now and for the workers started "
                                    "later, without a restart (console.debug/info/log/warn/error below it are dropped).",
                                    ctl_opts_nojson, true};
    int rc = parse(&spec, argc, argv, g, &a, true);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!sv_log_level_valid(a.extra))
        return nr_usage_error(g, "loglevel: %s: expected debug, info, warn or error", a.extra);
    char req[96];
    snprintf(req, sizeof req, "{\"cmd\":\"loglevel\",\"level\":\"%s\"}", a.extra);
    if ((rc = call(g, &a, req, 10000, &r)))
        return rc;
    json_decref(r);
    return 0;
}

/* `nrun dye ID [--header K=V] [--query K=V] [--cookie K=V] [--ip CIDR]...
 * [--ttl DURATION] [--unmask] | --off`: request dyeing rules; with none of
 * them, the rules in force.  Matching requests go to `nrun logs --dye ID`. */
int nr_cmd_dye(int argc, char **argv, nr_global *g)
{
    enum { O_HEADER = NR_OPT_LONG + 20, O_QUERY, O_COOKIE, O_IP, O_TTL, O_UNMASK, O_OFF };
    static const nr_opt opts[] = {
        {"header", O_HEADER, required_argument, "K=V", "requests with header K equal to V (repeatable)"},
        {"query", O_QUERY, required_argument, "K=V", "requests with query parameter K=V"},
        {"cookie", O_COOKIE, required_argument, "K=V", "requests with cookie K=V"},
        {"ip", O_IP, required_argument, "CIDR", "requests from a client address in CIDR"},
        {"ttl", O_TTL, required_argument, "T", "remove the rules after T (10m, 1h)"},
        {"unmask", O_UNMASK, no_argument, NULL, "log authorization/cookie values in clear"},
        {"off", O_OFF, no_argument, NULL, "remove the rules"},
        {"control", OPT_CONTROL, required_argument, "PATH", "talk to this control socket instead of a container's"},
        {0},
    };
    static const nr_cmdspec spec = {"dye [OPTIONS] CONTAINER",
                                    "Log the requests that match any rule in full (nrun logs --dye); no rule option: "
                                    "show the rules.", opts, true};
    ctl_args a;
    memset(&a, 0, sizeof a);
    json_t *rules = json_array();
    bool off = false, unmask = false;
    int ttl = 0, c, rc = 0;
    while (!rc && (c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        const char *v = optarg;
        if (c == OPT_CONTROL) {
            a.path = v;
        } else if (c == O_TTL) {
            if (sv_parse_duration_ms(v, &ttl) < 0 || ttl <= 0)
                rc = nr_usage_error(g, "dye: --ttl %s: expected a duration like 10m", v);
        } else if (c == O_IP) {
            json_array_append_new(rules, json_pack("{s:s,s:s,s:s}", "type", "ip", "key", "", "value", v));
        } else if (c == O_HEADER || c == O_QUERY || c == O_COOKIE) {
            const char *type = c == O_HEADER ? "header" : c == O_QUERY ? "query" : "cookie";
            const char *eq = strchr(v, '=');
            json_t *r = eq && eq != v ? json_pack("{s:s,s:s#,s:s}", "type", type, "key", v, (int)(eq - v), "value", eq + 1)
                                      : NULL;
            if (!r)
                rc = nr_usage_error(g, "dye: --%s %s: expected KEY=VALUE", type, v);
            else
                json_array_append_new(rules, r);
        } else if (c == O_UNMASK) {
            unmask = true;
        } else if (c == O_OFF) {
            off = true;
        } else {
            rc = c == NR_OPT_HELP ? -1 : NR_EXIT_USAGE;
        }
    }
    if (!rc && optind < argc)
        a.id = argv[optind];
    if (!rc && (!a.id == !a.path || argc - optind > 1 || (off && json_array_size(rules))))
        rc = nr_usage_error(g, "dye: give a container ID (or --control PATH), then rules or --off");
    if (rc) {
        json_decref(rules);
        return rc < 0 ? 0 : rc;
    }
    json_t *req = json_pack("{s:s}", "cmd", "dye");
    if (off)
        json_object_set_new(req, "off", json_true());
    if (json_array_size(rules)) {
        json_object_set(req, "rules", rules);
        json_object_set_new(req, "unmask", json_boolean(unmask));
        if (ttl)
            json_object_set_new(req, "ttl_ms", json_integer(ttl));
    }
    json_decref(rules);
    cleanup_free char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *r;
    if ((rc = call(g, &a, line ? line : "{}", 10000, &r)))
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "rules"), i, x)
    {
        const char *t = json_string_value(json_object_get(x, "type"));
        const char *k0 = json_string_value(json_object_get(x, "key")), *v0 = json_string_value(json_object_get(x, "value"));
        cleanup_free char *k = nr_escape_controls(k0 ? k0 : "");
        cleanup_free char *v = nr_escape_controls(v0 ? v0 : "");
        if (t && !strcmp(t, "ip"))
            printf("--ip %s\n", v);
        else
            printf("--%s %s=%s\n", t ? t : "?", k, v);
    }
    json_t *left = json_object_get(r, "ttl_ms");
    if (left)
        printf("expires in %llds\n", (long long)json_integer_value(left) / 1000);
    json_decref(r);
    return 0;
}
