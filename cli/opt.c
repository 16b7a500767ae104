/* One option parser for every command: a declarative table (nr_opt) turned
 * into getopt_long's arrays, plus the --help every command answers. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "runtime/supervisor/options.h"

enum { MAX_OPTS = 256, HELP_KEY = NR_OPT_LONG - 1 };

static bool has_short(const nr_opt *o, int key)
{
    for (; o && (o->name || o->key); o++)
        if (o->key == key)
            return true;
    return false;
}

/* "nrun ps" (or "nbuild" when argv[0] is the program itself). */
static void cmd_name(nr_global *g, const char *verb, char *buf, size_t n)
{
    if (!verb || !strcmp(verb, g->prog))
        snprintf(buf, n, "%s", g->prog);
    else
        snprintf(buf, n, "%s %s", g->prog, verb);
}

void nr_opt_help(const nr_cmdspec *spec, nr_global *g, const char *verb, FILE *f)
{
    /* the usage names the verb ("ps [OPTIONS]"); a command shared by nrun and
     * nbuild names none and gets the one it was called by */
    bool named = !verb || !strcmp(verb, g->prog) || islower((unsigned char)spec->usage[0]);
    fprintf(f, "Usage: %s%s%s %s\n", g->prog, named ? "" : " ", named ? "" : verb, spec->usage);
    if (spec->about)
        fprintf(f, "\n%s\n", spec->about);
    fputs("\nOptions:\n", f);
    for (const nr_opt *o = spec->opts; o && (o->name || o->key); o++) {
        char left[96];
        int n = 0;
        bool sh = o->key < NR_OPT_LONG && isalnum(o->key);
        if (sh)
            n += snprintf(left + n, sizeof left - (size_t)n, "-%c%s", o->key, o->name ? ", " : "");
        else
            n += snprintf(left + n, sizeof left - (size_t)n, "    ");
        if (o->name)
            n += snprintf(left + n, sizeof left - (size_t)n, "--%s", o->name);
        if (o->arg == required_argument)
            snprintf(left + n, sizeof left - (size_t)n, " %s", o->metavar ? o->metavar : "VALUE");
        else if (o->arg == optional_argument)
            snprintf(left + n, sizeof left - (size_t)n, "[=%s]", o->metavar ? o->metavar : "VALUE");
        if (strlen(left) > 28)
            fprintf(f, "  %s\n  %-28s %s\n", left, "", o->help ? o->help : "");
        else
            fprintf(f, "  %-28s %s\n", left, o->help ? o->help : "");
    }
    fprintf(f, "  %-28s %s\n", has_short(spec->opts, 'h') ? "    --help" : "-h, --help", "print this help");
}

static const nr_cmdspec *exact_specs[8];

void nr_opt_exact(const nr_cmdspec *spec)
{
    for (size_t i = 0; i < NR_ARRAY_LEN(exact_specs); i++)
        if (exact_specs[i] == spec || !exact_specs[i]) {
            exact_specs[i] = spec;
            return;
        }
}

static bool is_exact(const nr_cmdspec *spec)
{
    for (size_t i = 0; i < NR_ARRAY_LEN(exact_specs); i++)
        if (exact_specs[i] == spec)
            return true;
    return false;
}

int nr_opt_next(const nr_cmdspec *spec, int argc, char **argv, nr_global *g)
{
    static const nr_cmdspec *active;
    static struct option lo[MAX_OPTS + 2];
    static char so[3 * MAX_OPTS + 8];
    if (active != spec) {
        size_t nl = 0, ns = 0;
        so[ns++] = spec->permute ? ':' : '+';
        if (!spec->permute)
            so[ns++] = ':';
        for (const nr_opt *o = spec->opts; o && (o->name || o->key) && nl < MAX_OPTS; o++) {
            if (o->name)
                lo[nl++] = (struct option){o->name, o->arg, NULL, o->key};
            if (o->key < NR_OPT_LONG && isalnum(o->key)) {
                so[ns++] = (char)o->key;
                if (o->arg == required_argument)
                    so[ns++] = ':';
                else if (o->arg == optional_argument)
                    so[ns++] = ':', so[ns++] = ':';
            }
        }
        lo[nl++] = (struct option){"help", no_argument, NULL, HELP_KEY};
        lo[nl] = (struct option){0};
        if (!has_short(spec->opts, 'h'))
            so[ns++] = 'h';
        so[ns] = 0;
        active = spec;
        optind = 0; /* a full reset of getopt's state: another command may have parsed before */
    }
    opterr = 0;
    int at = optind ? optind : 1, li = -1;
    int c = getopt_long(argc, argv, so, lo, &li);
    char name[64];
    cmd_name(g, argv[0], name, sizeof name);
    if (li >= 0 && is_exact(spec) && c != '?' && c != ':' && at < argc && !strncmp(argv[at], "--", 2) &&
        strncmp(argv[at] + 2, lo[li].name, strcspn(argv[at] + 2, "=")) == 0 &&
        strlen(lo[li].name) != strcspn(argv[at] + 2, "=")) {
        /* getopt_long takes a unique prefix; docker does not (--pid is not --pids-limit) */
        fprintf(stderr, "%s: unknown option %.*s (see '%s --help')\n", name, (int)strcspn(argv[at], "="), argv[at],
                name);
        active = NULL;
        return NR_OPT_BAD;
    }
    if (c == HELP_KEY || (c == 'h' && !has_short(spec->opts, 'h'))) {
        nr_opt_help(spec, g, argv[0], stdout);
        active = NULL;
        return NR_OPT_HELP;
    }
    if (c == '?' || c == ':') {
        const char *bad = argv[optind - 1];
        char sh[3] = {'-', (char)optopt, 0};
        if (optopt && optopt < NR_OPT_LONG && isalnum(optopt) && bad[0] == '-' && bad[1] != '-')
            bad = sh;
        if (c == ':')
            fprintf(stderr, "%s: option %s needs a value (see '%s --help')\n", name, bad, name);
        else /* the option's name, without a value given as --opt=VALUE */
            fprintf(stderr, "%s: unknown option %.*s (see '%s --help')\n", name,
                    (int)(bad[0] == '-' && bad[1] == '-' ? strcspn(bad, "=") : strlen(bad)), bad, name);
        active = NULL;
        return NR_OPT_BAD;
    }
    if (c == -1)
        active = NULL;
    return c;
}

/* What `--help` says of the supervisor's tuning options (their parser is
 * runtime/supervisor/options.c; an option missing here still works). */
static const struct {
    const char *name, *metavar, *help;
} sv_help[] = {
    {"--wait-ready", NULL, "reload waits for process.send('ready')"},
    {"--restart-failed", NULL, "single mode: restart a failing process instead of exiting"},
    {"--max-memory", "SIZE", "replace a worker whose RSS exceeds SIZE"},
    {"--log-max-size", "SIZE", "rotate the log at SIZE (default 10m)"},
    {"--log-max-files", "N", "keep N log files in all (default 5)"},
    {"--log-rate", "SIZE", "per-worker log bytes per second kept (default unlimited)"},
    {"--stop-timeout", "T", "graceful stop time before SIGKILL (default 15s)"},
    {"--drain-timeout", "T", "how long a replaced worker may finish its connections (default 10s)"},
    {"--kill-timeout", "T", "SIGTERM to SIGKILL for a worker (default 5s)"},
    {"--listen-timeout", "T", "a new worker must listen within T (default 60s)"},
    {"--heartbeat-timeout", "T", "replace a worker silent for T (default 30s, 0 = off)"},
    {"--stable", "T", "a worker up this long resets its backoff (default 10s)"},
    {"--crash-loop", "N/T", "more than N crashes within T ends the run (default 10/60s)"},
    {"--backoff", "T[/MAX]", "first restart delay and cap (default 100ms/10s)"},
    {"--no-healthcheck", NULL, "turn the image's HEALTHCHECK off"},
    {"--hang-report", NULL, "a hung worker's JS stack and diagnostic report go to its log"},
    {"--health-cmd", "CMD", "HEALTHCHECK command, run by /bin/sh -c in the container"},
    {"--health-test", "JSON", "HEALTHCHECK test as the image stores it ([\"CMD\",...] / [\"CMD-SHELL\",LINE])"},
    {"--health-interval", "T", "time between health checks (default 30s)"},
    {"--health-timeout", "T", "a check running longer fails (default 30s)"},
    {"--health-retries", "N", "failures in a row that make it unhealthy (default 3)"},
    {"--health-start-period", "T", "failures in this first period do not count (default 0)"},
    {"--health-start-interval", "T", "time between checks in the start period (default 5s)"},
    {"--on-unhealthy", "reload|none", "reload: replace the workers one at a time when unhealthy"},
    {"--no-agent", NULL, "no agent in the workers: no heartbeat, request metrics, log level, dyeing"},
    {"--metrics", "[IP:]PORT", "serve Prometheus /metrics from PID 1 (PORT alone: every address)"},
    {"--log-level", "LEVEL", "the workers' console level at start: debug|info|warn|error"},
    {"--revision", "REV", "a revision=\"REV\" label on every /metrics sample and log line (nrun deploy sets it)"},
};

const nr_opt *nr_opts_with_sv(const nr_opt *base, nr_opt *buf, size_t cap)
{
    size_t n = 0;
    for (; base && (base->name || base->key) && n + 1 < cap; base++)
        buf[n++] = *base;
    for (size_t i = 0; sv_opt_name(i) && n + 1 < cap; i++) {
        const char *name = sv_opt_name(i);
        nr_opt o = {name + 2, NR_OPT_SV + (int)i, sv_opt_arity(name) > 0 ? required_argument : no_argument, NULL,
                    "supervisor tuning"};
        for (size_t k = 0; k < NR_ARRAY_LEN(sv_help); k++)
            if (!strcmp(sv_help[k].name, name))
                o.metavar = sv_help[k].metavar, o.help = sv_help[k].help;
        buf[n++] = o;
    }
    buf[n] = (nr_opt){0};
    return buf;
}

const char *nr_sv_opt_name(int key)
{
    return key >= NR_OPT_SV ? sv_opt_name((size_t)(key - NR_OPT_SV)) : NULL;
}
