#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/base.h"
#include "builder/build.h"
#include "builder/build_int.h"
#include "common/embed.h"
#include "common/util.h"
#include "images/image.h"

static const char *V = "# pins\n"
                       "NODE_MAJORS=20 22 24\n"
                       "NODE_LTS=22\n"
                       "NODE_CURRENT=24\n"
                       "CODENAME_20=iron\n"
                       "CODENAME_22=jod\n"
                       "CODENAME_24=-\n"
                       "DEBIAN_SUITES=bookworm trixie\n"
                       "DEBIAN_DIST_DEFAULT=trixie\n"
                       "DEBIAN_DIST_20=bullseye\n"
                       "DEBIAN_DIST_22=bookworm\n"
                       "MARIADB_MAJOR_BOOKWORM=10.11\n"
                       "MARIADB_MAJOR_TRIXIE=11.8\n"
                       "POSTGRES_MAJOR_BOOKWORM=15\n"
                       "POSTGRES_MAJOR_TRIXIE=17\n";
static const char *R = "# releases\n"
                       "20.9.0 sha512-a\n"
                       "20.11.0 sha512-b\n"
                       "20.11.1 sha512-c\n"
                       "20.2.0 sha512-d\n"
                       "22.1.0 sha512-e\n"
                       "24.0.1 sha512-f\n"
                       "200.1.0 sha512-g\n";

static bld_base_spec ok(const char *ref)
{
    bld_base_spec sp;
    nr_err e;
    int r = bld_base_resolve(V, R, ref, &sp, &e);
    if (r != 0)
        fail_msg("%s: %d %s", ref, r, e.msg);
    return sp;
}

static void test_resolve_versions_aliases_variants(void **state)
{
    (void)state;
    /* Partial versions take the newest matching release (numeric order). */
    assert_string_equal(ok("node:20-trixie").canonical, "node:20.11.1-trixie");
    assert_string_equal(ok("node:20.11-trixie").canonical, "node:20.11.1-trixie");
    assert_string_equal(ok("node:20.11.0-trixie-slim").canonical, "node:20.11.0-trixie-slim");
    assert_string_equal(ok("node:20.9").integrity, "sha512-a");
    /* Aliases and codenames, case as Docker writes them. */
    assert_string_equal(ok("node:lts").canonical, "node:22.1.0-bookworm");
    assert_string_equal(ok("node:jod-slim").canonical, "node:22.1.0-bookworm-slim");
    assert_string_equal(ok("node:iron-bookworm").canonical, "node:20.11.1-bookworm");
    assert_string_equal(ok("node:current").canonical, "node:24.0.1-trixie");
    assert_string_equal(ok("node:latest").canonical, "node:24.0.1-trixie");
    assert_string_equal(ok("node:slim").canonical, "node:24.0.1-trixie-slim");
    assert_string_equal(ok("node:bookworm-slim").canonical, "node:24.0.1-bookworm-slim");
    assert_string_equal(ok("node:24-bookworm").canonical, "node:24.0.1-bookworm");
    assert_int_equal(ok("node:22-slim").flavour, BLD_BASE_SLIM);
    assert_int_equal(ok("node:22").flavour, BLD_BASE_FULL);
    bld_base_spec d = ok("node:22-distroless");
    assert_int_equal(d.flavour, BLD_BASE_DISTROLESS);
    assert_string_equal(d.canonical, "node:22.1.0-distroless");
    /* A suite no longer served: the nearest newer one, with a warning. */
    bld_base_spec w = ok("node:20-slim");
    assert_string_equal(w.suite, "bookworm");
    assert_string_equal(w.canonical, "node:20.11.1-bookworm-slim");
    assert_non_null(strstr(w.warning, "bullseye"));
    assert_string_equal(ok("node:22-buster").suite, "bookworm");
    assert_string_equal(ok("node:22").warning, "");
}

static void test_resolve_unknown_refs(void **state)
{
    (void)state;
    bld_base_spec sp;
    nr_err e;
    const char *bad[] = {"node", "node:18", "node:2", "node:20.10", "node:20.11.2", "node:20.11.1x", "node:20-sl1m",
                         "node:-slim", "node:", "node:20-slim-slim", "nodejs:20", "docker.io/library/node:20",
                         "node:20.11.1.1", "node:20..1", "node:20.", "node:020", "node:hydrogen", "node:20-ubuntu",
                         "node:20-", "node:200", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int r = bld_base_resolve(V, R, bad[i], &sp, &e);
        if (r != 1)
            fail_msg("%s resolved (%d)", bad[i], r);
        assert_int_equal(e.errnum, ENOENT);
    }
    /* Docker's tags nbuild cannot make: one line naming the nearest Debian variant. */
    assert_int_equal(bld_base_resolve(V, R, "node:20-alpine", &sp, &e), 2);
    assert_non_null(strstr(e.msg, "node:20-slim"));
    assert_int_equal(bld_base_resolve(V, R, "node:lts-alpine3.20", &sp, &e), 2);
    assert_non_null(strstr(e.msg, "node:lts-slim"));
}

/* The Debian slim tag nbuild builds an Alpine FROM on. */
static void test_alpine_slim(void **state)
{
    (void)state;
    char out[96];
    static const char *const yes[][2] = {
        {"node:20-alpine", "node:20-slim"},          {"node:alpine", "node:slim"},
        {"node:lts-alpine", "node:lts-slim"},        {"node:18-alpine3.19", "node:18-slim"},
        {"node:20.11.1-alpine3.20", "node:20.11.1-slim"}, {"node:alpine3.20", "node:slim"},
        {"node:iron-alpine@sha256:00", "node:iron-slim"},
    };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (!bld_base_alpine_slim(yes[i][0], out, sizeof out))
            fail_msg("%s: not an Alpine tag", yes[i][0]);
        assert_string_equal(out, yes[i][1]);
    }
    /* (alpine:3 is one now: test_resolve_debian_alpine) */
    static const char *const no[] = {"node:20", "node:20-slim", "node:20-alpine-x", "node:20-alpinex", "nodejs:20-alpine",
                                     "node:20-bookworm", "mirror.local/node:20-alpine"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (bld_base_alpine_slim(no[i], out, sizeof out))
            fail_msg("%s taken for an Alpine node tag (%s)", no[i], out);
    assert_false(bld_base_alpine_slim("node:20-alpine", out, 10)); /* does not fit */
}

/* FROM alpine:<tag>: Alpine's branch, and the node releases apk add nodejs
 * and nodejs-current install there (builder/alpine_node.c) */
static void test_alpine_node_pins(void **state)
{
    (void)state;
    char br[16];
    assert_true(bld_alpine_branch("alpine:3.21.3", br, sizeof br));
    assert_string_equal(br, "3.21");
    assert_true(bld_alpine_branch("alpine:edge", br, sizeof br));
    assert_string_equal(br, "edge");
    assert_true(bld_alpine_branch("alpine:20240923", br, sizeof br));
    assert_string_equal(br, "edge");
    assert_true(bld_alpine_branch("alpine", br, sizeof br));
    assert_string_equal(br, "3.23");
    assert_true(bld_alpine_branch("alpine:3@sha256:00", br, sizeof br));
    assert_string_equal(br, "3.23");
    assert_false(bld_alpine_branch("node:20-alpine", br, sizeof br));
    assert_false(bld_alpine_branch("alpine:3.19-slim", br, sizeof br));
    static const char *const cases[][3] = {
        {"3.19", "NODEJS=20 ", "NODEJS_CURRENT=21 "}, {"3.21", "NODEJS=22 ", "NODEJS_CURRENT=23 "},
        {"3.24", "NODEJS=24 ", "ALPINE_BRANCH=3.24 newer\n"}, {"3.7", "NODEJS=-\n", "NODEJS_CURRENT=-\n"},
        {"3.9", "NODEJS=10 ", "NODEJS_CURRENT=-\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nr_buf b = {0};
        nr_err e;
        assert_int_equal(bld_alpine_node_pins(cases[i][0], &b, &e), 0);
        nr_buf_add(&b, "", 1);
        if (!strstr(b.data, cases[i][1]) || !strstr(b.data, cases[i][2]))
            fail_msg("alpine %s: %s", cases[i][0], b.data);
        nr_buf_free(&b);
    }
}

static void test_resolve_broken_versions(void **state)
{
    (void)state;
    bld_base_spec sp;
    nr_err e;
    assert_int_equal(bld_base_resolve("NODE_20=20.1.0\n", R, "node:20", &sp, &e), -1);
    assert_non_null(strstr(e.msg, "NODE_MAJORS"));
    assert_int_equal(bld_base_resolve("NODE_MAJORS=20\n", R, "node:20", &sp, &e), -1);
    assert_non_null(strstr(e.msg, "DEBIAN_DIST_DEFAULT"));
    assert_int_equal(bld_base_resolve("NODE_MAJORS=20\n", R, "node:lts", &sp, &e), -1);
    assert_non_null(strstr(e.msg, "NODE_LTS"));
}

static void test_embedded_pins(void **state)
{
    (void)state;
    bld_base_spec sp;
    nr_err e;
    assert_non_null(nr_embed_get("images/node/mkbase.sh", NULL));
    assert_non_null(nr_embed_get("images/node/mkdebian.sh", NULL));
    assert_int_equal(bld_base_resolve(NULL, NULL, "node:20", &sp, &e), 0);
    assert_int_equal(strncmp(sp.version, "20.", 3), 0);
    assert_string_equal(sp.suite, "bookworm");
    assert_int_equal(bld_base_resolve(NULL, NULL, "node:22-slim", &sp, &e), 0);
    assert_int_equal(strncmp(sp.version, "22.", 3), 0);
    assert_int_equal(bld_base_resolve(NULL, NULL, "node:iron", &sp, &e), 0);
    assert_int_equal(strncmp(sp.version, "20.", 3), 0);
    assert_int_equal(bld_base_resolve(NULL, NULL, "node:hydrogen-slim", &sp, &e), 0);
    assert_int_equal(strncmp(sp.version, "18.", 3), 0);
    char *all = bld_base_list();
    assert_non_null(all);
    assert_non_null(strstr(all, "\nnode:20-slim node:20."));
    free(all);
}

static void test_base_map(void **state)
{
    (void)state;
    const char *maps[] = {"node:*-alpine=node:*-slim", "node:*-alpine*=node:*-slim", "*/*:*=mirror.local/*/*:*"};
    char out[256];
    nr_err e;
    assert_int_equal(bld_base_map(maps, 3, "node:20-alpine", out, sizeof out), 1);
    assert_string_equal(out, "node:20-slim");
    assert_int_equal(bld_base_map(maps, 3, "node:lts-alpine3.20", out, sizeof out), 1);
    assert_string_equal(out, "node:lts-slim");
    assert_int_equal(bld_base_map(maps, 3, "team/app:1", out, sizeof out), 1);
    assert_string_equal(out, "mirror.local/team/app:1");
    assert_int_equal(bld_base_map(maps, 3, "node:20-slim", out, sizeof out), 0);
    assert_int_equal(bld_base_map(maps, 2, "node:20-alpine", out, 5), -1);
    /* Many stars against a long reference that almost matches: linear, not exponential. */
    const char *slow[] = {"*a*a*a*a*a*a*a*b=x"};
    char ref[200];
    memset(ref, 'a', sizeof ref - 1);
    ref[sizeof ref - 1] = '\0';
    assert_int_equal(bld_base_map(slow, 1, ref, out, sizeof out), 0);
    assert_int_equal(bld_base_map_check("node:*-alpine=node:*-slim", &e), 0);
    assert_int_equal(bld_base_map_check("node:x=node:*", &e), -1);
    assert_int_equal(bld_base_map_check("=x", &e), -1);
    assert_int_equal(bld_base_map_check("a=b=c", &e), -1);
    assert_int_equal(bld_base_map_check("nomap", &e), -1);
}

/* ---- bld_base_write: a context (image.json + layer dirs) into a store ---- */

static char *tmpdir(void)
{
    char *d = nr_xstrdup("/tmp/nrun-test-base.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void put(const char *dir, const char *name, const char *text)
{
    char *p = nr_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

static void rmtree(char *d)
{
    nr_err e;
    nr_rm_rf(AT_FDCWD, d, &e);
    free(d);
}

static const char *GOOD_JSON =
    "{\"steps\": ["
    "{\"created_by\": \"COPY os/ /\", \"layer\": {\"src\": \"os\", \"dest\": \"/\", \"uid\": 0, \"gid\": 0}},"
    "{\"created_by\": \"COPY --chown=1000:1000 home/ /home/\", \"layer\": {\"src\": \"home\", \"dest\": \"/home/\", \"uid\": 1000, \"gid\": 1000}},"
    "{\"created_by\": \"CMD [\\\"node\\\"]\"}],"
    "\"config\": {\"Cmd\": [\"node\"], \"Env\": [\"A=1\"], \"Labels\": {\"x\": \"y\"}}}";

/* A small context: os/ with a dir, a file, a symlink and a sticky /tmp; home/node. */
static char *make_ctx(const char *json)
{
    char *c = tmpdir();
    char *p;
    p = nr_xasprintf("%s/os/etc", c), assert_int_equal(nr_mkdir_p(p, 0755, &(nr_err){0}), 0), free(p);
    p = nr_xasprintf("%s/os/tmp", c), assert_int_equal(nr_mkdir_p(p, 0755, &(nr_err){0}), 0);
    assert_int_equal(chmod(p, 01777), 0), free(p);
    p = nr_xasprintf("%s/home/node", c), assert_int_equal(nr_mkdir_p(p, 0755, &(nr_err){0}), 0), free(p);
    p = nr_xasprintf("%s/os/etc", c), put(p, "passwd", "root:x:0:0::/root:/bin/sh\n"), free(p);
    p = nr_xasprintf("%s/os/etc/localtime", c), assert_int_equal(symlink("/usr/share/zoneinfo/UTC", p), 0), free(p);
    put(c, "image.json", json);
    return c;
}

static void test_write_reproducible(void **state)
{
    char *c1 = make_ctx(GOOD_JSON), *c2 = make_ctx(GOOD_JSON);
    char *r1 = tmpdir(), *r2 = tmpdir();
    img_store *s1, *s2;
    nr_err e;
    assert_int_equal(img_store_open(r1, &s1, &e), 0);
    assert_int_equal(img_store_open(r2, &s2, &e), 0);
    const char *tags[] = {"node:t", "node:t.1"};
    img_desc m1, m2;
    if (bld_base_write(s1, c1, tags, 2, &m1, &e) < 0)
        fail_msg("%s", e.msg);
    /* Different mtimes and SOURCE_DATE_EPOCH: same digest. */
    char *p = nr_xasprintf("%s/os/etc/passwd", c2);
    struct timespec ts[2] = {{.tv_sec = 12345}, {.tv_sec = 12345}};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    free(p);
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    int r = bld_base_write(s2, c2, tags, 1, &m2, &e);
    unsetenv("SOURCE_DATE_EPOCH");
    assert_int_equal(r, 0);
    assert_string_equal(m1.digest, m2.digest);

    img_image *img;
    assert_int_equal(img_image_load(s1, "node:t.1", &img, &e), 0);
    assert_string_equal(img->manifest.digest, m1.digest);
    assert_int_equal(img->n_layers, 2);
    json_t *cfg = img_image_runconfig(img);
    assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "Cmd"), 0)), "node");
    assert_string_equal(json_string_value(json_object_get(img->config_json, "created")), "1970-01-01T00:00:00Z");
    assert_int_equal(json_array_size(json_object_get(img->config_json, "history")), 3);
    img_image_free(img);
    img_store_close(s1);
    img_store_close(s2);
    rmtree(c1), rmtree(c2), rmtree(r1), rmtree(r2);
}

/* The made-base mark: on top of a base this store made, the result is
 * marked; on top of one it did not make (its mark gone: a pulled image under
 * that name), the result is not (rt8). */
static void test_write_on_marks_only_made(void **state)
{
    (void)state;
    char *c = make_ctx(GOOD_JSON), *root = tmpdir();
    char *on = make_ctx("{\"steps\": [{\"created_by\": \"COPY os/ /\", \"layer\": {\"src\": \"os\", \"dest\": \"/\", "
                        "\"uid\": 0, \"gid\": 0}}], \"config\": {\"Labels\": {\"io.nrun.base.flavour\": \"alpine\"}}}");
    put(on, "os/etc/extra", "x\n");
    img_store *s;
    nr_err e;
    img_desc m, top;
    const char *tags[] = {"node:mk"};
    assert_int_equal(img_store_open(root, &s, &e), 0);
    if (bld_base_write(s, c, tags, 1, &m, &e) < 0)
        fail_msg("%s", e.msg);
    assert_true(bld_base_made_by_store(s, m.digest));
    img_image *base;
    assert_int_equal(img_image_load(s, "node:mk", &base, &e), 0);
    if (bld_base_write_on(s, base, on, &top, &e) < 0)
        fail_msg("%s", e.msg);
    assert_true(bld_base_made_by_store(s, top.digest));
    /* the same base, not made here: no mark on what is built on it */
    char *mk = nr_xasprintf("%s/cache/made-bases/%s", root, m.digest + 7);
    char *mt = nr_xasprintf("%s/cache/made-bases/%s", root, top.digest + 7);
    assert_int_equal(unlink(mk), 0);
    assert_int_equal(unlink(mt), 0);
    if (bld_base_write_on(s, base, on, &top, &e) < 0)
        fail_msg("%s", e.msg);
    assert_false(bld_base_made_by_store(s, top.digest));
    free(mk), free(mt);
    img_image_free(base);
    img_store_close(s);
    rmtree(c), rmtree(on), rmtree(root);
}

static void expect_write_error(const char *json, const char *want)
{
    char *c = make_ctx(json), *root = tmpdir();
    img_store *s;
    nr_err e;
    img_desc m;
    const char *tags[] = {"node:bad"};
    assert_int_equal(img_store_open(root, &s, &e), 0);
    assert_int_equal(bld_base_write(s, c, tags, 1, &m, &e), -1);
    if (!strstr(e.msg, want))
        fail_msg("error \"%s\" does not say \"%s\"", e.msg, want);
    img_image *img;
    assert_int_equal(img_image_load(s, "node:bad", &img, &e), -1);
    img_store_close(s);
    rmtree(c), rmtree(root);
}

static void test_write_hostile_descriptions(void **state)
{
    expect_write_error("{", "image.json:1:");
    expect_write_error("[]", "needs a steps array");
    expect_write_error("{\"steps\": [], \"config\": {}}", "needs a steps array");
    expect_write_error("{\"steps\": [{\"layer\": {}}], \"config\": {}}", "has no created_by");
    const char *fmt = "{\"steps\": [{\"created_by\": \"x\", \"layer\": %s}], \"config\": {}}";
    const char *bad_layers[] = {
        "{\"src\": \"..\", \"dest\": \"/\", \"uid\": 0, \"gid\": 0}",
        "{\"src\": \"os/../..\", \"dest\": \"/\", \"uid\": 0, \"gid\": 0}",
        "{\"src\": \"os\", \"dest\": \"etc\", \"uid\": 0, \"gid\": 0}",
        "{\"src\": \"os\", \"dest\": \"/../x\", \"uid\": 0, \"gid\": 0}",
        "{\"src\": \"os\", \"dest\": \"/\", \"uid\": -1, \"gid\": 0}",
        "{\"src\": \"os\", \"dest\": \"/\", \"uid\": \"0\", \"gid\": 0}",
    };
    for (size_t i = 0; i < sizeof bad_layers / sizeof bad_layers[0]; i++) {
        char *j = nr_xasprintf(fmt, bad_layers[i]);
        expect_write_error(j, "a layer needs src");
        free(j);
    }
    char *j = nr_xasprintf(fmt, "{\"src\": \"missing\", \"dest\": \"/\", \"uid\": 0, \"gid\": 0}");
    expect_write_error(j, "missing: ENOENT");
    free(j);
    expect_write_error("{\"steps\": [{\"created_by\": \"x\"}], \"config\": {\"Cmd\": \"node\"}}", "Cmd");
}

/* debian:TAG against pins where stable is trixie and only trixie and
 * bookworm are served; alpine:TAG to the ALPINE_DEBIAN slim. */
static void test_resolve_debian_alpine(void **state)
{
    (void)state;
    static const char *const yes[][2] = {
        {"debian", "debian:trixie"},
        {"debian:latest", "debian:trixie"},
        {"debian:stable-slim", "debian:trixie-slim"},
        {"debian:oldstable", "debian:bookworm"},
        {"debian:12", "debian:bookworm"},
        {"debian:12.8-slim", "debian:bookworm-slim"},
        {"debian:13", "debian:trixie"},
        {"debian:bookworm-20241111-slim", "debian:bookworm-slim"},
        {"debian:stable-20250101", "debian:trixie"},
        {"debian:bullseye-slim", "debian:bookworm-slim"},
        {"debian:10", "debian:bookworm"},
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        bld_base_spec sp = ok(yes[i][0]);
        assert_string_equal(sp.canonical, yes[i][1]);
        assert_int_equal(sp.kind, BLD_BASE_DEBIAN);
        assert_string_equal(sp.major, "");
    }
    assert_true(ok("debian:12.8").note[0] != '\0');
    assert_true(ok("debian:buster").warning[0] != '\0');
    assert_true(ok("debian:bookworm").warning[0] == '\0' && ok("debian:bookworm").note[0] == '\0');
    static const char *const no[] = {"debian:sid", "debian:unstable", "debian:testing-slim", "debian:experimental",
                                     "debian:rc-buggy", "debian:latest-slim", "debian:slim", "debian:15",
                                     "debian:12-20241111", "debian:bookworm-1", "debian:Bookworm", "debian:bookworm-",
                                     "debian:bookworm-backports", "debian:12..1", "debian:", "ubuntu:22.04"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        bld_base_spec sp;
        nr_err e;
        if (bld_base_resolve(V, R, no[i], &sp, &e) != 1 || e.errnum != ENOENT)
            fail_msg("%s resolved", no[i]);
    }
    char out[64];
    nr_err e;
    for (const char *const *a = (const char *const[]){"alpine", "alpine:3", "alpine:3.19", "alpine:3.19.1",
                                                      "alpine:latest", "alpine:edge", NULL};
         *a; a++) {
        assert_int_equal(bld_base_alpine_os(*a, out, sizeof out, &e), 2);
        assert_int_equal(e.errnum, ENOTSUP);
        assert_true(bld_base_alpine_slim(*a, out, sizeof out) || !strcmp(*a, "alpine"));
    }
    for (const char *const *a = (const char *const[]){"alpine:sid", "alpine:4", "alpine:3.", "alpine:3.1.2.3",
                                                      "alpine:3.19-slim", "alpine:../x", NULL};
         *a; a++)
        assert_int_equal(bld_base_alpine_os(*a, out, sizeof out, &e), 1);
    assert_false(bld_base_alpine_slim("alpine:sid", out, sizeof out));
    assert_true(bld_base_alpine_slim("alpine:3.19@sha256:00", out, sizeof out));
    assert_true(!strncmp(out, "debian:", 7) && strstr(out, "-slim"));
    /* nginx: every tag is Debian's nginx on stable's suite, or the one named */
    static const char *const ng[][2] = {{"nginx", "nginx:debian-trixie"},
                                        {"nginx:stable-alpine", "nginx:debian-trixie"},
                                        {"nginx:1.27-alpine-slim", "nginx:debian-trixie"},
                                        {"nginx:mainline-alpine3.20", "nginx:debian-trixie"},
                                        {"nginx:1.26.3-bookworm", "nginx:debian-bookworm"},
                                        {"nginx:bullseye", "nginx:debian-bookworm"}};
    for (size_t i = 0; i < sizeof ng / sizeof ng[0]; i++) {
        bld_base_spec sp = ok(ng[i][0]);
        assert_string_equal(sp.canonical, ng[i][1]);
        assert_int_equal(sp.kind, BLD_BASE_NGINX);
        assert_true(sp.note[0] != '\0');
    }
    assert_non_null(strstr(ok("nginx:1.27-alpine").note, "not nginx 1.27; Debian slim, glibc, not Alpine"));
    static const char *const ngno[] = {"nginx:perl", "nginx:1.27-perl", "nginx:2", "nginx:1.", "nginx:1.2.3.4",
                                       "nginx:-alpine", "nginx:alpine-slim-slim", "nginx:sid", "nginx:"};
    for (size_t i = 0; i < sizeof ngno / sizeof ngno[0]; i++) {
        bld_base_spec sp;
        if (bld_base_resolve(V, R, ngno[i], &sp, &e) != 1)
            fail_msg("%s resolved", ngno[i]);
    }
}

/* postgres: a major a suite packages is that suite's; another, the default suite's, with a note */
static void test_resolve_postgres(void **state)
{
    (void)state;
    static const char *const yes[][3] = {
        {"postgres", "postgres:debian-trixie", "Debian trixie's PostgreSQL 17 (PG_VERSION in the image)"},
        {"postgres:15", "postgres:debian-bookworm", "Debian bookworm's PostgreSQL 15 (PG_VERSION in the image)"},
        {"postgres:15.8-alpine", "postgres:debian-bookworm", "PostgreSQL 15 (PG_VERSION in the image); Debian slim"},
        {"postgres:17-bookworm", "postgres:debian-bookworm", "PostgreSQL 15 (PG_VERSION in the image), not 17: "},
        {"postgres:16", "postgres:debian-trixie", "PostgreSQL 17 (PG_VERSION in the image), not 16: "},
        {"postgres:1", "postgres:debian-trixie", ", not 1: "},
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        bld_base_spec sp = ok(yes[i][0]);
        assert_string_equal(sp.canonical, yes[i][1]);
        if (!strstr(sp.note, yes[i][2]))
            fail_msg("%s: note \"%s\" lacks \"%s\"", yes[i][0], sp.note, yes[i][2]);
    }
}

/* mysql and mariadb: Debian's MariaDB, with a note that says so */
static void test_resolve_mysql_mariadb(void **state)
{
    (void)state;
    static const char *const yes[][3] = {
        {"mysql", "mysql:debian-trixie", "not MySQL: "},
        {"mysql:8", "mysql:debian-trixie", "MariaDB 11.8 from Debian trixie"},
        {"mysql:8.0.40", "mysql:debian-trixie", "not MySQL 8.0.40: "},
        {"mysql:5.7", "mysql:debian-trixie", "not MySQL 5.7: "},
        {"mysql:lts", "mysql:debian-trixie", "not MySQL: "},
        {"mysql:innovation-oracle", "mysql:debian-trixie", "; Debian, not Oracle Linux"},
        {"mysql:8.4-oraclelinux9", "mysql:debian-trixie", "; Debian, not Oracle Linux"},
        {"mysql:8.0-debian", "mysql:debian-trixie", "not MySQL 8.0: "},
        {"mysql:debian", "mysql:debian-trixie", "not MySQL: "},
        {"mysql:oracle", "mysql:debian-trixie", "Oracle Linux"},
        {"mysql:8.0-bookworm", "mysql:debian-bookworm", "MariaDB 10.11 from Debian bookworm"},
        {"mariadb", "mariadb:debian-trixie", "Debian trixie's MariaDB 11.8 (MARIADB_VERSION in the image)"},
        {"mariadb:11", "mariadb:debian-trixie", "MariaDB 11.8 (MARIADB_VERSION in the image)"},
        {"mariadb:11.8.2", "mariadb:debian-trixie", "MariaDB 11.8 (MARIADB_VERSION in the image)"},
        {"mariadb:lts-noble", "mariadb:debian-trixie", "; Debian, not Ubuntu or UBI"},
        {"mariadb:10.11-jammy", "mariadb:debian-bookworm", "Debian bookworm's MariaDB 10.11 (MARIADB_VERSION"},
        {"mariadb:10.11", "mariadb:debian-bookworm", "Debian bookworm's MariaDB 10.11 (MARIADB_VERSION"},
        {"mariadb:10.6", "mariadb:debian-trixie", ", not 10.6: "},
        {"mariadb:11.4", "mariadb:debian-trixie", ", not 11.4: "},
        {"mariadb:12-ubi9", "mariadb:debian-trixie", ", not 12: "},
        {"mariadb:10-bookworm", "mariadb:debian-bookworm", "Debian bookworm's MariaDB 10.11 (MARIADB_VERSION"},
        {"mariadb:bullseye", "mariadb:debian-bookworm", "MariaDB 10.11"},
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        bld_base_spec sp = ok(yes[i][0]);
        assert_string_equal(sp.canonical, yes[i][1]);
        assert_int_equal(sp.kind, yes[i][0][1] == 'y' ? BLD_BASE_MYSQL : BLD_BASE_MARIADB);
        if (!strstr(sp.note, yes[i][2]))
            fail_msg("%s: note \"%s\" lacks \"%s\"", yes[i][0], sp.note, yes[i][2]);
    }
    assert_null(strstr(ok("mariadb:11").note, "not"));
    assert_null(strstr(ok("mariadb:lts").note, "not"));
    static const char *const no[] = {"mysql:", "mysql:8-alpine", "mysql:8.0-jammy", "mysql:8-", "mysql:-8",
                                     "mysql:8..0", "mysql:8.0.0.0", "mysql:eight", "mysql:8-oracle-oracle",
                                     "mysql:8-oraclelinux", "mysql:8-oracle9", "mysql:sid", "mysql:8.x",
                                     "mysql:8_0", "mysql:8.0-Debian", "mariadb:11-oracle", "mariadb:innovation",
                                     "mariadb:11-debian", "mariadb:11-ubi7", "mariadb:11-noble-noble", "mariadb:rc",
                                     "mariadb:11-alpine", "mariadb:../x", "mysql:8/../../x", "mysqlx:8",
                                     "mariadbd:11"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        bld_base_spec sp;
        nr_err e;
        if (bld_base_resolve(V, R, no[i], &sp, &e) != 1 || e.errnum != ENOENT)
            fail_msg("%s resolved", no[i]);
        if (strncmp(e.msg, no[i], strlen(no[i])))
            fail_msg("%s: the error does not name it: %s", no[i], e.msg);
    }
    /* the pins broken: an error, not a guess */
    bld_base_spec sp;
    nr_err e;
    assert_int_equal(bld_base_resolve("DEBIAN_SUITES=bookworm trixie\nDEBIAN_DIST_DEFAULT=trixie\n", R, "mysql:8",
                                      &sp, &e),
                     -1);
    assert_non_null(strstr(e.msg, "MARIADB_MAJOR_TRIXIE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_versions_aliases_variants),
        cmocka_unit_test(test_resolve_unknown_refs),
        cmocka_unit_test(test_alpine_slim),
        cmocka_unit_test(test_alpine_node_pins),
        cmocka_unit_test(test_resolve_debian_alpine),
        cmocka_unit_test(test_resolve_mysql_mariadb),
        cmocka_unit_test(test_resolve_postgres),
        cmocka_unit_test(test_resolve_broken_versions),
        cmocka_unit_test(test_embedded_pins),
        cmocka_unit_test(test_base_map),
        cmocka_unit_test(test_write_reproducible),
        cmocka_unit_test(test_write_hostile_descriptions),
        cmocka_unit_test(test_write_on_marks_only_made),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
