/* Request dyeing (issue 15 item 5).  `nrun dye` sets rules here (control
 * socket); PID 1 checks them, sends them to every cluster worker's agent
 * (and to each worker that starts later, at its first heartbeat), ends them
 * at the --ttl, and writes what the agents report for matching requests to
 * dye.log in the container's log directory, one JSON line per request.
 *
 * A worker is not trusted: a record is taken only while rules exist, at most
 * SV_DYE_RATE a second per container, every field checked and cut to size,
 * and written by jansson (so no byte of it can start a line of its own);
 * the secret headers are masked here, whatever the agent did, unless the
 * rule said --unmask.  dye.log is rotated at 10 MiB (dye.log.1). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/supervisor/sv_internal.h"

#define SV_DYE_RULES 16
#define SV_DYE_RATE 200
#define SV_DYE_LOG_MAX (10ull << 20)

static struct {
    json_t *rules; /* checked rules, NULL = none */
    bool unmask;
    uint64_t until_ms;
    sv_timer ttl_t;
    uint64_t window_ms;
    int window_n;
    unsigned long long dropped;
} dye;

static bool printable(const char *s, size_t max, bool allow_empty)
{
    size_t n = strlen(s);
    if (n > max || (!n && !allow_empty))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static bool token(const char *s)
{
    if (!printable(s, 128, false))
        return false;
    for (; *s; s++)
        if (!strchr("!#$%&'*+-.^_`|~", *s) && !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

static bool cidr_ok(const char *v)
{
    char ip[64];
    const char *slash = strchr(v, '/');
    size_t n = slash ? (size_t)(slash - v) : strlen(v);
    if (n == 0 || n >= sizeof ip)
        return false;
    memcpy(ip, v, n);
    ip[n] = 0;
    unsigned char buf[16];
    int max = inet_pton(AF_INET, ip, buf) == 1 ? 32 : inet_pton(AF_INET6, ip, buf) == 1 ? 128 : -1;
    if (max < 0)
        return false;
    if (!slash)
        return true;
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    return *end == 0 && end != slash + 1 && bits >= 0 && bits <= max && (max == 32 || bits == 128);
}

static void broadcast(sv_worker *only)
{
    json_t *m = json_pack("{s:s,s:s,s:o}", "cmd", "NODE_NRUN", "act", "dye", "rules",
                          dye.rules ? json_incref(dye.rules) : json_array());
    char *s = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (!s)
        return;
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if ((!only || w == only) && !w->reaped && w->cluster && w->ipc_fd >= 0)
            sv_ipc_send(w, s);
    free(s);
}

static void dye_off(void)
{
    json_decref(dye.rules);
    dye.rules = NULL;
    dye.unmask = false;
    dye.until_ms = 0;
    sv_timer_stop(&dye.ttl_t);
    broadcast(NULL);
}

static void on_ttl(void *arg)
{
    (void)arg;
    sv_log_sys("dye rules expired (--ttl)");
    dye_off();
}

/* {"cmd":"dye","off":true} | {"cmd":"dye","rules":[{type,key,value}],"ttl_ms":N,"unmask":b} | {"cmd":"dye"} (show) */
char *sv_dye_control(const json_t *req)
{
    const json_t *rules = json_object_get(req, "rules");
    if (json_is_true(json_object_get(req, "off"))) {
        dye_off();
        sv_log_sys("dye rules removed");
    } else if (rules) {
        if (!sv_g->cluster || !sv_g->agent_path)
            return nr_xstrdup("{\"ok\":false,\"error\":\"dyeing needs cluster mode with the agent (a node command)\"}");
        if (!json_is_array(rules) || json_array_size(rules) == 0 || json_array_size(rules) > SV_DYE_RULES)
            return nr_xstrdup("{\"ok\":false,\"error\":\"rules: 1 to 16 rules\"}");
        json_t *ok = json_array();
        size_t i;
        const json_t *r;
        json_array_foreach(rules, i, r)
        {
            const char *type = json_string_value(json_object_get(r, "type"));
            const char *key = json_string_value(json_object_get(r, "key"));
            const char *val = json_string_value(json_object_get(r, "value"));
            bool good = type && val && printable(val, 256, true);
            if (good && !strcmp(type, "ip"))
                good = cidr_ok(val);
            else if (good && (!strcmp(type, "header") || !strcmp(type, "cookie")))
                good = key && token(key);
            else if (good && !strcmp(type, "query"))
                good = key && printable(key, 128, false);
            else
                good = false;
            if (!good) {
                json_decref(ok);
                return nr_xstrdup("{\"ok\":false,\"error\":\"bad rule: --header/--cookie K=V (K a token), --query K=V, "
                                  "--ip CIDR; printable ASCII, values up to 256 bytes\"}");
            }
            char lower[129] = "";
            if (!strcmp(type, "header"))
                for (size_t k = 0; key[k] && k < 128; k++)
                    lower[k] = (char)(key[k] >= 'A' && key[k] <= 'Z' ? key[k] + 32 : key[k]);
            json_array_append_new(ok, json_pack("{s:s,s:s,s:s}", "type", type, "key",
                                                !strcmp(type, "ip") ? "" : !strcmp(type, "header") ? lower : key,
                                                "value", val));
        }
        const json_t *ttl = json_object_get(req, "ttl_ms");
        if (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 1 || json_integer_value(ttl) > 7 * 86400000LL)) {
            json_decref(ok);
            return nr_xstrdup("{\"ok\":false,\"error\":\"ttl: 1ms to 7 days\"}");
        }
        json_decref(dye.rules);
        dye.rules = ok;
        dye.unmask = json_is_true(json_object_get(req, "unmask"));
        sv_timer_stop(&dye.ttl_t);
        dye.until_ms = 0;
        if (ttl) {
            dye.until_ms = sv_now_ms() + (uint64_t)json_integer_value(ttl);
            sv_timer_start(&dye.ttl_t, (uint64_t)json_integer_value(ttl), on_ttl, NULL);
        }
        broadcast(NULL);
        sv_log_sys("dye: %zu rule(s)%s", json_array_size(ok), dye.unmask ? ", unmasked" : "");
    }
    json_t *rep = json_pack("{s:b,s:o,s:b}", "ok", 1, "rules", dye.rules ? json_incref(dye.rules) : json_array(),
                            "unmask", dye.unmask);
    if (dye.until_ms)
        json_object_set_new(rep, "ttl_ms", json_integer((json_int_t)(dye.until_ms - sv_now_ms())));
    char *s = json_dumps(rep, JSON_COMPACT);
    json_decref(rep);
    return s;
}

void sv_dye_worker_heard(sv_worker *w)
{
    if (dye.rules)
        broadcast(w);
}

static json_t *cut(const json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    if (!s)
        return json_string("");
    size_t n = strnlen(s, max);
    /* cut on a character boundary: back off over a split UTF-8 sequence */
    for (int k = 0; k < 4 && n > 0; k++) {
        json_t *j = json_stringn(s, n);
        if (j)
            return j;
        n--;
    }
    return json_string("");
}

static bool secret(const char *h)
{
    static const char *const names[] = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"};
    for (size_t i = 0; i < NR_ARRAY_LEN(names); i++)
        if (!strcasecmp(h, names[i]))
            return true;
    return false;
}

static void write_line(const char *line)
{
    int dfd = sv_g->cfg->log_dir_fd;
    if (dfd < 0)
        return;
    struct stat st;
    if (fstatat(dfd, "dye.log", &st, AT_SYMLINK_NOFOLLOW) == 0 && (unsigned long long)st.st_size > SV_DYE_LOG_MAX)
        renameat(dfd, "dye.log", dfd, "dye.log.1");
    int fd = openat(dfd, "dye.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return;
    (void)nr_write_all(fd, line, strlen(line));
    close(fd);
}

void sv_dye_record(sv_worker *w, const json_t *m)
{
    const json_t *rec = json_object_get(m, "rec");
    if (!dye.rules || !json_is_object(rec))
        return; /* no rule, no record: a worker cannot write here on its own */
    uint64_t now = sv_now_ms();
    if (now - dye.window_ms >= 1000) {
        if (dye.dropped)
            sv_log_sys("dye: %llu records over %d/s dropped", dye.dropped, SV_DYE_RATE);
        dye.window_ms = now;
        dye.window_n = 0;
        dye.dropped = 0;
    }
    if (++dye.window_n > SV_DYE_RATE) {
        dye.dropped++;
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[64];
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + k, sizeof when - k, ".%09ldZ", ts.tv_nsec);
    json_t *o = json_pack("{s:s,s:i,s:i}", "time", when, "worker", w->slot, "pid", (int)w->pid);
    json_object_set_new(o, "method", cut(json_object_get(rec, "method"), 16));
    json_object_set_new(o, "url", cut(json_object_get(rec, "url"), 8192));
    json_object_set_new(o, "remote", cut(json_object_get(rec, "remote"), 64));
    json_t *hs = json_object();
    const json_t *in = json_object_get(rec, "headers");
    const char *hk;
    const json_t *hv;
    size_t nh = 0;
    if (json_is_object(in))
        json_object_foreach((json_t *)in, hk, hv)
        {
            if (++nh > 100 || strlen(hk) > 256)
                break;
            if (!json_is_string(hv))
                continue;
            json_object_set_new(hs, hk, secret(hk) && !dye.unmask ? json_string("***") : cut(hv, 8192));
        }
    json_object_set_new(o, "headers", hs);
    const json_t *st = json_object_get(rec, "status");
    json_object_set_new(o, "status", json_integer(json_is_integer(st) && json_integer_value(st) >= 0 &&
                                                          json_integer_value(st) < 1000
                                                      ? json_integer_value(st)
                                                      : 0));
    const json_t *d = json_object_get(rec, "duration_ms");
    double dms = json_is_number(d) ? json_number_value(d) : 0;
    json_object_set_new(o, "duration_ms", json_real(dms >= 0 && dms < 1e9 ? (double)(long long)(dms * 1000) / 1000 : 0));
    const json_t *b = json_object_get(rec, "bytes");
    json_object_set_new(o, "bytes", json_integer(json_is_integer(b) && json_integer_value(b) >= 0 ? json_integer_value(b) : 0));
    json_t *lines = json_array();
    const json_t *cl = json_object_get(rec, "console");
    size_t i;
    const json_t *l;
    if (json_is_array(cl))
        json_array_foreach(cl, i, l)
        {
            if (i >= 50)
                break;
            json_array_append_new(lines, cut(l, 1024));
        }
    json_object_set_new(o, "console", lines);
    /* the fields every log line has (`nrun logs` reads them): a one-line summary */
    json_object_set_new(o, "stream", json_string("dye"));
    json_object_set_new(o, "msg", json_sprintf("%s %s -> %d (%.1f ms)", json_string_value(json_object_get(o, "method")),
                                               json_string_value(json_object_get(o, "url")),
                                               (int)json_integer_value(json_object_get(o, "status")),
                                               json_real_value(json_object_get(o, "duration_ms"))));
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (!s)
        return;
    size_t n = strlen(s);
    char *line = nr_xmalloc(n + 2);
    memcpy(line, s, n);
    line[n] = '\n';
    line[n + 1] = 0;
    write_line(line);
    free(line);
    free(s);
}

bool sv_dye_active(void)
{
    return dye.rules != NULL;
}
