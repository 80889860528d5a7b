/*
 * sc_place.c: rendezvous placement of a URL's keys (see sc_place.h).
 */
#include "sc_place.h"

#include <apr_sha1.h>
#include <string.h>

static apr_uint64_t score(const char *name, const char *group, apr_size_t len)
{
    unsigned char d[APR_SHA1_DIGESTSIZE];
    apr_sha1_ctx_t ctx;
    apr_uint64_t v = 0;
    int i;

    apr_sha1_init(&ctx);
    apr_sha1_update(&ctx, name, (unsigned int)strlen(name));
    apr_sha1_update(&ctx, "\n", 1);
    apr_sha1_update(&ctx, group, (unsigned int)len);
    apr_sha1_final(d, &ctx);
    for (i = 0; i < 8; i++) {
        v = (v << 8) | d[i];
    }
    return v;
}

int sc_place(const char *const *names, int n, const char *group, apr_size_t len)
{
    apr_uint64_t best = 0;
    int i, at = 0;

    for (i = 0; n > 1 && i < n; i++) {
        apr_uint64_t s = score(names[i], group, len);
        if (i == 0 || s > best) {
            best = s;
            at = i;
        }
    }
    return at;
}
