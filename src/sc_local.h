/*
 * sc_local: the local tier (SharedCacheLocal), a host's recent lookups
 * kept in shared memory in front of memcached.
 *
 * What is kept is not a response but what one lookup read: the memcached
 * keys of its one multi-get and the values they held (the entry, its
 * URL's and namespace's counters, the server's incarnation, the hinted
 * variant and tags' counters).  A later lookup that asks for the very
 * same keys while the entry's SharedCacheLocalTTL has not passed since
 * that multi-get takes those values instead of asking memcached, and
 * decides on them as on memcached's reply (sc_lookup.c): the record holds
 * exactly this key, every counter matches, and the entry is fresh at the
 * time of this request; else it asks memcached.
 *
 * Invalidations made on this host apply at once: every key this host's
 * processes increment, delete or set in memcached (with or without a
 * local tier of their own, so that a graceful restart that turns it on
 * misses none) bumps one of
 * SC_LOCAL_SLOTS counters in shared memory (by the key's hash); a kept
 * lookup records the sum of its keys' counters as read before its
 * multi-get, and is used only while that sum is unchanged.  Those made
 * elsewhere (another host, sharedcachectl, the Python package) apply
 * once the kept lookup is older than its TTL.
 *
 * The store is one shared-memory segment of the configured size for the
 * whole host (sc_ring.h): the oldest records overwritten first, written
 * under one global mutex (Mutex sharedcache-local), read without a lock.
 */
#ifndef SC_LOCAL_H
#define SC_LOCAL_H

#include "httpd.h"
#include "sc_store.h"

#define SC_LOCAL_MUTEX "sharedcache-local"
/* The largest lookup kept (its values together). */
#define SC_LOCAL_ITEM_MAX (256 * 1024)
/* The longest SharedCacheLocalTTL, seconds. */
#define SC_LOCAL_TTL_MAX 60

/* pre_config: the mutex's name, for the Mutex directive. */
void sc_local_pre_config(apr_pool_t *pconf);

/* post_config: make the segment of size bytes (0: no local tier). */
apr_status_t sc_local_post_config(apr_pool_t *pconf, apr_pool_t *pproc,
                                  server_rec *s, apr_off_t size);

/* child_init: attach the mutex. */
void sc_local_child_init(apr_pool_t *pchild, server_rec *s);

/* Is there a local tier? */
int sc_local_on(void);

/* The sum of the keys' change counters: read before the multi-get whose
 * values sc_local_put keeps. */
apr_uint64_t sc_local_mark(const char *const *keys, int n);

/* The values kept for exactly these keys, each in vals[i] (malloc'd,
 * freed by a cleanup on r->pool unless taken, as sc_store_mget's), if
 * memcached gave them less than max_age seconds ago (the reader's
 * SharedCacheLocalTTL; the entry's own is a bound too): 1, or 0 when
 * nothing usable is kept. */
int sc_local_get(request_rec *r, const char *const *keys, int n, int max_age,
                 sc_value_t **vals);

/* Would the tier keep these values (not too large for it)? */
int sc_local_fits(const char *const *keys, const sc_value_t *vals, int n);

/* Keep the values a multi-get of these keys read at fetched (before it
 * was sent), with the mark read before it, for seconds. */
void sc_local_put(request_rec *r, const char *const *keys,
                  const sc_value_t *vals, int n, apr_uint64_t mark,
                  apr_time_t fetched, int seconds);

/* The store's hook (sc_backend_t.changed): a key was written. */
void sc_local_changed(const char *key);

/* The store's state ("entries: 12" ...), for the status page. */
void sc_local_status(request_rec *r);

#endif
