/* sha256 through OpenSSL's EVP (never hand-written crypto).  Kept apart from
 * util.c so that the static PID 1 (runtime/init/) links without libcrypto. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"

struct nr_sha256 {
    EVP_MD_CTX *ctx;
};

nr_sha256 *nr_sha256_new(void)
{
    nr_sha256 *h = nr_xmalloc(sizeof *h);
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
        abort(); /* out of memory */
    return h;
}
void nr_sha256_update(nr_sha256 *h, const void *data, size_t len)
{
    if (len)
        EVP_DigestUpdate(h->ctx, data, len);
}
void nr_sha256_final(nr_sha256 *h, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
    EVP_MD_CTX_free(h->ctx);
    free(h);
}
void nr_sha256_hex(const void *data, size_t len, char out[65])
{
    nr_sha256 *h = nr_sha256_new();
    nr_sha256_update(h, data, len);
    nr_sha256_final(h, out);
}
