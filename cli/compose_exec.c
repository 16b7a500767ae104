/* nrun compose exec SERVICE CMD... and compose run SERVICE [CMD...]: a command
 * in a service's running container (nrun exec), or a one-off container of the
 * service (nrun run with the service's flags, its dependencies up first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/compose.h"
#include "common/util.h"

int cmp_exec(nr_global *g, cmp_project *p, int argc, char **argv)
{
    static const nr_opt opts[] = {
        {"no-TTY", 'T', no_argument, NULL, "no terminal (default: one when stdin is a terminal)"},
        {"detach", 'd', no_argument, NULL, "in the background"},
        {"env", 'e', required_argument, "K=V", "set a variable"},
        {"workdir", 'w', required_argument, "DIR", "the working directory"},
        {"user", 'u', required_argument, "USER", "run as this user"},
        {"index", NR_OPT_LONG, required_argument, "N", "the service's Nth container (scale; default 1)"},
        {0},
    };
    static const nr_cmdspec spec = {"compose exec [-T] [-e K=V] [-w DIR] [-u USER] [--index N] SERVICE CMD...",
                                    "Run a command in a service's running container.", opts, false};
    cmp_strv a = {0};
    cmp_strv_push(&a, "exec");
    bool tty = isatty(0) && isatty(1), detach = false;
    int c, index = 1;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'T': tty = false; break;
        case 'd': detach = true; break;
        case 'e': cmp_strv_pushf(&a, "--env=%s", optarg); break;
        case 'w': cmp_strv_pushf(&a, "--workdir=%s", optarg); break;
        case 'u': cmp_strv_pushf(&a, "--user=%s", optarg); break;
        case NR_OPT_LONG:
            if (!(index = cmp_parse_index(g, "exec", optarg))) {
                cmp_strv_free(&a);
                return NR_EXIT_USAGE;
            }
            break;
        default: cmp_strv_free(&a); return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (argc - optind < 2) {
        cmp_strv_free(&a);
        return nr_usage_error(g, "compose exec: SERVICE CMD...");
    }
    const char *svc = argv[optind];
    nr_err err = {0};
    cmp_ctr *cs;
    size_t n;
    if (cmp_ctrs_list(g, p->name, &cs, &n, &err) < 0) {
        cmp_strv_free(&a);
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    }
    cmp_ctr *ct = cmp_find_ctr_n(cs, n, p, svc, index);
    if (!ct || strcmp(ct->status, "running")) {
        cmp_ctrs_free(cs, n);
        cmp_strv_free(&a);
        cleanup_free char *e = nr_escape_controls(svc);
        if (index > 1)
            fprintf(stderr, "nrun compose: service \"%s\" has no running container %d\n", e, index);
        else
            fprintf(stderr, "nrun compose: service \"%s\" is not running\n", e);
        return NR_EXIT_FAIL;
    }
    if (detach)
        cmp_strv_push(&a, "-d");
    else if (tty)
        cmp_strv_push(&a, "-it");
    else
        cmp_strv_push(&a, "-i");
    cmp_strv_push(&a, ct->id);
    for (int i = optind + 1; i < argc; i++)
        cmp_strv_push(&a, argv[i]);
    cmp_ctrs_free(cs, n);
    int r = nr_cmd_exec((int)a.n, a.v, g);
    cmp_strv_free(&a);
    return r;
}

int cmp_run_oneoff(nr_global *g, cmp_project *p, int argc, char **argv)
{
    enum { O_RM = NR_OPT_LONG, O_NODEPS, O_ENTRY, O_NAME, O_SP };
    static const nr_opt opts[] = {
        {"rm", O_RM, no_argument, NULL, "remove the container when it ends"},
        {"detach", 'd', no_argument, NULL, "in the background"},
        {"no-TTY", 'T', no_argument, NULL, "no terminal"},
        {"env", 'e', required_argument, "K=V", "set a variable"},
        {"workdir", 'w', required_argument, "DIR", "the working directory"},
        {"user", 'u', required_argument, "USER", "run as this user"},
        {"no-deps", O_NODEPS, no_argument, NULL, "do not start the services it depends on"},
        {"entrypoint", O_ENTRY, required_argument, "CMD", "replace the entrypoint"},
        {"name", O_NAME, required_argument, "NAME", "the container's name"},
        {"service-ports", O_SP, no_argument, NULL, "publish the service's ports"},
        {0},
    };
    static const nr_cmdspec spec = {"compose run [--rm] [-d] [-T] [-e K=V] [--no-deps] SERVICE [CMD...]",
                                    "Run a one-off command in a new container of a service.", opts, false};
    cmp_strv extra = {0};
    bool tty = isatty(0) && isatty(1), detach = false, no_deps = false, rm = false, sp = false;
    const char *name = NULL;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case O_RM: rm = true; break;
        case 'd': detach = true; break;
        case 'T': tty = false; break;
        case 'e': cmp_strv_pushf(&extra, "--env=%s", optarg); break;
        case 'w': cmp_strv_pushf(&extra, "--workdir=%s", optarg); break;
        case 'u': cmp_strv_pushf(&extra, "--user=%s", optarg); break;
        case O_ENTRY: cmp_strv_pushf(&extra, "--entrypoint=%s", optarg); break;
        case O_NAME: name = optarg; break;
        case O_NODEPS: no_deps = true; break;
        case O_SP: sp = true; break;
        default: cmp_strv_free(&extra); return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cmp_strv_free(&extra);
        return nr_usage_error(g, "compose run: which SERVICE?");
    }
    /* (cmp_up below parses options too: optind is not ours after it) */
    int at = optind;
    const char *svc = argv[at];
    nr_err perr = {0};
    if (cmp_enable(p, argv + at, 1, &perr) < 0) {
        cmp_strv_free(&extra);
        return nr_err_report(&perr, "nrun compose", NR_EXIT_FAIL);
    }
    json_t *s = json_object_get(json_object_get(p->model, "services"), svc);
    if (!s) {
        cmp_strv_free(&extra);
        return nr_usage_error(g, "compose run: no such service: %s", svc);
    }
    /* its dependencies up (and the networks), as compose does */
    cmp_strv up = {0};
    cmp_strv_push(&up, "compose up");
    cmp_strv_push(&up, "-d");
    const char *k;
    json_t *v;
    if (!no_deps)
        json_object_foreach(json_object_get(s, "depends_on"), k, v) cmp_strv_push(&up, k);
    nr_err err = {0};
    int rc = 0;
    if (up.n > 2)
        rc = cmp_up(g, p, (int)up.n, up.v);
    else if (cmp_state_save(g, p), cmp_make_shared(g, p, &err) < 0)
        rc = nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
    cmp_strv_free(&up);
    cleanup_free char *image = cmp_svc_image(p, svc);
    if (!rc && json_object_get(s, "build") && !cmp_image_exists(g, image))
        rc = cmp_build_service(g, p, svc, NULL);
    if (rc) {
        cmp_strv_free(&extra);
        return rc;
    }
    if (name)
        cmp_strv_pushf(&extra, "--name=%s", name);
    if (sp) {
        size_t j;
        json_array_foreach(json_object_get(s, "ports"), j, v) cmp_strv_pushf(&extra, "--publish=%s", json_string_value(v));
    }
    cmp_strv fin = {0};
    cmp_strv_push(&fin, "run");
    if (rm)
        cmp_strv_push(&fin, "--rm");
    if (detach)
        cmp_strv_push(&fin, "-d");
    else
        cmp_strv_push(&fin, tty ? "-it" : "-i");
    if (cmp_run_argv(p, svc, CMP_ARGV_RUN, NULL, &extra, argv + at + 1, (size_t)(argc - at - 1), &fin, &err) < 0) {
        cmp_strv_free(&fin);
        cmp_strv_free(&extra);
        return nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
    }
    cmp_strv_free(&extra);
    int r = nr_cmd_run((int)fin.n, fin.v, g);
    cmp_strv_free(&fin);
    return r;
}
