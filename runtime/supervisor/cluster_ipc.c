/* Node's cluster protocol, master side, on the worker's NODE_CHANNEL_FD
 * (JSON serialization: one JSON value per line).  What we speak is what
 * lib/internal/cluster/{child,primary}.js speak in round-robin mode:
 *   worker: {"cmd":"NODE_CLUSTER","act":"online"|"queryServer"|"listening"|"close"|...,"seq":n}
 *   master: {"cmd":"NODE_CLUSTER","ack":n,"key":..,"sockname":..}   (no fd: round-robin)
 *   master: {"cmd":"NODE_HANDLE","type":"net.Native","msg":{..."act":"newconn","key":..,"seq":m}} + SCM_RIGHTS
 *   worker: {"cmd":"NODE_HANDLE_ACK"} then {"cmd":"NODE_CLUSTER","ack":m,"accepted":bool}
 *   master: {"cmd":"NODE_CLUSTER","act":"disconnect"}  -> the worker closes its servers and the channel
 * plus our agent's messages, {"cmd":"NODE_NRUN",...}: a NODE_ prefix makes Node
 * deliver them as internal messages, so the app never sees them. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/supervisor/sv_internal.h"

/* A worker that does not read what PID 1 answers is not read either while
 * SV_IPC_OUT_MAX waits for it: each request adds an answer, and the answers
 * would grow PID 1 without end. */
static bool out_full(const sv_worker *w)
{
    return w->ipc_out.len - w->ipc_out_off > SV_IPC_OUT_MAX;
}

static void want_out(sv_worker *w, bool on)
{
    if (w->ipc_fd >= 0)
        sv_watch_mod(&w->ipc_w, (out_full(w) ? 0 : EPOLLIN) | (on ? EPOLLOUT : 0));
}

static void flush_out(sv_worker *w)
{
    while (w->ipc_out_off < w->ipc_out.len) {
        ssize_t n = send(w->ipc_fd, w->ipc_out.data + w->ipc_out_off, w->ipc_out.len - w->ipc_out_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                want_out(w, true);
                return;
            }
            w->ipc_out_off = w->ipc_out.len; /* peer gone: EOF handling follows */
            break;
        }
        w->ipc_out_off += (size_t)n;
    }
    w->ipc_out.len = w->ipc_out_off = 0;
    want_out(w, false);
    sv_balance_rearm();
}

int sv_ipc_send(sv_worker *w, const char *json)
{
    if (w->ipc_fd < 0 || w->ipc_eof)
        return -1;
    nr_buf_addstr(&w->ipc_out, json);
    nr_buf_add(&w->ipc_out, "\n", 1);
    flush_out(w);
    return 0;
}

/* One message with one fd, in one sendmsg: Node takes the fd that arrives
 * with the read ending in the NODE_HANDLE line.  The message is small, so the
 * kernel takes it whole or not at all (EAGAIN: the caller tries another worker). */
int sv_ipc_send_fd(sv_worker *w, const char *json, size_t len, int fd)
{
    if (w->ipc_fd < 0 || w->ipc_eof || w->ipc_out.len > w->ipc_out_off)
        return -1;
    struct iovec iov = {.iov_base = (void *)json, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n;
    do
        n = sendmsg(w->ipc_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    if ((size_t)n < len) {
        /* Cannot happen for a message this small; keep the stream well-formed anyway. */
        nr_buf_add(&w->ipc_out, json + n, len - (size_t)n);
        flush_out(w);
    }
    return 0;
}

void sv_ipc_close(sv_worker *w)
{
    if (w->ipc_fd < 0)
        return;
    sv_watch_del(&w->ipc_w);
    close(w->ipc_fd);
    w->ipc_fd = -1;
    w->ipc_eof = true;
}

static void reply_json(sv_worker *w, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        sv_ipc_send(w, s);
        free(s);
    }
    json_decref(o);
}

/* A worker's dgram bind (cluster mode): Node's primary answers it with a
 * shared handle, one socket it binds and sends to every worker that asks;
 * so do we, as NODE_HANDLE "dgram.Native" with the fd.  r: the reply so far. */
static void udp_shared(sv_worker *w, json_t *m, json_t *r, const char *address, int port, bool v6, int index)
{
    int flags = (int)json_integer_value(json_object_get(m, "flags"));
    /* Node's key: the index tells a worker's second bind of one address
     * from its first, and the same bind of every worker shares one socket */
    char *key = nr_xasprintf("%s:%d:udp%d:-1:%d", address ? address : "", port, v6 ? 6 : 4, index);
    json_object_set_new(r, "key", json_string(key));
    nr_err err = {0};
    sv_listener *l = sv_udp_get(key, address, port, v6, flags, &err);
    if (!l) {
        sv_log_sys("worker %d: bind %s: %s", w->slot, key, err.msg);
        json_object_set_new(r, "errno", json_integer(-(err.errnum ? err.errnum : 22)));
        reply_json(w, r);
        free(key);
        return;
    }
    if (w->ipc_out.len > w->ipc_out_off)
        flush_out(w);
    json_t *h = json_pack("{s:s, s:s, s:o}", "cmd", "NODE_HANDLE", "type", "dgram.Native", "msg", r);
    char *s = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    nr_buf line = {0};
    nr_buf_addstr(&line, s ? s : "");
    nr_buf_add(&line, "\n", 1);
    free(s);
    if (sv_ipc_send_fd(w, line.data, line.len, l->fd) == 0) {
        w->udp[w->nudp++] = l;
        l->holders++;
    } else {
        /* the channel is backed up or gone: the worker's bind fails with
         * EAGAIN, and a socket bound for it alone is let go (held by none,
         * it would stay open for good and count against the cap) */
        if (!l->holders) {
            l->holders = 1;
            sv_udp_release(l);
        }
        json_t *e = json_pack("{s:s, s:s, s:i, s:n}", "cmd", "NODE_CLUSTER", "key", key, "errno", -11, "data");
        json_t *seq = json_object_get(m, "seq");
        json_object_set(e, "ack", seq ? seq : json_null());
        reply_json(w, e);
    }
    nr_buf_free(&line);
    free(key);
}

static void query_server(sv_worker *w, json_t *m)
{
    /* Stopping: no listener any more.  No reply: the worker, already told to
     * disconnect, ends cleanly instead of failing its listen(). */
    if (sv_g->stopping)
        return;
    json_t *seq = json_object_get(m, "seq");
    json_t *addr = json_object_get(m, "address");
    json_t *at = json_object_get(m, "addressType");
    json_t *fdv = json_object_get(m, "fd");
    int index = (int)json_integer_value(json_object_get(m, "index"));
    int port = (int)json_integer_value(json_object_get(m, "port"));
    const char *address = json_is_string(addr) ? json_string_value(addr) : NULL;
    int type = json_is_integer(at) ? (int)json_integer_value(at) : 0;
    char fdbuf[32] = "";
    if (json_is_integer(fdv))
        snprintf(fdbuf, sizeof fdbuf, "%lld", (long long)json_integer_value(fdv));
    json_t *r = json_pack("{s:s,s:O}", "cmd", "NODE_CLUSTER", "ack", seq ? seq : json_null());
    json_object_set_new(r, "data", json_null());
    nr_err err = {0};
    sv_listener *l = NULL;
    const char *ats = json_string_value(at);
    bool udp = ats && (!strcmp(ats, "udp4") || !strcmp(ats, "udp6"));
    if (udp && (!json_is_integer(fdv) || json_integer_value(fdv) == -1)) {
        if (w->nudp < SV_MAX_UDP) {
            udp_shared(w, m, r, address, port, !strcmp(ats, "udp6"), index);
        } else {
            json_object_set_new(r, "errno", json_integer(-24 /* EMFILE */));
            reply_json(w, r);
        }
        return;
    }
    char *key = nr_xasprintf("%s:%d:%d:%s", address ? address : "", port, type, fdbuf);
    if (json_is_string(at) || json_is_integer(fdv) || (type != 4 && type != 6 && type != -1 && type != 0)) {
        /* listen({fd}) (a socket the worker has) would need its fd: not served */
        json_object_set_new(r, "errno", json_integer(-95 /* EOPNOTSUPP */));
    } else if (w->nsubs >= SV_MAX_KEYS) {
        json_object_set_new(r, "errno", json_integer(-24 /* EMFILE */));
    } else if (!(l = sv_listener_get(key, address, port, type, &err))) {
        sv_log_sys("worker %d: listen %s: %s", w->slot, key, err.msg);
        json_object_set_new(r, "errno", json_integer(-(err.errnum ? err.errnum : 22)));
    }
    char *wkey = nr_xasprintf("%s:%d", key, index);
    json_object_set_new(r, "key", json_string(wkey));
    if (l && l->sockname[0]) {
        json_t *sn = json_loads(l->sockname, 0, NULL);
        if (sn)
            json_object_set_new(r, "sockname", sn);
    }
    reply_json(w, r);
    if (l) {
        w->subs[w->nsubs].lis = l;
        w->subs[w->nsubs].index = index;
        w->nsubs++;
        sv_balance_worker_up(w, l);
    }
    free(key);
    free(wkey);
}

static void unsubscribe(sv_worker *w, const char *wkey)
{
    for (int i = 0; i < w->nsubs; i++) {
        char buf[600];
        snprintf(buf, sizeof buf, "%s:%d", w->subs[i].lis->key, w->subs[i].index);
        if (!strcmp(buf, wkey)) {
            w->subs[i] = w->subs[--w->nsubs];
            return;
        }
    }
}

/* a worker closed its dgram socket of `key` (Node's shared handle close) */
static void udp_let_go(sv_worker *w, const char *key)
{
    for (int i = 0; i < w->nudp; i++)
        if (!strcmp(w->udp[i]->key, key)) {
            sv_listener *l = w->udp[i];
            w->udp[i] = w->udp[--w->nudp];
            sv_udp_release(l);
            return;
        }
}

/* "<prefix><digits>" at the start of line: the number, else -1. */
static long long prefixed_number(const char *line, size_t len, const char *prefix, size_t plen, size_t *end)
{
    if (len <= plen || memcmp(line, prefix, plen))
        return -1;
    long long v = 0;
    size_t i = plen;
    for (; i < len && i < plen + 18 && line[i] >= '0' && line[i] <= '9'; i++)
        v = v * 10 + (line[i] - '0');
    if (i == plen)
        return -1;
    *end = i;
    return v;
}

/* The messages that come once per connection, in the exact form Node's
 * cluster child and our agent write them, are recognised without the JSON
 * parser; anything else takes the general path below. */
static bool fast_path(sv_worker *w, const char *line, size_t len)
{
    static const char hack[] = "{\"cmd\":\"NODE_HANDLE_ACK\"}";
    static const char ack[] = "{\"cmd\":\"NODE_CLUSTER\",\"ack\":";
    static const char conn[] = "{\"cmd\":\"NODE_NRUN\",\"act\":\"conn\",\"closed\":";
    static const char yes[] = ",\"accepted\":true,", no[] = ",\"accepted\":false,";
    size_t e;
    long long v;
    if (len == sizeof hack - 1 && !memcmp(line, hack, len))
        return true;
    if ((v = prefixed_number(line, len, ack, sizeof ack - 1, &e)) >= 0) {
        bool t = len - e >= sizeof yes - 1 && !memcmp(line + e, yes, sizeof yes - 1);
        bool f = len - e >= sizeof no - 1 && !memcmp(line + e, no, sizeof no - 1);
        if (!t && !f)
            return false;
        sv_balance_on_ack(w, (uint32_t)v, t);
        return true;
    }
    if ((v = prefixed_number(line, len, conn, sizeof conn - 1, &e)) >= 0 && line[e] == '}') {
        w->closed = (uint64_t)v;
        if (w->state == SV_W_DRAINING)
            sv_drain_check(w);
        return true;
    }
    return false;
}

static void on_message(sv_worker *w, const char *line, size_t len)
{
    w->heard = true;
    if (fast_path(w, line, len))
        return;
    /* Everything PID 1 reads here (cluster protocol, 'ready', the agent's
     * reports) is small; a bigger line is the app's own message or a forgery,
     * and parsing it would cost PID 1 ten times its size in memory. */
    if (len > SV_IPC_PARSE_MAX)
        return;
    json_t *m = json_loadb(line, len, JSON_DECODE_ANY, NULL);
    if (!m)
        return;
    if (json_is_string(m)) {
        if (!strcmp(json_string_value(m), "ready")) {
            w->ready = true;
            if (sv_g->cfg->wait_ready)
                sv_worker_now_up(w);
        }
        json_decref(m);
        return;
    }
    const char *cmd = json_string_value(json_object_get(m, "cmd"));
    const char *act = json_string_value(json_object_get(m, "act"));
    if (!cmd) {
        /* process.send({...}) from the app: 'ready' may come as an object too. */
        json_decref(m);
        return;
    }
    if (!strcmp(cmd, "NODE_CLUSTER")) {
        json_t *ack = json_object_get(m, "ack");
        if (json_is_integer(ack)) {
            sv_balance_on_ack(w, (uint32_t)json_integer_value(ack), json_is_true(json_object_get(m, "accepted")));
        } else if (!act) {
        } else if (!strcmp(act, "queryServer")) {
            query_server(w, m);
        } else if (!strcmp(act, "listening")) {
            w->listened = true;
            if (!sv_g->cfg->wait_ready)
                sv_worker_now_up(w);
            else
                sv_wait_ready_arm(w);
        } else if (!strcmp(act, "close")) {
            const char *key = json_string_value(json_object_get(m, "key"));
            if (key) {
                unsubscribe(w, key);
                udp_let_go(w, key);
            }
        } else if (!strcmp(act, "exitedAfterDisconnect")) {
            json_t *r = json_pack("{s:s,s:O}", "cmd", "NODE_CLUSTER", "ack", json_object_get(m, "seq"));
            if (r)
                reply_json(w, r);
        }
    } else if (!strcmp(cmd, "NODE_NRUN") && act) {
        if (!strcmp(act, "conn")) {
            w->closed = (uint64_t)json_integer_value(json_object_get(m, "closed"));
            if (w->state == SV_W_DRAINING)
                sv_drain_check(w);
        } else if (!strcmp(act, "ping")) {
            if (!w->last_ping_ms)
                sv_dye_worker_heard(w); /* a worker started after `nrun dye` */
            w->last_ping_ms = sv_now_ms();
            w->lag_ms = json_number_value(json_object_get(m, "lag"));
            json_t *c = json_object_get(m, "closed");
            if (json_is_integer(c))
                w->closed = (uint64_t)json_integer_value(c);
        } else if (!strcmp(act, "metrics")) {
            sv_metrics_report(w, m);
        } else if (!strcmp(act, "dye")) {
            sv_dye_record(w, m);
        }
    }
    json_decref(m);
}

static void channel_lost(void *arg)
{
    sv_worker *w = arg;
    if (w->reaped || w->state == SV_W_DRAINING || w->state == SV_W_STOPPING)
        return;
    sv_log_sys("worker %d (pid %d) closed its cluster channel and still runs: stopping it", w->slot, (int)w->pid);
    sv_worker_terminate(w); /* its exit is a crash: restarted with backoff */
}

static void on_eof(sv_worker *w)
{
    sv_ipc_close(w);
    sv_balance_worker_gone(w);
    if (w->state == SV_W_DRAINING) {
        /* disconnect finished: its servers are closed, its connections ended. */
        sv_drain_check(w);
    } else if (w->listened && !sv_g->stopping && (w->state == SV_W_UP || w->state == SV_W_STARTING)) {
        /* A server worker without its channel gets no connection any more.
         * Usually it is exiting; if it is not, end it so the slot restarts. */
        sv_timer_start(&w->drain_t, 2000, channel_lost, w);
    }
}

void sv_ipc_on_event(void *arg, uint32_t events)
{
    sv_worker *w = arg;
    if (events & EPOLLOUT)
        flush_out(w);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || w->ipc_fd < 0)
        return;
    char buf[65536];
    for (int rounds = 0; rounds < 4 && (!out_full(w) || (events & (EPOLLHUP | EPOLLERR))); rounds++) {
        ssize_t n = recv(w->ipc_fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            on_eof(w);
            return;
        }
        const char *in = buf;
        size_t inlen = (size_t)n;
        if (w->ipc_skip) {
            /* the rest of a line too long to parse: dropped as it comes, never buffered */
            const char *nl = memchr(buf, '\n', (size_t)n);
            if (!nl)
                continue;
            w->ipc_skip = false;
            in = nl + 1;
            inlen = (size_t)(buf + n - in);
        }
        nr_buf_add(&w->ipc_in, in, inlen);
        size_t start = 0;
        for (;;) {
            char *nl = memchr(w->ipc_in.data + start, '\n', w->ipc_in.len - start);
            if (!nl)
                break;
            size_t len = (size_t)(nl - (w->ipc_in.data + start));
            on_message(w, w->ipc_in.data + start, len);
            if (w->ipc_fd < 0)
                return;
            start += len + 1;
        }
        if (start) {
            memmove(w->ipc_in.data, w->ipc_in.data + start, w->ipc_in.len - start);
            w->ipc_in.len -= start;
        }
        if (w->ipc_in.len > SV_IPC_PARSE_MAX) {
            /* a line PID 1 would not parse anyway (on_message): skip to its end */
            w->ipc_in.len = 0;
            w->ipc_skip = true;
        }
        if ((size_t)n < sizeof buf)
            return;
    }
}
