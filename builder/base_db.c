/* Tag grammar of Docker's official redis and postgres images, made here
 * from Debian's redis-server and postgresql packages by the recipe's
 * os-redis and os-postgres modes (images/node/mkdebian.sh, db.sh):
 * REPO[:TAG], TAG = [VERSION][-VARIANT], VERSION latest or N[.N[.N]],
 * VARIANT alpine[3.N[.N]] or a Debian suite.  Every tag gives
 * REPO:debian-<suite> (stable, or the suite named) with a note that the
 * server's version is Debian's.  See builder/base.h. */
#include <stdio.h>
#include <string.h>

#include "builder/base.h"
#include "builder/base_int.h"
#include "common/embed.h"
#include "common/util.h"

/* N, N.N or N.N.N with parts of 1 to 3 digits (the first 1 or 2). */
static bool version_ok(const char *v, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 3; part++) {
        size_t d = 0;
        while (i + d < n && v[i + d] >= '0' && v[i + d] <= '9')
            d++;
        if (d == 0 || d > (part ? 3u : 2u))
            return false;
        i += d;
        if (i == n)
            return true;
        if (v[i++] != '.')
            return false;
    }
    return false;
}

static int resolve_db(const char *versions, const char *ref, const char *repo, bld_base_kind kind,
                      bld_base_spec *out, nr_err *err)
{
    if (!versions && !(versions = nr_embed_get(BLD_BASE_VERSIONS_NAME, NULL)))
        return nr_err_set(err, "%s is not embedded in this binary", BLD_BASE_VERSIONS_NAME);
    size_t rl = strlen(repo);
    const char *tag = ref[rl] == ':' ? ref + rl + 1 : "latest";
    size_t tl = strlen(tag);
    if (tl == 0 || tl > 48)
        return bld_base_unknown(err, ref, "empty or too long tag");
    if (!bld_base_tag_chars_ok(tag))
        return bld_base_unknown(err, ref, "a tag is made of a-z, 0-9, '.' and '-'");
    bld_base_spec sp = {.kind = kind, .flavour = BLD_BASE_SLIM};
    size_t vl = strcspn(tag, "-");
    if (!strncmp(tag, "alpine", 6) || bld_base_debian_rank(tag, vl) >= 0)
        vl = 0; /* redis:alpine, postgres:bookworm */
    const char *var = tag + vl + (tag[vl] == '-');
    if (tag[vl] == '-' && !*var)
        return bld_base_unknown(err, ref, "empty variant after '-'");
    bool latest = vl == 0 || (vl == 6 && !strncmp(tag, "latest", 6));
    if (!latest && !version_ok(tag, vl))
        return bld_base_unknown(err, ref, "not a version (latest, 7, 7.2, 7.2.5, 16, 16.4)");
    bool alpine = false;
    char suite[24] = "";
    if (!strncmp(var, "alpine", 6)) {
        const char *p = var + 6;
        if (*p && (p[0] != '3' || (p[1] && (p[1] != '.' || !version_ok(p, strlen(p))))))
            return bld_base_unknown(err, ref, "unknown variant (alpine, alpine3.20, bookworm, trixie)");
        alpine = true;
    } else if (*var) {
        if (bld_base_debian_rank(var, strlen(var)) < 0)
            return bld_base_unknown(err, ref, "unknown variant (alpine, alpine3.20, bookworm, trixie)");
        snprintf(suite, sizeof suite, "%.23s", var);
    }
    if (!suite[0] && bld_base_pin_get(versions, "DEBIAN_DIST_DEFAULT", suite, sizeof suite, err) < 0)
        return -1;
    snprintf(sp.suite, sizeof sp.suite, "%s", suite);
    if (bld_base_served(versions, ref, sp.suite, sizeof sp.suite, sp.warning, sizeof sp.warning, err) < 0)
        return -1;
    snprintf(sp.canonical, sizeof sp.canonical, "%s:debian-%s", repo, sp.suite);
    const char *glibc = alpine ? "; Debian slim, glibc, not Alpine" : "";
    if (kind == BLD_BASE_REDIS) {
        snprintf(sp.note, sizeof sp.note, "%s: Debian %s's redis-server package (its version: REDIS_VERSION in the "
                 "image)%s%.*s%s", ref, sp.suite, latest ? "" : ", not redis ", latest ? 0 : (int)vl, tag, glibc);
    } else {
        char key[48], major[8];
        int kl = snprintf(key, sizeof key, "POSTGRES_MAJOR_%s", sp.suite);
        for (int i = 15; i < kl && key[i]; i++)
            key[i] = (char)(key[i] - 'a' + 'A'); /* a suite is a-z only */
        if (bld_base_pin_get(versions, key, major, sizeof major, err) < 0)
            return -1;
        size_t ml = strcspn(tag, ".-");
        bool other = !latest && (ml != strlen(major) || strncmp(tag, major, ml));
        snprintf(sp.note, sizeof sp.note, "%s: Debian %s's PostgreSQL %s (PG_VERSION in the image)%s%.*s%s%s", ref,
                 sp.suite, major, other ? ", not " : "", other ? (int)ml : 0, tag,
                 other ? ": a data directory of another major does not start with it" : "", glibc);
    }
    *out = sp;
    return 0;
}

int bld_base_resolve_redis(const char *versions, const char *ref, bld_base_spec *out, nr_err *err)
{
    return resolve_db(versions, ref, "redis", BLD_BASE_REDIS, out, err);
}

int bld_base_resolve_postgres(const char *versions, const char *ref, bld_base_spec *out, nr_err *err)
{
    return resolve_db(versions, ref, "postgres", BLD_BASE_POSTGRES, out, err);
}

void bld_base_list_db(FILE *f)
{
    static const char *const refs[] = {"redis:latest", "redis:7", "redis:alpine", "redis:7-alpine", "redis:bookworm",
                                       "postgres:latest", "postgres:16", "postgres:17", "postgres:16-alpine",
                                       "postgres:bookworm"};
    bld_base_spec sp;
    nr_err err;
    for (size_t i = 0; i < NR_ARRAY_LEN(refs); i++) {
        int r = refs[i][0] == 'r' ? bld_base_resolve_redis(NULL, refs[i], &sp, &err)
                                  : bld_base_resolve_postgres(NULL, refs[i], &sp, &err);
        if (r == 0)
            fprintf(f, "%s %s  # %s\n", refs[i], sp.canonical, sp.note);
    }
}
