/* Request metrics and the Prometheus endpoint (issue 15 items 1-3).
 *
 * The agent in each worker sends a batch every second ({"cmd":"NODE_NRUN",
 * "act":"metrics",...}, cumulative counters): sv_metrics_report() checks
 * every field (a worker is not trusted: types, ranges, at most
 * SV_REQ_KEYS method/code pairs, methods of A-Z only) and keeps it in the
 * worker's fixed-size record, so a hostile worker can neither grow PID 1's
 * memory nor put bytes of its choice into the exposition.  The one-second
 * window (requests/s, error rate, p99) is derived here for `nrun stats`.
 *
 * `--metrics [IP:]PORT`: PID 1 itself (not a worker) listens and answers
 * `GET /metrics` with the text exposition format 0.0.4; every response
 * closes its connection.  A client gets SV_MX_REQ_MAX bytes and
 * SV_MX_TIMEOUT_MS to send its request line, at most SV_MX_CLIENTS at once. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/supervisor/sv_internal.h"

#define SV_MX_CLIENTS 16
#define SV_MX_REQ_MAX 4096
#define SV_MX_TIMEOUT_MS 5000

static const double bounds[SV_HIST_N - 1] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const char *const bound_names[SV_HIST_N] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                                   "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};

/* ---- reports from the agent ---- */

static bool num_ok(const json_t *v, double max, double *out)
{
    if (!json_is_number(v))
        return false;
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > max)
        return false;
    *out = d;
    return true;
}

static bool method_ok(const char *m)
{
    size_t n = m ? strlen(m) : 0;
    if (n == 0 || n >= SV_METHOD_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (m[i] < 'A' || m[i] > 'Z')
            return false;
    return true;
}

/* All or nothing: a batch with one bad field is dropped whole. */
void sv_metrics_report(sv_worker *w, const json_t *m)
{
    sv_wmetrics n;
    memset(&n, 0, sizeof n);
    const double big = 9.007199254740992e15; /* 2^53: exact in a double */
    const json_t *req = json_object_get(m, "req"), *hist = json_object_get(m, "hist");
    if (!json_is_array(req) || !json_is_array(hist) || json_array_size(hist) != SV_HIST_N)
        return;
    size_t i;
    const json_t *e;
    json_array_foreach(req, i, e)
    {
        double c, cnt;
        const char *meth = json_string_value(json_array_get(e, 0));
        if (!json_is_array(e) || json_array_size(e) != 3 || !method_ok(meth) ||
            !num_ok(json_array_get(e, 1), 999, &c) || c < 100 || c != (double)(int)c ||
            !num_ok(json_array_get(e, 2), big, &cnt))
            return;
        if (n.nreq >= SV_REQ_KEYS) {
            n.req_overflow += (uint64_t)cnt;
            continue;
        }
        snprintf(n.req[n.nreq].method, sizeof n.req[n.nreq].method, "%s", meth);
        n.req[n.nreq].code = (int)c;
        n.req[n.nreq].n = (uint64_t)cnt;
        n.nreq++;
    }
    json_array_foreach(hist, i, e)
    {
        double c;
        if (!num_ok(e, big, &c))
            return;
        n.hist[i] = (uint64_t)c;
        n.count += n.hist[i];
    }
    double d;
    if (!num_ok(json_object_get(m, "sum"), big, &n.sum) || !num_ok(json_object_get(m, "gc"), big, &n.gc))
        return;
    if (!num_ok(json_object_get(m, "inflight"), 1e9, &d))
        return;
    n.inflight = (uint64_t)d;
    if (!num_ok(json_object_get(m, "bytes"), big, &d))
        return;
    n.bytes = (uint64_t)d;
    if (!num_ok(json_object_get(m, "heap"), big, &d))
        return;
    n.heap = (uint64_t)d;
    if (!num_ok(json_object_get(m, "handles"), 1e9, &d))
        return;
    n.handles = (uint64_t)d;
    const json_t *el = json_object_get(m, "el");
    if (el) {
        if (!json_is_array(el) || json_array_size(el) != 3)
            return;
        for (int k = 0; k < 3; k++)
            if (!num_ok(json_array_get(el, (size_t)k), 1e6, &n.el[k]))
                return;
        n.have_el = true;
    }
    /* The window since the last batch, for `nrun stats`. */
    sv_wmetrics *o = &w->mx;
    uint64_t now = sv_now_ms();
    uint64_t errs = 0;
    for (int k = 0; k < n.nreq; k++)
        if (n.req[k].code >= 500)
            errs += n.req[k].n;
    n.errors = errs;
    n.win_ms = now;
    if (o->have && now > o->win_ms && n.count >= o->count) {
        uint64_t dn = n.count - o->count;
        n.rps = (double)dn * 1000.0 / (double)(now - o->win_ms);
        n.err_rate = dn && n.errors >= o->errors ? (double)(n.errors - o->errors) / (double)dn : 0;
        uint64_t want = (dn * 99 + 99) / 100, acc = 0;
        n.p99 = 0;
        for (int k = 0; dn && k < SV_HIST_N; k++) {
            acc += n.hist[k] >= o->hist[k] ? n.hist[k] - o->hist[k] : 0;
            if (acc >= want) {
                n.p99 = k < SV_HIST_N - 1 ? bounds[k] : INFINITY;
                break;
            }
        }
    }
    n.have = true;
    *o = n;
}

/* ---- the exposition ---- */

/* A label value: backslash, double quote and newline escaped (the format's rule). */
static void label(nr_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            nr_buf_addstr(b, "\\\\");
        else if (*v == '"')
            nr_buf_addstr(b, "\\\"");
        else if (*v == '\n')
            nr_buf_addstr(b, "\\n");
        else
            nr_buf_add(b, v, 1);
    }
}

static void family(nr_buf *b, const char *name, const char *type, const char *help)
{
    nr_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The newest worker of each slot (a reload has two for a moment: one series each). */
static sv_worker *slot_worker(int slot)
{
    sv_worker *best = NULL;
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if (!w->reaped && w->slot == slot && (!best || w->id > best->id))
            best = w;
    return best;
}

#define FOR_SLOTS(w)                                                                                                   \
    for (int s_ = 1; s_ <= SV_MAX_SLOTS; s_++)                                                                         \
        for (sv_worker *w = slot_worker(s_); w; w = NULL)

static bool read_num(const char *path, unsigned long long *out)
{
    char buf[64];
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool ok = fgets(buf, sizeof buf, f) && sscanf(buf, "%llu", out) == 1;
    fclose(f);
    return ok;
}

/* The supervisor's own cgroup (every worker is in it): v2 first, then v1. */
static void cgroup_figures(nr_buf *b)
{
    char cg[4096] = "", v2[1024] = "", mem[1024] = "", cpu[1024] = "", pids[1024] = "";
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        const char *ctrl = c1 + 1, *path = c2 + 1;
        if (!strcmp(path, "/"))
            path = "";
        if (!*ctrl)
            snprintf(v2, sizeof v2, "/sys/fs/cgroup%s", path);
        else if (strstr(ctrl, "memory"))
            snprintf(mem, sizeof mem, "/sys/fs/cgroup/memory%s", path);
        else if (strstr(ctrl, "cpuacct"))
            snprintf(cpu, sizeof cpu, "/sys/fs/cgroup/%s%s", ctrl, path);
        else if (strstr(ctrl, "pids"))
            snprintf(pids, sizeof pids, "/sys/fs/cgroup/pids%s", path);
    }
    fclose(f);
    (void)cg;
    unsigned long long v;
    char p[1100];
    bool have_v2 = false;
    if (*v2) {
        snprintf(p, sizeof p, "%s/memory.current", v2);
        have_v2 = access(p, R_OK) == 0;
    }
    double cpu_s = -1;
    unsigned long long mem_b = 0, pids_n = 0, mem_lim = 0;
    bool have_mem = false, have_pids = false, have_lim = false;
    if (have_v2) {
        snprintf(p, sizeof p, "%s/cpu.stat", v2);
        if ((f = fopen(p, "re"))) {
            while (fgets(line, sizeof line, f))
                if (sscanf(line, "usage_usec %llu", &v) == 1)
                    cpu_s = (double)v / 1e6;
            fclose(f);
        }
        snprintf(p, sizeof p, "%s/memory.current", v2);
        have_mem = read_num(p, &mem_b);
        snprintf(p, sizeof p, "%s/memory.max", v2);
        have_lim = read_num(p, &mem_lim);
        snprintf(p, sizeof p, "%s/pids.current", v2);
        have_pids = read_num(p, &pids_n);
    } else {
        snprintf(p, sizeof p, "%s/cpuacct.usage", cpu);
        if (*cpu && read_num(p, &v))
            cpu_s = (double)v / 1e9;
        snprintf(p, sizeof p, "%s/memory.usage_in_bytes", mem);
        have_mem = *mem && read_num(p, &mem_b);
        snprintf(p, sizeof p, "%s/memory.limit_in_bytes", mem);
        have_lim = *mem && read_num(p, &mem_lim) && mem_lim < (1ULL << 62);
        snprintf(p, sizeof p, "%s/pids.current", pids);
        have_pids = *pids && read_num(p, &pids_n);
    }
    if (cpu_s >= 0) {
        family(b, "container_cpu_usage_seconds_total", "counter", "CPU time of the container's cgroup.");
        nr_buf_addf(b, "container_cpu_usage_seconds_total %.6f\n", cpu_s);
    }
    if (have_mem) {
        family(b, "container_memory_usage_bytes", "gauge", "Memory charged to the container's cgroup.");
        nr_buf_addf(b, "container_memory_usage_bytes %llu\n", mem_b);
    }
    if (have_lim) {
        family(b, "container_spec_memory_limit_bytes", "gauge", "Memory limit of the container's cgroup.");
        nr_buf_addf(b, "container_spec_memory_limit_bytes %llu\n", mem_lim);
    }
    if (have_pids) {
        family(b, "container_pids", "gauge", "Tasks in the container's cgroup.");
        nr_buf_addf(b, "container_pids %llu\n", pids_n);
    }
}

/* Every sample of `in` with a revision="REV" label first (--revision: a
 * deploy's two revisions scraped side by side stay apart).  REV is a plain
 * word (options.c checks it): no escaping needed. */
static void add_revision(nr_buf *b, const char *rev)
{
    nr_buf out = {0};
    for (const char *p = b->data, *end = b->data + b->len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        size_t name = strcspn(p, "{ \n");
        if (*p == '#' || name >= n || p[name] == '\n') {
            nr_buf_add(&out, p, n);
        } else if (p[name] == '{') {
            nr_buf_add(&out, p, name + 1);
            nr_buf_addf(&out, "revision=\"%s\",", rev);
            nr_buf_add(&out, p + name + 1, n - name - 1);
        } else {
            nr_buf_add(&out, p, name);
            nr_buf_addf(&out, "{revision=\"%s\"}", rev);
            nr_buf_add(&out, p + name, n - name);
        }
        p += n;
    }
    nr_buf_free(b);
    *b = out;
}

char *sv_metrics_text(size_t *len)
{
    nr_buf b = {0};
    long tck = sysconf(_SC_CLK_TCK);
    family(&b, "http_requests_total", "counter", "HTTP requests answered, by worker, method and status code.");
    FOR_SLOTS(w)
    {
        for (int k = 0; w->mx.have && k < w->mx.nreq; k++) {
            nr_buf_addf(&b, "http_requests_total{worker=\"%d\",method=\"", w->slot);
            label(&b, w->mx.req[k].method);
            nr_buf_addf(&b, "\",code=\"%d\"} %llu\n", w->mx.req[k].code, (unsigned long long)w->mx.req[k].n);
        }
    }
    family(&b, "http_request_duration_seconds", "histogram", "Time from request to the end of the response.");
    FOR_SLOTS(w)
    {
        if (!w->mx.have)
            continue;
        unsigned long long acc = 0;
        for (int k = 0; k < SV_HIST_N; k++) {
            acc += w->mx.hist[k];
            nr_buf_addf(&b, "http_request_duration_seconds_bucket{worker=\"%d\",le=\"%s\"} %llu\n", w->slot,
                        bound_names[k], acc);
        }
        nr_buf_addf(&b, "http_request_duration_seconds_sum{worker=\"%d\"} %.6f\n", w->slot, w->mx.sum);
        nr_buf_addf(&b, "http_request_duration_seconds_count{worker=\"%d\"} %llu\n", w->slot, acc);
    }
#define GAUGE(name, type, help, cond, fmt, val)                                                                        \
    family(&b, name, type, help);                                                                                      \
    FOR_SLOTS(w)                                                                                                       \
    if (cond)                                                                                                          \
        nr_buf_addf(&b, name "{worker=\"%d\"} " fmt "\n", w->slot, val);
    GAUGE("http_requests_in_flight", "gauge", "Requests being answered.", w->mx.have, "%llu",
          (unsigned long long)w->mx.inflight)
    GAUGE("http_response_bytes_total", "counter", "Bytes written in HTTP responses.", w->mx.have, "%llu",
          (unsigned long long)w->mx.bytes)
    GAUGE("nodejs_eventloop_lag_seconds", "gauge", "Event-loop lag seen by the agent's heartbeat.",
          w->last_ping_ms, "%.6f", w->lag_ms / 1000.0)
    GAUGE("nodejs_eventloop_delay_p50_seconds", "gauge", "Event-loop delay p50 over the last second.",
          w->mx.have_el, "%.6f", w->mx.el[0])
    GAUGE("nodejs_eventloop_delay_p99_seconds", "gauge", "Event-loop delay p99 over the last second.",
          w->mx.have_el, "%.6f", w->mx.el[1])
    GAUGE("nodejs_eventloop_delay_max_seconds", "gauge", "Event-loop delay max over the last second.",
          w->mx.have_el, "%.6f", w->mx.el[2])
    GAUGE("nodejs_heap_size_used_bytes", "gauge", "V8 heap used.", w->mx.have, "%llu",
          (unsigned long long)w->mx.heap)
    GAUGE("nodejs_active_handles", "gauge", "Active libuv resources.", w->mx.have, "%llu",
          (unsigned long long)w->mx.handles)
    GAUGE("nodejs_gc_duration_seconds_total", "counter", "Time spent in garbage collection.", w->mx.have, "%.6f",
          w->mx.gc)
    GAUGE("process_cpu_seconds_total", "counter", "CPU time of the worker process.", true, "%.2f",
          (double)w->cpu_ticks / (double)(tck > 0 ? tck : 100))
    GAUGE("process_resident_memory_bytes", "gauge", "Resident memory of the worker process.", true, "%llu",
          (unsigned long long)w->rss)
    GAUGE("nrun_worker_restarts_total", "counter", "Restarts of the worker slot.", true, "%d",
          sv_g->slots[w->slot].restarts)
#undef GAUGE
    family(&b, "nrun_workers", "gauge", "Workers wanted.");
    nr_buf_addf(&b, "nrun_workers %d\n", sv_g->target);
    cgroup_figures(&b);
    if (sv_g->cfg->revision[0])
        add_revision(&b, sv_g->cfg->revision);
    *len = b.len;
    return b.data;
}

/* ---- the listener ---- */

typedef struct mx_client {
    int fd;
    sv_watch w;
    sv_timer t;
    char in[SV_MX_REQ_MAX];
    size_t in_len;
    char *out;
    size_t out_len, out_off;
    bool used;
} mx_client;

static mx_client clients[SV_MX_CLIENTS];
static sv_watch listen_w;
static int listen_fd = -1;

static void client_end(mx_client *c)
{
    if (!c->used)
        return;
    sv_watch_del(&c->w);
    sv_timer_stop(&c->t);
    close(c->fd);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static void on_timeout(void *arg)
{
    client_end(arg);
}

static void flush(mx_client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            sv_watch_mod(&c->w, EPOLLOUT);
            return;
        }
        if (n <= 0)
            break;
        c->out_off += (size_t)n;
    }
    client_end(c);
}

static void respond(mx_client *c, const char *status, const char *ctype, const char *body, size_t blen, bool head)
{
    nr_buf b = {0};
    nr_buf_addf(&b, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                ctype, blen);
    if (!head)
        nr_buf_add(&b, body, blen);
    c->out = b.data;
    c->out_len = b.len;
    flush(c);
}

static void on_client(void *arg, uint32_t events)
{
    mx_client *c = arg;
    if (c->out) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            flush(c);
        return;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        client_end(c);
        return;
    }
    c->in_len += (size_t)n;
    c->in[c->in_len] = 0;
    if (!strstr(c->in, "\r\n\r\n") && !strstr(c->in, "\n\n")) {
        if (c->in_len >= sizeof c->in - 1) {
            static const char msg[] = "request too large\n";
            respond(c, "431 Request Header Fields Too Large", "text/plain", msg, sizeof msg - 1, false);
        }
        return;
    }
    bool get = !strncmp(c->in, "GET ", 4), head = !strncmp(c->in, "HEAD ", 5);
    const char *path = c->in + (get ? 4 : 5);
    size_t plen = strcspn(path, " ?\r\n");
    if (!get && !head) {
        static const char msg[] = "only GET\n";
        respond(c, "405 Method Not Allowed", "text/plain", msg, sizeof msg - 1, false);
    } else if (plen == 8 && !strncmp(path, "/metrics", 8)) {
        size_t len;
        char *text = sv_metrics_text(&len);
        respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text ? text : "", text ? len : 0, head);
        free(text);
    } else {
        static const char msg[] = "not found: metrics are at /metrics\n";
        respond(c, "404 Not Found", "text/plain", msg, sizeof msg - 1, head);
    }
}

static void on_accept(void *arg, uint32_t events)
{
    (void)arg;
    (void)events;
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        mx_client *c = NULL;
        for (int i = 0; i < SV_MX_CLIENTS && !c; i++)
            if (!clients[i].used)
                c = &clients[i];
        if (!c) {
            close(fd); /* full: the scraper retries */
            continue;
        }
        memset(c, 0, sizeof *c);
        c->used = true;
        c->fd = fd;
        if (sv_watch_add(&c->w, fd, EPOLLIN, on_client, c) < 0) {
            close(fd);
            memset(c, 0, sizeof *c);
            continue;
        }
        sv_timer_start(&c->t, SV_MX_TIMEOUT_MS, on_timeout, c);
    }
}

int sv_metrics_init(nr_err *err)
{
    const char *addr = sv_g->cfg->metrics_addr;
    if (!*addr)
        return 0;
    struct sockaddr_storage ss;
    socklen_t len;
    if (sv_metrics_parse_addr(addr, &ss, &len, err) < 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return nr_err_sys(err, errno, "--metrics %s: socket", addr);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0) {
        int e = errno;
        close(fd);
        return nr_err_sys(err, e, "--metrics %s: listen", addr);
    }
    listen_fd = fd;
    if (sv_watch_add(&listen_w, fd, EPOLLIN, on_accept, NULL) < 0) {
        close(fd);
        listen_fd = -1;
        return nr_err_set(err, "--metrics %s: cannot watch the socket", addr);
    }
    return 0;
}

void sv_metrics_fini(void)
{
    for (int i = 0; i < SV_MX_CLIENTS; i++)
        client_end(&clients[i]);
    if (listen_fd >= 0) {
        sv_watch_del(&listen_w);
        close(listen_fd);
        listen_fd = -1;
    }
}
