/* compose up: check every service's flags first (nothing made when one is
 * refused), build or pull what is missing, make the networks and volumes,
 * then start each service after its dependencies (started, healthy or
 * completed), keeping a container whose config hash is unchanged; without
 * -d, follow the logs (compose_logs.c) and stop everything on Ctrl-C or
 * SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/base.h"
#include "builder/base_gcr.h"
#include "cli/compose.h"
#include "common/util.h"
#include "images/ref.h"
#include "runtime/net.h"
#include "runtime/runtime.h"

bool cmp_image_exists(nr_global *g, const char *ref)
{
    bool found = false;
    nr_err err = {0};
    json_t *j = nr_inspect_image(g, ref, false, &found, &err);
    json_decref(j);
    return j && found;
}

int cmp_get_image(nr_global *g, const char *svc, const char *image, bool quiet)
{
    char norm[IMG_NAME_MAX + IMG_TAG_MAX + 2];
    if (!nr_base_makes(image, norm, sizeof norm)) {
        fprintf(stderr, "Service %s  Pulling\n", svc);
        return nr_pull_for_run(g, image, quiet);
    }
    /* node:, debian:, nginx:, redis:, postgres:... as FROM and `nrun base` make them */
    fprintf(stderr, "Service %s  Making %s (nrun base)\n", svc, image);
    cmp_strv a = {0};
    cmp_strv_push(&a, "base");
    cmp_strv_push(&a, norm);
    int rc = cmp_call(g, nr_cmd_base, &a, true);
    cmp_strv_free(&a);
    if (!rc && !cmp_image_exists(g, image)) { /* docker.io/library/redis:7: that name too */
        cmp_strv t = {0};
        cmp_strv_push(&t, "tag");
        cmp_strv_push(&t, norm);
        cmp_strv_push(&t, image);
        rc = cmp_call(g, nr_cmd_tag, &t, true);
        cmp_strv_free(&t);
    }
    return rc;
}

static char *image_id(nr_global *g, const char *ref)
{
    bool found = false;
    nr_err err = {0};
    json_t *j = nr_inspect_image(g, ref, false, &found, &err);
    const char *id = json_string_value(json_object_get(j, "Id"));
    char *r = nr_xstrdup(id ? id : "");
    json_decref(j);
    return r;
}

/* what the project needs that must exist before anything is made */
static int check_external(nr_global *g, cmp_project *p, nr_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(p->model, "networks"), k, v) {
        if (!json_is_true(json_object_get(v, "external")))
            continue;
        cleanup_free char *n = cmp_net_name(p, k);
        if (rt_net_exists(g->root, n, err) < 0)
            return nr_err_wrap(err, "networks.%s (external)", k);
    }
    json_object_foreach(json_object_get(p->model, "volumes"), k, v) {
        if (!json_is_true(json_object_get(v, "external")))
            continue;
        cleanup_free char *n = cmp_vol_name(p, k);
        if (!cmp_volume_exists(g, n))
            return nr_err_set(err, "volumes.%s (external): no such volume: %s", k, n);
    }
    return 0;
}

/* The environment and content sources of secrets and configs as files,
 * <root>/compose/<project>.files/<kind>.<name> (0444: read by a container
 * of any user; the directory is root's, 0700), named in the model so the
 * services bind them; down removes them. */
static int write_contents(nr_global *g, cmp_project *p, nr_err *err)
{
    if (!json_object_size(p->contents))
        return 0;
    cleanup_free char *base = nr_xasprintf("%s/compose", g->root);
    cleanup_free char *dir = nr_xasprintf("%s/%s.files", base, p->name);
    if ((mkdir(base, 0700) < 0 && errno != EEXIST) || (mkdir(dir, 0700) < 0 && errno != EEXIST))
        return nr_err_sys(err, errno, "mkdir %s", dir);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    const char *k;
    json_t *v;
    json_object_foreach(p->contents, k, v) {
        const char *text = json_string_value(v);
        cleanup_free char *kind = nr_xstrndup(k, strcspn(k, "/"));
        const char *name = k + strlen(kind) + 1;
        cleanup_free char *file = nr_xasprintf("%s.%s", kind, name);
        if (nr_write_atomic(dfd, file, text, strlen(text), 0444, err) < 0)
            return -1;
        cleanup_free char *full = nr_xasprintf("%s/%s", dir, file);
        json_object_set_new(json_object_get(json_object_get(p->model, kind), name), "file", json_string(full));
    }
    return 0;
}

int cmp_make_shared(nr_global *g, cmp_project *p, nr_err *err)
{
    if (write_contents(g, p, err) < 0)
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(p->model, "networks"), k, v) {
        cleanup_free char *n = cmp_net_name(p, k);
        nr_err ign = {0};
        if (json_is_true(json_object_get(v, "external")) || rt_net_exists(g->root, n, &ign) == 0)
            continue;
        cmp_strv a = {0};
        cmp_strv_push(&a, "network");
        cmp_strv_push(&a, "create");
        json_t *ic = json_array_get(json_object_get(json_object_get(v, "ipam"), "config"), 0);
        if (json_object_get(ic, "subnet")) {
            cmp_strv_push(&a, "--subnet");
            cmp_strv_push(&a, json_string_value(json_object_get(ic, "subnet")));
        }
        if (json_object_get(ic, "gateway")) {
            cmp_strv_push(&a, "--gateway");
            cmp_strv_push(&a, json_string_value(json_object_get(ic, "gateway")));
        }
        if (json_is_true(json_object_get(v, "internal")))
            cmp_strv_push(&a, "--internal");
        cmp_strv_push(&a, n);
        int r = cmp_call(g, nr_cmd_network, &a, true);
        cmp_strv_free(&a);
        if (r)
            return nr_err_set(err, "network %s: could not be made", n);
        fprintf(stderr, "Network %s  Created\n", n);
    }
    json_object_foreach(json_object_get(p->model, "volumes"), k, v) {
        cleanup_free char *n = cmp_vol_name(p, k);
        if (json_is_true(json_object_get(v, "external")) || cmp_volume_exists(g, n))
            continue;
        cmp_strv a = {0};
        cmp_strv_push(&a, "volume");
        cmp_strv_push(&a, "create");
        cmp_strv_push(&a, n);
        int r = cmp_call(g, nr_cmd_volume, &a, true);
        cmp_strv_free(&a);
        if (r)
            return nr_err_set(err, "volume %s: could not be made", n);
        fprintf(stderr, "Volume %s  Created\n", n);
    }
    return 0;
}

int cmp_build_service(nr_global *g, cmp_project *p, const char *svc, const cmp_strv *extra)
{
    json_t *b = json_object_get(json_object_get(json_object_get(p->model, "services"), svc), "build");
    if (!b)
        return 0;
    cleanup_free char *image = cmp_svc_image(p, svc);
    const char *ctx = json_string_value(json_object_get(b, "context"));
    const char *df = json_string_value(json_object_get(b, "dockerfile"));
    cmp_strv a = {0};
    cmp_strv_push(&a, "build");
    cmp_strv_pushf(&a, "--tag=%s", image);
    if (df) {
        if (df[0] == '/')
            cmp_strv_pushf(&a, "--file=%s", df);
        else
            cmp_strv_pushf(&a, "--file=%s/%s", ctx, df);
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(b, "args"), k, v) {
        if (json_is_string(v))
            cmp_strv_pushf(&a, "--build-arg=%s=%s", k, json_string_value(v));
        else
            cmp_strv_pushf(&a, "--build-arg=%s", k);
    }
    json_object_foreach(json_object_get(b, "labels"), k, v)
        cmp_strv_pushf(&a, "--label=%s=%s", k, json_is_string(v) ? json_string_value(v) : "");
    if ((v = json_object_get(b, "target")))
        cmp_strv_pushf(&a, "--target=%s", json_string_value(v));
    for (size_t i = 0; extra && i < extra->n; i++)
        cmp_strv_push(&a, extra->v[i]);
    cmp_strv_push(&a, ctx);
    fprintf(stderr, "Service %s  Building\n", svc);
    int r = cmp_call(g, nr_cmd_build, &a, true);
    cmp_strv_free(&a);
    if (r)
        fprintf(stderr, "nrun compose: services.%s: the build failed (exit %d)\n", svc, r);
    return r;
}

static volatile sig_atomic_t got_signal;
static void on_signal(int sig)
{
    got_signal = sig;
}

static int connect_more(nr_global *g, cmp_project *p, const char *svc, const char *ctr)
{
    json_t *nets = cmp_svc_networks(p, svc);
    size_t i;
    json_t *n;
    int r = 0;
    json_array_foreach(nets, i, n) {
        if (i == 0)
            continue;
        cmp_strv a = {0};
        cmp_strv_push(&a, "network");
        cmp_strv_push(&a, "connect");
        size_t j;
        json_t *al;
        json_array_foreach(json_object_get(n, "aliases"), j, al) {
            cmp_strv_push(&a, "--alias");
            cmp_strv_push(&a, json_string_value(al));
        }
        if (json_object_get(n, "ipv4_address")) {
            cmp_strv_push(&a, "--ip");
            cmp_strv_push(&a, json_string_value(json_object_get(n, "ipv4_address")));
        }
        cmp_strv_push(&a, json_string_value(json_object_get(n, "name")));
        cmp_strv_push(&a, ctr);
        r = cmp_call(g, nr_cmd_network, &a, true);
        cmp_strv_free(&a);
        if (r)
            break;
    }
    json_decref(nets);
    return r;
}

static char *svc_hash(nr_global *g, cmp_project *p, const char *svc, nr_err *err)
{
    cmp_strv a = {0};
    if (cmp_run_argv(p, svc, CMP_ARGV_UP, NULL, NULL, NULL, 0, &a, err) < 0) {
        cmp_strv_free(&a);
        return NULL;
    }
    /* the flags, the networks beyond the first, and the image it is now */
    nr_sha256 *h = nr_sha256_new();
    for (size_t i = 0; i < a.n; i++)
        nr_sha256_update(h, a.v[i], strlen(a.v[i]) + 1);
    json_t *nets = cmp_svc_networks(p, svc);
    cleanup_free char *nj = nets ? json_dumps(nets, JSON_COMPACT) : NULL;
    json_decref(nets);
    if (nj)
        nr_sha256_update(h, nj, strlen(nj));
    cleanup_free char *img = cmp_svc_image(p, svc);
    cleanup_free char *iid = image_id(g, img);
    nr_sha256_update(h, iid, strlen(iid) + 1);
    char hex[65];
    nr_sha256_final(h, hex);
    cmp_strv_free(&a);
    return nr_xstrdup(hex);
}

static int stop_all(nr_global *g, cmp_project *p, cmp_strv *order)
{
    for (size_t i = order->n; i-- > 0;)
        for (int n = cmp_scale(p, order->v[i]); n >= 1; n--) {
            cleanup_free char *name = cmp_ctr_name_n(p, order->v[i], n);
            cmp_strv a = {0};
            cmp_strv_push(&a, "stop");
            cmp_strv_push(&a, name);
            fprintf(stderr, "Container %s  Stopping\n", name);
            cmp_call(g, nr_cmd_stop, &a, true);
            cmp_strv_free(&a);
            fprintf(stderr, "Container %s  Stopped\n", name);
        }
    return 0;
}

/* replica n's argv from the first's: its name and container number */
static void renumber(cmp_strv *a, const cmp_project *p, const char *svc, const char *name, int n)
{
    cleanup_free char *first = cmp_ctr_name(p, svc);
    cleanup_free char *fname = nr_xasprintf("--name=%s", first);
    for (size_t i = 0; i < a->n; i++) {
        if (!strcmp(a->v[i], fname)) {
            free(a->v[i]);
            a->v[i] = nr_xasprintf("--name=%s", name);
        } else if (!strcmp(a->v[i], "--label=com.docker.compose.container-number=1")) {
            free(a->v[i]);
            a->v[i] = nr_xasprintf("--label=com.docker.compose.container-number=%d", n);
        }
    }
}

/* replica n of svc up: kept when its config hash is unchanged (started if
 * stopped), else (re)created; 0 or the exit code */
/* recreate: 1 when its config changed (or --force-recreate: 2), 0 never (--no-recreate) */
static int up_one(nr_global *g, cmp_project *p, const char *svc, int n, const char *hash, cmp_ctr *cs, size_t ncs,
                  int recreate)
{
    nr_err err = {0};
    cleanup_free char *name = cmp_ctr_name_n(p, svc, n);
    cmp_ctr *old = NULL;
    for (size_t k = 0; k < ncs; k++)
        if (!cs[k].oneoff && !strcmp(cs[k].service, svc) && !strcmp(cs[k].name, name))
            old = &cs[k];
    if (old && (recreate == 0 || (recreate == 1 && !strcmp(old->hash, hash)))) {
        if (!strcmp(old->status, "running")) {
            fprintf(stderr, "Container %s  Running\n", name);
            return 0;
        }
        cmp_strv a = {0};
        cmp_strv_push(&a, "start");
        cmp_strv_push(&a, old->id);
        int r = cmp_call(g, nr_cmd_start, &a, true);
        cmp_strv_free(&a);
        if (r) {
            fprintf(stderr, "nrun compose: services.%s: start failed\n", svc);
            return r;
        }
        fprintf(stderr, "Container %s  Started\n", name);
        return 0;
    }
    if (old) {
        cmp_strv a = {0};
        cmp_strv_push(&a, "rm");
        cmp_strv_push(&a, "-f");
        cmp_strv_push(&a, old->id);
        cmp_call(g, nr_cmd_rm, &a, true);
        cmp_strv_free(&a);
        fprintf(stderr, "Container %s  Recreate\n", name);
    }
    cmp_strv a = {0};
    cmp_strv_push(&a, "run");
    if (cmp_run_argv(p, svc, CMP_ARGV_UP, hash, NULL, NULL, 0, &a, &err) < 0) {
        cmp_strv_free(&a);
        return nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
    }
    if (n > 1)
        renumber(&a, p, svc, name, n);
    int r = cmp_call(g, nr_cmd_run, &a, true);
    cmp_strv_free(&a);
    if (r == 0)
        r = connect_more(g, p, svc, name);
    if (r) {
        fprintf(stderr, "nrun compose: services.%s: the container could not be started (exit %d)\n", svc, r);
        return r;
    }
    fprintf(stderr, "Container %s  Started\n", name);
    return 0;
}

/* ---- up ---- */

int cmp_up(nr_global *g, cmp_project *p, int argc, char **argv)
{
    enum {
        O_BUILD = NR_OPT_LONG, O_NOBUILD, O_FORCE, O_NODEPS, O_ORPHANS, O_WAIT, O_WAIT_T, O_ABORT, O_EXITFROM, O_SCALE,
        O_PULL, O_QPULL, O_NOCOLOR, O_NORECREATE
    };
    static const nr_opt opts[] = {
        {"detach", 'd', no_argument, NULL, "start in the background"},
        {"build", O_BUILD, no_argument, NULL, "build the images first"},
        {"no-build", O_NOBUILD, no_argument, NULL, "never build (a missing image is an error)"},
        {"force-recreate", O_FORCE, no_argument, NULL, "recreate the containers even when unchanged"},
        {"no-deps", O_NODEPS, no_argument, NULL, "not the services the named ones depend on"},
        {"remove-orphans", O_ORPHANS, no_argument, NULL, "remove containers of services no longer in the file"},
        {"wait", O_WAIT, no_argument, NULL, "detach once every service is running (healthy, with a health check)"},
        {"wait-timeout", O_WAIT_T, required_argument, "SECONDS", "with --wait: give up after SECONDS"},
        {"abort-on-container-exit", O_ABORT, no_argument, NULL, "stop every container when one exits"},
        {"exit-code-from", O_EXITFROM, required_argument, "SERVICE", "exit with SERVICE's code (implies the above)"},
        {"scale", O_SCALE, required_argument, "SERVICE=N", "N containers of SERVICE (over scale and deploy.replicas)"},
        {"pull", O_PULL, required_argument, "always|missing|never|build", "when to pull (or make) the images (default missing)"},
        {"quiet-pull", O_QPULL, no_argument, NULL, "accepted (up shows no pull progress)"},
        {"no-recreate", O_NORECREATE, no_argument, NULL, "keep existing containers even when their config changed"},
        {"timeout", 't', required_argument, "S", "accepted (the services' stop_grace_period applies)"},
        {"renew-anon-volumes", 'V', no_argument, NULL, "accepted (anonymous volumes always go with their container)"},
        {"no-color", O_NOCOLOR, no_argument, NULL, "accepted (nrun prints no colours)"},
        {"yes", 'y', no_argument, NULL, "accepted (nothing is asked)"},
        {0},
    };
    static const nr_cmdspec spec = {"compose up [-d | --wait] [--build] [--no-build] [--force-recreate] [--no-deps] [SERVICE...]",
                                    "Create and start the services' containers (dependencies first).", opts, true};
    bool detach = false, build = false, no_build = false, force = false, no_deps = false, orphans = false;
    bool wait = false, abort_exit = false, no_recreate = false;
    const char *pull = NULL; /* --pull: over every service's pull_policy (default missing) */
    long long wait_ms = 0;
    const char *exit_from = NULL;
    json_auto_t *scales = json_object();
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'd': detach = true; break;
        case O_PULL:
            if (strcmp(optarg, "always") && strcmp(optarg, "missing") && strcmp(optarg, "never") && strcmp(optarg, "build"))
                return nr_usage_error(g, "compose up: --pull %s: always, missing, never or build", optarg);
            pull = optarg;
            build |= !strcmp(optarg, "build");
            break;
        case O_NORECREATE: no_recreate = true; break;
        case O_QPULL: /* (a pull's progress is never shown here) */
        case 't':
        case 'V':
        case 'y':
        case O_NOCOLOR: break;
        case O_BUILD: build = true; break;
        case O_NOBUILD: no_build = true; break;
        case O_FORCE: force = true; break;
        case O_NODEPS: no_deps = true; break;
        case O_ORPHANS: orphans = true; break;
        case O_WAIT: wait = true; break;
        case O_WAIT_T:
            wait_ms = strspn(optarg, "0123456789") == strlen(optarg) && strlen(optarg) <= 7 ? atoll(optarg) * 1000 : 0;
            if (!wait_ms)
                return nr_usage_error(g, "compose up: --wait-timeout %s: expected seconds", optarg);
            break;
        case O_EXITFROM: exit_from = optarg; /* fall through */
        case O_ABORT: abort_exit = true; break;
        case O_SCALE: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1] || strspn(eq + 1, "0123456789") != strlen(eq + 1) || atoi(eq + 1) > 100)
                return nr_usage_error(g, "compose up: --scale %s: expected SERVICE=N (0 to 100)", optarg);
            cleanup_free char *sn = nr_xstrndup(optarg, (size_t)(eq - optarg));
            json_object_set_new(scales, sn, json_integer(atoi(eq + 1)));
            break;
        }
        case NR_OPT_HELP: return 0;
        default: return NR_EXIT_USAGE;
        }
    }
    if (build && no_build)
        return nr_usage_error(g, "compose up: --build and --no-build cannot be combined");
    if (force && no_recreate)
        return nr_usage_error(g, "compose up: --force-recreate and --no-recreate cannot be combined");
    if (abort_exit && (detach || wait))
        return nr_usage_error(g, "compose up: --abort-on-container-exit and --exit-code-from follow the logs: not "
                                 "with -d or --wait");
    detach |= wait;
    nr_err err = {0};
    cmp_strv order = {0};
    int rc = 0;
    cmp_ctr *cs = NULL;
    size_t ncs = 0;
    if (cmp_order(p, argv + optind, (size_t)(argc - optind), no_deps, &order, &err) < 0 ||
        check_external(g, p, &err) < 0 || cmp_ctrs_list(g, p->name, &cs, &ncs, &err) < 0) {
        rc = nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
        goto out;
    }
    const char *sk;
    json_t *sv;
    json_object_foreach(scales, sk, sv) {
        json_t *s = json_object_get(json_object_get(p->model, "services"), sk);
        if (!s) {
            rc = nr_usage_error(g, "compose up: --scale %s: no such service", sk);
            goto out;
        }
        if (json_integer_value(sv) > 1 && json_object_get(s, "container_name")) {
            rc = nr_usage_error(g, "compose up: --scale %s: the service has a container_name", sk);
            goto out;
        }
        json_object_set(s, "scale", sv);
    }
    if (exit_from && !json_object_get(json_object_get(p->model, "services"), exit_from)) {
        rc = nr_usage_error(g, "compose up: --exit-code-from %s: no such service", exit_from);
        goto out;
    }
    /* two services of one container name: the second would fail half way */
    json_t *names = json_object();
    json_object_foreach(json_object_get(p->model, "services"), sk, sv) {
        cleanup_free char *n = cmp_ctr_name(p, sk);
        json_t *other = json_object_get(names, n);
        if (other) {
            fprintf(stderr, "nrun compose: services.%s and services.%s: both would be the container \"%s\"\n",
                    json_string_value(other), sk, n);
            json_decref(names);
            rc = NR_EXIT_FAIL;
            goto out;
        }
        json_object_set_new(names, n, json_string(sk));
    }
    json_decref(names);
    /* every service's flags, as run checks them, before anything is made */
    for (size_t i = 0; i < order.n; i++) {
        const char *svc = order.v[i];
        cmp_strv a = {0};
        cmp_strv_push(&a, "run");
        int r = cmp_run_argv(p, svc, CMP_ARGV_CHECK, "x", NULL, NULL, 0, &a, &err);
        if (r == 0) {
            r = cmp_call(g, nr_run_flags_check, &a, true);
            if (r)
                fprintf(stderr, "nrun compose: services.%s: refused by nrun run (above)\n", svc);
        } else {
            nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
        }
        cmp_strv_free(&a);
        if (r) {
            rc = NR_EXIT_FAIL;
            goto out;
        }
        /* a name another project (or a plain nrun run) holds is not ours to replace */
        cleanup_free char *name = cmp_ctr_name(p, svc);
        char id[65];
        nr_err ign = {0};
        if (rt_container_find(g->root, name, id, &ign) == 0) {
            json_t *l = cmp_ctr_labels(g, id);
            const char *pr = json_string_value(json_object_get(l, "com.docker.compose.project"));
            const char *sv = json_string_value(json_object_get(l, "com.docker.compose.service"));
            bool ours = pr && sv && !strcmp(pr, p->name) && !strcmp(sv, svc);
            json_decref(l);
            if (!ours) {
                fprintf(stderr, "nrun compose: services.%s: the container name \"%s\" is in use by a container that "
                                "is not this project's service (remove or rename it)\n", svc, name);
                rc = NR_EXIT_FAIL;
                goto out;
            }
        }
    }
    /* the images: built, or pulled, or refused, once every service passed */
    for (size_t i = 0; i < order.n; i++) {
        const char *svc = order.v[i];
        json_t *s = json_object_get(json_object_get(p->model, "services"), svc);
        cleanup_free char *image = cmp_svc_image(p, svc);
        bool have = cmp_image_exists(g, image);
        const char *pol = json_string_value(json_object_get(s, "pull_policy"));
        const char *pull_s = pull ? pull : pol ? pol : "missing";
        bool build_s = build || (!pull && pol && !strcmp(pol, "build"));
        if (json_object_get(s, "build") && (build_s || (!have && !no_build))) {
            if (cmp_build_service(g, p, svc, NULL)) {
                rc = NR_EXIT_FAIL;
                goto out;
            }
        } else if (!have || (!json_object_get(s, "build") && !strcmp(pull_s, "always"))) {
            if (no_build && json_object_get(s, "build")) {
                fprintf(stderr, "nrun compose: services.%s: image %s is missing and --no-build\n", svc, image);
                rc = NR_EXIT_FAIL;
                goto out;
            }
            if (!strcmp(pull_s, "never")) {
                fprintf(stderr, "nrun compose: services.%s: image %s is missing and %s never\n", svc, image,
                        pull ? "--pull" : "pull_policy:");
                rc = NR_EXIT_FAIL;
                goto out;
            }
            if ((rc = cmp_get_image(g, svc, image, true)))
                goto out;
        }
    }
    for (size_t i = 0; i < ncs; i++) {
        if (cs[i].oneoff || json_object_get(json_object_get(p->model, "services"), cs[i].service) ||
            json_object_get(p->disabled, cs[i].service))
            continue;
        if (orphans) {
            cmp_strv a = {0};
            cmp_strv_push(&a, "rm");
            cmp_strv_push(&a, "-f");
            cmp_strv_push(&a, cs[i].id);
            cmp_call(g, nr_cmd_rm, &a, true);
            cmp_strv_free(&a);
            fprintf(stderr, "Container %s  Removed\n", cs[i].name);
        } else {
            fprintf(stderr, "nrun compose: warning: found orphan container %s (service %s is not in the file); "
                            "--remove-orphans removes it\n", cs[i].name, cs[i].service);
        }
    }
    cmp_state_save(g, p);
    if (cmp_make_shared(g, p, &err) < 0) {
        rc = nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
        goto out;
    }
    got_signal = 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    for (size_t i = 0; i < order.n; i++) {
        const char *svc = order.v[i];
        if (cmp_wait_deps(g, p, svc, &order, &got_signal, &err) < 0) {
            rc = nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
            goto out;
        }
        cleanup_free char *hash = svc_hash(g, p, svc, &err);
        if (!hash) {
            rc = nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
            goto out;
        }
        int want = cmp_scale(p, svc);
        for (int n = 1; n <= want; n++)
            if ((rc = up_one(g, p, svc, n, hash, cs, ncs, force ? 2 : no_recreate ? 0 : 1)))
                goto out;
        /* replicas beyond the scale: removed */
        for (size_t k = 0; k < ncs; k++) {
            bool keep = cs[k].oneoff || strcmp(cs[k].service, svc);
            for (int n = 1; !keep && n <= want; n++) {
                cleanup_free char *nm = cmp_ctr_name_n(p, svc, n);
                keep = !strcmp(nm, cs[k].name);
            }
            if (!keep) {
                cmp_strv a = {0};
                cmp_strv_push(&a, "rm");
                cmp_strv_push(&a, "-f");
                cmp_strv_push(&a, cs[k].id);
                cmp_call(g, nr_cmd_rm, &a, true);
                cmp_strv_free(&a);
                fprintf(stderr, "Container %s  Removed\n", cs[k].name);
            }
        }
    }
    if (wait && cmp_wait(g, p, &order, wait_ms, &got_signal, &err) < 0) {
        rc = nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
        goto out;
    }
    if (!detach) {
        cmp_strv names = {0}, labels = {0};
        for (size_t i = 0; i < order.n; i++)
            for (int n = 1; n <= cmp_scale(p, order.v[i]); n++) {
                cleanup_free char *nm = cmp_ctr_name_n(p, order.v[i], n);
                cleanup_free char *dflt = nr_xasprintf("%s-%s-%d", p->name, order.v[i], n);
                cmp_strv_push(&names, nm);
                if (strcmp(nm, dflt)) /* a container_name is its own label, as docker compose's */
                    cmp_strv_push(&labels, nm);
                else
                    cmp_strv_pushf(&labels, "%s-%d", order.v[i], n);
            }
        printf("Attaching to");
        for (size_t i = 0; i < labels.n; i++)
            printf("%s %s", i ? "," : "", labels.v[i]);
        printf("\n");
        int ended = -1;
        cmp_log_opts lo = {.follow = true};
        int sig = cmp_follow(g, names.v, labels.v, names.n, &lo, &got_signal, abort_exit ? &ended : NULL);
        cleanup_free char *nm = ended >= 0 ? nr_xstrdup(names.v[ended]) : NULL;
        cmp_strv_free(&names);
        cmp_strv_free(&labels);
        if (sig) {
            fprintf(stderr, "Gracefully stopping...\n");
            stop_all(g, p, &order);
            rc = 128 + sig;
        } else if (nm) {
            int code = cmp_exit_code(g, nm, NULL);
            printf("%s exited with code %d\nAborting on container exit...\n", nm, code);
            fflush(stdout);
            stop_all(g, p, &order);
            cleanup_free char *from = exit_from ? cmp_ctr_name(p, exit_from) : NULL;
            rc = from ? cmp_exit_code(g, from, NULL) : code;
        }
    }
out:
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    cmp_ctrs_free(cs, ncs);
    cmp_strv_free(&order);
    return rc;
}
