/*
 * sc_hint.c: what this child learnt of a URL's last lookup, so that the
 * next lookup asks memcached for everything in one round trip: the Vary
 * names of its level-1 record (the variant's key can then be fetched with
 * it) and the tags of an entry (their counters too).  A hint only adds
 * keys to the first multi-get; what comes back is checked exactly as
 * without it, so a hint that no longer holds costs the round trip it was
 * to save, never a wrong page.  At most SC_HINTS hints per child, all
 * forgotten at once when full (their memory with them).
 */
#include "sc_request.h"

#include <apr_hash.h>
#include <apr_strings.h>
#if APR_HAS_THREADS
#include <apr_thread_rwlock.h>
#endif

#define SC_HINTS 4096

static apr_pool_t *hint_pool;
static apr_hash_t *hints;    /* kind + memcached key -> apr_array of names */
static unsigned int changes; /* hints set since the pool was cleared */
#if APR_HAS_THREADS
/* read by every lookup (and every include of an ESI page), written only
 * when a hint changes: the threads of a child read side by side */
static apr_thread_rwlock_t *hint_lock;
#endif

static void lock_read(void)
{
#if APR_HAS_THREADS
    if (hint_lock) {
        apr_thread_rwlock_rdlock(hint_lock);
    }
#endif
}

static void lock_write(void)
{
#if APR_HAS_THREADS
    if (hint_lock) {
        apr_thread_rwlock_wrlock(hint_lock);
    }
#endif
}

static void unlock(void)
{
#if APR_HAS_THREADS
    if (hint_lock) {
        apr_thread_rwlock_unlock(hint_lock);
    }
#endif
}

void sc_hint_child_init(apr_pool_t *pchild)
{
    if (apr_pool_create(&hint_pool, pchild) != APR_SUCCESS) {
        hint_pool = NULL;
        return;
    }
    apr_pool_tag(hint_pool, "sharedcache_hints");
    hints = sc_key_hash_make(hint_pool);
#if APR_HAS_THREADS
    if (apr_thread_rwlock_create(&hint_lock, pchild) != APR_SUCCESS) {
        hint_pool = NULL; /* no hints rather than unguarded ones */
    }
#endif
}

static int same(const apr_array_header_t *a, const apr_array_header_t *b)
{
    int i;

    if (!a || !b || a->nelts != b->nelts) {
        return a == b;
    }
    for (i = 0; i < a->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(a, i, const char *),
                   APR_ARRAY_IDX(b, i, const char *))) {
            return 0;
        }
    }
    return 1;
}

static apr_array_header_t *copy(apr_pool_t *p, const apr_array_header_t *a)
{
    apr_array_header_t *c = apr_array_make(p, a->nelts, sizeof(const char *));
    int i;

    for (i = 0; i < a->nelts; i++) {
        APR_ARRAY_PUSH(c, const char *) = apr_pstrdup(
            p, APR_ARRAY_IDX(a, i, const char *));
    }
    return c;
}

/* The hash key of a hint: its kind's digit, then the memcached key
 * (memcached keys are at most 250 bytes). */
static int hint_key(char *buf, apr_size_t size, sc_hint_kind_t kind,
                    const char *key)
{
    apr_size_t n = strlen(key);

    if (n + 2 > size) {
        return 0;
    }
    buf[0] = (char)('0' + kind);
    memcpy(buf + 1, key, n + 1);
    return 1;
}

apr_array_header_t *sc_hint_get(apr_pool_t *p, sc_hint_kind_t kind,
                                const char *key)
{
    const apr_array_header_t *h;
    apr_array_header_t *out = NULL;
    char hk[256];

    if (!hint_pool || !hint_key(hk, sizeof(hk), kind, key)) {
        return NULL;
    }
    lock_read();
    h = apr_hash_get(hints, hk, APR_HASH_KEY_STRING);
    if (h) {
        out = copy(p, h); /* the hint may be forgotten once unlocked */
    }
    unlock();
    return out;
}

void sc_hint_set(sc_hint_kind_t kind, const char *key,
                 const apr_array_header_t *names)
{
    const apr_array_header_t *h;
    char hk[256];
    int held;

    if (!hint_pool || !hint_key(hk, sizeof(hk), kind, key)) {
        return;
    }
    if (names && !names->nelts) {
        names = NULL;
    }
    /* most hints hold: compared side by side, written alone */
    lock_read();
    held = same(apr_hash_get(hints, hk, APR_HASH_KEY_STRING), names);
    unlock();
    if (held) {
        return;
    }
    lock_write();
    h = apr_hash_get(hints, hk, APR_HASH_KEY_STRING);
    if (!same(h, names)) {
        /* Only a change allocates: a hint that holds costs nothing; hints
         * that keep changing are forgotten as a full table is. */
        if (apr_hash_count(hints) >= SC_HINTS || ++changes > 4 * SC_HINTS) {
            apr_pool_clear(hint_pool);
            hints = sc_key_hash_make(hint_pool);
            changes = 0;
        }
        apr_hash_set(hints, apr_pstrdup(hint_pool, hk), APR_HASH_KEY_STRING,
                     names ? copy(hint_pool, names) : NULL);
    }
    unlock();
}

int sc_hint_not_quick(apr_pool_t *p, const char *entry_key)
{
    apr_array_header_t *memo = sc_hint_get(p, SC_HINT_NOT_QUICK, entry_key);

    return memo && memo->nelts == 1
           && apr_atoi64(APR_ARRAY_IDX(memo, 0, const char *))
                  > apr_time_sec(apr_time_now());
}

void sc_hint_set_not_quick(apr_pool_t *p, const char *entry_key)
{
    apr_array_header_t *memo = apr_array_make(p, 1, sizeof(const char *));

    APR_ARRAY_PUSH(memo, const char *) = apr_psprintf(
        p, "%" APR_INT64_T_FMT,
        apr_time_sec(apr_time_now()) + SC_NOT_QUICK_MEMO);
    sc_hint_set(SC_HINT_NOT_QUICK, entry_key, memo);
}
