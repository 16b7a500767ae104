/* A compose service's keys checked and put in one shape (lists of K=V as
 * maps, string commands split as compose splits them, short volume, port and
 * depends_on forms long, relative paths absolute), so that `config` prints
 * what `up` will do and compose_run.c reads one form only.  Keys nrun does
 * not honour are a warning each; errors name the key path
 * (services.web.ports[1]). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/base.h"
#include "builder/base_gcr.h"
#include "cli/compose.h"
#include "cli/compose_int.h"
#include "common/util.h"
#include "images/ref.h"
#include "runtime/net.h"
#include "runtime/runtime.h"

/* compose's keys of a service that nrun does not honour: a warning each */
static const char *const unsupported[] = {
    "annotations", "attach", "blkio_config", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_runtime",
    "cpu_rt_period", "cgroup", "cgroup_parent", "credential_spec", "develop",
    "device_cgroup_rules", "driver_opts", "external_links", "gpus", "ipc", "isolation", "label_file",
    "mac_address", "mem_swappiness", "oom_kill_disable", "pid", "post_start", "pre_stop",
    "provider", "runtime", "storage_opt", "use_api_socket",
    "userns_mode", "uts", "devices", NULL};

static bool in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (!strcmp(*l, s))
            return true;
    return false;
}

static int bad(nr_err *err, const char *path, const char *what)
{
    return nr_err_set(err, "%s: %s", path, what);
}

/* a scalar as a string (numbers and booleans as YAML wrote them); NULL if not a scalar */
char *cmp_scalar_str(const json_t *v)
{
    if (json_is_string(v))
        return nr_xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return nr_xasprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return nr_xasprintf("%g", json_real_value(v));
    if (json_is_boolean(v))
        return nr_xstrdup(json_is_true(v) ? "true" : "false");
    return NULL;
}

/* replace obj[key] with a string form of its scalar */
int cmp_want_str(json_t *obj, const char *key, const char *path, nr_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char *s = cmp_scalar_str(v);
    if (!s)
        return nr_err_set(err, "%s.%s: expected a string", path, key);
    json_object_set_new(obj, key, json_string(s));
    free(s);
    return 0;
}

int cmp_want_bool(json_t *obj, const char *key, const char *path, nr_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_boolean(v))
        return nr_err_set(err, "%s.%s: expected true or false", path, key);
    return 0;
}

/* a string or a list of strings -> a list of strings */
int cmp_want_strlist(json_t *obj, const char *key, const char *path, nr_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    json_t *out = json_array();
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            char *s = cmp_scalar_str(x);
            if (!s) {
                json_decref(out);
                return nr_err_set(err, "%s.%s[%zu]: expected a string", path, key, i);
            }
            json_array_append_new(out, json_string(s));
            free(s);
        }
    } else {
        char *s = cmp_scalar_str(v);
        if (!s) {
            json_decref(out);
            return nr_err_set(err, "%s.%s: expected a string or a list of strings", path, key);
        }
        json_array_append_new(out, json_string(s));
        free(s);
    }
    json_object_set_new(obj, key, out);
    return 0;
}

/* K=V list or map -> map of strings (a bare K in a list, or K: null, stays null) */
int cmp_want_kvmap(json_t *obj, const char *key, const char *path, nr_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    json_t *out = json_object();
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (!json_is_string(x)) {
                json_decref(out);
                return nr_err_set(err, "%s.%s[%zu]: expected \"KEY=VALUE\"", path, key, i);
            }
            const char *s = json_string_value(x);
            const char *eq = strchr(s, '=');
            if (s[0] == '=' || !*s) {
                json_decref(out);
                return nr_err_set(err, "%s.%s[%zu]: an empty name", path, key, i);
            }
            cleanup_free char *k = nr_xstrndup(s, eq ? (size_t)(eq - s) : strlen(s));
            json_object_set_new(out, k, eq ? json_string(eq + 1) : json_null());
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            if (!*k || strchr(k, '=')) {
                cleanup_free char *e = nr_escape_controls(k);
                json_decref(out);
                return nr_err_set(err, "%s.%s.%s: a name cannot be empty or hold '='", path, key, e);
            }
            if (json_is_null(x)) {
                json_object_set_new(out, k, json_null());
                continue;
            }
            char *s = cmp_scalar_str(x);
            if (!s) {
                json_decref(out);
                return nr_err_set(err, "%s.%s.%s: expected a string", path, key, k);
            }
            json_object_set_new(out, k, json_string(s));
            free(s);
        }
    } else {
        json_decref(out);
        return nr_err_set(err, "%s.%s: expected a mapping or a list of KEY=VALUE", path, key);
    }
    json_object_set_new(obj, key, out);
    return 0;
}

/* compose's splitting of a string command: blanks separate words, '...'
 * is literal, "..." takes \" \\ \$, a backslash outside quotes escapes the
 * next character.  NULL when a quote is not closed. */
json_t *cmp_shell_split(const char *s)
{
    json_t *out = json_array();
    nr_buf w = {0};
    bool in_word = false;
    for (const char *p = s;; p++) {
        if (!*p || *p == ' ' || *p == '\t' || *p == '\n') {
            if (in_word) {
                nr_buf_add(&w, "", 1);
                json_array_append_new(out, json_string(w.data));
                nr_buf_free(&w);
                memset(&w, 0, sizeof w);
                in_word = false;
            }
            if (!*p)
                break;
            continue;
        }
        in_word = true;
        if (*p == '\'') {
            const char *e = strchr(p + 1, '\'');
            if (!e)
                goto bad;
            nr_buf_add(&w, p + 1, (size_t)(e - p - 1));
            p = e;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$'))
                    p++;
                nr_buf_add(&w, p, 1);
            }
            if (!*p)
                goto bad;
        } else if (*p == '\\' && p[1]) {
            nr_buf_add(&w, ++p, 1);
        } else {
            nr_buf_add(&w, p, 1);
        }
    }
    return out;
bad:
    nr_buf_free(&w);
    json_decref(out);
    return NULL;
}

static int want_cmd(json_t *obj, const char *key, const char *path, nr_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        json_t *a = cmp_shell_split(json_string_value(v));
        if (!a)
            return nr_err_set(err, "%s.%s: a quote is not closed", path, key);
        json_object_set_new(obj, key, a);
        return 0;
    }
    return cmp_want_strlist(obj, key, path, err);
}

char *cmp_abs_path(const char *dir, const char *p)
{
    if (p[0] == '~' && (p[1] == '/' || !p[1]) && getenv("HOME")) {
        cleanup_free char *j = nr_xasprintf("%s%s", getenv("HOME"), p + 1);
        return nr_path_clean(j);
    }
    if (p[0] == '/')
        return nr_path_clean(p);
    cleanup_free char *j = nr_xasprintf("%s/%s", dir, p);
    return nr_path_clean(j);
}

/* secrets: [NAME | {source, target, uid, gid, mode}], and configs alike: a
 * list of {source, target}, the target absolute (a secret's under
 * /run/secrets/, a config's under /, as compose places them).  Each is the
 * top-level entry's file bound read-only (compose_run.c), as compose binds a
 * file secret outside swarm: uid, gid and mode cannot change a bound file,
 * so they are a warning. */
static int norm_files(json_t *model, json_t *svc, const char *key, const char *path, nr_err *err)
{
    json_t *v = json_object_get(svc, key);
    if (!v)
        return 0;
    if (!json_is_array(v))
        return nr_err_set(err, "%s.%s: expected a list", path, key);
    json_t *top = json_object_get(model, key);
    bool secret = !strcmp(key, "secrets");
    json_auto_t *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        cleanup_free char *p2 = nr_xasprintf("%s.%s[%zu]", path, key, i);
        json_auto_t *m = json_is_string(x) ? json_pack("{s:O}", "source", x) : json_is_object(x) ? json_deep_copy(x) : NULL;
        if (!m)
            return nr_err_set(err, "%s: expected a name or a mapping", p2);
        const char *k;
        json_t *y;
        void *tmp;
        json_object_foreach_safe(m, tmp, k, y) {
            if (!strcmp(k, "uid") || !strcmp(k, "gid") || !strcmp(k, "mode")) {
                fprintf(stderr, "nrun compose: warning: %s.%s: not applied (the file is bound read-only as it is)\n",
                        p2, k);
                json_object_del(m, k);
            } else if (strcmp(k, "source") && strcmp(k, "target")) {
                cleanup_free char *e = nr_escape_controls(k);
                return nr_err_set(err, "%s.%s: not supported", p2, e);
            }
        }
        if (cmp_want_str(m, "source", p2, err) < 0 || cmp_want_str(m, "target", p2, err) < 0)
            return -1;
        const char *src = json_string_value(json_object_get(m, "source"));
        const char *t = json_string_value(json_object_get(m, "target"));
        if (!src)
            return nr_err_set(err, "%s.source: missing", p2);
        if (!json_object_get(top, src)) {
            cleanup_free char *e = nr_escape_controls(src);
            return nr_err_set(err, "%s: \"%s\" is not declared in the top-level %s", p2, e, key);
        }
        if (t && (!*t || strchr(t, ',') || strpbrk(t, "\n\r"))) {
            cleanup_free char *e = nr_escape_controls(t);
            return nr_err_set(err, "%s.target: \"%s\": a path without ','", p2, e);
        }
        const char *name = t ? t : src;
        char *abs = name[0] == '/' ? nr_xstrdup(name) : nr_xasprintf("%s/%s", secret ? "/run/secrets" : "", name);
        json_object_set_new(m, "target", json_string(abs));
        free(abs);
        json_array_append(out, m);
    }
    json_object_set(svc, key, out);
    return 0;
}

static int norm_volumes(json_t *svc, json_t *top_vols, const char *dir, const char *path, nr_err *err)
{
    json_t *v = json_object_get(svc, "volumes");
    if (!v)
        return 0;
    if (!json_is_array(v))
        return nr_err_set(err, "%s.volumes: expected a list", path);
    json_t *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        json_t *m;
        if (json_is_string(x)) {
            /* SRC:DST[:MODE] or DST */
            const char *s = json_string_value(x);
            cleanup_free char *copy = nr_xstrdup(s);
            char *parts[4] = {0};
            int np = 0;
            for (char *t = copy, *c; np < 4; t = c + 1) {
                parts[np++] = t;
                c = strchr(t, ':');
                if (!c)
                    break;
                *c = 0;
            }
            if (np > 3 || !*parts[0] || (np >= 2 && !*parts[1])) {
                json_decref(out);
                return nr_err_set(err, "%s.volumes[%zu]: expected SOURCE:TARGET[:MODE] or TARGET", path, i);
            }
            if (np == 1) {
                m = json_pack("{s:s, s:s}", "type", "volume", "target", parts[0]);
            } else {
                const char *src = parts[0];
                bool bind = src[0] == '.' || src[0] == '/' || src[0] == '~';
                m = json_pack("{s:s, s:s, s:s}", "type", bind ? "bind" : "volume", "source", src, "target", parts[1]);
                if (np == 3) {
                    bool ro = false;
                    cleanup_free char *modes = nr_xstrdup(parts[2]);
                    for (char *t = strtok(modes, ","); t; t = strtok(NULL, ",")) {
                        if (!strcmp(t, "ro"))
                            ro = true;
                        else if (strcmp(t, "rw") && strcmp(t, "z") && strcmp(t, "Z") && strcmp(t, "cached") &&
                                 strcmp(t, "delegated") && strcmp(t, "consistent")) {
                            json_decref(m);
                            json_decref(out);
                            cleanup_free char *e = nr_escape_controls(t);
                            return nr_err_set(err, "%s.volumes[%zu]: unknown mode \"%s\" (ro or rw)", path, i, e);
                        }
                    }
                    if (ro)
                        json_object_set_new(m, "read_only", json_true());
                }
            }
        } else if (json_is_object(x)) {
            m = json_deep_copy(x);
            const char *k;
            json_t *y;
            json_object_foreach(x, k, y) {
                if (strcmp(k, "type") && strcmp(k, "source") && strcmp(k, "target") && strcmp(k, "read_only") &&
                    strcmp(k, "bind") && strcmp(k, "volume") && strcmp(k, "tmpfs") && strcmp(k, "consistency")) {
                    json_decref(m);
                    json_decref(out);
                    return nr_err_set(err, "%s.volumes[%zu].%s: not supported", path, i, k);
                }
            }
            cleanup_free char *p2 = nr_xasprintf("%s.volumes[%zu]", path, i);
            if (cmp_want_str(m, "type", p2, err) < 0 || cmp_want_str(m, "source", p2, err) < 0 ||
                cmp_want_str(m, "target", p2, err) < 0 || cmp_want_bool(m, "read_only", p2, err) < 0) {
                json_decref(m);
                json_decref(out);
                return -1;
            }
            const char *t = json_string_value(json_object_get(m, "type"));
            if (!t || (strcmp(t, "bind") && strcmp(t, "volume") && strcmp(t, "tmpfs"))) {
                json_decref(m);
                json_decref(out);
                return nr_err_set(err, "%s.type: expected bind, volume or tmpfs", p2);
            }
            if (!json_object_get(m, "target")) {
                json_decref(m);
                json_decref(out);
                return nr_err_set(err, "%s.target: missing", p2);
            }
            if (!strcmp(t, "bind") && !json_object_get(m, "source")) {
                json_decref(m);
                json_decref(out);
                return nr_err_set(err, "%s.source: a bind needs a source", p2);
            }
            cleanup_free char *p3 = nr_xasprintf("%s.bind", p2);
            json_t *b = json_object_get(m, "bind");
            if (b && !json_is_object(b)) {
                json_decref(m);
                json_decref(out);
                return nr_err_set(err, "%s: expected a mapping", p3);
            }
            if (b && cmp_want_bool(b, "create_host_path", p3, err) < 0) {
                json_decref(m);
                json_decref(out);
                return -1;
            }
        } else {
            json_decref(out);
            return nr_err_set(err, "%s.volumes[%zu]: expected a string or a mapping", path, i);
        }
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *src = json_string_value(json_object_get(m, "source"));
        if (!strcmp(type, "bind")) {
            char *a = cmp_abs_path(dir, src);
            json_object_set_new(m, "source", json_string(a));
            free(a);
        } else if (!strcmp(type, "volume") && src && !json_object_get(top_vols, src)) {
            cleanup_free char *e = nr_escape_controls(src);
            json_decref(m);
            json_decref(out);
            return nr_err_set(err, "%s.volumes[%zu]: volume \"%s\" is not declared in the top-level volumes", path, i,
                              e);
        }
        json_array_append_new(out, m);
    }
    json_object_set_new(svc, "volumes", out);
    return 0;
}

/* env_file: a path, a list of paths, or of {path, required}; relative to the
 * project directory.  Read now with compose's rules (the .env reader: quotes,
 * `export`, comments, KEY alone from the environment) into `environment`,
 * whose own keys win; the model keeps the paths of the files read. */
static int norm_env_file(cmp_ctx *c, json_t *svc, const char *dir, const char *path, nr_err *err)
{
    json_t *v = json_object_get(svc, "env_file");
    if (!v)
        return 0;
    json_auto_t *list = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
    json_auto_t *vars = json_object();
    json_t *paths = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) {
        json_t *f = json_is_object(x) ? json_object_get(x, "path") : x;
        cleanup_free char *p2 = nr_xasprintf("%s.env_file[%zu]", path, i);
        cleanup_free char *s = json_is_string(f) ? cmp_scalar_str(f) : NULL;
        const char *k;
        json_t *y;
        if (json_is_object(x))
            json_object_foreach(x, k, y) if (strcmp(k, "path") && strcmp(k, "required") && strcmp(k, "format")) {
                json_decref(paths);
                return nr_err_set(err, "%s.%s: not supported", p2, k);
            }
        if (!s || (json_is_object(x) && cmp_want_bool(x, "required", p2, err) < 0)) {
            json_decref(paths);
            return s ? -1 : nr_err_set(err, "%s: expected a path or {path, required}", p2);
        }
        bool required = !json_is_object(x) || !json_is_false(json_object_get(x, "required"));
        cleanup_free char *a = cmp_abs_path(dir, s);
        json_auto_t *one = json_object();
        if (cmp_env_file_read(c, a, one, !required, err) < 0) {
            json_decref(paths);
            cleanup_free char *e = nr_escape_controls(err->msg);
            return nr_err_set(err, "%s: %s", p2, e);
        }
        if (access(a, F_OK) == 0)
            json_array_append_new(paths, json_string(a));
        json_object_update(vars, one);
    }
    json_object_set_new(svc, "env_file", paths);
    json_t *env = json_object_get(svc, "environment");
    if (!env)
        json_object_set_new(svc, "environment", env = json_object());
    json_object_update_missing(env, vars);
    return 0;
}

static int norm_ports(json_t *svc, const char *path, nr_err *err)
{
    json_t *v = json_object_get(svc, "ports");
    if (!v)
        return 0;
    if (!json_is_array(v))
        return nr_err_set(err, "%s.ports: expected a list", path);
    json_t *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        if (json_is_object(x)) {
            /* long syntax -> docker's -p form */
            json_t *tg = json_object_get(x, "target");
            const char *k;
            json_t *y;
            json_object_foreach(x, k, y) if (strcmp(k, "target") && strcmp(k, "published") && strcmp(k, "host_ip") &&
                                             strcmp(k, "protocol") && strcmp(k, "mode") && strcmp(k, "name") &&
                                             strcmp(k, "app_protocol")) {
                json_decref(out);
                cleanup_free char *e = nr_escape_controls(k);
                return nr_err_set(err, "%s.ports[%zu].%s: not a key of a port", path, i, e);
            }
            cleanup_free char *t = cmp_scalar_str(tg);
            cleanup_free char *pub = cmp_scalar_str(json_object_get(x, "published"));
            cleanup_free char *ip = cmp_scalar_str(json_object_get(x, "host_ip"));
            cleanup_free char *proto = cmp_scalar_str(json_object_get(x, "protocol"));
            if (!t) {
                json_decref(out);
                return nr_err_set(err, "%s.ports[%zu].target: missing", path, i);
            }
            cleanup_free char *s = nr_xasprintf("%s%s%s%s%s%s%s", ip ? ip : "", ip ? ":" : "", pub ? pub : "",
                                                pub || ip ? ":" : "", t, proto ? "/" : "", proto ? proto : "");
            json_array_append_new(out, json_string(s));
            continue;
        }
        char *s = cmp_scalar_str(x);
        if (!s || json_is_boolean(x)) {
            free(s);
            json_decref(out);
            return nr_err_set(err, "%s.ports[%zu]: expected \"[HOST_IP:][HOST:]CONTAINER[/PROTO]\" or a mapping", path, i);
        }
        json_array_append_new(out, json_string(s));
        free(s);
    }
    json_object_set_new(svc, "ports", out);
    return 0;
}

/* svc starts after service name (service_started), unless its depends_on names it */
static void depend_started(json_t *svc, const char *name)
{
    json_t *dep = json_object_get(svc, "depends_on");
    if (!dep) {
        json_object_set_new(svc, "depends_on", json_object());
        dep = json_object_get(svc, "depends_on");
    }
    if (json_is_array(dep)) {
        bool have = false;
        size_t j;
        json_t *y;
        json_array_foreach(dep, j, y) have = have || (json_is_string(y) && !strcmp(json_string_value(y), name));
        if (!have)
            json_array_append_new(dep, json_string(name));
    } else if (json_is_object(dep) && !json_object_get(dep, name)) {
        json_object_set_new(dep, name, json_pack("{s:s}", "condition", "service_started"));
    }
}

/* links: "SERVICE" or "SERVICE:ALIAS". Service names resolve on the
 * project's networks anyway; a link orders the start, as depends_on does:
 * each becomes a depends_on entry (service_started) unless depends_on names
 * it. An alias other than the service's name stays in "links" as
 * SERVICE:ALIAS, for run's --link (the linked container's address under the
 * alias in /etc/hosts, as the link's alias resolves in docker compose from
 * the linking container only). */
static int norm_links(json_t *svc, json_t *services, const char *path, nr_err *err)
{
    json_t *v = json_object_get(svc, "links");
    if (!v)
        return 0;
    if (cmp_want_strlist(svc, "links", path, err) < 0)
        return -1;
    v = json_object_get(svc, "links"); /* as cmp_want_strlist left it */
    json_auto_t *keep = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        cleanup_free char *s = nr_xstrdup(json_string_value(x));
        char *alias = strchr(s, ':');
        if (alias)
            *alias++ = 0;
        cleanup_free char *e = nr_escape_controls(s);
        if (!json_object_get(services, s))
            return nr_err_set(err, "%s.links[%zu]: \"%s\" is not a service of this project", path, i, e);
        if (alias && strcmp(alias, s)) {
            if (!rt_net_alias_valid(alias)) {
                cleanup_free char *ea = nr_escape_controls(alias);
                return nr_err_set(err, "%s.links[%zu]: the alias \"%s\": " RT_NET_ALIAS_RULE, path, i, ea);
            }
            json_array_append_new(keep, json_sprintf("%s:%s", s, alias));
        }
        depend_started(svc, s);
    }
    if (json_array_size(keep))
        json_object_set(svc, "links", keep);
    else
        json_object_del(svc, "links");
    return 0;
}

/* volumes_from: "SERVICE[:ro|:rw]" or "container:NAME[:ro|:rw]", each run's
 * --volumes-from (of the service's first container); a service is started
 * first, as depends_on orders it (compose does so) */
static int norm_volumes_from(json_t *svc, json_t *services, const char *path, nr_err *err)
{
    if (!json_object_get(svc, "volumes_from"))
        return 0;
    if (cmp_want_strlist(svc, "volumes_from", path, err) < 0)
        return -1;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(svc, "volumes_from"), i, x) {
        cleanup_free char *s = nr_xstrdup(json_string_value(x));
        char *mode = strrchr(s, ':');
        if (mode && (!strcmp(mode, ":ro") || !strcmp(mode, ":rw")))
            *mode = 0;
        cleanup_free char *e = nr_escape_controls(json_string_value(x));
        if (!strncmp(s, "container:", 10)) {
            if (!s[10] || strchr(s + 10, ':'))
                return nr_err_set(err, "%s.volumes_from[%zu]: \"%s\": expected container:NAME[:ro|:rw]", path, i, e);
            continue;
        }
        if (strchr(s, ':'))
            return nr_err_set(err, "%s.volumes_from[%zu]: \"%s\": expected SERVICE[:ro|:rw] or container:NAME[:ro|:rw]",
                              path, i, e);
        if (!json_object_get(services, s))
            return nr_err_set(err, "%s.volumes_from[%zu]: \"%s\" is not a service of this project", path, i, e);
        depend_started(svc, s);
    }
    return 0;
}

static int norm_depends(json_t *svc, json_t *services, const char *name, const char *path, nr_err *err)
{
    json_t *v = json_object_get(svc, "depends_on");
    if (!v)
        return 0;
    json_t *out = json_object();
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (!json_is_string(x)) {
                json_decref(out);
                return nr_err_set(err, "%s.depends_on[%zu]: expected a service name", path, i);
            }
            json_object_set_new(out, json_string_value(x), json_pack("{s:s}", "condition", "service_started"));
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            json_t *m = json_is_object(x) ? json_deep_copy(x) : json_object();
            cleanup_free char *p2 = nr_xasprintf("%s.depends_on.%s", path, k);
            if ((!json_is_object(x) && !json_is_null(x)) || cmp_want_str(m, "condition", p2, err) < 0) {
                json_decref(m);
                json_decref(out);
                return err->msg[0] ? -1 : nr_err_set(err, "%s: expected a mapping", p2);
            }
            const char *c = json_string_value(json_object_get(m, "condition"));
            if (!c)
                json_object_set_new(m, "condition", json_string(c = "service_started"));
            if (strcmp(c, "service_started") && strcmp(c, "service_healthy") &&
                strcmp(c, "service_completed_successfully")) {
                json_decref(m);
                json_decref(out);
                return nr_err_set(err, "%s.condition: expected service_started, service_healthy or "
                                       "service_completed_successfully", p2);
            }
            json_object_set_new(out, k, m);
        }
    } else {
        json_decref(out);
        return nr_err_set(err, "%s.depends_on: expected a list or a mapping", path);
    }
    const char *k;
    json_t *x;
    json_object_foreach(out, k, x) {
        if (!json_object_get(services, k) || !strcmp(k, name)) {
            cleanup_free char *e = nr_escape_controls(k);
            bool self = !strcmp(k, name);
            json_decref(out);
            return nr_err_set(err, "%s.depends_on: \"%s\" is %s", path, e,
                              self ? "the service itself" : "not a service of this project");
        }
    }
    json_object_set_new(svc, "depends_on", out);
    return 0;
}

static int norm_networks(json_t *svc, json_t *top_nets, const char *path, nr_err *err)
{
    json_t *v = json_object_get(svc, "networks");
    json_t *mode = json_object_get(svc, "network_mode");
    if (v && mode)
        return nr_err_set(err, "%s: network_mode and networks cannot be combined", path);
    if (mode)
        return 0;
    json_t *out = json_object();
    if (!v) {
        json_object_set_new(out, "default", json_object());
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (!json_is_string(x)) {
                json_decref(out);
                return nr_err_set(err, "%s.networks[%zu]: expected a network name", path, i);
            }
            json_object_set_new(out, json_string_value(x), json_object());
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            cleanup_free char *p2 = nr_xasprintf("%s.networks.%s", path, k);
            json_t *m = json_is_object(x) ? json_deep_copy(x) : json_object();
            if ((!json_is_object(x) && !json_is_null(x)) || cmp_want_strlist(m, "aliases", p2, err) < 0) {
                json_decref(m);
                json_decref(out);
                return err->msg[0] ? -1 : nr_err_set(err, "%s: expected a mapping", p2);
            }
            const char *mk;
            json_t *y;
            json_object_foreach(m, mk, y) if (strcmp(mk, "aliases") && strcmp(mk, "ipv4_address")) {
                cleanup_free char *e = nr_escape_controls(mk);
                fprintf(stderr, "nrun compose: warning: %s.%s: not supported, ignored\n", p2, e);
            }
            /* ipv4_address: run's --ip (network connect --ip on the others) */
            if (cmp_want_str(m, "ipv4_address", p2, err) < 0) {
                json_decref(m);
                json_decref(out);
                return -1;
            }
            const char *ip4 = json_string_value(json_object_get(m, "ipv4_address"));
            struct in_addr a4;
            if (ip4 && inet_pton(AF_INET, ip4, &a4) != 1) {
                cleanup_free char *e = nr_escape_controls(ip4);
                json_decref(m);
                json_decref(out);
                return nr_err_set(err, "%s.ipv4_address: \"%s\" is not an IPv4 address", p2, e);
            }
            size_t i;
            json_array_foreach(json_object_get(m, "aliases"), i, y) if (!rt_net_alias_valid(json_string_value(y))) {
                cleanup_free char *e = nr_escape_controls(json_string_value(y));
                json_decref(m);
                json_decref(out);
                return nr_err_set(err, "%s.aliases[%zu]: \"%s\": " RT_NET_ALIAS_RULE, p2, i, e);
            }
            json_t *keep = json_object();
            if (json_object_get(m, "aliases"))
                json_object_set(keep, "aliases", json_object_get(m, "aliases"));
            if (ip4)
                json_object_set(keep, "ipv4_address", json_object_get(m, "ipv4_address"));
            json_decref(m);
            json_object_set_new(out, k, keep);
        }
    } else {
        json_decref(out);
        return nr_err_set(err, "%s.networks: expected a list or a mapping", path);
    }
    const char *k;
    json_t *x;
    json_object_foreach(out, k, x) {
        if (!json_object_get(top_nets, k)) {
            if (strcmp(k, "default")) {
                cleanup_free char *e = nr_escape_controls(k);
                json_decref(out);
                return nr_err_set(err, "%s.networks: network \"%s\" is not declared in the top-level networks", path, e);
            }
            json_object_set_new(top_nets, "default", json_object());
        }
    }
    json_object_set_new(svc, "networks", out);
    return 0;
}

static int norm_health(json_t *svc, const char *path, nr_err *err)
{
    json_t *h = json_object_get(svc, "healthcheck");
    if (!h)
        return 0;
    cleanup_free char *p2 = nr_xasprintf("%s.healthcheck", path);
    if (!json_is_object(h))
        return bad(err, p2, "expected a mapping");
    const char *k;
    json_t *x;
    json_object_foreach(h, k, x) {
        if (!strcmp(k, "test")) {
            if (json_is_string(x)) {
                json_object_set_new(h, "test", json_pack("[s, s]", "CMD-SHELL", json_string_value(x)));
            } else if (cmp_want_strlist(h, "test", p2, err) < 0) {
                return -1;
            }
            json_t *t = json_object_get(h, "test");
            const char *w = json_string_value(json_array_get(t, 0));
            if (!w || (strcmp(w, "CMD") && strcmp(w, "CMD-SHELL") && strcmp(w, "NONE")) ||
                (strcmp(w, "NONE") && json_array_size(t) < 2))
                return nr_err_set(err, "%s.test: expected [\"CMD\", ...], [\"CMD-SHELL\", \"...\"], [\"NONE\"] or a string",
                                  p2);
        } else if (!strcmp(k, "interval") || !strcmp(k, "timeout") || !strcmp(k, "start_period") ||
                   !strcmp(k, "start_interval")) {
            cleanup_free char *s = cmp_scalar_str(x);
            if (!s || cmp_duration_ms(s) < 0)
                return nr_err_set(err, "%s.%s: expected a duration like 10s or 1m30s", p2, k);
            json_object_set_new(h, k, json_string(s));
        } else if (!strcmp(k, "retries")) {
            if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 1000000)
                return nr_err_set(err, "%s.retries: expected a number", p2);
        } else if (!strcmp(k, "disable")) {
            if (cmp_want_bool(h, k, p2, err) < 0)
                return -1;
        } else {
            cleanup_free char *e = nr_escape_controls(k);
            return nr_err_set(err, "%s.%s: not a key of a healthcheck", p2, e);
        }
    }
    return 0;
}

static int norm_build(json_t *svc, const char *dir, const char *path, nr_err *err)
{
    json_t *b = json_object_get(svc, "build");
    if (!b)
        return 0;
    cleanup_free char *p2 = nr_xasprintf("%s.build", path);
    if (json_is_string(b)) {
        json_object_set_new(svc, "build", json_pack("{s:s}", "context", json_string_value(b)));
        b = json_object_get(svc, "build");
    } else if (!json_is_object(b)) {
        return bad(err, p2, "expected a path or a mapping");
    }
    const char *k;
    json_t *x;
    json_object_foreach(b, k, x) {
        if (strcmp(k, "context") && strcmp(k, "dockerfile") && strcmp(k, "args") && strcmp(k, "target") &&
            strcmp(k, "labels") && strncmp(k, "x-", 2)) {
            cleanup_free char *e = nr_escape_controls(k);
            fprintf(stderr, "nrun compose: warning: %s.%s: not supported, ignored\n", p2, e);
        }
    }
    if (cmp_want_str(b, "context", p2, err) < 0 || cmp_want_str(b, "dockerfile", p2, err) < 0 ||
        cmp_want_str(b, "target", p2, err) < 0 || cmp_want_kvmap(b, "args", p2, err) < 0 || cmp_want_kvmap(b, "labels", p2, err) < 0)
        return -1;
    const char *ctx = json_string_value(json_object_get(b, "context"));
    char *a = cmp_abs_path(dir, ctx ? ctx : ".");
    json_object_set_new(b, "context", json_string(a));
    free(a);
    return 0;
}

/* svc[key] = v, unless the service sets key itself */
static void set_if_absent(json_t *svc, const char *key, json_t *v)
{
    if (v && !json_object_get(svc, key))
        json_object_set_new(svc, key, v);
    else
        json_decref(v);
}

static void warn_rest(const json_t *o, const char *path, const char *const *done)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) if (!in_list(done, k)) {
        cleanup_free char *e = nr_escape_controls(k);
        fprintf(stderr, "nrun compose: warning: %s.%s: not supported by nrun, ignored\n", path, e);
    }
}

static int deploy_keys(json_t *svc, json_t *dep, const char *path, nr_err *err)
{
    if (!dep)
        return 0;
    cleanup_free char *dp = nr_xasprintf("%s.deploy", path);
    json_t *rep = json_object_get(dep, "replicas");
    if (rep && !json_object_get(svc, "scale"))
        json_object_set(svc, "scale", rep);
    json_t *res = json_object_get(dep, "resources");
    cleanup_free char *rp = nr_xasprintf("%s.resources", dp);
    if (res && !json_is_object(res))
        return nr_err_set(err, "%s: expected a mapping", rp);
    json_t *lim = json_object_get(res, "limits"), *rsv = json_object_get(res, "reservations");
    if ((lim && !json_is_object(lim)) || (rsv && !json_is_object(rsv)))
        return nr_err_set(err, "%s: limits and reservations are mappings", rp);
    cleanup_free char *cpus = cmp_scalar_str(json_object_get(lim, "cpus"));
    set_if_absent(svc, "cpus", cpus ? json_string(cpus) : NULL);
    set_if_absent(svc, "mem_limit", json_incref(json_object_get(lim, "memory")));
    set_if_absent(svc, "pids_limit", json_incref(json_object_get(lim, "pids")));
    set_if_absent(svc, "mem_reservation", json_incref(json_object_get(rsv, "memory")));
    static const char *const lim_done[] = {"cpus", "memory", "pids", NULL}, *const rsv_done[] = {"memory", NULL},
                             *const res_done[] = {"limits", "reservations", NULL};
    cleanup_free char *lp = nr_xasprintf("%s.limits", rp), *sp = nr_xasprintf("%s.reservations", rp);
    if (lim)
        warn_rest(lim, lp, lim_done);
    if (rsv)
        warn_rest(rsv, sp, rsv_done);
    if (res)
        warn_rest(res, rp, res_done);
    /* restart_policy: condition none|on-failure|any, max_attempts */
    json_t *rpol = json_object_get(dep, "restart_policy");
    if (rpol) {
        cleanup_free char *pp = nr_xasprintf("%s.restart_policy", dp);
        const char *cond = json_string_value(json_object_get(rpol, "condition"));
        if (!json_is_object(rpol) || (json_object_get(rpol, "condition") && !cond) ||
            (cond && strcmp(cond, "none") && strcmp(cond, "on-failure") && strcmp(cond, "any")))
            return nr_err_set(err, "%s.condition: expected none, on-failure or any", pp);
        json_t *max = json_object_get(rpol, "max_attempts");
        if (max && (!json_is_integer(max) || json_integer_value(max) < 0))
            return nr_err_set(err, "%s.max_attempts: expected a number", pp);
        const char *r = !cond || !strcmp(cond, "any") ? "always" : !strcmp(cond, "none") ? "no" : "on-failure";
        set_if_absent(svc, "restart",
                      !strcmp(r, "on-failure") && max && json_integer_value(max) > 0
                          ? json_sprintf("on-failure:%lld", (long long)json_integer_value(max))
                          : json_string(r));
        static const char *const pol_done[] = {"condition", "max_attempts", NULL};
        warn_rest(rpol, pp, pol_done);
    }
    static const char *const dep_done[] = {"replicas", "resources", "restart_policy", "mode", NULL};
    warn_rest(dep, dp, dep_done);
    const char *mode = json_string_value(json_object_get(dep, "mode"));
    if (mode && strcmp(mode, "replicated")) {
        cleanup_free char *e = nr_escape_controls(mode);
        fprintf(stderr, "nrun compose: warning: %s.mode: %s is swarm's, ignored\n", dp, e);
    }
    return 0;
}

int cmp_norm_service(cmp_project *p, const char *name, json_t *svc, nr_err *err)
{
    json_t *model = p->model;
    cleanup_free char *path = nr_xasprintf("services.%s", name);
    const char *k;
    json_t *x;
    void *tmp;
    /* deploy outside swarm, as docker compose takes it: replicas is scale,
     * resources' limits and reservations.memory and restart_policy are the
     * service's keys of those meanings (a service's own key wins); the rest
     * (placement, update_config, ...) a warning each */
    json_t *dep = json_object_get(svc, "deploy");
    if (dep && !json_is_object(dep))
        return nr_err_set(err, "%s.deploy: expected a mapping", path);
    if (deploy_keys(svc, dep, path, err) < 0)
        return -1;
    if (dep)
        json_object_del(svc, "deploy");
    json_object_foreach_safe(svc, tmp, k, x) {
        if (!strncmp(k, "x-", 2)) {
            json_object_del(svc, k);
        } else if (in_list(unsupported, k)) {
            fprintf(stderr, "nrun compose: warning: %s.%s: not supported by nrun, ignored\n", path, k);
            json_object_del(svc, k);
        }
    }
    static const char *const known[] = {
        "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes",
        "working_dir", "user", "labels", "container_name", "hostname", "restart", "healthcheck", "depends_on", "init",
        "stop_signal", "stop_grace_period", "tmpfs", "cap_add", "cap_drop", "extra_hosts", "dns", "networks",
        "network_mode", "privileged", "read_only", "mem_limit", "cpus", "cpuset", "pids_limit", "shm_size",
        "security_opt", "sysctls", "profiles", "scale", "secrets", "configs", "pull_policy", "links", "stdin_open",
        "tty", "volumes_from", "platform", NULL};
    json_object_foreach(svc, k, x) if (!in_list(known, k) && !cmp_docker_key(k)) {
        cleanup_free char *e = nr_escape_controls(k);
        return nr_err_set(err, "%s.%s: not a key of a compose service", path, e);
    }
    static const char *const strs[] = {"image", "container_name", "hostname", "working_dir", "user", "restart",
                                       "stop_signal", "stop_grace_period", "network_mode", "mem_limit", "cpus",
                                       "cpuset", "pids_limit", "shm_size", "platform", NULL};
    for (const char *const *s = strs; *s; s++)
        if (cmp_want_str(svc, *s, path, err) < 0)
            return -1;
    static const char *const lists[] = {"dns", "tmpfs", "cap_add", "cap_drop", "expose", "security_opt", "profiles",
                                        NULL};
    for (const char *const *s = lists; *s; s++)
        if (cmp_want_strlist(svc, *s, path, err) < 0)
            return -1;
    if (cmp_want_bool(svc, "init", path, err) < 0 || cmp_want_bool(svc, "privileged", path, err) < 0 ||
        cmp_want_bool(svc, "read_only", path, err) < 0 || cmp_want_bool(svc, "stdin_open", path, err) < 0 ||
        cmp_want_bool(svc, "tty", path, err) < 0 || cmp_want_kvmap(svc, "environment", path, err) < 0 ||
        cmp_want_kvmap(svc, "labels", path, err) < 0 || cmp_want_kvmap(svc, "sysctls", path, err) < 0 ||
        want_cmd(svc, "command", path, err) < 0 || want_cmd(svc, "entrypoint", path, err) < 0 ||
        norm_ports(svc, path, err) < 0 || norm_health(svc, path, err) < 0 || norm_build(svc, p->dir, path, err) < 0 ||
        norm_volumes(svc, json_object_get(model, "volumes"), p->dir, path, err) < 0 ||
        norm_links(svc, json_object_get(model, "services"), path, err) < 0 ||
        norm_volumes_from(svc, json_object_get(model, "services"), path, err) < 0 ||
        norm_depends(svc, json_object_get(model, "services"), name, path, err) < 0 ||
        norm_networks(svc, json_object_get(model, "networks"), path, err) < 0 ||
        norm_files(model, svc, "secrets", path, err) < 0 || norm_files(model, svc, "configs", path, err) < 0 ||
        cmp_norm_docker_keys(svc, path, err) < 0)
        return -1;
    /* pull_policy: compose's words; a refresh period (daily, weekly,
     * every_<duration>) is missing here: nrun keeps no pull times */
    if (cmp_want_str(svc, "pull_policy", path, err) < 0)
        return -1;
    const char *pp = json_string_value(json_object_get(svc, "pull_policy"));
    if (pp) {
        const char *norm = !strcmp(pp, "if_not_present") || !strcmp(pp, "daily") || !strcmp(pp, "weekly") ||
                                   !strncmp(pp, "every_", 6)
                               ? "missing"
                               : pp;
        if (strcmp(norm, "always") && strcmp(norm, "never") && strcmp(norm, "missing") && strcmp(norm, "build")) {
            cleanup_free char *e = nr_escape_controls(pp);
            return nr_err_set(err, "%s.pull_policy: \"%s\": always, never, missing, build, if_not_present, daily, "
                                   "weekly or every_<duration>", path, e);
        }
        if (!strcmp(norm, "build") && !json_object_get(svc, "build"))
            return nr_err_set(err, "%s.pull_policy: build, but the service has no build", path);
        json_object_set_new(svc, "pull_policy", json_string(norm));
    }
    /* extra_hosts: a list of "host:ip" (or host=ip), or a mapping host: ip */
    json_t *eh = json_object_get(svc, "extra_hosts");
    if (json_is_object(eh)) {
        json_t *l = json_array();
        json_object_foreach(eh, k, x) {
            cleanup_free char *s = cmp_scalar_str(x);
            if (!s) {
                json_decref(l);
                return nr_err_set(err, "%s.extra_hosts.%s: expected an address", path, k);
            }
            cleanup_free char *hl = nr_xasprintf("%s:%s", k, s);
            json_array_append_new(l, json_string(hl));
        }
        json_object_set_new(svc, "extra_hosts", l);
    } else if (cmp_want_strlist(svc, "extra_hosts", path, err) < 0) {
        return -1;
    }
    if (norm_env_file(p->ctx, svc, p->dir, path, err) < 0)
        return -1;
    json_t *sc = json_object_get(svc, "scale");
    if (sc && (!json_is_integer(sc) || json_integer_value(sc) < 0 || json_integer_value(sc) > 100))
        return nr_err_set(err, "%s.scale: expected a number of containers from 0 to 100", path);
    if (sc && json_integer_value(sc) > 1 && json_object_get(svc, "container_name"))
        return nr_err_set(err, "%s: container_name and more than one container (scale) cannot be combined", path);
    if (!json_object_get(svc, "image") && !json_object_get(svc, "build"))
        return nr_err_set(err, "%s: neither image nor build", path);
    /* build + image tags what is built: never with a name FROM takes as a base nbuild makes
     * (node:22, docker.io/library/debian:12...), which every later build on this store would
     * then start from (a cloned file's image would replace the user's node:22) */
    const char *img = json_string_value(json_object_get(svc, "image"));
    char norm[IMG_NAME_MAX + IMG_TAG_MAX + 2];
    nr_err ign = {0};
    /* a reference, checked now: the image is an argument of nrun run (and rmi, pull), where
     * "--device=/dev/sda" would be read as a flag compose has no key for */
    img_ref ref;
    if (img && img_ref_parse(img, &ref, &ign) < 0) {
        cleanup_free char *why = nr_escape_controls(ign.msg);
        return nr_err_set(err, "%s.image: %.300s", path, why);
    }
    if (img && json_object_get(svc, "build") && img_ref_normalize(img, norm, sizeof norm, &ign) == 0) {
        bld_base_hub_official(norm, norm, sizeof norm);
        if (bld_base_made_here(norm)) {
            cleanup_free char *e = nr_escape_controls(img);
            return nr_err_set(err, "%s.image: \"%s\" names a base image nbuild makes: a build is not tagged with it "
                                   "(it would replace that base for every FROM in this store)", path, e);
        }
    }
    const char *gp = json_string_value(json_object_get(svc, "stop_grace_period"));
    if (gp && cmp_duration_ms(gp) < 0)
        return nr_err_set(err, "%s.stop_grace_period: expected a duration like 10s or 1m30s", path);
    const char *cn = json_string_value(json_object_get(svc, "container_name"));
    if (cn && rt_ctr_name_check(cn, err) < 0) {
        cleanup_free char *e = nr_escape_controls(err->msg);
        return nr_err_set(err, "%s.container_name: %s", path, e);
    }
    return 0;
}

