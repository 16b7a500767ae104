/* The attach channel of a detached `run -dt` container (rt_attach_serve):
 * its host-side monitor holds the pty master and relays bytes between it and
 * the clients of containers/<id>/attach.sock -- a unix socket made 0600 by
 * the monitor's user (root), each client checked with SO_PEERCRED.  Nothing
 * of a client's terminal is passed into the container: only bytes cross.
 *
 * Protocol (SOCK_SEQPACKET: one message a packet): a client's bytes go to the app's terminal as they are, except a
 * window size, sent as the 8 bytes "\0WSZ" + rows + cols (u16 each, host
 * order); the terminal's output goes to every client.  Output while nobody
 * is attached is read and dropped (the app never blocks on a full pty).
 *
 * The terminal's output is also the container's log, as docker's is for a
 * -t container (no supervisor reads the app's stdio then: its stdio is the
 * pty): JSON lines of the supervisor's shape, stream "stdout", worker 1,
 * the "\r\n" the terminal makes a line's end (a line without one after a
 * second of quiet), rotated by the container's
 * --log-max-size / --log-max-files (docker's --log-opt) as the supervisor
 * rotates its own. */
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
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"
#include "runtime/supervisor/options.h"
#include "runtime/supervisor/supervisor.h"

#define MAX_CLIENTS 8
#define LOG_NAME "container.log"
#define LINE_MAX_BYTES 16384 /* a longer line is split, as the supervisor splits */

struct rt_ttylog {
    int dir;                      /* containers/<id>/logs */
    int fd;                       /* its container.log, appended */
    unsigned long long size, max; /* bytes in it; rotate past max */
    int keep;                     /* files in all */
    int pid;
    size_t len;
    char line[LINE_MAX_BYTES];
};

/* The log's limits from the container's config.json (its supervisor
 * options), else the supervisor's defaults. */
static void tty_log_emit(rt_ttylog *l);

/* containers/<id>/logs/container.log for appending, a regular file only.
 * The container reaches its logs dir (PID 1 holds it: /proc/1/fd/N with
 * CAP_SYS_PTRACE) and may put anything there; this host process, outside
 * its device rules, must never open a node of its (a disk, a watchdog) or
 * wait on its FIFO.  What is not a regular file is removed; a new file is
 * made with O_EXCL (never an existing name), an existing one opened
 * through the O_PATH fd that was looked at.  -1: no log. */
static int tty_log_file(int dir)
{
    for (int tries = 0; tries < 4; tries++) {
        int fd = nr_open_append_regular(dir, LOG_NAME);
        if (fd >= 0 || (errno != ENOENT && errno != EINVAL))
            return fd;
        if (errno == EINVAL) {
            struct stat st;
            bool isdir = fstatat(dir, LOG_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
            unlinkat(dir, LOG_NAME, isdir ? AT_REMOVEDIR : 0);
            continue;
        }
        fd = openat(dir, LOG_NAME, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

rt_ttylog *rt_ttylog_open(const char *root, const char *id, int pid)
{
    rt_ttylog *l = nr_xmalloc(sizeof *l);
    *l = (rt_ttylog){.dir = -1, .fd = -1, .max = 10ull << 20, .keep = 5, .pid = pid};
    cleanup_free char *d = nr_xasprintf("%s/containers/%s", root, id);
    cleanup_close int cd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (cd < 0)
        return l;
    rt_spec sp;
    nr_err ign = {0};
    if (rt_spec_load(cd, "config.json", &sp, &ign) == 0) {
        sv_config cfg;
        sv_config_init(&cfg);
        for (size_t i = 0; i < sp.nsv_opts; i++) {
            const char *eq = strchr(sp.sv_opts[i], '=');
            if (!eq || (strncmp(sp.sv_opts[i], "--log-max-size=", 15) && strncmp(sp.sv_opts[i], "--log-max-files=", 16)))
                continue;
            cleanup_free char *opt = nr_xstrndup(sp.sv_opts[i], (size_t)(eq - sp.sv_opts[i]));
            sv_opt_apply(&cfg, opt, eq + 1, &ign);
        }
        if (cfg.log_max_size)
            l->max = cfg.log_max_size;
        if (cfg.log_max_files > 0)
            l->keep = cfg.log_max_files;
        sv_config_fini(&cfg);
        rt_spec_free(&sp);
    }
    l->dir = openat(cd, "logs", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (l->dir >= 0)
        l->fd = tty_log_file(l->dir);
    struct stat st;
    if (l->fd >= 0 && fstat(l->fd, &st) == 0)
        l->size = (unsigned long long)st.st_size;
    return l;
}

void rt_ttylog_close(rt_ttylog *l)
{
    if (!l)
        return;
    if (l->len)
        tty_log_emit(l);
    if (l->fd >= 0)
        close(l->fd);
    if (l->dir >= 0)
        close(l->dir);
    free(l);
}

static void tty_log_rotate(rt_ttylog *l)
{
    nr_log_rotate(l->dir, LOG_NAME, l->keep);
    close(l->fd);
    l->fd = tty_log_file(l->dir);
    l->size = 0;
}

static void tty_log_emit(rt_ttylog *l)
{
    if (l->fd < 0) {
        l->len = 0;
        return;
    }
    size_t n = l->len;
    if (n && l->line[n - 1] == '\r')
        n--;
    static char out[LINE_MAX_BYTES * 6 + 256];
    char when[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    nr_rfc3339(ts.tv_sec, ts.tv_nsec, when, sizeof when);
    int h = snprintf(out, 256, "{\"time\":\"%s\",\"worker\":1,\"pid\":%d,\"stream\":\"stdout\",\"msg\":\"", when,
                     l->pid);
    if (h < 0 || h >= 256)
        return;
    size_t o = (size_t)h + nr_json_escape(out + h, l->line, n);
    memcpy(out + o, "\"}\n", 3);
    o += 3;
    l->len = 0;
    if (l->size > 0 && l->size + o > l->max)
        tty_log_rotate(l);
    if (l->fd >= 0 && nr_write_all(l->fd, out, o) == 0)
        l->size += o;
}

void rt_ttylog_feed(rt_ttylog *l, const char *p, size_t n)
{
    if (!l)
        return;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            tty_log_emit(l);
            continue;
        }
        l->line[l->len++] = p[i];
        if (l->len == sizeof l->line)
            tty_log_emit(l);
    }
}

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

void rt_attach_serve(const char *root, const char *id, int master, int pid)
{
    rt_ttylog *log = rt_ttylog_open(root, id, pid);
    cleanup_free char *path = rt_attach_path(root, id);
    cleanup_close int ls = listen_on(path);
    int cl[MAX_CLIENTS];
    size_t ncl = 0;
    char buf[32768]; /* > a client packet (attach sends at most 8 KiB + held keys) */
    for (;;) {
        struct pollfd p[2 + MAX_CLIENTS] = {{.fd = master, .events = POLLIN}, {.fd = ls, .events = POLLIN}};
        for (size_t i = 0; i < ncl; i++)
            p[2 + i] = (struct pollfd){.fd = cl[i], .events = POLLIN};
        /* a line without its end yet (a prompt) is logged after a second
         * of quiet */
        int ready = poll(p, 2 + ncl, log->len ? 1000 : -1);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (ready == 0) {
            tty_log_emit(log);
            continue;
        }
        if (p[0].revents) {
            ssize_t r = read(master, buf, 8192); /* a packet attach reads whole */
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
                break; /* EIO: every slave is closed, the app is gone */
            if (r > 0)
                rt_ttylog_feed(log, buf, (size_t)r);
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
    rt_ttylog_close(log);
}
