/* Alerts: see alert.h.  Trust boundary: what an event says comes partly
 * from the container (PID 1's counters, the health status, the worker
 * numbers; a name the user chose): it is only ever a JSON value built with
 * jansson (escaped), written to the --alert-exec command's stdin or POSTed as
 * the body -- never put on a command line, in the environment or in a URL.
 * The command line is the user's own --alert-exec string, run by /bin/sh -c
 * as the user who ran nrun (the monitor's identity, on the host). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "images/http.h"
#include "runtime/alert.h"
#include "runtime/events.h"
#include "runtime/runtime.h"
#include "runtime/supervisor/options.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void rt_alerts_init(rt_alerts *a)
{
    memset(a, 0, sizeof *a);
    a->renotify_ms = 3600 * 1000;
    a->restarts_seen = -1;
    snprintf(a->health_last, sizeof a->health_last, "starting");
}

bool rt_alerts_active(const rt_alerts *a)
{
    return a->n || !a->health_off;
}

/* "3/1m" -> 3, 60000; "80%" -> 80; "200ms" -> 200 */
static int parse_rule(rt_alert_rule *r, const char *s)
{
    static const struct { const char *name; enum rt_alert_kind kind; } names[] = {
        {"restarts", RT_AL_RESTARTS}, {"mem", RT_AL_MEM}, {"lag_p99", RT_AL_LAG}, {"lag", RT_AL_LAG},
        {"http_5xx", RT_AL_HTTP5XX}, {"unhealthy", RT_AL_UNHEALTHY}, {"hang", RT_AL_HANG}, {"oom", RT_AL_OOM},
    };
    size_t i;
    const char *rest = NULL;
    for (i = 0; i < NR_ARRAY_LEN(names); i++) {
        size_t n = strlen(names[i].name);
        if (!strncmp(s, names[i].name, n) && (s[n] == 0 || s[n] == '>')) {
            rest = s + n;
            break;
        }
    }
    if (!rest)
        return -1;
    r->kind = names[i].kind;
    bool event = r->kind == RT_AL_UNHEALTHY || r->kind == RT_AL_HANG || r->kind == RT_AL_OOM;
    if (event)
        return *rest ? -1 : 0;
    if (*rest++ != '>')
        return -1;
    char *end;
    errno = 0;
    r->threshold = strtod(rest, &end);
    if (errno || end == rest || r->threshold < 0 || r->threshold > 1e12)
        return -1;
    int ms;
    switch (r->kind) {
    case RT_AL_RESTARTS:
        if (*end != '/' || r->threshold != (long long)r->threshold || sv_parse_duration_ms(end + 1, &ms) < 0 || ms <= 0)
            return -1;
        r->window_ms = ms;
        return 0;
    case RT_AL_MEM:
        return strcmp(end, "%") || r->threshold > 100 ? -1 : 0;
    case RT_AL_LAG:
        if (sv_parse_duration_ms(rest, &ms) < 0 || !strpbrk(rest, "smh"))
            return -1;
        r->threshold = ms;
        return 0;
    case RT_AL_HTTP5XX:
        if (*end != '%' || end[1] != '/' || r->threshold > 100 || sv_parse_duration_ms(end + 2, &ms) < 0 || ms <= 0)
            return -1;
        r->window_ms = ms;
        return 0;
    default:
        return -1;
    }
}

int rt_alert_parse(rt_alerts *a, const char *rule, nr_err *err)
{
    if (a->n == RT_ALERT_MAX)
        return nr_err_set(err, "--alert %s: at most %d rules", rule, RT_ALERT_MAX);
    rt_alert_rule *r = &a->rules[a->n];
    memset(r, 0, sizeof *r);
    if (strlen(rule) >= sizeof r->text || parse_rule(r, rule) < 0)
        return nr_err_set(err, "--alert %s: expected restarts>N/T, mem>P%%, lag_p99>Tms, http_5xx>P%%/T, unhealthy, "
                               "hang or oom", rule);
    snprintf(r->text, sizeof r->text, "%s", rule);
    r->seen = -1;
    a->n++;
    return 0;
}

bool rt_alerts_want_hang(const rt_alerts *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->rules[i].kind == RT_AL_HANG)
            return true;
    return false;
}

static void track(rt_alerts *a, pid_t pid)
{
    for (size_t i = 0; i < NR_ARRAY_LEN(a->children); i++)
        if (a->children[i] <= 0) {
            a->children[i] = pid;
            return;
        }
    waitpid(pid, NULL, 0); /* 32 deliveries under way: wait for this one */
}

void rt_alerts_reap(rt_alerts *a, bool wait)
{
    for (size_t i = 0; i < NR_ARRAY_LEN(a->children); i++)
        if (a->children[i] > 0 && waitpid(a->children[i], NULL, wait ? 0 : WNOHANG) != 0)
            a->children[i] = 0;
}

/* In a child: never returns. */
static void deliver_exec(const char *cmd, const char *json)
{
    int p[2];
    if (pipe(p) < 0)
        _exit(1);
    pid_t pid = fork();
    if (pid < 0)
        _exit(1);
    if (pid == 0) {
        close(p[1]);
        if (dup2(p[0], 0) < 0)
            _exit(126);
        close(p[0]);
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) {
            dup2(nul, 1);
            dup2(nul, 2);
        }
        rt_close_fds_except(NULL, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    (void)!nr_write_all(p[1], json, strlen(json));
    (void)!nr_write_all(p[1], "\n", 1);
    close(p[1]);
    /* the command gets a minute; then it is killed (no hang of deliveries) */
    for (int i = 0; i < 600; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            _exit(0);
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    _exit(1);
}

/* In a child: POST, retried on a transport error, 429 or 5xx: 1, 2, 4, 8 s apart. */
static void deliver_webhook(const char *url, const char *json)
{
    img_http *h = NULL;
    nr_err e = {0};
    img_http_tls tls = {.verify = true};
    if (img_http_new(&tls, &h, &e) < 0)
        _exit(1);
    static const char *const headers[] = {"Content-Type: application/json", "User-Agent: nrun-alert", NULL};
    for (int attempt = 0; attempt < 5; attempt++) {
        if (attempt)
            sleep(1u << (attempt - 1));
        img_http_req rq = {.method = "POST", .url = url, .headers = headers, .body = json, .body_len = strlen(json)};
        img_http_resp rs;
        memset(&rs, 0, sizeof rs);
        int r = img_http_do(h, &rq, &rs, &e);
        long st = rs.status;
        img_http_resp_free(&rs);
        if (r == 0 && st < 500 && st != 429)
            _exit(st >= 200 && st < 300 ? 0 : 1);
    }
    _exit(1);
}

static void log_event(rt_alerts *a, json_t *ev, const char *msg)
{
    char ts[64];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    nr_rfc3339(now.tv_sec, now.tv_nsec, ts, sizeof ts);
    json_t *line = json_pack("{s:s,s:i,s:i,s:s,s:s,s:O}", "time", ts, "worker", 0, "pid", (int)getpid(), "stream",
                             "alert", "msg", msg, "alert", ev);
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    if (!text)
        return;
    /* the logs dir is the container's to reach (/proc/1/fd/N): only a
     * regular file there is opened, never a node or FIFO it put there */
    cleanup_free char *dir = nr_xasprintf("%s/containers/%s/logs", a->root, a->id);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    cleanup_close int fd = dfd >= 0 ? nr_open_append_regular(dfd, "container.log") : -1;
    size_t n = strlen(text);
    text[n] = 0;
    char *buf = nr_xasprintf("%s\n", text);
    if (fd >= 0)
        (void)!nr_write_all(fd, buf, n + 1);
    free(buf);
    free(text);
}

static void notify(rt_alerts *a, rt_alert_rule *r, const char *status, const char *detail)
{
    char ts[64];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    nr_rfc3339(now.tv_sec, now.tv_nsec, ts, sizeof ts);
    json_t *ev = json_pack("{s:s,s:s,s:s,s:f,s:f,s:s,s:{s:s,s:s},s:s}", "type", "alert", "status", status, "rule",
                           r->text, "value", r->value, "threshold", r->threshold, "message", detail, "container",
                           "id", a->id, "name", a->name ? a->name : "", "time", ts);
    if (!ev)
        return;
    cleanup_free char *msg = nr_xasprintf("alert %s: %s: %s", status, r->text, detail);
    log_event(a, ev, msg);
    /* and in `nrun events`: docker has no alert event; this one is shaped as
     * its container events are (string attributes), Action "alert" */
    char val[32], thr[32];
    snprintf(val, sizeof val, "%g", r->value);
    snprintf(thr, sizeof thr, "%g", r->threshold);
    json_t *x = json_pack("{s:s,s:s,s:s,s:s}", "rule", r->text, "state", status, "value", val, "threshold", thr);
    if (x)
        rt_event_container(a->root, "alert", a->id, NULL, x);
    json_decref(x);
    char *json = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (!json)
        return;
    const char *targets[2] = {a->exec_cmd, a->webhook};
    for (int t = 0; t < 2; t++) {
        if (!targets[t])
            continue;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            if (t == 0)
                deliver_exec(targets[t], json);
            deliver_webhook(targets[t], json);
        }
        if (pid > 0)
            track(a, pid);
    }
    free(json);
}

/* firing now?  Sends on a change, and again after the re-notify interval. */
static void judge(rt_alerts *a, rt_alert_rule *r, bool firing, const char *detail)
{
    uint64_t now = now_ms();
    if (firing && (!r->firing || now - r->sent_ms >= (uint64_t)a->renotify_ms)) {
        r->sent_ms = now;
        notify(a, r, "firing", detail);
    } else if (!firing && r->firing) {
        notify(a, r, "resolved", detail);
    }
    r->firing = firing;
}

static long long read_ll(const char *dir, const char *file, const char *key)
{
    cleanup_free char *p = nr_xasprintf("%s/%s", dir, file);
    char buf[4096];
    cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (n <= 0)
        return -1;
    buf[n] = 0;
    const char *v = buf;
    if (key) {
        v = strstr(buf, key);
        if (!v)
            return -1;
        v += strlen(key);
    }
    if (!strncmp(v, "max", 3))
        return -2;
    return atoll(v);
}

/* usage, limit (-2 none) and OOM kills of the container's memory cgroup */
static void memory_of(const rt_cgroup *cg, long long *usage, long long *limit, long long *ooms)
{
    *usage = *limit = *ooms = -1;
    for (size_t i = 0; cg && i < cg->n; i++) {
        if (!strcmp(cg->ctrl[i], "memory")) {
            *usage = read_ll(cg->paths[i], "memory.usage_in_bytes", NULL);
            *limit = read_ll(cg->paths[i], "memory.limit_in_bytes", NULL);
            if (*limit >= (1LL << 62))
                *limit = -2;
            *ooms = read_ll(cg->paths[i], "memory.oom_control", "oom_kill ");
        } else if (!strcmp(cg->ctrl[i], "unified")) {
            long long u = read_ll(cg->paths[i], "memory.current", NULL);
            if (u >= 0) {
                *usage = u;
                *limit = read_ll(cg->paths[i], "memory.max", NULL);
                *ooms = read_ll(cg->paths[i], "memory.events", "oom_kill ");
            }
        }
    }
}

void rt_alerts_container_restart(rt_alerts *a)
{
    a->container_restarts++;
    /* a new PID 1 starts its HEALTHCHECK over, silently, as docker's does */
    snprintf(a->health_last, sizeof a->health_last, "starting");
    a->health_off = false;
}

/* PID 1's health status, compared with the last one: docker writes
 * "health_status: healthy|unhealthy" when it changes (never "starting",
 * the status a container begins with).  The string comes from the
 * container: only the three known words are taken, anything else ignored. */
static void health_poll(rt_alerts *a, json_t *st)
{
    json_t *h = json_object_get(st, "health");
    if (!h) {
        a->health_off = true; /* PID 1 answered: no HEALTHCHECK configured */
        return;
    }
    const char *s = json_string_value(json_object_get(h, "Status"));
    static const char *const known[] = {"starting", "healthy", "unhealthy"};
    size_t k;
    for (k = 0; s && k < NR_ARRAY_LEN(known); k++)
        if (!strcmp(s, known[k]))
            break;
    if (!s || k == NR_ARRAY_LEN(known) || !strcmp(a->health_last, known[k]))
        return;
    snprintf(a->health_last, sizeof a->health_last, "%s", known[k]);
    if (k == 0)
        return;
    cleanup_free char *action = nr_xasprintf("health_status: %s", known[k]);
    rt_event_container(a->root, action, a->id, NULL, NULL);
}

void rt_alerts_poll(rt_alerts *a, const rt_cgroup *cg)
{
    if (!rt_alerts_active(a))
        return;
    rt_alerts_reap(a, false);
    cleanup_free char *reply = a->stats ? a->stats(a->root, a->id) : NULL;
    json_t *st = reply ? json_loads(reply, 0, NULL) : NULL;
    if (!json_is_object(st)) {
        json_decref(st);
        st = NULL;
    }
    if (st && !a->health_off && a->root && a->id)
        health_poll(a, st);
    if (!a->n) {
        json_decref(st);
        return;
    }
    long long usage, limit, ooms;
    memory_of(cg, &usage, &limit, &ooms);
    /* restarts: PID 1's counter (workers) plus the monitor's own (the container) */
    long long restarts = a->container_restarts;
    json_t *rj = json_object_get(st, "restarts");
    long long pid1_restarts = json_is_integer(rj) ? json_integer_value(rj) : -1;
    uint64_t now = now_ms();
    char detail[256];
    for (size_t i = 0; i < a->n; i++) {
        rt_alert_rule *r = &a->rules[i];
        switch (r->kind) {
        case RT_AL_RESTARTS: {
            long long total = restarts + (pid1_restarts > 0 ? pid1_restarts : 0);
            long long seen = r->seen < 0 ? 0 : r->seen;
            /* a new PID 1 (container restart) starts its counter at 0 */
            long long delta = total >= seen ? total - seen : total;
            r->seen = total;
            for (long long k = 0; k < delta && k < RT_ALERT_HIST; k++) {
                if (r->nhist == RT_ALERT_HIST)
                    memmove(r->hist, r->hist + 1, (RT_ALERT_HIST - 1) * sizeof *r->hist), r->nhist--;
                r->hist[r->nhist++] = now;
            }
            int in = 0;
            for (int k = 0; k < r->nhist; k++)
                in += now - r->hist[k] <= (uint64_t)r->window_ms;
            r->value = in;
            snprintf(detail, sizeof detail, "%d restarts in the last %d ms", in, r->window_ms);
            judge(a, r, in > r->threshold, detail);
            break;
        }
        case RT_AL_MEM:
            if (usage < 0 || limit <= 0)
                break; /* no limit: no percentage */
            r->value = 100.0 * (double)usage / (double)limit;
            snprintf(detail, sizeof detail, "memory %lld of %lld bytes (%.1f%%)", usage, limit, r->value);
            judge(a, r, r->value > r->threshold, detail);
            break;
        case RT_AL_LAG: {
            double worst = -1;
            json_t *w;
            size_t k;
            json_array_foreach(json_object_get(st, "workers"), k, w) {
                /* a p99 when PID 1 measures one (request metrics), else the heartbeat's lag */
                json_t *v = json_object_get(w, "lag_p99_ms");
                if (!json_is_number(v))
                    v = json_object_get(w, "lag_ms");
                if (json_is_number(v) && json_number_value(v) > worst)
                    worst = json_number_value(v);
            }
            if (worst < 0)
                break;
            r->value = worst;
            snprintf(detail, sizeof detail, "event-loop lag %.1f ms", worst);
            judge(a, r, worst > r->threshold, detail);
            break;
        }
        case RT_AL_HTTP5XX: {
            /* PID 1's stats "http":{"requests":N,"5xx":M}: the live workers'
             * cumulative counters (from the agent's request metrics). */
            json_t *h = json_object_get(st, "http");
            json_t *n = json_object_get(h, "requests"), *x = json_object_get(h, "5xx");
            if (!json_is_integer(n) || !json_is_integer(x))
                break;
            long long req = json_integer_value(n), bad = json_integer_value(x);
            /* window: the first sample within it is the base; a sum that went
             * down (a worker replaced) starts the window again */
            if (r->nhist < 2 || now - r->hist[0] > (uint64_t)r->window_ms || req < (long long)r->hist[1] ||
                bad < r->seen) {
                r->hist[0] = now;
                r->hist[1] = (uint64_t)req;
                r->seen = bad;
                r->nhist = 2;
            }
            long long dreq = req - (long long)r->hist[1], dbad = bad - r->seen;
            if (dreq <= 0)
                break;
            r->value = 100.0 * (double)dbad / (double)dreq;
            snprintf(detail, sizeof detail, "%lld of %lld requests answered 5xx", dbad, dreq);
            judge(a, r, r->value > r->threshold, detail);
            break;
        }
        case RT_AL_UNHEALTHY: {
            const char *hs = json_string_value(json_object_get(json_object_get(st, "health"), "Status"));
            if (!st)
                break;
            r->value = hs && !strcmp(hs, "unhealthy");
            judge(a, r, r->value > 0, "HEALTHCHECK status unhealthy");
            break;
        }
        case RT_AL_HANG:
        case RT_AL_OOM: {
            /* events: each new one fires (within the re-notify interval, once) */
            long long c = -1;
            if (r->kind == RT_AL_HANG) {
                json_t *h = json_object_get(st, "hangs");
                c = json_is_integer(h) ? json_integer_value(h) : -1;
            } else {
                c = ooms;
            }
            if (c < 0)
                break;
            bool fresh = r->seen >= 0 ? c > r->seen : c > 0;
            if (r->seen >= 0 && c < r->seen)
                fresh = c > 0; /* a new PID 1 or cgroup */
            r->seen = c;
            r->value = (double)c;
            snprintf(detail, sizeof detail, r->kind == RT_AL_HANG ? "a worker sent no heartbeat and was killed (%lld)"
                                                                  : "the OOM killer killed a process (%lld)", c);
            if (fresh) {
                uint64_t t = now_ms();
                if (!r->sent_ms || t - r->sent_ms >= (uint64_t)a->renotify_ms) {
                    r->sent_ms = t;
                    notify(a, r, "firing", detail);
                }
            }
            break;
        }
        }
    }
    json_decref(st);
}
