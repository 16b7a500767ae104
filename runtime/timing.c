/* NRUN_TIMING: phase timestamps for start-up work (used by the runtime and the CLI). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/runtime.h"

/* NRUN_TIMING=1: phase timestamps on stderr (for bench/start.sh work). */
void rt_timing(const char *what)
{
    static int on = -1;
    static struct timespec t0;
    if (on < 0) {
        on = getenv("NRUN_TIMING") != NULL;
        clock_gettime(CLOCK_MONOTONIC, &t0);
    }
    if (!on)
        return;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    fprintf(stderr, "nrun timing %8.2f ms  %s\n", (t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6, what);
}
