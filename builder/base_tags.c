/* Tag grammar of the node base images: node:[VERSION][-VARIANT] as Docker's
 * official node image defines it, resolved against the lock files
 * (images/node/versions.txt, images/node/releases.lock) without any network.
 * See builder/base.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/base.h"
#include "builder/base_gcr.h"
#include "builder/base_int.h"
#include "common/embed.h"
#include "common/util.h"

#define VERSIONS_NAME "images/node/versions.txt"
#define RELEASES_NAME "images/node/releases.lock"

/* Debian's suites, oldest first: the order "nearest" is measured in. */
static const char *const DEBIAN_ORDER[] = {"stretch", "buster", "bullseye", "bookworm", "trixie", "forky", NULL};

/* Value of KEY in versions.txt ("KEY=VALUE" lines, '#' comments); 1 when unset. */
int bld_base_pin_find(const char *text, const char *key, char *out, size_t outlen, nr_err *err)
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
    return 1;
}

int bld_base_pin_get(const char *text, const char *key, char *out, size_t outlen, nr_err *err)
{
    int r = bld_base_pin_find(text, key, out, outlen, err);
    if (r == 1)
        return nr_err_set(err, "%s: %s is not set", VERSIONS_NAME, key);
    return r;
}

bool bld_base_all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool bld_base_tag_chars_ok(const char *t)
{
    if (*t == '-' || *t == '.')
        return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') || *t == '-' || *t == '.'))
            return false;
    return true;
}

/* Is `word` one of the space-separated words of `list`? */
bool bld_base_in_list(const char *list, const char *word, size_t wlen)
{
    for (const char *p = list; *p;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t");
        if (n && n == wlen && !strncmp(p, word, n))
            return true;
        p += n;
    }
    return false;
}

int bld_base_debian_rank(const char *s, size_t n)
{
    for (int i = 0; DEBIAN_ORDER[i]; i++)
        if (strlen(DEBIAN_ORDER[i]) == n && !strncmp(DEBIAN_ORDER[i], s, n))
            return i;
    return -1;
}

/* Three numbers of "a.b.c"; false unless exactly that. */
static bool parse_ver(const char *s, size_t n, long v[3])
{
    size_t i = 0;
    for (int k = 0; k < 3; k++) {
        size_t d = 0;
        while (i + d < n && s[i + d] >= '0' && s[i + d] <= '9')
            d++;
        if (d == 0 || d > 6)
            return false;
        v[k] = strtol(s + i, NULL, 10);
        i += d;
        if (k < 2 && (i >= n || s[i++] != '.'))
            return false;
    }
    return i == n;
}

/* The newest release in releases.lock whose version starts with the dotted
 * prefix `want` ("20", "20.11", "20.11.1" = exact). */
static int release_find(const char *releases, const char *want, char *ver, size_t vlen, char *integ, size_t ilen)
{
    size_t wl = strlen(want);
    long best[3] = {-1, -1, -1};
    for (const char *l = releases; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (*l == '#' || *l == '\n')
            continue;
        size_t vn = strcspn(l, " \n");
        long v[3];
        if (!parse_ver(l, vn, v) || vn < wl || strncmp(l, want, wl) || (vn > wl && l[wl] != '.'))
            continue;
        if (v[0] < best[0] || (v[0] == best[0] && (v[1] < best[1] || (v[1] == best[1] && v[2] <= best[2]))))
            continue;
        const char *in = l + vn + (l[vn] == ' ');
        size_t inn = strcspn(in, " \n");
        if (l[vn] != ' ' || strncmp(in, "sha512-", 7) || inn >= ilen || vn >= vlen)
            continue;
        memcpy(best, v, sizeof best);
        memcpy(ver, l, vn);
        ver[vn] = '\0';
        memcpy(integ, in, inn);
        integ[inn] = '\0';
    }
    return best[0] < 0 ? 1 : 0;
}

/* Major of an alias or codename; 1 when `w` is neither. */
static int alias_major(const char *versions, const char *w, size_t n, char *major, size_t mlen, nr_err *err)
{
    const char *key = NULL;
    if (n == 3 && !strncmp(w, "lts", 3))
        key = "NODE_LTS";
    else if ((n == 7 && !strncmp(w, "current", 7)) || (n == 6 && !strncmp(w, "latest", 6)) || n == 0)
        key = "NODE_CURRENT";
    if (key)
        return bld_base_pin_get(versions, key, major, mlen, err);
    /* A codename: CODENAME_<major>=<name> (from each release's CHANGELOG). */
    for (const char *l = versions; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, "CODENAME_", 9))
            continue;
        size_t ml = strcspn(l + 9, "=\n");
        const char *v = l + 9 + ml + 1;
        if (l[9 + ml] != '=' || strcspn(v, "\n") != n || strncasecmp(v, w, n) || ml >= mlen)
            continue;
        memcpy(major, l + 9, ml);
        major[ml] = '\0';
        return 0;
    }
    return 1;
}

int bld_base_unknown(nr_err *err, const char *ref, const char *why)
{
    nr_err_set(err, "%s: %s", ref, why);
    err->errnum = ENOENT;
    return 1;
}

const char *bld_base_debian_name(int rank)
{
    return rank >= 0 && rank < (int)NR_ARRAY_LEN(DEBIAN_ORDER) ? DEBIAN_ORDER[rank] : NULL;
}

int bld_base_served(const char *versions, const char *ref, char *suite, size_t slen, char *warning, size_t wlen,
                    nr_err *err)
{
    char served[128];
    if (bld_base_pin_get(versions, "DEBIAN_SUITES", served, sizeof served, err) < 0)
        return -1;
    if (bld_base_in_list(served, suite, strlen(suite)))
        return 0;
    /* Nearest: the next newer suite still served, else the newest older one. */
    int rank = bld_base_debian_rank(suite, strlen(suite)), pick = -1;
    for (int i = rank + 1; DEBIAN_ORDER[i] && pick < 0; i++)
        if (bld_base_in_list(served, DEBIAN_ORDER[i], strlen(DEBIAN_ORDER[i])))
            pick = i;
    for (int i = rank - 1; i >= 0 && pick < 0; i--)
        if (bld_base_in_list(served, DEBIAN_ORDER[i], strlen(DEBIAN_ORDER[i])))
            pick = i;
    if (pick < 0)
        return nr_err_set(err, "%s: DEBIAN_SUITES names no suite nrun knows", VERSIONS_NAME);
    snprintf(warning, wlen, "%s: Debian %s is no longer in Debian's archive; using the nearest suite, %s", ref, suite,
             DEBIAN_ORDER[pick]);
    snprintf(suite, slen, "%s", DEBIAN_ORDER[pick]);
    return 0;
}

bool bld_base_hub_official(const char *ref, char *out, size_t outlen)
{
    static const char *const spelled[] = {"docker.io/library/", "docker.io/", "library/", "index.docker.io/library/",
                                          "index.docker.io/", "registry-1.docker.io/library/",
                                          "public.ecr.aws/docker/library/", "mirror.gcr.io/library/",
                                          /* the official images' amd64 builds, Docker Hub's per-architecture
                                           * repositories (FROM ${ARCH}/node:... with ARCH=amd64): the same
                                           * image on linux/amd64, the one platform nbuild builds for */
                                          "amd64/", "docker.io/amd64/", "index.docker.io/amd64/"};
    static const char *const repos[] = {"node:",  "debian:",   "alpine:", "nginx:",
                                        "redis:", "postgres:", "mysql:",  "mariadb:"};
    for (size_t i = 0; i < NR_ARRAY_LEN(spelled); i++) {
        size_t n = strlen(spelled[i]);
        if (strncmp(ref, spelled[i], n))
            continue;
        for (size_t k = 0; k < NR_ARRAY_LEN(repos); k++) {
            if (strncmp(ref + n, repos[k], strlen(repos[k])))
                continue;
            cleanup_free char *t = nr_xstrdup(ref + n); /* out may be ref */
            if (strlen(t) >= outlen)
                return false;
            memcpy(out, t, strlen(t) + 1);
            return true;
        }
    }
    /* nginxinc/nginx-unprivileged (not an official image: no library/) */
    if (bld_base_is_nginx_unpriv(ref) && strncmp(ref, BLD_NGINX_UNPRIV, strlen(BLD_NGINX_UNPRIV))) {
        const char *t = strstr(ref, BLD_NGINX_UNPRIV);
        if (strlen(t) >= outlen)
            return false;
        memmove(out, t, strlen(t) + 1);
        return true;
    }
    return false;
}

bool bld_base_made_here(const char *norm)
{
    return !strncmp(norm, "node:", 5) || !strncmp(norm, "debian:", 7) || !strncmp(norm, "alpine:", 7) ||
           !strncmp(norm, "nginx:", 6) || !strncmp(norm, BLD_NGINX_UNPRIV ":", strlen(BLD_NGINX_UNPRIV) + 1) ||
           bld_base_is_db(norm) || bld_gcr_is(norm);
}

bool bld_base_hub_node(const char *ref, char *out, size_t outlen)
{
    size_t n = strcspn(ref, ":");
    return n >= 4 && !strncmp(ref + n - 4, "node", 4) && (n == 4 || ref[n - 5] == '/') &&
           bld_base_hub_official(ref, out, outlen);
}

int bld_base_resolve(const char *versions, const char *releases, const char *ref, bld_base_spec *out, nr_err *err)
{
    if (!versions && !(versions = nr_embed_get(VERSIONS_NAME, NULL)))
        return nr_err_set(err, "%s is not embedded in this binary", VERSIONS_NAME);
    if (!releases && !(releases = nr_embed_get(RELEASES_NAME, NULL)))
        return nr_err_set(err, "%s is not embedded in this binary", RELEASES_NAME);
    if (!strncmp(ref, "debian:", 7) || !strcmp(ref, "debian"))
        return bld_base_resolve_debian(versions, ref, out, err);
    if (!strncmp(ref, "nginx:", 6) || !strcmp(ref, "nginx") ||
        (bld_base_is_nginx_unpriv(ref) && !strncmp(ref, BLD_NGINX_UNPRIV, strlen(BLD_NGINX_UNPRIV))))
        return bld_base_resolve_nginx(versions, ref, out, err);
    if (bld_base_is_db(ref)) /* redis, postgres, mysql, mariadb */
        return bld_base_resolve_db(versions, ref, out, err);
    if (!strncmp(ref, "alpine:", 7) || !strcmp(ref, "alpine")) {
        char slim[64];
        return bld_base_alpine_os(ref, slim, sizeof slim, err);
    }
    if (strncmp(ref, "node:", 5))
        return bld_base_unknown(err, ref,
                                "not an image nbuild makes (node, debian, alpine, nginx, nginxinc/nginx-unprivileged, "
                                "redis, postgres, mysql, mariadb, gcr.io/distroless)");
    const char *tag = ref + 5;
    if (strlen(tag) > 64)
        return bld_base_unknown(err, ref, "tag too long");
    if (!*tag || *tag == '-')
        return bld_base_unknown(err, ref, "empty version");
    /* VERSION is the part before the first '-' unless that part is a variant
     * word itself (node:slim, node:bookworm-slim, node:alpine). */
    size_t hl = strcspn(tag, "-");
    bool head_is_variant = !strncmp(tag, "slim", hl) ? hl == 4
                           : (!strncmp(tag, "distroless", hl) && hl == 10) || (hl >= 6 && !strncmp(tag, "alpine", 6)) ||
                                 bld_base_debian_rank(tag, hl) >= 0;
    const char *vpart = tag, *var = tag + hl + (tag[hl] == '-');
    size_t vl = hl;
    if (head_is_variant) {
        vl = 0;
        var = tag;
    }
    if (tag[hl] == '-' && !*var)
        return bld_base_unknown(err, ref, "empty variant after '-'");

    bld_base_spec sp = {.flavour = BLD_BASE_FULL};
    char want[32] = "";
    if (vl && bld_base_all_digits(vpart, strcspn(vpart, ".") < vl ? strcspn(vpart, ".") : vl)) {
        /* 20 / 20.11 / 20.11.1 */
        size_t ml = strcspn(vpart, ".");
        if (ml > vl)
            ml = vl;
        if (ml >= sizeof sp.major || vl >= sizeof want)
            return bld_base_unknown(err, ref, "version too long");
        for (size_t i = 0; i < vl; i++)
            if (!((vpart[i] >= '0' && vpart[i] <= '9') || vpart[i] == '.') || (vpart[i] == '.' && vpart[i + 1] == '.'))
                return bld_base_unknown(err, ref, "a version is MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH");
        if (vpart[vl - 1] == '.' || (vpart[0] == '0' && ml > 1))
            return bld_base_unknown(err, ref, "a version is MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH");
        memcpy(sp.major, vpart, ml);
        memcpy(want, vpart, vl);
    } else {
        char w[32];
        if (vl >= sizeof w)
            return bld_base_unknown(err, ref, "not a version, alias or codename of node");
        memcpy(w, vpart, vl);
        w[vl] = '\0';
        int r = alias_major(versions, w, vl, sp.major, sizeof sp.major, err);
        if (r < 0)
            return -1;
        if (r == 1)
            return bld_base_unknown(err, ref, "not a version, alias (lts, current, latest) or LTS codename of node");
        snprintf(want, sizeof want, "%s", sp.major);
    }
    char majors[128];
    if (bld_base_pin_get(versions, "NODE_MAJORS", majors, sizeof majors, err) < 0)
        return -1;
    if (release_find(releases, want, sp.version, sizeof sp.version, sp.integrity, sizeof sp.integrity)) {
        char why[160];
        snprintf(why, sizeof why, "node %s is not a release in %s (refresh it: tools/update-node-pins.sh --write)",
                 want, RELEASES_NAME);
        return bld_base_unknown(err, ref, why);
    }
    if (!bld_base_in_list(majors, sp.major, strlen(sp.major))) {
        char why[192];
        snprintf(why, sizeof why, "node %s is not pinned (NODE_MAJORS in %s; add it with tools/update-node-pins.sh %s)",
                 sp.major, VERSIONS_NAME, sp.major);
        return bld_base_unknown(err, ref, why);
    }

    /* The variant. */
    size_t varl = strlen(var);
    bool slim = varl >= 4 && !strcmp(var + varl - 4, "slim") && (varl == 4 || var[varl - 5] == '-');
    size_t suitel = slim ? (varl == 4 ? 0 : varl - 5) : varl;
    char key[48];
    if (varl >= 6 && !strncmp(var, "alpine", 6)) {
        const char *mapped = vl ? "-slim" : "slim";
        nr_err_set(err,
                   "%s: not an Alpine variant of Docker's node image (-alpine, -alpine<version>), and nrun makes no "
                   "Alpine image; the nearest Debian variant is node:%.*s%s (--base-map chooses another)",
                   ref, (int)vl, vpart, mapped);
        err->errnum = ENOTSUP;
        return 2;
    }
    if (varl == 10 && !strcmp(var, "distroless")) {
        sp.flavour = BLD_BASE_DISTROLESS;
        snprintf(sp.canonical, sizeof sp.canonical, "node:%s-distroless", sp.version);
        *out = sp;
        return 0;
    }
    if (suitel && bld_base_debian_rank(var, suitel) < 0)
        return bld_base_unknown(err, ref, "unknown variant (slim, bookworm, bookworm-slim, trixie, trixie-slim, distroless, ...)");
    sp.flavour = slim ? BLD_BASE_SLIM : BLD_BASE_FULL;
    if (suitel) {
        memcpy(sp.suite, var, suitel);
    } else {
        snprintf(key, sizeof key, "DEBIAN_DIST_%s", sp.major);
        int r = bld_base_pin_find(versions, key, sp.suite, sizeof sp.suite, err);
        if (r == 1)
            r = bld_base_pin_get(versions, "DEBIAN_DIST_DEFAULT", sp.suite, sizeof sp.suite, err);
        if (r < 0)
            return -1;
    }
    if (bld_base_served(versions, ref, sp.suite, sizeof sp.suite, sp.warning, sizeof sp.warning, err) < 0)
        return -1;
    snprintf(sp.canonical, sizeof sp.canonical, "node:%s-%s%s", sp.version, sp.suite, slim ? "-slim" : "");
    *out = sp;
    return 0;
}

bool bld_base_alpine_slim(const char *ref, char *out, size_t outlen)
{
    char t[96]; /* the tag, without a digest pin */
    size_t tl = strcspn(ref, "@");
    if (!strncmp(ref, "alpine:", 7) && tl < sizeof t) { /* alpine:3.19: Debian without node */
        memcpy(t, ref, tl);
        t[tl] = '\0';
        nr_err e;
        return bld_base_alpine_os(t, out, outlen, &e) == 2;
    }
    if (strncmp(ref, "node:", 5) || tl >= sizeof t)
        return false;
    memcpy(t, ref, tl);
    t[tl] = '\0';
    const char *tag = t + 5, *a = NULL;
    if (!strncmp(tag, "alpine", 6))
        a = tag;
    else if (strstr(tag, "-alpine") && !strstr(strstr(tag, "-alpine") + 1, "-"))
        a = strstr(tag, "-alpine") + 1;
    if (!a)
        return false;
    /* alpine, alpine3.20: nothing else follows Docker's alpine variant */
    for (const char *c = a + 6; *c; c++)
        if (!((*c >= '0' && *c <= '9') || *c == '.'))
            return false;
    int n = snprintf(out, outlen, "node:%.*sslim", (int)(a - tag), tag);
    return n > 0 && (size_t)n < outlen;
}

int bld_base_resolve_listed(const char *ref, bld_base_spec *out, char *note, size_t notelen, nr_err *err)
{
    if (bld_gcr_is(ref))
        return bld_gcr_resolve_listed(ref, out, note, notelen, err);
    int r = bld_base_resolve(NULL, NULL, ref, out, err);
    char slim[96];
    *note = '\0';
    if (r == 0 && out->note[0])
        snprintf(note, notelen, "%s", out->note);
    if (r != 2 || !bld_base_alpine_slim(ref, slim, sizeof slim))
        return r;
    r = bld_base_resolve(NULL, NULL, slim, out, err);
    if (r == 0)
        snprintf(note, notelen, "Debian slim for Alpine: nbuild's FROM %s builds on %s (glibc, apk translated)", ref,
                 slim);
    return r;
}

static void list_word(FILE *f, const char *word)
{
    static const char *const variants[] = {"", "-slim", "-bookworm", "-bookworm-slim", "-trixie", "-trixie-slim",
                                           "-distroless", "-alpine", NULL};
    for (int i = 0; variants[i]; i++) {
        char ref[96], note[256];
        bld_base_spec sp;
        nr_err err;
        snprintf(ref, sizeof ref, "node:%s%s", word, variants[i]);
        if (bld_base_resolve_listed(ref, &sp, note, sizeof note, &err) == 0)
            fprintf(f, "%s %s%s%s\n", ref, sp.canonical, *note ? "  # " : "", note);
    }
}

char *bld_base_list(void)
{
    const char *versions = nr_embed_get(VERSIONS_NAME, NULL);
    char majors[128];
    nr_err err;
    if (!versions || bld_base_pin_get(versions, "NODE_MAJORS", majors, sizeof majors, &err) < 0)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    list_word(f, "lts");
    list_word(f, "current");
    list_word(f, "latest");
    for (char *save = NULL, *m = strtok_r(majors, " \t", &save); m; m = strtok_r(NULL, " \t", &save)) {
        bld_base_spec sp;
        char ref[64], w[40];
        snprintf(ref, sizeof ref, "node:%s", m);
        if (bld_base_resolve(NULL, NULL, ref, &sp, &err) != 0)
            continue;
        list_word(f, m);
        snprintf(w, sizeof w, "%.*s", (int)strcspn(sp.version + strlen(m) + 1, ".") + (int)strlen(m) + 1, sp.version);
        list_word(f, w);
        list_word(f, sp.version);
        char key[32], code[32];
        snprintf(key, sizeof key, "CODENAME_%s", m);
        if (bld_base_pin_find(versions, key, code, sizeof code, &err) == 0 && strcmp(code, "-"))
            list_word(f, code);
    }
    bld_base_list_os(f);
    bld_gcr_list(f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
