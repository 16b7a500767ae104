/* A RUN step's output, shown as it comes and its tail kept (relay.c). */
#ifndef BLD_RELAY_H
#define BLD_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

typedef struct bld_relay {
    pid_t pid;
    int saved[2]; /* our stdout, stderr while the step runs */
    int tail_fd;  /* the relay sends the last lines here when the step ends */
} bld_relay;

/* Point stdout and stderr at a relay process: the output is shown (not when
 * quiet) with prefix at the start of each line (NULL or "": none). */
int bld_relay_start(bld_relay *r, bool quiet, const char *prefix, nr_err *err);
/* Restore stdout and stderr, wait for the relay; the step's last lines
 * (malloc'd, may be empty), and how many lines it put on the terminal. */
char *bld_relay_end(bld_relay *r, size_t *shown);

#endif
