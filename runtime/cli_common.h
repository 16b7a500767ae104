/* Shared bits of the runtime's CLI files. */
#ifndef RT_CLI_COMMON_H
#define RT_CLI_COMMON_H

#include "common/cli.h"
#include "common/err.h"

/* "prog: message" on stderr; returns NR_EXIT_USAGE. */
int rt_usage(nr_global *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
