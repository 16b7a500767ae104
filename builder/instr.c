/* Metadata instructions: each changes the stage's image config and adds an
 * empty_layer history entry (see build_int.h). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/build_int.h"
#include "common/signal.h"
#include "common/util.h"

static void env_set(json_t *config, const char *k, const char *v)
{
    json_t *env = json_object_get(config, "Env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(config, "Env", env);
    }
    size_t kl = strlen(k), i;
    json_t *e;
    cleanup_free char *kv = nr_xasprintf("%s=%s", k, v);
    json_array_foreach(env, i, e) {
        const char *s = json_string_value(e);
        if (s && !strncmp(s, k, kl) && s[kl] == '=') {
            json_array_set_new(env, i, json_string(kv));
            return;
        }
    }
    json_array_append_new(env, json_string(kv));
}

static json_t *obj_get(json_t *config, const char *key)
{
    json_t *o = json_object_get(config, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(config, key, o);
    }
    return o;
}

/* JSON string arrays from the words of an exec form, or shell + text. */
static json_t *cmd_json(bld_stage *st, bool json, const bld_word *w, size_t n)
{
    json_t *a = json_array();
    if (json) {
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, json_string(w[i].s));
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(st->shell, i, v)
            json_array_append(a, v);
        json_array_append_new(a, json_string(n ? w[0].s : ""));
    }
    return a;
}

static bool valid_port(const char *p, const char **why)
{
    char *end;
    unsigned long a = strtoul(p, &end, 10), z = a;
    if (end == p || a < 1 || a > 65535)
        return *why = "bad port number", false;
    if (*end == '-') {
        const char *q = end + 1;
        z = strtoul(q, &end, 10);
        if (end == q || z < a || z > 65535)
            return *why = "bad port range", false;
    }
    if (*end == '/') {
        const char *proto = end + 1;
        if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp"))
            return *why = "protocol must be tcp, udp or sctp", false;
    } else if (*end) {
        return *why = "want [IP:][HOST:]PORT[/PROTO]", false;
    }
    return true;
}

/* EXPOSE [IP:][HOST]:PORT[/PROTO]: BuildKit exposes PORT and ignores the
 * rest (with a warning), so a publish-style spec copied into a Dockerfile
 * still builds.  Returns the container part, or NULL when the host part is
 * not a port (range) or an address. */
static const char *expose_container_port(const char *p, const char **why)
{
    const char *slash = strchr(p, '/'), *end = slash ? slash : p + strlen(p);
    const char *colon = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == ':')
            colon = q;
    if (!colon)
        return p;
    const char *host = colon - 1; /* host port: after the colon before it, if any */
    while (host >= p && *host != ':')
        host--;
    host++;
    for (const char *q = host; q < colon; q++)
        if (!isdigit((unsigned char)*q) && *q != '-')
            return *why = "the host part of IP:HOST:PORT is not a port", NULL;
    if (host > p) {
        if (host - 1 == p)
            return *why = "empty address in IP:HOST:PORT", NULL;
        for (const char *q = p; q < host - 1; q++)
            if (!isxdigit((unsigned char)*q) && !strchr(".:[]", *q))
                return *why = "bad address in IP:HOST:PORT", NULL;
    }
    if (colon > host) {
        char hp[16];
        size_t n = (size_t)(colon - host);
        if (n >= sizeof hp)
            return *why = "bad host port", NULL;
        memcpy(hp, host, n);
        hp[n] = 0;
        if (!valid_port(hp, why))
            return NULL;
    }
    return colon + 1;
}

static void expose_add(json_t *ports, const char *p)
{
    char *end;
    unsigned long a = strtoul(p, &end, 10), z = a;
    if (*end == '-')
        z = strtoul(end + 1, &end, 10);
    char proto[8] = "tcp";
    if (*end == '/') {
        snprintf(proto, sizeof proto, "%s", end + 1);
        for (char *c = proto; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    for (unsigned long x = a; x <= z; x++) {
        char k[32];
        snprintf(k, sizeof k, "%lu/%s", x, proto);
        json_object_set_new(ports, k, json_object());
    }
}

/* Go time.ParseDuration subset: [0-9.]+(ns|us|µs|ms|s|m|h) repeated. */
static int parse_duration(const char *s, long long *ns)
{
    long long total = 0;
    if (!*s)
        return -1;
    if (!strcmp(s, "0")) {
        *ns = 0;
        return 0;
    }
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0 || *s == '-' || *s == '+')
            return -1;
        s = end;
        double mul;
        if (!strncmp(s, "ns", 2)) mul = 1, s += 2;
        else if (!strncmp(s, "us", 2)) mul = 1e3, s += 2;
        else if (!strncmp(s, "\xc2\xb5s", 3)) mul = 1e3, s += 3;
        else if (!strncmp(s, "ms", 2)) mul = 1e6, s += 2;
        else if (*s == 's') mul = 1e9, s += 1;
        else if (*s == 'm') mul = 60e9, s += 1;
        else if (*s == 'h') mul = 3600e9, s += 1;
        else return -1;
        double add = v * mul;
        if (add > 9e18 || (double)total + add > 9e18)
            return -1;
        total += (long long)add;
    }
    *ns = total;
    return 0;
}

static int healthcheck(bld_state *b, bld_stage *st, const bld_instr *in, nr_buf *text, nr_err *err)
{
    if (in->hc_none) {
        json_object_set_new(st->config, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
        nr_buf_addstr(text, " NONE");
        return 0;
    }
    json_t *hc = json_object();
    static const struct { const char *flag, *key; } durs[] = {
        {"interval", "Interval"}, {"timeout", "Timeout"}, {"start-period", "StartPeriod"},
        {"start-interval", "StartInterval"}};
    for (size_t i = 0; i < NR_ARRAY_LEN(durs); i++) {
        const bld_flag *fl = bld_instr_flag(in, durs[i].flag);
        if (!fl)
            continue;
        long long ns;
        if (!fl->value || parse_duration(fl->value, &ns) < 0) {
            json_decref(hc);
            return bld_errat(err, &b->f, in, fl->off, "HEALTHCHECK: bad duration --%s=%s", fl->name,
                             fl->value ? fl->value : "");
        }
        if (ns != 0 && ns < 1000000) {
            json_decref(hc);
            return bld_errat(err, &b->f, in, fl->off, "HEALTHCHECK: --%s can not be less than 1ms", fl->name);
        }
        if (ns)
            json_object_set_new(hc, durs[i].key, json_integer(ns));
        nr_buf_addf(text, " --%s=%s", fl->name, fl->value);
    }
    const bld_flag *fl = bld_instr_flag(in, "retries");
    if (fl) {
        char *end = NULL;
        long r = fl->value ? strtol(fl->value, &end, 10) : -1;
        if (!fl->value || !*fl->value || *end || r < 0 || r > 1000000) {
            json_decref(hc);
            return bld_errat(err, &b->f, in, fl->off, "HEALTHCHECK: bad --retries=%s", fl->value ? fl->value : "");
        }
        if (r)
            json_object_set_new(hc, "Retries", json_integer(r));
        nr_buf_addf(text, " --retries=%ld", r);
    }
    json_t *test = json_array();
    if (in->hc_json) {
        json_array_append_new(test, json_string("CMD"));
        for (size_t i = 0; i < in->hc_nargs; i++)
            json_array_append_new(test, json_string(in->hc_args[i].s));
    } else {
        json_array_append_new(test, json_string("CMD-SHELL"));
        json_array_append_new(test, json_string(in->hc_args[0].s));
    }
    json_object_set_new(hc, "Test", test);
    json_object_set_new(st->config, "Healthcheck", hc);
    cleanup_free char *rest = bld_instr_rest(in, in->hc_off);
    nr_buf_addf(text, " CMD %s", rest);
    return 0;
}

int bld_meta_plan(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err)
{
    nr_buf text = {0};
    nr_buf_addstr(&text, in->name);
    int rc = 0;
    bool made_layer = false; /* WORKDIR that creates its directory */
    json_t *c = st->config;
    switch (in->kind) {
    case BLD_ENV:
    case BLD_LABEL: {
        /* All values see the variables as they were before this line. */
        size_t n = in->nargs;
        char **v = nr_xcalloc(n, sizeof *v);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = bld_expand_word(b, st, in, &in->args[i], &v[i], err);
        for (size_t i = 0; i + 1 < n && rc == 0; i += 2) {
            if (!*v[i]) {
                rc = bld_errat(err, &b->f, in, in->args[i].off, "%s names can not be blank", in->name);
                break;
            }
            if (in->kind == BLD_ENV) {
                if (strchr(v[i], '=')) {
                    rc = bld_errat(err, &b->f, in, in->args[i].off, "ENV name \"%s\" contains '='", v[i]);
                    break;
                }
                env_set(c, v[i], v[i + 1]);
            } else {
                json_object_set_new(obj_get(c, "Labels"), v[i], json_string(v[i + 1]));
            }
            nr_buf_addf(&text, " %s=%s", v[i], v[i + 1]);
        }
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        break;
    }
    case BLD_WORKDIR: {
        cleanup_free char *w = NULL;
        if ((rc = bld_expand_word(b, st, in, &in->args[0], &w, err)) < 0)
            break;
        const char *cur = json_string_value(json_object_get(c, "WorkingDir"));
        cleanup_free char *p = w[0] == '/' ? bld_path_clean(w) : bld_path_join(cur && *cur ? cur : "/", w);
        json_object_set_new(c, "WorkingDir", json_string(p));
        nr_buf_addf(&text, " %s", p);
        /* made inside the image: a symlink of the base on the way is followed */
        cleanup_free char *rp = bld_stage_resolve(b, st, p);
        if (strcmp(rp, "/") && !bld_stage_is_dir(b, st, rp)) {
            /* BuildKit creates a missing WORKDIR as the current USER. */
            const char *u = json_string_value(json_object_get(c, "User"));
            uid_t uid = 0;
            gid_t gid = 0;
            if (u && *u) {
                if (bld_chown_needs_names(u) && bld_stage_passwd(b, st, err) < 0) {
                    rc = bld_errat(err, &b->f, in, in->args[0].off,
                                   "WORKDIR: reading /etc/passwd of the base image for USER %s: %s", u, err->msg);
                    break;
                }
                if (bld_chown_resolve(u, &st->pw, &uid, &gid, err) < 0) {
                    rc = bld_errat(err, &b->f, in, in->args[0].off, "WORKDIR: owner from USER %s: %s", u, err->msg);
                    break;
                }
            }
            bld_mkdir_plan(b, st, rp, text.data, uid, gid);
            made_layer = true;
        }
        break;
    }
    case BLD_USER: {
        cleanup_free char *u = NULL;
        if ((rc = bld_expand_word(b, st, in, &in->args[0], &u, err)) < 0)
            break;
        if (!*u || u[0] == ':' || u[strlen(u) - 1] == ':') {
            rc = bld_errat(err, &b->f, in, in->args[0].off, "USER: invalid user \"%s\" (want user[:group])", u);
            break;
        }
        json_object_set_new(c, "User", json_string(u));
        nr_buf_addf(&text, " %s", u);
        break;
    }
    case BLD_EXPOSE:
        for (size_t i = 0; i < in->nargs && rc == 0; i++) {
            cleanup_free char *p = NULL;
            const char *why;
            if ((rc = bld_expand_word(b, st, in, &in->args[i], &p, err)) < 0)
                break;
            nr_buf_addf(&text, " %s", p);
            /* The expansion splits into words, as BuildKit's ProcessWords:
             * `EXPOSE $PORTS` of "3000 9229" is two ports, of an unset ARG none. */
            for (char *save = NULL, *w = strtok_r(p, " \t\r\n", &save); w && rc == 0;
                 w = strtok_r(NULL, " \t\r\n", &save)) {
                const char *port = expose_container_port(w, &why);
                if (!port || !valid_port(port, &why)) {
                    rc = bld_errat(err, &b->f, in, in->args[i].off, "EXPOSE: invalid port \"%s\": %s", w, why);
                    break;
                }
                if (port != w)
                    fprintf(stderr, "nbuild: warning: %s:%d: EXPOSE %s: an image exposes only %s; publish the host "
                            "side with nrun -p\n", b->f.path, in->lines[in->args[i].off], w, port);
                expose_add(obj_get(c, "ExposedPorts"), port);
            }
        }
        break;
    case BLD_VOLUME:
        for (size_t i = 0; i < in->nargs && rc == 0; i++) {
            cleanup_free char *p = NULL;
            if ((rc = bld_expand_word(b, st, in, &in->args[i], &p, err)) < 0)
                break;
            if (!*p) {
                rc = bld_errat(err, &b->f, in, in->args[i].off, "VOLUME: empty path");
                break;
            }
            json_object_set_new(obj_get(c, "Volumes"), p, json_object());
            nr_buf_addf(&text, " %s", p);
        }
        break;
    case BLD_STOPSIGNAL: {
        cleanup_free char *s = NULL;
        if ((rc = bld_expand_word(b, st, in, &in->args[0], &s, err)) < 0)
            break;
        if (nr_signal_parse(s) < 0) { /* the table nrun reads it with */
            rc = bld_errat(err, &b->f, in, in->args[0].off, "STOPSIGNAL: invalid signal \"%s\"", s);
            break;
        }
        json_object_set_new(c, "StopSignal", json_string(s));
        nr_buf_addf(&text, " %s", s);
        break;
    }
    case BLD_CMD:
    case BLD_ENTRYPOINT: {
        json_t *a = cmd_json(st, in->json, in->args, in->nargs);
        if (in->kind == BLD_CMD) {
            json_object_set_new(c, "Cmd", a);
            /* as BuildKit sets it on every CMD (a Windows field, ignored on Linux) */
            json_object_set_new(c, "ArgsEscaped", json_true());
            st->cmd_set = true;
        } else {
            json_object_set_new(c, "Entrypoint", a);
            /* Docker: an ENTRYPOINT resets a CMD inherited from the base. */
            if (!st->cmd_set)
                json_object_del(c, "Cmd");
        }
        cleanup_free char *rest = bld_instr_rest(in, in->rest_off);
        nr_buf_addf(&text, " %s", rest);
        break;
    }
    case BLD_SHELL:
        if (in->nargs == 0) {
            rc = bld_errat(err, &b->f, in, in->rest_off, "SHELL requires at least one argument");
            break;
        }
        json_decref(st->shell);
        st->shell = cmd_json(st, true, in->args, in->nargs);
        /* recorded as BuildKit does: later builds FROM this image and its
         * CMD-SHELL health check use it */
        json_object_set_new(c, "Shell", json_deep_copy(st->shell));
        {
            cleanup_free char *rest = bld_instr_rest(in, in->rest_off);
            nr_buf_addf(&text, " %s", rest);
        }
        break;
    case BLD_HEALTHCHECK:
        rc = healthcheck(b, st, in, &text, err);
        break;
    case BLD_MAINTAINER: {
        /* the config's "author", as BuildKit sets it */
        cleanup_free char *rest = bld_instr_rest(in, in->rest_off);
        nr_buf_addf(&text, " %s", rest);
        free(st->author);
        st->author = nr_xstrdup(rest);
        break;
    }
    case BLD_ONBUILD: {
        /* recorded as written (Docker's config OnBuild), run by the builds
         * FROM this image */
        cleanup_free char *rest = bld_instr_rest(in, in->rest_off);
        json_t *ob = json_object_get(c, "OnBuild");
        if (!json_is_array(ob)) {
            ob = json_array();
            json_object_set_new(c, "OnBuild", ob);
        }
        json_array_append_new(ob, json_string(rest));
        nr_buf_addf(&text, " %s", rest);
        break;
    }
    default:
        rc = bld_errat(err, &b->f, in, 0, "%s: internal error (not a metadata instruction)", in->name);
    }
    if (rc == 0 && !made_layer) {
        bld_chain_add(st, text.data);
        /* BuildKit records ONBUILD in the config's OnBuild only, with no
         * history entry */
        if (in->kind != BLD_ONBUILD)
            bld_hist_add(st, text.data, true);
    }
    nr_buf_free(&text);
    return rc;
}
