/* `nrun reload|scale|stats|top|loglevel ID` (or `--control PATH` instead of ID): thin
 * clients of the control socket. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runtime/supervisor/sv_cli.h"
#include "runtime/supervisor/supervisor.h"

typedef struct ctl_args {
    const char *id, *path;
    const char *extra;   /* the one extra positional (scale N) */
    bool json;
} ctl_args;

static int parse(int argc, char **argv, nr_global *g, ctl_args *a, bool want_extra)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--control")) {
            if (++i >= argc)
                return nr_usage_error(g, "%s: --control needs a path", argv[0]);
            a->path = argv[i];
        } else if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "--format=json")) {
            a->json = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return nr_usage_error(g, "%s: unknown option %s", argv[0], argv[i]);
        } else if (!a->id && !a->path) {
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
    int rc = parse(argc, argv, g, &a, false);
    if (rc)
        return rc;
    /* A reload takes as long as its workers take to start: wait generously. */
    if ((rc = call(g, &a, "{\"cmd\":\"reload\"}", 600000, &r)))
        return rc;
    printf("reloaded: %lld workers replaced\n", (long long)json_integer_value(json_object_get(r, "replaced")));
    json_decref(r);
    return 0;
}

int nr_cmd_scale(int argc, char **argv, nr_global *g)
{
    ctl_args a;
    json_t *r;
    int rc = parse(argc, argv, g, &a, true);
    if (rc)
        return rc;
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

static int table(int argc, char **argv, nr_global *g, bool full)
{
    ctl_args a;
    json_t *r;
    int rc = parse(argc, argv, g, &a, false);
    if (rc)
        return rc;
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

int nr_cmd_stats(int argc, char **argv, nr_global *g)
{
    return table(argc, argv, g, true);
}

int nr_cmd_top(int argc, char **argv, nr_global *g)
{
    return table(argc, argv, g, false);
}

/* `nrun loglevel ID debug|info|warn|error`: the workers' console level, live. */
int nr_cmd_loglevel(int argc, char **argv, nr_global *g)
{
    ctl_args a;
    json_t *r;
    int rc = parse(argc, argv, g, &a, true);
    if (rc)
        return rc;
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
    ctl_args a;
    memset(&a, 0, sizeof a);
    json_t *req = json_pack("{s:s}", "cmd", "dye");
    json_t *rules = json_array();
    bool off = false, unmask = false;
    int ttl = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--header") || !strcmp(o, "--query") || !strcmp(o, "--cookie") || !strcmp(o, "--ip") ||
            !strcmp(o, "--ttl") || !strcmp(o, "--control")) {
            if (!v) {
                json_decref(req);
                json_decref(rules);
                return nr_usage_error(g, "dye: %s needs a value", o);
            }
            i++;
            if (!strcmp(o, "--control")) {
                a.path = v;
            } else if (!strcmp(o, "--ttl")) {
                if (sv_parse_duration_ms(v, &ttl) < 0 || ttl <= 0) {
                    json_decref(req);
                    json_decref(rules);
                    return nr_usage_error(g, "dye: --ttl %s: expected a duration like 10m", v);
                }
            } else if (!strcmp(o, "--ip")) {
                json_array_append_new(rules, json_pack("{s:s,s:s,s:s}", "type", "ip", "key", "", "value", v));
            } else {
                const char *eq = strchr(v, '=');
                if (!eq || eq == v) {
                    json_decref(req);
                    json_decref(rules);
                    return nr_usage_error(g, "dye: %s %s: expected KEY=VALUE", o, v);
                }
                json_t *r = json_pack("{s:s,s:s#,s:s}", "type", o + 2, "key", v, (int)(eq - v), "value", eq + 1);
                if (!r) {
                    json_decref(req);
                    json_decref(rules);
                    return nr_usage_error(g, "dye: %s: not UTF-8", o);
                }
                json_array_append_new(rules, r);
            }
        } else if (!strcmp(o, "--off")) {
            off = true;
        } else if (!strcmp(o, "--unmask")) {
            unmask = true;
        } else if (!strcmp(o, "--json")) {
            a.json = true;
        } else if (o[0] == '-' && o[1]) {
            json_decref(req);
            json_decref(rules);
            return nr_usage_error(g, "dye: unknown option %s", o);
        } else if (!a.id) {
            a.id = o;
        } else {
            json_decref(req);
            json_decref(rules);
            return nr_usage_error(g, "dye: unexpected argument %s", o);
        }
    }
    if (!a.id == !a.path || (off && json_array_size(rules))) {
        json_decref(req);
        json_decref(rules);
        return nr_usage_error(g, "dye: give a container ID (or --control PATH), then rules or --off");
    }
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
    int rc;
    if ((rc = call(g, &a, line ? line : "{}", 10000, &r)))
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "rules"), i, x)
    {
        const char *t = json_string_value(json_object_get(x, "type"));
        cleanup_free char *k = nr_escape_controls(json_string_value(json_object_get(x, "key")) ?: "");
        cleanup_free char *v = nr_escape_controls(json_string_value(json_object_get(x, "value")) ?: "");
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
