/* One option parser for every command: a declarative table (nr_opt) turned
 * into getopt_long's arrays, plus the --help every command answers. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"

enum { MAX_OPTS = 64, HELP_KEY = NR_OPT_LONG - 1 };

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

void nr_opt_help(const nr_cmdspec *spec, nr_global *g, FILE *f)
{
    fprintf(f, "Usage: %s %s\n", g->prog, spec->usage);
    if (spec->about)
        fprintf(f, "\n%s\n", spec->about);
    fputs("\nOptions:\n", f);
    for (const nr_opt *o = spec->opts; o && (o->name || o->key); o++) {
        char left[96];
        int n = 0;
        bool sh = o->key < NR_OPT_LONG && isalnum(o->key);
        n += snprintf(left + n, sizeof left - (size_t)n, sh ? "-%c%s" : "   ", sh ? o->key : 0, sh && o->name ? ", " : "");
        if (o->name)
            n += snprintf(left + n, sizeof left - (size_t)n, "--%s", o->name);
        if (o->arg == required_argument)
            snprintf(left + n, sizeof left - (size_t)n, " %s", o->metavar ? o->metavar : "VALUE");
        else if (o->arg == optional_argument)
            snprintf(left + n, sizeof left - (size_t)n, "[=%s]", o->metavar ? o->metavar : "VALUE");
        fprintf(f, "  %-28s %s\n", left, o->help ? o->help : "");
    }
    fprintf(f, "  %-28s %s\n", has_short(spec->opts, 'h') ? "    --help" : "-h, --help", "print this help");
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
    int c = getopt_long(argc, argv, so, lo, NULL);
    char name[64];
    cmd_name(g, argv[0], name, sizeof name);
    if (c == HELP_KEY || (c == 'h' && !has_short(spec->opts, 'h'))) {
        nr_opt_help(spec, g, stdout);
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
        else
            fprintf(stderr, "%s: unknown option %s (see '%s --help')\n", name, bad, name);
        active = NULL;
        return NR_OPT_BAD;
    }
    if (c == -1)
        active = NULL;
    return c;
}
