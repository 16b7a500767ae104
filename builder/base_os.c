/* Tag grammar of Docker's official debian image, made here by the node
 * images' recipe in its os mode (images/node/mkdebian.sh os-slim|os-full):
 * debian[:TAG], TAG = WORD[-YYYYMMDD][-slim], WORD a suite, a version
 * number, stable, oldstable, oldoldstable or latest.  Which suite is stable
 * is read from versions.txt (DEBIAN_DIST_DEFAULT, the suite of the node
 * images' plain tags), never written here.  alpine[:TAG] is not made: FROM
 * builds it on debian:<ALPINE_DEBIAN>-slim with apk translated, as node's
 * Alpine tags (plan_from.c, alpine.c).  See builder/base.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "builder/base.h"
#include "builder/base_int.h"
#include "common/embed.h"
#include "common/util.h"

/* Debian's release numbers, by suite. */
static const struct {
    const char *suite;
    const char *number;
} NUMBERS[] = {{"stretch", "9"}, {"buster", "10"}, {"bullseye", "11"}, {"bookworm", "12"}, {"trixie", "13"},
               {"forky", "14"}};

/* Suites Docker's debian image has that nbuild does not make: not
 * released, so their packages change every day. */
static const char *const UNRELEASED[] = {"sid", "unstable", "testing", "experimental", "rc-buggy"};

/* The suite `alias` (stable, oldstable, oldoldstable) names today: stable
 * is DEBIAN_DIST_DEFAULT, each "old" one suite before. */
static int alias_suite(const char *versions, const char *ref, size_t olds, char *suite, size_t slen, nr_err *err)
{
    char stable[24];
    if (bld_base_pin_get(versions, "DEBIAN_DIST_DEFAULT", stable, sizeof stable, err) < 0)
        return -1;
    int rank = bld_base_debian_rank(stable, strlen(stable));
    if (rank < 0)
        return nr_err_set(err, "%s: DEBIAN_DIST_DEFAULT=%s is not a suite nrun knows", BLD_BASE_VERSIONS_NAME, stable);
    const char *name = bld_base_debian_name(rank - (int)olds);
    if ((int)olds > rank || !name)
        return bld_base_unknown(err, ref, "no Debian suite is that old here");
    snprintf(suite, slen, "%s", name);
    return 0;
}

int bld_base_resolve_debian(const char *versions, const char *ref, bld_base_spec *out, nr_err *err)
{
    if (!versions && !(versions = nr_embed_get(BLD_BASE_VERSIONS_NAME, NULL)))
        return nr_err_set(err, "%s is not embedded in this binary", BLD_BASE_VERSIONS_NAME);
    const char *tag = strcmp(ref, "debian") ? ref + 7 : "latest";
    size_t tl = strlen(tag);
    if (tl > 64)
        return bld_base_unknown(err, ref, "tag too long");
    if (!bld_base_tag_chars_ok(tag))
        return bld_base_unknown(err, ref, "a debian tag is made of a-z, 0-9, '.' and '-'");
    bld_base_spec sp = {.kind = BLD_BASE_DEBIAN, .flavour = BLD_BASE_FULL};
    /* -slim, then -YYYYMMDD, off the end; what is left is WORD */
    size_t wl = tl;
    if (wl > 5 && !strcmp(tag + wl - 5, "-slim")) {
        sp.flavour = BLD_BASE_SLIM;
        wl -= 5;
    }
    const char *date = NULL;
    if (wl > 9 && tag[wl - 9] == '-' && bld_base_all_digits(tag + wl - 8, 8)) {
        date = tag + wl - 8;
        wl -= 9;
    }
    char word[40];
    if (wl == 0 || wl >= sizeof word)
        return bld_base_unknown(err, ref, "not a Debian suite, version, stable, oldstable or latest");
    memcpy(word, tag, wl);
    word[wl] = '\0';
    for (size_t i = 0; i < NR_ARRAY_LEN(UNRELEASED); i++)
        if (!strcmp(word, UNRELEASED[i]) || (!strncmp(word, UNRELEASED[i], strlen(UNRELEASED[i])) &&
                                              word[strlen(UNRELEASED[i])] == '-'))
            return bld_base_unknown(err, ref,
                                    "nbuild makes only Debian's released suites (bookworm, trixie, stable, "
                                    "oldstable), not one whose packages change daily; pull it from a registry or "
                                    "--base-map it to an image you have");
    if (strstr(word, "-backports"))
        return bld_base_unknown(err, ref, "backports images are not made here (debian:SUITE, then apt-get from "
                                          "SUITE-backports in a RUN step)");
    size_t dot = strcspn(word, ".");
    bool number = bld_base_all_digits(word, dot) && (word[dot] == '\0' || bld_base_all_digits(word + dot + 1, strlen(word + dot + 1)));
    if (!strcmp(word, "latest")) {
        if (sp.flavour == BLD_BASE_SLIM || date)
            return bld_base_unknown(err, ref, "Docker's debian image has only \"latest\" (say stable-slim)");
        int r = alias_suite(versions, ref, 0, sp.suite, sizeof sp.suite, err);
        if (r != 0)
            return r;
    } else if (!strcmp(word, "stable") || !strcmp(word, "oldstable") || !strcmp(word, "oldoldstable")) {
        int r = alias_suite(versions, ref, (size_t)(strlen(word) - 6) / 3, sp.suite, sizeof sp.suite, err);
        if (r != 0)
            return r;
    } else if (number) {
        if (date)
            return bld_base_unknown(err, ref, "a date follows a suite name (bookworm-20241111), not a version");
        for (size_t i = 0; i < NR_ARRAY_LEN(NUMBERS) && !sp.suite[0]; i++)
            if (strlen(NUMBERS[i].number) == dot && !strncmp(word, NUMBERS[i].number, dot))
                snprintf(sp.suite, sizeof sp.suite, "%s", NUMBERS[i].suite);
        if (!sp.suite[0])
            return bld_base_unknown(err, ref, "not a Debian release number nrun knows (9 to 14)");
        if (word[dot])
            snprintf(sp.note, sizeof sp.note,
                     "%s: Debian %s as its archive serves it today (its current point release, not always %s)", ref,
                     sp.suite, word);
    } else if (bld_base_debian_rank(word, wl) >= 0) {
        snprintf(sp.suite, sizeof sp.suite, "%.23s", word);
    } else {
        return bld_base_unknown(err, ref,
                                "not a Debian suite, version, stable, oldstable or latest (bookworm, trixie-slim, 12, "
                                "13.1-slim, stable-slim, bookworm-20241111-slim, ...)");
    }
    if (date)
        snprintf(sp.note, sizeof sp.note,
                 "%s: a dated tag is made from Debian %s as its archive serves it today, not as on %.8s", ref,
                 sp.suite, date);
    if (bld_base_served(versions, ref, sp.suite, sizeof sp.suite, sp.warning, sizeof sp.warning, err) < 0)
        return -1;
    snprintf(sp.canonical, sizeof sp.canonical, "debian:%s%s", sp.suite, sp.flavour == BLD_BASE_SLIM ? "-slim" : "");
    *out = sp;
    return 0;
}

void bld_base_list_os(FILE *f)
{
    static const char *const words[] = {"stable", "oldstable", "bookworm", "trixie", "12", "13"};
    static const char *const variants[] = {"", "-slim"};
    bld_base_spec sp;
    nr_err err;
    if (bld_base_resolve_debian(NULL, "debian:latest", &sp, &err) == 0)
        fprintf(f, "debian:latest %s\n", sp.canonical);
    for (size_t i = 0; i < NR_ARRAY_LEN(words); i++)
        for (size_t v = 0; v < NR_ARRAY_LEN(variants); v++) {
            char ref[64];
            snprintf(ref, sizeof ref, "debian:%s%s", words[i], variants[v]);
            if (bld_base_resolve_debian(NULL, ref, &sp, &err) == 0)
                fprintf(f, "%s %s%s%s\n", ref, sp.canonical, sp.warning[0] ? "  # " : "", sp.warning);
        }
    static const char *const nginx[] = {"nginx:latest", "nginx:stable", "nginx:mainline", "nginx:alpine",
                                        "nginx:stable-alpine", "nginx:alpine-slim", "nginx:bookworm"};
    for (size_t i = 0; i < NR_ARRAY_LEN(nginx); i++)
        if (bld_base_resolve_nginx(NULL, nginx[i], &sp, &err) == 0)
            fprintf(f, "%s %s  # %s\n", nginx[i], sp.canonical, sp.note);
    static const char *const unpriv[] = {BLD_NGINX_UNPRIV ":latest", BLD_NGINX_UNPRIV ":stable-alpine",
                                         BLD_NGINX_UNPRIV ":alpine-slim"};
    for (size_t i = 0; i < NR_ARRAY_LEN(unpriv); i++)
        if (bld_base_resolve_nginx(NULL, unpriv[i], &sp, &err) == 0)
            fprintf(f, "%s %s  # %s\n", unpriv[i], sp.canonical, sp.note);
    bld_base_list_db(f);
}

/* An Alpine release tag: latest, edge, 3, 3.19, 3.19.1, or an edge
 * snapshot's date (20240923). */
static bool alpine_tag_ok(const char *t)
{
    if (!strcmp(t, "latest") || !strcmp(t, "edge"))
        return true;
    size_t n = strlen(t);
    if (n == 8 && bld_base_all_digits(t, 8))
        return true;
    if (t[0] != '3' || (t[1] && t[1] != '.'))
        return false;
    for (int k = 0, i = 1; t[i]; k++) {
        if (t[i] != '.' || k == 2)
            return false;
        size_t d = strspn(t + i + 1, "0123456789");
        if (d == 0 || d > 3)
            return false;
        i += 1 + (int)d;
    }
    return true;
}

int bld_base_alpine_os(const char *ref, char *out, size_t outlen, nr_err *err)
{
    const char *tag = strcmp(ref, "alpine") ? ref + 7 : "latest";
    if (strncmp(ref, "alpine:", 7) && strcmp(ref, "alpine"))
        return bld_base_unknown(err, ref, "not an alpine image");
    if (strlen(tag) > 32 || !bld_base_tag_chars_ok(tag) || !alpine_tag_ok(tag))
        return bld_base_unknown(err, ref,
                                "not an Alpine release tag (latest, edge, 3, 3.19, 3.19.1) nbuild builds on Debian");
    const char *versions = nr_embed_get(BLD_BASE_VERSIONS_NAME, NULL);
    char suite[24];
    if (!versions || bld_base_pin_get(versions, "ALPINE_DEBIAN", suite, sizeof suite, err) < 0)
        return versions ? -1 : nr_err_set(err, "%s is not embedded in this binary", BLD_BASE_VERSIONS_NAME);
    int n = snprintf(out, outlen, "debian:%s-slim", suite);
    if (n < 0 || (size_t)n >= outlen)
        return nr_err_set(err, "%s: the Debian tag does not fit", ref);
    nr_err_set(err,
               "%s: nbuild cannot make Alpine-based images and no registry offers it here; it builds FROM %s on %s "
               "(Debian slim, glibc; apk, adduser and addgroup translated in RUN steps; --base-map chooses another)",
               ref, ref, out);
    err->errnum = ENOTSUP;
    return 2;
}

int bld_base_resolve_nginx(const char *versions, const char *ref, bld_base_spec *out, nr_err *err)
{
    if (!versions && !(versions = nr_embed_get(BLD_BASE_VERSIONS_NAME, NULL)))
        return nr_err_set(err, "%s is not embedded in this binary", BLD_BASE_VERSIONS_NAME);
    bool unpriv = !strncmp(ref, BLD_NGINX_UNPRIV, strlen(BLD_NGINX_UNPRIV));
    size_t rl = unpriv ? strlen(BLD_NGINX_UNPRIV) : 5;
    const char *tag = ref[rl] == ':' ? ref + rl + 1 : "latest";
    if (ref[rl] && ref[rl] != ':')
        return bld_base_unknown(err, ref, "not an nginx image");
    size_t tl = strlen(tag);
    if (tl == 0 || tl > 48)
        return bld_base_unknown(err, ref, "empty or too long tag");
    if (!bld_base_tag_chars_ok(tag))
        return bld_base_unknown(err, ref, "an nginx tag is made of a-z, 0-9, '.' and '-'");
    bld_base_spec sp = {.kind = BLD_BASE_NGINX, .flavour = BLD_BASE_SLIM, .unpriv = unpriv};
    /* VERSION: up to the first '-' unless it is a variant word itself */
    size_t vl = strcspn(tag, "-");
    const char *var = tag + vl + (tag[vl] == '-');
    bool head_var = !strncmp(tag, "alpine", 6) || bld_base_debian_rank(tag, vl) >= 0 ||
                    (vl == 4 && (!strncmp(tag, "perl", 4) || !strncmp(tag, "otel", 4)));
    if (head_var) {
        vl = 0;
        var = tag;
    }
    if (tag[vl] == '-' && !*var)
        return bld_base_unknown(err, ref, "empty variant after '-'");
    char ver[16] = "";
    if (vl >= sizeof ver)
        return bld_base_unknown(err, ref, "not a version of nginx (latest, stable, mainline, 1.27, 1.27.3)");
    memcpy(ver, tag, vl);
    ver[vl] = '\0';
    if (vl && strcmp(ver, "latest") && strcmp(ver, "stable") && strcmp(ver, "mainline")) {
        /* 1, 1.27, 1.27.3 */
        bool good = ver[0] == '1' && (ver[1] == '\0' || ver[1] == '.');
        int parts = 0;
        for (size_t i = 1; good && ver[i]; parts++) {
            size_t d = strspn(ver + i + 1, "0123456789");
            good = ver[i] == '.' && d > 0 && d <= 3 && parts < 2;
            i += 1 + d;
        }
        if (!good)
            return bld_base_unknown(err, ref, "not a version of nginx (latest, stable, mainline, 1.27, 1.27.3)");
    }
    bool alpine = false;
    char suite[24] = "";
    if (!strncmp(var, "alpine", 6)) {
        const char *p = var + 6;
        p += strspn(p, "0123456789.");
        if (*p && strcmp(p, "-slim"))
            return bld_base_unknown(err, ref,
                                    "unknown variant (alpine, alpine-slim, bookworm, trixie; perl and otel modules "
                                    "are not made here)");
        alpine = true;
    } else if (*var) {
        if (bld_base_debian_rank(var, strlen(var)) < 0)
            return bld_base_unknown(err, ref,
                                    "unknown variant (alpine, alpine-slim, bookworm, trixie; perl and otel modules "
                                    "are not made here)");
        snprintf(suite, sizeof suite, "%.23s", var);
    }
    if (!suite[0] && bld_base_pin_get(versions, "DEBIAN_DIST_DEFAULT", suite, sizeof suite, err) < 0)
        return -1;
    snprintf(sp.suite, sizeof sp.suite, "%s", suite);
    if (bld_base_served(versions, ref, sp.suite, sizeof sp.suite, sp.warning, sizeof sp.warning, err) < 0)
        return -1;
    snprintf(sp.canonical, sizeof sp.canonical, "%s:debian-%s", unpriv ? BLD_NGINX_UNPRIV : "nginx", sp.suite);
    snprintf(sp.note, sizeof sp.note, "%s: Debian %s's nginx package (its version: NGINX_VERSION in the image)%s%s%s%s",
             ref, sp.suite, vl && strcmp(ver, "latest") ? ", not nginx " : "", vl && strcmp(ver, "latest") ? ver : "",
             alpine ? "; Debian slim, glibc, not Alpine" : "", unpriv ? "; as user 101 on port 8080" : "");
    *out = sp;
    return 0;
}

bool bld_base_is_nginx_unpriv(const char *ref)
{
    static const char *const hosts[] = {"", "docker.io/", "index.docker.io/", "registry-1.docker.io/"};
    size_t n = strlen(BLD_NGINX_UNPRIV);
    for (size_t i = 0; i < NR_ARRAY_LEN(hosts); i++) {
        size_t h = strlen(hosts[i]);
        if (!strncmp(ref, hosts[i], h) && !strncmp(ref + h, BLD_NGINX_UNPRIV, n) && (!ref[h + n] || ref[h + n] == ':'))
            return true;
    }
    return false;
}
