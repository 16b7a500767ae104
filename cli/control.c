/* What the supervisor's CLI commands share: the usage error and the control
 * socket client (container id -> <root>/containers/<id>/control.sock).
 *
 * A container's control socket is answered by its PID 1, and we check that
 * it is: every byte of a reply carries its sender's credentials
 * (SO_PASSCRED; the kernel fills them in and refuses a forged pid), which
 * must be the pid and start time state.json records.  A container process
 * that took the listening socket from PID 1 (pidfd_getfd or ptrace with
 * CAP_SYS_PTRACE) and answers in its place is refused. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"
#include "cli/cli.h"

static bool valid_id(const char *id)
{
    if (!*id || strlen(id) > 128)
        return false;
    for (const char *p = id; *p; p++)
        if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') || strchr("_.-", *p)))
            return false;
    return *id != '.';
}

/* recv() that also reads the sender's credentials: -2 when peer > 0 and
 * the bytes did not come from that pid (the kernel never merges bytes of
 * two senders into one read while SO_PASSCRED is on). */
static ssize_t recv_checked(int fd, char *buf, size_t len, pid_t peer)
{
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(struct ucred))];
    } c;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &c, .msg_controllen = sizeof c};
    ssize_t k = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
    if (k <= 0 || !peer)
        return k;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_CREDENTIALS)
        return -2;
    struct ucred u;
    memcpy(&u, CMSG_DATA(h), sizeof u);
    return u.pid == peer ? k : -2;
}

char *sv_control_call(nr_global *g, const char *id, const char *path, const char *request, int timeout_ms, nr_err *err)
{
    cleanup_free char *p = NULL;
    pid_t peer = 0; /* the pid that must answer (a container's init); 0 = any (--control) */
    unsigned long long peer_start = 0;
    if (!path) {
        char full[65];
        if (!id || !valid_id(id))
            return nr_err_set(err, "bad container id %s", id ? id : "(none)"), NULL;
        /* A name, a full id or a unique prefix, as the runtime's commands take. */
        rt_state st;
        if (rt_container_state(g->root, id, full, &st, err) < 0)
            return NULL;
        peer = st.pid;
        peer_start = st.start_time;
        const char *live = rt_state_live_status(&st);
        bool running = !strcmp(live, "running");
        cleanup_free char *what = nr_xstrdup(live);
        rt_state_free(&st);
        if (peer <= 0 || !running)
            return nr_err_set(err, "container %s is not running (%s)", id, what), NULL;
        p = nr_xasprintf("%s/containers/%s/control.sock", g->root, full);
        path = p;
    }
    struct sockaddr_un a;
    cleanup_close int keep = -1;
    if (nr_unix_addr(path, &a, &keep, err) < 0)
        return NULL;
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        return nr_err_sys(err, errno, "socket"), NULL;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if ((errno == ENOENT || errno == ECONNREFUSED) && id)
            return nr_err_set(err, "container %s is not running (its supervisor does not answer)", id), NULL;
        if (errno == ENOENT || errno == ECONNREFUSED)
            return nr_err_sys(err, errno, "supervisor not running (control socket %s)", path), NULL;
        return nr_err_sys(err, errno, "connect %s", path), NULL;
    }
    /* The supervisor may answer and close before reading (a refused peer):
     * no SIGPIPE, and its reply is still read after EPIPE. */
    cleanup_free char *line = nr_xasprintf("%s\n", request);
    for (size_t off = 0, n = strlen(line); off < n;) {
        ssize_t w = send(fd, line + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
            break;
        if (w < 0)
            return nr_err_sys(err, errno, "write %s", path), NULL;
        off += (size_t)w;
    }
    nr_buf b = {0};
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int r = poll(&pf, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            nr_buf_free(&b);
            return nr_err_set(err, "%s: no reply within %d ms", path, timeout_ms), NULL;
        }
        char buf[4096];
        ssize_t k = recv_checked(fd, buf, sizeof buf, peer);
        if (k < 0 && errno == EINTR)
            continue;
        if (k == -2 || (k > 0 && peer && !rt_pid_alive(peer, peer_start))) {
            nr_buf_free(&b);
            return nr_err_set(err, "%s: answered by a process other than the container's init: refused", path), NULL;
        }
        if (k <= 0)
            break;
        nr_buf_add(&b, buf, (size_t)k);
        if (memchr(buf, '\n', (size_t)k))
            break;
    }
    if (!b.len) {
        nr_buf_free(&b);
        return nr_err_set(err, "%s: connection closed without a reply", path), NULL;
    }
    nr_buf_add(&b, "", 1);
    char *nl = strchr(b.data, '\n');
    if (nl)
        *nl = 0;
    return b.data;
}
