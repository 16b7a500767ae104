/* Google's distroless names made here: parse gcr.io/distroless/NAME[:TAG],
 * make node:<ver>-distroless's context (mkbase.sh), reshape it as Google's
 * image (images/node/mkgcr.sh) and write it into the store.  See
 * builder/base_gcr.h. */
#include "builder/base_gcr.h"
#include "builder/base_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/embed.h"
#include "common/util.h"
#include "images/image.h"
#include "images/store.h"

#define KNOWN                                                                                                  \
    "nbuild makes gcr.io/distroless/nodejsNN-debianMM (NN a node major nbuild pins, see nrun base --list), "   \
    "static-, base-, base-nossl- and cc-debianMM (MM 11, 12, 13), tags latest, nonroot, debug, debug-nonroot; " \
    "gcr.io is never contacted: put Google's image in the store (nrun load, nrun pull from a mirror and nrun "  \
    "tag) or choose another with --base-map"

static const char *const TAGS[] = {"latest", "nonroot", "debug", "debug-nonroot"};
static const char *const KINDS[] = {"static", "base", "base-nossl", "cc"};

bool bld_gcr_is(const char *ref)
{
    return !strncmp(ref, BLD_GCR_PREFIX, strlen(BLD_GCR_PREFIX));
}

static int unknown(nr_err *err, const char *ref, const char *why)
{
    /* the name as written, cut and made printable: it is the user's input */
    char shown[96];
    size_t i = 0;
    for (; ref[i] && i < sizeof shown - 4; i++)
        shown[i] = ref[i] > ' ' && ref[i] < 127 ? ref[i] : '?';
    strcpy(shown + i, ref[i] ? "..." : "");
    nr_err_set(err, "%s: %s; %s", shown, why, KNOWN);
    err->errnum = ENOENT;
    return 1;
}

static bool digits(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max || (s[0] == '0' && n > 1))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int bld_gcr_resolve(const char *ref, bld_gcr_spec *out, nr_err *err)
{
    if (!bld_gcr_is(ref))
        return unknown(err, ref, "not a gcr.io/distroless/ name");
    const char *name = ref + strlen(BLD_GCR_PREFIX);
    size_t nl = strcspn(name, ":@");
    if (nl == 0 || nl > 40)
        return unknown(err, ref, "no image name, or one too long");
    const char *tag = name[nl] == ':' ? name + nl + 1 : "";
    size_t tl = strcspn(tag, "@");
    const char *pin = strchr(name, '@');
    if (pin) {
        if (strncmp(pin, "@sha256:", 8) || strlen(pin + 8) != 64 || strspn(pin + 8, "0123456789abcdef") != 64)
            return unknown(err, ref, "a digest is @sha256: and 64 lowercase hex digits");
    }
    bld_gcr_spec g = {0};
    /* the tag: Google's four, with or without their -amd64 suffix */
    char t[32] = "latest";
    if (name[nl] == ':') {
        if (tl == 0 || tl >= sizeof t)
            return unknown(err, ref, "empty or too long tag");
        memcpy(t, tag, tl);
        t[tl] = '\0';
    }
    size_t bl = strlen(t);
    if (bl > 6 && !strcmp(t + bl - 6, "-amd64"))
        t[bl - 6] = '\0';
    for (size_t i = 0; i < NR_ARRAY_LEN(TAGS) && !g.tag[0]; i++)
        if (!strcmp(t, TAGS[i]))
            snprintf(g.tag, sizeof g.tag, "%s", TAGS[i]);
    if (!g.tag[0] && (strstr(t, "-arm") || strstr(t, "-ppc64le") || strstr(t, "-s390x")))
        return unknown(err, ref, "only linux/amd64 images are made here");
    if (!g.tag[0])
        return unknown(err, ref, "not a tag Google publishes for it");

    /* the name: KIND-debianMM */
    const char *deb = NULL;
    for (const char *p = name; p + 7 <= name + nl; p++)
        if (!strncmp(p, "-debian", 7))
            deb = p;
    if (!deb || !digits(deb + 7, (size_t)(name + nl - deb - 7), 2))
        return unknown(err, ref, "not a name of the form KIND-debianMM");
    size_t dl = (size_t)(name + nl - deb - 7);
    memcpy(g.debian, deb + 7, dl);
    if (strcmp(g.debian, "11") && strcmp(g.debian, "12") && strcmp(g.debian, "13"))
        return unknown(err, ref, "Debian 11, 12 and 13 only");
    size_t kl = (size_t)(deb - name);
    char major[8] = "";
    if (kl > 6 && !strncmp(name, "nodejs", 6)) {
        if (!digits(name + 6, kl - 6, 3))
            return unknown(err, ref, "not a node major after nodejs");
        memcpy(major, name + 6, kl - 6);
        snprintf(g.kind, sizeof g.kind, "nodejs");
    } else {
        for (size_t i = 0; i < NR_ARRAY_LEN(KINDS) && !g.kind[0]; i++)
            if (strlen(KINDS[i]) == kl && !strncmp(name, KINDS[i], kl))
                snprintf(g.kind, sizeof g.kind, "%s", KINDS[i]);
        if (!g.kind[0])
            return unknown(err, ref, "not a distroless image nbuild makes");
    }

    /* the node it is made from: the major's pin (the LTS for the others,
     * whose node layer is left out) */
    char nref[32];
    snprintf(nref, sizeof nref, "node:%s-distroless", major[0] ? major : "lts");
    nr_err e;
    int r = bld_base_resolve(NULL, NULL, nref, &g.node, &e);
    if (r < 0) {
        *err = e;
        return -1;
    }
    if (r != 0) {
        char why[80];
        snprintf(why, sizeof why, "node %s is not a major nbuild pins", major);
        return unknown(err, ref, why);
    }
    snprintf(g.canonical, sizeof g.canonical, "%s%.*s:%s", BLD_GCR_PREFIX, (int)nl, name, g.tag);
    snprintf(g.asked, sizeof g.asked, "%s%.*s:%.*s", BLD_GCR_PREFIX, (int)nl, name, (int)(tl ? tl : 6),
             tl ? tag : "latest");
    *out = g;
    return 0;
}

bool bld_gcr_unpin(img_store *s, const char *ref, char *out, size_t outlen)
{
    const char *pin = strchr(ref, '@');
    if (!bld_gcr_is(ref) || !pin)
        return false;
    bld_gcr_spec g;
    nr_err e0;
    if (bld_gcr_resolve(ref, &g, &e0) != 0)
        return false; /* a malformed pin or name: the caller's parser says why */
    img_image *img = NULL;
    nr_err e;
    if (img_image_load_digest(s, pin + 1, &img, &e) == 0) {
        img_image_free(img);
        return false; /* Google's image itself is here: the pin is checked */
    }
    size_t nl = (size_t)(pin - ref);
    bool tagged = memchr(ref + strlen(BLD_GCR_PREFIX), ':', nl - strlen(BLD_GCR_PREFIX)) != NULL;
    int n = snprintf(out, outlen, "%.*s%s", (int)nl, ref, tagged ? "" : ":latest");
    return n > 0 && (size_t)n < outlen;
}

/* Reshape the context `ctx` (mkbase.sh's) with the embedded mkgcr.sh. */
static int reshape(const bld_gcr_spec *g, const char *cache, const char *tmp, const char *ctx, nr_err *err)
{
    cleanup_close int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0)
        return nr_err_sys(err, errno, "open %s", tmp);
    static const char *const files[] = {"mkgcr.sh", "common.sh", NULL};
    if (bld_base_put_recipes(tfd, files, err) < 0)
        return -1;
    cleanup_free char *script = nr_xasprintf("%s/mkgcr.sh", tmp);
    char *const argv[] = {"bash",           script,         (char *)ctx,         (char *)cache, (char *)g->kind,
                          (char *)g->tag, (char *)g->debian, (char *)g->canonical, NULL};
    return bld_base_run("mkgcr.sh", argv, err);
}

int bld_gcr_ensure(img_store *s, const char *ref, nr_err *err)
{
    bld_gcr_spec g;
    int r = bld_gcr_resolve(ref, &g, err);
    if (r != 0)
        return r;
    if (bld_base_tag_present(s, g.asked))
        return 0;
    cleanup_free char *cache = bld_base_cache_dir(s, err);
    if (!cache)
        return -1;
    cleanup_close int cfd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0)
        return nr_err_sys(err, errno, "open %s", cache);
    /* one make of a name at a time; a waiter then finds it made */
    char lockname[128];
    snprintf(lockname, sizeof lockname, ".build-gcr-%.80s.lock", g.canonical + strlen(BLD_GCR_PREFIX));
    for (char *c = lockname; *c; c++)
        if (*c == ':' || *c == '/')
            *c = '_';
    cleanup_close int lfd = -1;
    if (nr_lock(cfd, lockname, true, &lfd, err) < 0)
        return -1;
    if (bld_base_tag_present(s, g.asked))
        return 0;
    img_image *have = NULL;
    nr_err e;
    if (img_image_load(s, g.canonical, &have, &e) == 0) { /* :nonroot-amd64 after :nonroot */
        r = img_tag_set(s, g.asked, img_image_top(have), err);
        img_image_free(have);
        return r;
    }
    fprintf(stderr, "base: %s is not in the store; making it here (node:%s-distroless reshaped as Google's "
                    "image; gcr.io is not contacted)\n",
            g.asked, g.node.version);
    cleanup_free char *tmp = nr_xasprintf("%s/.ctx-%d-XXXXXX", cache, (int)getpid());
    if (!mkdtemp(tmp))
        return nr_err_sys(err, errno, "mkdtemp %s", tmp);
    cleanup_free char *ctx = nr_xasprintf("%s/ctx", tmp);
    int rc = -1;
    img_desc m;
    const char *tags[] = {g.canonical, g.asked};
    if (bld_base_make_context(&g.node, cache, ctx, err) < 0 || reshape(&g, cache, tmp, ctx, err) < 0) {
        nr_err_wrap(err, "making %s", g.canonical);
        goto out;
    }
    if (bld_base_write(s, ctx, tags, strcmp(g.canonical, g.asked) ? 2 : 1, &m, err) < 0) {
        nr_err_wrap(err, "writing %s into the store", g.canonical);
        goto out;
    }
    fprintf(stderr, "base: %s ready: %s\n", g.asked, m.digest);
    rc = 0;
out:;
    nr_err e2;
    nr_rm_rf(AT_FDCWD, tmp, &e2);
    if (rc < 0 && err->errnum == ENOENT)
        err->errnum = EIO; /* ENOENT means "not a base image" to the caller */
    return rc;
}

int bld_gcr_resolve_listed(const char *ref, bld_base_spec *out, char *note, size_t notelen, nr_err *err)
{
    bld_gcr_spec g;
    int r = bld_gcr_resolve(ref, &g, err);
    if (r != 0)
        return r;
    *out = g.node;
    snprintf(out->canonical, sizeof out->canonical, "%s", g.canonical);
    bool nodejs = !strcmp(g.kind, "nodejs");
    snprintf(note, notelen, "made here: %s%s%s, user %s%s", nodejs ? "node " : "Google's ", nodejs ? g.node.version : g.kind,
             nodejs ? " at /nodejs/bin/node" : " shape", strstr(g.tag, "nonroot") ? "65532" : "0",
             strncmp(g.tag, "debug", 5) ? "" : ", busybox at /busybox");
    return 0;
}

void bld_gcr_list(FILE *f)
{
    const char *versions = nr_embed_get("images/node/versions.txt", NULL);
    const char *m = versions ? strstr(versions, "\nNODE_MAJORS=") : NULL;
    char majors[128] = "";
    if (m)
        snprintf(majors, sizeof majors, "%.*s", (int)strcspn(m + 13, "\n"), m + 13);
    static const char *const debs[] = {"11", "12", "13"};
    char names[64][24];
    size_t n = 0;
    for (char *save = NULL, *w = strtok_r(majors, " \t", &save); w && n < 60; w = strtok_r(NULL, " \t", &save))
        snprintf(names[n++], sizeof names[0], "nodejs%.8s", w);
    for (size_t i = 0; i < NR_ARRAY_LEN(KINDS); i++)
        snprintf(names[n++], sizeof names[0], "%s", KINDS[i]);
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < NR_ARRAY_LEN(debs); d++)
            for (size_t t = 0; t < NR_ARRAY_LEN(TAGS); t++) {
                char ref[96], note[160];
                bld_base_spec sp;
                nr_err err;
                snprintf(ref, sizeof ref, "%s%.23s-debian%.3s:%.15s", BLD_GCR_PREFIX, names[i], debs[d], TAGS[t]);
                if (bld_gcr_resolve_listed(ref, &sp, note, sizeof note, &err) == 0)
                    fprintf(f, "%s %s  # %s\n", ref, sp.canonical, note);
            }
}
