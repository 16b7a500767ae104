/* ADD <url>: a bounded, verified download over libcurl (see fetch.h). */
#include "builder/fetch.h"

#include <curl/curl.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

static struct {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
} cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static char cu_error[256];

static void cu_load(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(cu_error, sizeof cu_error, "load libcurl.so.4: %s", dlerror());
        return;
    }
    CURLcode (*global_init)(long) = NULL;
    *(void **)&global_init = dlsym(h, "curl_global_init");
    *(void **)&cu.easy_setopt = dlsym(h, "curl_easy_setopt");
    *(void **)&cu.easy_perform = dlsym(h, "curl_easy_perform");
    *(void **)&cu.easy_getinfo = dlsym(h, "curl_easy_getinfo");
    *(void **)&cu.easy_cleanup = dlsym(h, "curl_easy_cleanup");
    *(void **)&cu.easy_strerror = dlsym(h, "curl_easy_strerror");
    if (!global_init || !cu.easy_setopt || !cu.easy_perform || !cu.easy_getinfo || !cu.easy_cleanup ||
        !cu.easy_strerror || global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(cu_error, sizeof cu_error, "libcurl.so.4: missing symbols or init failed");
        return;
    }
    *(void **)&cu.easy_init = dlsym(h, "curl_easy_init"); /* set last: the "loaded" mark */
}

void bld_fetch_sweep(const char *dir)
{
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dup(dfd)) : NULL;
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (pid > 0 && *end == '-' && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
            unlinkat(dfd, e->d_name, 0);
    }
    closedir(d);
}

typedef struct sink {
    int fd;
    uint64_t n, max;
    nr_sha256 *h;
    int werr;     /* errno of a failed write */
    bool too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
    sink *s = arg;
    size_t len = size * nmemb;
    if (len > s->max - s->n) {
        s->too_big = true;
        return 0; /* abort the transfer */
    }
    if (nr_write_all(s->fd, p, len) < 0) {
        s->werr = errno;
        return 0;
    }
    nr_sha256_update(s->h, p, len);
    s->n += len;
    return len;
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
    pthread_once(&cu_once, cu_load);
    if (!cu.easy_init)
        return nr_err_set(err, "%s: %s", url, cu_error);
    if (nr_mkdir_p(dir, 0700, err) < 0)
        return -1;
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return nr_err_sys(err, errno, "getrandom");
    /* <our pid>-<random>: what a killed nbuild left is swept by the next */
    cleanup_free char *p = nr_xasprintf("%s/%d-%02x%02x%02x%02x%02x%02x%02x%02x", dir, (int)getpid(), rnd[0], rnd[1],
                                        rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    cleanup_close int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_err_sys(err, errno, "create %s", p);
    CURL *c = cu.easy_init();
    if (!c) {
        unlink(p);
        return nr_err_set(err, "%s: curl_easy_init failed", url);
    }
    sink s = {.fd = fd, .max = max, .h = nr_sha256_new()};
    char cerr[CURL_ERROR_SIZE] = "";
    cu.easy_setopt(c, CURLOPT_URL, url);
    cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    cu.easy_setopt(c, CURLOPT_MAXREDIRS, (long)BLD_FETCH_MAX_REDIRS);
    cu.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    cu.easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L); /* stalled for a minute: give up */
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    cu.easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL); /* the bytes as served: what the checksum names */
    cu.easy_setopt(c, CURLOPT_USERAGENT, "nbuild/" NR_VERSION);
    cu.easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    cu.easy_setopt(c, CURLOPT_WRITEDATA, &s);
    CURLcode rc = cu.easy_perform(c);
    long status = 0;
    cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    cu.easy_cleanup(c);
    char got[65];
    nr_sha256_final(s.h, got);
    int ret = 0;
    char lim[32];
    human(max, lim, sizeof lim);
    if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
        ret = nr_err_set(err, "%s: larger than the limit of %s", url, lim);
    else if (s.werr)
        ret = nr_err_sys(err, s.werr, "write %s", p);
    else if (rc == CURLE_HTTP_RETURNED_ERROR)
        ret = nr_err_set(err, "%s: HTTP status %ld", url, status);
    else if (rc == CURLE_TOO_MANY_REDIRECTS)
        ret = nr_err_set(err, "%s: more than %d redirects", url, BLD_FETCH_MAX_REDIRS);
    else if (rc != CURLE_OK)
        ret = nr_err_set(err, "%s: %s", url, *cerr ? cerr : cu.easy_strerror(rc));
    else if (want && strcmp(want, got))
        ret = nr_err_set(err, "%s: checksum mismatch: expected sha256:%s, got sha256:%s", url, want, got);
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
