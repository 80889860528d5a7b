/*
 * fuzz.h: helpers shared by the libFuzzer targets of the pure files
 * (THREATS.md 29).  See t/fuzz/README.md.
 *
 * APR is initialised once; each input gets a fresh pool, destroyed after
 * it.  Strings handed to the code under test are exact-size malloc'd
 * copies, so a read past their end is a real overread under ASan (APR
 * pools hand out slices of big blocks, which ASan cannot guard).
 */
#ifndef SC_FUZZ_H
#define SC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>

/* An invariant of the code under test: abort (a libFuzzer crash) with
 * the file and line of the check when it does not hold. */
#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
                    __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

static apr_pool_t *fuzz_root;

static inline apr_pool_t *fuzz_pool(void)
{
    apr_pool_t *p;

    if (!fuzz_root) {
        if (apr_initialize() != APR_SUCCESS
            || apr_pool_create(&fuzz_root, NULL) != APR_SUCCESS) {
            abort();
        }
    }
    if (apr_pool_create(&p, fuzz_root) != APR_SUCCESS) {
        abort();
    }
    return p;
}

/* The input cut at NUL bytes into at most max fields, each an exact-size
 * malloc'd NUL-terminated string; missing fields are NULL.  Returns the
 * number of fields present.  Free with fuzz_free_fields(). */
static inline int fuzz_split(const uint8_t *data, size_t size, char **f,
                             int max)
{
    int n = 0;
    size_t i = 0;

    memset(f, 0, sizeof(*f) * (size_t)max);
    while (n < max && i <= size) {
        const uint8_t *z = memchr(data + i, '\0', size - i);
        size_t len = z ? (size_t)(z - (data + i)) : size - i;

        f[n] = malloc(len + 1);
        if (!f[n]) {
            abort();
        }
        memcpy(f[n], data + i, len);
        f[n][len] = '\0';
        n++;
        if (!z) {
            break;
        }
        i += len + 1;
    }
    return n;
}

static inline void fuzz_free_fields(char **f, int max)
{
    int i;

    for (i = 0; i < max; i++) {
        free(f[i]);
        f[i] = NULL;
    }
}

/* An exact-size malloc'd copy of a string. */
static inline char *fuzz_strdup(const char *s)
{
    size_t n = strlen(s);
    char *c = malloc(n + 1);

    if (!c) {
        abort();
    }
    memcpy(c, s, n + 1);
    return c;
}

#endif
