/* Unit tests of the parallel gzip writer (images/pgzip.c): the output is
 * one gzip member that zlib reads back to the input (CRC-32 and length
 * checked by inflate), the same bytes for 1, 2, 3 and 8 threads, across
 * block edges, for empty input, at every level; a failing sink stops it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "images/pgzip.h"

typedef struct {
    unsigned char *p;
    size_t len, cap;
    size_t fail_after; /* 0: never */
    size_t calls;
} out_buf;

static int sink(void *ctx, const void *buf, size_t len, nr_err *err)
{
    out_buf *o = ctx;
    if (o->fail_after && ++o->calls >= o->fail_after)
        return nr_err_set(err, "disk full (test)");
    if (o->len + len > o->cap) {
        o->cap = (o->len + len) * 2;
        o->p = realloc(o->p, o->cap);
        assert_non_null(o->p);
    }
    memcpy(o->p + o->len, buf, len);
    o->len += len;
    return 0;
}

/* Input with long and short repeats, some noise: deflate finds matches
 * that reach back across the block cut (which the dictionary makes). */
static unsigned char *sample(size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (i / 4096) % 3 == 0 ? (unsigned char)(x >> 24) : (unsigned char)("node_modules/"[i % 13]);
        if (i >= 70000 && (i / 50000) % 2)
            p[i] = p[i - 70000]; /* a repeat from the block before */
    }
    return p;
}

static out_buf compress_with(const unsigned char *in, size_t n, int level, int threads, size_t chunk)
{
    out_buf o = {0};
    nr_err err;
    img_pgz *z = img_pgz_new(level, threads, sink, &o);
    for (size_t at = 0; at < n; at += chunk)
        assert_int_equal(img_pgz_write(z, in + at, n - at < chunk ? n - at : chunk, &err), 0);
    assert_int_equal(img_pgz_finish(z, &err), 0);
    img_pgz_free(z);
    return o;
}

/* gunzip with zlib (windowBits 31: a gzip member, CRC and length checked) */
static void assert_gunzips_to(const out_buf *o, const unsigned char *in, size_t n)
{
    assert_true(o->len >= 18);
    assert_int_equal(o->p[0], 0x1f);
    assert_int_equal(o->p[1], 0x8b);
    unsigned char *back = malloc(n + 1);
    z_stream s = {0};
    assert_int_equal(inflateInit2(&s, 31), Z_OK);
    s.next_in = o->p;
    s.avail_in = (uInt)o->len;
    s.next_out = back;
    s.avail_out = (uInt)(n + 1);
    assert_int_equal(inflate(&s, Z_FINISH), Z_STREAM_END);
    assert_int_equal(s.total_out, n);
    assert_int_equal(s.avail_in, 0); /* one member, nothing after it */
    inflateEnd(&s);
    assert_memory_equal(back, in, n);
    free(back);
}

static void test_roundtrip_and_thread_independence(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 100, IMG_PGZ_BLOCK - 1, IMG_PGZ_BLOCK, IMG_PGZ_BLOCK + 1, 5 * IMG_PGZ_BLOCK + 777,
                      40 * IMG_PGZ_BLOCK};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        unsigned char *in = sample(n);
        out_buf one = compress_with(in, n, 0, 1, 65536);
        assert_gunzips_to(&one, in, n);
        int threads[] = {2, 3, 8};
        for (size_t t = 0; t < 3; t++) {
            /* odd write sizes: the cut into blocks is the writer's, not the caller's */
            out_buf many = compress_with(in, n, 0, threads[t], 1000 + 17 * t);
            assert_int_equal(many.len, one.len);
            assert_memory_equal(many.p, one.p, one.len);
            free(many.p);
        }
        free(one.p);
        free(in);
    }
}

static void test_levels(void **state)
{
    (void)state;
    size_t n = 3 * IMG_PGZ_BLOCK + 5;
    unsigned char *in = sample(n);
    size_t prev = 0;
    for (int level = 1; level <= 9; level += 4) {
        out_buf o = compress_with(in, n, level, 2, 4096);
        assert_gunzips_to(&o, in, n);
        if (level == 1)
            prev = o.len;
        else
            assert_true(o.len <= prev); /* a higher level is never larger here */
        free(o.p);
    }
    free(in);
}

/* The dictionary carries matches across the cut: compressing blocks alone
 * (as if unprimed) would cost the repeats; ratio stays near one stream's. */
static void test_ratio_near_single_stream(void **state)
{
    (void)state;
    size_t n = 16 * IMG_PGZ_BLOCK;
    unsigned char *in = sample(n);
    out_buf o = compress_with(in, n, 6, 2, 1 << 20);
    uLongf cap = compressBound(n);
    unsigned char *ref = malloc(cap);
    assert_int_equal(compress2(ref, &cap, in, n, 6), Z_OK);
    /* within 1% (+ the per-block flush markers) of zlib's one stream */
    assert_true(o.len <= cap + cap / 100 + 5 * 16 + 32);
    free(ref);
    free(o.p);
    free(in);
}

static void test_sink_error_stops(void **state)
{
    (void)state;
    size_t n = 20 * IMG_PGZ_BLOCK;
    unsigned char *in = sample(n);
    out_buf o = {.fail_after = 3};
    nr_err err;
    img_pgz *z = img_pgz_new(1, 2, sink, &o);
    int r = 0;
    for (size_t at = 0; at < n && r == 0; at += 65536)
        r = img_pgz_write(z, in + at, 65536, &err);
    if (r == 0)
        r = img_pgz_finish(z, &err);
    assert_int_equal(r, -1);
    assert_non_null(strstr(err.msg, "disk full"));
    assert_int_equal(img_pgz_write(z, in, 1, &err), -1);
    img_pgz_free(z); /* joins the threads with jobs still queued */
    free(o.p);
    free(in);
}

/* The workers block SIGINT and SIGTERM: a stop lands on the caller's thread,
 * whose handler and interrupted calls the build relies on. */
static void test_workers_block_signals(void **state)
{
    (void)state;
    size_t n = 8 * IMG_PGZ_BLOCK;
    unsigned char *in = sample(n);
    out_buf o = {0};
    nr_err err;
    img_pgz *z = img_pgz_new(6, 3, sink, &o);
    assert_int_equal(img_pgz_write(z, in, n, &err), 0); /* full blocks: the workers run */
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    struct dirent *de;
    int others = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || atoi(de->d_name) == getpid())
            continue;
        char path[300], line[256];
        snprintf(path, sizeof path, "/proc/self/task/%s/status", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        unsigned long long blk = 0;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "SigBlk: %llx", &blk) == 1)
                break;
        fclose(f);
        assert_true(blk & (1ULL << (SIGINT - 1)));
        assert_true(blk & (1ULL << (SIGTERM - 1)));
        others++;
    }
    closedir(d);
    assert_int_equal(others, 3);
    assert_int_equal(img_pgz_finish(z, &err), 0);
    img_pgz_free(z);
    assert_gunzips_to(&o, in, n);
    free(o.p);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_and_thread_independence),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_ratio_near_single_stream),
        cmocka_unit_test(test_sink_error_stops),
        cmocka_unit_test(test_workers_block_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
