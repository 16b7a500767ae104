/* Parallel gzip of one stream into one gzip member (see pgzip.h).
 *
 * A ring of jobs, twice as many as threads: the caller fills the job at
 * `fill`, hands it to the workers, and writes finished jobs out in order
 * from `wnext`; when the ring is full it waits for the oldest.  The
 * workers take the lowest-numbered ready job.  With one thread the caller
 * compresses each block itself, by the same code, so the bytes are the
 * same. */
#include "images/pgzip.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/util.h"

#define DICT (32 * 1024)
#define MAX_THREADS 8

enum { J_FREE, J_READY, J_BUSY, J_DONE };

typedef struct job {
    unsigned char *in;
    size_t in_len;
    unsigned char dict[DICT];
    size_t dict_len;
    unsigned char *out;
    size_t out_len, out_cap;
    int last;
    int st;
    int zerr; /* a zlib error code, 0 when none */
    unsigned long seq;
} job;

struct img_pgz {
    int level, nthreads;
    img_pgz_write_fn fn;
    void *ctx;
    job *jobs;
    size_t njobs, fill, wnext;
    unsigned long seq;
    uLong crc;
    uint64_t total;
    unsigned char tail[DICT]; /* the last DICT bytes of input handed out */
    size_t tail_len;
    bool started, header, failed, stop;
    z_stream inl; /* the caller's own stream when nthreads == 1 */
    bool inl_ok;
    pthread_t th[MAX_THREADS];
    int nth;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
};

static int strm_init(z_stream *s, int level)
{
    memset(s, 0, sizeof *s);
    return deflateInit2(s, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}

/* Compress j->in into j->out; sets j->zerr on failure. */
static void compress_job(z_stream *s, job *j)
{
    j->out_len = 0;
    int r = deflateReset(s);
    if (r == Z_OK && j->dict_len)
        r = deflateSetDictionary(s, j->dict, (uInt)j->dict_len);
    if (r != Z_OK) {
        j->zerr = r;
        return;
    }
    size_t want = deflateBound(s, j->in_len) + 64;
    if (j->out_cap < want) {
        unsigned char *o = realloc(j->out, want);
        if (!o) {
            j->zerr = Z_MEM_ERROR;
            return;
        }
        j->out = o;
        j->out_cap = want;
    }
    s->next_in = j->in;
    s->avail_in = (uInt)j->in_len;
    for (;;) {
        s->next_out = j->out + j->out_len;
        s->avail_out = (uInt)(j->out_cap - j->out_len);
        r = deflate(s, j->last ? Z_FINISH : Z_SYNC_FLUSH);
        j->out_len = j->out_cap - s->avail_out;
        if (r == Z_STREAM_ERROR) {
            j->zerr = r;
            return;
        }
        if (j->last ? r == Z_STREAM_END : (s->avail_in == 0 && s->avail_out > 0))
            return;
        /* out of room (deflateBound leaves none for the flush marker) */
        unsigned char *o = realloc(j->out, j->out_cap * 2);
        if (!o) {
            j->zerr = Z_MEM_ERROR;
            return;
        }
        j->out = o;
        j->out_cap *= 2;
    }
}

static void *worker(void *arg)
{
    img_pgz *z = arg;
    z_stream s;
    bool ok = strm_init(&s, z->level) == Z_OK;
    pthread_mutex_lock(&z->mu);
    for (;;) {
        job *pick = NULL;
        for (size_t i = 0; i < z->njobs; i++)
            if (z->jobs[i].st == J_READY && (!pick || z->jobs[i].seq < pick->seq))
                pick = &z->jobs[i];
        if (!pick) {
            if (z->stop)
                break;
            pthread_cond_wait(&z->work, &z->mu);
            continue;
        }
        pick->st = J_BUSY;
        pthread_mutex_unlock(&z->mu);
        if (ok)
            compress_job(&s, pick);
        else
            pick->zerr = Z_MEM_ERROR;
        pthread_mutex_lock(&z->mu);
        pick->st = J_DONE;
        pthread_cond_broadcast(&z->done);
    }
    pthread_mutex_unlock(&z->mu);
    if (ok)
        deflateEnd(&s);
    return NULL;
}

static int pick_threads(int threads)
{
    const char *e = getenv("NRUN_COMPRESS_THREADS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (!*end && v >= 1)
            threads = (int)v;
    }
    if (threads <= 0) {
        cpu_set_t cs;
        threads = sched_getaffinity(0, sizeof cs, &cs) == 0 ? CPU_COUNT(&cs) : 1;
    }
    return threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
}

img_pgz *img_pgz_new(int level, int threads, img_pgz_write_fn fn, void *ctx)
{
    img_pgz *z = nr_xcalloc(1, sizeof *z);
    z->level = level;
    z->fn = fn;
    z->ctx = ctx;
    z->crc = crc32(0L, Z_NULL, 0);
    z->nthreads = pick_threads(threads);
    z->njobs = (size_t)z->nthreads * 2;
    z->jobs = nr_xcalloc(z->njobs, sizeof *z->jobs);
    for (size_t i = 0; i < z->njobs; i++)
        z->jobs[i].in = nr_xmalloc(IMG_PGZ_BLOCK);
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->work, NULL);
    pthread_cond_init(&z->done, NULL);
    return z;
}

/* Threads start at the first full block: a small layer never pays for them. */
static void start(img_pgz *z)
{
    z->started = true;
    if (z->nthreads > 1) {
        /* the workers block every signal: a stop (SIGINT, SIGTERM) still
         * lands on the caller's thread, whose handler and interrupted calls
         * the build's stop relies on, as before there were threads */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        for (int i = 0; i < z->nthreads; i++) {
            if (pthread_create(&z->th[z->nth], NULL, worker, z) != 0)
                break;
            z->nth++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (z->nth == 0)
        z->inl_ok = strm_init(&z->inl, z->level) == Z_OK;
}

static int emit(img_pgz *z, const void *buf, size_t len, nr_err *err)
{
    if (z->fn(z->ctx, buf, len, err) < 0) {
        z->failed = true;
        return -1;
    }
    return 0;
}

static int job_st(img_pgz *z, job *j)
{
    if (!z->nth)
        return j->st;
    pthread_mutex_lock(&z->mu);
    int st = j->st;
    pthread_mutex_unlock(&z->mu);
    return st;
}

static void set_free(img_pgz *z, job *j)
{
    j->in_len = 0;
    if (z->nth)
        pthread_mutex_lock(&z->mu);
    j->st = J_FREE;
    if (z->nth)
        pthread_mutex_unlock(&z->mu);
}

/* Write out job j (done) and free its slot. */
static int write_job(img_pgz *z, job *j, nr_err *err)
{
    set_free(z, j);
    if (j->zerr) {
        z->failed = true;
        return nr_err_set(err, "gzip: zlib error %d%s", j->zerr, j->zerr == Z_MEM_ERROR ? " (out of memory)" : "");
    }
    if (!z->header) {
        /* no name, no time, OS unknown: the bytes depend on the input only */
        static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
        z->header = true;
        if (emit(z, hdr, sizeof hdr, err) < 0)
            return -1;
    }
    return emit(z, j->out, j->out_len, err);
}

/* Write out finished jobs in order; with wait, up to and including the
 * slot `until` (which must be in flight). */
static int drain(img_pgz *z, bool wait, size_t until, nr_err *err)
{
    for (;;) {
        job *j = &z->jobs[z->wnext];
        if (job_st(z, j) == J_FREE)
            return 0;
        if (z->nth) {
            pthread_mutex_lock(&z->mu);
            while (wait && j->st != J_DONE)
                pthread_cond_wait(&z->done, &z->mu);
            int st = j->st;
            pthread_mutex_unlock(&z->mu);
            if (st != J_DONE)
                return 0;
        }
        size_t at = z->wnext;
        z->wnext = (z->wnext + 1) % z->njobs;
        if (write_job(z, j, err) < 0)
            return -1;
        if (wait && at == until)
            return 0;
    }
}

static int submit(img_pgz *z, bool last, nr_err *err)
{
    if (!z->started)
        start(z);
    job *j = &z->jobs[z->fill];
    memcpy(j->dict, z->tail, z->tail_len);
    j->dict_len = z->tail_len;
    if (j->in_len >= DICT) {
        memcpy(z->tail, j->in + j->in_len - DICT, DICT);
        z->tail_len = DICT;
    } else if (j->in_len) {
        size_t keep = z->tail_len + j->in_len > DICT ? DICT - j->in_len : z->tail_len;
        memmove(z->tail, z->tail + z->tail_len - keep, keep);
        memcpy(z->tail + keep, j->in, j->in_len);
        z->tail_len = keep + j->in_len;
    }
    j->last = last;
    j->zerr = 0;
    j->seq = z->seq++;
    if (z->nth) {
        pthread_mutex_lock(&z->mu);
        j->st = J_READY;
        pthread_cond_signal(&z->work);
        pthread_mutex_unlock(&z->mu);
    } else {
        if (z->inl_ok)
            compress_job(&z->inl, j);
        else
            j->zerr = Z_MEM_ERROR;
        j->st = J_DONE;
    }
    size_t prev = z->fill;
    z->fill = (z->fill + 1) % z->njobs;
    if (last)
        return drain(z, true, prev, err);
    if (drain(z, false, 0, err) < 0)
        return -1;
    /* the next slot is the oldest in flight: wait for it */
    if (job_st(z, &z->jobs[z->fill]) != J_FREE)
        return drain(z, true, z->fill, err);
    return 0;
}

int img_pgz_write(img_pgz *z, const void *buf, size_t len, nr_err *err)
{
    if (z->failed)
        return nr_err_set(err, "gzip: write after an error");
    const unsigned char *p = buf;
    z->crc = crc32_z(z->crc, p, len);
    z->total += len;
    while (len) {
        job *j = &z->jobs[z->fill];
        size_t n = IMG_PGZ_BLOCK - j->in_len;
        if (n > len)
            n = len;
        memcpy(j->in + j->in_len, p, n);
        j->in_len += n;
        p += n;
        len -= n;
        if (j->in_len == IMG_PGZ_BLOCK && submit(z, false, err) < 0)
            return -1;
    }
    return 0;
}

int img_pgz_finish(img_pgz *z, nr_err *err)
{
    if (z->failed)
        return nr_err_set(err, "gzip: finish after an error");
    if (submit(z, true, err) < 0)
        return -1;
    unsigned char t[8];
    for (int i = 0; i < 4; i++) {
        t[i] = (unsigned char)(z->crc >> (8 * i));
        t[4 + i] = (unsigned char)(z->total >> (8 * i));
    }
    return emit(z, t, sizeof t, err);
}

void img_pgz_free(img_pgz *z)
{
    if (!z)
        return;
    if (z->nth) {
        pthread_mutex_lock(&z->mu);
        z->stop = true;
        pthread_cond_broadcast(&z->work);
        pthread_mutex_unlock(&z->mu);
        for (int i = 0; i < z->nth; i++)
            pthread_join(z->th[i], NULL);
    }
    if (z->inl_ok)
        deflateEnd(&z->inl);
    for (size_t i = 0; i < z->njobs; i++) {
        free(z->jobs[i].in);
        free(z->jobs[i].out);
    }
    free(z->jobs);
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->work);
    pthread_cond_destroy(&z->done);
    free(z);
}
