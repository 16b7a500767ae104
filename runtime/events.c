/* The store's event log (runtime/events.h): append-only JSON lines, each one
 * O_APPEND write() below PIPE_BUF, rotated once past RT_EVENTS_MAX. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/events.h"
#include "runtime/runtime.h"

char *rt_events_path(const char *root, bool rotated)
{
    return nr_xasprintf("%s/" RT_EVENTS_DIR "/" RT_EVENTS_FILE "%s", root, rotated ? ".1" : "");
}

/* s cut to at most max bytes, not inside a UTF-8 sequence. */
static json_t *cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return json_string(s);
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return json_stringn(s, max);
}

/* The attributes with each string value cut to max bytes (0: only name,
 * image and exitCode kept, cut to 64). */
static json_t *attrs_fit(const json_t *attrs, size_t max)
{
    json_t *a = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)attrs, k, v) {
        if (max == 0 && strcmp(k, "name") && strcmp(k, "image") && strcmp(k, "exitCode"))
            continue;
        size_t m = max ? max : 64;
        if (strlen(k) > m)
            continue;
        if (json_is_string(v))
            json_object_set_new(a, k, cut(json_string_value(v), m));
        else if (json_is_integer(v))
            json_object_set_new(a, k, json_sprintf("%lld", (long long)json_integer_value(v)));
    }
    return a;
}

static char *event_line(const char *type, const char *action, const char *id, const json_t *attrs,
                        const struct timespec *ts)
{
    static const size_t caps[] = {SIZE_MAX, 1024, 256, 64, 0};
    for (size_t i = 0; i < NR_ARRAY_LEN(caps); i++) {
        json_t *a = attrs_fit(attrs, caps[i] == SIZE_MAX ? 1 << 20 : caps[i]);
        const char *image = json_string_value(json_object_get(a, "image"));
        json_t *e = json_object();
        if (!strcmp(type, "container")) { /* docker's older fields, kept for container events */
            json_object_set_new(e, "status", json_string(action));
            json_object_set_new(e, "id", json_string(id));
            json_object_set_new(e, "from", json_string(image ? image : ""));
        }
        json_object_set_new(e, "Type", json_string(type));
        json_object_set_new(e, "Action", json_string(action));
        json_object_set_new(e, "Actor", json_pack("{s:s, s:o}", "ID", id, "Attributes", a));
        json_object_set_new(e, "scope", json_string("local"));
        json_object_set_new(e, "time", json_integer(ts->tv_sec));
        json_object_set_new(e, "timeNano", json_integer((json_int_t)ts->tv_sec * 1000000000 + ts->tv_nsec));
        char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(e);
        if (!text)
            return NULL;
        if (strlen(text) + 1 < PIPE_BUF)
            return text;
        free(text);
    }
    return NULL;
}

/* Past RT_EVENTS_MAX: rename the file fd is open on to .1, once (the lock
 * and the inode check keep two writers from rotating twice). */
static void rotate(const char *root, int dfd, int fd)
{
    struct stat a, b;
    if (fstat(fd, &a) < 0 || a.st_size < RT_EVENTS_MAX || flock(dfd, LOCK_EX) < 0)
        return;
    if (fstatat(dfd, RT_EVENTS_FILE, &b, AT_SYMLINK_NOFOLLOW) == 0 && b.st_ino == a.st_ino && b.st_dev == a.st_dev)
        renameat(dfd, RT_EVENTS_FILE, dfd, RT_EVENTS_FILE ".1");
    flock(dfd, LOCK_UN);
    (void)root;
}

int rt_event_emit(const char *root, const char *type, const char *action, const char *id, const json_t *attrs,
                  nr_err *err)
{
    if (!type || !action || !id)
        return nr_err_set(err, "event: type, action and id are required");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_t *none = attrs ? NULL : json_object();
    cleanup_free char *text = event_line(type, action, id, attrs ? attrs : none, &ts);
    json_decref(none);
    if (!text)
        return nr_err_set(err, "event %s %s: cannot be written in one line", type, action);
    cleanup_free char *dir = nr_xasprintf("%s/" RT_EVENTS_DIR, root);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return nr_err_sys(err, errno, "mkdir %s", dir);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    for (int tries = 0;; tries++) {
        cleanup_close int fd =
            openat(dfd, RT_EVENTS_FILE, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
            return nr_err_sys(err, errno, "open %s/" RT_EVENTS_FILE, dir);
        struct stat sb;
        if (tries == 0 && fstat(fd, &sb) == 0 && sb.st_size >= RT_EVENTS_MAX) {
            rotate(root, dfd, fd);
            continue; /* append to the new file */
        }
        size_t len = strlen(text);
        text[len] = '\n'; /* json_dumps' NUL becomes the line end: one write */
        ssize_t w = write(fd, text, len + 1);
        text[len] = 0;
        if (w < 0)
            return nr_err_sys(err, errno, "write %s/" RT_EVENTS_FILE, dir);
        if ((size_t)w != len + 1)
            return nr_err_set(err, "write %s/" RT_EVENTS_FILE ": short write", dir);
        return 0;
    }
}

void rt_event_container(const char *root, const char *action, const char *id, const rt_state *st_in,
                        const json_t *extra)
{
    rt_state st_own;
    nr_err ign;
    const rt_state *st = st_in;
    if (!st && rt_state_read(root, id, &st_own, &ign) == 0)
        st = &st_own;
    json_t *a = json_object();
    /* the labels first: name and image are ours, a label cannot replace them */
    cleanup_free char *run = nr_xasprintf("%s/containers/%s/run.json", root, id);
    json_t *rj = json_load_file(run, JSON_REJECT_DUPLICATES, NULL);
    json_t *labels = json_object_get(json_object_get(rj, "config"), "Labels");
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
        if (json_is_string(v))
            json_object_set(a, k, v);
    json_decref(rj);
    if (st && st->image)
        json_object_set_new(a, "image", json_string(st->image));
    if (st && st->name)
        json_object_set_new(a, "name", json_string(st->name));
    json_object_foreach((json_t *)extra, k, v)
        json_object_set(a, k, v);
    rt_event_emit(root, "container", action, id, a, &ign);
    json_decref(a);
    if (st == &st_own)
        rt_state_free(&st_own);
}
