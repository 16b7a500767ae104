/* nrun __internal ...: entry points that are not user commands.
 *   mkimage -t REF [--config JSON] LAYER.tar[.gz]...  store tar files (plain or
 *       gzip) as the layers of a new image (base first) and tag it: lets the
 *       tests make images with arbitrary (also hostile) layers without nbuild.
 *   unpack REF  unpack the image's layers (prints how many needed work; bench).
 *   upperlayer [--userxattr] [--skip PATH]... DIR  store an overlay upper dir
 *       as a gzip layer (img_layer_add_upper) and print "DIGEST DIFF_ID N"
 *       (N entries): the RUN step's conversion, testable against real overlays. */
#include <errno.h>
#include <fcntl.h>
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "images/image.h"
#include "images/layer.h"
#include "images/store.h"
#include "images/unpack.h"
#include "cli/cli.h"

/* diff_id of a gzip layer: sha256 of its decompressed bytes. */
static int gunzip_digest(const char *path, char out[IMG_DIGEST_MAX], nr_err *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK || archive_read_next_header(a, &ae) != ARCHIVE_OK) {
        nr_err_set(err, "%s: %s", path, archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    nr_sha256 *h = nr_sha256_new();
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
        nr_sha256_update(h, buf, (size_t)n);
    char hex[65];
    nr_sha256_final(h, hex);
    int r = n < 0 ? nr_err_set(err, "%s: %s", path, archive_error_string(a)) : 0;
    archive_read_free(a);
    snprintf(out, IMG_DIGEST_MAX, "sha256:%s", hex);
    return r;
}

static int mkimage(int argc, char **argv, nr_global *g)
{
    const char *ref = NULL, *config = NULL, *config_file = NULL;
    static const nr_opt opts[] = {
        {NULL, 't', required_argument, "REF", "tag the image"},
        {"config", NR_OPT_LONG, required_argument, "JSON", "the image config"},
        {"config-file", NR_OPT_LONG + 1, required_argument, "FILE", "the image config, from a file (beyond 128 KiB)"},
        {0},
    };
    static const nr_cmdspec cmd = {"__internal mkimage -t REF [--config JSON | --config-file F] LAYER.tar...",
                                    "Make an image from layer tars (for tests).", opts, false};
    int c;
    while ((c = nr_opt_next(&cmd, argc - 1, argv + 1, g)) != -1) {
        if (c == 't')
            ref = optarg;
        else if (c == NR_OPT_LONG)
            config = optarg;
        else if (c == NR_OPT_LONG + 1)
            config_file = optarg;
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    int i = optind + 1;
    if (!ref || i >= argc)
        return nr_usage_error(g, "usage: __internal mkimage -t REF [--config JSON | --config-file F] LAYER.tar...");
    nr_err err = {0};
    json_error_t je;
    json_t *cfg = config_file ? json_load_file(config_file, 0, &je) : config ? json_loads(config, 0, &je) : json_object();
    if (!json_is_object(cfg))
        return nr_usage_error(g, "__internal mkimage: --config: %s", config ? je.text : "");
    img_store *s;
    if (img_store_open(g->root, &s, &err) < 0) {
        json_decref(cfg);
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    }
    size_t n = (size_t)(argc - i);
    img_layer_desc *layers = nr_xcalloc(n, sizeof *layers);
    int rc = NR_EXIT_FAIL;
    for (size_t k = 0; k < n; k++) {
        const char *path = argv[i + (int)k];
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            nr_err_sys(&err, errno, "open %s", path);
            goto out;
        }
        img_blob_writer *w;
        if (img_blob_writer_new(s, &w, &err) < 0)
            goto out;
        char buf[65536];
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0)
            if (img_blob_writer_write(w, buf, (size_t)r, &err) < 0) {
                img_blob_writer_abort(w);
                goto out;
            }
        if (r < 0) {
            nr_err_sys(&err, errno, "read %s", path);
            img_blob_writer_abort(w);
            goto out;
        }
        uint64_t size;
        if (img_blob_writer_commit(w, layers[k].blob.digest, &size, &err) < 0)
            goto out;
        layers[k].blob.size = size;
        unsigned char magic[2] = {0};
        bool gz = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        snprintf(layers[k].blob.media_type, sizeof layers[k].blob.media_type, "%s", gz ? IMG_MT_LAYER_GZIP : IMG_MT_LAYER);
        if (!gz)
            memcpy(layers[k].diff_id, layers[k].blob.digest, sizeof layers[k].diff_id); /* plain tar */
        else if (gunzip_digest(path, layers[k].diff_id, &err) < 0)
            goto out;
    }
    img_image_spec spec = {.config = cfg, .layers = layers, .n_layers = n, .created = -1};
    img_desc m;
    if (img_image_write(s, &spec, &m, &err) < 0 || img_tag_set(s, ref, &m, &err) < 0)
        goto out;
    printf("%s\n", m.digest);
    rc = 0;
out:
    free(layers);
    json_decref(cfg);
    img_store_close(s);
    if (rc)
        return nr_err_report(&err, g->prog, rc);
    return 0;
}

static int unpack(int argc, char **argv, nr_global *g)
{
    if (argc != 3)
        return nr_usage_error(g, "usage: __internal unpack REF");
    nr_err err = {0};
    img_store *s;
    img_image *img;
    if (img_store_open(g->root, &s, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    if (img_image_load(s, argv[2], &img, &err) < 0) {
        img_store_close(s);
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    }
    size_t n;
    int r = img_image_unpack(s, img, &n, &err);
    img_image_free(img);
    img_store_close(s);
    if (r < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    printf("%zu\n", n);
    return 0;
}

static int upperlayer(int argc, char **argv, nr_global *g)
{
    const char *skip[argc + 1];
    size_t n_skip = 0;
    img_upper_opts o = {.skip = skip};
    static const nr_opt opts[] = {
        {"userxattr", NR_OPT_LONG, no_argument, NULL, "the overlay was mounted with userxattr"},
        {"skip", NR_OPT_LONG + 1, required_argument, "PATH", "leave PATH out (repeatable)"},
        {0},
    };
    static const nr_cmdspec spec = {"__internal upperlayer [--userxattr] [--skip PATH]... DIR",
                                    "Write an overlay upper dir as a layer (for tests).", opts, false};
    int c;
    while ((c = nr_opt_next(&spec, argc - 1, argv + 1, g)) != -1) {
        if (c == NR_OPT_LONG)
            o.userxattr = true;
        else if (c == NR_OPT_LONG + 1)
            skip[n_skip++] = optarg;
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    int i = optind + 1;
    skip[n_skip] = NULL;
    if (i + 1 != argc)
        return nr_usage_error(g, "usage: __internal upperlayer [--userxattr] [--skip PATH]... DIR");
    nr_err err = {0};
    cleanup_close int fd = open(argv[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        nr_err_sys(&err, errno, "open %s", argv[i]);
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    }
    img_store *s;
    if (img_store_open(g->root, &s, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    img_layer_writer *w;
    img_layer_info li;
    long n = -1;
    if (img_layer_writer_new(s, IMG_COMPRESS_GZIP, -1, &w, &err) == 0) {
        n = img_layer_add_upper(w, fd, &o, &err);
        if (n < 0)
            img_layer_writer_abort(w);
        else if (img_layer_writer_commit(w, &li, &err) < 0)
            n = -1;
    }
    img_store_close(s);
    if (n < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    printf("%s %s %ld\n", li.digest, li.diff_id, n);
    return 0;
}

int nr_cmd_internal(int argc, char **argv, nr_global *g)
{
    if (argc >= 2 && !strcmp(argv[1], "unpack"))
        return unpack(argc, argv, g);
    if (argc < 2)
        return nr_usage_error(g, "__internal: which entry point?");
    if (!strcmp(argv[1], "mkimage"))
        return mkimage(argc, argv, g);
    if (!strcmp(argv[1], "upperlayer"))
        return upperlayer(argc, argv, g);
    return nr_usage_error(g, "__internal %s: unknown entry point", argv[1]);
}
