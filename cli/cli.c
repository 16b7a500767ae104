/* Helpers shared by the subcommands of both binaries. */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"
#include "common/err.h"

int nr_usage_verror(nr_global *g, int code, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", g->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return code;
}

int nr_usage_error(nr_global *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = nr_usage_verror(g, NR_EXIT_USAGE, fmt, ap);
    va_end(ap);
    return r;
}
