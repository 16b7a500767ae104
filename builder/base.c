/* Base Node images made on demand: map a ref to the pinned versions, run the
 * embedded recipe (images/node/mkbase.sh) to assemble a build context, and
 * write that context into the store (base_write.c).  See builder/base.h. */
#include "builder/base.h"

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
#include <unistd.h>

#include "common/embed.h"
#include "common/util.h"
#include "images/image.h"
#include "images/store.h"


#define VERSIONS_NAME "images/node/versions.txt"
#define SCRIPT_NAME "images/node/mkbase.sh"

/* Value of KEY in versions.txt ("KEY=VALUE" lines, '#' comments). */
static int pin_get(const char *text, const char *key, char *out, size_t outlen, nr_err *err)
{
    size_t klen = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, klen) || l[klen] != '=')
            continue;
        const char *v = l + klen + 1;
        size_t n = strcspn(v, "\n");
        if (n == 0 || n >= outlen)
            return nr_err_set(err, "%s: %s has an empty or too long value", VERSIONS_NAME, key);
        memcpy(out, v, n);
        out[n] = '\0';
        return 0;
    }
    return nr_err_set(err, "%s: %s is not set", VERSIONS_NAME, key);
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int bld_base_resolve(const char *versions, const char *ref, bld_base_spec *out, nr_err *err)
{
    if (!versions && !(versions = nr_embed_get(VERSIONS_NAME, NULL)))
        return nr_err_set(err, "%s is not embedded in this binary", VERSIONS_NAME);
    if (strncmp(ref, "node:", 5))
        return 1;
    const char *tag = ref + 5;
    size_t tlen = strlen(tag);
    bool slim = tlen > 5 && !strcmp(tag + tlen - 5, "-slim");
    if (slim)
        tlen -= 5;
    /* The tag is a pinned major ("20") or that major's exact version. */
    size_t mlen = strcspn(tag, ".-");
    if (mlen > tlen)
        mlen = tlen;
    if (!all_digits(tag, mlen) || mlen >= sizeof out->major)
        return 1;
    char majors[128];
    if (pin_get(versions, "NODE_MAJORS", majors, sizeof majors, err) < 0)
        return -1;
    bool known = false;
    for (char *save = NULL, *m = strtok_r(majors, " \t", &save); m; m = strtok_r(NULL, " \t", &save))
        if (strlen(m) == mlen && !strncmp(m, tag, mlen))
            known = true;
    if (!known)
        return 1;
    bld_base_spec sp = {.slim = slim};
    memcpy(sp.major, tag, mlen);
    char key[64];
    snprintf(key, sizeof key, "NODE_%s", sp.major);
    if (pin_get(versions, key, sp.version, sizeof sp.version, err) < 0)
        return -1;
    if (tlen != mlen && (tlen != strlen(sp.version) || strncmp(tag, sp.version, tlen)))
        return 1; /* node:20.1.0: a version we do not pin */
    const char *sfx = slim ? "-slim" : "";
    snprintf(sp.tag_major, sizeof sp.tag_major, "node:%s%s", sp.major, sfx);
    snprintf(sp.tag_version, sizeof sp.tag_version, "node:%s%s", sp.version, sfx);
    *out = sp;
    return 0;
}

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
static int put_embedded(int dirfd, const char *embed_name, const char *name, nr_err *err)
{
    size_t len;
    const char *data = nr_embed_get(embed_name, &len);
    if (!data)
        return nr_err_set(err, "%s is not embedded in this binary", embed_name);
    return nr_write_atomic(dirfd, name, data, len, 0600, err);
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
    cleanup_free char *script = nr_xasprintf("%s/mkbase.sh", tmp);
    cleanup_free char *versions = nr_xasprintf("%s/versions.txt", tmp);
    cleanup_close int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0) {
        nr_err_sys(err, errno, "open %s", tmp);
        goto out;
    }
    if (put_embedded(tfd, SCRIPT_NAME, "mkbase.sh", err) < 0 || put_embedded(tfd, VERSIONS_NAME, "versions.txt", err) < 0)
        goto out;
    char *const argv[] = {"bash", script, versions, (char *)cache_dir, (char *)out_dir, (char *)spec->major,
                          spec->slim ? "slim" : "full", NULL};
    if (run_child("mkbase.sh", argv, err) < 0) {
        nr_err_wrap(err, "making the context of %s", spec->tag_major);
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

static bool tag_present(img_store *s, const char *ref)
{
    img_image *img = NULL;
    nr_err e;
    if (img_image_load(s, ref, &img, &e) < 0)
        return false;
    img_image_free(img);
    return true;
}

static int ensure(img_store *s, const char *ref, const bld_base_spec *spec, nr_err *err);

int bld_base_ensure(img_store *s, const char *ref, nr_err *err)
{
    bld_base_spec spec;
    int r = bld_base_resolve(NULL, ref, &spec, err);
    if (r == 1) {
        nr_err_set(err, "%s is not a base image nrun knows", ref);
        err->errnum = ENOENT;
        return 1;
    }
    if (r == 0)
        r = ensure(s, ref, &spec, err);
    /* ENOENT means "not a base image" to the caller: a real failure that
     * happens to come from ENOENT keeps its message but not that errnum. */
    if (r < 0 && err->errnum == ENOENT)
        err->errnum = EIO;
    return r;
}

static int ensure(img_store *s, const char *ref, const bld_base_spec *spec_in, nr_err *err)
{
    bld_base_spec spec = *spec_in;
    const char *root = img_store_root(s);
    const char *env_cache = getenv("NRUN_CACHE_DIR");
    cleanup_free char *cache = env_cache && *env_cache ? nr_xstrdup(env_cache) : nr_xasprintf("%s/cache/base", root);
    if (nr_mkdir_p(cache, 0755, err) < 0)
        return nr_err_wrap(err, "base image cache");
    cleanup_close int cfd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0)
        return nr_err_sys(err, errno, "open %s", cache);
    /* One build of an image at a time; a waiter then finds the tag made. */
    char lockname[96];
    snprintf(lockname, sizeof lockname, ".build-%s%s.lock", spec.major, spec.slim ? "-slim" : "");
    cleanup_close int lfd = -1;
    if (nr_lock(cfd, lockname, true, &lfd, err) < 0)
        return -1;
    if (tag_present(s, ref))
        return 0;

    fprintf(stderr, "base: %s is not in the store; making it from pinned packages (node %s)\n", ref, spec.version);
    remove_stale(cfd);
    cleanup_free char *tmp = nr_xasprintf("%s/.ctx-%d-XXXXXX", cache, (int)getpid());
    if (!mkdtemp(tmp))
        return nr_err_sys(err, errno, "mkdtemp %s", tmp);
    cleanup_free char *ctx = nr_xasprintf("%s/ctx", tmp);
    int rc = -1;
    if (bld_base_make_context(&spec, cache, ctx, err) < 0)
        goto out;
    const char *tags[] = {spec.tag_major, spec.tag_version};
    img_desc m;
    if (bld_base_write(s, ctx, tags, 2, &m, err) < 0) {
        nr_err_wrap(err, "writing %s into the store", spec.tag_major);
        goto out;
    }
    fprintf(stderr, "base: %s ready: %s\n", ref, m.digest);
    rc = 0;
out:;
    nr_err e2;
    nr_rm_rf(AT_FDCWD, tmp, &e2);
    return rc;
}
