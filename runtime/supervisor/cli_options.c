/* The supervisor's tuning options, one parser for `nrun supervise` and
 * `nrun run` (which keeps them in config.json as org.nrun.supervisor.*
 * annotations and hands them to PID 1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runtime/supervisor/sv_cli.h"
#include "runtime/supervisor/supervisor.h"

static const char *const flags[] = {"--wait-ready", "--restart-failed", "--no-agent"};
static const char *const valued[] = {
    "--max-memory",   "--log-max-size",   "--log-max-files",     "--log-rate", "--stop-timeout", "--drain-timeout",
    "--kill-timeout", "--listen-timeout", "--heartbeat-timeout", "--stable",   "--crash-loop",   "--backoff",
    "--metrics",      "--log-level",
};

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
    if (!strcmp(opt, "--metrics")) {
        if (sv_metrics_parse_addr(v, NULL, NULL, err) < 0)
            return -1;
        snprintf(cfg->metrics_addr, sizeof cfg->metrics_addr, "%s", v);
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
