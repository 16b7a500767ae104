/* `nrun dashboard [--listen IP:PORT]`: a web console over the containers of
 * this store: a single-threaded poll() HTTP/1.1 server (cli/http.c parses the
 * heads) serving the embedded page (cli/dashboard/ files) and a JSON API:
 *
 *   GET  /api/containers            every container, with its workers' stats
 *   GET  /api/containers/NAME       one
 *   GET  /api/containers/NAME/logs  ?stream=stdout|stderr&worker=N&q=TEXT&tail=N
 *   POST /api/containers/NAME/{reload,stop,scale,loglevel,dye}   JSON bodies
 *
 * Access: a random token, printed at start.  Every request needs it (?token=
 * once, then an HttpOnly SameSite=Strict cookie, or the X-Nrun-Token header),
 * on loopback too: 127.0.0.1 is every local user's and every process's of the
 * host's network namespace (a RUN step, a --net host container), and the
 * answers are root's (logs, the token itself at /api/session).  On loopback
 * the Host header must also be the listen address (no DNS rebinding).  Every POST needs
 * the token in X-Nrun-Token (a form or fetch from a foreign page cannot set
 * it) and an Origin, when sent, of this server.  Requests are bounded (head
 * 8 KiB, body 16 KiB), at most MAX_CLIENTS at once, each closed after its
 * answer or after REQ_TIMEOUT_MS.  Container data is JSON-encoded here and put
 * into the page as text only. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/embed.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/http.h"
#include "runtime/runtime.h"

enum { MAX_CLIENTS = 32, REQ_TIMEOUT_MS = 10000, LINGER_MS = 2000, STATS_TIMEOUT_MS = 1500, LOG_TAIL_BYTES = 512 * 1024 };

typedef struct client {
    int fd;
    nr_buf in;
    char *out;
    size_t outlen, outoff;
    long long deadline;
    bool draining; /* answered: reading what the client still sends until it closes */
} client;

typedef struct dash {
    nr_global *g;
    char token[33];
    char hostport[80]; /* the listen address as a Host header carries it */
    bool loopback;
    client c[MAX_CLIENTS];
} dash;

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static bool same_secret(const char *a, const char *b)
{
    size_t n = strlen(b);
    unsigned char d = strlen(a) != n;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i < strlen(a) ? i : 0] ^ b[i]);
    return !d;
}

/* ---- responses ---- */

static void respond(client *c, int code, const char *ctype, const char *body, size_t blen, const char *extra)
{
    const char *reason = code == 200 ? "OK" : code == 202 ? "Accepted" : code == 302 ? "Found" : code == 400 ? "Bad Request"
                       : code == 401 ? "Unauthorized" : code == 403 ? "Forbidden" : code == 404 ? "Not Found"
                       : code == 405 ? "Method Not Allowed" : code == 408 ? "Request Timeout" : code == 413 ? "Payload Too Large"
                       : code == 431 ? "Request Header Fields Too Large" : code == 501 ? "Not Implemented"
                       : code == 503 ? "Service Unavailable" : "Error";
    nr_buf b = {0};
    nr_buf_addf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
                    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
                    "Referrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n%s\r\n",
                code, reason, ctype, blen, extra ? extra : "");
    nr_buf_add(&b, body, blen);
    free(c->out);
    c->out = b.data;
    c->outlen = b.len;
    c->outoff = 0;
}

static void respond_json(client *c, int code, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    respond(c, code, "application/json", s ? s : "null", s ? strlen(s) : 4, NULL);
    free(s);
}

static void respond_error(client *c, int code, const char *msg)
{
    respond_json(c, code, json_pack("{s:b,s:s}", "ok", 0, "error", msg));
}

/* ---- data ---- */

static bool valid_ref(const char *s)
{
    if (!*s || strlen(s) > 128 || *s == '.')
        return false;
    for (; *s; s++)
        if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') || strchr("_.-", *s)))
            return false;
    return true;
}

/* One container: its inspect data cut to what the page shows, and when it
 * runs, its supervisor's per-worker stats. */
static json_t *container_json(dash *d, const char *ref, bool *found)
{
    nr_err err = {0};
    json_t *ins = nr_inspect_container(d->g, ref, found, &err);
    if (!ins)
        return NULL;
    json_t *state = json_object_get(ins, "State");
    json_t *health = json_object_get(json_object_get(state, "Health"), "Status");
    const char *name = json_string_value(json_object_get(ins, "Name"));
    const char *status = json_string_value(json_object_get(state, "Status"));
    json_t *labels = json_object_get(json_object_get(ins, "Config"), "Labels");
    json_t *o = json_pack("{s:O,s:s,s:O,s:s,s:O,s:O,s:O}", "Id", json_object_get(ins, "Id"), "Name",
                          name ? (name[0] == '/' ? name + 1 : name) : "", "Image", json_object_get(ins, "ImageName"),
                          "Status", status ? status : "unknown", "Health", health ? health : json_null(), "Labels",
                          labels ? labels : json_object(), "Pid", json_object_get(state, "Pid"));
    json_t *workers = json_array();
    if (status && !strcmp(status, "running")) {
        char *reply = sv_control_call(d->g, json_string_value(json_object_get(ins, "Id")), NULL, "{\"cmd\":\"stats\"}",
                                      STATS_TIMEOUT_MS, &err);
        json_t *r = reply ? json_loads(reply, 0, NULL) : NULL;
        free(reply);
        if (r && json_is_true(json_object_get(r, "ok")) && json_is_array(json_object_get(r, "workers"))) {
            json_decref(workers);
            workers = json_incref(json_object_get(r, "workers"));
            json_t *lvl = json_object_get(r, "log_level");
            if (json_is_string(lvl))
                json_object_set(o, "LogLevel", lvl);
        } else {
            json_object_set_new(o, "StatsError", json_string(err.msg[0] ? err.msg : "bad reply from the supervisor"));
        }
        json_decref(r);
    }
    json_object_set_new(o, "Workers", workers);
    json_decref(ins);
    return o;
}

static json_t *containers_json(dash *d)
{
    char **ids = NULL;
    size_t n = 0;
    nr_err err = {0};
    json_t *a = json_array();
    if (rt_container_list(d->g->root, &ids, &n, &err) < 0)
        return a;
    for (size_t i = 0; i < n; i++) {
        bool found;
        json_t *o = container_json(d, ids[i], &found);
        if (o)
            json_array_append_new(a, o);
        free(ids[i]);
    }
    free(ids);
    return a;
}

/* The last `tail` lines of the container's log that pass the filters. */
static json_t *logs_json(dash *d, const char *id, const char *stream, long worker, const char *q, long tail)
{
    cleanup_free char *path = nr_xasprintf("%s/containers/%s/logs/container.log", d->g->root, id);
    json_t *all = json_array();
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return all;
    struct stat sb;
    off_t from = fstat(fd, &sb) == 0 && sb.st_size > LOG_TAIL_BYTES ? sb.st_size - LOG_TAIL_BYTES : 0;
    char *buf = nr_xmalloc(LOG_TAIL_BYTES + 1);
    ssize_t n = pread(fd, buf, LOG_TAIL_BYTES, from);
    close(fd);
    n = n < 0 ? 0 : n;
    buf[n] = 0;
    char *p = buf;
    if (from > 0 && (p = strchr(buf, '\n')))
        p++; /* a partial first line */
    for (char *nl; p && (nl = strchr(p, '\n')); p = nl + 1) {
        json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
        const char *s = json_string_value(json_object_get(j, "stream"));
        const char *m = json_string_value(json_object_get(j, "msg"));
        if (j && s && m && (!*stream || !strcmp(stream, s)) &&
            (worker < 0 || json_integer_value(json_object_get(j, "worker")) == worker) && (!*q || strstr(m, q)))
            json_array_append(all, j);
        json_decref(j);
    }
    free(buf);
    while ((long)json_array_size(all) > tail)
        json_array_remove(all, 0);
    return all;
}

/* ---- actions ---- */

/* reload and stop take as long as the workers take: run them as `nrun` children. */
static int spawn_self(dash *d, const char *verb, const char *id)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(null, 0), dup2(null, 1), dup2(null, 2);
        char *argv[] = {"nrun", "--root", (char *)d->g->root, (char *)verb, (char *)id, NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    return 0;
}

static void control(dash *d, client *c, const char *id, json_t *req)
{
    nr_err err = {0};
    char *s = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *reply = sv_control_call(d->g, id, NULL, s, 10000, &err);
    free(s);
    json_t *r = reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    if (!r || !json_is_object(r)) {
        json_decref(r);
        respond_error(c, 502, err.msg[0] ? err.msg : "bad reply from the supervisor");
        return;
    }
    respond_json(c, json_is_true(json_object_get(r, "ok")) ? 200 : 400, r);
}

static void action(dash *d, client *c, const char *id, const char *verb, const char *body, size_t blen)
{
    json_t *b = json_loadb(body, blen, 0, NULL);
    if (blen && !json_is_object(b)) {
        json_decref(b);
        return respond_error(c, 400, "the body must be a JSON object");
    }
    if (!strcmp(verb, "reload") || !strcmp(verb, "stop")) {
        json_decref(b);
        if (spawn_self(d, verb, id) < 0)
            return respond_error(c, 503, "fork failed");
        return respond_json(c, 202, json_pack("{s:b,s:s}", "ok", 1, "started", verb));
    }
    if (!strcmp(verb, "scale")) {
        json_int_t n = json_integer_value(json_object_get(b, "workers"));
        json_decref(b);
        if (n < 1 || n > 256)
            return respond_error(c, 400, "workers: expected 1..256");
        return control(d, c, id, json_pack("{s:s,s:I}", "cmd", "scale", "workers", n));
    }
    if (!strcmp(verb, "loglevel")) {
        const char *l = json_string_value(json_object_get(b, "level"));
        if (!l || (strcmp(l, "debug") && strcmp(l, "info") && strcmp(l, "warn") && strcmp(l, "error"))) {
            json_decref(b);
            return respond_error(c, 400, "level: expected debug, info, warn or error");
        }
        json_t *req = json_pack("{s:s,s:s}", "cmd", "loglevel", "level", l);
        json_decref(b);
        return control(d, c, id, req);
    }
    if (!strcmp(verb, "dye")) {
        json_t *req = json_pack("{s:s}", "cmd", "dye");
        if (json_is_true(json_object_get(b, "off"))) {
            json_object_set_new(req, "off", json_true());
        } else if (json_object_get(b, "rules")) {
            json_t *rules = json_array(), *r;
            size_t i;
            json_array_foreach(json_object_get(b, "rules"), i, r)
            {
                const char *t = json_string_value(json_object_get(r, "type"));
                const char *k = json_string_value(json_object_get(r, "key"));
                const char *v = json_string_value(json_object_get(r, "value"));
                if (!t || !v || (strcmp(t, "header") && strcmp(t, "query") && strcmp(t, "cookie") && strcmp(t, "ip"))) {
                    json_decref(rules), json_decref(req), json_decref(b);
                    return respond_error(c, 400, "rules: each needs type (header, query, cookie, ip), key and value");
                }
                json_array_append_new(rules, json_pack("{s:s,s:s,s:s}", "type", t, "key", k ? k : "", "value", v));
            }
            json_object_set_new(req, "rules", rules);
        }
        json_decref(b);
        return control(d, c, id, req);
    }
    json_decref(b);
    respond_error(c, 404, "no such action");
}

/* ---- routing ---- */

static void serve_static(client *c, const char *file, const char *ctype)
{
    size_t len;
    cleanup_free char *name = nr_xasprintf("cli/dashboard/%s", file);
    const char *data = nr_embed_get(name, &len);
    if (!data)
        return respond_error(c, 404, "not found");
    respond(c, 200, ctype, data, len, NULL);
}

static void route(dash *d, client *c, nr_http_req *r, const char *body)
{
    char tok[128] = "";
    bool get = !strcmp(r->method, "GET");
    bool post = !strcmp(r->method, "POST");
    if (!get && !post)
        return respond_error(c, 405, "GET or POST");
    /* DNS rebinding: a name that resolves to us is not our address */
    char local[96];
    snprintf(local, sizeof local, "localhost:%s", strrchr(d->hostport, ':') + 1);
    if (d->loopback && strcmp(r->host, d->hostport) && strcmp(r->host, local))
        return respond_error(c, 403, "Host is not this dashboard's address");
    bool authed = (!nr_http_param(r->cookie, ';', "nrun_token", tok, sizeof tok) && same_secret(tok, d->token)) ||
                  (r->token[0] && same_secret(r->token, d->token));
    if (get && !nr_http_param(r->query, '&', "token", tok, sizeof tok)) {
        if (!same_secret(tok, d->token))
            return respond_error(c, 401, "bad token");
        /* the token once in the address, then a cookie; the address loses it
         * (always to "/": a path of the request could be "//elsewhere") */
        char extra[160];
        snprintf(extra, sizeof extra, "Set-Cookie: nrun_token=%s; Path=/; HttpOnly; SameSite=Strict\r\nLocation: /\r\n",
                 d->token);
        return respond(c, 302, "text/plain", "", 0, extra);
    }
    if (!authed) /* on loopback too: see the top of this file */
        return respond_error(c, 401, "this dashboard needs its token: open the address nrun dashboard printed");
    if (post) {
        char want[300];
        snprintf(want, sizeof want, "http://%s", r->host);
        if (!r->token[0] || !same_secret(r->token, d->token))
            return respond_error(c, 403, "a POST needs the X-Nrun-Token header");
        if (r->origin[0] && strcmp(r->origin, want))
            return respond_error(c, 403, "foreign Origin");
    }
    if (get && !strcmp(r->path, "/"))
        return serve_static(c, "index.html", "text/html; charset=utf-8");
    if (get && !strcmp(r->path, "/app.js"))
        return serve_static(c, "app.js", "text/javascript; charset=utf-8");
    if (get && !strcmp(r->path, "/style.css"))
        return serve_static(c, "style.css", "text/css; charset=utf-8");
    if (get && !strcmp(r->path, "/api/session"))
        return respond_json(c, 200, json_pack("{s:s}", "token", d->token));
    if (get && !strcmp(r->path, "/api/containers"))
        return respond_json(c, 200, containers_json(d));
    const char *pre = "/api/containers/";
    if (strncmp(r->path, pre, strlen(pre)))
        return respond_error(c, 404, "not found");
    char ref[130];
    const char *rest = r->path + strlen(pre), *slash = strchr(rest, '/');
    size_t rn = slash ? (size_t)(slash - rest) : strlen(rest);
    if (rn >= sizeof ref)
        return respond_error(c, 404, "no such container");
    memcpy(ref, rest, rn);
    ref[rn] = 0;
    char id[65];
    nr_err err = {0};
    if (!valid_ref(ref) || rt_container_find(d->g->root, ref, id, &err) < 0)
        return respond_error(c, 404, "no such container");
    if (get && !slash) {
        bool found;
        json_t *o = container_json(d, id, &found);
        return o ? respond_json(c, 200, o) : respond_error(c, 404, "no such container");
    }
    if (get && slash && !strcmp(slash, "/logs")) {
        char stream[16] = "", q[256] = "", num[16];
        long worker = -1, tail = 200;
        nr_http_param(r->query, '&', "stream", stream, sizeof stream);
        nr_http_param(r->query, '&', "q", q, sizeof q);
        if (!nr_http_param(r->query, '&', "worker", num, sizeof num) && *num)
            worker = strtol(num, NULL, 10);
        if (!nr_http_param(r->query, '&', "tail", num, sizeof num))
            tail = strtol(num, NULL, 10);
        tail = tail < 1 ? 1 : tail > 2000 ? 2000 : tail;
        return respond_json(c, 200, logs_json(d, id, stream, worker, q, tail));
    }
    if (post && slash)
        return action(d, c, id, slash + 1, body, (size_t)(r->content_length > 0 ? r->content_length : 0));
    respond_error(c, 404, "not found");
}

/* ---- the server ---- */

static void client_close(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    nr_buf_free(&c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static void client_read(dash *d, client *c)
{
    char buf[4096];
    ssize_t k = recv(c->fd, buf, sizeof buf, 0);
    if (k < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (k <= 0)
        return client_close(c);
    nr_buf_add(&c->in, buf, (size_t)k);
    nr_http_req *r = nr_xmalloc(sizeof *r);
    int h = nr_http_parse(c->in.data, c->in.len, r);
    if (h < 0) {
        respond_error(c, -h, h == -431 ? "request head too large" : h == -413 ? "body too large" : "bad request");
    } else if (h > 0) {
        size_t blen = r->content_length > 0 ? (size_t)r->content_length : 0;
        if (c->in.len >= (size_t)h + blen) {
            char *body = nr_xstrndup(c->in.data + h, blen);
            route(d, c, r, body);
            free(body);
        }
    }
    free(r);
}

/* After the answer, read what the client still sends (a head cut at the
 * bound) until it closes: closing with unread input would reset the
 * connection and could lose the answer on its way (apache's lingering close). */
static void client_drain(client *c)
{
    char buf[4096];
    ssize_t k = recv(c->fd, buf, sizeof buf, 0);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
        client_close(c);
}

static void client_write(client *c)
{
    ssize_t k = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (k < 0)
        return client_close(c);
    c->outoff += (size_t)k;
    if (c->outoff == c->outlen) {
        shutdown(c->fd, SHUT_WR);
        c->draining = true;
        long long end = now_ms() + LINGER_MS;
        c->deadline = c->deadline < end ? c->deadline : end;
    }
}

static int listen_on(const char *spec, dash *d, nr_global *g)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host)
        return nr_usage_error(g, "dashboard: --listen %s: expected IP:PORT", spec), -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (*end || end == colon + 1 || port < 0 || port > 65535 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return nr_usage_error(g, "dashboard: --listen %s: expected IPv4:PORT (0 picks a free port)", spec), -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t sl = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &sl) < 0) {
        fprintf(stderr, "%s: dashboard: listen %s: %s\n", g->prog, spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    d->loopback = (ntohl(a.sin_addr.s_addr) >> 24) == 127;
    snprintf(d->hostport, sizeof d->hostport, "%s:%u", host, ntohs(a.sin_port));
    return fd;
}

int nr_cmd_dashboard(int argc, char **argv, nr_global *g)
{
    enum { O_LISTEN = NR_OPT_LONG };
    static const nr_opt opts[] = {
        {"listen", O_LISTEN, required_argument, "IP:PORT", "address to serve on (default 127.0.0.1:9740; port 0: any free one)"},
        {0},
    };
    static const nr_cmdspec spec = {"dashboard [OPTIONS]", "A web console: containers, their workers' live stats, logs "
                                    "and actions (reload, scale, stop, log level, dye).", opts, false};
    const char *listen_spec = "127.0.0.1:9740";
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == O_LISTEN)
            listen_spec = optarg;
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    if (optind < argc)
        return nr_usage_error(g, "dashboard: unexpected argument %s", argv[optind]);
    static dash d;
    d.g = g;
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
        fprintf(stderr, "%s: dashboard: getrandom: %s\n", g->prog, strerror(errno));
        return NR_EXIT_FAIL;
    }
    for (int i = 0; i < 16; i++)
        snprintf(d.token + 2 * i, 3, "%02x", rnd[i]);
    int lfd = listen_on(listen_spec, &d, g);
    if (lfd < 0)
        return NR_EXIT_USAGE;
    for (int i = 0; i < MAX_CLIENTS; i++)
        d.c[i].fd = -1;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("nrun dashboard: http://%s/?token=%s\n", d.hostport, d.token);
    fflush(stdout);
    while (!stopping) {
        struct pollfd pf[MAX_CLIENTS + 1];
        int map[MAX_CLIENTS + 1], n = 0, nopen = 0;
        long long now = now_ms();
        for (int i = 0; i < MAX_CLIENTS; i++) {
            client *cl = &d.c[i];
            if (cl->fd < 0)
                continue;
            if (now > cl->deadline) {
                client_close(cl); /* too slow: its place is for others */
                continue;
            }
            nopen++;
            pf[n] = (struct pollfd){.fd = cl->fd, .events = cl->out && !cl->draining ? POLLOUT : POLLIN};
            map[n++] = i;
        }
        if (nopen < MAX_CLIENTS) /* full: new connections wait in the backlog */
            pf[n] = (struct pollfd){.fd = lfd, .events = POLLIN}, map[n++] = -1;
        int r = poll(pf, (nfds_t)n, 500);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ; /* the reload/stop children */
        if (r <= 0)
            continue;
        for (int k = 0; k < n; k++) {
            if (!pf[k].revents)
                continue;
            if (map[k] < 0) {
                int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                for (int i = 0; cfd >= 0 && i < MAX_CLIENTS; i++)
                    if (d.c[i].fd < 0) {
                        d.c[i].fd = cfd, cfd = -1;
                        d.c[i].deadline = now_ms() + REQ_TIMEOUT_MS;
                    }
                if (cfd >= 0)
                    close(cfd);
                continue;
            }
            client *cl = &d.c[map[k]];
            if (cl->draining)
                client_drain(cl);
            else if (cl->out)
                client_write(cl);
            else
                client_read(&d, cl);
            if (cl->fd >= 0 && cl->out && !cl->draining && cl->outoff == 0)
                client_write(cl);
        }
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (d.c[i].fd >= 0)
            client_close(&d.c[i]);
    close(lfd);
    return 0;
}
