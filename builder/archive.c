/* ADD archives (see archive.h).  One walk function serves both the check
 * (w == NULL) and the unpacking into a layer, so both see the same rules. */
#include "builder/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/context.h"
#include "common/util.h"
#include "images/xz.h"

static struct archive *open_archive(int fd, const char *shown, nr_err *err)
{
    struct archive *a = archive_read_new();
    if (!a) {
        nr_err_set(err, "libarchive: out of memory");
        return NULL;
    }
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    if (lseek(fd, 0, SEEK_SET) < 0 || img_xz_open_fd(a, fd, false) != ARCHIVE_OK) {
        nr_err_set(err, "%s: %s", shown, archive_error_string(a) ? archive_error_string(a) : "not an archive");
        err->errnum = archive_errno(a);
        archive_read_free(a);
        return NULL;
    }
    return a;
}

bool bld_archive_probe(int fd, const char *shown)
{
    nr_err e;
    struct archive *a = open_archive(fd, shown, &e);
    if (!a)
        return e.errnum == ENOMEM; /* an xz past IMG_XZ_MEMLIMIT: the ADD's error, not a file to copy */
    struct archive_entry *ent;
    int r = archive_read_next_header(a, &ent);
    archive_read_free(a);
    return r == ARCHIVE_OK || r == ARCHIVE_WARN;
}

/* Names of symlinks seen so far, to refuse entries written through them. */
typedef struct names {
    char **v;
    size_t n;
} names;

static bool names_has(const names *s, const char *p)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], p))
            return true;
    return false;
}

static void names_add(names *s, const char *p)
{
    s->v = nr_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n++] = nr_xstrdup(p);
}

static void names_free(names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* Clean an entry name; NULL when it is absolute or climbs out. */
static char *safe_name(const char *raw)
{
    if (!raw || !*raw || raw[0] == '/')
        return NULL;
    char *c = bld_path_clean(raw);
    if (!strcmp(c, "..") || !strncmp(c, "../", 3)) {
        free(c);
        return NULL;
    }
    return c;
}

typedef struct entry_src {
    struct archive *a;
    const char *shown, *raw;
} entry_src;

/* The current entry's data, for img_layer_add_spooled */
static ssize_t entry_read(void *ctx, void *buf, size_t len, nr_err *err)
{
    entry_src *s = ctx;
    la_ssize_t n = archive_read_data(s->a, buf, len);
    if (n < 0)
        return nr_err_set(err, "ADD %s: entry \"%s\": %s", s->shown, s->raw, archive_error_string(s->a));
    return (ssize_t)n;
}

static int walk(img_layer_writer *w, int fd, const char *shown, const char *dest, const bld_owner *o,
                uint64_t *bytes, nr_err *err)
{
    struct archive *a = open_archive(fd, shown, err);
    if (!a)
        return nr_err_wrap(err, "ADD %s", shown);
    names links = {0}, seen = {0};
    int rc = 0;
    struct archive_entry *ent;
    char *buf = NULL;
    for (;;) {
        int r = archive_read_next_header(a, &ent);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            rc = nr_err_set(err, "ADD %s: %s", shown, archive_error_string(a));
            break;
        }
        const char *raw = archive_entry_pathname(ent);
        cleanup_free char *name = safe_name(raw);
        if (!name) {
            rc = nr_err_set(err, "ADD %s: entry \"%s\" would be written outside the destination", shown,
                            raw ? raw : "");
            break;
        }
        if (!strcmp(name, "."))
            continue;
        /* Refuse a path below one of this archive's symlinks. */
        for (char *sl = strchr(name, '/'); sl && rc == 0; sl = strchr(sl + 1, '/')) {
            *sl = '\0';
            if (names_has(&links, name))
                rc = nr_err_set(err, "ADD %s: entry \"%s\" goes through the symlink \"%s\"", shown, raw, name);
            *sl = '/';
        }
        if (rc < 0)
            break;
        cleanup_free char *path = bld_path_join(dest, name);
        if (bytes)
            *bytes += 1024 + ((uint64_t)(archive_entry_size(ent) > 0 ? archive_entry_size(ent) : 0) + 511) / 512 * 512;
        mode_t type = archive_entry_filetype(ent);
        mode_t mode = bld_owner_mode(o, archive_entry_perm(ent) & 07777, type == AE_IFDIR);
        uid_t uid = o->chown ? o->uid : (uid_t)archive_entry_uid(ent);
        gid_t gid = o->chown ? o->gid : (gid_t)archive_entry_gid(ent);
        const char *hl = archive_entry_hardlink(ent);
        if (hl) {
            cleanup_free char *t = safe_name(hl);
            if (!t || !names_has(&seen, t)) {
                rc = nr_err_set(err, "ADD %s: hardlink \"%s\" points to \"%s\", outside the archive", shown, raw, hl);
                break;
            }
            cleanup_free char *tp = bld_path_join(dest, t);
            if (w && img_layer_add_hardlink(w, path, tp, err) < 0)
                rc = -1;
        } else if (type == AE_IFDIR) {
            if (w && img_layer_add_dir(w, path, mode, uid, gid, err) < 0)
                rc = -1;
        } else if (type == AE_IFLNK) {
            names_add(&links, name);
            const char *target = archive_entry_symlink(ent);
            if (w && img_layer_add_symlink(w, path, target ? target : "", uid, gid, err) < 0)
                rc = -1;
        } else if (type == AE_IFREG) {
            la_int64_t sz = archive_entry_size(ent);
            if (sz < 0 || sz > (1LL << 32)) {
                rc = nr_err_set(err, "ADD %s: entry \"%s\" has a bad size", shown, raw);
                break;
            }
            /* spooled to the store's disk, never held in memory: a few MB
             * of gzip can unpack to more than the machine has */
            entry_src src = {a, shown, raw};
            if (w) {
                if (img_layer_add_spooled(w, path, entry_read, &src, mode, uid, gid, err) < 0)
                    rc = -1;
            } else {
                char chunk[65536];
                ssize_t n;
                while ((n = entry_read(&src, chunk, sizeof chunk, err)) > 0)
                    ;
                if (n < 0)
                    rc = -1;
            }
        } else {
            rc = nr_err_set(err, "ADD %s: entry \"%s\" is a special file (not supported)", shown, raw);
        }
        if (rc < 0)
            break;
        names_add(&seen, name);
    }
    free(buf);
    names_free(&links);
    names_free(&seen);
    archive_read_free(a);
    return rc;
}

int bld_archive_check(int fd, const char *shown, uint64_t *bytes_out, nr_err *err)
{
    bld_owner none = {0};
    uint64_t bytes = 0;
    int rc = walk(NULL, fd, shown, "/", &none, &bytes, err);
    if (bytes_out)
        *bytes_out = bytes;
    return rc;
}

int bld_archive_add(img_layer_writer *w, int fd, const char *shown, const char *dest, const bld_owner *o,
                    nr_err *err)
{
    return walk(w, fd, shown, dest, o, NULL, err);
}
