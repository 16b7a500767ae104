/* nrun events [--since T] [--until T] [--filter K=V]... [--format F]: the
 * store's event log (runtime/events.h) as docker's events shows it.  With
 * --since the log is replayed from then; without --until (or with one still
 * ahead) new events are followed -- inotify on the log's directory, with a
 * one-second poll as a fallback -- until interrupted.  A rotation
 * (events.jsonl -> .1) is followed: the old file is read to its end first. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "runtime/events.h"

#define NS 1000000000LL

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * NS + ts.tv_nsec;
}

/* A duration as Go writes them: 10m, 1h30m, 45s, 1.5h, 500ms. */
static int parse_duration(const char *s, long long *ns)
{
    long long total = 0;
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0)
            return -1;
        s = end;
        long long unit;
        if (!strncmp(s, "ns", 2)) unit = 1, s += 2;
        else if (!strncmp(s, "us", 2)) unit = 1000, s += 2;
        else if (!strncmp(s, "ms", 2)) unit = 1000000, s += 2;
        else if (*s == 's') unit = NS, s++;
        else if (*s == 'm') unit = 60 * NS, s++;
        else if (*s == 'h') unit = 3600 * NS, s++;
        else return -1;
        total += (long long)(v * (double)unit);
    }
    *ns = total;
    return 0;
}

/* RFC 3339 (2026-12-06T06:00:00Z, fractions and +hh:mm offsets; a date
 * alone is its midnight UTC), unix seconds (1765000000[.5]) or a duration
 * before now (10m): unix nanoseconds. */
static int parse_time(const char *s, long long *ns)
{
    char *end;
    long long d;
    if (parse_duration(s, &d) == 0) {
        *ns = now_ns() - d;
        return 0;
    }
    if (strspn(s, "0123456789") > 0 && strspn(s, "0123456789.") == strlen(s)) {
        double v = strtod(s, &end);
        if (*end)
            return -1;
        long long sec = (long long)v;
        *ns = sec * NS + (long long)((v - (double)sec) * 1e9);
        return 0;
    }
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (!p)
        return -1;
    long long frac = 0, off = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p = strptime(p + 1, "%H:%M:%S", &tm);
        if (!p)
            return -1;
        if (*p == '.') {
            long long scale = NS / 10;
            for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
                frac += (*p - '0') * scale;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int hh, mm, n = 0;
            if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5)
                return -1;
            off = (hh * 3600LL + mm * 60) * (*p == '-' ? -1 : 1);
            p += 6;
        }
    }
    if (*p)
        return -1;
    *ns = ((long long)timegm(&tm) - off) * NS + frac;
    return 0;
}

static bool filter_one(const nr_filter *f, void *event)
{
    const json_t *e = event;
    const json_t *attrs = json_object_get(json_object_get(e, "Actor"), "Attributes");
    const char *id = json_string_value(json_object_get(json_object_get(e, "Actor"), "ID"));
    const char *action = json_string_value(json_object_get(e, "Action"));
    const char *type = json_string_value(json_object_get(e, "Type"));
    const char *name = json_string_value(json_object_get(attrs, "name"));
    const char *image = json_string_value(json_object_get(attrs, "image"));
    const char *v = f->value;
    if (!strcmp(f->key, "container"))
        return (id && *v && !strncmp(id, v, strlen(v))) || (name && !strcmp(name, v));
    if (!strcmp(f->key, "event")) /* "health_status" matches "health_status: healthy" */
        return action && (!strcmp(action, v) || (!strncmp(action, v, strlen(v)) && action[strlen(v)] == ':'));
    if (!strcmp(f->key, "type"))
        return type && !strcmp(type, v);
    if (!strcmp(f->key, "image"))
        return image && (!strcmp(image, v) || (!strchr(v, ':') && !strncmp(image, v, strlen(v)) &&
                                               image[strlen(v)] == ':'));
    if (!strcmp(f->key, "label")) {
        const char *eq = strchr(v, '=');
        cleanup_free char *k = eq ? nr_xstrndup(v, (size_t)(eq - v)) : nr_xstrdup(v);
        const json_t *lv = json_object_get(attrs, k);
        return json_is_string(lv) && (!eq || !strcmp(json_string_value(lv), eq + 1));
    }
    return false;
}


typedef struct ev_reader {
    long long since, until; /* ns; until 0: none */
    const nr_filter *filters;
    size_t nfilters;
    nr_format fmt;
    nr_buf part; /* a line not yet ended */
} ev_reader;

/* docker's text line: TIME TYPE ACTION ID (k=v, ...), attributes sorted. */
static void print_text(const json_t *e, long long t)
{
    time_t sec = (time_t)(t / NS);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    const json_t *actor = json_object_get(e, "Actor");
    printf("%s.%09lldZ %s %s %s", when, t % NS, json_string_value(json_object_get(e, "Type")),
           json_string_value(json_object_get(e, "Action")), json_string_value(json_object_get(actor, "ID")));
    const json_t *attrs = json_object_get(actor, "Attributes");
    size_t n = json_object_size(attrs), k = 0;
    const char **keys = nr_xcalloc(n + 1, sizeof *keys);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)attrs, key, v)
        keys[k++] = key;
    for (size_t i = 1; i < k; i++) /* a few keys: insertion sort */
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *tmp = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = tmp;
        }
    for (size_t i = 0; i < k; i++) {
        /* labels are the image author's text: a newline would forge an
         * event line, an escape sequence reach the terminal */
        const char *s = json_string_value(json_object_get(attrs, keys[i]));
        cleanup_free char *ek = nr_escape_controls(keys[i]), *ev = nr_escape_controls(s ? s : "");
        printf("%s%s=%s", i ? ", " : " (", ek, ev);
    }
    printf("%s\n", k ? ")" : "");
    free(keys);
}

/* One complete line of the log: shown if it is in the window and matches.
 * Returns 1 once past --until (nothing later can be shown). */
static int one_line(ev_reader *r, const char *line)
{
    json_t *e = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(e)) {
        json_decref(e);
        return 0; /* a line cut by a crash: skipped */
    }
    long long t = json_integer_value(json_object_get(e, "timeNano"));
    int past = r->until && t > r->until;
    if (!past && t >= r->since && nr_filters_match(r->filters, r->nfilters, filter_one, e)) {
        if (r->fmt.kind == NR_FMT_JSON) {
            char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
            printf("%s\n", s ? s : "{}");
            free(s);
        } else if (r->fmt.kind == NR_FMT_TEMPLATE) {
            char *s = nr_format_render(r->fmt.tmpl, e);
            printf("%s\n", s);
            free(s);
        } else {
            print_text(e, t);
        }
        fflush(stdout);
    }
    json_decref(e);
    return past;
}

/* Read fd to its current end, line by line.  1: past --until. */
static int drain(ev_reader *r, int fd)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        nr_buf_add(&r->part, buf, (size_t)n);
        size_t start = 0;
        for (size_t i = 0; i < r->part.len; i++) {
            if (r->part.data[i] != '\n')
                continue;
            r->part.data[i] = 0;
            int past = one_line(r, r->part.data + start);
            start = i + 1;
            if (past)
                return 1;
        }
        memmove(r->part.data, r->part.data + start, r->part.len - start);
        r->part.len -= start;
    }
    return 0;
}

static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static int events_run(nr_global *g, ev_reader *r, bool replay)
{
    cleanup_free char *dir = nr_xasprintf("%s/" RT_EVENTS_DIR, g->root);
    cleanup_free char *cur = rt_events_path(g->root, false), *old = rt_events_path(g->root, true);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "%s: events: mkdir %s: %s\n", g->prog, dir, strerror(errno));
        return NR_EXIT_FAIL;
    }
    /* watch first: an event written while we open the file is not missed */
    cleanup_close int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (ino >= 0)
        inotify_add_watch(ino, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO);
    if (replay) {
        cleanup_close int ofd = open(old, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (ofd >= 0 && drain(r, ofd))
            return 0;
        r->part.len = 0;
    }
    int fd = open(cur, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && !replay)
        lseek(fd, 0, SEEK_END);
    for (;;) {
        if (fd >= 0 && drain(r, fd)) {
            close(fd);
            return 0;
        }
        if (fd < 0 || !same_file(fd, cur)) { /* rotated (or not there yet): read the rest, then the new one */
            if (fd >= 0 && drain(r, fd)) {
                close(fd);
                return 0;
            }
            int nfd = open(cur, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (nfd >= 0) {
                if (fd >= 0)
                    close(fd);
                fd = nfd;
                r->part.len = 0;
                continue;
            }
        }
        long long now = now_ns();
        if (r->until && now > r->until) {
            if (fd >= 0)
                close(fd);
            return 0;
        }
        int timeout = 1000;
        if (r->until && (r->until - now) / 1000000 < timeout)
            timeout = (int)((r->until - now) / 1000000) + 1;
        struct pollfd p = {.fd = ino, .events = POLLIN};
        poll(&p, ino >= 0 ? 1 : 0, timeout);
        char evbuf[4096];
        while (ino >= 0 && read(ino, evbuf, sizeof evbuf) > 0)
            ;
    }
}

int nr_cmd_events(int argc, char **argv, nr_global *g)
{
    enum { O_SINCE = NR_OPT_LONG, O_UNTIL, O_FORMAT };
    static const nr_opt opts[] = {
        {"since", O_SINCE, required_argument, "TIME", "replay from TIME: RFC 3339, unix seconds, or a duration ago (10m)"},
        {"until", O_UNTIL, required_argument, "TIME", "stop at TIME (same forms); in the past: replay only"},
        {"filter", 'f', required_argument, "KEY=VALUE", "container=, event=, type=, image=, label=KEY[=VALUE]"},
        {"format", O_FORMAT, required_argument, "FORMAT", "json or a template like '{{.Action}} {{.Actor.Attributes.name}}'"},
        {0},
    };
    static const nr_cmdspec spec = {"events [OPTIONS]",
                                    "Show the store's events (create, start, die, oom, kill, stop, restart, rename, "
                                    "destroy, health_status) as they happen, as docker's events.",
                                    opts, true};
    ev_reader r = {0};
    nr_filter filters[64];
    size_t nf = 0;
    bool since_set = false;
    const char *format = NULL;
    int c, rc = 0;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case O_SINCE:
        case O_UNTIL: {
            long long t;
            if (parse_time(optarg, &t) < 0) {
                rc = nr_usage_error(g, "events: --%s %s: expected RFC 3339 (2026-01-02T15:04:05Z), unix seconds "
                                       "or a duration (10m)", c == O_SINCE ? "since" : "until", optarg);
                goto out;
            }
            if (c == O_SINCE)
                r.since = t, since_set = true;
            else
                r.until = t > 0 ? t : 1;
            break;
        }
        case 'f': {
            const char *eq = strchr(optarg, '=');
            cleanup_free char *k = eq ? nr_xstrndup(optarg, (size_t)(eq - optarg)) : NULL;
            if (!k || (strcmp(k, "container") && strcmp(k, "event") && strcmp(k, "type") && strcmp(k, "image") &&
                       strcmp(k, "label"))) {
                rc = nr_usage_error(g, "events: --filter %s: container=, event=, type=, image= or label=", optarg);
                goto out;
            }
            if (nf == NR_ARRAY_LEN(filters)) {
                rc = nr_usage_error(g, "events: at most %zu filters", NR_ARRAY_LEN(filters));
                goto out;
            }
            filters[nf].key = nr_xstrdup(k);
            filters[nf++].value = nr_xstrdup(eq + 1);
            break;
        }
        case O_FORMAT: format = optarg; break;
        case NR_OPT_HELP: goto out;
        default: rc = NR_EXIT_USAGE; goto out;
        }
    }
    if (optind < argc) {
        rc = nr_usage_error(g, "events: takes no arguments");
        goto out;
    }
    if (format && (rc = nr_format_parse(g, "events", format, &r.fmt)) != 0)
        goto out;
    if (format && r.fmt.kind == NR_FMT_TABLE) {
        rc = nr_usage_error(g, "events: --format: json or a template");
        goto out;
    }
    if (!format)
        r.fmt.kind = NR_FMT_TABLE; /* docker's text lines */
    if (r.until && since_set && r.until < r.since) {
        rc = nr_usage_error(g, "events: --until is before --since");
        goto out;
    }
    r.filters = filters;
    r.nfilters = nf;
    /* without --since: from now on (and --until alone replays up to it, as docker) */
    rc = events_run(g, &r, since_set || r.until);
out:
    for (size_t i = 0; i < nf; i++) {
        free(filters[i].key);
        free(filters[i].value);
    }
    free(r.part.data);
    return rc;
}

int nr_time_parse(const char *s, long long *ns)
{
    return parse_time(s, ns);
}
