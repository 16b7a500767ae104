/* nrun pause / unpause CONTAINER... -- docker's: freeze every process of a
 * running container (v1's freezer group, v2's cgroup.freeze: runtime/cgroup.c)
 * and thaw them again.  While frozen, ps shows "Up ... (Paused)", inspect
 * State.Status "paused" and State.Paused true; exec is refused; stop, kill
 * and rm -f thaw first (cli/lifecycle.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "runtime/events.h"
#include "runtime/runtime.h"

static int freeze_one(nr_global *g, const char *ref, bool freeze, nr_err *err)
{
    char id[65];
    rt_state st;
    if (rt_container_state(g->root, ref, id, &st, err) < 0)
        return -1;
    int r = 0;
    if (strcmp(rt_state_live_status(&st), "running")) {
        r = nr_err_set(err, "container %s is not running", id);
    } else if (rt_state_paused(&st) == freeze) {
        r = nr_err_set(err, freeze ? "container %s is already paused" : "container %s is not paused", id);
    } else {
        rt_cgroup cg;
        rt_cgroup_from_json(st.cgroups, &cg);
        r = rt_cgroup_freeze(&cg, freeze, err);
        rt_cgroup_free(&cg);
        if (r == 0)
            rt_event_container(g->root, freeze ? "pause" : "unpause", id, &st, NULL);
    }
    rt_state_free(&st);
    return r;
}

static int pause_cmd(int argc, char **argv, nr_global *g, bool freeze)
{
    static const nr_opt opts[] = {{0}};
    static const nr_cmdspec pspec = {"pause CONTAINER...", "Freeze every process of running containers.", opts, true};
    static const nr_cmdspec uspec = {"unpause CONTAINER...", "Thaw the processes of paused containers.", opts, true};
    int c;
    while ((c = nr_opt_next(freeze ? &pspec : &uspec, argc, argv, g)) != -1)
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    if (optind >= argc)
        return nr_usage_error(g, "%s: which container?", freeze ? "pause" : "unpause");
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        nr_err err = {0};
        if (freeze_one(g, argv[i], freeze, &err) < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        else
            printf("%s\n", argv[i]);
    }
    return rc;
}

int nr_cmd_pause(int argc, char **argv, nr_global *g)
{
    return pause_cmd(argc, argv, g, true);
}

int nr_cmd_unpause(int argc, char **argv, nr_global *g)
{
    return pause_cmd(argc, argv, g, false);
}
