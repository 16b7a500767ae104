/* The run flags of a deploy's next revision (see cli/deploy.h): the flags the
 * serving container was run with (run.json "args", a store file: parsed
 * again with run's own table, never pasted as text), its published ports as
 * bound now, and the overrides given to deploy, which take run's table too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "cli/cli.h"
#include "cli/deploy.h"

void nr_dep_flags_add(nr_dep_flags *f, const char *s)
{
    f->v = nr_xrealloc(f->v, (f->n + 2) * sizeof *f->v);
    f->v[f->n++] = nr_xstrdup(s);
    f->v[f->n] = NULL;
}

void nr_dep_flags_free(nr_dep_flags *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i]);
    free(f->v);
    *f = (nr_dep_flags){0};
}

static bool named(const nr_opt *o, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (o->name && !strcmp(o->name, names[i]))
            return true;
    return false;
}

/* The flags a deploy sets itself (-d, --name) or that are not a revision's
 * to change (-i, -t, --rm: how NAME was started; --cidfile): not taken as
 * overrides. */
static bool deploy_owns(const nr_opt *o)
{
    static const char *const names[] = {"detach", "interactive", "tty", "name", "rm", "cidfile"};
    return named(o, names, NR_ARRAY_LEN(names));
}

/* Of the stored flags, those a deploy sets again (a second --cidfile FILE
 * would be refused: the file exists). */
static bool deploy_resets(const nr_opt *o)
{
    static const char *const names[] = {"detach", "name", "cidfile"};
    return named(o, names, NR_ARRAY_LEN(names));
}

const nr_opt *nr_dep_opts(const nr_opt *own, nr_opt *buf, size_t cap)
{
    size_t n = 0;
    for (; own->name || own->key; own++)
        if (n + 1 < cap)
            buf[n++] = *own;
    for (const nr_opt *o = nr_run_opts(); o->name || o->key; o++)
        if (!deploy_owns(o) && n + 1 < cap)
            buf[n++] = *o;
    buf[n] = (nr_opt){0};
    return buf;
}

static const nr_opt *run_opt(int key)
{
    for (const nr_opt *o = nr_run_opts(); o->name || o->key; o++)
        if (o->key == key)
            return o;
    return NULL;
}

/* One option as "--long" [VALUE]: the same meaning whatever form it was
 * given in (-p8080:3000, -dP, --publish=...). */
static void flag_emit(nr_dep_flags *f, const nr_opt *o, const char *val)
{
    char lf[80];
    snprintf(lf, sizeof lf, "--%s", o->name);
    nr_dep_flags_add(f, lf);
    if (o->arg != no_argument)
        nr_dep_flags_add(f, val ? val : "");
}

bool nr_dep_flag_take(int key, const char *val, nr_dep_flags *f)
{
    const nr_opt *o = run_opt(key);
    if (!o || !o->name || deploy_owns(o))
        return false;
    flag_emit(f, o, val);
    return true;
}

/* -v SRC:DST[:ro], NAME:DST, DST: the path in the container */
static void volume_dst(const char *v, char *out, size_t n)
{
    const char *c = strchr(v, ':');
    const char *d = c ? c + 1 : v;
    snprintf(out, n, "%.*s", (int)strcspn(d, ":"), d);
}

static bool over_has(const nr_dep_flags *over, const char *flag, const char *vol_dst)
{
    for (size_t i = 0; i < over->n; i++) {
        if (strcmp(over->v[i], flag))
            continue;
        if (!vol_dst)
            return true;
        char d[4096];
        if (i + 1 < over->n && (volume_dst(over->v[i + 1], d, sizeof d), !strcmp(d, vol_dst)))
            return true;
    }
    return false;
}

/* Run's -i N / -i max (pm2's worker count) as run reads it: the next word. */
static bool workers_word(const char *w)
{
    return w && (!strcmp(w, "max") || (*w >= '0' && *w <= '9' && strspn(w, "0123456789") == strlen(w)));
}

/* A stored flag that names a host file by a relative path meant the file in
 * the directory run was called from, not in the one deploy is called from
 * (which may be another user's, e.g. /tmp): *out is it anchored there, NULL
 * when the flag names no relative file. */
static int anchored(const nr_opt *o, const char *val, const char *cwd, char **out, nr_err *err)
{
    const char *prefix = "", *path = val;
    if (!strcmp(o->name, "security-opt")) {
        if (strncmp(val, "seccomp=", 8) || !strcmp(val, "seccomp=unconfined"))
            return 0;
        prefix = "seccomp=", path = val + 8;
    } else if (strcmp(o->name, "env-file") && strcmp(o->name, "label-file")) {
        return 0;
    }
    if (path[0] == '/')
        return 0;
    if (!cwd || cwd[0] != '/')
        return nr_err_set(err, "the stored --%s %s names a relative path and no working directory is on record: "
                               "recreate the container with an absolute path", o->name, val);
    *out = nr_xasprintf("%s%s/%s", prefix, cwd, path);
    return 0;
}

/* A stored `-e K` (no value) took K from the environment of whoever ran
 * `nrun run`; the deployer's environment is not that one (sudo -E, a CI job
 * with other secrets), so the value is the serving container's: *out is
 * "K=V" from old_env, or NULL when K was not set there (docker drops an
 * unset K). */
static bool env_bare(const nr_opt *o, const char *val, char *const *old_env, const char **out)
{
    if (strcmp(o->name, "env") || strchr(val, '='))
        return false;
    *out = NULL;
    size_t n = strlen(val);
    for (char *const *e = old_env; e && *e; e++)
        if (!strncmp(*e, val, n) && (*e)[n] == '=')
            *out = *e; /* the last one counts, as in exec's environment */
    return true;
}

int nr_dep_run_args(nr_global *g, const json_t *stored, const char *cwd, char *const *old_env, const json_t *ports,
                    const nr_dep_flags *over, nr_dep_flags *out, nr_err *err)
{
    static nr_cmdspec spec = {"run [OPTIONS] IMAGE", NULL, NULL, false};
    spec.opts = nr_run_opts();
    size_t na = json_array_size(stored);
    char **av = nr_xcalloc(na + 2, sizeof *av);
    int ac = 0;
    av[ac++] = "run";
    for (size_t i = 0; i < na; i++) {
        const char *a = json_string_value(json_array_get(stored, i));
        if (!a) {
            free(av);
            return nr_err_set(err, "args[%zu] is not a string", i);
        }
        av[ac++] = (char *)a;
    }
    bool own_ports = over_has(over, "--publish", NULL) || over_has(over, "--publish-all", NULL);
    int c, r = 0;
    while ((c = nr_opt_next(&spec, ac, av, g)) != -1) {
        const nr_opt *o = run_opt(c);
        if (c == NR_OPT_HELP || c == NR_OPT_BAD || !o) {
            r = nr_err_set(err, "the stored run flags (args) do not parse");
            break; /* (nr_opt_next starts afresh after an error) */
        }
        if (c == 'i' && optind < ac && workers_word(av[optind])) {
            nr_dep_flags_add(out, "--workers");
            nr_dep_flags_add(out, av[optind++]);
            continue;
        }
        /* the ports: as bound now (below), so that -P and -p CTR keep their host ports */
        if (deploy_resets(o) || !strcmp(o->name, "publish") || !strcmp(o->name, "publish-all"))
            continue;
        char d[4096];
        if (!strcmp(o->name, "volume") && (volume_dst(optarg, d, sizeof d), over_has(over, "--volume", d)))
            continue;
        const char *kv;
        if (r == 0 && env_bare(o, optarg, old_env, &kv)) {
            if (kv)
                flag_emit(out, o, kv);
            continue;
        }
        cleanup_free char *abs = NULL;
        if (r < 0 || (r = anchored(o, optarg, cwd, &abs, err)) < 0)
            continue; /* to the end, so the parser is left at rest */
        flag_emit(out, o, abs ? abs : optarg);
    }
    free(av);
    if (r < 0 || own_ports)
        return r;
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        const char *ip = json_string_value(json_object_get(p, "address"));
        const char *proto = json_string_value(json_object_get(p, "proto"));
        char spec_s[128];
        bool v6 = ip && strchr(ip, ':');
        snprintf(spec_s, sizeof spec_s, "%s%s%s%s%lld:%lld/%s", v6 ? "[" : "", ip ? ip : "", v6 ? "]" : "",
                 ip && *ip ? ":" : "", (long long)json_integer_value(json_object_get(p, "host")),
                 (long long)json_integer_value(json_object_get(p, "container")), proto && !strcmp(proto, "udp") ? "udp" : "tcp");
        nr_dep_flags_add(out, "--publish");
        nr_dep_flags_add(out, spec_s);
    }
    return 0;
}
