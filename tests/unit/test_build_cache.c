/* The build cache: a hit holds the store's gc lock, so a concurrent prune
 * cannot remove the cached blob before the image that names it is tagged. */
#include "tests/unit/store_fixture.h"

#include <sys/file.h>

#include "builder/build_int.h"

/* Write a blob through another handle (which then lets go of its hold) and
 * a cache record naming it. */
static void put_cached_layer(const char *key, char digest[IMG_DIGEST_MAX])
{
    nr_err err;
    img_store *w;
    assert_int_equal(img_store_open(root, &w, &err), 0);
    assert_int_equal(img_blob_put(w, "layer", 5, digest, &err), 0);
    img_store_close(w);
    char p[512];
    snprintf(p, sizeof p, "%s/cache/build/layers", root);
    assert_int_equal(nr_mkdir_p(p, 0700, &err), 0);
    snprintf(p, sizeof p, "%s/cache/build/layers/%s", root, key);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "{\"digest\":\"%s\",\"diff_id\":\"%s\",\"mediaType\":\"%s\",\"size\":5}", digest, digest,
            IMG_MT_LAYER_GZIP);
    fclose(f);
}

/* Can someone else take gc.lock exclusively (what prune does)? */
static bool gc_lock_free(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/gc.lock", root);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    bool free_ = flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (!free_)
        assert_int_equal(errno, EWOULDBLOCK);
    close(fd);
    return free_;
}

/* A fresh store handle and a build that reads the cache through it. */
typedef struct cache_fx {
    img_store *s;
    bld_opts o;
    char cache_dir[512];
    bld_state b;
} cache_fx;

static void cache_open(cache_fx *fx)
{
    nr_err err;
    memset(fx, 0, sizeof *fx);
    assert_int_equal(img_store_open(root, &fx->s, &err), 0);
    snprintf(fx->cache_dir, sizeof fx->cache_dir, "%s/cache/build", root);
    fx->b = (bld_state){.s = fx->s, .o = &fx->o, .cache_dir = fx->cache_dir};
}

static void test_cache_hit_holds_gc_lock(void **state)
{
    (void)state;
    const char *key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char digest[IMG_DIGEST_MAX];
    put_cached_layer(key, digest);
    /* A fresh handle that has written nothing holds nothing. */
    cache_fx fx;
    cache_open(&fx);
    assert_true(gc_lock_free());
    img_layer_desc l;
    assert_true(bld_cache_get(&fx.b, key, &l));
    assert_string_equal(l.blob.digest, digest);
    /* The hit is trusted only under the shared gc lock: prune must wait. */
    assert_false(gc_lock_free());
    img_store_close(fx.s);
    assert_true(gc_lock_free());
}

static void test_cache_miss_for_missing_blob(void **state)
{
    (void)state;
    const char *key = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    char digest[IMG_DIGEST_MAX];
    put_cached_layer(key, digest);
    char p[512];
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", root, img_digest_hex(digest));
    assert_int_equal(unlink(p), 0);
    cache_fx fx;
    cache_open(&fx);
    img_layer_desc l;
    assert_false(bld_cache_get(&fx.b, key, &l));
    img_store_close(fx.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cache_hit_holds_gc_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_miss_for_missing_blob, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
