/* nbuild: build an OCI image from a Nodefile (Dockerfile syntax). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/err.h"

int main(int argc, char **argv)
{
    nr_global g = {.root = getenv("NRUN_ROOT"), .prog = "nbuild"};
    if (!g.root || !*g.root)
        g.root = NR_DEFAULT_ROOT;
    if (argc > 1 && !strcmp(argv[1], "--version")) {
        puts("nbuild version " NR_VERSION);
        return 0;
    }
    /* nbuild --list-bases [REF...]: what the node base tags resolve to (= nrun base --list). */
    if (argc > 1 && !strcmp(argv[1], "--list-bases") && nr_cmd_base) {
        argv[0] = "base";
        argv[1] = "--list";
        return nr_cmd_base(argc, argv, &g);
    }
    if (!nr_cmd_build) {
        fprintf(stderr, "nbuild: not supported yet\n");
        return NR_EXIT_FAIL;
    }
    argv[0] = "build";
    return nr_cmd_build(argc, argv, &g);
}
