/*
 * sc_store: memcached access through libmemcached.
 *
 * No httpd headers: the module and sharedcachectl both link it.  A backend
 * is one server list with its timeouts.  Each child process opens it in
 * child_init (never before fork) as one libmemcachedutil pool of handles
 * per server, one handle per concurrent request, which live as long as the
 * process.  A caller borrows a handle for one server: the server that
 * sc_store_place() names for a URL holds all of that URL's keys
 * (sc_place.h), so a lookup talks to one server, and a server that fails
 * costs only its own URLs.  Each handle carries its sc_conn_t, made once
 * with the handle: borrowing allocates nothing that outlives the borrower
 * (THREATS 30).  A handle borrowed with a pool goes back by a cleanup on
 * it if the borrower does not give it back first.  After any error or
 * timeout the handle's connections are closed (memcached_quit) so a late
 * reply can never be read as the answer to the next request (THREATS 5).
 * A reply that answers something else (a get's value for a key not asked
 * or a second one for a key, a get's reply taken for an incr's or a
 * delete's) is such an error too.  set and add go with noreply and are
 * checked by reading the key back in the same round trip: libmemcached
 * checks a storage reply itself and aborts the process (its asserts are
 * on in Debian's build) when it is another command's.
 *
 * A server that fails (timeout, refused, reset, garbage) is marked down in
 * this process for the retry interval: borrowing a handle for it fails at
 * once, without a timeout, until then; the first call that succeeds marks
 * it up again.  Each change is reported once (the backend's event hook).
 */
#ifndef SC_STORE_H
#define SC_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>

#define SC_DEFAULT_SERVERS "127.0.0.1:11211"

/* Largest value we give memcached in one item (its default -I is 1 MiB,
 * which also has to hold the key and item header). */
#define SC_ITEM_MAX (1000 * 1000)

typedef struct {
    const char *host;  /* or a unix socket path */
    unsigned int port; /* 0 for a unix socket */
} sc_server_t;

/* One server, per child: its handles and its state as this process sees
 * it (times in microseconds, 0: up). */
typedef struct {
    const char *name; /* as sc_place hashes it */
    memcached_st *master;
    memcached_pool_st *pool;
    volatile apr_uint64_t down_since;
    volatile apr_uint64_t retry_at;
} sc_node_t;

typedef struct {
    const char *spec;            /* as configured, for logs and comparison */
    const char *prefix;          /* SharedCachePrefix of its users */
    apr_uint64_t cluster;        /* servers and prefix (sc_pending_cluster) */
    apr_array_header_t *servers; /* of sc_server_t */
    const char **names;          /* [servers->nelts]: "host:port" or path */
    int timeout_ms;
    int retry_s;
    /* per child */
    sc_node_t *nodes;        /* [servers->nelts], NULL until opened */
    void (*exhausted)(void); /* called when no handle is free, or NULL */
    void (*counted)(void);   /* called per memcached round trip, or NULL */
    /* called after each set, incr or delete of a key (whether it took
     * or not), or NULL */
    void (*changed)(const char *key);
    /* called once when a server is marked down (up 0, with the error) and
     * once when it answers again (up 1), or NULL */
    void (*event)(const char *server, int up, const char *error);
    /* called at every mark down (with when, and when it is tried again)
     * and when it answers again (0, 0): the children's view, or NULL */
    void (*state)(const char *server, apr_uint64_t down_since,
                  apr_uint64_t retry_at);
    /* fences (sc_gen.h), per child: when the marks were last read (us),
     * and the servers that owe a fence they could not be given yet */
    volatile apr_uint64_t fence_checked;
    unsigned char *fence_pending; /* [servers->nelts] */
} sc_backend_t;

#define SC_CONN_MAGIC 0x5343636eU /* "SCcn" */

/* A borrowed handle.  Lives with its memcached_st (libmemcached's user
 * data) and is reused by every borrower of that handle: nothing in it is
 * valid once it is given back. */
typedef struct {
    unsigned int magic; /* SC_CONN_MAGIC */
    sc_backend_t *backend;
    int server; /* index in backend->servers */
    memcached_st *mc;
    int failed;
    const char *error; /* last error, for the log (errbuf) */
    char errbuf[256];
} sc_conn_t;

typedef struct {
    const char *key;
    char *data; /* malloc'd; NULL when missing */
    apr_size_t len;
    apr_uint32_t flags;
} sc_value_t;

/* Parse "host:port host2 /path/sock" into b->servers; NULL or an error
 * message naming the bad part. */
const char *sc_store_parse(apr_pool_t *p, const char *spec,
                           apr_array_header_t **servers);

/* The servers' names as placement hashes them ("host:port" with the port
 * written out, "[v6]:port", or a socket path). */
const char **sc_store_names(apr_pool_t *p, const apr_array_header_t *servers);

/* The number of servers, and the one that holds group's keys (the
 * memcached key of a URL's counter, see sc_place.h). */
int sc_store_count(const sc_backend_t *b);
int sc_store_place(const sc_backend_t *b, const char *group);

/* Open the per-process handle pool (call in the child). */
apr_status_t sc_store_open(sc_backend_t *b, apr_pool_t *pchild,
                           unsigned int max_handles, const char **err);

/* Borrow a handle for a server until p is cleared; NULL when its pool is
 * exhausted or closed, or the server is marked down (the caller then
 * serves uncached, never blocks).  p only holds the cleanup that gives it
 * back (reused once the handle is returned). */
sc_conn_t *sc_store_borrow(sc_backend_t *b, int server, apr_pool_t *p);

/* Give a borrowed handle back now rather than when p is cleared (p: the
 * pool it was borrowed with). */
void sc_store_return(sc_conn_t *c, apr_pool_t *p);

/* Borrow a handle with no pool at all (usable in a pool's cleanup, while
 * that pool is being destroyed); the caller must give it back with
 * sc_store_release.  NULL as for sc_store_borrow. */
sc_conn_t *sc_store_acquire(sc_backend_t *b, int server);

/* Is a server marked down in this process?  (*since, *retry: when it was
 * marked, when it is tried again, in microseconds; may be NULL.) */
int sc_store_down(const sc_backend_t *b, int server, apr_uint64_t *since,
                  apr_uint64_t *retry);

/* Give back a handle from sc_store_acquire. */
void sc_store_release(sc_conn_t *c);

/* Is this thread inside a libmemcached or handle pool call, that is, is
 * the caller a cleanup run by a signal handler that interrupted it?  Then
 * every sc_store call fails at once and touches nothing. */
int sc_store_interrupted(void);

/* Fetch n keys in one round trip.  values[i] corresponds to keys[i];
 * data of each found value is freed by a cleanup on p unless taken with
 * sc_value_take().  APR_SUCCESS even when some keys are missing. */
apr_status_t sc_store_mget(sc_conn_t *c, apr_pool_t *p, const char *const *keys,
                           apr_size_t n, sc_value_t **values);

/* Own a fetched value's buffer from now on (free() it). */
char *sc_value_take(sc_value_t *v);
/* Move a fetched value to *to (its buffer then freed by a cleanup on p
 * unless taken from there), leaving from without one. */
void sc_value_move(apr_pool_t *p, sc_value_t *from, sc_value_t *to);

/* Store: APR_SUCCESS when the key holds a value afterwards (this one, or
 * that of a writer of the same key in between). */
apr_status_t sc_store_set(sc_conn_t *c, const char *key, const char *data,
                          apr_size_t len, apr_int64_t exptime);

/* One server's state, for the status page and sharedcachectl. */
typedef struct {
    const char *name;        /* host:port or socket path */
    int up;                  /* answered the stats command */
    apr_uint64_t down_since; /* marked down in this process (us), or 0 */
    apr_uint64_t retry_at;   /* and tried again then */
    apr_uint64_t curr_items, bytes, limit_maxbytes, evictions;
    apr_uint64_t get_hits, get_misses, curr_connections, uptime;
} sc_server_stats_t;

/* Ask every server for its statistics (memcached "stats"); a server that
 * does not answer is reported down. */
apr_status_t sc_store_stats(sc_backend_t *b, apr_pool_t *p,
                            apr_array_header_t **out);

/* Results besides APR_SUCCESS that are not failures of memcached. */
#define SC_ENOTFOUND (APR_OS_START_USERERR + 1702) /* incr/delete: no key */
#define SC_EEXISTS (APR_OS_START_USERERR + 1703)   /* add: key exists */
/* set/add: the key held nothing right after: deleted at once by another
 * request (a PURGE, a lease let go), or refused (too large, no memory) */
#define SC_ENOTSTORED (APR_OS_START_USERERR + 1704)

/* Store only if absent: SC_EEXISTS when the key holds another value,
 * SC_ENOTSTORED when it holds none.
 * Told by reading the key back (see above): a value equal to this one
 * counts as stored, so give a value unique to the caller where it matters
 * whose add took the key (a lease's token, a counter's random start). */
apr_status_t sc_store_add(sc_conn_t *c, const char *key, const char *data,
                          apr_size_t len, apr_int64_t exptime);

/* Increment a decimal counter: SC_ENOTFOUND when it does not exist. */
apr_status_t sc_store_incr(sc_conn_t *c, const char *key, apr_uint64_t *value);

/* Delete a key: SC_ENOTFOUND when it did not exist. */
apr_status_t sc_store_delete(sc_conn_t *c, const char *key);

#endif
