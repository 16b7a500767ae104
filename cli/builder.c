/* nrun builder prune [-f] [-a] -- docker's: remove nbuild's build cache,
 * the records under <root>/cache/build/layers (a step's key -> the layer it
 * made, builder/copy.c) and the blobs only those records kept (no image of
 * index.json uses them; img_blobs_remove_unreferenced checks that again
 * under the gc lock, so a build tagging one meanwhile keeps it).  Without
 * -a only the dangling records go (their layer is in no image); -a removes
 * every record and the other caches too: dir and /etc snapshots, the
 * context stat cache, ADD downloads and RUN --mount=type=cache dirs.  A
 * running build's own step dirs (binds, secrets) are never touched. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "images/image.h"
#include "images/store.h"

typedef struct strset {
    char **v;
    size_t n, cap;
} strset;

static void set_add(strset *s, const char *x)
{
    if (s->n == s->cap)
        s->v = nr_xrealloc(s->v, (s->cap = s->cap ? s->cap * 2 : 64) * sizeof *s->v);
    s->v[s->n++] = nr_xstrdup(x);
}

static bool set_has(const strset *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], x))
            return true;
    return false;
}

static void set_free(strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* Every layer blob of the tagged images. */
static int image_layers(img_store *s, strset *out, nr_err *err)
{
    img_tag *tags;
    size_t nt;
    if (img_tag_list(s, &tags, &nt, err) < 0)
        return -1;
    for (size_t i = 0; i < nt; i++) {
        img_image *img;
        nr_err ign;
        if (img_image_load_digest(s, tags[i].manifest.digest, &img, &ign) < 0)
            continue;
        for (size_t k = 0; k < img->n_layers; k++)
            set_add(out, img->layers[k].blob.digest);
        img_image_free(img);
    }
    img_tag_list_free(tags, nt);
    return 0;
}

static int builder_prune(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"force", 'f', no_argument, NULL, "do not prompt for confirmation"},
        {"all", 'a', no_argument, NULL, "remove all build cache, not just the dangling records"},
        {0},
    };
    static const nr_cmdspec spec = {"builder prune [OPTIONS]", "Remove build cache.", opts, true};
    bool force = false, all = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == 'f')
            force = true;
        else if (c == 'a')
            all = true;
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    if (optind < argc)
        return nr_usage_error(g, "builder prune: takes no arguments");
    if (!force && !nr_confirm(all ? "all build cache" : "all dangling build cache")) {
        fprintf(stderr, "%s: builder prune has been cancelled\n", g->prog);
        return NR_EXIT_FAIL;
    }
    nr_err err = {0};
    img_store *s;
    if (img_store_open(g->root, &s, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    strset used = {0}, blobs = {0};
    int rc = 0;
    unsigned long long bytes = 0;
    if (image_layers(s, &used, &err) < 0) {
        rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        goto out;
    }
    cleanup_free char *cdir = nr_xasprintf("%s/cache/build", g->root);
    cleanup_close int cfd = open(cdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    cleanup_close int lfd = cfd >= 0 ? openat(cfd, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    bool header = false;
    DIR *d = lfd >= 0 ? nr_opendir_fd(lfd) : NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(lfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        cleanup_free char *text = NULL;
        size_t len;
        nr_err ign;
        const char *digest = NULL;
        json_t *j = NULL;
        if (nr_read_file(lfd, e->d_name, 65536, &text, &len, &ign) == 0 && (j = json_loads(text, 0, NULL)))
            digest = json_string_value(json_object_get(j, "digest"));
        bool dangling = !digest || !set_has(&used, digest);
        if ((all || dangling) && unlinkat(lfd, e->d_name, 0) == 0) {
            if (!header)
                puts("Deleted build cache objects:"), header = true;
            printf("%s\n", e->d_name);
            bytes += (unsigned long long)st.st_size;
            if (digest && dangling && img_digest_valid(digest) && !set_has(&blobs, digest))
                set_add(&blobs, digest);
        }
        json_decref(j);
    }
    if (d)
        closedir(d);
    if (all && cfd >= 0) {
        static const char *const others[] = {"dirs", "etc", "statcache", "downloads", "mounts"};
        for (size_t i = 0; i < NR_ARRAY_LEN(others); i++) {
            struct stat st;
            if (fstatat(cfd, others[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue;
            if (S_ISDIR(st.st_mode)) {
                cleanup_close int sub = openat(cfd, others[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0)
                    bytes += nr_tree_bytes(sub, 0);
            } else {
                bytes += (unsigned long long)st.st_size;
            }
            if (nr_rm_rf(cfd, others[i], &err) < 0) {
                rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
                memset(&err, 0, sizeof err);
            }
        }
    }
    if (blobs.n) {
        img_prune_result res = {0};
        if (img_blobs_remove_unreferenced(s, (const char *const *)blobs.v, blobs.n, &res, &err) < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        bytes += res.bytes_reclaimed;
    }
    char hs[32];
    nr_human_size(bytes, hs, sizeof hs);
    printf("%sTotal reclaimed space: %s\n", header ? "\n" : "", hs);
out:
    set_free(&used);
    set_free(&blobs);
    img_store_close(s);
    return rc;
}

int nr_cmd_builder(int argc, char **argv, nr_global *g)
{
    char label[48];
    int code;
    const char *sub = nr_group_sub(argc, argv, "builder",
                                   "Usage: nrun builder COMMAND [ARGS...]\n\nManage nbuild's build cache.\n\nCommands:\n"
                                   "  prune    remove build cache (-a: all of it)\n"
                                   "\nRun 'nrun builder COMMAND --help' for a command's options.\n",
                                   label, sizeof label, &code);
    if (!sub)
        return code;
    if (!strcmp(sub, "prune"))
        return builder_prune(argc - 1, argv + 1, g);
    return nr_usage_error(g, "builder: unknown subcommand %s (prune)", sub);
}
