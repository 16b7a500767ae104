/* `nrun logs [-f] [--since T] [--tail N] [--worker N] [--json] [--dye] ID`, or
 * `--log-dir DIR` instead of ID (host runs of `nrun supervise`).  Reads the
 * JSON lines of <root>/containers/<id>/logs/container.log and its rotations
 * (container.log.N is the oldest), prints each line's msg (stdout lines to
 * stdout, the rest to stderr) or the JSON line itself with --json; -f keeps
 * following the file across rotations until the container is no longer
 * running, as docker's does (a --log-dir is followed until interrupted). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/runtime.h"
#include "cli/cli.h"
#include "runtime/supervisor/options.h"

/* container.log, or dye.log for `--dye` */
static const char *log_base = "container.log";
typedef struct logs_opts {
    bool follow, json, timestamps;
    long tail;            /* -1 = all */
    int worker;           /* -1 = all */
    char since[64];       /* RFC 3339 lower bound, "" = none */
    char **ring;
    long nring, ring_pos;
    bool tailing;         /* collecting into the ring (before follow) */
} logs_opts;

static int parse_since(const char *s, char *out, size_t n)
{
    int ms;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (sv_parse_duration_ms(s, &ms) == 0) {
        long long t = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 - ms;
        nr_rfc3339(t / 1000, (long)(t % 1000) * 1000000, out, n);
        return 0;
    }
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        end = strptime(s, "%Y-%m-%d", &tm);
    if (!end)
        return -1;
    long nsec = 0;
    if (*end == '.') {
        char *e2;
        double frac = strtod(end, &e2);
        nsec = (long)(frac * 1e9);
        end = e2;
    }
    if (*end && strcmp(end, "Z"))
        return -1;
    nr_rfc3339((long long)timegm(&tm), nsec, out, n);
    return 0;
}

static void print_line(logs_opts *o, const char *line, size_t len)
{
    json_t *j = json_loadb(line, len, 0, NULL);
    if (!j)
        return; /* a torn or foreign line: skip it */
    const char *t = json_string_value(json_object_get(j, "time"));
    const char *stream = json_string_value(json_object_get(j, "stream"));
    json_t *msg = json_object_get(j, "msg");
    int worker = (int)json_integer_value(json_object_get(j, "worker"));
    if (!t || !stream || !json_is_string(msg) || (o->worker >= 0 && worker != o->worker) ||
        (o->since[0] && strcmp(t, o->since) < 0)) {
        json_decref(j);
        return;
    }
    if (o->tailing && o->tail == 0) {
        json_decref(j); /* --tail 0 -f: the past is read only to find where now starts */
        return;
    }
    if (o->tailing) {
        free(o->ring[o->ring_pos]);
        o->ring[o->ring_pos] = nr_xstrndup(line, len);
        o->ring_pos = (o->ring_pos + 1) % o->tail;
        if (o->nring < o->tail)
            o->nring++;
        json_decref(j);
        return;
    }
    if (o->json) {
        fwrite(line, 1, len, stdout);
        fputc('\n', stdout);
    } else {
        FILE *f = !strcmp(stream, "stdout") ? stdout : stderr;
        /* stdout is block-buffered on a pipe, stderr is not: with both on one
         * pipe (2>&1) the lines must still come out in the log's order */
        if (f == stderr)
            fflush(stdout);
        if (o->timestamps) /* docker's -t: the line's RFC 3339 time first */
            fprintf(f, "%s ", t);
        fwrite(json_string_value(msg), 1, json_string_length(msg), f);
        fputc('\n', f);
    }
    json_decref(j);
}

/* Print the complete lines of fd from its current offset; a trailing partial
 * line stays in `part` for the next call. */
static void read_lines(logs_opts *o, int fd, nr_buf *part)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        nr_buf_add(part, buf, (size_t)n);
        size_t start = 0;
        char *nl;
        while ((nl = memchr(part->data + start, '\n', part->len - start))) {
            size_t len = (size_t)(nl - (part->data + start));
            print_line(o, part->data + start, len);
            start += len + 1;
        }
        memmove(part->data, part->data + start, part->len - start);
        part->len -= start;
    }
}

static void flush_ring(logs_opts *o)
{
    o->tailing = false;
    for (long i = 0; i < o->nring; i++) {
        long k = (o->ring_pos - o->nring + i + o->tail) % o->tail;
        print_line(o, o->ring[k], strlen(o->ring[k]));
        free(o->ring[k]);
        o->ring[k] = NULL;
    }
    o->nring = 0;
}

/* A log file of the container's logs dir, a regular file only: the
 * container reaches that dir (its PID 1 holds it; /proc/1/fd/N with
 * CAP_SYS_PTRACE) and may plant a FIFO (logs would wait on it forever) or,
 * with CAP_MKNOD, a node of any device, which this host process, outside
 * the container's device rules, must never open.  Looked at through
 * O_PATH, then reopened.  -1: none to read. */
static int open_log(int dfd, const char *name)
{
    cleanup_close int pfd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (pfd < 0 || fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode))
        return -1;
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
    int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Read what is new in container.log; when it was rotated (or created),
 * finish the old file, then read the new one from its start. */
static void follow_step(logs_opts *o, int dfd, int *fd, nr_buf *part)
{
    struct stat a, b;
    if (*fd >= 0)
        read_lines(o, *fd, part);
    if (fstatat(dfd, log_base, &b, 0) == 0 && (*fd < 0 || (fstat(*fd, &a) == 0 && a.st_ino != b.st_ino))) {
        if (*fd >= 0) {
            read_lines(o, *fd, part);
            close(*fd);
        }
        part->len = 0;
        *fd = open_log(dfd, log_base);
        if (*fd >= 0)
            read_lines(o, *fd, part);
    }
    fflush(stdout);
    fflush(stderr);
}

/* Its PID 1 alive (pid + start time); a removed container is not. */
static bool ctr_running(const char *root, const char *id)
{
    rt_state st;
    nr_err ign;
    if (rt_state_read(root, id, &st, &ign) < 0)
        return false;
    bool up = !strcmp(rt_state_live_status(&st), "running");
    rt_state_free(&st);
    return up;
}

int nr_cmd_logs(int argc, char **argv, nr_global *g)
{
    logs_opts o = {.tail = -1, .worker = -1};
    enum { OPT_JSON = NR_OPT_LONG, OPT_WORKER, OPT_SINCE, OPT_LOGDIR, OPT_DYE };
    static const nr_opt opts[] = {
        {"follow", 'f', no_argument, NULL, "keep printing new lines"},
        {"timestamps", 't', no_argument, NULL, "each line with its time (RFC 3339, nanoseconds)"},
        {"tail", 'n', required_argument, "N", "only the last N lines"},
        {"since", OPT_SINCE, required_argument, "WHEN", "only lines since a duration ago (10m, 30s) or a time"},
        {"worker", OPT_WORKER, required_argument, "N", "only worker N's lines (0 = the supervisor)"},
        {"json", OPT_JSON, no_argument, NULL, "the stored JSON lines"},
        {"dye", OPT_DYE, no_argument, NULL, "the dyed requests' records (nrun dye), as JSON lines"},
        {"log-dir", OPT_LOGDIR, required_argument, "DIR", "read this log directory instead of a container's"},
        {0},
    };
    static const nr_cmdspec spec = {"logs [OPTIONS] CONTAINER", "Show a container's output (all its workers).", opts,
                                    true};
    const char *id = NULL, *dir = NULL;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        const char *v = optarg;
        char *end;
        switch (c) {
        case 'f': o.follow = true; break;
        case 't': o.timestamps = true; break;
        case OPT_JSON: o.json = true; break;
        case OPT_DYE: log_base = "dye.log"; o.json = true; break;
        case 'n':
            if ((o.tail = strtol(v, &end, 10)) < 0 || *end || end == v)
                return nr_usage_error(g, "logs: --tail needs a number of lines");
            break;
        case OPT_WORKER:
            if ((o.worker = (int)strtol(v, &end, 10)) < 0 || *end || end == v)
                return nr_usage_error(g, "logs: --worker needs a worker number (0 = the supervisor)");
            break;
        case OPT_SINCE:
            if (parse_since(v, o.since, sizeof o.since) < 0)
                return nr_usage_error(g, "logs: --since needs a duration (10m, 30s) or a time (2026-11-25T10:00:00Z)");
            break;
        case OPT_LOGDIR: dir = v; break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    for (int i = optind; i < argc; i++) {
        const char *a = argv[i];
        if (!id) {
            id = a;
        } else {
            return nr_usage_error(g, "logs: unexpected argument %s", a);
        }
    }
    if (!id == !dir)
        return nr_usage_error(g, "logs: give a container ID or --log-dir DIR");
    cleanup_free char *path = NULL;
    char full[65] = "";
    if (id) {
        nr_err ferr = {0};
        if (strchr(id, '/') || !strcmp(id, "..") || !strcmp(id, "."))
            return nr_usage_error(g, "logs: bad container id %s", id);
        if (rt_container_find(g->root, id, full, &ferr) < 0)
            return nr_err_report(&ferr, g->prog, NR_EXIT_FAIL);
        path = nr_xasprintf("%s/containers/%s/logs", g->root, full);
    } else {
        path = nr_xstrdup(dir);
    }
    nr_err err = {0};
    cleanup_close int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        nr_err_sys(&err, errno, "open log dir %s", path);
        return nr_err_report(&err, g->prog, errno == ENOENT ? NR_EXIT_NOTFOUND : NR_EXIT_FAIL);
    }
    if (o.tail == 0 && !o.follow)
        return 0;
    if (o.tail > 0)
        o.ring = nr_xcalloc((size_t)o.tail, sizeof *o.ring);
    o.tailing = o.tail >= 0;
    nr_buf part = {0};
    /* Rotated files, oldest (highest number) first. */
    for (int k = 1000; k >= 1 && o.tail != 0; k--) {
        char name[64];
        snprintf(name, sizeof name, "%s.%d", log_base, k);
        int fd = open_log(dfd, name);
        if (fd < 0)
            continue;
        read_lines(&o, fd, &part);
        part.len = 0;
        close(fd);
    }
    int fd = open_log(dfd, log_base);
    if (fd >= 0)
        read_lines(&o, fd, &part);
    if (o.tail == 0) {
        /* --tail 0 -f: only what comes from now on */
        o.tailing = false;
    } else if (o.tail > 0) {
        flush_ring(&o);
    }
    free(o.ring);
    fflush(stdout);
    while (o.follow) {
        /* looked at before reading: what the container wrote before it
         * ended is in the file by then, and this last step prints it */
        bool ended = *full && !ctr_running(g->root, full);
        follow_step(&o, dfd, &fd, &part);
        if (ended)
            break;
        poll(NULL, 0, 200);
    }
    if (fd >= 0)
        close(fd);
    nr_buf_free(&part);
    return 0;
}
