/* compose build and compose pull: the images of the services, built with
 * nrun build, or pulled (made, for the names nbuild makes). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/compose.h"
#include "common/util.h"

/* the services named (all when none), each checked: -1 after a usage error */
static int named_ok(nr_global *g, cmp_project *p, const char *verb, char **names, size_t n)
{
    nr_err perr = {0};
    if (cmp_enable(p, names, n, &perr) < 0) {
        nr_err_report(&perr, "nrun compose", NR_EXIT_FAIL);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(json_object_get(p->model, "services"), names[i])) {
            cleanup_free char *e = nr_escape_controls(names[i]);
            nr_usage_error(g, "compose %s: no such service: %s", verb, e);
            return -1;
        }
    return 0;
}

static bool wanted(char **names, size_t n, const char *svc)
{
    bool want = n == 0;
    for (size_t i = 0; i < n; i++)
        want |= !strcmp(names[i], svc);
    return want;
}

/* build [--no-cache] [--pull] [--build-arg K=V]... [SERVICE...] */
int cmp_build(nr_global *g, cmp_project *p, int argc, char **argv)
{
    enum { O_NOCACHE = NR_OPT_LONG, O_PULL, O_ARG, O_PROGRESS, O_SSH };
    static const nr_opt opts[] = {
        {"no-cache", O_NOCACHE, no_argument, NULL, "run every step again"},
        {"pull", O_PULL, no_argument, NULL, "pull the FROM images again when a registry has them"},
        {"build-arg", O_ARG, required_argument, "K[=V]", "set a build ARG (over the file's args)"},
        {"ssh", O_SSH, required_argument, "ID[=SOCKET|KEY]", "an ssh agent for RUN --mount=type=ssh"},
        {"quiet", 'q', no_argument, NULL, "no progress"},
        {"progress", O_PROGRESS, required_argument, "MODE", "accepted"},
        {0},
    };
    static const nr_cmdspec spec = {"compose build [--no-cache] [--pull] [--build-arg K=V]... [SERVICE...]",
                                    "Build the images of the services that have build:.", opts, false};
    cmp_strv extra = {0};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case O_NOCACHE: cmp_strv_push(&extra, "--no-cache"); break;
        case O_PULL: cmp_strv_push(&extra, "--pull"); break;
        case O_ARG: cmp_strv_pushf(&extra, "--build-arg=%s", optarg); break;
        case O_SSH: cmp_strv_pushf(&extra, "--ssh=%s", optarg); break;
        case 'q':
        case O_PROGRESS: break;
        default: cmp_strv_free(&extra); return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    char **names = argv + optind;
    size_t n = (size_t)(argc - optind);
    if (named_ok(g, p, "build", names, n) < 0) {
        cmp_strv_free(&extra);
        return NR_EXIT_USAGE;
    }
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(json_object_get(p->model, "services"), k, v) {
        if (!wanted(names, n, k) || !json_object_get(v, "build"))
            continue;
        if (cmp_build_service(g, p, k, &extra))
            rc = NR_EXIT_FAIL;
        else
            fprintf(stderr, "Service %s  Built\n", k);
    }
    cmp_strv_free(&extra);
    return rc;
}

/* pull [-q] [--ignore-pull-failures] [SERVICE...]: the images of services
 * without build: (the ones nbuild makes are made, as up makes them) */
int cmp_pull(nr_global *g, cmp_project *p, int argc, char **argv)
{
    enum { O_IGNORE = NR_OPT_LONG, O_DEPS, O_POLICY };
    static const nr_opt opts[] = {
        {"quiet", 'q', no_argument, NULL, "no progress"},
        {"ignore-pull-failures", O_IGNORE, no_argument, NULL, "go on after a failed pull"},
        {"include-deps", O_DEPS, no_argument, NULL, "also the services the named ones depend on"},
        {"policy", O_POLICY, required_argument, "missing|always", "pull only the missing images, or all (default)"},
        {0},
    };
    static const nr_cmdspec spec = {"compose pull [-q] [--ignore-pull-failures] [--include-deps] [SERVICE...]",
                                    "Pull the images of the services that name one (nrun pull).", opts, false};
    bool quiet = false, ignore = false, deps = false, missing = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'q': quiet = true; break;
        case O_IGNORE: ignore = true; break;
        case O_DEPS: deps = true; break;
        case O_POLICY:
            if (strcmp(optarg, "missing") && strcmp(optarg, "always"))
                return nr_usage_error(g, "compose pull: --policy %s: missing or always", optarg);
            missing = !strcmp(optarg, "missing");
            break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    char **names = argv + optind;
    size_t n = (size_t)(argc - optind);
    if (named_ok(g, p, "pull", names, n) < 0)
        return NR_EXIT_USAGE;
    cmp_strv order = {0};
    nr_err err = {0};
    if (n && cmp_order(p, names, n, !deps, &order, &err) < 0)
        return nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(json_object_get(p->model, "services"), k, v) {
        const char *image = json_string_value(json_object_get(v, "image"));
        if ((n && !wanted(order.v, order.n, k)) || json_object_get(v, "build") || !image)
            continue;
        if (missing && cmp_image_exists(g, image))
            continue;
        if (cmp_get_image(g, k, image, quiet)) {
            cleanup_free char *e = nr_escape_controls(k);
            fprintf(stderr, "nrun compose: service %s: %s could not be had\n", e, image);
            rc = NR_EXIT_FAIL;
            if (!ignore)
                break;
        }
    }
    cmp_strv_free(&order);
    return ignore ? 0 : rc;
}
