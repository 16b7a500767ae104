/* Directories known to exist in a stage, for Docker's rule that a COPY
 * destination naming an existing directory copies into it even without a
 * trailing '/'.  Directories made by this build are tracked as steps are
 * planned; those of the base image are listed once from its layers and the
 * list is kept in <cache>/dirs/<manifest hex> (only read when needed). */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build_int.h"
#include "common/util.h"

void bld_stage_add_dir(bld_stage *st, const char *path)
{
    cleanup_free char *p = bld_path_clean(path);
    while (p[0] == '/' && p[1]) {
        bool have = false;
        for (size_t i = 0; i < st->n_dirs && !have; i++)
            have = !strcmp(st->dirs[i], p);
        if (have)
            return; /* its parents are known too */
        st->dirs = nr_xrealloc(st->dirs, (st->n_dirs + 1) * sizeof *st->dirs);
        st->dirs[st->n_dirs++] = nr_xstrdup(p);
        char *sl = strrchr(p, '/');
        sl[sl == p ? 1 : 0] = '\0';
    }
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "\n/a\n/a/b\n" of every directory in the base layers (explicit entries
 * and the parents of every entry). */
static int scan_base(bld_state *b, bld_stage *st, nr_buf *out, nr_err *err)
{
    char **v = NULL;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < st->n_base_layers && rc == 0; i++) {
        const img_layer_desc *l = &st->layers[i]->layer;
        img_layer_reader *r;
        if ((rc = img_layer_reader_open(b->s, l->blob.digest, (int64_t)l->blob.size, l->diff_id, &r, err)) < 0)
            break;
        struct archive *a = img_layer_reader_archive(r);
        struct archive_entry *e;
        int ar;
        while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
            const char *nm = archive_entry_pathname(e);
            if (!nm)
                continue;
            cleanup_free char *p = bld_path_join("/", nm);
            if (archive_entry_filetype(e) != AE_IFDIR) {
                char *sl = strrchr(p, '/');
                sl[sl == p ? 1 : 0] = '\0';
            }
            if (strcmp(p, "/")) {
                v = nr_xrealloc(v, (n + 1) * sizeof *v);
                v[n++] = steal_ptr(&p);
            }
        }
        if (ar != ARCHIVE_EOF)
            rc = nr_err_set(err, "layer %s: %s", l->blob.digest, archive_error_string(a));
        if (rc == 0)
            rc = img_layer_reader_finish(r, err);
        img_layer_reader_close(r);
    }
    if (n > 1)
        qsort(v, n, sizeof *v, str_cmp);
    nr_buf_addstr(out, "\n");
    for (size_t i = 0; i < n && rc == 0; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]))
            nr_buf_addf(out, "%s\n", v[i]);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return rc;
}

bool bld_stage_is_dir(bld_state *b, bld_stage *st, const char *path)
{
    for (size_t i = 0; i < st->n_dirs; i++)
        if (!strcmp(st->dirs[i], path))
            return true;
    if (!st->base_digest[0])
        return false;
    if (!st->base_dirs_loaded) {
        st->base_dirs_loaded = true;
        const char *hex = img_digest_hex(st->base_digest);
        cleanup_free char *p = nr_xasprintf("%s/dirs/%s", b->cache_dir, hex);
        nr_err e;
        if (nr_read_file(AT_FDCWD, p, 64u << 20, &st->base_dirs, NULL, &e) < 0) {
            nr_buf out = {0};
            if (scan_base(b, st, &out, &e) < 0) {
                nr_buf_free(&out); /* unreadable base: the layer reader will say so later */
                return false;
            }
            st->base_dirs = out.data;
            /* Best effort: the list only saves a rescan. */
            cleanup_free char *dir = nr_xasprintf("%s/dirs", b->cache_dir);
            if (nr_mkdir_p(dir, 0700, &e) == 0) {
                cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd >= 0)
                    nr_write_atomic(dfd, hex, out.data, out.len, 0600, &e);
            }
        }
    }
    if (!st->base_dirs)
        return false;
    cleanup_free char *needle = nr_xasprintf("\n%s\n", path);
    return strstr(st->base_dirs, needle) != NULL;
}
