/*
 * sc_status: counters shared by every child (one anonymous shared memory
 * segment made at the first start, inherited across fork) and the status
 * handler (SetHandler sharedcache-status): HTML, ?json and ?prometheus.
 */
#ifndef SC_STATUS_H
#define SC_STATUS_H

#include "httpd.h"
#include <apr_pools.h>

/* The first six count decisions, in sc_decision_t's order. */
typedef enum {
    SC_STAT_HIT,
    SC_STAT_MISS,
    SC_STAT_STALE,
    SC_STAT_BYPASS,
    SC_STAT_UNCACHEABLE,
    SC_STAT_ERROR,
    SC_STAT_STORES,
    SC_STAT_STORED_BYTES,
    SC_STAT_SERVED_BYTES,
    SC_STAT_LOCK_WAITS,
    SC_STAT_INVALIDATIONS,
    SC_STAT_NO_HANDLE,
    SC_STAT_INVALIDATIONS_PENDING,
    SC_STAT_MC_CALLS,
    SC_STAT_ESI_DIRECT,
    SC_STAT_LOCAL_HITS,
    SC_STAT_LOCAL_STORES,
    SC_STAT_ESI_GZIP_STORED,
    SC_STAT_ESI_GZIP_MADE,
    SC_STAT_DECODED,
    SC_STAT_DECODED_REUSED,
    SC_STAT_COUNT
} sc_stat_t;

#define SC_STATUS_HANDLER "sharedcache-status"

/* post_config: the shared segment, made once for the life of the parent
 * (the process pool): counters survive graceful restarts. */
apr_status_t sc_status_init(apr_pool_t *pproc);

void sc_stat_add(sc_stat_t which, apr_uint64_t n);

/* post_config: the counters of each virtual host (sc_vhoststat.h), for
 * the counters that belong to a request (those sc_stat_add_r counts). */
apr_status_t sc_status_vhosts_init(apr_pool_t *pproc, apr_pool_t *pconf,
                                   server_rec *s);

/* sc_stat_add, and the same for the request's virtual host when the
 * counter is one of those broken down by host: the decisions, stores,
 * stored bytes, invalidations and failed invalidations. */
void sc_stat_add_r(const request_rec *r, sc_stat_t which, apr_uint64_t n);

/* Count a borrow that found every memcached handle of the child in use
 * (the backend's exhausted hook). */
void sc_stat_no_handle(void);

/* Count a memcached round trip (the backend's counted hook). */
void sc_stat_mc_call(void);

/* child_init: this child's slot of the servers' view (the names of the
 * servers it talks to); sc_status_server_state is the backends' state
 * hook that fills it. */
void sc_status_child_init(apr_pool_t *pchild, const char *const *names, int n);
void sc_status_server_state(const char *server, apr_uint64_t down_since,
                            apr_uint64_t retry_at);

/* What this child keeps of decoded bodies (sc_unzipped.h), in bytes; the
 * sum over the live children (*children: how many). */
void sc_status_decoded_kept(apr_size_t bytes);
apr_uint64_t sc_status_decoded_kept_sum(int *children);

int sc_status_handler(request_rec *r);

#endif
