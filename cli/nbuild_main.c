/* nbuild: build an OCI image from a Nodefile (Dockerfile syntax).  The same
 * command as `nrun build` (cli/build.c); nbuild links the builder, the images
 * and the container runtime its RUN steps use, and none of nrun's other
 * commands or the supervisor (see the Makefile). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/err.h"

int main(int argc, char **argv)
{
    /* no root yet: --root may name one, else nr_cmd_build takes the default */
    nr_global g = {.root = getenv("NRUN_ROOT"), .prog = "nbuild"};
    if (g.root && !*g.root)
        g.root = NULL;
    if (argc > 1 && !strcmp(argv[1], "--version")) {
        puts("nbuild version " NR_VERSION);
        return 0;
    }
    argv[0] = "nbuild";
    return nr_cmd_build(argc, argv, &g);
}
