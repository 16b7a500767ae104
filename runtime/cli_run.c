/* nrun run [OPTIONS] IMAGE [CMD...]: flags -> rt_run_opts, then create the
 * container and run it in the foreground or detached. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/cli_common.h"
#include "common/util.h"
#include "images/store.h"
#include "runtime/alert.h"
#include "runtime/create.h"
#include "runtime/runtime.h"
#include "runtime/supervisor/sv_cli.h"
#include "runtime/supervisor/supervisor.h"

static void push(char ***v, size_t *n, const char *s)
{
    *v = nr_xrealloc(*v, (*n + 2) * sizeof(char *));
    (*v)[(*n)++] = nr_xstrdup(s);
    (*v)[*n] = NULL;
}

/* An --env-file entry: after the other files' entries, before every -e,
 * whatever the order of the flags (docker's: -e wins over a file). */
static void push_file_env(rt_run_opts *o, size_t *nfile, const char *kv)
{
    push(&o->env, &o->nenv, kv);
    char *last = o->env[o->nenv - 1];
    memmove(o->env + *nfile + 1, o->env + *nfile, (o->nenv - 1 - *nfile) * sizeof *o->env);
    o->env[(*nfile)++] = last;
}

#define BLANKS " \t\n\v\f\r"

/* One line of an env file (line ending removed): VAR=VAL, VAL kept as it
 * is, or VAR alone for its value here (nothing when it is unset). */
static int env_line(rt_run_opts *o, size_t *nfile, const char *path, int ln, const char *line, nr_err *err)
{
    const char *p = line + strspn(line, BLANKS);
    if (!*p || *p == '#')
        return 0;
    size_t nlen = strcspn(p, "=");
    if (nlen == 0)
        return nr_err_set(err, "--env-file %s:%d: empty variable name", path, ln);
    if (strcspn(p, BLANKS) < nlen) /* "E2 = two", "export E6=x" */
        return nr_err_set(err, "--env-file %s:%d: variable name \"%.*s\" contains whitespace", path, ln, (int)nlen, p);
    if (p[nlen] == '=') {
        push_file_env(o, nfile, p);
    } else if (getenv(p)) {
        cleanup_free char *kv = nr_xasprintf("%s=%s", p, getenv(p));
        push_file_env(o, nfile, kv);
    }
    return 0;
}

/* --env-file as docker reads it: lines of any length; blank lines and
 * # comments skipped; leading blanks ignored; CRLF endings taken.  A regular
 * file of at most 1 MiB (more than exec passes to an app): /dev/zero, a FIFO
 * or a directory is refused before anything is read. */
#define ENV_FILE_MAX (1u << 20)
static int env_file(rt_run_opts *o, size_t *nfile, const char *path, nr_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;
    if (nr_read_user_file(AT_FDCWD, path, "--env-file", ENV_FILE_MAX, &text, &len, err) < 0)
        return -1;
    int ln = 0;
    for (char *line = text, *end = text + len; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t l = nl ? (size_t)(nl - line) : (size_t)(end - line);
        char *next = nl ? nl + 1 : end;
        line[l] = 0;
        ln++;
        if (l > 0 && line[l - 1] == '\r')
            line[--l] = 0;
        char *t = line;
        if (ln == 1 && !strncmp(t, "\xef\xbb\xbf", 3)) /* a UTF-8 byte order mark */
            t += 3, l -= 3;
        if (memchr(t, 0, l))
            return nr_err_set(err, "--env-file %s:%d: a NUL byte", path, ln);
        if (!nr_utf8_valid(t))
            return nr_err_set(err, "--env-file %s:%d: not valid UTF-8", path, ln);
        if (env_line(o, nfile, path, ln, t, err) < 0)
            return -1;
        line = next;
    }
    return 0;
}

/* --cpus: from 0.01 (the kernel's 1 ms quota floor) to the CPUs there are. */
static int parse_cpus(const char *s, rt_run_opts *o)
{
    char *end;
    double c = strtod(s, &end);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (*end || end == s || !(c >= 0.01) || c > (n > 0 ? n : 1024))
        return -1;
    o->cpu_period = 100000;
    o->cpu_quota = (long long)(c * 100000 + 0.5);
    return 0;
}

/* A cpu list (0-2,4) of CPUs this machine has. */
static bool cpuset_valid(const char *s)
{
    long max = sysconf(_SC_NPROCESSORS_CONF);
    if (!*s)
        return false;
    for (const char *p = s;;) {
        char *end;
        if (*p < '0' || *p > '9')
            return false;
        long a = strtol(p, &end, 10), b = a;
        if (*end == '-') {
            p = end + 1;
            if (*p < '0' || *p > '9')
                return false;
            b = strtol(p, &end, 10);
        }
        if (a > b || b >= max)
            return false;
        if (!*end)
            return true;
        if (*end != ',')
            return false;
        p = end + 1;
    }
}

static int parse_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    *out = v;
    return 0;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void opts_free(rt_run_opts *o)
{
    strv_free(o->env, o->nenv);
    strv_free(o->volumes, o->nvolumes);
    strv_free(o->ports, o->nports);
    strv_free(o->cap_add, o->ncap_add);
    strv_free(o->cap_drop, o->ncap_drop);
    strv_free(o->security_opt, o->nsecurity_opt);
    strv_free(o->sv_opts, o->nsv_opts);
}

/* A refused `nrun run` exits 125 as docker's does (2 is the app's to give). */
static int run_usage_error(nr_global *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_usage_error(nr_global *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = nr_usage_verror(g, NR_EXIT_CMD, fmt, ap);
    va_end(ap);
    return r;
}

static int run_main(int argc, char **argv, nr_global *g, rt_run_opts *op);

static bool some_sv_opt(const rt_run_opts *op, const char *prefix)
{
    for (size_t k = 0; k < op->nsv_opts; k++)
        if (!strncmp(op->sv_opts[k], prefix, strlen(prefix)))
            return true;
    return false;
}

int nr_cmd_run(int argc, char **argv, nr_global *g)
{
    rt_run_opts o = {.net = "private"};
    int r = run_main(argc, argv, g, &o);
    opts_free(&o);
    return r;
}

static int run_main(int argc, char **argv, nr_global *g, rt_run_opts *op)
{
    rt_timing("start");
    rt_run_params rp = {0};
    static rt_alerts alerts; /* lives as long as the detached monitor */
    rt_alerts_init(&alerts);
    const char *restart = NULL, *cidfile = NULL;
    size_t nfile_env = 0; /* op->env starts with this many --env-file entries */
    nr_err err = {0};
    /* everything given here ends up in config.json, which is JSON: UTF-8 */
    for (int k = 1; k < argc; k++)
        if (!nr_utf8_valid(argv[k])) {
            fprintf(stderr, "nrun: argument %d is not valid UTF-8\n", k);
            return NR_EXIT_CMD;
        }
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        /* boolean flags, including combined short ones like -dit */
        if (a[1] != '-' && strspn(a + 1, "dit") == strlen(a + 1)) {
            for (char *c = a + 1; *c; c++)
                switch (*c) {
                case 'd': rp.detach = true; break;
                case 'i': rp.interactive = true; break;
                case 't': op->tty = true; break;
                }
            continue;
        }
        if (!strcmp(a, "--help")) {
            puts("Usage: nrun run [OPTIONS] IMAGE [CMD...]\n"
                 "  -d, --detach             run in the background, print the id\n"
                 "  -i, --interactive        the app reads this stdin (cluster: worker 1), EOF when it ends;\n"
                 "                           without -i, or with -d (nothing to attach to), stdin is /dev/null\n"
                 "  -t, --tty                a pty (foreground only; minimal init, no supervisor)\n"
                 "  --name NAME              unique name, also the hostname\n"
                 "  -e K=V, --env-file F     environment\n"
                 "  -w DIR, --entrypoint CMD, -u USER[:GROUP]\n"
                 "  --rm, --restart no|on-failure[:N]|always|unless-stopped, --cidfile FILE\n"
                 "  -m SIZE, --cpus N, --pids-limit N, --cpuset-cpus LIST\n"
                 "  --read-only, -v HOST:CTR[:ro] | NAME:CTR | CTR\n"
                 "  -p [IP:]HOST:CTR, --net private|host|none, -h HOSTNAME\n"
                 "  --cap-add CAP, --cap-drop CAP, --security-opt seccomp=unconfined|PROFILE.json\n"
                 "  --workers N, --balance rr|leastconn|sticky, --mode auto|cluster|single (supervisor)\n"
                 "  --max-memory SIZE, --wait-ready, --drain-timeout T, --kill-timeout T, --stop-timeout T,\n"
                 "  --listen-timeout T, --heartbeat-timeout T, --crash-loop N/T, --backoff T[/MAX], --stable T,\n"
                 "  --log-max-size SIZE, --log-max-files N, --log-rate SIZE, --restart-failed\n"
                 "  --health-cmd CMD, --health-interval T, --health-timeout T, --health-retries N,\n"
                 "  --health-start-period T, --health-start-interval T, --no-healthcheck, --on-unhealthy reload,\n"
                 "  --hang-report\n"
                 "  --alert RULE (restarts>N/T, mem>P%, lag_p99>Tms, http_5xx>P%/T, unhealthy, hang, oom),\n"
                 "  --alert-exec CMD, --alert-webhook URL, --alert-renotify T (default 1h)   with -d\n"
                 "                           supervisor tuning, as for `nrun supervise` (see its --help)");
            return 0;
        }
        if (!strcmp(a, "--detach")) { rp.detach = true; continue; }
        if (!strcmp(a, "--interactive")) { rp.interactive = true; continue; }
        if (!strcmp(a, "--tty")) { op->tty = true; continue; }
        if (!strcmp(a, "--rm")) { rp.rm = true; continue; }
        if (!strcmp(a, "--read-only")) { op->read_only = true; continue; }
        if (sv_opt_arity(a) == 0) {
            cleanup_free char *kv = nr_xasprintf("%s=true", a);
            push(&op->sv_opts, &op->nsv_opts, kv);
            continue;
        }
        /* options with a value: --opt=V or --opt V */
        const char *val = NULL;
        char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        cleanup_free char *name = eq ? nr_xstrndup(a, (size_t)(eq - a)) : nr_xstrdup(a);
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return run_usage_error(g, "run: %s needs a value", a);
        const char *n = name;
        if (!strcmp(n, "--name")) op->name = val;
        else if (!strcmp(n, "--alert")) {
            if (rt_alert_parse(&alerts, val, &err) < 0)
                return run_usage_error(g, "run: %s", err.msg);
        } else if (!strcmp(n, "--alert-exec")) {
            if (!*val)
                return run_usage_error(g, "run: --alert-exec: empty command");
            alerts.exec_cmd = val;
        } else if (!strcmp(n, "--alert-webhook")) {
            if (strncmp(val, "http://", 7) && strncmp(val, "https://", 8))
                return run_usage_error(g, "run: --alert-webhook %s: expected an http:// or https:// URL", val);
            alerts.webhook = val;
        } else if (!strcmp(n, "--alert-renotify")) {
            if (sv_parse_duration_ms(val, &alerts.renotify_ms) < 0 || alerts.renotify_ms <= 0)
                return run_usage_error(g, "run: --alert-renotify %s: expected a duration like 10m", val);
        }
        else if (!strcmp(n, "--cidfile")) cidfile = val;
        else if (sv_opt_arity(n) > 0) {
            sv_config probe;
            sv_config_init(&probe);
            int bad = sv_opt_apply(&probe, n, val, &err);
            sv_config_fini(&probe);
            if (bad < 0)
                return run_usage_error(g, "run: %s", err.msg);
            cleanup_free char *kv = nr_xasprintf("%s=%s", n, val);
            push(&op->sv_opts, &op->nsv_opts, kv);
        }
        else if (!strcmp(n, "-e") || !strcmp(n, "--env")) {
            if (*val == '=' || !*val)
                return run_usage_error(g, "run: -e %s: empty variable name", val);
            if (!strchr(val, '=')) {
                const char *v = getenv(val);
                if (v) {
                    cleanup_free char *kv = nr_xasprintf("%s=%s", val, v);
                    push(&op->env, &op->nenv, kv);
                }
            } else {
                push(&op->env, &op->nenv, val);
            }
        } else if (!strcmp(n, "--env-file")) {
            if (env_file(op, &nfile_env, val, &err) < 0)
                return nr_err_report(&err, g->prog, NR_EXIT_CMD);
        } else if (!strcmp(n, "-w") || !strcmp(n, "--workdir")) op->workdir = val;
        else if (!strcmp(n, "--entrypoint")) { op->entrypoint = val; op->entrypoint_set = true; }
        else if (!strcmp(n, "--restart")) restart = val;
        else if (!strcmp(n, "-u") || !strcmp(n, "--user")) op->user = val;
        else if (!strcmp(n, "-m") || !strcmp(n, "--memory")) {
            unsigned long long v;
            if (nr_parse_size(val, &v) < 0 || v < 4 * 1024 * 1024)
                return run_usage_error(g, "run: --memory %s: expected a size of at least 4m", val);
            op->memory = (long long)v;
        } else if (!strcmp(n, "--cpus")) {
            if (parse_cpus(val, op) < 0)
                return run_usage_error(g, "run: --cpus %s: expected a number from 0.01 to %ld (the CPUs there are)",
                                      val, sysconf(_SC_NPROCESSORS_ONLN));
        } else if (!strcmp(n, "--pids-limit")) {
            if (parse_ll(val, &op->pids_limit) < 0)
                return run_usage_error(g, "run: --pids-limit %s: expected a number", val);
        } else if (!strcmp(n, "--cpuset-cpus")) {
            if (!cpuset_valid(val))
                return run_usage_error(g, "run: --cpuset-cpus %s: expected a list like 0-2,4 of CPUs 0-%ld", val,
                                      sysconf(_SC_NPROCESSORS_CONF) - 1);
            op->cpuset = val;
        }
        else if (!strcmp(n, "-v") || !strcmp(n, "--volume")) push(&op->volumes, &op->nvolumes, val);
        else if (!strcmp(n, "-p") || !strcmp(n, "--publish")) push(&op->ports, &op->nports, val);
        else if (!strcmp(n, "--net") || !strcmp(n, "--network")) {
            if (strcmp(val, "host") && strcmp(val, "none") && strcmp(val, "private") && strcmp(val, "bridge") &&
                strcmp(val, "default"))
                return run_usage_error(g, "run: --net %s: expected host, none or private", val);
            op->net = !strcmp(val, "host") ? "host" : !strcmp(val, "none") ? "none" : "private";
        } else if (!strcmp(n, "-h") || !strcmp(n, "--hostname")) op->hostname = val;
        else if (!strcmp(n, "--cap-add")) push(&op->cap_add, &op->ncap_add, val);
        else if (!strcmp(n, "--cap-drop")) push(&op->cap_drop, &op->ncap_drop, val);
        else if (!strcmp(n, "--security-opt")) push(&op->security_opt, &op->nsecurity_opt, val);
        else if (!strcmp(n, "--workers")) {
            long long w;
            if (parse_ll(val, &w) < 0 || w < 0 || w > 1024)
                return run_usage_error(g, "run: --workers %s: expected 0..1024", val);
            op->workers = (int)w;
        } else if (!strcmp(n, "--balance")) {
            if (strcmp(val, "rr") && strcmp(val, "leastconn") && strcmp(val, "sticky"))
                return run_usage_error(g, "run: --balance %s: expected rr, leastconn or sticky", val);
            op->balance = !strcmp(val, "leastconn") ? 1 : !strcmp(val, "sticky") ? 2 : 0;
        } else if (!strcmp(n, "--mode")) {
            if (strcmp(val, "auto") && strcmp(val, "cluster") && strcmp(val, "single"))
                return run_usage_error(g, "run: --mode %s: expected auto, cluster or single", val);
            op->mode = !strcmp(val, "cluster") ? 1 : !strcmp(val, "single") ? 2 : 0;
        } else
            return run_usage_error(g, "run: unknown option %s", name);
    }
    if (i >= argc)
        return run_usage_error(g, "run: which image? (nrun run [OPTIONS] IMAGE [CMD...])");
    bool no_hc = false, some_hc = false;
    for (size_t k = 0; k < op->nsv_opts; k++) {
        no_hc |= !strncmp(op->sv_opts[k], "--no-healthcheck=", 17);
        some_hc |= !strncmp(op->sv_opts[k], "--health-", 9);
    }
    if (no_hc && some_hc)
        return run_usage_error(g, "run: --no-healthcheck conflicts with --health-* options");
    if (alerts.n || alerts.exec_cmd || alerts.webhook) {
        if (!rp.detach)
            return run_usage_error(g, "run: --alert needs -d (the detached container's monitor delivers alerts)");
        if (!alerts.n)
            return run_usage_error(g, "run: --alert-exec/--alert-webhook without an --alert RULE");
        if (!alerts.exec_cmd && !alerts.webhook)
            return run_usage_error(g, "run: --alert needs --alert-exec CMD or --alert-webhook URL");
        rp.alerts = &alerts;
        /* a hang alert comes with the hung worker's stack in the log */
        if (rt_alerts_want_hang(&alerts) && !some_sv_opt(op, "--hang-report="))
            push(&op->sv_opts, &op->nsv_opts, "--hang-report=true");
    }
    const char *image = argv[i++];
    op->cmd = argv + i;
    op->ncmd = (size_t)(argc - i);
    rp.tty = op->tty && !rp.detach; /* -dt: no terminal to attach to yet */
    if (rt_restart_parse(restart, &rp.restart, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    if (rp.rm && rp.restart.policy != RT_RESTART_NO)
        return run_usage_error(g, "run: --rm and --restart cannot be combined");
    op->ephemeral = rp.rm;

    img_store *store;
    if (img_store_open(g->root, &store, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    rt_created c;
    rt_timing("store open");
    int r = rt_container_create(store, g->root, image, op, &c, &err);
    img_store_close(store);
    if (r < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    rt_timing("created");
    if (cidfile) {
        FILE *f = fopen(cidfile, "wx");
        if (!f || fprintf(f, "%s", c.id) < 0 || fclose(f) != 0) {
            nr_err_sys(&err, errno, "--cidfile %s", cidfile);
            nr_err ign;
            rt_container_remove(g->root, c.id, &ign);
            return nr_err_report(&err, g->prog, NR_EXIT_CMD);
        }
    }
    if (g->debug)
        fprintf(stderr, "nrun: container %s (%zu layers unpacked)\n", c.id, c.layers_extracted);
    free(c.name);
    if (rp.detach) {
        if (rt_run_detached(g->root, c.id, &rp, &err) < 0) {
            nr_err ign;
            rt_container_remove(g->root, c.id, &ign);
            return nr_err_report(&err, g->prog, NR_EXIT_CMD);
        }
        printf("%s\n", c.id);
        return 0;
    }
    int code = rt_run_foreground(g->root, c.id, &rp, &err);
    if (code < 0) {
        nr_err ign;
        if (!rp.rm)
            rt_container_remove(g->root, c.id, &ign);
        return nr_err_report(&err, g->prog, NR_EXIT_CMD);
    }
    return code;
}
