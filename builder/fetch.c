/* ADD <url>: a bounded, verified download over libcurl (see fetch.h). */
#include "builder/fetch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "images/http.h"

void bld_sweep_dead(const char *dir, void (*drop)(int dfd, const char *dir, const char *name))
{
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dup(dfd)) : NULL;
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end != '-' || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (drop)
            drop(dfd, dir, e->d_name);
        else
            unlinkat(dfd, e->d_name, 0);
    }
    closedir(d);
}

void bld_fetch_sweep(const char *dir)
{
    bld_sweep_dead(dir, NULL);
}

typedef struct sink {
    int fd;
    uint64_t n, max;
    nr_sha256 *h;
    const char *url, *path;
} sink;

static void human(uint64_t n, char *out, size_t cap);

static int on_data(void *arg, const void *p, size_t len, nr_err *err)
{
    sink *s = arg;
    if (len > s->max - s->n) {
        char lim[32];
        human(s->max, lim, sizeof lim);
        return nr_err_set(err, "%s: larger than the limit of %s", s->url, lim);
    }
    if (nr_write_all(s->fd, p, len) < 0)
        return nr_err_sys(err, errno, "write %s", s->path);
    nr_sha256_update(s->h, p, len);
    s->n += len;
    return 0;
}

static void human(uint64_t n, char *out, size_t cap)
{
    if (n >= (1ull << 30) && n % (1ull << 30) == 0)
        snprintf(out, cap, "%llu GiB", (unsigned long long)(n >> 30));
    else if (n >= (1ull << 20) && n % (1ull << 20) == 0)
        snprintf(out, cap, "%llu MiB", (unsigned long long)(n >> 20));
    else
        snprintf(out, cap, "%llu bytes", (unsigned long long)n);
}

int bld_fetch_url(const char *url, const char *dir, uint64_t max, const char *want, char **path, uint64_t *size,
                  char sha[65], nr_err *err)
{
    *path = NULL;
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
        return nr_err_set(err, "%s: only http and https URLs can be downloaded", url);
    img_http *h = NULL;
    if (img_http_new(&(img_http_tls){.verify = true}, &h, err) < 0) {
        cleanup_free char *m = nr_xstrdup(err->msg);
        return nr_err_set(err, "%s: %s", url, m);
    }
    if (nr_mkdir_p(dir, 0700, err) < 0) {
        img_http_free(h);
        return -1;
    }
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        img_http_free(h);
        return nr_err_sys(err, errno, "getrandom");
    }
    /* <our pid>-<random>: what a killed nbuild left is swept by the next */
    cleanup_free char *p = nr_xasprintf("%s/%d-%02x%02x%02x%02x%02x%02x%02x%02x", dir, (int)getpid(), rnd[0], rnd[1],
                                        rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    cleanup_close int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        img_http_free(h);
        return nr_err_sys(err, errno, "create %s", p);
    }
    sink s = {.fd = fd, .max = max, .h = nr_sha256_new(), .url = url, .path = p};
    img_http_req rq = {.method = "GET",
                       .url = url,
                       .sink = on_data,
                       .sink_arg = &s,
                       .follow = true,
                       .max_redirs = BLD_FETCH_MAX_REDIRS,
                       .max_size = max,
                       .user_agent = "nbuild/" NR_VERSION};
    img_http_resp rs;
    int ret = img_http_do(h, &rq, &rs, err);
    img_http_free(h);
    char got[65];
    nr_sha256_final(s.h, got);
    char lim[32];
    human(max, lim, sizeof lim);
    if (ret < 0 && rs.too_large)
        nr_err_set(err, "%s: larger than the limit of %s", url, lim);
    else if (ret < 0 && rs.too_many_redirects)
        nr_err_set(err, "%s: more than %d redirects", url, BLD_FETCH_MAX_REDIRS);
    else if (ret < 0 && rs.transport_error && rs.detail[0])
        nr_err_set(err, "%s: %s", url, rs.detail);
    else if (ret == 0 && (rs.status < 200 || rs.status > 299))
        ret = nr_err_set(err, "%s: HTTP status %ld", url, rs.status);
    else if (ret == 0 && want && strcmp(want, got))
        ret = nr_err_set(err, "%s: checksum mismatch: expected sha256:%s, got sha256:%s", url, want, got);
    img_http_resp_free(&rs);
    if (ret < 0) {
        unlink(p);
        return -1;
    }
    memcpy(sha, got, 65);
    *size = s.n;
    *path = p;
    p = NULL;
    return 0;
}
