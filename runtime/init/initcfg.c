/* The PID-1 configuration: see initcfg.h.  The reader trusts nothing it did
 * not check: every field has its type and range verified, and an error names
 * the field. */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/init/initcfg.h"
#include "runtime/supervisor/options.h"

#define CFG_MAX (16u << 20) /* environment and arguments included */

static json_t *strv_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* The supervisor's tuning knobs, all numbers (sizes, counts, ms, booleans). */
enum tkind { T_INT, T_ULL, T_BOOL };
static const struct tunable {
    const char *key;
    size_t off;
    enum tkind kind;
    long long lo, hi;
} tunables[] = {
#define TI(f, lo, hi) {#f, offsetof(sv_config, f), T_INT, lo, hi}
#define TU(f) {#f, offsetof(sv_config, f), T_ULL, 0, INT64_MAX}
#define TB(f) {#f, offsetof(sv_config, f), T_BOOL, 0, 1}
    TU(log_max_size),          TI(log_max_files, 0, 1000),       TI(stop_timeout_ms, 0, INT32_MAX),
    TI(drain_timeout_ms, 0, INT32_MAX), TI(kill_timeout_ms, 0, INT32_MAX), TB(wait_ready),
    TU(max_memory),            TI(crash_loop_max, 0, 100000),    TI(crash_loop_window_ms, 0, INT32_MAX),
    TI(backoff_base_ms, 0, INT32_MAX), TI(backoff_max_ms, 0, INT32_MAX), TI(stable_ms, 0, INT32_MAX),
    TI(heartbeat_timeout_ms, 0, INT32_MAX), TI(listen_timeout_ms, 0, INT32_MAX), TB(restart_single),
    TU(log_rate),              TB(health_off),                   TI(health_interval_ms, 0, INT32_MAX),
    TI(health_timeout_ms, 0, INT32_MAX), TI(health_start_period_ms, 0, INT32_MAX),
    TI(health_start_interval_ms, 0, INT32_MAX), TI(health_retries, 0, 1000000), TB(reload_unhealthy),
    TB(hang_report),
    TB(no_agent),
#undef TI
#undef TU
#undef TB
};

static long long tunable_get(const sv_config *s, const struct tunable *t)
{
    const char *p = (const char *)s + t->off;
    switch (t->kind) {
    case T_INT: return *(const int *)p;
    case T_ULL: return (long long)*(const unsigned long long *)p;
    default: return *(const bool *)p;
    }
}

static void tunable_set(sv_config *s, const struct tunable *t, long long v)
{
    char *p = (char *)s + t->off;
    switch (t->kind) {
    case T_INT: *(int *)p = (int)v; break;
    case T_ULL: *(unsigned long long *)p = (unsigned long long)v; break;
    default: *(bool *)p = v != 0;
    }
}

int rt_initcfg_write(int fd, const rt_initcfg *c, nr_err *err)
{
    const sv_config *s = &c->sv;
    json_t *o = json_object();
    json_object_set_new(o, "argv", strv_json(s->argv));
    json_object_set_new(o, "env", strv_json(s->envp));
    json_object_set_new(o, "cwd", json_string(s->cwd ? s->cwd : "/"));
    json_object_set_new(o, "uid", json_integer(s->uid == (uid_t)-1 ? -1 : (json_int_t)s->uid));
    json_object_set_new(o, "gid", json_integer(s->gid == (gid_t)-1 ? -1 : (json_int_t)s->gid));
    json_t *g = json_array();
    for (size_t i = 0; i < s->ngroups; i++)
        json_array_append_new(g, json_integer(s->groups[i]));
    json_object_set_new(o, "groups", g);
    json_t *l = json_array();
    for (size_t i = 0; i < s->n_listen; i++)
        json_array_append_new(l, json_pack("{s:i,s:i}", "fd", s->listen_fds[i], "port", s->listen_ports[i]));
    json_object_set_new(o, "listen", l);
    json_object_set_new(o, "mode", json_integer(s->mode));
    json_object_set_new(o, "balance", json_integer(s->balance));
    json_object_set_new(o, "workers", json_integer(s->workers));
    json_object_set_new(o, "log_fd", json_integer(s->log_dir_fd));
    json_object_set_new(o, "control_fd", json_integer(s->control_fd));
    json_object_set_new(o, "echo_stdio", json_boolean(s->echo_stdio));
    json_object_set_new(o, "pass_stdin", json_boolean(s->pass_stdin));
    json_object_set_new(o, "stop_signal", json_integer(s->stop_signal));
    json_object_set_new(o, "runtime_dir", json_string(s->runtime_dir ? s->runtime_dir : "/dev/.nrun"));
    json_t *t = json_object();
    for (size_t i = 0; i < NR_ARRAY_LEN(tunables); i++)
        json_object_set_new(t, tunables[i].key, json_integer((json_int_t)tunable_get(s, &tunables[i])));
    json_object_set_new(o, "tuning", t);
    json_object_set_new(o, "metrics", json_string(s->metrics_addr));
    json_object_set_new(o, "log_level", json_string(s->log_level));
    json_object_set_new(o, "revision", json_string(s->revision));
    json_object_set_new(o, "caps", json_integer((json_int_t)c->caps));
    json_object_set_new(o, "nnp", json_boolean(c->nnp));
    json_object_set_new(o, "minimal", json_boolean(c->minimal));
    json_object_set_new(o, "lockdown", json_boolean(c->lockdown));
    if (c->control_path)
        json_object_set_new(o, "control_path", json_string(c->control_path));
    if (s->health_test)
        json_object_set_new(o, "health_test", json_string(s->health_test));
    char *hex = nr_xmalloc(2 * c->bpf_len + 1);
    for (size_t i = 0; i < c->bpf_len; i++) {
        static const char d[] = "0123456789abcdef";
        hex[2 * i] = d[c->bpf[i] >> 4];
        hex[2 * i + 1] = d[c->bpf[i] & 15];
    }
    hex[2 * c->bpf_len] = 0;
    json_object_set_new(o, "seccomp", json_string(hex));
    free(hex);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return nr_err_set(err, "init config: cannot serialize");
    int r = nr_write_all(fd, text, strlen(text));
    free(text);
    if (r < 0)
        return nr_err_sys(err, errno, "write init config");
    return 0;
}

static int need(json_t *o, const char *key, json_type type, json_t **out, nr_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_typeof(v) != type)
        return nr_err_set(err, "init config: \"%s\" missing or of the wrong type", key);
    *out = v;
    return 0;
}

static int int_field(json_t *o, const char *key, long long lo, long long hi, long long *out, nr_err *err)
{
    json_t *v = NULL;
    if (need(o, key, JSON_INTEGER, &v, err) < 0)
        return -1;
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return nr_err_set(err, "init config: \"%s\" = %lld is out of range", key, x);
    *out = x;
    return 0;
}

static int bool_field(json_t *o, const char *key, bool *out, nr_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_boolean(v))
        return nr_err_set(err, "init config: \"%s\" missing or not a boolean", key);
    *out = json_is_true(v);
    return 0;
}

static char **strv_field(json_t *o, const char *key, bool nonempty, nr_err *err)
{
    json_t *a = NULL;
    if (need(o, key, JSON_ARRAY, &a, err) < 0)
        return NULL;
    size_t n = json_array_size(a);
    if (nonempty && n == 0) {
        nr_err_set(err, "init config: \"%s\" is empty", key);
        return NULL;
    }
    char **v = nr_xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(a, i);
        if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s)) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            nr_err_set(err, "init config: \"%s\"[%zu] is not a string", key, i);
            return NULL;
        }
        v[i] = nr_xstrdup(json_string_value(s));
    }
    return v;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse(json_t *o, rt_initcfg *c, nr_err *err)
{
    sv_config *s = &c->sv;
    long long x;
    json_t *v = NULL;
    if (!json_is_object(o))
        return nr_err_set(err, "init config: not a JSON object");
    if (!(s->argv = strv_field(o, "argv", true, err)) || !(s->envp = strv_field(o, "env", false, err)))
        return -1;
    if (need(o, "cwd", JSON_STRING, &v, err) < 0)
        return -1;
    s->cwd = nr_xstrdup(json_string_value(v));
    /* -1: keep ours (the supervisor on the host) */
    if (int_field(o, "uid", -1, UINT32_MAX - 1, &x, err) < 0)
        return -1;
    s->uid = (uid_t)x;
    if (int_field(o, "gid", -1, UINT32_MAX - 1, &x, err) < 0)
        return -1;
    s->gid = (gid_t)x;
    if (need(o, "groups", JSON_ARRAY, &v, err) < 0)
        return -1;
    if (json_array_size(v) > 65536)
        return nr_err_set(err, "init config: too many groups");
    gid_t *groups = nr_xcalloc(json_array_size(v) + 1, sizeof *groups);
    s->groups = groups;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *g = json_array_get(v, i);
        if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) >= UINT32_MAX)
            return nr_err_set(err, "init config: \"groups\"[%zu] is not a gid", i);
        groups[s->ngroups++] = (gid_t)json_integer_value(g);
    }
    if (need(o, "listen", JSON_ARRAY, &v, err) < 0)
        return -1;
    if (json_array_size(v) > 256)
        return nr_err_set(err, "init config: too many listening sockets");
    int *fds = nr_xcalloc(json_array_size(v) + 1, sizeof *fds);
    int *ports = nr_xcalloc(json_array_size(v) + 1, sizeof *ports);
    s->listen_fds = fds;
    s->listen_ports = ports;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        long long fd, port;
        if (!json_is_object(e) || int_field(e, "fd", 3, 1 << 20, &fd, err) < 0 ||
            int_field(e, "port", 1, 65535, &port, err) < 0)
            return nr_err_wrap(err, "\"listen\"[%zu]", i);
        fds[s->n_listen] = (int)fd;
        ports[s->n_listen++] = (int)port;
    }
    if (int_field(o, "mode", SV_MODE_AUTO, SV_MODE_SINGLE, &x, err) < 0)
        return -1;
    s->mode = (enum sv_mode)x;
    if (int_field(o, "balance", SV_BALANCE_RR, SV_BALANCE_STICKY, &x, err) < 0)
        return -1;
    s->balance = (enum sv_balance)x;
    if (int_field(o, "workers", 0, 4096, &x, err) < 0)
        return -1;
    s->workers = (int)x;
    if (int_field(o, "log_fd", -1, 1 << 20, &x, err) < 0)
        return -1;
    s->log_dir_fd = (int)x;
    if (int_field(o, "control_fd", -1, 1 << 20, &x, err) < 0)
        return -1;
    s->control_fd = (int)x;
    if (bool_field(o, "echo_stdio", &s->echo_stdio, err) < 0 || bool_field(o, "pass_stdin", &s->pass_stdin, err) < 0)
        return -1;
    if (int_field(o, "stop_signal", 0, 64, &x, err) < 0)
        return -1;
    s->stop_signal = (int)x;
    if (need(o, "runtime_dir", JSON_STRING, &v, err) < 0)
        return -1;
    if (json_string_value(v)[0] != '/')
        return nr_err_set(err, "init config: \"runtime_dir\" is not absolute");
    s->runtime_dir = nr_xstrdup(json_string_value(v));
    if (need(o, "tuning", JSON_OBJECT, &v, err) < 0)
        return -1;
    for (size_t i = 0; i < NR_ARRAY_LEN(tunables); i++) {
        if (int_field(v, tunables[i].key, tunables[i].lo, tunables[i].hi, &x, err) < 0)
            return nr_err_wrap(err, "\"tuning\"");
        tunable_set(s, &tunables[i], x);
    }
    /* observability (issue 15): checked as the command line checks them */
    if (need(o, "metrics", JSON_STRING, &v, err) < 0)
        return -1;
    if (json_string_value(v)[0] && sv_metrics_parse_addr(json_string_value(v), NULL, NULL, err) < 0)
        return nr_err_wrap(err, "init config");
    snprintf(s->metrics_addr, sizeof s->metrics_addr, "%s", json_string_value(v));
    if (need(o, "log_level", JSON_STRING, &v, err) < 0)
        return -1;
    if (json_string_value(v)[0] && !sv_log_level_valid(json_string_value(v)))
        return nr_err_set(err, "init config: \"log_level\" is not debug, info, warn or error");
    snprintf(s->log_level, sizeof s->log_level, "%s", json_string_value(v));
    if (need(o, "revision", JSON_STRING, &v, err) < 0)
        return -1;
    if (json_string_value(v)[0] && sv_opt_apply(s, "--revision", json_string_value(v), err) < 0)
        return nr_err_wrap(err, "init config");
    if (int_field(o, "caps", 0, INT64_MAX, &x, err) < 0)
        return -1;
    c->caps = (uint64_t)x;
    if (bool_field(o, "nnp", &c->nnp, err) < 0 || bool_field(o, "minimal", &c->minimal, err) < 0 ||
        bool_field(o, "lockdown", &c->lockdown, err) < 0)
        return -1;
    v = json_object_get(o, "control_path");
    if (v && (!json_is_string(v) || json_string_value(v)[0] != '/'))
        return nr_err_set(err, "init config: \"control_path\" is not an absolute path");
    if (v)
        c->control_path = nr_xstrdup(json_string_value(v));
    /* checked again by health.c when it splits it into argv */
    v = json_object_get(o, "health_test");
    if (v && !json_is_string(v))
        return nr_err_set(err, "init config: \"health_test\" is not a string");
    if (v)
        s->health_test = nr_xstrdup(json_string_value(v));
    if (need(o, "seccomp", JSON_STRING, &v, err) < 0)
        return -1;
    const char *hex = json_string_value(v);
    size_t hl = json_string_length(v);
    if (hl % 2)
        return nr_err_set(err, "init config: \"seccomp\" is not hex");
    c->bpf_len = hl / 2;
    c->bpf = nr_xmalloc(c->bpf_len + 1);
    for (size_t i = 0; i < c->bpf_len; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return nr_err_set(err, "init config: \"seccomp\" is not hex");
        c->bpf[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

int rt_initcfg_read(int fd, rt_initcfg *c, nr_err *err)
{
    memset(c, 0, sizeof *c);
    sv_config_init(&c->sv);
    nr_buf b = {0};
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            nr_buf_free(&b);
            return nr_err_sys(err, errno, "read init config");
        }
        if (n == 0)
            break;
        if (b.len + (size_t)n > CFG_MAX) {
            nr_buf_free(&b);
            return nr_err_set(err, "init config larger than %u bytes", CFG_MAX);
        }
        nr_buf_add(&b, chunk, (size_t)n);
    }
    json_error_t je;
    json_t *o = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &je);
    nr_buf_free(&b);
    if (!o)
        return nr_err_set(err, "init config: %s (line %d)", je.text, je.line);
    int r = parse(o, c, err);
    json_decref(o);
    if (r < 0)
        rt_initcfg_free(c);
    return r;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void rt_initcfg_free(rt_initcfg *c)
{
    strv_free(c->sv.argv);
    strv_free(c->sv.envp);
    free((char *)c->sv.cwd);
    free((gid_t *)c->sv.groups);
    free((int *)c->sv.listen_fds);
    free((int *)c->sv.listen_ports);
    free((char *)c->sv.runtime_dir);
    free(c->sv.health_test);
    free(c->control_path);
    free(c->bpf);
    memset(c, 0, sizeof *c);
    sv_config_init(&c->sv);
}
