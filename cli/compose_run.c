/* A compose service as the argv of `nrun run`, the project's containers
 * found by their labels, the start order, and calling nrun's own commands
 * in a child so that each checks its flags exactly as on the command line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/compose.h"
#include "common/util.h"
#include "runtime/runtime.h"

void cmp_strv_push(cmp_strv *s, const char *x)
{
    s->v = nr_xrealloc(s->v, (s->n + 2) * sizeof *s->v);
    s->v[s->n++] = nr_xstrdup(x);
    s->v[s->n] = NULL;
}

void cmp_strv_pushf(cmp_strv *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *x = NULL;
    if (vasprintf(&x, fmt, ap) < 0)
        abort();
    va_end(ap);
    cmp_strv_push(s, x);
    free(x);
}

void cmp_strv_free(cmp_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

int cmp_call(nr_global *g, nr_cmd_fn fn, cmp_strv *argv, bool quiet)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "nrun compose: fork: %s\n", strerror(errno));
        return NR_EXIT_FAIL;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (fd >= 0)
                dup2(fd, 1);
        }
        int code = fn((int)argv->n, argv->v, g);
        fflush(NULL);
        _exit(code);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return NR_EXIT_FAIL;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

char *cmp_ctr_name_n(const cmp_project *p, const char *svc, int n)
{
    json_t *s = json_object_get(json_object_get(p->model, "services"), svc);
    const char *cn = json_string_value(json_object_get(s, "container_name"));
    return cn ? nr_xstrdup(cn) : nr_xasprintf("%s-%s-%d", p->name, svc, n);
}

char *cmp_ctr_name(const cmp_project *p, const char *svc)
{
    return cmp_ctr_name_n(p, svc, 1);
}

int cmp_scale(const cmp_project *p, const char *svc)
{
    json_t *sc = json_object_get(json_object_get(json_object_get(p->model, "services"), svc), "scale");
    return sc ? (int)json_integer_value(sc) : 1;
}

static char *decl_name(const cmp_project *p, const char *kind, const char *key)
{
    json_t *d = json_object_get(json_object_get(p->model, kind), key);
    const char *n = json_string_value(json_object_get(d, "name"));
    if (n)
        return nr_xstrdup(n);
    if (json_is_true(json_object_get(d, "external")))
        return nr_xstrdup(key);
    return nr_xasprintf("%s_%s", p->name, key);
}

char *cmp_net_name(const cmp_project *p, const char *net)
{
    return decl_name(p, "networks", net);
}

char *cmp_vol_name(const cmp_project *p, const char *vol)
{
    return decl_name(p, "volumes", vol);
}

json_t *cmp_svc_networks(const cmp_project *p, const char *svc)
{
    json_t *s = json_object_get(json_object_get(p->model, "services"), svc);
    json_t *nets = json_object_get(s, "networks");
    if (!nets)
        return NULL;
    json_t *out = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(nets, k, v) {
        char *full = cmp_net_name(p, k);
        json_t *al = json_array();
        json_array_append_new(al, json_string(svc));
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(v, "aliases"), i, a) json_array_append(al, a);
        json_array_append_new(out, json_pack("{s:s, s:o}", "name", full, "aliases", al));
        json_t *ip4 = json_object_get(v, "ipv4_address");
        if (ip4)
            json_object_set(json_array_get(out, json_array_size(out) - 1), "ipv4_address", ip4);
        free(full);
    }
    return out;
}

char *cmp_svc_image(const cmp_project *p, const char *svc)
{
    json_t *s = json_object_get(json_object_get(p->model, "services"), svc);
    const char *img = json_string_value(json_object_get(s, "image"));
    return img ? nr_xstrdup(img) : nr_xasprintf("%s-%s", p->name, svc);
}

static void push_ms(cmp_strv *a, const char *flag, const char *dur)
{
    cmp_strv_pushf(a, "%s=%lldms", flag, cmp_duration_ms(dur));
}

int cmp_run_argv(const cmp_project *p, const char *svc, cmp_argv_mode mode, const char *hash, const cmp_strv *extra,
                 char **cmd, size_t ncmd, cmp_strv *a, nr_err *err)
{
    json_t *s = json_object_get(json_object_get(p->model, "services"), svc);
    const char *k;
    json_t *v;
    size_t i;
    if (mode != CMP_ARGV_RUN)
        cmp_strv_push(a, "-d");
    cleanup_free char *name = cmp_ctr_name(p, svc);
    if (mode != CMP_ARGV_RUN) {
        cmp_strv_pushf(a, "--name=%s", name);
    } else {
        unsigned char r[3] = {0};
        if (getentropy(r, sizeof r) < 0)
            return nr_err_sys(err, errno, "getentropy");
        cmp_strv_pushf(a, "--name=%s-%s-run-%02x%02x%02x", p->name, svc, r[0], r[1], r[2]);
    }
    /* the file's labels first: compose's own, after them, cannot be overridden (a service
     * labelled as another project's would be that project's to `down`) */
    json_object_foreach(json_object_get(s, "labels"), k, v)
        cmp_strv_pushf(a, "--label=%s=%s", k, json_is_string(v) ? json_string_value(v) : "");
    cmp_strv_pushf(a, "--label=com.docker.compose.project=%s", p->name);
    cmp_strv_pushf(a, "--label=com.docker.compose.service=%s", svc);
    cmp_strv_pushf(a, "--label=com.docker.compose.container-number=1");
    cmp_strv_pushf(a, "--label=com.docker.compose.oneoff=%s", mode == CMP_ARGV_RUN ? "True" : "False");
    cmp_strv_pushf(a, "--label=com.docker.compose.project.working_dir=%s", p->dir);
    if (hash)
        cmp_strv_pushf(a, "--label=com.docker.compose.config-hash=%s", hash);
    /* the first network at run, the others by network connect (compose_up.c) */
    const char *mode_s = json_string_value(json_object_get(s, "network_mode"));
    if (mode_s) {
        if (!strncmp(mode_s, "service:", 8)) {
            if (!json_object_get(json_object_get(p->model, "services"), mode_s + 8))
                return nr_err_set(err, "services.%s.network_mode: %s is not a service of this project", svc, mode_s);
            cleanup_free char *other = cmp_ctr_name(p, mode_s + 8);
            if (mode != CMP_ARGV_CHECK)
                cmp_strv_pushf(a, "--network=container:%s", other);
        } else if (mode != CMP_ARGV_CHECK || strncmp(mode_s, "container:", 10)) {
            cmp_strv_pushf(a, "--network=%s", mode_s);
        }
    } else if (mode != CMP_ARGV_CHECK) {
        json_t *nets = cmp_svc_networks(p, svc);
        json_t *first = json_array_get(nets, 0);
        cmp_strv_pushf(a, "--network=%s", json_string_value(json_object_get(first, "name")));
        json_array_foreach(json_object_get(first, "aliases"), i, v)
            cmp_strv_pushf(a, "--network-alias=%s", json_string_value(v));
        /* one address is one container's: not for compose run's one-offs */
        if (json_object_get(first, "ipv4_address") && mode != CMP_ARGV_RUN)
            cmp_strv_pushf(a, "--ip=%s", json_string_value(json_object_get(first, "ipv4_address")));
        json_decref(nets);
    }
    if (mode != CMP_ARGV_RUN)
        json_array_foreach(json_object_get(s, "ports"), i, v) cmp_strv_pushf(a, "--publish=%s", json_string_value(v));
    json_array_foreach(json_object_get(s, "expose"), i, v) cmp_strv_pushf(a, "--expose=%s", json_string_value(v));
    json_array_foreach(json_object_get(s, "volumes"), i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *src = json_string_value(json_object_get(v, "source"));
        const char *dst = json_string_value(json_object_get(v, "target"));
        bool ro = json_is_true(json_object_get(v, "read_only"));
        if (!strcmp(type, "tmpfs")) {
            cmp_strv_pushf(a, "--tmpfs=%s", dst);
        } else if (!strcmp(type, "bind") && json_is_false(json_object_get(json_object_get(v, "bind"), "create_host_path"))) {
            /* run's --mount refuses a missing source, as docker's does */
            if (strchr(src, ',') || strchr(dst, ','))
                return nr_err_set(err, "services.%s.volumes[%zu]: a ',' in a path with create_host_path: false", svc, i);
            cmp_strv_pushf(a, "--mount=type=bind,source=%s,target=%s%s", src, dst, ro ? ",readonly" : "");
        } else if (!strcmp(type, "bind")) {
            /* run's -v makes a missing source (bind.create_host_path, true by default) */
            cmp_strv_pushf(a, "--volume=%s:%s%s", src, dst, ro ? ":ro" : "");
        } else if (src) {
            cleanup_free char *vol = cmp_vol_name(p, src);
            cmp_strv_pushf(a, "--volume=%s:%s%s", vol, dst, ro ? ":ro" : "");
        } else {
            cmp_strv_pushf(a, "--volume=%s%s", dst, ro ? ":ro" : "");
        }
    }
    /* links with an alias: run's --link to the service's first container */
    json_array_foreach(mode == CMP_ARGV_CHECK ? NULL : json_object_get(s, "links"), i, v) {
        const char *l = json_string_value(v);
        const char *colon = strchr(l, ':');
        cleanup_free char *svn = nr_xstrndup(l, (size_t)(colon - l));
        cleanup_free char *other = cmp_ctr_name(p, svn);
        cmp_strv_pushf(a, "--link=%s%s", other, colon);
    }
    /* volumes_from: a service's first container, or container:NAME (not
     * in the check before up: they are made by up) */
    json_array_foreach(mode == CMP_ARGV_CHECK ? NULL : json_object_get(s, "volumes_from"), i, v) {
        const char *vf = json_string_value(v);
        const char *mode = strrchr(vf, ':');
        if (!mode || (strcmp(mode, ":ro") && strcmp(mode, ":rw")))
            mode = "";
        size_t nl = strlen(vf) - strlen(mode);
        if (!strncmp(vf, "container:", 10)) {
            cmp_strv_pushf(a, "--volumes-from=%.*s%s", (int)(nl - 10), vf + 10, mode);
        } else {
            cleanup_free char *svn = nr_xstrndup(vf, nl);
            cleanup_free char *other = cmp_ctr_name(p, svn);
            cmp_strv_pushf(a, "--volumes-from=%s%s", other, mode);
        }
    }
    /* secrets and configs: the top-level entry's file, bound read-only (an
     * environment or content source: the file up wrote: write_contents, compose_up.c) */
    static const char *const kinds[] = {"secrets", "configs"};
    for (size_t kk = 0; kk < 2; kk++)
        json_array_foreach(json_object_get(s, kinds[kk]), i, v) {
            const char *src = json_string_value(json_object_get(v, "source"));
            json_t *decl = json_object_get(json_object_get(p->model, kinds[kk]), src);
            const char *file = json_string_value(json_object_get(decl, "file"));
            if (!file && mode == CMP_ARGV_CHECK)
                continue; /* written by up, just before the containers */
            if (!file)
                return nr_err_set(err, "services.%s.%s[%zu]: %s.%s was not written", svc, kinds[kk], i, kinds[kk], src);
            if (strchr(file, ','))
                return nr_err_set(err, "%s.%s.file: a ',' in the path", kinds[kk], src);
            cmp_strv_pushf(a, "--mount=type=bind,source=%s,target=%s,readonly", file,
                           json_string_value(json_object_get(v, "target")));
        }
    /* env_file was read into environment (compose_service.c), with compose's rules */
    json_object_foreach(json_object_get(s, "environment"), k, v) {
        if (json_is_string(v))
            cmp_strv_pushf(a, "--env=%s=%s", k, json_string_value(v));
        else
            cmp_strv_pushf(a, "--env=%s", k);
    }
    static const char *const flags[][2] = {
        {"working_dir", "--workdir"}, {"user", "--user"}, {"hostname", "--hostname"}, {"stop_signal", "--stop-signal"},
        {"mem_limit", "--memory"}, {"cpus", "--cpus"}, {"cpuset", "--cpuset-cpus"}, {"pids_limit", "--pids-limit"},
        {"shm_size", "--shm-size"}, {"platform", "--platform"}, {NULL, NULL}};
    for (int f = 0; flags[f][0]; f++)
        if ((v = json_object_get(s, flags[f][0])))
            cmp_strv_pushf(a, "%s=%s", flags[f][1], json_string_value(v));
    cmp_argv_docker_keys(s, a);
    if ((v = json_object_get(s, "restart")) && mode != CMP_ARGV_RUN)
        cmp_strv_pushf(a, "--restart=%s", json_string_value(v));
    if ((v = json_object_get(s, "stop_grace_period")))
        push_ms(a, "--stop-timeout", json_string_value(v));
    if (json_is_true(json_object_get(s, "init")))
        cmp_strv_push(a, "--init");
    if (json_is_true(json_object_get(s, "read_only")))
        cmp_strv_push(a, "--read-only");
    /* stdin_open: the app's stdin stays open (a dev server that exits when it
     * ends keeps running); tty: a terminal, its output the log.  compose run
     * takes its own -i/-T */
    if (mode != CMP_ARGV_RUN && json_is_true(json_object_get(s, "stdin_open")))
        cmp_strv_push(a, "--interactive");
    if (mode != CMP_ARGV_RUN && json_is_true(json_object_get(s, "tty")))
        cmp_strv_push(a, "--tty");
    /* refused by run as `nrun run --privileged` is: one check, run's */
    if (json_is_true(json_object_get(s, "privileged")))
        cmp_strv_push(a, "--privileged");
    static const char *const lists[][2] = {{"tmpfs", "--tmpfs"}, {"cap_add", "--cap-add"}, {"cap_drop", "--cap-drop"},
                                           {"extra_hosts", "--add-host"}, {"dns", "--dns"},
                                           {"security_opt", "--security-opt"}, {NULL, NULL}};
    for (int f = 0; lists[f][0]; f++)
        json_array_foreach(json_object_get(s, lists[f][0]), i, v)
            cmp_strv_pushf(a, "%s=%s", lists[f][1], json_string_value(v));
    json_object_foreach(json_object_get(s, "sysctls"), k, v)
        cmp_strv_pushf(a, "--sysctl=%s=%s", k, json_is_string(v) ? json_string_value(v) : "");
    json_t *h = json_object_get(s, "healthcheck");
    if (h) {
        json_t *t = json_object_get(h, "test");
        if (json_is_true(json_object_get(h, "disable")) || !strcmp(json_string_value(json_array_get(t, 0)) ?: "", "NONE")) {
            cmp_strv_push(a, "--no-healthcheck");
        } else {
            if (t) {
                cleanup_free char *js = json_dumps(t, JSON_COMPACT);
                cmp_strv_pushf(a, "--health-test=%s", js);
            }
            static const char *const hd[][2] = {{"interval", "--health-interval"}, {"timeout", "--health-timeout"},
                                                {"start_period", "--health-start-period"},
                                                {"start_interval", "--health-start-interval"}, {NULL, NULL}};
            for (int f = 0; hd[f][0]; f++)
                if ((v = json_object_get(h, hd[f][0])))
                    push_ms(a, hd[f][1], json_string_value(v));
            if ((v = json_object_get(h, "retries")))
                cmp_strv_pushf(a, "--health-retries=%lld", (long long)json_integer_value(v));
        }
    }
    json_t *ep = json_object_get(s, "entrypoint");
    if (ep)
        cmp_strv_pushf(a, "--entrypoint=%s", json_array_size(ep) ? json_string_value(json_array_get(ep, 0)) : "");
    /* the caller's flags last, so that they win (run takes the last -w, -u, --name...) */
    for (i = 0; extra && i < extra->n; i++)
        cmp_strv_push(a, extra->v[i]);
    cleanup_free char *image = cmp_svc_image(p, svc);
    cmp_strv_push(a, image);
    for (i = 1; i < json_array_size(ep); i++)
        cmp_strv_push(a, json_string_value(json_array_get(ep, i)));
    if (ncmd) {
        for (i = 0; i < ncmd; i++)
            cmp_strv_push(a, cmd[i]);
    } else {
        json_array_foreach(json_object_get(s, "command"), i, v) cmp_strv_push(a, json_string_value(v));
    }
    return 0;
}

json_t *cmp_ctr_labels(nr_global *g, const char *id)
{
    cleanup_free char *path = nr_xasprintf("%s/containers/%s/run.json", g->root, id);
    json_t *j = json_load_file(path, 0, NULL);
    json_t *l = json_object_get(json_object_get(j, "config"), "Labels");
    json_incref(l);
    json_decref(j);
    return l;
}

int cmp_ctrs_list(nr_global *g, const char *project, cmp_ctr **out, size_t *n, nr_err *err)
{
    *out = NULL;
    *n = 0;
    char **ids = NULL;
    size_t nids = 0;
    if (rt_container_list(g->root, &ids, &nids, err) < 0)
        return -1;
    for (size_t i = 0; i < nids; i++) {
        json_t *l = cmp_ctr_labels(g, ids[i]);
        const char *pr = json_string_value(json_object_get(l, "com.docker.compose.project"));
        rt_state st;
        nr_err ign;
        if (pr && !strcmp(pr, project) && rt_state_read(g->root, ids[i], &st, &ign) == 0) {
            *out = nr_xrealloc(*out, (*n + 1) * sizeof **out);
            cmp_ctr *c = &(*out)[(*n)++];
            memset(c, 0, sizeof *c);
            snprintf(c->id, sizeof c->id, "%s", ids[i]);
            c->name = nr_xstrdup(st.name ? st.name : ids[i]);
            const char *sv = json_string_value(json_object_get(l, "com.docker.compose.service"));
            const char *h = json_string_value(json_object_get(l, "com.docker.compose.config-hash"));
            c->service = nr_xstrdup(sv ? sv : "");
            c->hash = nr_xstrdup(h ? h : "");
            c->status = nr_xstrdup(rt_state_live_status(&st));
            const char *o = json_string_value(json_object_get(l, "com.docker.compose.oneoff"));
            c->oneoff = o && !strcmp(o, "True");
            rt_state_free(&st);
        }
        json_decref(l);
        free(ids[i]);
    }
    free(ids);
    return 0;
}

void cmp_ctrs_free(cmp_ctr *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].name);
        free(c[i].service);
        free(c[i].hash);
        free(c[i].status);
    }
    free(c);
}

/* depth-first: 0 unvisited, 1 on the path (a cycle if met again), 2 done */
static int visit(const cmp_project *p, const char *svc, json_t *mark, cmp_strv *out, bool deps, nr_err *err)
{
    json_t *m = json_object_get(mark, svc);
    if (m && json_integer_value(m) == 2)
        return 0;
    if (m && json_integer_value(m) == 1)
        return nr_err_set(err, "services.%s.depends_on: a dependency cycle", svc);
    json_object_set_new(mark, svc, json_integer(1));
    json_t *s = json_object_get(json_object_get(p->model, "services"), svc);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(s, "depends_on"), k, v) {
        if (!deps)
            continue;
        if (visit(p, k, mark, out, deps, err) < 0)
            return -1;
    }
    json_object_set_new(mark, svc, json_integer(2));
    cmp_strv_push(out, svc);
    return 0;
}

int cmp_order(cmp_project *p, char **only, size_t nonly, bool no_deps, cmp_strv *out, nr_err *err)
{
    if (cmp_enable(p, only, nonly, err) < 0)
        return -1;
    json_t *svcs = json_object_get(p->model, "services");
    json_t *mark = json_object();
    int r = 0;
    /* a cycle anywhere is an error, whatever was asked */
    cmp_strv all = {0};
    const char *k;
    json_t *v;
    json_object_foreach(svcs, k, v) if ((r = visit(p, k, mark, &all, true, err)) < 0) break;
    cmp_strv_free(&all);
    json_object_clear(mark);
    for (size_t i = 0; r == 0 && i < nonly; i++)
        if (!json_object_get(svcs, only[i])) {
            cleanup_free char *e = nr_escape_controls(only[i]);
            r = nr_err_set(err, "no such service: %s", e);
        }
    if (r == 0 && nonly) {
        for (size_t i = 0; r == 0 && i < nonly; i++)
            r = visit(p, only[i], mark, out, !no_deps, err);
    } else if (r == 0) {
        json_object_foreach(svcs, k, v) if ((r = visit(p, k, mark, out, true, err)) < 0) break;
    }
    json_decref(mark);
    return r;
}
