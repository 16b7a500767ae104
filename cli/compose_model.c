/* The compose model: which files, which project (its name), the merge of
 * -f files in order and the top-level keys; each service's keys are checked
 * and put in one shape by compose_service.c.  Errors name the key path. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/compose.h"
#include "cli/compose_int.h"
#include "common/util.h"
#include "runtime/net.h"
#include "runtime/runtime.h"

static const char *const default_files[] = {"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml",
                                            NULL};

/* later files over earlier, as compose merges them: mappings key by key,
 * the lists of ports, expose, dns, ... appended (duplicates dropped), a
 * command, an entrypoint or a healthcheck test replaced */
static void merge(json_t *dst, json_t *src, int depth)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v) {
        json_t *d = json_object_get(dst, k);
        if (json_is_object(d) && json_is_object(v) && depth < 4) {
            merge(d, v, depth + 1);
        } else if (json_is_array(d) && json_is_array(v) && strcmp(k, "command") && strcmp(k, "entrypoint") &&
                   strcmp(k, "test")) {
            size_t i, j;
            json_t *x, *y;
            json_array_foreach(v, i, x) {
                bool dup = false;
                json_array_foreach(d, j, y) dup |= json_equal(x, y);
                if (!dup)
                    json_array_append(d, x);
            }
        } else {
            json_object_set(dst, k, v);
        }
    }
}

/* environment and labels as mappings before the merge, so that a list in
 * one file and a mapping in the next merge key by key */
static int pre_merge(json_t *doc, const char *file, nr_err *err)
{
    json_t *svcs = json_object_get(doc, "services");
    if (!svcs)
        return 0;
    if (!json_is_object(svcs))
        return nr_err_set(err, "%s: services: expected a mapping", file);
    const char *k;
    json_t *s;
    json_object_foreach(svcs, k, s) {
        if (json_is_null(s))
            json_object_set_new(svcs, k, s = json_object());
        if (!json_is_object(s))
            return nr_err_set(err, "%s: services.%s: expected a mapping", file, k);
        cleanup_free char *path = nr_xasprintf("services.%s", k);
        if (cmp_want_kvmap(s, "environment", path, err) < 0 || cmp_want_kvmap(s, "labels", path, err) < 0)
            return nr_err_wrap(err, "%s", file);
        json_t *b = json_object_get(s, "build");
        if (json_is_string(b))
            json_object_set_new(s, "build", json_pack("{s:s}", "context", json_string_value(b)));
    }
    return 0;
}

/* A relative path of an extended service's file, rebased on that file's
 * directory (dir) so it means what it meant there: build context, env_file,
 * bind sources. */
static json_t *rebase(const char *dir, json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || s[0] == '/' || s[0] == '~' || strstr(s, "://"))
        return json_incref(v);
    char *a = cmp_abs_path(dir, s);
    json_t *r = json_string(a);
    free(a);
    return r;
}

static void rebase_service(json_t *svc, const char *dir)
{
    json_t *b = json_object_get(svc, "build"), *v;
    if (json_object_get(b, "context"))
        json_object_set_new(b, "context", rebase(dir, json_object_get(b, "context")));
    json_t *ef = json_object_get(svc, "env_file");
    if (json_is_string(ef))
        json_object_set_new(svc, "env_file", rebase(dir, ef));
    size_t i;
    json_array_foreach(ef, i, v) {
        if (json_is_object(v) && json_object_get(v, "path"))
            json_object_set_new(v, "path", rebase(dir, json_object_get(v, "path")));
        else if (json_is_string(v))
            json_array_set_new(ef, i, rebase(dir, v));
    }
    json_array_foreach(json_object_get(svc, "volumes"), i, v) {
        const char *t = json_string_value(v);
        if (t && (t[0] == '.') && strchr(t, ':')) { /* ./data:/data[:ro] */
            size_t n = strcspn(t, ":");
            cleanup_free char *src = nr_xstrndup(t, n);
            cleanup_free char *a = cmp_abs_path(dir, src);
            cleanup_free char *nv = nr_xasprintf("%s%s", a, t + n);
            json_array_set_new(json_object_get(svc, "volumes"), i, json_string(nv));
        } else if (json_is_object(v) && json_is_string(json_object_get(v, "type")) &&
                   !strcmp(json_string_value(json_object_get(v, "type")), "bind")) {
            json_object_set_new(v, "source", rebase(dir, json_object_get(v, "source")));
        }
    }
}

#define EXTENDS_DEPTH 16

/* services.NAME.extends of the document doc (read from file, in dir):
 * {service, file} or a service name; the base service (of this document or
 * of that file, itself extended first) with this one merged over it by the
 * rules of -f files, as compose's extends: depends_on and volumes_from are
 * never taken from the base. */
static int resolve_extends(cmp_ctx *c, json_t *doc, const char *file, const char *dir, const char *name, int depth,
                           nr_err *err)
{
    json_t *svcs = json_object_get(doc, "services");
    json_t *svc = json_object_get(svcs, name);
    json_t *ext = json_object_get(svc, "extends");
    if (!ext)
        return 0;
    cleanup_free char *e = nr_escape_controls(name);
    if (depth >= EXTENDS_DEPTH)
        return nr_err_set(err, "%s: services.%s.extends: more than %d levels (a loop?)", file, e, EXTENDS_DEPTH);
    const char *base = json_is_string(ext) ? json_string_value(ext) : json_string_value(json_object_get(ext, "service"));
    json_t *f = json_is_object(ext) ? json_object_get(ext, "file") : NULL;
    if (!base || (f && !json_is_string(f)))
        return nr_err_set(err, "%s: services.%s.extends: expected a service name, or service: and file:", file, e);
    json_incref(svc); /* held while doc's services may change under it */
    json_t *other = NULL, *bsvc = NULL;
    cleanup_free char *ofile = NULL, *odir = NULL;
    int r = -1;
    if (f) {
        ofile = cmp_abs_path(dir, json_string_value(f));
        odir = nr_xstrndup(ofile, (size_t)(strrchr(ofile, '/') - ofile));
        if (!odir[0]) {
            free(odir);
            odir = nr_xstrdup("/");
        }
        other = cmp_yaml_load(c, ofile, err);
        if (!other) {
            nr_err_wrap(err, "%s: services.%s.extends.file", file, e);
            goto out;
        }
        if (pre_merge(other, ofile, err) < 0)
            goto out;
        if (resolve_extends(c, other, ofile, odir, base, depth + 1, err) < 0)
            goto out;
        bsvc = json_object_get(json_object_get(other, "services"), base);
    } else {
        if (!strcmp(base, name))
            goto loop;
        if (resolve_extends(c, doc, file, dir, base, depth + 1, err) < 0)
            goto out;
        bsvc = json_object_get(svcs, base);
    }
    if (!json_is_object(bsvc)) {
        cleanup_free char *eb = nr_escape_controls(base);
        nr_err_set(err, "%s: services.%s.extends: no service %s in %s", file, e, eb, f ? ofile : file);
        goto out;
    }
    json_t *merged = json_deep_copy(bsvc);
    json_object_del(merged, "depends_on");
    json_object_del(merged, "volumes_from");
    json_object_del(merged, "extends");
    if (f && strcmp(odir, dir))
        rebase_service(merged, odir);
    json_object_del(svc, "extends");
    merge(merged, svc, 0);
    json_object_set_new(svcs, name, merged);
    r = 0;
    goto out;
loop:
    nr_err_set(err, "%s: services.%s.extends: extends itself", file, e);
out:
    json_decref(svc);
    json_decref(other);
    return r;
}

static int doc_extends(cmp_ctx *c, json_t *doc, const char *file, nr_err *err)
{
    cleanup_free char *dir = nr_xstrndup(file, (size_t)(strrchr(file, '/') - file));
    json_t *svcs = json_object_get(doc, "services");
    const char *k;
    json_t *v;
    json_auto_t *names = json_array();
    json_object_foreach(svcs, k, v) json_array_append_new(names, json_string(k));
    size_t i;
    json_array_foreach(names, i, v) if (resolve_extends(c, doc, file, dir[0] ? dir : "/", json_string_value(v), 0, err) < 0) return -1;
    return 0;
}

#define INCLUDE_DEPTH 8

/* include: [PATH | {path: PATH | [PATH...], project_directory}] of doc (read
 * from file): each file's project (its own includes and extends resolved,
 * its relative paths its directory's, or project_directory's) goes into
 * model before doc, as compose's include; a service both define is an error. */
static int doc_includes(cmp_ctx *c, json_t *model, json_t *doc, const char *file, int depth, nr_err *err)
{
    json_t *inc = json_object_get(doc, "include");
    if (!inc)
        return 0;
    if (depth >= INCLUDE_DEPTH)
        return nr_err_set(err, "%s: include: more than %d levels (a loop?)", file, INCLUDE_DEPTH);
    if (!json_is_array(inc))
        return nr_err_set(err, "%s: include: expected a list", file);
    cleanup_free char *dir = nr_xstrndup(file, (size_t)(strrchr(file, '/') - file));
    size_t i, j;
    json_t *e, *pth;
    json_array_foreach(inc, i, e) {
        json_auto_t *paths = json_is_string(e) ? json_pack("[O]", e) : NULL;
        const char *pd = NULL;
        if (json_is_object(e)) {
            json_t *pv = json_object_get(e, "path");
            paths = json_is_string(pv) ? json_pack("[O]", pv) : json_is_array(pv) ? json_incref(pv) : NULL;
            pd = json_string_value(json_object_get(e, "project_directory"));
            if (json_object_get(e, "env_file"))
                fprintf(stderr, "nrun compose: warning: %s: include[%zu].env_file: not supported by nrun, ignored\n",
                        file, i);
        }
        if (!paths)
            return nr_err_set(err, "%s: include[%zu]: expected a path, or a mapping with path:", file, i);
        json_array_foreach(paths, j, pth) {
            if (!json_is_string(pth))
                return nr_err_set(err, "%s: include[%zu]: expected a path", file, i);
            cleanup_free char *ipath = cmp_abs_path(dir[0] ? dir : "/", json_string_value(pth));
            json_auto_t *idoc = cmp_yaml_load(c, ipath, err);
            if (!idoc)
                return nr_err_wrap(err, "%s: include[%zu]", file, i);
            if (pre_merge(idoc, ipath, err) < 0 || doc_includes(c, model, idoc, ipath, depth + 1, err) < 0 ||
                doc_extends(c, idoc, ipath, err) < 0)
                return -1;
            cleanup_free char *idir = pd ? cmp_abs_path(dir[0] ? dir : "/", pd)
                                         : nr_xstrndup(ipath, (size_t)(strrchr(ipath, '/') - ipath));
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(idoc, "services"), k, v) {
                if (json_object_get(json_object_get(doc, "services"), k) ||
                    json_object_get(json_object_get(model, "services"), k)) {
                    cleanup_free char *ek = nr_escape_controls(k);
                    return nr_err_set(err, "%s: include %s: service %s is defined twice", file, ipath, ek);
                }
                rebase_service(v, idir[0] ? idir : "/");
            }
            static const char *const tops[] = {"secrets", "configs"};
            for (int t = 0; t < 2; t++)
                json_object_foreach(json_object_get(idoc, tops[t]), k, v) if (json_is_object(v) && json_object_get(v, "file"))
                    json_object_set_new(v, "file", rebase(idir[0] ? idir : "/", json_object_get(v, "file")));
            json_object_del(idoc, "include");
            json_object_del(idoc, "name");
            merge(model, idoc, 0);
        }
    }
    json_object_del(doc, "include");
    return 0;
}

static char *normalize_name(const char *s)
{
    /* compose: lowercase, only [a-z0-9_-], starting with a letter or digit */
    nr_buf b = {0};
    for (; *s; s++) {
        char c = (char)tolower((unsigned char)*s);
        if (isalnum((unsigned char)c) || ((c == '_' || c == '-') && b.len))
            nr_buf_add(&b, &c, 1);
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}

/* The model's top-level mapping key (made empty when absent or null); NULL
 * with err set when it is not a mapping. */
static json_t *top_map(cmp_project *p, const char *key, nr_err *err)
{
    json_t *v = json_object_get(p->model, key);
    if (!v || json_is_null(v))
        json_object_set_new(p->model, key, v = json_object());
    if (!json_is_object(v)) {
        nr_err_set(err, "%s: expected a mapping", key);
        return NULL;
    }
    return v;
}

/* Top-level secrets and configs: NAME -> {file} (made absolute),
 * {environment: VAR} (its value now: the environment's, then .env's) or, a
 * config's, {content}.  The text of the last two goes to p->contents, which
 * up writes to files (write_contents, compose_up.c); swarm's `external` is refused. */
static int top_files(cmp_project *p, cmp_ctx *c, const char *key, nr_err *err)
{
    json_t *v = top_map(p, key, err);
    if (!v)
        return -1;
    bool config = !strcmp(key, "configs");
    if (!p->contents)
        p->contents = json_object();
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        cleanup_free char *e = nr_escape_controls(k);
        if (!*k || strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(k) ||
            !strcmp(k, ".") || !strcmp(k, ".."))
            return nr_err_set(err, "%s.%s: a name is made of letters, digits, '.', '_' and '-'", key, e);
        cleanup_free char *path = nr_xasprintf("%s.%s", key, k);
        if (!json_is_object(x))
            return nr_err_set(err, "%s: expected a mapping", path);
        if (json_is_true(json_object_get(x, "external")))
            return nr_err_set(err, "%s.external: swarm's %s are not supported (a file%s source is)", path, key,
                              config ? ", environment or content" : " or environment");
        int sources = !!json_object_get(x, "file") + !!json_object_get(x, "environment") +
                      (config && json_object_get(x, "content"));
        if (sources != 1)
            return nr_err_set(err, "%s: needs one source: file, environment%s", path, config ? " or content" : "");
        json_t *out = json_object();
        const char *mk;
        json_t *y;
        json_object_foreach(x, mk, y) {
            bool src = !strcmp(mk, "file") || !strcmp(mk, "environment") || (config && !strcmp(mk, "content"));
            if (src && !json_is_string(y)) {
                json_decref(out);
                return nr_err_set(err, "%s.%s: expected a string", path, mk);
            }
            const char *sv = json_string_value(y);
            cleanup_free char *ckey = nr_xasprintf("%s/%s", key, k);
            if (!strcmp(mk, "file")) {
                char *a = cmp_abs_path(p->dir, sv);
                json_object_set_new(out, "file", json_string(a));
                free(a);
            } else if (!strcmp(mk, "environment")) {
                const char *val = getenv(sv);
                if (!val)
                    val = json_string_value(json_object_get(c->env, sv));
                if (!val) {
                    json_decref(out);
                    cleanup_free char *ev = nr_escape_controls(sv);
                    return nr_err_set(err, "%s.environment: the variable %s is not set", path, ev);
                }
                json_object_set_new(out, "environment", json_string(sv));
                json_object_set_new(p->contents, ckey, json_string(val));
            } else if (src) { /* a config's content */
                json_object_set_new(out, "content", json_string(sv));
                json_object_set_new(p->contents, ckey, json_string(sv));
            } else {
                if (strcmp(mk, "name") && strcmp(mk, "external") && strcmp(mk, "labels") && strncmp(mk, "x-", 2)) {
                    cleanup_free char *em = nr_escape_controls(mk);
                    fprintf(stderr, "nrun compose: warning: %s.%s: not supported by nrun, ignored\n", path, em);
                }
                continue;
            }
        }
        json_object_set_new(v, k, out);
    }
    return 0;
}

/* A subnet "A.B.C.D/N" (N 8..30) or, with prefix NULL, an address: the
 * shapes network create takes (it checks the rest) */
static bool ipv4_shape(const char *s, bool prefix)
{
    const char *slash = strchr(s, '/');
    if (prefix != !!slash || strlen(s) >= 32)
        return false;
    char a[32];
    snprintf(a, sizeof a, "%.*s", (int)(slash ? (size_t)(slash - s) : strlen(s)), s);
    struct in_addr in;
    if (inet_pton(AF_INET, a, &in) != 1)
        return false;
    if (!slash)
        return true;
    return strspn(slash + 1, "0123456789") == strlen(slash + 1) && strlen(slash + 1) <= 2 && atoi(slash + 1) >= 8 &&
           atoi(slash + 1) <= 30;
}

/* A network's ipam: driver default, config's first IPv4 entry's subnet and
 * gateway (network create's --subnet and --gateway); ip_range,
 * aux_addresses, another entry and options are warnings */
static int norm_ipam(json_t *net, const char *path, nr_err *err)
{
    json_t *ipam = json_object_get(net, "ipam");
    if (!ipam)
        return 0;
    cleanup_free char *p2 = nr_xasprintf("%s.ipam", path);
    if (!json_is_object(ipam))
        return nr_err_set(err, "%s: expected a mapping", p2);
    const char *k;
    json_t *v;
    json_object_foreach(ipam, k, v) {
        if (!strcmp(k, "config") || (!strcmp(k, "driver") && json_is_string(v) && !strcmp(json_string_value(v), "default")))
            continue;
        cleanup_free char *e = nr_escape_controls(k);
        fprintf(stderr, "nrun compose: warning: %s.%s: not supported by nrun, ignored\n", p2, e);
    }
    json_t *cfg = json_object_get(ipam, "config");
    if (cfg && !json_is_array(cfg))
        return nr_err_set(err, "%s.config: expected a list", p2);
    json_t *keep = json_object();
    size_t i;
    json_array_foreach(cfg, i, v) {
        cleanup_free char *p3 = nr_xasprintf("%s.config[%zu]", p2, i);
        if (!json_is_object(v)) {
            json_decref(keep);
            return nr_err_set(err, "%s: expected a mapping", p3);
        }
        const char *sub = json_string_value(json_object_get(v, "subnet"));
        const char *gw = json_string_value(json_object_get(v, "gateway"));
        if (sub && strchr(sub, ':'))
            continue; /* IPv6: nrun's networks are IPv4 (enable_ipv6 says so) */
        if (json_object_size(keep)) {
            fprintf(stderr, "nrun compose: warning: %s: a second subnet is not supported by nrun, ignored\n", p3);
            continue;
        }
        if (!sub || !ipv4_shape(sub, true)) {
            cleanup_free char *e = nr_escape_controls(sub ? sub : "");
            json_decref(keep);
            return nr_err_set(err, "%s.subnet: \"%s\": expected an IPv4 subnet like 172.28.0.0/16", p3, e);
        }
        if (json_object_get(v, "gateway") && (!gw || !ipv4_shape(gw, false))) {
            cleanup_free char *e = nr_escape_controls(gw ? gw : "");
            json_decref(keep);
            return nr_err_set(err, "%s.gateway: \"%s\": expected an IPv4 address", p3, e);
        }
        json_object_set_new(keep, "subnet", json_string(sub));
        if (gw)
            json_object_set_new(keep, "gateway", json_string(gw));
        json_t *w;
        json_object_foreach(v, k, w) if (strcmp(k, "subnet") && strcmp(k, "gateway")) {
            cleanup_free char *e = nr_escape_controls(k);
            fprintf(stderr, "nrun compose: warning: %s.%s: not supported by nrun, ignored\n", p3, e);
        }
    }
    json_object_set_new(net, "ipam", json_object_size(keep) ? json_pack("{s:[o]}", "config", keep) : json_object());
    if (!json_object_size(keep))
        json_decref(keep);
    return 0;
}

static int top_decls(cmp_project *p, const char *key, nr_err *err)
{
    json_t *v = top_map(p, key, err);
    if (!v)
        return -1;
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        if (!*k || strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(k)) {
            cleanup_free char *e = nr_escape_controls(k);
            return nr_err_set(err, "%s.%s: a name is made of letters, digits, '.', '_' and '-'", key, e);
        }
        cleanup_free char *path = nr_xasprintf("%s.%s", key, k);
        if (json_is_null(x))
            json_object_set_new(v, k, x = json_object());
        if (!json_is_object(x))
            return nr_err_set(err, "%s: expected a mapping", path);
        const char *mk;
        json_t *y;
        void *tmp;
        json_object_foreach_safe(x, tmp, mk, y) {
            if (!strcmp(mk, "external") || !strcmp(mk, "name")) {
                continue;
            } else if (!strcmp(mk, "driver") && json_is_string(y) &&
                       !strcmp(json_string_value(y), !strcmp(key, "networks") ? "bridge" : "local")) {
                continue;
            } else if (!strcmp(mk, "labels") || !strncmp(mk, "x-", 2) ||
                       (!strcmp(key, "networks") && (!strcmp(mk, "attachable") ||
                                                     (!strcmp(mk, "enable_ipv6") && json_is_false(y))))) {
                json_object_del(x, mk); /* (attachable: swarm's) */
                continue;
            } else if (!strcmp(key, "networks") && (!strcmp(mk, "internal") || !strcmp(mk, "ipam"))) {
                continue;
            }
            cleanup_free char *e = nr_escape_controls(mk);
            fprintf(stderr, "nrun compose: warning: %s.%s: not supported by nrun, ignored\n", path, e);
            json_object_del(x, mk);
        }
        if (cmp_want_bool(x, "external", path, err) < 0 || cmp_want_str(x, "name", path, err) < 0 ||
            cmp_want_bool(x, "internal", path, err) < 0 || (!strcmp(key, "networks") && norm_ipam(x, path, err) < 0))
            return -1;
        /* the name nrun will use, checked now: nothing is made from a bad one */
        const char *n = json_string_value(json_object_get(x, "name"));
        cleanup_free char *full = n ? nr_xstrdup(n) : nr_xasprintf("%s_%s", p->name, k);
        bool ok = !strcmp(key, "networks") ? rt_net_name_valid(full) : nr_volume_name_ok(full);
        if (!ok) {
            cleanup_free char *e = nr_escape_controls(full);
            return nr_err_set(err, "%s: \"%s\" is not a valid %s name", path, e,
                              !strcmp(key, "networks") ? "network" : "volume");
        }
    }
    return 0;
}

/* A service is enabled when it has no profiles or one of them is active. */
static bool profile_on(const cmp_project *p, json_t *svc)
{
    json_t *ps = json_object_get(svc, "profiles");
    if (!ps)
        return true;
    if (json_is_string(ps))
        ps = json_pack("[O]", ps);
    else
        json_incref(ps);
    bool on = false;
    size_t i, j;
    json_t *x, *a;
    json_array_foreach(ps, i, x) json_array_foreach(p->profiles, j, a) on |=
        json_is_string(x) && (!strcmp(json_string_value(a), "*") || json_equal(x, a));
    json_decref(ps);
    return on;
}

int cmp_load(const cmp_opts *o, cmp_project *p, nr_err *err)
{
    memset(p, 0, sizeof *p);
    p->files = json_array();
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return nr_err_sys(err, errno, "getcwd");
    const char *base = o->project_dir ? o->project_dir : cwd;
    if (o->nfiles == 0) {
        for (const char *const *f = default_files; *f; f++) {
            char *a = cmp_abs_path(base, *f);
            if (access(a, F_OK) == 0) {
                json_array_append_new(p->files, json_string(a));
                free(a);
                break;
            }
            free(a);
        }
        if (!json_array_size(p->files))
            return nr_err_set(err, "no compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml in %s "
                                   "(-f FILE names one)", base);
    }
    for (size_t i = 0; i < o->nfiles; i++) {
        char *a = cmp_abs_path(cwd, o->files[i]);
        json_array_append_new(p->files, json_string(a));
        free(a);
    }
    if (o->project_dir) {
        p->dir = cmp_abs_path(cwd, o->project_dir);
    } else {
        cleanup_free char *first = nr_xstrdup(json_string_value(json_array_get(p->files, 0)));
        *strrchr(first, '/') = 0;
        p->dir = nr_xstrdup(*first ? first : "/");
    }
    cmp_ctx c = {.env = json_object(), .warned = json_object()};
    int r = -1;
    if (o->nenv_files) {
        for (size_t i = 0; i < o->nenv_files; i++) {
            cleanup_free char *a = cmp_abs_path(cwd, o->env_files[i]);
            if (cmp_env_file_read(&c, a, c.env, false, err) < 0)
                goto out;
        }
    } else {
        cleanup_free char *a = nr_xasprintf("%s/.env", p->dir);
        if (cmp_env_file_read(&c, a, c.env, true, err) < 0)
            goto out;
    }
    p->model = json_object();
    p->disabled = json_object();
    p->profiles = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(p->files, i, f) {
        json_t *doc = cmp_yaml_load(&c, json_string_value(f), err);
        if (!doc)
            goto out;
        if (pre_merge(doc, json_string_value(f), err) < 0 ||
            doc_includes(&c, p->model, doc, json_string_value(f), 0, err) < 0 ||
            doc_extends(&c, doc, json_string_value(f), err) < 0) {
            json_decref(doc);
            goto out;
        }
        merge(p->model, doc, 0);
        json_decref(doc);
    }
    const char *k;
    json_t *x;
    void *tmp;
    json_object_foreach_safe(p->model, tmp, k, x) {
        if (!strcmp(k, "version") || !strncmp(k, "x-", 2)) {
            json_object_del(p->model, k);
        } else if (!strcmp(k, "models")) {
            fprintf(stderr, "nrun compose: warning: top-level %s: not supported by nrun, ignored\n", k);
            json_object_del(p->model, k);
        } else if (strcmp(k, "name") && strcmp(k, "services") && strcmp(k, "networks") && strcmp(k, "volumes") &&
                   strcmp(k, "secrets") && strcmp(k, "configs")) {
            cleanup_free char *e = nr_escape_controls(k);
            nr_err_set(err, "%s: not a top-level key of a compose file", e);
            goto out;
        }
    }
    /* the active profiles: --profile, else COMPOSE_PROFILES (the environment's, then .env's) */
    const char *envp = getenv("COMPOSE_PROFILES");
    if (!envp)
        envp = json_string_value(json_object_get(c.env, "COMPOSE_PROFILES"));
    for (size_t j = 0; j < o->nprofiles; j++)
        json_array_append_new(p->profiles, json_string(o->profiles[j]));
    if (!o->nprofiles && envp) {
        cleanup_free char *list = nr_xstrdup(envp);
        for (char *sv = NULL, *t = strtok_r(list, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
            json_array_append_new(p->profiles, json_string(t));
    }
    /* the project's name: -p, COMPOSE_PROJECT_NAME, name:, the directory */
    const char *nm = o->project_name;
    if (!nm)
        nm = getenv("COMPOSE_PROJECT_NAME");
    if (!nm)
        nm = json_string_value(json_object_get(c.env, "COMPOSE_PROJECT_NAME"));
    if (!nm)
        nm = json_string_value(json_object_get(p->model, "name"));
    if (!nm)
        nm = strrchr(p->dir, '/') + 1;
    p->name = normalize_name(nm);
    if (!*p->name || strlen(p->name) > 60) {
        cleanup_free char *e = nr_escape_controls(nm);
        nr_err_set(err, "project name \"%s\": lowercase letters, digits, '_' and '-', starting with a letter or a "
                        "digit, at most 60", e);
        goto out;
    }
    json_object_set_new(p->model, "name", json_string(p->name));
    if (top_decls(p, "networks", err) < 0 || top_decls(p, "volumes", err) < 0 ||
        top_files(p, &c, "secrets", err) < 0 || top_files(p, &c, "configs", err) < 0)
        goto out;
    json_t *svcs = json_object_get(p->model, "services");
    if (!json_is_object(svcs) || !json_object_size(svcs)) {
        nr_err_set(err, "services: no service defined");
        goto out;
    }
    json_object_foreach_safe(svcs, tmp, k, x) {
        if (!*k || strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(k) ||
            !rt_net_alias_valid(k)) {
            cleanup_free char *e = nr_escape_controls(k);
            nr_err_set(err, "services.%s: a service name is made of letters, digits, '.', '_' and '-'", e);
            goto out;
        }
        if (!profile_on(p, x)) {
            json_object_set(p->disabled, k, x);
            json_object_del(svcs, k);
        }
    }
    p->ctx = &c;
    json_object_foreach(svcs, k, x) if (cmp_norm_service(p, k, x, err) < 0) goto out;
    r = 0;
out:
    p->ctx = NULL;
    json_decref(c.env);
    json_decref(c.warned);
    return r;
}

int cmp_enable(cmp_project *p, char **names, size_t n, nr_err *err)
{
    if (!p->disabled)
        return 0;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        json_t *ps = json_object_get(json_object_get(p->disabled, names[i]), "profiles");
        size_t j;
        json_t *x;
        if (json_is_string(ps))
            json_array_append(p->profiles, ps), any = true;
        json_array_foreach(ps, j, x) json_array_append(p->profiles, x), any = true;
    }
    if (!any)
        return 0;
    json_t *svcs = json_object_get(p->model, "services");
    json_auto_t *moved = json_object();
    const char *k;
    json_t *x;
    void *tmp;
    json_object_foreach_safe(p->disabled, tmp, k, x) if (profile_on(p, x))
    {
        json_object_set(svcs, k, x);
        json_object_set(moved, k, x);
        json_object_del(p->disabled, k);
    }
    json_object_foreach(moved, k, x) if (cmp_norm_service(p, k, json_object_get(svcs, k), err) < 0) return -1;
    return 0;
}

void cmp_project_free(cmp_project *p)
{
    free(p->name);
    free(p->dir);
    json_decref(p->files);
    json_decref(p->model);
    json_decref(p->disabled);
    json_decref(p->profiles);
    json_decref(p->contents);
    memset(p, 0, sizeof *p);
}
