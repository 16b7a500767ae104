/* Worker output -> JSON lines {"time","worker","pid",["revision",]"stream","msg"} in
 * <log dir>/container.log, rotated by size (container.log.1 .. .N).
 * Each stream has its own bounded line buffer, and a line is written with one
 * write(2) on an O_APPEND file, so lines never interleave; a line longer than
 * SV_LINE_MAX is split.  The master reads at most a bounded amount per
 * wakeup from each pipe, so a flooding worker is throttled by its own full
 * pipe and never stalls the master or the other workers.  With a --log-rate,
 * bytes over it are read and dropped, and the count is logged once a second.
 * echo_stdio copies the raw bytes to our stdout/stderr through non-blocking
 * descriptions of their own; what they cannot take is dropped and counted. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/supervisor/sv_internal.h"

#define LOG_NAME "container.log"
#define DEFAULT_MAX_SIZE (10ull << 20)
#define DEFAULT_MAX_FILES 5

static int nonblocking_copy(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode) && !S_ISSOCK(st.st_mode)) {
        /* Our own open file description, so O_NONBLOCK does not leak to whoever shares the terminal/pipe. */
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        int nfd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (nfd >= 0)
            return nfd;
    }
    return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

int sv_logs_open(nr_err *err)
{
    const sv_config *cfg = sv_g->cfg;
    sv_g->sys_err = nonblocking_copy(STDERR_FILENO);
    if (cfg->echo_stdio) {
        sv_g->echo_out = nonblocking_copy(STDOUT_FILENO);
        sv_g->echo_err = sv_g->sys_err;
    }
    if (cfg->log_dir_fd < 0)
        return 0;
    sv_g->log_fd = openat(cfg->log_dir_fd, LOG_NAME, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (sv_g->log_fd < 0)
        return nr_err_sys(err, errno, "open log file %s", LOG_NAME);
    struct stat st;
    if (fstat(sv_g->log_fd, &st) == 0)
        sv_g->log_size = (unsigned long long)st.st_size;
    return 0;
}

static void rotate(void)
{
    const sv_config *cfg = sv_g->cfg;
    /* N files in all, as docker's max-file: the current one and N-1 rotated */
    nr_log_rotate(cfg->log_dir_fd, LOG_NAME, cfg->log_max_files > 0 ? cfg->log_max_files : DEFAULT_MAX_FILES);
    close(sv_g->log_fd);
    sv_g->log_fd = openat(cfg->log_dir_fd, LOG_NAME, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    sv_g->log_size = 0;
}

/* JSON string escaping; invalid UTF-8 becomes U+FFFD so the line stays valid JSON. */
size_t sv_json_escape(char *out, const char *in, size_t n)
{
    return nr_json_escape(out, in, n);
}

void sv_logs_write(int slot, pid_t pid, const char *stream, const char *msg, size_t len)
{
    if (sv_g->log_fd < 0)
        return;
    static char line[SV_LINE_MAX * 6 + 256];
    if (len > SV_LINE_MAX)
        len = SV_LINE_MAX;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[64];
    nr_rfc3339(ts.tv_sec, ts.tv_nsec, when, sizeof when);
    /* --revision: a deploy's revisions told apart in the log (a plain word: no escaping) */
    const char *rev = sv_g->cfg->revision;
    int h = snprintf(line, 256, "{\"time\":\"%s\",\"worker\":%d,\"pid\":%d,%s%s%s\"stream\":\"%s\",\"msg\":\"", when,
                     slot, (int)pid, *rev ? "\"revision\":\"" : "", rev, *rev ? "\"," : "", stream);
    if (h < 0 || h >= 256)
        return;
    size_t n = (size_t)h + sv_json_escape(line + h, msg, len);
    memcpy(line + n, "\"}\n", 3);
    n += 3;
    unsigned long long max = sv_g->cfg->log_max_size ? sv_g->cfg->log_max_size : DEFAULT_MAX_SIZE;
    if (sv_g->log_size > 0 && sv_g->log_size + n > max)
        rotate();
    if (sv_g->log_fd >= 0 && nr_write_all(sv_g->log_fd, line, n) == 0)
        sv_g->log_size += n;
}

static void emit(sv_stream *s)
{
    sv_worker *w = s->w;
    size_t len = s->len;
    if (len && s->line[len - 1] == '\r')
        len--;
    sv_logs_write(w->slot, w->pid, s->name, s->line, len);
    s->len = 0;
}

void sv_logs_flush_stream(sv_stream *s)
{
    if (s->len)
        emit(s);
}

static void echo(sv_worker *w, int fd, const char *p, size_t n)
{
    if (fd < 0)
        return;
    ssize_t r = write(fd, p, n);
    if (r < 0)
        r = 0;
    if ((size_t)r < n)
        w->dropped += n - (size_t)r;
}

static void consume(sv_stream *s, const char *p, size_t n)
{
    sv_worker *w = s->w;
    echo(w, s == &w->out ? sv_g->echo_out : sv_g->echo_err, p, n);
    if (sv_g->log_fd < 0)
        return;
    unsigned long long rate = sv_g->cfg->log_rate;
    if (rate) {
        uint64_t now = sv_now_ms();
        if (now - w->log_window_ms >= 1000) {
            w->log_window_ms = now;
            w->log_window_bytes = 0;
        }
        if (w->log_window_bytes + n > rate) {
            /* Drop the chunk and the line it cuts (its start is buffered,
             * its end comes later): lines are logged whole or not at all. */
            w->dropped += n + s->len;
            s->len = 0;
            s->skip_line = true;
            return;
        }
        w->log_window_bytes += n;
    }
    if (s->skip_line) {
        const char *nl = memchr(p, '\n', n);
        size_t skip = nl ? (size_t)(nl - p) + 1 : n;
        w->dropped += skip;
        p += skip, n -= skip;
        s->skip_line = !nl;
    }
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        size_t room = SV_LINE_MAX - s->len;
        if (take >= room) {
            memcpy(s->line + s->len, p, room);
            s->len += room;
            emit(s); /* over-long line: split */
            p += room, n -= room;
            continue;
        }
        memcpy(s->line + s->len, p, take);
        s->len += take;
        p += take, n -= take;
        if (nl) {
            emit(s);
            p++, n--;
        }
    }
}

static void close_stream(sv_stream *s)
{
    sv_logs_flush_stream(s);
    if (s->fd >= 0) {
        sv_watch_del(&s->watch);
        close(s->fd);
        s->fd = -1;
    }
}

static void on_readable(void *arg, uint32_t events)
{
    sv_stream *s = arg;
    char buf[65536];
    /* A bounded amount per wakeup: the loop stays fair to everyone else. */
    for (int i = 0; i < 4; i++) {
        ssize_t n = read(s->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close_stream(s);
            return;
        }
        consume(s, buf, (size_t)n);
        if ((size_t)n < sizeof buf)
            return;
    }
}

static void attach(sv_worker *w, sv_stream *s, int fd, const char *name)
{
    s->w = w;
    s->name = name;
    s->fd = fd;
    s->len = 0;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (sv_watch_add(&s->watch, fd, EPOLLIN, on_readable, s) < 0) {
        close(fd);
        s->fd = -1;
    }
}

void sv_logs_attach(sv_worker *w, int out_fd, int err_fd)
{
    attach(w, &w->out, out_fd, "stdout");
    attach(w, &w->err, err_fd, "stderr");
}

/* At the worker's exit: take what is left in the pipes, unless a grandchild
 * still holds them open (then they are closed after one bounded read). */
void sv_logs_detach(sv_worker *w)
{
    sv_stream *ss[2] = {&w->out, &w->err};
    for (int i = 0; i < 2; i++)
        if (ss[i]->fd >= 0) {
            on_readable(ss[i], EPOLLIN);
            close_stream(ss[i]);
        }
    if (w->dropped)
        sv_logs_report_drops();
}

void sv_logs_report_drops(void)
{
    for (sv_worker *w = sv_g->workers; w; w = w->next) {
        if (!w->dropped)
            continue;
        char msg[128];
        int n = snprintf(msg, sizeof msg, "dropped %llu bytes of output (log rate limit or slow stdout)",
                         (unsigned long long)w->dropped);
        w->dropped = 0;
        sv_logs_write(w->slot, w->pid, "supervisor", msg, (size_t)n);
    }
}
