/* Per-worker figures measured from outside (CPU from /proc/PID/stat, RSS from
 * /proc/PID/statm) and what the agent reports (heartbeat, event-loop lag,
 * closed connections); the once-a-second checks built on them: memory limit
 * -> graceful replacement, missing heartbeat -> the worker is hung, killed
 * and restarted.  Also the default worker count (cgroup CPU quota, cpuset,
 * online CPUs). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/supervisor/sv_internal.h"

static bool read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    if (r <= 0)
        return false;
    buf[r] = 0;
    return true;
}

/* CPUs of the cgroup quota (v2 cpu.max, v1 cfs_quota/period) of our own cgroup; 0 = no quota. */
static int quota_cpus(void)
{
    char cg[4096];
    if (!read_small("/proc/self/cgroup", cg, sizeof cg))
        return 0;
    for (char *line = strtok(cg, "\n"); line; line = strtok(NULL, "\n")) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        const char *ctrl = c1 + 1, *path = c2 + 1;
        char p[1024], buf[128];
        if (!*ctrl) {
            const char *bases[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
            for (int b = 0; b < 2; b++) {
                snprintf(p, sizeof p, "%s%s/cpu.max", bases[b], path);
                long long q, per;
                if (read_small(p, buf, sizeof buf) && sscanf(buf, "%lld %lld", &q, &per) == 2 && q > 0 && per > 0)
                    return (int)((q + per - 1) / per);
            }
        } else if (strstr(ctrl, "cpu") && !strstr(ctrl, "cpuset")) {
            const char *dirs[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu"};
            for (int d = 0; d < 3; d++) {
                long long q = 0, per = 0;
                snprintf(p, sizeof p, "/sys/fs/cgroup/%s%s/cpu.cfs_quota_us", dirs[d], path);
                if (!read_small(p, buf, sizeof buf))
                    continue;
                q = atoll(buf);
                snprintf(p, sizeof p, "/sys/fs/cgroup/%s%s/cpu.cfs_period_us", dirs[d], path);
                if (read_small(p, buf, sizeof buf))
                    per = atoll(buf);
                if (q > 0 && per > 0)
                    return (int)((q + per - 1) / per);
                break;
            }
        }
    }
    return 0;
}

int sv_cpu_count(void)
{
    int n = quota_cpus();
    if (n > 0)
        return n;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long on = sysconf(_SC_NPROCESSORS_ONLN);
    return on > 0 ? (int)on : 1;
}

static void sample(sv_worker *w, uint64_t now)
{
    char p[64], buf[1024];
    snprintf(p, sizeof p, "/proc/%d/statm", (int)w->pid);
    unsigned long long size, res;
    if (read_small(p, buf, sizeof buf) && sscanf(buf, "%llu %llu", &size, &res) == 2)
        w->rss = res * (unsigned long long)sysconf(_SC_PAGESIZE);
    snprintf(p, sizeof p, "/proc/%d/stat", (int)w->pid);
    if (!read_small(p, buf, sizeof buf))
        return;
    char *e = strrchr(buf, ')'); /* comm may hold spaces and parens */
    unsigned long long ut, st;
    if (!e || sscanf(e + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return;
    w->cpu_ticks = ut + st;
    if (w->cpu_prev_ms && now > w->cpu_prev_ms)
        w->cpu_pct = (double)(w->cpu_ticks - w->cpu_prev_ticks) * 100.0 * 1000.0 /
                     ((double)sysconf(_SC_CLK_TCK) * (double)(now - w->cpu_prev_ms));
    w->cpu_prev_ticks = w->cpu_ticks;
    w->cpu_prev_ms = now;
}

static void tick(void *arg)
{
    sv_stats_sample();
    sv_stats_check();
    sv_logs_report_drops();
    sv_timer_start(&sv_g->tick_t, 1000, tick, NULL);
}

void sv_stats_sample(void)
{
    uint64_t now = sv_now_ms();
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if (!w->reaped)
            sample(w, now);
    if (!sv_g->tick_t.armed)
        sv_timer_start(&sv_g->tick_t, 1000, tick, NULL);
}

void sv_stats_check(void)
{
    const sv_config *cfg = sv_g->cfg;
    uint64_t now = sv_now_ms();
    if (sv_g->stopping)
        return;
    for (sv_worker *w = sv_g->workers; w; w = w->next) {
        if (w->reaped || w->state != SV_W_UP)
            continue;
        if (cfg->max_memory && w->rss > cfg->max_memory && !w->replacing && !w->restart_after_exit) {
            sv_log_sys("worker %d (pid %d) uses %llu MiB > --max-memory %llu MiB: replacing it", w->slot,
                       (int)w->pid, w->rss >> 20, cfg->max_memory >> 20);
            sv_g->slots[w->slot].restarts++; /* a restart the app caused, as pm2 counts it (a reload is not) */
            if (w->cluster) {
                sv_replace_worker(w);
            } else {
                w->restart_after_exit = true;
                w->state = SV_W_STOPPING;
                sv_worker_signal_group(w, cfg->stop_signal ? cfg->stop_signal : SIGTERM);
            }
        }
        if (w->cluster && cfg->heartbeat_timeout_ms > 0 && w->last_ping_ms &&
            now - w->last_ping_ms > (uint64_t)cfg->heartbeat_timeout_ms) {
            sv_log_sys("worker %d (pid %d) sent no heartbeat for %llu ms: hung, killing it", w->slot, (int)w->pid,
                       (unsigned long long)(now - w->last_ping_ms));
            sv_g->hangs++;
            /* Out of the routing at once; the exit is a crash and restarts the slot. */
            w->state = SV_W_STOPPING;
            sv_balance_worker_gone(w);
            sv_worker_signal_group(w, SIGKILL);
        }
    }
}

static const char *state_name(enum sv_wstate s)
{
    static const char *const n[] = {"starting", "up", "draining", "stopping", "dead"};
    return n[s];
}

char *sv_stats_json(bool workers_only)
{
    uint64_t now = sv_now_ms();
    json_t *ws = json_array();
    int restarts = 0;
    uint64_t http_req = 0, http_5xx = 0; /* the live workers' request counters, summed */
    bool have_http = false;
    for (int s = 1; s <= SV_MAX_SLOTS; s++)
        restarts += sv_g->slots[s].restarts;
    for (int s = 0; s <= SV_MAX_SLOTS; s++)
        for (sv_worker *w = sv_g->workers; w; w = w->next) {
            if (w->reaped || w->slot != s)
                continue;
            json_t *o = json_pack("{s:i,s:i,s:i,s:s,s:I,s:i,s:f,s:I,s:I,s:I,s:i}", "worker", w->slot, "id", w->id,
                                  "pid", (int)w->pid, "state", state_name(w->state), "uptime_ms",
                                  (json_int_t)(now - w->started_ms), "restarts", sv_g->slots[s].restarts, "cpu",
                                  (double)(long long)(w->cpu_pct * 10 + 0.5) / 10, "rss", (json_int_t)w->rss, "connections",
                                  (json_int_t)(sv_worker_open_conns(w) + (uint64_t)w->ninflight), "handed",
                                  (json_int_t)w->handed, "inflight", w->ninflight);
            if (w->last_ping_ms)
                json_object_set_new(o, "lag_ms", json_real((double)(long long)(w->lag_ms * 10 + 0.5) / 10));
            if (w->mx.have_el) /* the event-loop delay's p99 over the last second (for --alert lag_p99) */
                json_object_set_new(o, "lag_p99_ms", json_real((double)(long long)(w->mx.el[1] * 10000 + 0.5) / 10));
            if (w->mx.have) {
                http_req += w->mx.count;
                http_5xx += w->mx.errors;
                have_http = true;
                /* the last second, from the agent's batches (metrics.c) */
                json_object_set_new(o, "requests", json_integer((json_int_t)w->mx.count));
                json_object_set_new(o, "rps", json_real((double)(long long)(w->mx.rps * 10 + 0.5) / 10));
                json_object_set_new(o, "error_rate", json_real(w->mx.err_rate));
                if (w->mx.p99 > 0)
                    json_object_set_new(o, "p99_ms", isinf(w->mx.p99) ? json_string(">10000")
                                                                       : json_real(w->mx.p99 * 1000));
            }
            json_array_append_new(ws, o);
        }
    json_t *root = json_pack("{s:b,s:s,s:i,s:i,s:i,s:b,s:b,s:o}", "ok", 1, "mode",
                             sv_g->cluster ? "cluster" : "single", "pid", (int)sv_g->self, "target", sv_g->target,
                             "restarts", restarts, "reloading", sv_g->reloading, "stopping", sv_g->stopping,
                             "workers", ws);
    /* cumulative per worker process: the sum drops when a worker is replaced
     * (runtime/alert.c starts its window again then) */
    if (have_http)
        json_object_set_new(root, "http", json_pack("{s:I,s:I}", "requests", (json_int_t)http_req, "5xx",
                                                    (json_int_t)http_5xx));
    json_object_set_new(root, "log_level", json_string(sv_g->log_level[0] ? sv_g->log_level : "debug"));
    if (sv_g->mode_reason)
        json_object_set_new(root, "mode_reason", json_string(sv_g->mode_reason));
    json_t *cmd = json_array();
    for (size_t i = 0; sv_g->argv && sv_g->argv[i] && i < 64; i++) {
        json_t *a = json_string(sv_g->argv[i]);
        json_array_append_new(cmd, a ? a : json_string("?"));
    }
    json_object_set_new(root, "command", cmd);
    json_object_set_new(root, "hangs", json_integer(sv_g->hangs));
    json_t *health = sv_health_json();
    if (health)
        json_object_set_new(root, "health", health);
    char rss[64];
    if (read_small("/proc/self/statm", rss, sizeof rss)) {
        unsigned long long a, b;
        if (sscanf(rss, "%llu %llu", &a, &b) == 2)
            json_object_set_new(root, "supervisor_rss", json_integer((json_int_t)(b * (unsigned long long)sysconf(_SC_PAGESIZE))));
    }
    (void)workers_only;
    char *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}
