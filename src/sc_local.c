/*
 * sc_local.c: the local tier (see sc_local.h): lookups kept in one
 * shared-memory ring (sc_ring.h: writers under the global mutex, readers
 * without a lock), and the host's change counters that make an
 * invalidation of this host apply to them at once.
 *
 * httpd's shmcb socache was the first store: every read took the global
 * mutex, and the hits of one hot page queued on it (bench/run, quick
 * mode: 22,677 req/s with the mutex, 34,057 without).  The ring reads
 * without one.
 *
 * A kept lookup ("SCL1" record) is:
 *   magic "SCL1" fetched(8) until(8) mark(8) n(4)
 *   n times: have(1) flags(4) len(4) data
 * (numbers little-endian).  Its id is the keys, each followed by a
 * newline.
 */
#include "sc_local.h"
#include "sc_config.h"
#include "sc_log.h"
#include "sc_status.h"

#include "sc_ring.h"

#include "http_log.h"
#include "http_protocol.h"
#include "util_mutex.h"
#include <apr_atomic.h>
#include <apr_global_mutex.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

APLOG_USE_MODULE(sharedcache);

#define SC_LOCAL_SLOTS 4096
#define SC_LOCAL_HEAD 32 /* magic, fetched, until, mark, n */

static sc_ring_t *ring;           /* NULL: no local tier */
static apr_global_mutex_t *mutex; /* writers of the ring */
/* [SC_LOCAL_SLOTS] change counters, shared by the host's processes */
static volatile apr_uint32_t *slots;
/* each thread's buffer for one kept lookup (SC_LOCAL_ITEM_MAX), freed
 * when the thread exits (mod_http2's workers come and go) */
static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;
static int buffer_keyed;

static void buffer_key_make(void)
{
    buffer_keyed = pthread_key_create(&buffer_key, free) == 0;
}

static unsigned char *thread_buffer(void)
{
    unsigned char *b;

    pthread_once(&buffer_once, buffer_key_make);
    if (!buffer_keyed) {
        return NULL;
    }
    b = pthread_getspecific(buffer_key);
    if (!b && (b = malloc(SC_LOCAL_ITEM_MAX)) != NULL
        && pthread_setspecific(buffer_key, b) != 0) {
        free(b);
        b = NULL;
    }
    return b;
}

void sc_local_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, SC_LOCAL_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
}

/* The change counters live as long as the parent: a graceful restart's
 * new children see the invalidations of the old ones.  Nothing unmaps
 * them (a child's threads may still read them while it exits). */
static apr_status_t slots_init(apr_pool_t *pproc)
{
    static const char key[] = "sharedcache-local-slots";
    void *mem = NULL;

    apr_pool_userdata_get(&mem, key, pproc);
    if (!mem) {
        mem = mmap(NULL, SC_LOCAL_SLOTS * sizeof(apr_uint32_t),
                   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
            return APR_ENOMEM;
        }
        memset(mem, 0, SC_LOCAL_SLOTS * sizeof(apr_uint32_t));
        apr_pool_userdata_set(mem, key, NULL, pproc);
    }
    slots = mem;
    return APR_SUCCESS;
}

apr_status_t sc_local_post_config(apr_pool_t *pconf, apr_pool_t *pproc,
                                  server_rec *s, apr_off_t size)
{
    apr_shm_t *shm;
    apr_status_t rv;

    ring = NULL;
    mutex = NULL;
    /* The change counters whatever the size: a graceful restart may turn
     * the tier on while children without it still write (sc_local.h). */
    rv = slots_init(pproc);
    if (rv != APR_SUCCESS && size > 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     SC_LOGNO(0112) "SharedCacheLocal: no shared memory for "
                                    "the change counters");
        return rv;
    }
    if (size <= 0) {
        return APR_SUCCESS;
    }
    rv = ap_global_mutex_create(&mutex, NULL, SC_LOCAL_MUTEX, NULL, s, pconf,
                                0);
    if (rv != APR_SUCCESS) {
        return rv; /* httpd said why */
    }
    /* Anonymous: the children inherit it; the parent's is destroyed with
     * pconf at a restart (running children keep theirs mapped). */
    rv = apr_shm_create(&shm, (apr_size_t)size, NULL, pconf);
    if (rv != APR_SUCCESS
        || !(ring = sc_ring_init(apr_shm_baseaddr_get(shm),
                                 apr_shm_size_get(shm)))) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     SC_LOGNO(0113) "SharedCacheLocal: cannot make a shared "
                                    "memory segment of %" APR_OFF_T_FMT
                                    " bytes",
                     size);
        return rv != APR_SUCCESS ? rv : APR_EGENERAL;
    }
    return APR_SUCCESS;
}

void sc_local_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (!ring) {
        return;
    }
    rv = apr_global_mutex_child_init(&mutex, apr_global_mutex_lockfile(mutex),
                                     pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     SC_LOGNO(0114) "SharedCacheLocal: cannot attach its "
                                    "mutex: no local tier in this child");
        ring = NULL;
    }
}

int sc_local_on(void)
{
    return ring != NULL;
}

static volatile apr_uint32_t *slot_of(const char *key)
{
    return &slots[sc_ring_hash(key, strlen(key)) % SC_LOCAL_SLOTS];
}

void sc_local_changed(const char *key)
{
    if (slots) {
        apr_atomic_inc32(slot_of(key));
    }
}

apr_uint64_t sc_local_mark(const char *const *keys, int n)
{
    apr_uint64_t sum = 0;
    int i;

    for (i = 0; slots && i < n; i++) {
        sum += apr_atomic_read32(slot_of(keys[i]));
    }
    return sum;
}

/* The id of a lookup of these keys. */
static unsigned char *local_id(apr_pool_t *p, const char *const *keys, int n,
                               apr_size_t *len)
{
    apr_size_t total = 0, at = 0;
    unsigned char *id;
    int i;

    for (i = 0; i < n; i++) {
        total += strlen(keys[i]) + 1;
    }
    id = apr_palloc(p, total);
    for (i = 0; i < n; i++) {
        apr_size_t l = strlen(keys[i]);
        memcpy(id + at, keys[i], l);
        at += l;
        id[at++] = '\n';
    }
    *len = total;
    return id;
}

static void put_u(unsigned char **at, apr_uint64_t v, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        *(*at)++ = (unsigned char)(v >> (8 * i));
    }
}

static int get_u(const unsigned char **at, const unsigned char *end, int n,
                 apr_uint64_t *v)
{
    int i;

    *v = 0;
    if (end - *at < n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        *v |= (apr_uint64_t) * (*at)++ << (8 * i);
    }
    return 1;
}

int sc_local_get(request_rec *r, const char *const *keys, int n, int max_age,
                 sc_value_t **vals)
{
    const unsigned char *at, *end;
    apr_uint64_t fetched, until, mark, count;
    apr_size_t idlen, len;
    unsigned char *id;
    const char *rec;
    unsigned char *buffer;
    sc_value_t *out;
    apr_time_t now = apr_time_now();
    int i;

    if (!ring || max_age <= 0 || !(buffer = thread_buffer())) {
        return 0;
    }
    id = local_id(r->pool, keys, n, &idlen);
    if (sc_ring_get(ring, id, idlen, now, buffer, SC_LOCAL_ITEM_MAX, &rec, &len)
        != APR_SUCCESS) {
        return 0;
    }
    at = (const unsigned char *)rec;
    end = at + len;
    if (len < SC_LOCAL_HEAD || memcmp(at, "SCL1", 4) != 0) {
        return 0;
    }
    at += 4;
    get_u(&at, end, 8, &fetched);
    get_u(&at, end, 8, &until);
    get_u(&at, end, 8, &mark);
    get_u(&at, end, 4, &count);
    /* Still young (for the entry and for the reader's location), and no
     * key of it written on this host since. */
    if ((apr_uint64_t)now >= until
        || (apr_uint64_t)now >= fetched + apr_time_from_sec(max_age)
        || count != (apr_uint64_t)n || mark != sc_local_mark(keys, n)) {
        return 0;
    }
    out = apr_pcalloc(r->pool, (apr_size_t)n * sizeof(*out));
    for (i = 0; i < n; i++) {
        apr_uint64_t have, flags, vlen;
        sc_value_t v = { keys[i], NULL, 0, 0 };

        if (!get_u(&at, end, 1, &have) || !get_u(&at, end, 4, &flags)
            || !get_u(&at, end, 4, &vlen) || (apr_uint64_t)(end - at) < vlen) {
            return 0; /* the values already copied go with the pool */
        }
        out[i].key = keys[i];
        if (have) {
            v.data = malloc((apr_size_t)vlen + 1);
            if (!v.data) {
                return 0;
            }
            memcpy(v.data, at, (apr_size_t)vlen);
            v.data[vlen] = '\0';
            v.len = (apr_size_t)vlen;
            v.flags = (apr_uint32_t)flags;
            sc_value_move(r->pool, &v, &out[i]);
        }
        at += vlen;
    }
    *vals = out;
    return 1;
}

/* The bytes of a kept lookup: its record and its id. */
static apr_size_t local_size(const char *const *keys, const sc_value_t *vals,
                             int n, apr_size_t *record)
{
    apr_size_t total = SC_LOCAL_HEAD, id = 0;
    int i;

    for (i = 0; i < n; i++) {
        total += 9 + (vals[i].data ? vals[i].len : 0);
        id += strlen(keys[i]) + 1;
    }
    *record = total;
    return total + id;
}

int sc_local_fits(const char *const *keys, const sc_value_t *vals, int n)
{
    apr_size_t record, all = local_size(keys, vals, n, &record);

    return ring && all <= SC_LOCAL_ITEM_MAX && all <= sc_ring_max_record(ring);
}

void sc_local_put(request_rec *r, const char *const *keys,
                  const sc_value_t *vals, int n, apr_uint64_t mark,
                  apr_time_t fetched, int seconds)
{
    apr_size_t total = SC_LOCAL_HEAD;
    apr_time_t until = fetched + apr_time_from_sec(seconds);
    unsigned char *rec, *at, *id;
    apr_size_t idlen;
    apr_status_t rv;
    int i;

    if (!ring || seconds <= 0 || until <= apr_time_now()
        || !sc_local_fits(keys, vals, n)) {
        return;
    }
    local_size(keys, vals, n, &total);
    id = local_id(r->pool, keys, n, &idlen);
    at = rec = apr_palloc(r->pool, total);
    memcpy(at, "SCL1", 4);
    at += 4;
    put_u(&at, (apr_uint64_t)fetched, 8);
    put_u(&at, (apr_uint64_t)until, 8);
    put_u(&at, mark, 8);
    put_u(&at, (apr_uint64_t)n, 4);
    for (i = 0; i < n; i++) {
        apr_size_t l = vals[i].data ? vals[i].len : 0;

        put_u(&at, vals[i].data != NULL, 1);
        put_u(&at, vals[i].flags, 4);
        put_u(&at, l, 4);
        if (l) {
            memcpy(at, vals[i].data, l);
            at += l;
        }
    }
    if (apr_global_mutex_lock(mutex) != APR_SUCCESS) {
        return;
    }
    rv = sc_ring_put(ring, id, idlen, rec, total, until);
    apr_global_mutex_unlock(mutex);
    if (rv == APR_SUCCESS) {
        sc_stat_add_r(r, SC_STAT_LOCAL_STORES, 1);
    }
}

void sc_local_status(request_rec *r)
{
    sc_ring_stats_t st;

    if (!ring) {
        ap_rputs("local: off\n", r);
        return;
    }
    sc_ring_stats(ring, apr_time_now(), &st);
    ap_rprintf(
        r,
        "local: on\nsize: %" APR_UINT64_T_FMT "\nring: %" APR_UINT64_T_FMT
        "\nslots: %" APR_UINT64_T_FMT "\nentries: %" APR_UINT64_T_FMT
        "\nstores: %" APR_UINT64_T_FMT "\noverwritten: %" APR_UINT64_T_FMT "\n",
        st.size, st.ring, st.slots, st.entries, st.stores, st.overwritten);
}
