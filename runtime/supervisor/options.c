/* The supervisor's tuning options, one parser for `nrun supervise` and
 * `nrun run` (which keeps them in config.json as org.nrun.supervisor.*
 * annotations and hands them to PID 1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/util.h"
#include "runtime/supervisor/options.h"
#include "runtime/supervisor/supervisor.h"

/* The defaults every supervisor starts from, before its options. */
void sv_config_init(sv_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->log_dir_fd = -1;
    cfg->control_fd = -1;
    cfg->stop_timeout_ms = 15000;
    cfg->drain_timeout_ms = 10000;
    cfg->kill_timeout_ms = 5000;
    cfg->crash_loop_max = 10;
    cfg->crash_loop_window_ms = 60000;
    cfg->backoff_base_ms = 100;
    cfg->backoff_max_ms = 10000;
    cfg->stable_ms = 10000;
    cfg->heartbeat_timeout_ms = 30000;
    cfg->listen_timeout_ms = 60000;
    cfg->uid = (uid_t)-1;
    cfg->gid = (gid_t)-1;
}

static const char *const flags[] = {"--wait-ready", "--restart-failed", "--no-healthcheck", "--hang-report", "--no-agent"};
static const char *const valued[] = {
    "--max-memory",   "--log-max-size",   "--log-max-files",     "--log-rate", "--stop-timeout", "--drain-timeout",
    "--kill-timeout", "--listen-timeout", "--heartbeat-timeout", "--stable",   "--crash-loop",   "--backoff",
    /* HEALTHCHECK, docker's names; --health-test is the image's Test array (JSON), as spec.c passes it */
    "--health-cmd", "--health-test", "--health-interval", "--health-timeout", "--health-retries",
    "--health-start-period", "--health-start-interval", "--on-unhealthy",
    "--metrics",      "--log-level",      "--revision",
};

void sv_config_fini(sv_config *cfg)
{
    free(cfg->health_test);
    cfg->health_test = NULL;
}

/* A HEALTHCHECK Test array as docker stores it: ["CMD", arg...], ["CMD-SHELL", "line"], ["NONE"]. */
static int health_test(sv_config *cfg, const char *v, nr_err *err)
{
    json_t *t = json_loads(v, JSON_REJECT_DUPLICATES, NULL);
    size_t n = json_array_size(t);
    const char *kind = json_string_value(json_array_get(t, 0));
    bool ok = kind && n <= 4096;
    for (size_t i = 1; ok && i < n; i++) {
        const char *a = json_string_value(json_array_get(t, i));
        ok = a && !memchr(a, 0, json_string_length(json_array_get(t, i)));
    }
    if (ok && !strcmp(kind, "CMD"))
        ok = n >= 2 && *json_string_value(json_array_get(t, 1));
    else if (ok && !strcmp(kind, "CMD-SHELL"))
        ok = n == 2 && *json_string_value(json_array_get(t, 1));
    else if (ok && !strcmp(kind, "NONE"))
        ok = n == 1;
    else
        ok = false;
    if (!ok) {
        json_decref(t);
        return nr_err_set(err, "healthcheck test: expected [\"CMD\", ARG...], [\"CMD-SHELL\", LINE] or [\"NONE\"]");
    }
    free(cfg->health_test);
    cfg->health_test = !strcmp(kind, "NONE") ? NULL : json_dumps(t, JSON_COMPACT);
    json_decref(t);
    return 0;
}

const char *sv_opt_name(size_t i)
{
    if (i < NR_ARRAY_LEN(flags))
        return flags[i];
    i -= NR_ARRAY_LEN(flags);
    return i < NR_ARRAY_LEN(valued) ? valued[i] : NULL;
}

int sv_opt_arity(const char *opt)
{
    for (size_t i = 0; i < NR_ARRAY_LEN(flags); i++)
        if (!strcmp(opt, flags[i]))
            return 0;
    for (size_t i = 0; i < NR_ARRAY_LEN(valued); i++)
        if (!strcmp(opt, valued[i]))
            return 1;
    return -1;
}

int sv_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* "N/DURATION" (crash loop) or "DURATION[/MAX]" (backoff) */
static int pair(const char *v, bool count_first, int *x, int *y)
{
    char buf[64];
    if (strlen(v) >= sizeof buf)
        return -1;
    snprintf(buf, sizeof buf, "%s", v);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash++ = 0;
    *y = 0;
    if (count_first ? sv_parse_int(buf, 1, 100000, x) < 0 : sv_parse_duration_ms(buf, x) < 0)
        return -1;
    if (count_first && !slash)
        return -1;
    if (slash && (sv_parse_duration_ms(slash, y) < 0 || *y <= 0))
        return -1;
    return 0;
}

int sv_opt_apply(sv_config *cfg, const char *opt, const char *v, nr_err *err)
{
    int arity = sv_opt_arity(opt);
    if (arity < 0)
        return 1;
    if (arity == 0) {
        if (v && *v && strcmp(v, "true"))
            return nr_err_set(err, "%s takes no value", opt);
        if (!strcmp(opt, "--wait-ready"))
            cfg->wait_ready = true;
        else if (!strcmp(opt, "--no-healthcheck"))
            cfg->health_off = true;
        else if (!strcmp(opt, "--hang-report"))
            cfg->hang_report = true;
        else if (!strcmp(opt, "--no-agent"))
            cfg->no_agent = true;
        else
            cfg->restart_single = true;
        return 0;
    }
    if (!v)
        return nr_err_set(err, "%s needs a value", opt);
    unsigned long long sz;
    int ms, x, y;
    if (!strcmp(opt, "--health-cmd")) {
        if (!*v)
            return nr_err_set(err, "--health-cmd: empty command");
        json_t *t = json_pack("[ss]", "CMD-SHELL", v);
        if (!t)
            return nr_err_set(err, "--health-cmd: not valid UTF-8");
        char *s = json_dumps(t, JSON_COMPACT);
        json_decref(t);
        int r = health_test(cfg, s, err);
        free(s);
        return r;
    }
    if (!strcmp(opt, "--health-test"))
        return health_test(cfg, v, err);
    if (!strcmp(opt, "--health-retries")) {
        if (sv_parse_int(v, 0, 1000000, &cfg->health_retries) < 0)
            return nr_err_set(err, "%s %s: expected 0..1000000", opt, v);
        return 0;
    }
    if (!strcmp(opt, "--on-unhealthy")) {
        if (strcmp(v, "none") && strcmp(v, "reload"))
            return nr_err_set(err, "%s %s: expected none or reload", opt, v);
        cfg->reload_unhealthy = !strcmp(v, "reload");
        return 0;
    }
    if (!strncmp(opt, "--health-", 9)) {
        if (sv_parse_duration_ms(v, &ms) < 0 || (ms != 0 && ms < 1))
            return nr_err_set(err, "%s %s: expected a duration like 500ms, 10s", opt, v);
        /* 0 = docker's default, as in an image's Healthcheck */
        if (!strcmp(opt, "--health-interval"))
            cfg->health_interval_ms = ms;
        else if (!strcmp(opt, "--health-timeout"))
            cfg->health_timeout_ms = ms;
        else if (!strcmp(opt, "--health-start-period"))
            cfg->health_start_period_ms = ms;
        else
            cfg->health_start_interval_ms = ms;
        return 0;
    }
    if (!strcmp(opt, "--metrics")) {
        if (sv_metrics_parse_addr(v, NULL, NULL, err) < 0)
            return -1;
        snprintf(cfg->metrics_addr, sizeof cfg->metrics_addr, "%s", v);
    } else if (!strcmp(opt, "--revision")) {
        /* it goes into every metric's labels and every log line: a short plain word */
        size_t n = strlen(v);
        if (!n || n >= sizeof cfg->revision ||
            strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
            return nr_err_set(err, "%s %s: expected 1..32 letters, digits, '.', '_' or '-'", opt, v);
        snprintf(cfg->revision, sizeof cfg->revision, "%s", v);
    } else if (!strcmp(opt, "--log-level")) {
        if (!sv_log_level_valid(v))
            return nr_err_set(err, "%s %s: expected debug, info, warn or error", opt, v);
        snprintf(cfg->log_level, sizeof cfg->log_level, "%s", v);
    } else if (!strcmp(opt, "--max-memory") || !strcmp(opt, "--log-max-size") || !strcmp(opt, "--log-rate")) {
        if (nr_parse_size(v, &sz) < 0 || !sz)
            return nr_err_set(err, "%s %s: expected a size like 10m", opt, v);
        if (!strcmp(opt, "--max-memory"))
            cfg->max_memory = sz;
        else if (!strcmp(opt, "--log-max-size"))
            cfg->log_max_size = sz;
        else
            cfg->log_rate = sz;
    } else if (!strcmp(opt, "--log-max-files")) {
        if (sv_parse_int(v, 1, 1000, &cfg->log_max_files) < 0)
            return nr_err_set(err, "%s %s: expected 1..1000", opt, v);
    } else if (!strcmp(opt, "--crash-loop") || !strcmp(opt, "--backoff")) {
        bool crash = opt[2] == 'c';
        if (pair(v, crash, &x, &y) < 0)
            return nr_err_set(err, "%s %s: expected %s", opt, v,
                              crash ? "N/DURATION, e.g. 5/30s" : "DURATION[/MAX], e.g. 100ms/10s");
        if (crash) {
            cfg->crash_loop_max = x;
            cfg->crash_loop_window_ms = y;
        } else {
            cfg->backoff_base_ms = x ? x : 1;
            if (y)
                cfg->backoff_max_ms = y;
        }
    } else {
        if (sv_parse_duration_ms(v, &ms) < 0)
            return nr_err_set(err, "%s %s: expected a duration like 500ms, 10s", opt, v);
        if (!strcmp(opt, "--stop-timeout"))
            cfg->stop_timeout_ms = ms;
        else if (!strcmp(opt, "--drain-timeout"))
            cfg->drain_timeout_ms = ms;
        else if (!strcmp(opt, "--kill-timeout"))
            cfg->kill_timeout_ms = ms;
        else if (!strcmp(opt, "--listen-timeout"))
            cfg->listen_timeout_ms = ms;
        else if (!strcmp(opt, "--heartbeat-timeout"))
            cfg->heartbeat_timeout_ms = ms;
        else
            cfg->stable_ms = ms;
    }
    return 0;
}

int sv_parse_duration_ms(const char *s, int *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    double mul = 1000; /* plain number: seconds, as `docker stop -t` */
    if (!strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "s") || !*end)
        mul = 1000;
    else if (!strcmp(end, "m"))
        mul = 60000;
    else if (!strcmp(end, "h"))
        mul = 3600000;
    else
        return -1;
    double ms = v * mul;
    if (ms > 86400000.0 * 24)
        return -1;
    *out = (int)ms;
    return 0;
}

/* The observability options' checks (issue 15), here so that every program
 * that checks a configuration (nrun, nrun-init) has them. */
bool sv_log_level_valid(const char *l)
{
    return l && (!strcmp(l, "debug") || !strcmp(l, "info") || !strcmp(l, "warn") || !strcmp(l, "error"));
}

int sv_metrics_parse_addr(const char *v, struct sockaddr_storage *ss, socklen_t *len, nr_err *err)
{
    char host[64] = "0.0.0.0";
    const char *port_s = v;
    const char *colon = v ? strrchr(v, ':') : NULL;
    if (!v || !*v || strlen(v) > 70)
        return nr_err_set(err, "--metrics: expected [IP:]PORT");
    if (colon) {
        size_t hl = (size_t)(colon - v);
        const char *h = v;
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
            h++;
            hl -= 2;
        }
        if (hl == 0 || hl >= sizeof host)
            return nr_err_set(err, "--metrics %s: expected [IP:]PORT", v);
        memcpy(host, h, hl);
        host[hl] = 0;
        port_s = colon + 1;
    }
    char *end;
    errno = 0;
    long port = strtol(port_s, &end, 10);
    if (errno || end == port_s || *end || *port_s < '0' || *port_s > '9' || port < 1 || port > 65535)
        return nr_err_set(err, "--metrics %s: the port must be 1..65535", v);
    struct sockaddr_storage tmp;
    memset(&tmp, 0, sizeof tmp);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&tmp;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&tmp;
    socklen_t l;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        l = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        l = sizeof *a6;
    } else {
        return nr_err_set(err, "--metrics %s: %s is not an IP address", v, host);
    }
    if (ss)
        *ss = tmp;
    if (len)
        *len = l;
    return 0;
}
