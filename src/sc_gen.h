/*
 * sc_gen: generation counters in memcached (DESIGN section 6).
 *
 * No httpd headers.  A counter is named by a dependency ("u:<url>",
 * "n:<namespace>", "t:<tag>", see sc_key.h) and holds a decimal number.
 * An entry records the values of its counters when it was stored and is
 * valid only while they are unchanged and present: invalidating is one
 * incr, whatever the number of entries, and a counter that memcached
 * evicted is recreated with a fresh random value, so eviction can only
 * cause misses, never a stale hit.
 */
#ifndef SC_GEN_H
#define SC_GEN_H

#include "sc_store.h"

/* The dependency every entry has on its own server's incarnation: a
 * counter on each server, deleted when the server is fenced. */
#define SC_DEP_SERVER_NAME "s:"
/* The record, on each server, of the fence marks it has applied (absent
 * on a server never fenced). */
#define SC_DEP_APPLIED_NAME "a:"

typedef struct {
    const char *dep; /* dependency name */
    const char *key; /* memcached key of its counter */
    apr_uint64_t gen;
    int have; /* gen is known (fetched or created) */
} sc_gen_t;

/* Fill g for a dependency under a key prefix. */
void sc_gen_init(apr_pool_t *p, const char *prefix, const char *dep,
                 sc_gen_t *g);

/* Read a counter's value from a fetched memcached value. */
int sc_gen_parse(const sc_value_t *v, apr_uint64_t *gen);

/* Fetch n counters in one multi-get. */
apr_status_t sc_gen_fetch(sc_conn_t *c, apr_pool_t *p, sc_gen_t *g, int n);

/* Create the counters of g that are not known yet, with random values
 * (add, so a concurrent creator wins and its value is read back). */
apr_status_t sc_gen_ensure(sc_conn_t *c, apr_pool_t *p, sc_gen_t *g, int n);

/* Invalidate: increment a counter.  *existed tells whether it did (a
 * missing counter means nothing depends on it). */
apr_status_t sc_gen_bump(sc_conn_t *c, apr_pool_t *p, const char *prefix,
                         const char *dep, int *existed);

/* sc_gen_bump, also giving the counter's new value (*gen, 0 when it did
 * not exist; gen may be NULL). */
apr_status_t sc_gen_incr(sc_conn_t *c, apr_pool_t *p, const char *prefix,
                         const char *dep, int *existed, apr_uint64_t *gen);

/* Invalidate hard: delete a counter.  Entries that recorded it are misses
 * (never STALE, whatever SharedCacheSoftInvalidate says) and the next
 * render recreates it with a fresh random value. */
apr_status_t sc_gen_drop(sc_conn_t *c, apr_pool_t *p, const char *prefix,
                         const char *dep, int *existed);

/* Invalidate a dependency wherever its counter lives: a URL's on the
 * server that holds the URL's keys, a namespace's or tag's copy on every
 * server (an entry reads the copy on its own server).  Soft: increment;
 * hard: delete.  *existed: some copy existed.  The index of each server
 * that could not be reached is pushed to unreached (of int) if not NULL;
 * the result is then not APR_SUCCESS and *error says why. */
apr_status_t sc_gen_invalidate(sc_backend_t *b, apr_pool_t *p,
                               const char *prefix, const char *dep, int hard,
                               int *existed, apr_array_header_t *unreached,
                               const char **error);

/* The servers [*from, *to) that hold a copy of a counter (by its key;
 * url: it is a URL's, on the server of the URL's keys; else on every
 * server). */
void sc_gen_copies(const sc_backend_t *b, const char *key, int url, int *from,
                   int *to);

/* The same by the counter's memcached key (url: it is a URL's). */
apr_status_t sc_gen_invalidate_key(sc_backend_t *b, apr_pool_t *p,
                                   const char *key, int url, int hard,
                                   int *existed, apr_array_header_t *unreached,
                                   const char **error);

/* Fences: a server that was unreachable while an invalidation ran (paused,
 * partitioned) may come back with entries that invalidation should have
 * reached.  The invalidator leaves a mark for it on every server it can
 * reach (sc_fence_mark: a fresh random token under the key of dependency
 * "m:<server>").  sc_fence_reconcile compares the marks with those the
 * server has applied (its "a:" record); for a new one it fences the
 * server, deleting its incarnation counter ("s:"), so every entry on it is
 * a miss, and records the marks as applied.  The module reconciles once
 * per SharedCacheRetryInterval per child, and at once before reading a
 * server that owes a fence; until then it does not read that server. */

/* Leave a mark for each server index in unreached (of int) on every other
 * server.  Returns the number of servers that took the marks. */
int sc_fence_mark(sc_backend_t *b, apr_pool_t *p, const char *prefix,
                  const apr_array_header_t *unreached);

/* Read the marks from every server and fence the servers that have new
 * ones; pending[i] (if not NULL) is set for a server that owes a fence but
 * could not be given it, cleared otherwise.  Returns the number fenced. */
int sc_fence_reconcile(sc_backend_t *b, apr_pool_t *p, const char *prefix,
                       unsigned char *pending);

/* Fence every server at once (delete every incarnation counter): every
 * entry is a miss.  APR_SUCCESS when every server answered. */
apr_status_t sc_fence_all(sc_backend_t *b, apr_pool_t *p, const char *prefix);

/* May this process read the server now?  Reconciles when due (see above)
 * and refuses a server that owes a fence. */
int sc_fence_allows(sc_backend_t *b, apr_pool_t *p, const char *prefix,
                    int server);

#endif
