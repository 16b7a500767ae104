/* The attach channel of a detached `run -dt` container (rt_attach_serve):
 * its host-side monitor holds the pty master and relays bytes between it and
 * the clients of containers/<id>/attach.sock -- a unix socket made 0600 by
 * the monitor's user (root), each client checked with SO_PEERCRED.  Nothing
 * of a client's terminal is passed into the container: only bytes cross.
 *
 * Protocol (SOCK_SEQPACKET: one message a packet): a client's bytes go to the app's terminal as they are, except a
 * window size, sent as the 8 bytes "\0WSZ" + rows + cols (u16 each, host
 * order); the terminal's output goes to every client.  Output while nobody
 * is attached is read and dropped (the app never blocks on a full pty). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"

#define MAX_CLIENTS 8

char *rt_attach_path(const char *root, const char *id)
{
    return nr_xasprintf("%s/containers/%s/attach.sock", root, id);
}

static int listen_on(const char *path)
{
    struct sockaddr_un a;
    nr_err ign;
    cleanup_close int keep = -1; /* a long path: through /proc/self/fd/N of its dir */
    if (nr_unix_addr(path, &a, &keep, &ign) < 0)
        return -1;
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return -1;
    unlink(path);
    mode_t old = umask(077); /* 0600 from the start: no window where another user could connect */
    int r = bind(s, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (r < 0 || chmod(path, 0600) < 0 || listen(s, 8) < 0) {
        close(s);
        return -1;
    }
    return s;
}

/* A client's bytes to the pty: a window size message applied, the rest written. */
static void client_input(int master, const char *buf, size_t n)
{
    if (n == 8 && !memcmp(buf, "\0WSZ", 4)) {
        uint16_t rc[2];
        memcpy(rc, buf + 4, sizeof rc);
        struct winsize ws = {.ws_row = rc[0], .ws_col = rc[1]};
        ioctl(master, TIOCSWINSZ, &ws);
        return;
    }
    nr_write_all(master, buf, n);
}

void rt_attach_serve(const char *root, const char *id, int master)
{
    cleanup_free char *path = rt_attach_path(root, id);
    cleanup_close int ls = listen_on(path);
    int cl[MAX_CLIENTS];
    size_t ncl = 0;
    char buf[32768]; /* > a client packet (attach sends at most 8 KiB + held keys) */
    for (;;) {
        struct pollfd p[2 + MAX_CLIENTS] = {{.fd = master, .events = POLLIN}, {.fd = ls, .events = POLLIN}};
        for (size_t i = 0; i < ncl; i++)
            p[2 + i] = (struct pollfd){.fd = cl[i], .events = POLLIN};
        if (poll(p, 2 + ncl, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents) {
            ssize_t r = read(master, buf, 8192); /* a packet attach reads whole */
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
                break; /* EIO: every slave is closed, the app is gone */
            for (size_t i = 0; r > 0 && i < ncl; i++)
                if (send(cl[i], buf, (size_t)r, MSG_NOSIGNAL) != r) { /* gone or stuck: dropped */
                    close(cl[i]);
                    cl[i] = -1;
                }
        }
        if (ls >= 0 && (p[1].revents & POLLIN)) {
            int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            struct ucred cr;
            socklen_t len = sizeof cr;
            if (c >= 0 && (ncl == MAX_CLIENTS || getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
                           (cr.uid != 0 && cr.uid != geteuid()))) {
                close(c);
                c = -1;
            }
            if (c >= 0) {
                /* a stuck client must not stall the app: sends time out */
                struct timeval tv = {2, 0};
                setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
                cl[ncl++] = c;
            }
        }
        for (size_t i = 0; i < ncl; i++) {
            if (cl[i] < 0 || !p[2 + i].revents || p[2 + i].fd != cl[i])
                continue;
            ssize_t r = read(cl[i], buf, sizeof buf);
            if (r <= 0) {
                close(cl[i]);
                cl[i] = -1;
            } else {
                client_input(master, buf, (size_t)r);
            }
        }
        size_t k = 0; /* closed clients out of the list */
        for (size_t i = 0; i < ncl; i++)
            if (cl[i] >= 0)
                cl[k++] = cl[i];
        ncl = k;
    }
    for (size_t i = 0; i < ncl; i++)
        close(cl[i]);
    unlink(path);
}
