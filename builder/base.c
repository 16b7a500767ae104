/* Base Node images made on demand: map a ref to the pinned versions, run the
 * embedded recipe (images/node/mkbase.sh) to assemble a build context, and
 * write that context into the store (base_write.c).  See builder/base.h. */
#include "builder/base.h"
#include "builder/base_gcr.h"
#include "builder/base_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/embed.h"
#include "common/util.h"
#include "images/image.h"
#include "images/store.h"



/* Run argv with stdin from /dev/null and stdout sent to stderr (our stdout
 * belongs to the caller, e.g. `nbuild -q` printing a digest). */
static int run_child(const char *what, char *const argv[], nr_err *err)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return nr_err_sys(err, errno, "fork for %s", what);
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(2, 1) < 0)
            _exit(126);
        /* nothing but stdin, stdout and stderr: mmdebstrap's apt hooks talk on
         * fd 12 (and others), and an fd the caller left open there (a test
         * runner's) made the Debian download fail with SIGPIPE */
        syscall(SYS_close_range, 3, ~0U, 0);
        /* a read-only cache is the rootless build's (cli/cli.c checked it
         * before entering the namespace); root reads its own cache only */
        if (!nr_in_userns())
            unsetenv("NRUN_CACHE_RO");
        execvp(argv[0], argv);
        fprintf(stderr, "base: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return nr_err_sys(err, errno, "wait for %s", what);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFSIGNALED(st))
        return nr_err_set(err, "%s was killed by signal %d", what, WTERMSIG(st));
    return nr_err_set(err, "%s failed with exit code %d (see the lines above)", what, WEXITSTATUS(st));
}

/* Write an embedded file into dirfd/name. */
char *bld_base_cache_dir(img_store *s, nr_err *err)
{
    const char *env_cache = getenv("NRUN_CACHE_DIR");
    char *cache = env_cache && *env_cache ? nr_xstrdup(env_cache) : nr_xasprintf("%s/cache/base", img_store_root(s));
    if (nr_mkdir_p(cache, 0755, err) < 0) {
        free(cache);
        nr_err_wrap(err, "base image cache");
        return NULL;
    }
    return cache;
}

int bld_base_put_recipes(int dirfd, const char *const *names, nr_err *err)
{
    for (; *names; names++) {
        char embed_name[64];
        size_t len;
        snprintf(embed_name, sizeof embed_name, "images/node/%s", *names);
        const char *data = nr_embed_get(embed_name, &len);
        if (!data)
            return nr_err_set(err, "%s is not embedded in this binary", embed_name);
        if (nr_write_atomic(dirfd, *names, data, len, 0600, err) < 0)
            return -1;
    }
    return 0;
}

int bld_base_make_context(const bld_base_spec *spec, const char *cache_dir, const char *out_dir, nr_err *err)
{
    if (nr_mkdir_p(cache_dir, 0755, err) < 0)
        return nr_err_wrap(err, "base image cache");
    cleanup_free char *tmp = nr_xasprintf("%s/.recipe-%d-XXXXXX", cache_dir, (int)getpid());
    if (!mkdtemp(tmp))
        return nr_err_sys(err, errno, "mkdtemp %s", tmp);
    int rc = -1;
    /* Declared before the first goto: cleanup must never see an uninitialized pointer. */
    bool distroless = spec->flavour == BLD_BASE_DISTROLESS;
    cleanup_free char *script = nr_xasprintf("%s/%s", tmp, distroless ? "mkbase.sh" : "mkdebian.sh");
    cleanup_free char *versions = nr_xasprintf("%s/versions.txt", tmp);
    cleanup_close int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0) {
        nr_err_sys(err, errno, "open %s", tmp);
        goto out;
    }
    static const char *const files[] = {"mkbase.sh",    "mkdebian.sh", "common.sh", "docker-entrypoint.sh",
                                        "versions.txt", "nginx.sh",    "db.sh", NULL};
    if (bld_base_put_recipes(tfd, files, err) < 0)
        goto out;
    const char *flav = distroless ? "distroless" : spec->flavour == BLD_BASE_SLIM ? "slim" : "full";
    bool os = spec->kind != BLD_BASE_NODE; /* the same recipe without node */
    if (os)
        flav = spec->kind == BLD_BASE_NGINX      ? (spec->unpriv ? "os-nginx-unpriv" : "os-nginx")
               : spec->kind == BLD_BASE_REDIS    ? "os-redis"
               : spec->kind == BLD_BASE_POSTGRES ? "os-postgres"
               : spec->kind == BLD_BASE_MYSQL    ? "os-mysql"
               : spec->kind == BLD_BASE_MARIADB  ? "os-mariadb"
               : spec->flavour == BLD_BASE_SLIM  ? "os-slim"
                                                 : "os-full";
    char *const argv[] = {"bash",
                          script,
                          versions,
                          (char *)cache_dir,
                          (char *)out_dir,
                          os ? "-" : (char *)spec->major,
                          os ? "-" : (char *)spec->version,
                          os ? "-" : (char *)spec->integrity,
                          (char *)flav,
                          (char *)spec->suite,
                          NULL};
    if (run_child(distroless ? "mkbase.sh" : "mkdebian.sh", argv, err) < 0) {
        nr_err_wrap(err, "making the context of %s", spec->canonical);
        goto out;
    }
    rc = 0;
out:;
    nr_err e2;
    nr_rm_rf(AT_FDCWD, tmp, &e2);
    return rc;
}

/* Work dirs of a make that was killed (".ctx-<pid>-*", ".recipe-<pid>-*"
 * whose pid is gone) hold a whole rootfs each: remove them. */
static void remove_stale(int cache_fd)
{
    int fd = dup(cache_fd);
    if (fd < 0)
        return;
    cleanup_dir DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *p = NULL;
        if (!strncmp(de->d_name, ".ctx-", 5))
            p = de->d_name + 5;
        else if (!strncmp(de->d_name, ".recipe-", 8))
            p = de->d_name + 8;
        if (!p)
            continue;
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p || *end != '-' || pid <= 0 || pid > INT32_MAX)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive (EPERM: alive too) */
        nr_err e;
        fprintf(stderr, "base: removing %s, left by a make that did not finish\n", de->d_name);
        nr_rm_rf(dirfd(d), de->d_name, &e);
    }
}

bool bld_base_tag_present(img_store *s, const char *ref)
{
    img_image *img = NULL;
    nr_err e;
    if (img_image_load(s, ref, &img, &e) < 0)
        return false;
    img_image_free(img);
    return true;
}

int bld_base_run(const char *what, char *const argv[], nr_err *err)
{
    return run_child(what, argv, err);
}

/* An Alpine tag as an image of its own (`nrun base node:20-alpine`, a
 * compose service's `image:`): the Debian slim image with Alpine's busybox
 * tools, the base FROM that tag builds on, tagged with the Alpine name.  A
 * FROM of that name still substitutes in each build (plan_from.c: its RUN
 * steps get apk translated), finding this image marked as made here. */
static int alpine_ensure(img_store *s, const char *ref, const char *slim, nr_err *err)
{
    if (bld_base_tag_present(s, ref))
        return 0;
    int r = bld_base_ensure(s, slim, err);
    if (r != 0)
        return r < 0 ? -1 : nr_err_set(err, "%s: its Debian base %s is not one nbuild makes", ref, slim);
    img_image *img = NULL;
    if (img_image_load(s, slim, &img, err) < 0)
        return -1;
    if (bld_base_alpine_tools(s, &img, err) < 0) {
        img_image_free(img);
        return -1;
    }
    fprintf(stderr,
            "base: %s is made on Debian: %s with Alpine's busybox tools (glibc, not musl; no apk in the image: "
            "nbuild translates apk in the RUN steps of a FROM %s)\n",
            ref, slim, ref);
    r = img_tag_set(s, ref, img_image_top(img), err);
    img_image_free(img);
    return r;
}

static int ensure(img_store *s, const char *ref, const bld_base_spec *spec, nr_err *err);

/* nginx:*alpine*, redis:*alpine*, postgres:*alpine* (made on Debian): the
 * image of the Debian tag (spec->canonical, nginx:debian-trixie) with
 * Alpine's busybox tools on top, as node's Alpine tags have them: Alpine
 * users' health checks (`wget -qO- http://localhost/`) and ash scripts
 * work.  The Debian tags are not touched: their digests stay. */
static int db_alpine_ensure(img_store *s, const char *ref, const bld_base_spec *spec, nr_err *err)
{
    if (bld_base_tag_present(s, ref))
        return 0;
    if (ensure(s, spec->canonical, spec, err) < 0)
        return -1;
    img_image *img = NULL;
    if (img_image_load(s, spec->canonical, &img, err) < 0)
        return -1;
    if (bld_base_alpine_tools(s, &img, err) < 0) {
        img_image_free(img);
        return -1;
    }
    fprintf(stderr,
            "base: %s is made on Debian: %s with Alpine's busybox tools (wget, nc, ash...; /bin/sh is bash; no apk "
            "in the image: nbuild translates apk in the RUN steps of a FROM %s)\n",
            ref, spec->canonical, ref);
    int r = img_tag_set(s, ref, img_image_top(img), err);
    img_image_free(img);
    return r;
}

bool bld_base_db_alpine(const char *ref, const bld_base_spec *spec)
{
    const char *tag = strchr(ref, ':');
    return (spec->kind == BLD_BASE_NGINX || spec->kind == BLD_BASE_REDIS || spec->kind == BLD_BASE_POSTGRES) &&
           tag && strstr(tag, "alpine");
}

int bld_base_ensure(img_store *s, const char *ref, nr_err *err)
{
    if (bld_gcr_is(ref))
        return bld_gcr_ensure(s, ref, err); /* Google's distroless names (base_gcr.c) */
    bld_base_spec spec;
    int r = bld_base_resolve(NULL, NULL, ref, &spec, err);
    if (r == 1) {
        err->errnum = ENOENT;
        return 1;
    }
    char slim[96];
    if (r == 2 && bld_base_alpine_slim(ref, slim, sizeof slim)) {
        r = alpine_ensure(s, ref, slim, err);
        if (r < 0 && err->errnum == ENOENT)
            err->errnum = EIO;
        return r;
    }
    if (r == 2)
        return -1; /* errnum ENOTSUP: a Docker tag nbuild cannot make */
    if (r == 0)
        r = bld_base_db_alpine(ref, &spec) ? db_alpine_ensure(s, ref, &spec, err) : ensure(s, ref, &spec, err);
    /* ENOENT means "not a base image" to the caller: a real failure that
     * happens to come from ENOENT keeps its message but not that errnum. */
    if (r < 0 && err->errnum == ENOENT)
        err->errnum = EIO;
    return r;
}

static int ensure(img_store *s, const char *ref, const bld_base_spec *spec_in, nr_err *err)
{
    bld_base_spec spec = *spec_in;
    cleanup_free char *cache = bld_base_cache_dir(s, err);
    if (!cache)
        return -1;
    cleanup_close int cfd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0)
        return nr_err_sys(err, errno, "open %s", cache);
    if (spec.warning[0])
        fprintf(stderr, "base: warning: %s\n", spec.warning);
    if (spec.note[0])
        fprintf(stderr, "base: %s\n", spec.note);
    /* One make of an image at a time; a waiter then finds the tag made.
     * (node's lock is named by its tag alone, debian's by its whole name) */
    char lockname[128];
    snprintf(lockname, sizeof lockname, ".build-%s.lock",
             spec.kind == BLD_BASE_NODE ? spec.canonical + 5 : spec.canonical);
    for (char *c = lockname; *c; c++)
        if (*c == '/') /* nginxinc/nginx-unprivileged:... */
            *c = '_';
    cleanup_close int lfd = -1;
    if (nr_lock(cfd, lockname, true, &lfd, err) < 0)
        return -1;
    if (bld_base_tag_present(s, ref))
        return 0;
    /* Made before under another of its names (node:20 after node:iron). */
    img_image *have = NULL;
    nr_err e;
    if (img_image_load(s, spec.canonical, &have, &e) == 0) {
        int r = img_tag_set(s, ref, img_image_top(have), err);
        img_image_free(have);
        return r;
    }

    fprintf(stderr, "base: %s is not in the store; making %s\n", ref, spec.canonical);
    remove_stale(cfd);
    cleanup_free char *tmp = nr_xasprintf("%s/.ctx-%d-XXXXXX", cache, (int)getpid());
    if (!mkdtemp(tmp))
        return nr_err_sys(err, errno, "mkdtemp %s", tmp);
    cleanup_free char *ctx = nr_xasprintf("%s/ctx", tmp);
    int rc = -1;
    if (bld_base_make_context(&spec, cache, ctx, err) < 0)
        goto out;
    const char *tags[] = {spec.canonical, ref};
    img_desc m;
    if (bld_base_write(s, ctx, tags, 2, &m, err) < 0) {
        nr_err_wrap(err, "writing %s into the store", spec.canonical);
        goto out;
    }
    fprintf(stderr, "base: %s ready: %s\n", ref, m.digest);
    rc = 0;
out:;
    nr_err e2;
    nr_rm_rf(AT_FDCWD, tmp, &e2);
    return rc;
}
