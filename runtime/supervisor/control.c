/* The control socket: AF_UNIX stream, one JSON request per line, one JSON
 * reply per line.  Only root may talk to it (SO_PEERCRED uid 0; the socket
 * is also 0600 in a root-only directory).  Requests:
 *   {"cmd":"stats"} / {"cmd":"ps"}      -> the worker table
 *   {"cmd":"reload"}                    -> reply when the rolling reload ends
 *   {"cmd":"scale","workers":N}         -> change the worker count live
 *   {"cmd":"stop"}                      -> graceful stop (as SIGTERM)
 *   {"cmd":"health"}                    -> {"ok":true,"health":{Status,FailingStreak,Log}} (health.c)
 *   {"cmd":"loglevel","level":"warn"}   -> the workers' console level, now and for later workers
 *   {"cmd":"dye",...}                   -> request dyeing rules (dye.c) */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/supervisor/sv_internal.h"

typedef struct sv_ctl_client {
    int fd;
    sv_watch w;
    nr_buf in;
    bool dead;
    struct sv_ctl_client *next;
} sv_ctl_client;

static void client_close(sv_ctl_client *c)
{
    if (c->dead)
        return;
    c->dead = true;
    sv_watch_del(&c->w);
    close(c->fd);
    c->fd = -1;
    if (sv_g->reload_client == c)
        sv_g->reload_client = NULL;
    /* Freed with the process: a dead client is a few bytes, and a pending event may name it. */
    nr_buf_free(&c->in);
}

void sv_control_reply(sv_ctl_client *c, const char *json)
{
    if (!c || c->dead)
        return;
    size_t n = strlen(json);
    char *line = nr_xmalloc(n + 1);
    memcpy(line, json, n);
    line[n] = '\n';
    if (send(c->fd, line, n + 1, MSG_NOSIGNAL) != (ssize_t)(n + 1))
        client_close(c);
    free(line);
}

static void handle(sv_ctl_client *c, const char *line, size_t len)
{
    json_t *req = json_loadb(line, len, 0, NULL);
    const char *cmd = req ? json_string_value(json_object_get(req, "cmd")) : NULL;
    if (!cmd) {
        sv_control_reply(c, "{\"ok\":false,\"error\":\"bad request: expected {\\\"cmd\\\":...}\"}");
    } else if (!strcmp(cmd, "stats") || !strcmp(cmd, "ps")) {
        char *s = sv_stats_json(!strcmp(cmd, "ps"));
        sv_control_reply(c, s ? s : "{\"ok\":false}");
        free(s);
    } else if (!strcmp(cmd, "reload")) {
        sv_reload_start(c);
    } else if (!strcmp(cmd, "scale")) {
        json_t *n = json_object_get(req, "workers");
        if (!sv_g->cluster)
            sv_control_reply(c, "{\"ok\":false,\"error\":\"scale needs cluster mode (a node command)\"}");
        else if (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > SV_MAX_SLOTS)
            sv_control_reply(c, "{\"ok\":false,\"error\":\"workers must be an integer from 1 to 256\"}");
        else if (sv_g->stopping)
            sv_control_reply(c, "{\"ok\":false,\"error\":\"stopping\"}");
        else {
            sv_scale((int)json_integer_value(n));
            sv_control_reply(c, "{\"ok\":true}");
        }
    } else if (!strcmp(cmd, "health")) {
        json_t *h = sv_health_json();
        json_t *r = json_pack("{s:b,s:o}", "ok", 1, "health", h ? h : json_null());
        char *text = json_dumps(r, JSON_COMPACT);
        json_decref(r);
        sv_control_reply(c, text ? text : "{\"ok\":false}");
        free(text);
    } else if (!strcmp(cmd, "loglevel")) {
        const char *l = json_string_value(json_object_get(req, "level"));
        if (!sv_log_level_valid(l)) {
            sv_control_reply(c, "{\"ok\":false,\"error\":\"level must be debug, info, warn or error\"}");
        } else if (!sv_g->cluster || !sv_g->agent_path) {
            sv_control_reply(c, "{\"ok\":false,\"error\":\"the log level needs cluster mode with the agent (a node command)\"}");
        } else {
            sv_loglevel_set(l);
            sv_control_reply(c, "{\"ok\":true}");
        }
    } else if (!strcmp(cmd, "dye")) {
        char *s = sv_dye_control(req);
        sv_control_reply(c, s ? s : "{\"ok\":false}");
        free(s);
    } else if (!strcmp(cmd, "stop")) {
        sv_control_reply(c, "{\"ok\":true}");
        sv_begin_stop(0);
    } else {
        sv_control_reply(c, "{\"ok\":false,\"error\":\"unknown command\"}");
    }
    json_decref(req);
}

static void on_client(void *arg, uint32_t events)
{
    sv_ctl_client *c = arg;
    char buf[4096];
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        client_close(c);
        return;
    }
    nr_buf_add(&c->in, buf, (size_t)n);
    if (c->in.len > 65536) {
        sv_control_reply(c, "{\"ok\":false,\"error\":\"request too long\"}");
        client_close(c);
        return;
    }
    char *nl;
    while (!c->dead && (nl = memchr(c->in.data, '\n', c->in.len))) {
        size_t len = (size_t)(nl - c->in.data);
        handle(c, c->in.data, len);
        if (c->dead)
            return;
        memmove(c->in.data, nl + 1, c->in.len - len - 1);
        c->in.len -= len + 1;
    }
}

static void on_accept(void *arg, uint32_t events)
{
    int fd = accept4(sv_g->ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0) {
        static const char msg[] = "{\"ok\":false,\"error\":\"permission denied: root only\"}\n";
        (void)!send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(fd);
        return;
    }
    sv_ctl_client *c = nr_xcalloc(1, sizeof *c);
    c->fd = fd;
    if (sv_watch_add(&c->w, fd, EPOLLIN, on_client, c) < 0) {
        close(fd);
        free(c);
        return;
    }
    c->next = sv_g->clients;
    sv_g->clients = c;
}

int sv_control_init(int fd)
{
    sv_g->ctl_fd = fd;
    return sv_watch_add(&sv_g->ctl_w, fd, EPOLLIN, on_accept, NULL);
}

void sv_control_client_gone(sv_ctl_client *c)
{
    client_close(c);
}

void sv_control_fini(void)
{
    if (sv_g->reload_client)
        sv_control_reply(sv_g->reload_client, "{\"ok\":false,\"error\":\"the container stopped\"}");
    for (sv_ctl_client *c = sv_g->clients; c;) {
        sv_ctl_client *n = c->next;
        client_close(c);
        free(c);
        c = n;
    }
    sv_g->clients = NULL;
    if (sv_g->ctl_fd >= 0)
        sv_watch_del(&sv_g->ctl_w);
}

void sv_loglevel_set(const char *level)
{
    snprintf(sv_g->log_level, sizeof sv_g->log_level, "%s", level);
    char msg[96];
    snprintf(msg, sizeof msg, "{\"cmd\":\"NODE_NRUN\",\"act\":\"loglevel\",\"level\":\"%s\"}", sv_g->log_level);
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if (!w->reaped && w->cluster && w->ipc_fd >= 0)
            sv_ipc_send(w, msg);
    sv_log_sys("log level: %s", sv_g->log_level);
}
