/*
 * sc_pending: invalidations that failed, shared by every child of this
 * host (one anonymous shared memory segment created in post_config,
 * inherited across fork), to be tried again before lookups.  While one
 * waits, no child serves an entry that depends on its counter.  Slots are
 * claimed and released with atomic operations only: no lock, no call
 * that could block a request.
 */
#ifndef SC_PENDING_H
#define SC_PENDING_H

#include <apr_pools.h>

#define SC_PENDING_SLOTS 64
#define SC_PENDING_SECONDS 3600 /* then it is given up (and logged) */

/* post_config: the shared table, made once in the process pool (pproc):
 * what waits survives a graceful restart. */
apr_status_t sc_pending_init(apr_pool_t *pproc);

/* Which cluster an invalidation is for: its servers' names and the prefix
 * (virtual hosts may use different SharedCacheServers; an invalidation is
 * only ever tried on its own). */
apr_uint64_t sc_pending_cluster(const char *const *names, int n,
                                const char *prefix);

/* Keep an invalidation: the cluster, the memcached key of the counter,
 * whether it is a URL's (one server) and whether it is hard (delete).
 * False when the table is full: then every entry counts as depending on a
 * waiting invalidation (sc_pending_has) until sc_pending_overflow_done,
 * which the caller calls once it has fenced every server of every
 * cluster. */
int sc_pending_add(apr_uint64_t cluster, const char *key, int url, int hard);

/* How many wait (cheap: read before anything else). */
int sc_pending_count(void);

/* Does an invalidation of this counter wait? */
int sc_pending_has(const char *key);

/* Did the table overflow (and no server fence has made up for it yet)? */
int sc_pending_overflowed(void);
void sc_pending_overflow_done(void);

/* Try each waiting invalidation of the cluster again with try(data, key,
 * url, hard), which returns 0 when it went through; those of other
 * clusters wait for a request that uses theirs.  Returns how many were
 * given up (failing for SC_PENDING_SECONDS). */
int sc_pending_retry(apr_uint64_t cluster,
                     int (*try)(void *data, const char *key, int url, int hard),
                     void *data);

/* Fill leases that could not be let go of (their server out of reach, or
 * marked down in this child): the next request of any child whose
 * servers include theirs (by name: a restart that changes the list or the
 * prefix keeps it) lets them go once the server answers, when still
 * theirs (token), so that the requests waiting for one do not wait until
 * it expires (until).  False when the table is full: that lease expires
 * by itself. */
#define SC_PENDING_LEASE_SLOTS 64
int sc_pending_lease_add(const char *server, const char *key, const char *token,
                         apr_time_t until);

/* How many wait (cheap: read before anything else). */
int sc_pending_lease_count(void);

/* Try each waiting lease with try(data, server, key, token), which
 * returns 0 when it is let go of or no longer this token's (else it
 * waits: the server is not reached, or not one of the caller's); a lease
 * past its expiry is dropped untried. */
void sc_pending_lease_retry(int (*try)(void *data, const char *server,
                                       const char *key, const char *token),
                            void *data);

#endif
