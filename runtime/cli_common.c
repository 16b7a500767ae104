/* Helpers shared by the runtime's subcommands (both binaries link them, and
 * nbuild has no nr_usage_error of its own). */
#include <stdarg.h>
#include <stdio.h>

#include "runtime/cli_common.h"

int rt_usage(nr_global *g, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", g->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return NR_EXIT_USAGE;
}
