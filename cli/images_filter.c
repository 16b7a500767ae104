/* nrun images --filter (-f): docker's keys dangling=true|false (an image
 * with no tag: a manifest in the store that no tag of index.json reaches,
 * as a retag or a rebuild leaves until prune), reference=PATTERN (docker's
 * glob over "name:tag", and over the name alone; '*' stops at '/'), and
 * label=KEY[=VALUE].  The same key twice is either; different keys must
 * all match.  Any other key is an error naming the ones there are. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/images_filter.h"
#include "common/util.h"

int nr_images_filter_add(nr_global *g, const char *arg, nr_filter **fs, size_t *n)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return nr_usage_error(g, "images: --filter %s: expected KEY=VALUE", arg);
    cleanup_free char *k = nr_xstrndup(arg, (size_t)(eq - arg));
    if (strcmp(k, "dangling") && strcmp(k, "reference") && strcmp(k, "label"))
        return nr_usage_error(g, "images: invalid filter '%s' (dangling, reference, label)", k);
    if (!strcmp(k, "dangling") && strcmp(eq + 1, "true") && strcmp(eq + 1, "false") && strcmp(eq + 1, "1") &&
        strcmp(eq + 1, "0"))
        return nr_usage_error(g, "images: invalid filter 'dangling=%s': true or false", eq + 1);
    if (*n >= 64)
        return nr_usage_error(g, "images: at most 64 filters");
    *fs = nr_xrealloc(*fs, (*n + 1) * sizeof **fs);
    (*fs)[*n].key = nr_xstrdup(k);
    (*fs)[(*n)++].value = nr_xstrdup(eq + 1);
    return 0;
}

void nr_images_filter_free(nr_filter *fs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(fs[i].key);
        free(fs[i].value);
    }
    free(fs);
}

typedef struct ctx {
    const char *repo, *tag; /* NULL for a dangling image */
    const img_image *img;
} ctx;

static bool one(const nr_filter *f, void *arg)
{
    ctx *c = arg;
    if (!strcmp(f->key, "dangling")) {
        bool want = !strcmp(f->value, "true") || !strcmp(f->value, "1");
        return want == (c->repo == NULL);
    }
    if (!strcmp(f->key, "reference")) {
        if (!c->repo)
            return false;
        cleanup_free char *full = nr_xasprintf("%s:%s", c->repo, c->tag);
        return fnmatch(f->value, full, FNM_PATHNAME) == 0 || fnmatch(f->value, c->repo, FNM_PATHNAME) == 0;
    }
    /* label */
    json_t *labels = json_object_get(img_image_runconfig(c->img), "Labels");
    const char *eq = strchr(f->value, '=');
    cleanup_free char *k = eq ? nr_xstrndup(f->value, (size_t)(eq - f->value)) : nr_xstrdup(f->value);
    const char *v = json_string_value(json_object_get(labels, k));
    return v && (!eq || !strcmp(v, eq + 1));
}

bool nr_images_filter_match(const nr_filter *fs, size_t n, const char *repo, const char *tag, const img_image *img)
{
    ctx c = {repo, tag, img};
    return nr_filters_match(fs, n, one, &c);
}

bool nr_images_filter_dangling(const nr_filter *fs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(fs[i].key, "dangling") && (!strcmp(fs[i].value, "true") || !strcmp(fs[i].value, "1")))
            return true;
    return false;
}

/* Image manifests in the blob store that no tag reaches (directly or as an
 * entry of a tagged index). */
int nr_images_dangling(img_store *s, const img_tag *tags, size_t nt, img_image ***out, size_t *nout, nr_err *err)
{
    *out = NULL;
    *nout = 0;
    size_t nreach = 0, cap = 0;
    char **reach = NULL;
#define REACH_ADD(d)                                                                                                   \
    do {                                                                                                               \
        if (nreach == cap)                                                                                             \
            reach = nr_xrealloc(reach, (cap = cap ? cap * 2 : 64) * sizeof *reach);                                    \
        reach[nreach++] = nr_xstrdup(d);                                                                               \
    } while (0)
    for (size_t i = 0; i < nt; i++) {
        img_image *img;
        nr_err ign;
        REACH_ADD(tags[i].manifest.digest);
        if (img_image_load_digest(s, tags[i].manifest.digest, &img, &ign) < 0)
            continue;
        for (size_t k = 0; img->platforms && k < img->platforms->n; k++)
            REACH_ADD(img->platforms->p[k].manifest.digest);
        REACH_ADD(img->manifest.digest);
        img_image_free(img);
    }
#undef REACH_ADD
    cleanup_free char *dir = nr_xasprintf("%s/blobs/sha256", img_store_root(s));
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = dfd >= 0 ? nr_opendir_fd(dfd) : NULL;
    int r = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        struct stat st;
        if (strlen(e->d_name) != 64 || strspn(e->d_name, "0123456789abcdef") != 64 ||
            fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20))
            continue;
        /* a cheap look first: only a JSON document naming a manifest type is loaded */
        char head[512];
        int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, head, sizeof head - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n <= 0)
            continue;
        head[n] = 0;
        if (head[0] != '{' || !strstr(head, "\"config\"") ||
            (!strstr(head, IMG_MT_MANIFEST) && !strstr(head, IMG_MT_DOCKER_MANIFEST) && !strstr(head, "\"layers\"")))
            continue;
        cleanup_free char *digest = nr_xasprintf("sha256:%s", e->d_name);
        bool seen = false;
        for (size_t i = 0; i < nreach && !seen; i++)
            seen = !strcmp(reach[i], digest);
        img_image *img;
        nr_err ign;
        if (seen || img_image_load_digest(s, digest, &img, &ign) < 0)
            continue;
        *out = nr_xrealloc(*out, (*nout + 1) * sizeof **out);
        (*out)[(*nout)++] = img;
    }
    if (d)
        closedir(d);
    else if (dfd < 0)
        r = nr_err_sys(err, errno, "open %s", dir);
    for (size_t i = 0; i < nreach; i++)
        free(reach[i]);
    free(reach);
    return r;
}
