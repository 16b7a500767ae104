/* Reproducible layer writer: entries collected, sorted, then written as a
 * PAX-restricted tar whose bytes are hashed (diff_id) and fed to a second
 * libarchive writer in "raw" format that only compresses (gzip without
 * name/time, or zstd) into a blob writer (digest). */
#include "images/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "images/image.h"
#include "images/pgzip.h"

typedef struct ent {
    img_entry_type type;
    char *path;     /* normalized tar name (whiteouts already as .wh.) */
    mode_t mode;
    uid_t uid;
    gid_t gid;
    char *host_path;
    int at_fd;      /* not owned: the caller keeps it open until commit */
    int fd;
    char *data;
    size_t data_len;
    uint64_t size;
    char *caps;
    size_t caps_len;
    char *link;
    size_t seq;
    bool spooled;   /* its size bytes are in the writer's spool at off */
    uint64_t off;
} ent;

struct img_layer_writer {
    img_store *s;
    img_compress c;
    int level; /* 0: the default */
    long long mtime;
    ent *e;
    size_t n, cap;
    volatile sig_atomic_t *stop;
    int spool;          /* -1 until the first spooled file */
    uint64_t spool_len;
    uint64_t held;      /* bytes the entries hold in memory (LAYER_HELD_MAX) */
};

/* What a layer's entries may hold in memory until the commit writes them
 * (names, host paths, link targets, in-memory data): a container's own
 * files (nrun commit, a RUN step) can be many with long names; past this the
 * layer is refused rather than the host's memory spent (as nrun diff's
 * listing and export's names are bounded). */
#define LAYER_HELD_MAX (256ull << 20)

int img_compress_parse(const char *s, img_compress *out, nr_err *err)
{
    if (!strcmp(s, "gzip"))
        *out = IMG_COMPRESS_GZIP;
    else if (!strcmp(s, "zstd"))
        *out = IMG_COMPRESS_ZSTD;
    else
        return nr_err_set(err, "unknown compression \"%.40s\" (gzip or zstd)", s);
    return 0;
}

const char *img_compress_media_type(img_compress c)
{
    return c == IMG_COMPRESS_ZSTD ? IMG_MT_LAYER_ZSTD : IMG_MT_LAYER_GZIP;
}

int img_layer_writer_new(img_store *s, img_compress c, long long mtime, img_layer_writer **out, nr_err *err)
{
    if (c != IMG_COMPRESS_GZIP && c != IMG_COMPRESS_ZSTD)
        return nr_err_set(err, "unknown layer compression %d", (int)c);
    if (mtime < 0) {
        mtime = 0;
        const char *e = getenv("SOURCE_DATE_EPOCH");
        if (e && *e) {
            char *end;
            long long v = strtoll(e, &end, 10);
            if (*end || v < 0)
                return nr_err_set(err, "SOURCE_DATE_EPOCH=\"%.40s\" is not a number of seconds", e);
            mtime = v;
        }
    }
    img_layer_writer *w = nr_xcalloc(1, sizeof *w);
    w->s = s;
    w->c = c;
    w->mtime = mtime;
    w->spool = -1;
    *out = w;
    return 0;
}

char *img_layer_path_norm(const char *p)
{
    if (!p)
        return NULL;
    nr_buf b = {0};
    const char *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t n = (size_t)(e - s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            nr_buf_free(&b);
            return NULL;
        }
        if (n && !(n == 1 && s[0] == '.')) {
            if (b.len)
                nr_buf_add(&b, "/", 1);
            nr_buf_add(&b, s, n);
        }
        s = e;
    }
    if (!b.len) {
        nr_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static void ent_free(ent *e)
{
    free(e->path);
    free(e->host_path);
    free(e->data);
    free(e->link);
    free(e->caps);
    if (e->fd >= 0)
        close(e->fd);
}

int img_layer_add(img_layer_writer *w, const img_layer_entry *in, nr_err *err)
{
    ent e = {.type = in->type, .mode = in->mode & 07777, .uid = in->uid, .gid = in->gid, .fd = -1, .seq = w->n};
    cleanup_free char *p = img_layer_path_norm(in->path);
    if (!p)
        return nr_err_set(err, "layer entry \"%.200s\": path is empty or contains \"..\"", in->path ? in->path : "");
    switch (in->type) {
    case IMG_ENT_FILE: {
        int sources = !!in->host_path + (in->fd > 0) + !!in->data;
        if (sources != 1)
            return nr_err_set(err, "layer entry %s: a file needs exactly one of host_path, fd, data", p);
        if (in->caps && (!in->caps_len || in->caps_len > 256))
            return nr_err_set(err, "layer entry %s: security.capability of %zu bytes", p, in->caps_len);
        if (in->host_path) {
            e.host_path = nr_xstrdup(in->host_path);
            e.at_fd = in->at_fd > 0 ? in->at_fd : 0;
            e.size = in->size;
        } else if (in->data) {
            e.data = nr_xmalloc(in->data_len);
            memcpy(e.data, in->data, in->data_len);
            e.data_len = e.size = in->data_len;
        } else {
            e.fd = fcntl(in->fd, F_DUPFD_CLOEXEC, 3);
            if (e.fd < 0)
                return nr_err_sys(err, errno, "layer entry %s: dup fd", p);
            e.size = in->size;
        }
        if (in->caps) {
            e.caps = nr_xmalloc(in->caps_len);
            memcpy(e.caps, in->caps, in->caps_len);
            e.caps_len = in->caps_len;
        }
        break;
    }
    case IMG_ENT_DIR:
    case IMG_ENT_FIFO:
        break;
    case IMG_ENT_SYMLINK:
        if (!in->link || !*in->link)
            return nr_err_set(err, "layer entry %s: symlink without a target", p);
        e.link = nr_xstrdup(in->link);
        break;
    case IMG_ENT_HARDLINK:
        e.link = img_layer_path_norm(in->link);
        if (!e.link)
            return nr_err_set(err, "layer entry %s: hardlink target \"%.200s\" is empty or contains \"..\"", p,
                              in->link ? in->link : "");
        break;
    case IMG_ENT_WHITEOUT:
    case IMG_ENT_OPAQUE: {
        char *slash = strrchr(p, '/');
        char *np = in->type == IMG_ENT_OPAQUE ? nr_xasprintf("%s/.wh..wh..opq", p)
                   : slash                    ? nr_xasprintf("%.*s/.wh.%s", (int)(slash - p), p, slash + 1)
                                              : nr_xasprintf(".wh.%s", p);
        free(p);
        p = np;
        e.mode = 0;
        e.uid = 0;
        e.gid = 0;
        break;
    }
    default:
        return nr_err_set(err, "layer entry %s: unknown type %d", p, (int)in->type);
    }
    e.path = steal_ptr(&p);
    uint64_t held = sizeof e + strlen(e.path) + (e.host_path ? strlen(e.host_path) : 0) +
                    (e.link ? strlen(e.link) : 0) + e.data_len + e.caps_len;
    if (w->held + held > LAYER_HELD_MAX) {
        nr_err_set(err, "layer: its %zu entries' names and data reach %llu MiB (too many files or too long names); "
                        "refused at %.200s",
                   w->n, (unsigned long long)(LAYER_HELD_MAX >> 20), e.path);
        ent_free(&e);
        return -1;
    }
    w->held += held;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->e = nr_xrealloc(w->e, w->cap * sizeof *w->e);
    }
    w->e[w->n++] = e;
    return 0;
}

int img_layer_add_file(img_layer_writer *w, const char *path, const char *host_path, uint64_t size, mode_t mode,
                       uid_t uid, gid_t gid, nr_err *err)
{
    img_layer_entry e = {.type = IMG_ENT_FILE, .path = path, .mode = mode, .uid = uid, .gid = gid,
                         .host_path = host_path, .fd = -1, .size = size};
    return img_layer_add(w, &e, err);
}
int img_layer_add_file_fd(img_layer_writer *w, const char *path, int fd, uint64_t size, mode_t mode, uid_t uid,
                          gid_t gid, nr_err *err)
{
    if (fd < 0)
        return nr_err_set(err, "layer entry %s: invalid fd", path);
    img_layer_entry e = {.type = IMG_ENT_FILE, .path = path, .mode = mode, .uid = uid, .gid = gid, .fd = fd,
                         .size = size};
    return img_layer_add(w, &e, err);
}
int img_layer_add_file_at(img_layer_writer *w, const char *path, int at_fd, const char *rel, uint64_t size,
                          mode_t mode, uid_t uid, gid_t gid, nr_err *err)
{
    if (at_fd <= 0 || !rel)
        return nr_err_set(err, "layer entry %s: invalid directory fd or path", path);
    img_layer_entry e = {.type = IMG_ENT_FILE, .path = path, .mode = mode, .uid = uid, .gid = gid, .host_path = rel,
                         .at_fd = at_fd, .fd = -1, .size = size};
    return img_layer_add(w, &e, err);
}
int img_layer_add_data(img_layer_writer *w, const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
                       gid_t gid, nr_err *err)
{
    img_layer_entry e = {.type = IMG_ENT_FILE, .path = path, .mode = mode, .uid = uid, .gid = gid, .fd = -1,
                         .data = data ? data : "", .data_len = len};
    return img_layer_add(w, &e, err);
}
/* The spool: one unnamed file in the store's blobs dir (its file system,
 * whose space the build checked), so a spooled file costs disk, not memory,
 * and no descriptor of its own. */
static int spool_open(img_layer_writer *w, nr_err *err)
{
    int dfd = img_store_blobs_dirfd(w->s);
    w->spool = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (w->spool >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return w->spool >= 0 ? 0 : nr_err_sys(err, errno, "layer spool in %s", img_store_root(w->s));
    char name[64];
    snprintf(name, sizeof name, ".tmp-spool-%d-%lx", (int)getpid(), (unsigned long)random());
    w->spool = openat(dfd, name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (w->spool < 0)
        return nr_err_sys(err, errno, "layer spool in %s", img_store_root(w->s));
    unlinkat(dfd, name, 0);
    return 0;
}

int img_layer_add_spooled(img_layer_writer *w, const char *path, img_layer_read_fn rd, void *ctx, mode_t mode,
                          uid_t uid, gid_t gid, nr_err *err)
{
    if (w->spool < 0 && spool_open(w, err) < 0)
        return -1;
    uint64_t off = w->spool_len, len = 0;
    char buf[65536];
    for (;;) {
        ssize_t n = rd(ctx, buf, sizeof buf, err);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        for (size_t done = 0; done < (size_t)n;) {
            ssize_t k = pwrite(w->spool, buf + done, (size_t)n - done, (off_t)(off + len + done));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return nr_err_sys(err, errno, "layer entry %s: spool", path);
            done += (size_t)k;
        }
        len += (uint64_t)n;
    }
    w->spool_len = off + len;
    if (img_layer_add_data(w, path, "", 0, mode, uid, gid, err) < 0)
        return -1;
    ent *e = &w->e[w->n - 1];
    e->spooled = true;
    e->off = off;
    e->size = len;
    return 0;
}

int img_layer_add_dir(img_layer_writer *w, const char *path, mode_t mode, uid_t uid, gid_t gid, nr_err *err)
{
    img_layer_entry e = {.type = IMG_ENT_DIR, .path = path, .mode = mode, .uid = uid, .gid = gid, .fd = -1};
    return img_layer_add(w, &e, err);
}
int img_layer_add_symlink(img_layer_writer *w, const char *path, const char *target, uid_t uid, gid_t gid, nr_err *err)
{
    img_layer_entry e = {.type = IMG_ENT_SYMLINK, .path = path, .mode = 0777, .uid = uid, .gid = gid, .fd = -1,
                         .link = target};
    return img_layer_add(w, &e, err);
}
int img_layer_add_hardlink(img_layer_writer *w, const char *path, const char *target, nr_err *err)
{
    img_layer_entry e = {.type = IMG_ENT_HARDLINK, .path = path, .fd = -1, .link = target};
    return img_layer_add(w, &e, err);
}
int img_layer_add_whiteout(img_layer_writer *w, const char *path, nr_err *err)
{
    img_layer_entry e = {.type = IMG_ENT_WHITEOUT, .path = path, .fd = -1};
    return img_layer_add(w, &e, err);
}
int img_layer_add_opaque(img_layer_writer *w, const char *dirpath, nr_err *err)
{
    img_layer_entry e = {.type = IMG_ENT_OPAQUE, .path = dirpath, .fd = -1};
    return img_layer_add(w, &e, err);
}
size_t img_layer_count(const img_layer_writer *w)
{
    return w->n;
}

int img_layer_writer_set_level(img_layer_writer *w, int level, nr_err *err)
{
    int max = w->c == IMG_COMPRESS_ZSTD ? 19 : 9;
    if (level < 1 || level > max)
        return nr_err_set(err, "compression level %d is out of range (1-%d)", level, max);
    w->level = level;
    return 0;
}

void img_layer_writer_abort(img_layer_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        ent_free(&w->e[i]);
    free(w->e);
    if (w->spool >= 0)
        close(w->spool);
    free(w);
}

static int cmp_ent(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static ent *find_ent(img_layer_writer *w, const char *path)
{
    ent key = {.path = (char *)path, .seq = 0};
    size_t lo = 0, hi = w->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(w->e[mid].path, key.path);
        if (c == 0)
            return &w->e[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Sort, keep the last entry of each path, and make every hardlink point to
 * the first (in tar order) name of its file, as tar readers require. */
static int prepare(img_layer_writer *w, nr_err *err)
{
    if (w->n)
        qsort(w->e, w->n, sizeof *w->e, cmp_ent);
    size_t out = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (i + 1 < w->n && !strcmp(w->e[i].path, w->e[i + 1].path)) {
            ent_free(&w->e[i]);
            continue;
        }
        w->e[out++] = w->e[i];
    }
    w->n = out;
    for (size_t i = 0; i < w->n; i++) {
        ent *h = &w->e[i];
        if (h->type != IMG_ENT_HARDLINK)
            continue;
        ent *t = find_ent(w, h->link);
        if (!t || t->type != IMG_ENT_FILE)
            return nr_err_set(err, "layer entry %s: hardlink target %s is not a regular file of this layer", h->path,
                              h->link);
        /* Same inode, same metadata (tar readers ignore it, listings show it). */
        h->mode = t->mode;
        h->uid = t->uid;
        h->gid = t->gid;
        if (strcmp(t->path, h->path) < 0)
            continue;
        /* The link comes first in the tar: it takes the content, the old
         * target and every other link to it point to it. */
        char *first = h->path, *old = t->path;
        ent content = *t;
        content.path = first;
        content.seq = h->seq;
        char *oldlink = h->link;
        ent link = {.type = IMG_ENT_HARDLINK, .path = old, .mode = t->mode, .uid = t->uid, .gid = t->gid, .fd = -1,
                    .link = nr_xstrdup(first), .seq = t->seq};
        for (size_t j = i + 1; j < w->n; j++)
            if (w->e[j].type == IMG_ENT_HARDLINK && !strcmp(w->e[j].link, old)) {
                free(w->e[j].link);
                w->e[j].link = nr_xstrdup(first);
            }
        free(oldlink);
        *h = content;
        *t = link;
    }
    return 0;
}

typedef struct sink {
    img_blob_writer *bw;
    struct archive *z;  /* zstd: libarchive's compressor (raw format) */
    img_pgz *gz;        /* gzip: ours, on every CPU */
    nr_sha256 *diff;
    nr_err *err;
    volatile sig_atomic_t *stop;
    bool failed;
} sink;

static la_ssize_t blob_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
    sink *k = ctx;
    if (img_blob_writer_write(k->bw, buf, len, k->err) < 0) {
        k->failed = true;
        archive_set_error(a, k->err->errnum ? k->err->errnum : EIO, "%s", k->err->msg);
        return -1;
    }
    return (la_ssize_t)len;
}

static int gz_cb(void *ctx, const void *buf, size_t len, nr_err *err)
{
    sink *k = ctx;
    return img_blob_writer_write(k->bw, buf, len, err);
}

static la_ssize_t tar_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
    sink *k = ctx;
    if (k->stop && *k->stop) {
        if (!k->failed)
            nr_err_sys(k->err, EINTR, "write layer: stopped");
        k->failed = true;
        archive_set_error(a, EINTR, "%s", k->err->msg);
        return -1;
    }
    nr_sha256_update(k->diff, buf, len);
    if (k->gz) {
        if (img_pgz_write(k->gz, buf, len, k->err) < 0) {
            k->failed = true;
            archive_set_error(a, k->err->errnum ? k->err->errnum : EIO, "%s", k->err->msg);
            return -1;
        }
        return (la_ssize_t)len;
    }
    if (archive_write_data(k->z, buf, len) < 0) {
        if (!k->failed)
            nr_err_set(k->err, "compress layer: %s", archive_error_string(k->z));
        k->failed = true;
        archive_set_error(a, EIO, "%s", k->err->msg);
        return -1;
    }
    return (la_ssize_t)len;
}

static int la_fail(struct archive *a, sink *k, const char *what, const char *path, nr_err *err)
{
    if (k->failed)
        return nr_err_wrap(err, "write layer entry %s", path);
    return nr_err_set(err, "%s %s: %s", what, path, archive_error_string(a));
}

static int write_content(struct archive *a, sink *k, ent *e, int spool, nr_err *err)
{
    if (e->data && !e->spooled) {
        if (e->data_len && archive_write_data(a, e->data, e->data_len) < 0)
            return la_fail(a, k, "write layer entry", e->path, err);
        return 0;
    }
    cleanup_close int own = -1;
    int fd = e->fd;
    if (e->host_path && e->at_fd > 0) {
        /* beneath at_fd, no symlink in any component, never a FIFO's open to block */
        struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
        own = (int)syscall(SYS_openat2, e->at_fd, e->host_path, &how, sizeof how);
        struct stat st;
        if (own < 0 && (errno == ELOOP || errno == EXDEV))
            return nr_err_set(err, "%s changed before the layer was written (a symlink in its path)", e->host_path);
        if (own < 0)
            return nr_err_sys(err, errno, "open %s", e->host_path);
        if (fstat(own, &st) < 0 || !S_ISREG(st.st_mode))
            return nr_err_set(err, "%s is no longer a regular file", e->host_path);
        fd = own;
    } else if (e->host_path) {
        own = open(e->host_path, O_RDONLY | O_CLOEXEC);
        if (own < 0)
            return nr_err_sys(err, errno, "open %s", e->host_path);
        fd = own;
    }
    const char *src = e->host_path ? e->host_path : e->path;
    char buf[65536];
    uint64_t off = 0, base = 0;
    if (e->spooled)
        fd = spool, base = e->off;
    for (;;) {
        size_t want = sizeof buf;
        if (e->spooled && e->size - off < want)
            want = (size_t)(e->size - off);
        ssize_t r = want ? pread(fd, buf, want, (off_t)(base + off)) : 0;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return nr_err_sys(err, errno, "read %s", src);
        }
        if (r == 0)
            break;
        if (off + (uint64_t)r > e->size)
            return nr_err_set(err, "%s grew while the layer was written (expected %llu bytes)", src,
                              (unsigned long long)e->size);
        if (archive_write_data(a, buf, (size_t)r) < 0)
            return la_fail(a, k, "write layer entry", e->path, err);
        off += (uint64_t)r;
    }
    if (off != e->size)
        return nr_err_set(err, "%s has %llu bytes, expected %llu (changed while the layer was written)", src,
                          (unsigned long long)off, (unsigned long long)e->size);
    return 0;
}

static int write_entries(img_layer_writer *w, struct archive *a, sink *k, nr_err *err)
{
    struct archive_entry *ae = archive_entry_new();
    int ret = 0;
    for (size_t i = 0; i < w->n && ret == 0; i++) {
        ent *e = &w->e[i];
        archive_entry_clear(ae);
        archive_entry_copy_pathname(ae, e->path);
        archive_entry_set_uid(ae, e->uid);
        archive_entry_set_gid(ae, e->gid);
        archive_entry_set_mtime(ae, (time_t)w->mtime, 0);
        switch (e->type) {
        case IMG_ENT_FILE:
        case IMG_ENT_WHITEOUT:
        case IMG_ENT_OPAQUE:
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_size(ae, (la_int64_t)e->size);
            break;
        case IMG_ENT_DIR:
            archive_entry_set_filetype(ae, AE_IFDIR);
            archive_entry_set_size(ae, 0);
            break;
        case IMG_ENT_FIFO:
            archive_entry_set_filetype(ae, AE_IFIFO);
            archive_entry_set_size(ae, 0);
            break;
        case IMG_ENT_SYMLINK:
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_copy_symlink(ae, e->link);
            archive_entry_set_size(ae, 0);
            break;
        case IMG_ENT_HARDLINK:
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_copy_hardlink(ae, e->link);
            archive_entry_set_size(ae, 0);
            break;
        }
        archive_entry_set_perm(ae, e->mode);
        if (e->type == IMG_ENT_FILE && e->caps)
            archive_entry_xattr_add_entry(ae, "security.capability", e->caps, e->caps_len);
        int hr = archive_write_header(a, ae);
        /* ARCHIVE_WARN: a name written as its bytes (hdrcharset=BINARY), whole */
        if (hr != ARCHIVE_OK && hr != ARCHIVE_WARN) {
            ret = la_fail(a, k, "write layer entry", e->path, err);
            break;
        }
        if (e->type == IMG_ENT_FILE && e->size)
            ret = write_content(a, k, e, w->spool, err);
    }
    archive_entry_free(ae);
    return ret;
}

/* zstd: libarchive's compressor in "raw" format (no container) into the blob. */
static int open_zstd(img_layer_writer *w, sink *k, nr_err *err)
{
    k->z = archive_write_new();
    if (!k->z)
        return nr_err_set(err, "libarchive: out of memory");
    int r = archive_write_add_filter_zstd(k->z);
    if (r == ARCHIVE_OK && w->level) {
        char lv[8];
        snprintf(lv, sizeof lv, "%d", w->level);
        r = archive_write_set_filter_option(k->z, NULL, "compression-level", lv);
    }
    if (r == ARCHIVE_OK)
        r = archive_write_set_format_raw(k->z);
    if (r == ARCHIVE_OK)
        r = archive_write_set_bytes_per_block(k->z, 0);
    if (r == ARCHIVE_OK)
        r = archive_write_open2(k->z, k, NULL, blob_cb, NULL, NULL);
    if (r == ARCHIVE_OK) {
        struct archive_entry *ze = archive_entry_new();
        archive_entry_set_pathname(ze, "layer.tar");
        archive_entry_set_filetype(ze, AE_IFREG);
        archive_entry_set_perm(ze, 0644);
        r = archive_write_header(k->z, ze);
        archive_entry_free(ze);
    }
    if (r != ARCHIVE_OK)
        return nr_err_set(err, "layer compressor: %s", archive_error_string(k->z));
    return 0;
}

void img_layer_writer_set_stop(img_layer_writer *w, volatile sig_atomic_t *stop)
{
    w->stop = stop;
}

int img_layer_writer_commit(img_layer_writer *w, img_layer_info *out, nr_err *err)
{
    int ret = -1;
    sink k = {.err = err, .stop = w->stop};
    struct archive *a = NULL;
    if (prepare(w, err) < 0)
        goto done;
    if (img_blob_writer_new(w->s, &k.bw, err) < 0)
        goto done;
    k.diff = nr_sha256_new();
    a = archive_write_new();
    if (!a) {
        nr_err_set(err, "libarchive: out of memory");
        goto done;
    }
    if (w->c == IMG_COMPRESS_GZIP) {
        /* gzip: ours, compressed on every CPU into one member whose bytes do
         * not depend on their number (images/pgzip.h) */
        k.gz = img_pgz_new(w->level, 0, gz_cb, &k);
    } else if (open_zstd(w, &k, err) < 0) {
        goto done;
    }
    /* The tar: plain ustar headers unless a field needs PAX (as BuildKit's
     * and docker's layers); no blocking padding beyond the two
     * end-of-archive blocks.  A name the C locale cannot represent (UTF-8
     * beyond ASCII) gets a PAX header of its own with hdrcharset=BINARY:
     * its bytes as we were given them, not converted (write_entries takes
     * libarchive's warning about it).  Set for every entry, that record
     * cost each one two more blocks and made GNU tar warn on each. */
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
        archive_write_open2(a, &k, NULL, tar_cb, NULL, NULL) != ARCHIVE_OK) {
        nr_err_set(err, "layer tar: %s", archive_error_string(a));
        goto done;
    }
    if (write_entries(w, a, &k, err) < 0)
        goto done;
    if (archive_write_close(a) != ARCHIVE_OK) {
        la_fail(a, &k, "finish layer", "tar", err);
        goto done;
    }
    if (k.gz ? img_pgz_finish(k.gz, err) < 0 : archive_write_close(k.z) != ARCHIVE_OK) {
        if (!k.gz)
            la_fail(k.z, &k, "finish layer", "compression", err);
        goto done;
    }
    char hex[65];
    nr_sha256_final(k.diff, hex);
    k.diff = NULL;
    memset(out, 0, sizeof *out);
    snprintf(out->diff_id, sizeof out->diff_id, "sha256:%s", hex);
    out->media_type = img_compress_media_type(w->c);
    out->n_entries = w->n;
    ret = img_blob_writer_commit(k.bw, out->digest, &out->size, err);
    k.bw = NULL;
done:
    if (a)
        archive_write_free(a);
    if (k.z)
        archive_write_free(k.z);
    img_pgz_free(k.gz);
    if (k.diff) {
        char hex[65];
        nr_sha256_final(k.diff, hex);
    }
    img_blob_writer_abort(k.bw);
    img_layer_writer_abort(w);
    return ret;
}

int img_layer_writer_commit_desc(img_layer_writer *w, img_layer_desc *out, nr_err *err)
{
    img_layer_info info;
    if (img_layer_writer_commit(w, &info, err) < 0)
        return -1;
    memset(out, 0, sizeof *out);
    snprintf(out->blob.media_type, sizeof out->blob.media_type, "%s", info.media_type);
    snprintf(out->blob.digest, sizeof out->blob.digest, "%s", info.digest);
    out->blob.size = info.size;
    snprintf(out->diff_id, sizeof out->diff_id, "%s", info.diff_id);
    return 0;
}
