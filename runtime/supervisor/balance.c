/* Listening sockets and connection hand-off.  The master accepts and hands
 * each connection to a worker (round-robin or least open connections).  It
 * keeps its own copy of the fd until the worker acks: a refused connection
 * (accepted:false) or one handed to a worker that died before acking goes to
 * another worker, as Node's RoundRobinHandle does.  A worker is routable
 * only while its channel takes writes, its un-acked hand-offs are under
 * SV_INFLIGHT_MAX and none is older than SV_ACK_LATE_MS, so a hung (or
 * long-blocked) worker stops receiving connections at once.
 * With no routable worker the listener is disarmed and the kernel's backlog
 * holds new connections. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/supervisor/sv_internal.h"

static void on_accept(void *arg, uint32_t events);

static bool acks_late(const sv_worker *w)
{
    if (!w->ninflight)
        return false;
    uint64_t oldest = UINT64_MAX;
    for (int i = 0; i < w->ninflight; i++)
        if (w->inflight[i].sent_ms < oldest)
            oldest = w->inflight[i].sent_ms;
    return sv_now_ms() - oldest > SV_ACK_LATE_MS;
}

bool sv_worker_routable(const sv_worker *w)
{
    return (w->state == SV_W_UP || w->state == SV_W_STARTING) && w->ipc_fd >= 0 && !w->ipc_eof &&
           w->ninflight < SV_INFLIGHT_MAX && w->ipc_out.len == w->ipc_out_off && w->nsubs > 0 && !acks_late(w);
}

uint64_t sv_worker_open_conns(const sv_worker *w)
{
    return w->handed > w->closed ? w->handed - w->closed : 0;
}

static bool subscribed(const sv_worker *w, const sv_listener *l, int *index)
{
    for (int i = 0; i < w->nsubs; i++)
        if (w->subs[i].lis == l) {
            *index = w->subs[i].index;
            return true;
        }
    return false;
}

/* The address the worker's server reports.  For a port nrun published, the
 * socket is bound on the host to another port: the worker still sees the port
 * it asked for (Node checks that the two match and fails with EADDRINUSE). */
static void sockname_json(sv_listener *l)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "";
    l->sockname[0] = 0;
    if (getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        if (l->port <= 0)
            l->port = ntohs(a->sin_port);
        snprintf(l->sockname, sizeof l->sockname, "{\"address\":\"%s\",\"family\":\"IPv4\",\"port\":%d}", host, l->port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 a;
        memcpy(&a, &ss, sizeof a);
        inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
        if (l->port <= 0)
            l->port = ntohs(a.sin6_port);
        snprintf(l->sockname, sizeof l->sockname, "{\"address\":\"%s\",\"family\":\"IPv6\",\"port\":%d}", host, l->port);
    }
}

static int bind_tcp(const char *address, int port, int type, nr_err *err)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    int family;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (address && inet_pton(AF_INET, address, &a4->sin_addr) == 1) {
        family = AF_INET;
    } else if (address && inet_pton(AF_INET6, address, &a6->sin6_addr) == 1) {
        family = AF_INET6;
    } else if (address) {
        return nr_err_set(err, "listen: address %s is not numeric", address);
    } else {
        family = AF_INET6; /* no address: "::" dual-stack, as Node does, else 0.0.0.0 */
        a6->sin6_addr = in6addr_any;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 && !address && family == AF_INET6 && errno == EAFNOSUPPORT) {
            family = AF_INET;
            continue;
        }
        if (fd < 0)
            return nr_err_sys(err, errno, "socket");
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (family == AF_INET6 && !address)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (family == AF_INET) {
            a4->sin_family = AF_INET;
            a4->sin_port = htons((uint16_t)port);
            len = sizeof *a4;
        } else {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            len = sizeof *a6;
        }
        if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
            int e = errno;
            close(fd);
            if (!address && family == AF_INET6 && (e == EADDRNOTAVAIL || e == EAFNOSUPPORT)) {
                family = AF_INET;
                memset(&ss, 0, sizeof ss);
                continue;
            }
            return nr_err_sys(err, e, "bind %s port %d", address ? address : "::", port);
        }
        (void)type;
        return fd;
    }
    return nr_err_set(err, "bind port %d: no address family", port);
}

/* setfsuid/setfsgid report no error: the value read back (an invalid id
 * changes nothing) says whether it took. */
static bool set_fsuid(uid_t u)
{
    setfsuid(u);
    return (uid_t)setfsuid((uid_t)-1) == u;
}

static bool set_fsgid(gid_t g)
{
    setfsgid(g);
    return (gid_t)setfsgid((gid_t)-1) == g;
}

/* Take the workers' filesystem identity (-1: keep ours); *old gets ours.
 * Away from fsuid 0 the kernel also clears CAP_CHOWN, DAC_OVERRIDE,
 * DAC_READ_SEARCH, FOWNER, FSETID, MKNOD, LINUX_IMMUTABLE and MAC_OVERRIDE
 * from the effective set; back at 0 it raises again those still permitted,
 * i.e. the ones we had.  Needs CAP_SETUID/CAP_SETGID, which PID 1 keeps. */
int sv_fsid_enter(uid_t uid, gid_t gid, sv_fs_ident *old, nr_err *err)
{
    old->uid = (uid_t)setfsuid((uid_t)-1);
    old->gid = (gid_t)setfsgid((gid_t)-1);
    if (gid != (gid_t)-1 && !set_fsgid(gid))
        return nr_err_sys(err, EPERM, "setfsgid %u", (unsigned)gid);
    if (uid != (uid_t)-1 && !set_fsuid(uid)) {
        set_fsgid(old->gid);
        return nr_err_sys(err, EPERM, "setfsuid %u", (unsigned)uid);
    }
    return 0;
}

void sv_fsid_leave(const sv_fs_ident *old)
{
    /* Back to our own euid/egid, which the kernel always allows.  Should it
     * not take, PID 1 must not go on with a worker's identity. */
    if (!set_fsuid(old->uid) || !set_fsgid(old->gid))
        abort();
}

/* A worker's server.listen(path): the socket file is made with the workers'
 * filesystem identity, as if the worker had bound it itself, so it is theirs
 * and only where they may create a file (EACCES goes back to listen()).  As
 * root, PID 1 could write where the workers cannot.  Single-threaded: nothing
 * else runs under the borrowed identity. */
/* A worker's unix socket path, as PID 1 may bind it: relative to the
 * workers' directory, never through /proc (PID 1's own fds and root are
 * there, not the worker's) or "..". */
static char *unix_path(const char *path, nr_err *err)
{
    if (!path || !*path)
        return nr_err_set(err, "listen: empty unix socket path"), NULL;
    const char *cwd = sv_g->cfg->cwd && *sv_g->cfg->cwd ? sv_g->cfg->cwd : NULL;
    char *full = path[0] == '/' || !cwd ? nr_xstrdup(path) : nr_xasprintf("%s/%s", cwd, path);
    bool bad = full[0] != '/';
    for (const char *c = full; !bad && *c;) {
        c += strspn(c, "/");
        size_t n = strcspn(c, "/");
        bad = (n == 2 && !strncmp(c, "..", 2)) || (c == full + strspn(full, "/") && n == 4 && !strncmp(c, "proc", 4));
        c += n;
    }
    if (bad) {
        nr_err_set(err, "listen %s: a unix socket may not go through /proc or \"..\"", path);
        free(full);
        return NULL;
    }
    return full;
}

static int bind_unix(const char *path_in, nr_err *err)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    cleanup_free char *path = unix_path(path_in, err);
    if (!path)
        return -1;
    if (strlen(path) >= sizeof a.sun_path)
        return nr_err_set(err, "listen: unix socket path %s is too long", path);
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nr_err_sys(err, errno, "socket");
    sv_fs_ident old;
    if (sv_fsid_enter(sv_g->cfg->uid, sv_g->cfg->gid, &old, err) < 0) {
        close(fd);
        return -1;
    }
    int r = bind(fd, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    sv_fsid_leave(&old);
    if (r < 0 || listen(fd, 4096) < 0) {
        if (r == 0)
            e = errno;
        close(fd);
        return nr_err_sys(err, e, "bind %s", path);
    }
    return fd;
}

static void on_udp(void *arg, uint32_t events)
{
    (void)arg, (void)events; /* never armed: the workers read it */
}

/* A bound socket of fd's into the list (watched, not armed yet); NULL,
 * fd closed, when epoll refuses it.  inet: a TCP one, whose address the
 * workers are told. */
static sv_listener *listener_add(const char *key, int fd, int port, bool udp, bool inet, nr_err *err)
{
    sv_listener *l = nr_xcalloc(1, sizeof *l);
    l->key = nr_xstrdup(key);
    l->fd = fd;
    l->port = port;
    l->udp = udp;
    if (inet)
        sockname_json(l);
    if (sv_watch_add(&l->w, fd, 0, udp ? on_udp : on_accept, l) < 0) {
        nr_err_sys(err, errno, "epoll add listener");
        close(fd);
        free(l->key);
        free(l);
        return NULL;
    }
    l->next = sv_g->listeners;
    sv_g->listeners = l;
    return l;
}

sv_listener *sv_listener_get(const char *key, const char *address, int port, int type, nr_err *err)
{
    for (sv_listener *l = sv_g->listeners; l; l = l->next)
        if (!strcmp(l->key, key))
            return l->fd >= 0 ? l : NULL;
    if (sv_g->stopping)
        return nr_err_set(err, "stopping"), NULL;
    int n = 0;
    for (sv_listener *l = sv_g->listeners; l; l = l->next)
        n += !l->udp;
    /* Listeners live as long as the container: a worker cannot make us open more. */
    if (n >= 64)
        return nr_err_sys(err, EMFILE, "more than 64 listening sockets"), NULL;
    int fd = -1;
    const sv_config *cfg = sv_g->cfg;
    /* A port nrun published (-p) is served on the socket it passed in. */
    for (size_t i = 0; type != -1 && i < cfg->n_listen; i++)
        if (cfg->listen_ports[i] == port && port > 0) {
            fd = fcntl(cfg->listen_fds[i], F_DUPFD_CLOEXEC, 3);
            if (fd < 0)
                return nr_err_sys(err, errno, "dup listen fd"), NULL;
            int fl = fcntl(fd, F_GETFL);
            fcntl(fd, F_SETFL, fl | O_NONBLOCK);
            break;
        }
    if (fd < 0)
        fd = type == -1 ? bind_unix(address, err) : bind_tcp(address, port, type, err);
    if (fd < 0)
        return NULL;
    return listener_add(key, fd, port, false, type != -1, err);
}

sv_listener *sv_udp_get(const char *key, const char *address, int port, bool v6, int flags, nr_err *err)
{
    int n = 0;
    sv_listener *old = NULL, *spare = NULL;
    for (sv_listener *l = sv_g->listeners; l; l = l->next) {
        if (!strcmp(l->key, key)) {
            if (l->fd >= 0)
                return l;
            old = l; /* released (sv_udp_release): bound again below */
        } else if (l->udp && l->fd < 0 && !l->holders) {
            spare = l;
        }
        n += l->udp && l->fd >= 0;
    }
    if (sv_g->stopping)
        return nr_err_set(err, "stopping"), NULL;
    /* the workers' dgram sockets open now, apart from the TCP listeners:
     * a worker with many cannot stop the app's listen() */
    if (n >= SV_MAX_UDP)
        return nr_err_sys(err, EMFILE, "more than %d shared dgram sockets", SV_MAX_UDP), NULL;
    if (port < 0 || port > 65535)
        return nr_err_sys(err, EINVAL, "bind port %d", port), NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    const char *ad = address && *address ? address : v6 ? "::" : "0.0.0.0";
    if (!v6 && inet_pton(AF_INET, ad, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        len = sizeof *a4;
    } else if (v6 && inet_pton(AF_INET6, ad, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        len = sizeof *a6;
    } else {
        return nr_err_sys(err, EINVAL, "bind udp%d: address %s is not numeric", v6 ? 6 : 4, ad), NULL;
    }
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nr_err_sys(err, errno, "socket"), NULL;
    int one = 1;
    if (flags & 4)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){(flags & 1) ? 1 : 0}, sizeof(int));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = errno;
        close(fd);
        return nr_err_sys(err, e, "bind udp %s port %d", ad, port), NULL;
    }
    /* A released struct of another key is taken for this one: the worker
     * picks the key (its address and index; Node's index only grows while
     * the worker holds another socket of that address), so a new struct for
     * each would grow PID 1's list without end.  Structs stay at SV_MAX_UDP:
     * a new one is made only when none is released, all being bound. */
    if (!old && spare) {
        free(spare->key);
        spare->key = nr_xstrdup(key);
        spare->port = port;
        old = spare;
    }
    if (!old)
        return listener_add(key, fd, port, true, false, err);
    if (sv_watch_add(&old->w, fd, 0, on_udp, old) < 0) {
        nr_err_sys(err, errno, "epoll add listener");
        close(fd);
        return NULL;
    }
    old->fd = fd;
    return old;
}

/* Node's primary closes a shared handle no worker holds; so do we for an
 * ephemeral one (port 0: a client socket each dgram.send() of a worker
 * binds), else a worker that opens and closes them would run out.  One on
 * a fixed port stays bound: datagrams wait there for a restarted worker.
 * The struct stays (an event may name it) and is bound again by key. */
void sv_udp_release(sv_listener *l)
{
    if (l->holders > 0)
        l->holders--;
    if (l->holders || l->port != 0 || l->fd < 0)
        return;
    sv_watch_del(&l->w);
    close(l->fd);
    l->fd = -1;
}

static bool hand(sv_worker *w, sv_listener *l, int fd, int index)
{
    char msg[700];
    uint32_t seq = ++w->seq;
    int n = snprintf(msg, sizeof msg,
                     "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":{\"cmd\":\"NODE_CLUSTER\","
                     "\"act\":\"newconn\",\"key\":\"%s:%d\",\"seq\":%u}}\n",
                     l->key, index, seq);
    if (n <= 0 || (size_t)n >= sizeof msg || sv_ipc_send_fd(w, msg, (size_t)n, fd) < 0)
        return false;
    w->inflight[w->ninflight++] = (sv_inflight){.seq = seq, .fd = fd, .lis = l, .sent_ms = sv_now_ms()};
    w->handed++;
    return true;
}

/* sticky: a hash of the client's address (not its port), so that every
 * connection of one client goes to one worker. */
static uint64_t peer_hash(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    const unsigned char *p = NULL;
    size_t n = 0;
    if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0) {
        if (sa.ss_family == AF_INET)
            p = (const unsigned char *)&((struct sockaddr_in *)&sa)->sin_addr, n = 4;
        else if (sa.ss_family == AF_INET6)
            p = (const unsigned char *)&((struct sockaddr_in6 *)&sa)->sin6_addr, n = 16;
    }
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a; unix sockets: all one client */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Rendezvous (highest random weight) hashing over worker slots: a client's
 * worker is the slot with the highest mix(client, slot).  It changes only
 * when that slot is not routable (restarting, draining): then its clients,
 * and only they, go to their next-best slot, and come back to the slot's
 * replacement. */
static uint64_t mix(uint64_t h, int slot)
{
    uint64_t x = h ^ ((uint64_t)slot * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Pick a worker for a connection of `l` and hand it over; false when none can take it. */
static bool dispatch(sv_listener *l, int fd, const sv_worker *exclude)
{
    sv_worker *cand[SV_MAX_SLOTS * 2];
    int idx[SV_MAX_SLOTS * 2];
    int n = 0;
    for (sv_worker *w = sv_g->workers; w && n < (int)NR_ARRAY_LEN(cand); w = w->next) {
        int index;
        if (w != exclude && sv_worker_routable(w) && subscribed(w, l, &index)) {
            idx[n] = index;
            cand[n++] = w;
        }
    }
    while (n > 0) {
        int pick = (int)(l->rr_next++ % (unsigned)n);
        if (sv_g->cfg->balance == SV_BALANCE_RR) {
            /* Round-robin over the workers that are free (every hand-off
             * acked), as Node's own round-robin does; when none is, the one
             * least behind.  A worker stuck in a long request then stops
             * collecting connections that another could serve now. */
            int start = pick;
            for (int k = 0; k < n; k++) {
                int i = (start + k) % n;
                if (cand[i]->ninflight < cand[pick]->ninflight)
                    pick = i;
                if (cand[pick]->ninflight == 0)
                    break;
            }
        } else if (sv_g->cfg->balance == SV_BALANCE_STICKY) {
            uint64_t h = peer_hash(fd), best = 0;
            for (int i = 0; i < n; i++) {
                uint64_t m = mix(h, cand[i]->slot);
                if (i == 0 || m > best) {
                    best = m;
                    pick = i;
                }
            }
        } else if (sv_g->cfg->balance == SV_BALANCE_LEASTCONN) {
            /* Fewest open connections; ties go round-robin from the rr cursor. */
            uint64_t best = UINT64_MAX;
            int start = pick;
            for (int k = 0; k < n; k++) {
                int i = (start + k) % n;
                uint64_t open = sv_worker_open_conns(cand[i]) + (uint64_t)cand[i]->ninflight;
                if (open < best) {
                    best = open;
                    pick = i;
                }
            }
        }
        if (hand(cand[pick], l, fd, idx[pick]))
            return true;
        cand[pick] = cand[n - 1];
        idx[pick] = idx[n - 1];
        n--;
    }
    return false;
}

static bool any_routable(sv_listener *l)
{
    int index;
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if (sv_worker_routable(w) && subscribed(w, l, &index))
            return true;
    return false;
}

static void pend(sv_listener *l, int fd)
{
    if (sv_g->npending >= (int)NR_ARRAY_LEN(sv_g->pending)) {
        close(fd); /* bounded: a connection we cannot place is refused, not hoarded */
        return;
    }
    sv_g->pending[sv_g->npending++] = (sv_inflight){.fd = fd, .lis = l};
}

static void on_accept(void *arg, uint32_t events)
{
    sv_listener *l = arg;
    for (int i = 0; i < 64 && l->fd >= 0; i++) {
        if (!any_routable(l)) {
            sv_watch_mod(&l->w, 0);
            l->armed = false;
            return;
        }
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                sv_log_sys("accept: %s", strerror(errno));
            return;
        }
        l->accepted++;
        if (!dispatch(l, fd, NULL))
            pend(l, fd);
    }
}

/* Place pending connections, then arm the listeners that have a taker. */
void sv_balance_rearm(void)
{
    int keep = 0;
    for (int i = 0; i < sv_g->npending; i++) {
        sv_inflight *p = &sv_g->pending[i];
        if (p->lis->fd < 0 && sv_g->stopping && !any_routable(p->lis)) {
            close(p->fd);
            continue;
        }
        if (!dispatch(p->lis, p->fd, NULL))
            sv_g->pending[keep++] = *p;
    }
    sv_g->npending = keep;
    for (sv_listener *l = sv_g->listeners; l; l = l->next) {
        if (l->fd < 0)
            continue;
        bool want = any_routable(l);
        if (want != l->armed) {
            sv_watch_mod(&l->w, want ? EPOLLIN : 0);
            l->armed = want;
        }
    }
}

void sv_balance_worker_up(sv_worker *w, sv_listener *l)
{
    sv_balance_rearm();
}

void sv_balance_on_ack(sv_worker *w, uint32_t seq, bool accepted)
{
    for (int i = 0; i < w->ninflight; i++) {
        if (w->inflight[i].seq != seq)
            continue;
        sv_inflight c = w->inflight[i];
        w->inflight[i] = w->inflight[--w->ninflight];
        if (accepted) {
            close(c.fd);
        } else {
            w->handed--;
            if (!dispatch(c.lis, c.fd, w))
                pend(c.lis, c.fd);
        }
        break;
    }
    sv_balance_rearm();
    if (w->state == SV_W_DRAINING)
        sv_drain_check(w);
}

/* The worker can take no more connections (dead, channel closed): what it
 * has not acked goes to the others. */
void sv_balance_worker_gone(sv_worker *w)
{
    int n = w->ninflight;
    w->ninflight = 0;
    for (int i = 0; i < n; i++) {
        w->handed--;
        if (!dispatch(w->inflight[i].lis, w->inflight[i].fd, w))
            pend(w->inflight[i].lis, w->inflight[i].fd);
    }
    w->nsubs = 0;
    for (int i = 0; i < w->nudp; i++)
        sv_udp_release(w->udp[i]);
    w->nudp = 0;
    sv_balance_rearm();
}

/* Stop accepting: close every listening socket.  Listener structs stay
 * (a pending event may still name one) and are freed with the process. */
void sv_balance_close_all(void)
{
    for (sv_listener *l = sv_g->listeners; l; l = l->next) {
        if (l->fd < 0)
            continue;
        sv_watch_del(&l->w);
        close(l->fd);
        l->fd = -1;
        l->armed = false;
    }
    /* Accepted connections still waiting go to a worker if one can take them. */
    sv_balance_rearm();
}
