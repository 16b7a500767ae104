/* sha256, from OpenSSL (never hand-written crypto).  Kept apart from util.c
 * so that the static PID 1 (runtime/init/) links without libcrypto.
 *
 * OpenSSL's low-level SHA256_* functions, not EVP: the first EVP digest of a
 * process loads the configuration and the default provider, 0.7 ms that every
 * nrun command paid (`nrun run` verifies the image's manifest and config
 * blobs).  SHA256_* is the same implementation (same assembly), called
 * directly; OpenSSL 3 marks it deprecated in favour of EVP, hence the define. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"

struct nr_sha256 {
    SHA256_CTX ctx;
};

nr_sha256 *nr_sha256_new(void)
{
    nr_sha256 *h = nr_xmalloc(sizeof *h);
    if (SHA256_Init(&h->ctx) != 1)
        abort();
    return h;
}

void nr_sha256_update(nr_sha256 *h, const void *data, size_t len)
{
    if (len)
        SHA256_Update(&h->ctx, data, len);
}

void nr_sha256_final(nr_sha256 *h, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, &h->ctx);
    for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    free(h);
}

void nr_sha256_hex(const void *data, size_t len, char out[65])
{
    nr_sha256 *h = nr_sha256_new();
    nr_sha256_update(h, data, len);
    nr_sha256_final(h, out);
}
