/* Helpers shared by the subcommands of both binaries. */
#include <stdarg.h>
#include <stdio.h>

#include "common/cli.h"
#include "common/err.h"

int nr_usage_error(nr_global *g, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", g->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return NR_EXIT_USAGE;
}
