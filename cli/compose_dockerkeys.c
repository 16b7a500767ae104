/* Service keys that are docker run flags nrun run has (session 11's docker
 * words): logging (json-file and local), ulimits, group_add, dns_search,
 * dns_opt, domainname, oom_score_adj, cpu_shares, mem_reservation,
 * memswap_limit.  Normalized here with the other keys (compose_service.c),
 * turned into run's flags for the service's argv (compose_run.c), and
 * checked by run itself like every other flag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/compose.h"
#include "cli/compose_int.h"
#include "common/util.h"

static const char *const strs[][2] = {
    {"domainname", "--domainname"},         {"oom_score_adj", "--oom-score-adj"},
    {"cpu_shares", "--cpu-shares"},         {"mem_reservation", "--memory-reservation"},
    {"memswap_limit", "--memory-swap"},     {NULL, NULL}};
static const char *const lists[][2] = {
    {"group_add", "--group-add"}, {"dns_search", "--dns-search"}, {"dns_opt", "--dns-option"}, {NULL, NULL}};

bool cmp_docker_key(const char *k)
{
    for (int i = 0; strs[i][0]; i++)
        if (!strcmp(k, strs[i][0]))
            return true;
    for (int i = 0; lists[i][0]; i++)
        if (!strcmp(k, lists[i][0]))
            return true;
    return !strcmp(k, "logging") || !strcmp(k, "ulimits");
}

/* logging: {driver: json-file|local, options: {max-size, max-file}}; another
 * driver is a warning (nrun keeps its own log), and so are other options */
static int norm_logging(json_t *svc, const char *path, nr_err *err)
{
    json_t *l = json_object_get(svc, "logging");
    if (!l)
        return 0;
    if (!json_is_object(l))
        return nr_err_set(err, "%s.logging: expected a mapping", path);
    const char *k;
    json_t *v;
    json_object_foreach(l, k, v) if (strcmp(k, "driver") && strcmp(k, "options")) {
        cleanup_free char *e = nr_escape_controls(k);
        return nr_err_set(err, "%s.logging.%s: not a key of logging", path, e);
    }
    json_t *out = json_object();
    json_t *d = json_object_get(l, "driver");
    if (d && !json_is_string(d)) {
        json_decref(out);
        return nr_err_set(err, "%s.logging.driver: expected a string", path);
    }
    const char *drv = d ? json_string_value(d) : "json-file";
    bool ours = !strcmp(drv, "json-file") || !strcmp(drv, "local");
    if (!ours) {
        cleanup_free char *e = nr_escape_controls(drv);
        fprintf(stderr, "nrun compose: warning: %s.logging.driver: %s is not supported by nrun (its own log, as "
                        "json-file), ignored\n", path, e);
    } else {
        json_object_set_new(out, "driver", json_string(drv));
    }
    json_t *o = json_object_get(l, "options");
    if (o && !json_is_object(o)) {
        json_decref(out);
        return nr_err_set(err, "%s.logging.options: expected a mapping", path);
    }
    json_t *keep = json_object();
    json_object_foreach(o, k, v) {
        char *s = cmp_scalar_str(v);
        if (!s) {
            json_decref(keep);
            json_decref(out);
            cleanup_free char *e = nr_escape_controls(k);
            return nr_err_set(err, "%s.logging.options.%s: expected a string", path, e);
        }
        if (ours && (!strcmp(k, "max-size") || !strcmp(k, "max-file"))) {
            json_object_set_new(keep, k, json_string(s));
        } else {
            cleanup_free char *e = nr_escape_controls(k);
            fprintf(stderr, "nrun compose: warning: %s.logging.options.%s: not supported by nrun, ignored\n", path, e);
        }
        free(s);
    }
    if (json_object_size(keep))
        json_object_set_new(out, "options", keep);
    else
        json_decref(keep);
    json_object_set_new(svc, "logging", out);
    return 0;
}

/* ulimits: NAME: N, or NAME: {soft: N, hard: M} -> "NAME=SOFT[:HARD]" strings */
static int norm_ulimits(json_t *svc, const char *path, nr_err *err)
{
    json_t *u = json_object_get(svc, "ulimits");
    if (!u)
        return 0;
    if (!json_is_object(u))
        return nr_err_set(err, "%s.ulimits: expected a mapping", path);
    json_t *out = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(u, k, v) {
        cleanup_free char *e = nr_escape_controls(k);
        if (json_is_integer(v)) {
            cleanup_free char *s = nr_xasprintf("%s=%lld", k, (long long)json_integer_value(v));
            json_array_append_new(out, json_string(s));
        } else if (json_is_object(v)) {
            json_t *so = json_object_get(v, "soft"), *ha = json_object_get(v, "hard");
            if (!json_is_integer(so) || !json_is_integer(ha) || json_object_size(v) != 2) {
                json_decref(out);
                return nr_err_set(err, "%s.ulimits.%s: expected a number or {soft: N, hard: N}", path, e);
            }
            cleanup_free char *s = nr_xasprintf("%s=%lld:%lld", k, (long long)json_integer_value(so),
                                                (long long)json_integer_value(ha));
            json_array_append_new(out, json_string(s));
        } else {
            json_decref(out);
            return nr_err_set(err, "%s.ulimits.%s: expected a number or {soft: N, hard: N}", path, e);
        }
    }
    json_object_set_new(svc, "ulimits", out);
    return 0;
}

int cmp_norm_docker_keys(json_t *svc, const char *path, nr_err *err)
{
    for (int i = 0; strs[i][0]; i++)
        if (cmp_want_str(svc, strs[i][0], path, err) < 0)
            return -1;
    for (int i = 0; lists[i][0]; i++)
        if (cmp_want_strlist(svc, lists[i][0], path, err) < 0)
            return -1;
    return norm_logging(svc, path, err) < 0 || norm_ulimits(svc, path, err) < 0 ? -1 : 0;
}

void cmp_argv_docker_keys(const json_t *s, cmp_strv *a)
{
    json_t *v;
    for (int i = 0; strs[i][0]; i++)
        if ((v = json_object_get(s, strs[i][0])))
            cmp_strv_pushf(a, "%s=%s", strs[i][1], json_string_value(v));
    size_t k;
    json_t *x;
    for (int i = 0; lists[i][0]; i++)
        json_array_foreach(json_object_get(s, lists[i][0]), k, x) cmp_strv_pushf(a, "%s=%s", lists[i][1],
                                                                                   json_string_value(x));
    json_array_foreach(json_object_get(s, "ulimits"), k, x) cmp_strv_pushf(a, "--ulimit=%s", json_string_value(x));
    json_t *l = json_object_get(s, "logging");
    if ((v = json_object_get(l, "driver")))
        cmp_strv_pushf(a, "--log-driver=%s", json_string_value(v));
    const char *ok;
    json_object_foreach(json_object_get(l, "options"), ok, v) cmp_strv_pushf(a, "--log-opt=%s=%s", ok,
                                                                               json_string_value(v));
}
