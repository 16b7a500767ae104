/* `nrun reload|scale|stats|top ID` (or `--control PATH` instead of ID): thin
 * clients of the control socket. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "cli/cli.h"
#include "runtime/runtime.h"

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
    static const nr_cmdspec spec = {"scale [OPTIONS] CONTAINER N", "Set the number of workers of a container.",
                                    ctl_opts_nojson, false};
    int rc = parse(&spec, argc, argv, g, &a, true);
    if (rc)
        return rc < 0 ? 0 : rc;
    char *end;
    long n = strtol(a.extra, &end, 10);
    if (*end || end == a.extra || n < 1 || n > 256)
        return nr_usage_error(g, "scale: %s: expected a worker count 1..256", a.extra);
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
        printf("%-7s %-8s %-9s %-8s %-8s %-6s %-9s %-6s %s\n", "WORKER", "PID", "STATE", "UPTIME", "RESTARTS", "CPU%",
               "RSS", "CONNS", "LAG");
    else
        printf("%-7s %-8s %-9s %-8s %s\n", "WORKER", "PID", "STATE", "UPTIME", "RESTARTS");
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(r, "workers"), i, w)
    {
        char up[32], rss[32], lag[32] = "-";
        /* the state is the supervisor's word: shown with its controls escaped */
        const char *sv = json_string_value(json_object_get(w, "state"));
        cleanup_free char *state = nr_escape_controls(sv ? sv : "?");
        human_ms(json_integer_value(json_object_get(w, "uptime_ms")), up, sizeof up);
        nr_human_size((unsigned long long)json_integer_value(json_object_get(w, "rss")), rss, sizeof rss);
        json_t *l = json_object_get(w, "lag_ms");
        if (l)
            snprintf(lag, sizeof lag, "%.1fms", json_number_value(l));
        if (full)
            printf("%-7lld %-8lld %-9s %-8s %-8lld %-6.1f %-9s %-6lld %s\n",
                   (long long)json_integer_value(json_object_get(w, "worker")),
                   (long long)json_integer_value(json_object_get(w, "pid")),
                   state, up, (long long)json_integer_value(json_object_get(w, "restarts")),
                   json_number_value(json_object_get(w, "cpu")), rss,
                   (long long)json_integer_value(json_object_get(w, "connections")), lag);
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

int nr_cmd_top(int argc, char **argv, nr_global *g)
{
    static const nr_cmdspec spec = {"top [OPTIONS] CONTAINER", "Show the workers of a container.", ctl_opts, true};
    return table(&spec, argc, argv, g, false);
}
