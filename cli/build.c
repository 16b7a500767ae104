/* nbuild [options] CONTEXT — flags to bld_opts, then bld_build(). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <jansson.h>

#include "builder/build.h"
#include "builder/zeroconf.h"
#include "cli/cli.h"
#include "common/util.h"
#include "images/ref.h"
#include "images/store.h"
#include "runtime/net.h"
#include "runtime/runtime.h"

/* The keys stay letters (long-only ones above NR_OPT_LONG) so the cases below read as before. */
#define L(c) (NR_OPT_LONG + (c))
static const nr_opt build_opts[] = {
    {"file", 'f', required_argument, "FILE", "the Nodefile (default CONTEXT/Nodefile, then CONTEXT/Dockerfile, CONTEXT/dockerfile)"},
    {"tag", 't', required_argument, "NAME:TAG", "tag the image (any number of times)"},
    {"build-arg", L('a'), required_argument, "K[=V]", "set a build ARG"},
    {"target", L('T'), required_argument, "STAGE", "build up to this stage"},
    {"jobs", 'j', required_argument, "N", "independent stages built at once (default: the CPUs)"},
    {"output", L('o'), required_argument, "DEST", "oci:DIR or oci-archive:FILE (also kept in the store when tagged)"},
    {"compress", L('c'), required_argument, "ALGO", "layer compression: gzip (default) or zstd"},
    {"no-cache", L('n'), no_argument, NULL, "run every step again"},
    {"no-cache-filter", L('F'), required_argument, "STAGE,...", "run these stages' steps again"},
    {"secret", L('S'), required_argument, "id=ID[,src=FILE|,env=VAR]", "a secret for RUN --mount=type=secret"},
    {"network", L('N'), required_argument, "MODE", "RUN steps' network: host (default) or none"},
    {"host-ca", L('C'), optional_argument, "true|false|FILE", "bind the host's CA bundle into RUN steps"},
    {"progress", L('P'), required_argument, "MODE", "auto, plain, tty or quiet"},
    {"quiet", 'q', no_argument, NULL, "print the image digest only"},
    {"root", L('r'), required_argument, "DIR",
     "the store (env NRUN_ROOT, default " NR_DEFAULT_ROOT "; for a non-root user $XDG_DATA_HOME/nrun, "
     "else ~/.local/share/nrun, built rootless in a user namespace: RUN steps without cgroup limits)"},
    {"push", L('U'), no_argument, NULL, "push every -t tag once the image is built"},
    {"tls-verify", L('V'), optional_argument, "true|false", "registry TLS verification"},
    {"registry-mirror", L('M'), required_argument, "URL", "a mirror for Docker Hub names (repeatable)"},
    {"registries-config", L('R'), required_argument, "FILE", "mirrors and insecure registries (registries.conf)"},
    {"base-map", L('B'), required_argument, "PATTERN=REPL", "rewrite a FROM image matching PATTERN ('*' captures; repeatable)"},
    {"list-bases", L('L'), no_argument, NULL, "print what the node base tags (or the REFs given) resolve to"},
    {"cache-from", L('K'), required_argument, "[type=registry,ref=]REF", "reuse the build cache pushed there (repeatable)"},
    {"cache-to", L('k'), required_argument, "type=registry,ref=REF[,mode=max]", "push the build cache there"},
    {"init", L('I'), no_argument, NULL, "add /nrun-init as the entrypoint (runc, crun, Kubernetes)"},
    {"print-nodefile", L('Z'), no_argument, NULL, "print the zero-config recipe nbuild would use for CONTEXT"},
    /* docker build's / buildx's words */
    {"label", L('l'), required_argument, "KEY=VALUE", "set an image label (repeatable; over the Nodefile's LABEL)"},
    {"pull", L('u'), optional_argument, "true|false",
     "pull FROM and COPY --from images again when a registry has them (a failed pull fails the build)"},
    {"iidfile", L('i'), required_argument, "FILE", "write the image ID (the config digest) to FILE"},
    {"metadata-file", L('m'), required_argument, "FILE",
     "write the result as JSON: containerimage.digest, containerimage.config.digest, containerimage.descriptor, "
     "image.name"},
    {"platform", L('p'), required_argument, "PLATFORM", "linux/amd64 only: nbuild builds for this host"},
    {"load", L('D'), no_argument, NULL, "accepted: the image always goes into the store"},
    {"rm", L('x'), optional_argument, "true", "accepted: RUN steps leave no container behind"},
    {"force-rm", L('X'), optional_argument, "true", "accepted: RUN steps leave no container behind"},
    {"provenance", L('v'), optional_argument, "false", "only false: nbuild writes no attestations"},
    {"sbom", L('s'), optional_argument, "false", "only false: nbuild writes no attestations"},
    {"ssh", L('h'), required_argument, "ID[=SOCKET|KEY[,KEY...]]",
     "an SSH agent for RUN --mount=type=ssh (default: $SSH_AUTH_SOCK; key files: an ssh-agent of the build's own)"},
    {"add-host", L('H'), required_argument, "NAME:IP", "a line in RUN steps' /etc/hosts (also NAME=IP; repeatable)"},
    {"build-context", L('b'), required_argument, "NAME=DIR|NAME=docker-image://REF",
     "a named context: FROM NAME, COPY --from=NAME, RUN --mount from=NAME read it (over a stage of that name)"},
    {0},
};
static const nr_cmdspec build_spec = {"[OPTIONS] CONTEXT", "Build an OCI image from a Nodefile (Dockerfile syntax).",
                                      build_opts, true};

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

/* A non-root caller builds in a user namespace of its own (runtime/userns.c),
 * as root there.  The store is made and checked first as the caller (its
 * owner must be the caller, outside as inside, where the caller is root). */
static int rootless_enter(nr_global *g, nr_err *err)
{
    img_store *s;
    if (img_store_open(g->root, &s, err) < 0)
        return -1;
    img_store_close(s);
    /* the base caches are chosen (and made) as the caller, outside: the
     * scripts of builder/base.c write into NRUN_CACHE_DIR, read NRUN_CACHE_RO */
    cleanup_free char *own = NULL, *ro = NULL;
    if (nr_cache_rootless(&own, &ro, err) < 0)
        return -1;
    setenv("NRUN_CACHE_DIR", own, 1);
    if (ro)
        setenv("NRUN_CACHE_RO", ro, 1);
    else
        unsetenv("NRUN_CACHE_RO");
    rt_userns_info ui;
    if (rt_userns_enter(&ui, err) < 0)
        return nr_err_wrap(err, "rootless build");
    if (!ui.ranged)
        fprintf(stderr, "%s: note: no /etc/subuid and /etc/subgid range for this user: only its own uid and gid "
                        "exist in the build (a chown to another fails)\n", g->prog);
    return 0;
}

/* The directory that will hold `path` must exist (checked before building,
 * so a bad --output never leaves a half-done build behind). */
static int check_parent(nr_global *g, const char *what, const char *path, bool need_write)
{
    cleanup_free char *dup = nr_xstrdup(path);
    const char *dir = dirname(dup);
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return usage_error(g, "%s: directory %s does not exist", what, dir);
    if (need_write && access(dir, W_OK) < 0)
        return usage_error(g, "%s: directory %s is not writable", what, dir);
    return 0;
}

/* A docker boolean flag's value: none (= true), true/false, 1/0. */
static int flag_bool(nr_global *g, const char *flag, const char *v, bool *out)
{
    if (!v || !strcmp(v, "true") || !strcmp(v, "1"))
        *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0"))
        *out = false;
    else
        return usage_error(g, "--%s=%s: want true or false", flag, v);
    return 0;
}

/* --platform: a comma-separated list as buildx takes; nbuild makes
 * linux/amd64 images only (the base images and RUN steps are this host's). */
static int platform_check(nr_global *g, const char *list)
{
    cleanup_free char *dup = nr_xstrdup(list);
    int n = 0;
    for (char *save = NULL, *p = strtok_r(dup, ",", &save); p; p = strtok_r(NULL, ",", &save), n++) {
        while (*p == ' ')
            p++;
        if (strcasecmp(p, "linux/amd64") && strcasecmp(p, "linux/x86_64") && strcasecmp(p, "linux/x86-64") &&
            strcasecmp(p, "amd64") && strcasecmp(p, "x86_64") && strcasecmp(p, "linux/amd64/v1") &&
            strcasecmp(p, "local"))
            return usage_error(g, "--platform %s: nbuild builds linux/amd64 images only (this host's platform)", p);
    }
    return n ? 0 : usage_error(g, "--platform: want linux/amd64");
}

/* --iidfile / --metadata-file must be writable where they go, checked
 * before the build so a typo costs nothing. */
static int out_file_check(nr_global *g, const char *flag, const char *path)
{
    struct stat st;
    if (!*path)
        return usage_error(g, "%s: want a file name", flag);
    cleanup_free char *what = nr_xasprintf("%s %s", flag, path);
    int rc = check_parent(g, what, path, false);
    if (rc == 0 && lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return usage_error(g, "%s: not a regular file", what);
    return rc;
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

/* --iidfile: the image ID as docker prints it ("sha256:<config hex>");
 * --metadata-file: buildx's result keys. */
static int write_result(img_store *s, const bld_opts *o, const bld_result *res, const char *iidfile,
                        const char *metafile, nr_err *err)
{
    img_image *img;
    if (img_image_load_digest(s, res->manifest.digest, &img, err) < 0)
        return -1;
    int rc = 0;
    if (iidfile)
        rc = nr_write_atomic(AT_FDCWD, iidfile, img->config.digest, strlen(img->config.digest), 0644, err);
    if (rc == 0 && metafile) {
        nr_buf names = {0};
        for (size_t i = 0; i < o->n_tags; i++) {
            if (i)
                nr_buf_addstr(&names, ",");
            nr_buf_addstr(&names, o->tags[i]);
        }
        json_t *m = json_pack("{s:s, s:s, s:{s:s, s:s, s:I}}", "containerimage.digest", res->manifest.digest,
                              "containerimage.config.digest", img->config.digest, "containerimage.descriptor",
                              "mediaType", res->manifest.media_type, "digest", res->manifest.digest, "size",
                              (json_int_t)res->manifest.size);
        if (o->n_tags)
            json_object_set_new(m, "image.name", json_string(names.data));
        cleanup_free char *text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(m);
        nr_buf_free(&names);
        cleanup_free char *line = nr_xasprintf("%s\n", text);
        rc = nr_write_atomic(AT_FDCWD, metafile, line, strlen(line), 0644, err);
    }
    img_image_free(img);
    return rc;
}

/* The empty contexts of `nbuild -` are /tmp/nbuild-stdin.PID.XXXXXX; those of
 * an nbuild that is gone (killed before its rmdir) are removed: only empty
 * directories of this user whose PID is dead. */
static void sweep_stdin_contexts(void)
{
    DIR *d = opendir("/tmp");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "nbuild-stdin.", 13))
            continue;
        char *end;
        long pid = strtol(e->d_name + 13, &end, 10);
        struct stat st;
        if (end == e->d_name + 13 || *end != '.' || pid <= 0 || pid > INT32_MAX ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
            st.st_uid != geteuid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR); /* (fails unless empty) */
    }
    closedir(d);
}

int nr_cmd_build(int argc, char **argv, nr_global *g)
{
    bld_opts o = {.compress = IMG_COMPRESS_GZIP, .host_ca = HOST_CA_DEFAULT};
    const char *progress = "auto";
    cleanup_free const char **tags = nr_xcalloc((size_t)argc + 1, sizeof *tags);
    cleanup_free const char **bargs = nr_xcalloc((size_t)argc + 1, sizeof *bargs);
    cleanup_free const char **secrets = nr_xcalloc((size_t)argc + 1, sizeof *secrets);
    cleanup_free const char **maps = nr_xcalloc((size_t)argc + 1, sizeof *maps);
    cleanup_free const char **cfrom = nr_xcalloc((size_t)argc + 1, sizeof *cfrom);
    cleanup_free const char **labels = nr_xcalloc((size_t)argc + 1, sizeof *labels);
    cleanup_free const char **bctx = nr_xcalloc((size_t)argc + 1, sizeof *bctx);
    cleanup_free const char **sshs = nr_xcalloc((size_t)argc + 1, sizeof *sshs);
    cleanup_free const char **hosts = nr_xcalloc((size_t)argc + 1, sizeof *hosts);
    const char *iidfile = NULL, *metafile = NULL;
    char stdin_ctx[64];
    bool made_ctx = false;
    cleanup_free const char **ncf = NULL;
    cleanup_free char *def_root = NULL; /* the default store, when g->root is NULL */
    size_t n_ncf = 0;
    char (*norm)[IMG_NAME_MAX + IMG_TAG_MAX + 2] = nr_xcalloc((size_t)argc + 1, sizeof *norm);
    nr_err err = {0};
    int c, rc = 0;
    bool push = false, list_bases = false, print_nodefile = false;
    const char *reg_config = NULL;
    char **mirrors = NULL, **insecure = NULL;
    size_t n_mirrors = 0, n_insecure = 0;
    img_reg_opts ro = {.tls_verify = -1};
    while ((c = nr_opt_next(&build_spec, argc, argv, g)) != -1) {
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
        case L('a'):
            if (!*optarg || optarg[0] == '=') {
                rc = usage_error(g, "--build-arg %s: want NAME=VALUE", optarg);
                goto out;
            }
            bargs[o.n_build_args++] = optarg;
            break;
        case L('o'):
            if (!strncmp(optarg, "oci:", 4) && optarg[4]) {
                if ((rc = check_parent(g, "--output", optarg + 4, false)) != 0)
                    goto out;
            } else if (!strncmp(optarg, "oci-archive:", 12) && optarg[12]) {
                if ((rc = check_parent(g, "--output", optarg + 12, true)) != 0)
                    goto out;
            } else {
                rc = usage_error(g, "--output %s: want oci:DIR or oci-archive:FILE", optarg);
                goto out;
            }
            o.output = optarg;
            break;
        case L('c'):
            if (img_compress_parse(optarg, &o.compress, &err) < 0) {
                rc = usage_error(g, "--compress %s: want gzip or zstd", optarg);
                goto out;
            }
            break;
        case L('I'):
            o.init = true;
            break;
        case L('K'):
        case L('k'): {
            const char *ref = NULL;
            bool max = false;
            if (cache_spec(g, c == L('K') ? "--cache-from" : "--cache-to", optarg, &ref, &max, &rc) < 0)
                goto out;
            if (c == L('K')) {
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
        case L('n'):
            o.no_cache = true;
            break;
        case L('r'):
            g->root = optarg;
            break;
        case L('T'):
            o.target = optarg;
            break;
        case 'j': {
            char *end;
            errno = 0;
            long j = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || j < 1 || j > 1024) {
                rc = usage_error(g, "--jobs %s: want a number from 1 to 1024", optarg);
                goto out;
            }
            o.jobs = (unsigned)j;
            break;
        }
        case L('L'):
            list_bases = true;
            break;
        case L('Z'):
            print_nodefile = true;
            break;
        case L('B'):
            if (bld_base_map_check(optarg, &err) < 0) {
                rc = usage_error(g, "%s", err.msg);
                goto out;
            }
            maps[o.n_base_maps++] = optarg;
            o.base_maps = maps;
            break;
        case L('U'):
            push = true;
            break;
        case L('V'):
            if (!optarg || !strcmp(optarg, "true"))
                ro.tls_verify = 1;
            else if (!strcmp(optarg, "false"))
                ro.tls_verify = 0;
            else {
                rc = usage_error(g, "--tls-verify takes true or false, not \"%s\"", optarg);
                goto out;
            }
            break;
        case L('M'):
            mirrors = nr_xrealloc(mirrors, (n_mirrors + 2) * sizeof *mirrors);
            mirrors[n_mirrors++] = nr_xstrdup(optarg);
            break;
        case L('R'):
            reg_config = optarg;
            break;
        case L('F'):
            /* a comma-separated list, the flag given any number of times */
            for (char *save = NULL, *t = strtok_r(optarg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                ncf = nr_xrealloc(ncf, (n_ncf + 1) * sizeof *ncf);
                ncf[n_ncf++] = t;
            }
            break;
        case L('N'):
            if (strcmp(optarg, "host") && strcmp(optarg, "none") && strcmp(optarg, "default")) {
                rc = usage_error(g, "--network %s: want host or none", optarg);
                goto out;
            }
            o.network = strcmp(optarg, "none") ? "host" : "none";
            break;
        case L('P'):
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
        case L('S'):
            if (strncmp(optarg, "id=", 3) && !strstr(optarg, ",id=")) {
                rc = usage_error(g, "--secret %s: want id=ID[,src=FILE|,env=VAR]", optarg);
                goto out;
            }
            secrets[o.n_secrets++] = optarg;
            break;
        case L('C'):
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
        case L('l'):
            if (!*optarg || optarg[0] == '=') {
                rc = usage_error(g, "--label %s: want KEY=VALUE", optarg);
                goto out;
            }
            labels[o.n_labels++] = optarg;
            break;
        case L('h'):
            if (bld_ssh_check(optarg, &err) < 0) {
                rc = usage_error(g, "%s", err.msg);
                goto out;
            }
            sshs[o.n_ssh++] = optarg;
            break;
        case L('H'): {
            cleanup_free char *line = NULL;
            if (rt_extra_host_parse(optarg, &line, &err) < 0) {
                rc = usage_error(g, "%s", err.msg);
                goto out;
            }
            if (strstr(optarg, "host-gateway")) {
                rc = usage_error(g, "--add-host %s: host-gateway is not known to RUN steps (they use the host's "
                                    "network): give an address", optarg);
                goto out;
            }
            hosts[o.n_add_hosts++] = optarg;
            break;
        }
        case L('b'):
            if (bld_named_check(optarg, &err) < 0) {
                rc = usage_error(g, "%s", err.msg);
                goto out;
            }
            bctx[o.n_build_contexts++] = optarg;
            break;
        case L('u'):
            if ((rc = flag_bool(g, "pull", optarg, &o.pull)) != 0)
                goto out;
            break;
        case L('i'):
        case L('m'):
            if ((rc = out_file_check(g, c == L('i') ? "--iidfile" : "--metadata-file", optarg)) != 0)
                goto out;
            *(c == L('i') ? &iidfile : &metafile) = optarg;
            break;
        case L('p'):
            if ((rc = platform_check(g, optarg)) != 0)
                goto out;
            break;
        case L('x'):
        case L('X'): {
            bool v;
            if ((rc = flag_bool(g, c == L('x') ? "rm" : "force-rm", optarg, &v)) != 0)
                goto out;
            break;
        }
        case L('D'):
            break;
        case L('v'):
        case L('s'): {
            bool v;
            const char *flag = c == L('v') ? "provenance" : "sbom";
            if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false") && strcmp(optarg, "1") &&
                strcmp(optarg, "0")) {
                rc = usage_error(g, "--%s=%s: nbuild writes no attestations (only --%s=false)", flag, optarg, flag);
                goto out;
            }
            if ((rc = flag_bool(g, flag, optarg, &v)) != 0)
                goto out;
            if (v) {
                rc = usage_error(g, "--%s: nbuild writes no attestations (only --%s=false)", flag, flag);
                goto out;
            }
            break;
        }
        case NR_OPT_HELP:
            goto out;
        default:
            rc = NR_EXIT_USAGE;
            goto out;
        }
    }
    if (!g->root) {
        if (nr_root_default(&def_root, &err) < 0) {
            rc = nr_err_report(&err, g->prog, NR_EXIT_STORE);
            goto out;
        }
        g->root = def_root;
    }
    if (list_bases) {
        /* = nrun base --list [REF...] */
        char **av = nr_xcalloc((size_t)(argc - optind) + 3, sizeof *av);
        av[0] = "base";
        av[1] = "--list";
        for (int i = optind; i < argc; i++)
            av[2 + i - optind] = argv[i];
        int n = argc - optind + 2;
        optind = 0; /* nr_cmd_base parses its own argv */
        rc = nr_cmd_base(n, av, g);
        free(av);
        goto out;
    }
    if (argc - optind != 1) {
        rc = usage_error(g, "%s (see '%s --help')", argc - optind ? "exactly one CONTEXT directory" : "missing CONTEXT",
                         !strcmp(argv[0], g->prog) ? g->prog : "nrun build");
        goto out;
    }
    o.context = argv[optind];
    if (!strcmp(o.context, "-")) {
        /* docker build - < Dockerfile: the Nodefile on stdin and no context */
        if (o.file && strcmp(o.file, "-")) {
            rc = usage_error(g, "-f %s with CONTEXT -: the Nodefile is stdin, and there is no context", o.file);
            goto out;
        }
        sweep_stdin_contexts();
        snprintf(stdin_ctx, sizeof stdin_ctx, "/tmp/nbuild-stdin.%ld.XXXXXX", (long)getpid());
        if (!mkdtemp(stdin_ctx)) {
            rc = NR_EXIT_FAIL;
            fprintf(stderr, "%s: mkdtemp %s: %s\n", g->prog, stdin_ctx, strerror(errno));
            goto out;
        }
        made_ctx = true;
        o.context = stdin_ctx;
        o.file = "-";
    }
    if (print_nodefile) { /* the recipe the build would parse (builder/zeroconf.c) */
        cleanup_free char *text = NULL, *shown = NULL;
        int z = bld_zeroconf_nodefile(o.context, &text, &shown, &err);
        if (z > 0)
            nr_err_set(&err, "no package.json in %s", o.context);
        rc = z ? nr_err_report(&err, g->prog, NR_EXIT_FAIL) : (fputs(text, stdout) == EOF ? NR_EXIT_FAIL : 0);
        goto out;
    }
    /* the host's bundle when it has one: a host without it builds without */
    struct stat cast;
    if (o.host_ca && (stat(o.host_ca, &cast) < 0 || !S_ISREG(cast.st_mode))) {
        if (strcmp(o.host_ca, HOST_CA_DEFAULT)) {
            rc = usage_error(g, "--host-ca=%s: not a regular file", o.host_ca);
            goto out;
        }
        o.host_ca = NULL;
    }
    if (!o.jobs) {
        cpu_set_t cpus;
        o.jobs = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? (unsigned)CPU_COUNT(&cpus) : 1;
    }
    o.tags = tags;
    o.build_args = bargs;
    o.secrets = secrets;
    o.labels = labels;
    o.build_contexts = bctx;
    o.ssh = sshs;
    o.add_hosts = hosts;
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
    if (geteuid() != 0 && rootless_enter(g, &err) < 0) {
        rc = nr_err_report(&err, g->prog, NR_EXIT_STORE);
        goto out;
    }
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
    if ((iidfile || metafile) && write_result(s, &o, &res, iidfile, metafile, &err) < 0) {
        img_store_close(s);
        rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        goto out;
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
    if (made_ctx)
        rmdir(stdin_ctx);
    for (size_t i = 0; i < n_mirrors; i++)
        free(mirrors[i]);
    for (size_t i = 0; i < n_insecure; i++)
        free(insecure[i]);
    free(mirrors);
    free(insecure);
    free(norm);
    return rc;
}
