/* Prune's second half: unpacked layers (layers/<diff_id hex>/) that no image
 * of index.json has and no container uses, and temp dirs of unpacks whose
 * process is gone.  Runs inside prune, under the exclusive gc lock (no
 * `nrun run` is between unpacking a layer and writing the config.json that
 * names it: it holds gc.lock shared meanwhile) and the exclusive index lock.
 *
 * A container names its layers in its config.json, annotation
 * "org.nrun.overlay.lower" ("hex1:hex2:..." below the layers dir): the one
 * line of the runtime's format the store reads, so a layer under a running
 * or stopped container is never removed.  A config.json that cannot be read
 * stops the whole prune before anything is removed: better a layer too many
 * than one pulled from under a container.  Names that are not a diff_id (the runtime's
 * own "nrun-init-*" layer, lock files) are left alone. */
#include "images/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define CONFIG_MAX (4u << 20) /* the runtime's RT_CONFIG_MAX */
#define WALK_DEPTH 256        /* sizes and chmods below this are skipped (the removal is not) */

static bool is_hex64(const char *s, size_t n)
{
    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static void add_name(char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *v = nr_xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = nr_xstrndup(s, len);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has(char *const *v, size_t n, const char *s)
{
    return n && bsearch(&s, v, n, sizeof *v, cmp_str) != NULL;
}

/* The layer names every container's config.json lists. */
static int containers_layers(img_store *s, char ***out, size_t *n_out, nr_err *err)
{
    size_t cap = 0;
    cleanup_close int cfd = img__open_nofollow(s->root_fd, "containers", O_RDONLY | O_DIRECTORY);
    if (cfd < 0)
        return errno == ENOENT ? 0 : nr_err_sys(err, errno, "open %s/containers", s->root);
    cleanup_dir DIR *d = fdopendir(dup(cfd));
    if (!d)
        return nr_err_sys(err, errno, "open %s/containers", s->root);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') /* ".", "..", the recycled-dir pool */
            continue;
        cleanup_close int dfd = img__open_nofollow(cfd, de->d_name, O_RDONLY | O_DIRECTORY);
        if (dfd < 0)
            continue; /* not a container dir */
        cleanup_free char *data = NULL;
        size_t len;
        if (nr_read_file(dfd, "config.json", CONFIG_MAX, &data, &len, err) < 0) {
            if (err->errnum == ENOENT)
                continue; /* no config.json: no container to keep layers for */
            return nr_err_wrap(err, "%s/containers/%s", s->root, de->d_name);
        }
        json_error_t je;
        json_t *j = json_loadb(data, len, 0, &je);
        if (!j)
            return nr_err_set(err, "%s/containers/%s/config.json:%d:%d: invalid JSON", s->root, de->d_name, je.line,
                              je.column);
        json_t *lower = json_object_get(json_object_get(j, "annotations"), "org.nrun.overlay.lower");
        for (const char *p = json_is_string(lower) ? json_string_value(lower) : ""; *p;) {
            size_t n = strcspn(p, ":");
            if (n)
                add_name(out, n_out, &cap, p, n);
            p += n + (p[n] == ':');
        }
        json_decref(j);
    }
    return 0;
}

/* Bytes of the files below dirfd (never through a link); good enough for
 * "reclaimed space". */
static uint64_t tree_size(int dirfd, int depth)
{
    if (depth > WALK_DEPTH)
        return 0;
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    uint64_t sum = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        sum += (uint64_t)st.st_blocks * 512;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                sum += tree_size(sub, depth + 1);
                close(sub);
            }
        }
    }
    closedir(d);
    return sum;
}

/* Give every directory below dirfd owner rwx, so a layer with read-only
 * directories (0555, 0000) can be emptied without CAP_DAC_OVERRIDE. */
static void make_removable(int dirfd, int depth)
{
    if (depth > WALK_DEPTH)
        return;
    struct stat st;
    if (fstat(dirfd, &st) == 0 && (st.st_mode & 0700) != 0700)
        fchmod(dirfd, (st.st_mode & 07777) | 0700);
    DIR *d = nr_opendir_fd(dirfd);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || de->d_type != DT_DIR)
            continue;
        int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 && fchmodat(dirfd, de->d_name, 0700, 0) == 0) /* a dir we may not enter */
            sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            make_removable(sub, depth + 1);
            close(sub);
        }
    }
    closedir(d);
}

/* Remove layers/<name>, under the layer's own lock so an unpack of the same
 * layer (one that holds no gc lock) waits and then extracts it anew. */
static int remove_layer(img_store *s, int lfd, const char *name, bool temp, img_prune_result *res, nr_err *err)
{
    cleanup_close int fd = img__open_nofollow(lfd, name, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return errno == ENOENT ? 0 : nr_err_sys(err, errno, "open %s/layers/%s", s->root, name);
    uint64_t bytes = tree_size(fd, 0);
    if (nr_rm_rf(lfd, name, err) < 0) {
        nr_err e2;
        make_removable(fd, 0);
        if (nr_rm_rf(lfd, name, &e2) < 0)
            return nr_err_wrap(err, "prune %s/layers/%s", s->root, name);
    }
    res->bytes_reclaimed += bytes;
    if (temp)
        res->temps_removed++;
    else
        res->layers_removed++;
    return 0;
}

/* ".tmp-<hex>-<pid>" of an unpack whose process is gone. */
static bool dead_temp(const char *name)
{
    if (strncmp(name, ".tmp-", 5) || !is_hex64(name + 5, strnlen(name + 5, 64)) || name[69] != '-')
        return false;
    char *end;
    long pid = strtol(name + 70, &end, 10);
    return end != name + 70 && !*end && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int img__layers_in_use(img_store *s, char ***out, size_t *n_out, nr_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (containers_layers(s, out, n_out, err) < 0) {
        img__names_free(*out, *n_out);
        *out = NULL;
        *n_out = 0;
        return -1;
    }
    if (*n_out)
        qsort(*out, *n_out, sizeof **out, cmp_str);
    return 0;
}

void img__names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int img__layers_prune(img_store *s, char *const *keep, size_t n_keep, char *const *used, size_t n_used,
                      img_prune_result *res, nr_err *err)
{
    cleanup_close int lfd = img__open_nofollow(s->root_fd, "layers", O_RDONLY | O_DIRECTORY);
    if (lfd < 0)
        return errno == ENOENT ? 0 : nr_err_sys(err, errno, "open %s/layers", s->root);
    cleanup_dir DIR *d = fdopendir(dup(lfd));
    if (!d)
        return nr_err_sys(err, errno, "open %s/layers", s->root);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        bool temp = dead_temp(n);
        if (!temp && (!is_hex64(n, strlen(n)) || has(keep, n_keep, n) || has(used, n_used, n)))
            continue;
        if (temp) {
            if (remove_layer(s, lfd, n, true, res, err) < 0)
                return -1;
            continue;
        }
        cleanup_free char *lockname = nr_xasprintf(".lock-%s", n);
        int lock;
        if (nr_lock_transient(lfd, lockname, &lock, err) < 0)
            return -1;
        int r = remove_layer(s, lfd, n, false, res, err);
        nr_unlock_transient(lfd, lockname, lock);
        if (r < 0)
            return -1;
    }
    return 0;
}
