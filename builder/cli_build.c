/* nbuild [options] CONTEXT — flags to bld_opts, then bld_build(). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build.h"
#include "common/cli.h"
#include "common/util.h"
#include "images/ref.h"
#include "images/store.h"

static const char usage[] =
    "usage: nbuild [-f FILE] [-t NAME:TAG]... [--build-arg K[=V]]... [--output oci:DIR|oci-archive:FILE]\n"
    "              [--compress gzip|zstd] [--no-cache] [--host-ca=true|false|FILE] [--target STAGE]\n"
    "              [--secret id=ID[,src=FILE|,env=VAR]]... [--network host|none]\n"
    "              [--progress auto|plain|tty|quiet] [--no-cache-filter STAGE[,STAGE]] [-q]\n"
    "              [--cache-from [type=registry,ref=]REF]... [--cache-to type=registry,ref=REF[,mode=min|max]]\n"
    "              [--init] [--push] [--tls-verify=true|false] [--registry-mirror URL]... [--registries-config FILE]\n"
    "              [--root DIR] CONTEXT\n";

/* The host's trust store, bound into RUN steps (builder/run.c). */
#define HOST_CA_DEFAULT "/etc/ssl/certs/ca-certificates.crt"

/* Local twin of nr_usage_error (defined in nrun_main.c, which nbuild and the
 * unit tests do not link): "nbuild: <msg>" and the usage exit code. */
static int usage_error(nr_global *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(nr_global *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", g->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return NR_EXIT_USAGE;
}

/* The directory that will hold `path` must exist (checked before building,
 * so a bad --output never leaves a half-done build behind). */
static int check_parent(nr_global *g, const char *path, bool need_write)
{
    cleanup_free char *dup = nr_xstrdup(path);
    const char *dir = dirname(dup);
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return usage_error(g, "--output: directory %s does not exist", dir);
    if (need_write && access(dir, W_OK) < 0)
        return usage_error(g, "--output: directory %s is not writable", dir);
    return 0;
}

/* --cache-from / --cache-to, BuildKit's words: "type=registry,ref=REF[,mode=min|max]",
 * or (--cache-from) a bare REF.  Points into `spec` (strtok'd). */
static int cache_spec(nr_global *g, const char *flag, char *spec, const char **ref, bool *max, int *rc)
{
    if (!strchr(spec, '=')) {
        *ref = spec;
        if (!strcmp(flag, "--cache-from") && *spec)
            return 0;
        *rc = usage_error(g, "%s %s: want type=registry,ref=REG/REPO:TAG", flag, spec);
        return -1;
    }
    bool registry = false;
    *ref = NULL;
    for (char *save = NULL, *t = strtok_r(spec, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "type=registry"))
            registry = true;
        else if (!strncmp(t, "ref=", 4) && t[4])
            *ref = t + 4;
        else if (!strcmp(t, "mode=max") || !strcmp(t, "mode=min"))
            *max = !strcmp(t, "mode=max");
        else if (!strncmp(t, "type=", 5)) {
            *rc = usage_error(g, "%s: %s: only type=registry is supported", flag, t);
            return -1;
        } else if (strncmp(t, "oci-mediatypes=", 15) && strncmp(t, "image-manifest=", 15) &&
                   strncmp(t, "ignore-error=", 13) && strncmp(t, "compression=", 12)) {
            *rc = usage_error(g, "%s: unknown attribute %s", flag, t);
            return -1;
        }
    }
    if (!registry || !*ref) {
        *rc = usage_error(g, "%s: want type=registry,ref=REG/REPO:TAG", flag);
        return -1;
    }
    return 0;
}

int nr_cmd_build(int argc, char **argv, nr_global *g)
{
    static const struct option longopts[] = {
        {"file", required_argument, NULL, 'f'},     {"tag", required_argument, NULL, 't'},
        {"build-arg", required_argument, NULL, 'a'}, {"output", required_argument, NULL, 'o'},
        {"compress", required_argument, NULL, 'c'}, {"quiet", no_argument, NULL, 'q'},
        {"no-cache", no_argument, NULL, 'n'},       {"root", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},           {"host-ca", optional_argument, NULL, 'C'},
        {"target", required_argument, NULL, 'T'},  {"secret", required_argument, NULL, 'S'},
        {"progress", required_argument, NULL, 'P'}, {"network", required_argument, NULL, 'N'},
        {"no-cache-filter", required_argument, NULL, 'F'},
        {"push", no_argument, NULL, 'U'},           {"init", no_argument, NULL, 'I'},
        {"cache-from", required_argument, NULL, 'K'}, {"cache-to", required_argument, NULL, 'k'},           {"tls-verify", optional_argument, NULL, 'V'},
        {"registry-mirror", required_argument, NULL, 'M'}, {"registries-config", required_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    bld_opts o = {.compress = IMG_COMPRESS_GZIP, .host_ca = HOST_CA_DEFAULT};
    const char *progress = "auto";
    cleanup_free const char **tags = nr_xcalloc((size_t)argc + 1, sizeof *tags);
    cleanup_free const char **bargs = nr_xcalloc((size_t)argc + 1, sizeof *bargs);
    cleanup_free const char **secrets = nr_xcalloc((size_t)argc + 1, sizeof *secrets);
    cleanup_free const char **cfrom = nr_xcalloc((size_t)argc + 1, sizeof *cfrom);
    cleanup_free const char **ncf = NULL;
    size_t n_ncf = 0;
    char (*norm)[IMG_NAME_MAX + IMG_TAG_MAX + 2] = nr_xcalloc((size_t)argc + 1, sizeof *norm);
    nr_err err = {0};
    int c, rc = 0;
    bool push = false;
    const char *reg_config = NULL;
    char **mirrors = NULL, **insecure = NULL;
    size_t n_mirrors = 0, n_insecure = 0;
    img_reg_opts ro = {.tls_verify = -1};
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "f:t:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o.file = optarg;
            break;
        case 't':
            if (img_ref_normalize(optarg, norm[o.n_tags], sizeof norm[0], &err) < 0) {
                rc = usage_error(g, "-t %s: %s", optarg, err.msg);
                goto out;
            }
            tags[o.n_tags] = norm[o.n_tags];
            o.n_tags++;
            break;
        case 'a':
            if (!*optarg || optarg[0] == '=') {
                rc = usage_error(g, "--build-arg %s: want NAME=VALUE", optarg);
                goto out;
            }
            bargs[o.n_build_args++] = optarg;
            break;
        case 'o':
            if (!strncmp(optarg, "oci:", 4) && optarg[4]) {
                if ((rc = check_parent(g, optarg + 4, false)) != 0)
                    goto out;
            } else if (!strncmp(optarg, "oci-archive:", 12) && optarg[12]) {
                if ((rc = check_parent(g, optarg + 12, true)) != 0)
                    goto out;
            } else {
                rc = usage_error(g, "--output %s: want oci:DIR or oci-archive:FILE", optarg);
                goto out;
            }
            o.output = optarg;
            break;
        case 'c':
            if (img_compress_parse(optarg, &o.compress, &err) < 0) {
                rc = usage_error(g, "--compress %s: want gzip or zstd", optarg);
                goto out;
            }
            break;
        case 'I':
            o.init = true;
            break;
        case 'K':
        case 'k': {
            const char *ref = NULL;
            bool max = false;
            if (cache_spec(g, c == 'K' ? "--cache-from" : "--cache-to", optarg, &ref, &max, &rc) < 0)
                goto out;
            if (c == 'K') {
                cfrom[o.n_cache_from++] = ref;
            } else {
                o.cache_to = ref;
                o.cache_to_max = max;
            }
            break;
        }
        case 'q':
            o.quiet = true;
            break;
        case 'n':
            o.no_cache = true;
            break;
        case 'r':
            g->root = optarg;
            break;
        case 'T':
            o.target = optarg;
            break;
        case 'U':
            push = true;
            break;
        case 'V':
            if (!optarg || !strcmp(optarg, "true"))
                ro.tls_verify = 1;
            else if (!strcmp(optarg, "false"))
                ro.tls_verify = 0;
            else {
                rc = usage_error(g, "--tls-verify takes true or false, not \"%s\"", optarg);
                goto out;
            }
            break;
        case 'M':
            mirrors = nr_xrealloc(mirrors, (n_mirrors + 2) * sizeof *mirrors);
            mirrors[n_mirrors++] = nr_xstrdup(optarg);
            break;
        case 'R':
            reg_config = optarg;
            break;
        case 'F':
            /* a comma-separated list, the flag given any number of times */
            for (char *save = NULL, *t = strtok_r(optarg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                ncf = nr_xrealloc(ncf, (n_ncf + 1) * sizeof *ncf);
                ncf[n_ncf++] = t;
            }
            break;
        case 'N':
            if (strcmp(optarg, "host") && strcmp(optarg, "none") && strcmp(optarg, "default")) {
                rc = usage_error(g, "--network %s: want host or none", optarg);
                goto out;
            }
            o.network = strcmp(optarg, "none") ? "host" : "none";
            break;
        case 'P':
            if (!strcmp(optarg, "quiet")) {
                o.quiet = true;
            } else if (!strcmp(optarg, "tty") || !strcmp(optarg, "auto")) {
                progress = optarg;
            } else if (!strcmp(optarg, "plain")) {
                progress = optarg;
            } else {
                rc = usage_error(g, "--progress %s: want auto, plain, tty or quiet", optarg);
                goto out;
            }
            break;
        case 'S':
            if (strncmp(optarg, "id=", 3) && !strstr(optarg, ",id=")) {
                rc = usage_error(g, "--secret %s: want id=ID[,src=FILE|,env=VAR]", optarg);
                goto out;
            }
            secrets[o.n_secrets++] = optarg;
            break;
        case 'C':
            if (!optarg || !strcmp(optarg, "true") || !strcmp(optarg, "1")) {
                o.host_ca = HOST_CA_DEFAULT;
            } else if (!strcmp(optarg, "false") || !strcmp(optarg, "0")) {
                o.host_ca = NULL;
            } else if (optarg[0] == '/') {
                o.host_ca = optarg;
            } else {
                rc = usage_error(g, "--host-ca=%s: want true, false or an absolute path", optarg);
                goto out;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            goto out;
        default:
            rc = usage_error(g, "unknown or incomplete option %s\n%s", argv[optind - 1], usage);
            goto out;
        }
    }
    if (argc - optind != 1) {
        rc = usage_error(g, "%s\n%s", argc - optind ? "exactly one CONTEXT directory" : "missing CONTEXT",
                            usage);
        goto out;
    }
    o.context = argv[optind];
    /* the host's bundle when it has one: a host without it builds without */
    struct stat cast;
    if (o.host_ca && (stat(o.host_ca, &cast) < 0 || !S_ISREG(cast.st_mode))) {
        if (strcmp(o.host_ca, HOST_CA_DEFAULT)) {
            rc = usage_error(g, "--host-ca=%s: not a regular file", o.host_ca);
            goto out;
        }
        o.host_ca = NULL;
    }
    o.tags = tags;
    o.build_args = bargs;
    o.secrets = secrets;
    o.cache_from = cfrom;
    o.no_cache_stages = ncf;
    o.n_no_cache_stages = n_ncf;
    o.progress = o.quiet ? NULL : stdout;
    /* auto: the tty view on a terminal, plain lines elsewhere */
    o.tty = !o.quiet && (!strcmp(progress, "tty") || (!strcmp(progress, "auto") && isatty(1)));
    if (o.progress)
        setvbuf(stdout, NULL, _IOLBF, 0);
    if (push && o.n_tags == 0) {
        rc = usage_error(g, "--push needs at least one -t NAME:TAG");
        goto out;
    }
    if (img_reg_config_load(reg_config, &mirrors, &n_mirrors, &insecure, &n_insecure, &err) < 0) {
        rc = nr_err_report(&err, g->prog, NR_EXIT_USAGE);
        goto out;
    }
    ro.mirrors = (const char *const *)mirrors;
    ro.n_mirrors = n_mirrors;
    ro.insecure = (const char *const *)insecure;
    ro.n_insecure = n_insecure;
    o.reg = &ro;
    img_store *s;
    if (img_store_open(g->root, &s, &err) < 0) {
        rc = nr_err_report(&err, g->prog, NR_EXIT_STORE);
        goto out;
    }
    bld_result res;
    if (bld_build(s, &o, &res, &err) < 0) {
        img_store_close(s);
        rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        goto out;
    }
    /* --push: every tag, once the image is complete and tagged. */
    for (size_t i = 0; push && i < o.n_tags; i++) {
        img_desc pd;
        if (o.progress)
            fprintf(o.progress, "PUSH %s\n", o.tags[i]);
        if (img_reg_push(s, o.tags[i], NULL, &ro, &pd, &err) < 0) {
            img_store_close(s);
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
            goto out;
        }
    }
    img_store_close(s);
    if (!o.quiet) {
        for (size_t i = 0; i < o.n_tags; i++)
            printf("COMMIT %s\n", o.tags[i]);
        if (o.output)
            printf("OUTPUT %s\n", o.output);
        printf("(%zu layers built, %zu from cache, %zu context files read)\n", res.layers_built, res.layers_cached,
               res.files_read);
    }
    printf("%s\n", res.manifest.digest);
    if (fflush(stdout) != 0)
        rc = NR_EXIT_FAIL;
out:
    for (size_t i = 0; i < n_mirrors; i++)
        free(mirrors[i]);
    for (size_t i = 0; i < n_insecure; i++)
        free(insecure[i]);
    free(mirrors);
    free(insecure);
    free(norm);
    return rc;
}
