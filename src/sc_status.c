/*
 * sc_status.c: the shared counters and the children's view of the
 * memcached servers (see sc_status.h); the page that shows them is
 * sc_status_page.c.
 */
#include "sc_status.h"
#include "sc_status_int.h"
#include "sc_config.h"
#include "sc_log.h"
#include "sc_store.h"
#include "sc_vhoststat.h"

#include "http_log.h"
#include "http_protocol.h"
#include <apr_atomic.h>
#include <apr_strings.h>
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

APLOG_USE_MODULE(sharedcache);

/* The children's view of the memcached servers: one slot per child
 * process (claimed at child_init, given back at its exit or taken over
 * from a dead one), one entry per server name, written only on a mark
 * down or up (sc_store's state hook), read by the status page of any
 * child. */
#define SC_VIEW_CHILDREN 256
#define SC_VIEW_SERVERS 16
#define SC_VIEW_NAME 64

typedef struct {
    char name[SC_VIEW_NAME];
    volatile apr_uint64_t down_since; /* us, 0 when up */
    volatile apr_uint64_t retry_at;   /* us */
} sc_view_server_t;

typedef struct {
    volatile apr_uint32_t pid; /* 0: free */
    apr_uint32_t nservers;
    volatile apr_uint64_t decoded_kept; /* bytes (sc_unzipped.h) */
    sc_view_server_t s[SC_VIEW_SERVERS];
} sc_view_child_t;

typedef struct {
    apr_time_t started; /* when the counters started (the first start) */
    volatile apr_uint64_t n[SC_STAT_COUNT];
    sc_view_child_t child[SC_VIEW_CHILDREN];
} sc_counters_t;

static sc_counters_t *counters;
static sc_view_child_t *mine; /* this child's slot, or NULL */

const sc_stat_info_t sc_stat_info[SC_STAT_COUNT] = {
    { "hits", "sharedcache_responses_total", "HIT",
      "responses by cache decision", SC_PER_VHOST },
    { "misses", "sharedcache_responses_total", "MISS", NULL, SC_PER_VHOST },
    { "stale", "sharedcache_responses_total", "STALE", NULL, SC_PER_VHOST },
    { "bypass", "sharedcache_responses_total", "BYPASS", NULL, SC_PER_VHOST },
    { "uncacheable", "sharedcache_responses_total", "UNCACHEABLE", NULL,
      SC_PER_VHOST },
    { "errors", "sharedcache_responses_total", "ERROR", NULL, SC_PER_VHOST },
    { "stores", "sharedcache_stores_total", NULL, "entries stored in memcached",
      SC_PER_VHOST },
    { "stored_bytes", "sharedcache_stored_bytes_total", NULL,
      "body bytes stored", SC_PER_VHOST },
    { "served_bytes", "sharedcache_served_bytes_total", NULL,
      "body bytes served from the cache", SC_PER_VHOST },
    { "lock_waits", "sharedcache_lock_waits_total", NULL,
      "requests that waited for another's render", SC_PER_VHOST },
    { "invalidations", "sharedcache_invalidations_total", NULL,
      "counters incremented (tags, URLs, namespaces)", SC_PER_VHOST },
    { "no_handle", "sharedcache_handle_pool_exhausted_total", NULL,
      "memcached accesses that found no free handle (served uncached)", 0 },
    { "invalidations_failed", "sharedcache_invalidations_failed_total", NULL,
      "invalidations that failed and were kept to be tried again",
      SC_PER_VHOST },
    { "memcached_calls", "sharedcache_memcached_calls_total", NULL,
      "memcached round trips (get, multi-get, set, add, incr, delete)", 0 },
    { "esi_direct", "sharedcache_esi_direct_total", NULL,
      "ESI includes served from memcached without a subrequest", SC_PER_VHOST },
    { "local_hits", "sharedcache_local_hits_total", NULL,
      "lookups answered by the local tier, without memcached", SC_PER_VHOST },
    { "local_stores", "sharedcache_local_stores_total", NULL,
      "lookups kept in the local tier", SC_PER_VHOST },
    { "esi_gzip_stored", "sharedcache_esi_gzip_stored_total", NULL,
      "parts of ESI pages sent to gzip clients in the deflate form stored "
      "with them",
      SC_PER_VHOST },
    { "esi_gzip_compressed", "sharedcache_esi_gzip_compressed_total", NULL,
      "parts of ESI pages compressed for a gzip client as the page was sent",
      SC_PER_VHOST },
    { "decoded", "sharedcache_decoded_total", NULL,
      "hits whose stored gzip form was decoded for a client that accepts no "
      "stored coding",
      SC_PER_VHOST },
    { "decoded_reused", "sharedcache_decoded_reused_total", NULL,
      "such hits that took the body the child had decoded from the same "
      "bytes",
      SC_PER_VHOST },
};

apr_status_t sc_status_init(apr_pool_t *pproc)
{
    void *mem;
    /* the segment of this layout: a module of another one (an upgrade
     * with a graceful restart) makes a segment of its own */
    const char *key = apr_psprintf(pproc, "sharedcache-status/%" APR_SIZE_T_FMT,
                                   sizeof(sc_counters_t));

    /* Counted from the first start: a graceful restart (Debian's
     * logrotate does one a day) keeps the counters.  httpd unloads and
     * reloads the module at a restart: the address is kept with the
     * process pool, which lives on. */
    apr_pool_userdata_get((void **)&counters, key, pproc);
    if (counters) {
        return APR_SUCCESS;
    }
    /* Shared anonymous memory that nothing unmaps: a child that exits
     * tears its pools down while threads may still count. */
    mem = mmap(NULL, sizeof(sc_counters_t), PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        counters = NULL;
        return APR_ENOMEM;
    }
    counters = mem;
    memset((void *)counters, 0, sizeof(*counters));
    counters->started = apr_time_now();
    apr_pool_userdata_set(counters, key, NULL, pproc);
    return APR_SUCCESS;
}

void sc_stat_add(sc_stat_t which, apr_uint64_t n)
{
    if (counters) {
        apr_atomic_add64(&counters->n[which], n);
    }
}

apr_status_t sc_status_vhosts_init(apr_pool_t *pproc, apr_pool_t *pconf,
                                   server_rec *s)
{
    return sc_vhoststat_init(pproc, pconf, s, SC_STAT_COUNT);
}

void sc_stat_add_r(const request_rec *r, sc_stat_t which, apr_uint64_t n)
{
    sc_stat_add(which, n);
    if (sc_stat_info[which].per_vhost) {
        sc_vhoststat_add(r->server, (int)which, n);
    }
}

/* Is the process of a slot gone (a crashed child never gave it back)? */
static int gone(apr_uint32_t pid)
{
    return pid && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static apr_status_t give_slot_back(void *data)
{
    sc_view_child_t *v = data;

    apr_atomic_set32(&v->pid, 0);
    mine = NULL;
    return APR_SUCCESS;
}

void sc_status_child_init(apr_pool_t *pchild, const char *const *names, int n)
{
    apr_uint32_t me = (apr_uint32_t)getpid();
    int i, j;

    for (i = 0; counters && i < SC_VIEW_CHILDREN && !mine; i++) {
        sc_view_child_t *v = &counters->child[i];
        apr_uint32_t pid = apr_atomic_read32(&v->pid);

        if ((pid == 0 || gone(pid))
            && apr_atomic_cas32(&v->pid, me, pid) == pid) {
            mine = v;
        }
    }
    if (!mine) {
        return; /* more children than slots: not shown */
    }
    mine->nservers = 0;
    apr_atomic_set64(&mine->decoded_kept, 0);
    for (j = 0; j < n && j < SC_VIEW_SERVERS; j++) {
        sc_view_server_t *e = &mine->s[j];

        apr_cpystrn(e->name, names[j], sizeof(e->name));
        e->down_since = 0;
        e->retry_at = 0;
    }
    mine->nservers = (apr_uint32_t)j;
    apr_pool_cleanup_register(pchild, mine, give_slot_back,
                              apr_pool_cleanup_null);
}

void sc_status_server_state(const char *server, apr_uint64_t down_since,
                            apr_uint64_t retry_at)
{
    sc_view_child_t *v = mine;
    apr_uint32_t i;

    for (i = 0; v && i < v->nservers; i++) {
        if (!strncmp(v->s[i].name, server, sizeof(v->s[i].name))) {
            apr_atomic_set64(&v->s[i].retry_at, retry_at);
            apr_atomic_set64(&v->s[i].down_since, down_since);
            return;
        }
    }
}

void sc_status_decoded_kept(apr_size_t bytes)
{
    sc_view_child_t *v = mine;

    if (v) {
        apr_atomic_set64(&v->decoded_kept, bytes);
    }
}

apr_uint64_t sc_status_decoded_kept_sum(int *children)
{
    apr_uint64_t sum = 0;
    int i;

    *children = 0;
    for (i = 0; counters && i < SC_VIEW_CHILDREN; i++) {
        sc_view_child_t *v = &counters->child[i];
        apr_uint32_t pid = apr_atomic_read32(&v->pid);

        if (pid && !gone(pid)) {
            ++*children;
            sum += apr_atomic_read64(&v->decoded_kept);
        }
    }
    return sum;
}

/* How many live children have the server marked down, since when (the
 * earliest) and until when (the latest retry); *children: live slots. */
int sc_status_children_down(const char *server, int *children,
                            apr_uint64_t *since, apr_uint64_t *retry)
{
    int i, down = 0;
    apr_uint32_t j;

    *children = 0;
    *since = *retry = 0;
    for (i = 0; counters && i < SC_VIEW_CHILDREN; i++) {
        sc_view_child_t *v = &counters->child[i];
        apr_uint32_t pid = apr_atomic_read32(&v->pid);

        if (!pid || gone(pid)) {
            continue;
        }
        ++*children;
        for (j = 0; j < v->nservers && j < SC_VIEW_SERVERS; j++) {
            apr_uint64_t d = apr_atomic_read64(&v->s[j].down_since);

            if (d && !strncmp(v->s[j].name, server, sizeof(v->s[j].name))) {
                apr_uint64_t t = apr_atomic_read64(&v->s[j].retry_at);

                down++;
                *since = !*since || d < *since ? d : *since;
                *retry = t > *retry ? t : *retry;
            }
        }
    }
    return down;
}

void sc_stat_no_handle(void)
{
    sc_stat_add(SC_STAT_NO_HANDLE, 1);
}

void sc_stat_mc_call(void)
{
    sc_stat_add(SC_STAT_MC_CALLS, 1);
}

/* When the counters started (us; 0 without the segment). */
apr_time_t sc_stat_started(void)
{
    return counters ? counters->started : 0;
}

apr_uint64_t sc_stat_get(int i)
{
    return counters ? apr_atomic_read64(&counters->n[i]) : 0;
}
