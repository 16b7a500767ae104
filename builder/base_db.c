/* Tag grammar of Docker's official redis, postgres, mysql and mariadb
 * images, made here from Debian's redis-server, postgresql and MariaDB
 * server packages by the recipe's os-redis, os-postgres, os-mysql and
 * os-mariadb modes (images/node/mkdebian.sh, db.sh): REPO[:TAG],
 * TAG = [VERSION][-VARIANT], VERSION latest, N[.N[.N]] or one of the
 * repository's words (mysql: lts, innovation; mariadb: lts), VARIANT a
 * Debian suite or the repository's build on another distribution
 * (redis, postgres: alpine[3.N[.N]]; mysql: oracle, oraclelinux9, debian;
 * mariadb: jammy, noble, ubi9...), which is made on Debian all the same.
 * Every tag gives REPO:debian-<suite> (stable, or the suite named) with a
 * note that the server's version is Debian's: for mysql, that it is
 * MariaDB.  See builder/base.h. */
#include <stdio.h>
#include <string.h>

#include "builder/base.h"
#include "builder/base_int.h"
#include "common/embed.h"
#include "common/util.h"

/* A repository: its version words besides latest, and its variants built
 * on another distribution (a word; '+' after it: digits and dots may follow,
 * as alpine3.20) with what the note says of them. */
typedef struct {
    const char *repo;
    bld_base_kind kind;
    const char *words;
    const char *const *others;
    const char *other_note;
    const char *versions_help;
    const char *variants_help;
} db_repo;

static const char *const ALPINE[] = {"alpine+", NULL};
static const char *const ORACLE[] = {"oracle", "oraclelinux8", "oraclelinux9", NULL};
static const char *const UBUNTU[] = {"jammy", "noble", "focal", "ubi", "ubi8", "ubi9", "ubi10", NULL};

static const db_repo REPOS[] = {
    {"redis", BLD_BASE_REDIS, "", ALPINE, "Debian slim, glibc, not Alpine", "latest, 7, 7.2, 7.2.5, 16, 16.4",
     "alpine, alpine3.20, bookworm, trixie"},
    {"postgres", BLD_BASE_POSTGRES, "", ALPINE, "Debian slim, glibc, not Alpine", "latest, 7, 7.2, 7.2.5, 16, 16.4",
     "alpine, alpine3.20, bookworm, trixie"},
    {"mysql", BLD_BASE_MYSQL, "lts innovation", ORACLE, "Debian, not Oracle Linux",
     "latest, lts, innovation, 8, 8.0, 8.4.3", "oracle, oraclelinux9, debian, bookworm, trixie"},
    {"mariadb", BLD_BASE_MARIADB, "lts", UBUNTU, "Debian, not Ubuntu or UBI", "latest, lts, 11, 10.11, 11.8.2",
     "jammy, noble, ubi9, bookworm, trixie"},
};

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

/* Does v[0..n) start with one of r's other-distribution variants' words? */
static bool other_prefix(const db_repo *r, const char *v, size_t n)
{
    for (const char *const *o = r->others; *o; o++) {
        size_t ol = strcspn(*o, "+");
        if (n >= ol && !strncmp(v, *o, ol))
            return true;
    }
    return false;
}

/* Is v[0..n) one of r's other-distribution variants? */
static bool other_os(const db_repo *r, const char *v, size_t n)
{
    for (const char *const *o = r->others; *o; o++) {
        size_t ol = strcspn(*o, "+");
        if (n < ol || strncmp(v, *o, ol))
            continue;
        if (n == ol)
            return true;
        /* alpine3, alpine3.20, alpine3.20.1 */
        if ((*o)[ol] == '+' && v[ol] == '3' && (n == ol + 1 || (v[ol + 1] == '.' && version_ok(v + ol, n - ol))))
            return true;
    }
    return false;
}

/* The pin PREFIX<SUITE> (POSTGRES_MAJOR_TRIXIE) of versions.txt. */
static int suite_pin(const char *versions, const char *prefix, const char *suite, char *out, size_t outlen,
                     nr_err *err)
{
    char key[48];
    size_t pl = strlen(prefix);
    int kl = snprintf(key, sizeof key, "%s%s", prefix, suite);
    for (int i = (int)pl; i < kl && key[i]; i++)
        key[i] = (char)(key[i] - 'a' + 'A'); /* a suite is a-z only */
    return bld_base_pin_get(versions, key, out, outlen, err);
}

/* Does the tag's version v[0..vl) name the release series `series` (11.8):
 * 11, 11.8 or 11.8.N? */
static bool same_series(const char *v, size_t vl, const char *series)
{
    size_t sl = strlen(series), major = strcspn(series, ".");
    if (vl == major)
        return !strncmp(v, series, vl);
    return vl >= sl && !strncmp(v, series, sl) && (vl == sl || v[sl] == '.');
}

/* The suite of DEBIAN_SUITES whose postgres major (mariadb series) the
 * version v[0..vl) names, into suite; none: suite left empty.  -1 only
 * when the pins cannot be read. */
static int suite_of_major(const char *versions, const db_repo *r, const char *v, size_t vl, char *suite, size_t n)
{
    char list[128];
    nr_err ign = {0};
    if (bld_base_pin_get(versions, "DEBIAN_SUITES", list, sizeof list, &ign) < 0)
        return 0;
    char *save = NULL;
    for (char *s = strtok_r(list, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
        char got[16];
        bool pg = r->kind == BLD_BASE_POSTGRES;
        if (strspn(s, "abcdefghijklmnopqrstuvwxyz") != strlen(s) || strlen(s) >= n ||
            suite_pin(versions, pg ? "POSTGRES_MAJOR_" : "MARIADB_MAJOR_", s, got, sizeof got, &ign) < 0)
            continue;
        size_t ml = strcspn(v, ".-");
        if (pg ? ml == strlen(got) && !strncmp(v, got, ml) && ml <= vl : same_series(v, vl, got)) {
            snprintf(suite, n, "%s", s);
            return 0;
        }
    }
    return 0;
}

static int resolve_db(const char *versions, const char *ref, const db_repo *r, bld_base_spec *out, nr_err *err)
{
    if (!versions && !(versions = nr_embed_get(BLD_BASE_VERSIONS_NAME, NULL)))
        return nr_err_set(err, "%s is not embedded in this binary", BLD_BASE_VERSIONS_NAME);
    size_t rl = strlen(r->repo);
    const char *tag = ref[rl] == ':' ? ref + rl + 1 : "latest";
    size_t tl = strlen(tag);
    if (tl == 0 || tl > 48)
        return bld_base_unknown(err, ref, "empty or too long tag");
    if (!bld_base_tag_chars_ok(tag))
        return bld_base_unknown(err, ref, "a tag is made of a-z, 0-9, '.' and '-'");
    bld_base_spec sp = {.kind = r->kind, .flavour = BLD_BASE_SLIM};
    size_t vl = strcspn(tag, "-");
    bool debian_word = r->kind == BLD_BASE_MYSQL; /* mysql:8.0-debian */
    if (other_prefix(r, tag, vl) || bld_base_debian_rank(tag, vl) >= 0 ||
        (debian_word && vl == 6 && !strncmp(tag, "debian", 6)))
        vl = 0; /* redis:alpine, postgres:bookworm, mysql:oracle, mariadb:noble */
    const char *var = tag + vl + (tag[vl] == '-');
    if (tag[vl] == '-' && !*var)
        return bld_base_unknown(err, ref, "empty variant after '-'");
    bool latest = vl == 0 || (vl == 6 && !strncmp(tag, "latest", 6));
    bool word = !latest && bld_base_in_list(r->words, tag, vl);
    if (!latest && !word && !version_ok(tag, vl)) {
        char why[96];
        snprintf(why, sizeof why, "not a version (%s)", r->versions_help);
        return bld_base_unknown(err, ref, why);
    }
    bool other = false;
    char suite[24] = "";
    if (*var && other_os(r, var, strlen(var))) {
        other = true;
    } else if (*var && !(debian_word && !strcmp(var, "debian"))) {
        if (bld_base_debian_rank(var, strlen(var)) < 0) {
            char why[96];
            snprintf(why, sizeof why, "unknown variant (%s)", r->variants_help);
            return bld_base_unknown(err, ref, why);
        }
        snprintf(suite, sizeof suite, "%.23s", var);
    }
    /* a version with no suite named: the suite whose package is that major
     * (postgres:15 is bookworm's PostgreSQL 15, as a data directory of 15
     * needs; mariadb:10.11 bookworm's), else the default suite */
    if (!suite[0] && !latest && !word && (r->kind == BLD_BASE_POSTGRES || r->kind == BLD_BASE_MARIADB) &&
        suite_of_major(versions, r, tag, vl, suite, sizeof suite) < 0)
        return -1;
    if (!suite[0] && bld_base_pin_get(versions, "DEBIAN_DIST_DEFAULT", suite, sizeof suite, err) < 0)
        return -1;
    snprintf(sp.suite, sizeof sp.suite, "%s", suite);
    if (bld_base_served(versions, ref, sp.suite, sizeof sp.suite, sp.warning, sizeof sp.warning, err) < 0)
        return -1;
    snprintf(sp.canonical, sizeof sp.canonical, "%s:debian-%s", r->repo, sp.suite);
    char on[48] = "";
    if (other)
        snprintf(on, sizeof on, "; %s", r->other_note);
    if (r->kind == BLD_BASE_REDIS) {
        snprintf(sp.note, sizeof sp.note, "%s: Debian %s's redis-server package (its version: REDIS_VERSION in the "
                 "image)%s%.*s%s", ref, sp.suite, latest ? "" : ", not redis ", latest ? 0 : (int)vl, tag, on);
    } else if (r->kind == BLD_BASE_POSTGRES) {
        char major[8];
        if (suite_pin(versions, "POSTGRES_MAJOR_", sp.suite, major, sizeof major, err) < 0)
            return -1;
        size_t ml = strcspn(tag, ".-");
        bool diff = !latest && (ml != strlen(major) || strncmp(tag, major, ml));
        snprintf(sp.note, sizeof sp.note, "%s: Debian %s's PostgreSQL %s (PG_VERSION in the image)%s%.*s%s%s", ref,
                 sp.suite, major, diff ? ", not " : "", diff ? (int)ml : 0, tag,
                 diff ? ": a data directory of another major does not start with it" : "", on);
    } else {
        char series[8];
        if (suite_pin(versions, "MARIADB_MAJOR_", sp.suite, series, sizeof series, err) < 0)
            return -1;
        if (r->kind == BLD_BASE_MYSQL) {
            snprintf(sp.note, sizeof sp.note,
                     "%s: MariaDB %s from Debian %s (MARIADB_VERSION in the image), not MySQL%s%.*s: "
                     "wire-compatible for most clients; move MySQL data by dump, not data directory%s",
                     ref, series, sp.suite, latest || word ? "" : " ", latest || word ? 0 : (int)vl, tag, on);
        } else {
            bool diff = !latest && !word && !same_series(tag, vl, series);
            snprintf(sp.note, sizeof sp.note, "%s: Debian %s's MariaDB %s (MARIADB_VERSION in the image)%s%.*s%s%s",
                     ref, sp.suite, series, diff ? ", not " : "", diff ? (int)vl : 0, tag,
                     diff ? ": another version's data directory may need mariadb-upgrade, or not start" : "", on);
        }
    }
    *out = sp;
    return 0;
}

static const db_repo *repo_of(const char *ref)
{
    for (size_t i = 0; i < NR_ARRAY_LEN(REPOS); i++) {
        size_t n = strlen(REPOS[i].repo);
        if (!strncmp(ref, REPOS[i].repo, n) && (ref[n] == ':' || !ref[n]))
            return &REPOS[i];
    }
    return NULL;
}

bool bld_base_is_db(const char *ref)
{
    return repo_of(ref) != NULL;
}

int bld_base_resolve_db(const char *versions, const char *ref, bld_base_spec *out, nr_err *err)
{
    const db_repo *r = repo_of(ref);
    if (!r)
        return bld_base_unknown(err, ref, "not a redis, postgres, mysql or mariadb image");
    return resolve_db(versions, ref, r, out, err);
}

int bld_base_resolve_redis(const char *versions, const char *ref, bld_base_spec *out, nr_err *err)
{
    return resolve_db(versions, ref, &REPOS[0], out, err);
}

int bld_base_resolve_postgres(const char *versions, const char *ref, bld_base_spec *out, nr_err *err)
{
    return resolve_db(versions, ref, &REPOS[1], out, err);
}

void bld_base_list_db(FILE *f)
{
    static const char *const refs[] = {"redis:latest", "redis:7", "redis:alpine", "redis:7-alpine", "redis:bookworm",
                                       "postgres:latest", "postgres:16", "postgres:17", "postgres:16-alpine",
                                       "postgres:bookworm", "mysql:latest", "mysql:8", "mysql:8.0", "mysql:8.4",
                                       "mysql:lts", "mysql:8.0-debian", "mysql:8-oracle", "mysql:bookworm",
                                       "mariadb:latest", "mariadb:lts", "mariadb:11", "mariadb:11.8", "mariadb:10.11",
                                       "mariadb:11-noble", "mariadb:bookworm"};
    bld_base_spec sp;
    nr_err err;
    for (size_t i = 0; i < NR_ARRAY_LEN(refs); i++)
        if (bld_base_resolve_db(NULL, refs[i], &sp, &err) == 0)
            fprintf(f, "%s %s  # %s\n", refs[i], sp.canonical, sp.note);
}
