/*
 * sc_pending.c: the shared table of invalidations to try again (see
 * sc_pending.h).
 */
#include "sc_pending.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <string.h>
#include <sys/mman.h>

#define KEY_MAX 160 /* a counter key: prefix + 45 */

enum { FREE, WRITING, WAITING, TRYING };

typedef struct {
    volatile apr_uint32_t state;
    apr_uint64_t cluster; /* sc_pending_cluster */
    apr_time_t since;     /* when it first failed */
    char url, hard;
    char key[KEY_MAX];
} slot_t;

typedef struct {
    volatile apr_uint32_t count;
    volatile apr_uint32_t overflow; /* an invalidation found no slot */
    slot_t slots[SC_PENDING_SLOTS];
} table_t;

static table_t *table;

/* Fill leases that could not be let go of (sc_pending_lease_add). */
#define TOKEN_MAX 40

#define SERVER_MAX 128

typedef struct {
    volatile apr_uint32_t state;
    char server[SERVER_MAX]; /* its name: "host:port" or a socket's path */
    apr_time_t until;        /* when it expires by itself */
    char key[KEY_MAX];
    char token[TOKEN_MAX];
} lease_slot_t;

typedef struct {
    volatile apr_uint32_t count;
    lease_slot_t slots[SC_PENDING_LEASE_SLOTS];
} lease_table_t;

static lease_table_t *leases;

/* A table of size bytes shared by every child, made once per name and
 * kept across restarts: httpd unloads and reloads the module at a
 * restart, and the table's address is kept with the process pool, which
 * lives on (and so does what waits in it).  Shared anonymous memory that
 * nothing unmaps: a child that exits tears its pools down while threads
 * may still look at the table.  NULL when there is no memory. */
static void *shared_table(apr_pool_t *pproc, const char *name, apr_size_t size)
{
    void *mem = NULL;

    apr_pool_userdata_get(&mem, name, pproc);
    if (mem) {
        return mem;
    }
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
               -1, 0);
    if (mem == MAP_FAILED) {
        return NULL;
    }
    memset(mem, 0, size);
    apr_pool_userdata_set(mem, name, NULL, pproc);
    return mem;
}

apr_status_t sc_pending_init(apr_pool_t *pproc)
{
    table = shared_table(pproc, "sharedcache-pending", sizeof(table_t));
    leases = shared_table(pproc, "sharedcache-leases", sizeof(lease_table_t));
    return table && leases ? APR_SUCCESS : APR_ENOMEM;
}

int sc_pending_count(void)
{
    return table ? (int)(apr_atomic_read32(&table->count)
                         + apr_atomic_read32(&table->overflow))
                 : 0;
}

int sc_pending_overflowed(void)
{
    return table && apr_atomic_read32(&table->overflow);
}

void sc_pending_overflow_done(void)
{
    if (table) {
        apr_atomic_set32(&table->overflow, 0);
    }
}

int sc_pending_has(const char *key)
{
    int i;

    if (sc_pending_overflowed()) {
        return 1; /* one was lost: nothing is trusted until the fence */
    }
    for (i = 0; table && i < SC_PENDING_SLOTS; i++) {
        slot_t *s = &table->slots[i];
        apr_uint32_t st = apr_atomic_read32(&s->state);

        if ((st == WAITING || st == TRYING) && !strcmp(s->key, key)) {
            return 1;
        }
    }
    return 0;
}

/* FNV-1a, 64 bits: stable across processes and restarts. */
static apr_uint64_t fnv(apr_uint64_t h, const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= APR_UINT64_C(0x100000001b3);
    }
    return h;
}

apr_uint64_t sc_pending_cluster(const char *const *names, int n,
                                const char *prefix)
{
    apr_uint64_t h = APR_UINT64_C(0xcbf29ce484222325);
    int i;

    for (i = 0; i < n; i++) {
        h = fnv(h, names[i], strlen(names[i]) + 1); /* with its NUL */
    }
    return fnv(h, prefix, strlen(prefix) + 1);
}

int sc_pending_add(apr_uint64_t cluster, const char *key, int url, int hard)
{
    int i;

    if (!table || strlen(key) >= KEY_MAX) {
        return 0;
    }
    if (sc_pending_has(key)) {
        return 1; /* already waiting (hard or not: both miss) */
    }
    for (i = 0; i < SC_PENDING_SLOTS; i++) {
        slot_t *s = &table->slots[i];

        if (apr_atomic_cas32(&s->state, WRITING, FREE) == FREE) {
            s->cluster = cluster;
            apr_cpystrn(s->key, key, KEY_MAX);
            s->url = (char)url;
            s->hard = (char)hard;
            s->since = apr_time_now();
            apr_atomic_inc32(&table->count);
            apr_atomic_set32(&s->state, WAITING);
            return 1;
        }
    }
    apr_atomic_set32(&table->overflow, 1);
    return 0;
}

int sc_pending_retry(apr_uint64_t cluster,
                     int (*try)(void *data, const char *key, int url, int hard),
                     void *data)
{
    int i, given_up = 0;

    for (i = 0; table && i < SC_PENDING_SLOTS; i++) {
        slot_t *s = &table->slots[i];

        if (apr_atomic_cas32(&s->state, TRYING, WAITING) != WAITING) {
            continue; /* free, or another child tries it */
        }
        if (s->cluster != cluster) {
            apr_atomic_set32(&s->state, WAITING); /* another cluster's */
            continue;
        }
        if (try(data, s->key, s->url, s->hard) != 0
            && apr_time_now() - s->since
                   < apr_time_from_sec(SC_PENDING_SECONDS)) {
            apr_atomic_set32(&s->state, WAITING);
            continue;
        }
        given_up += apr_time_now() - s->since
                    >= apr_time_from_sec(SC_PENDING_SECONDS);
        apr_atomic_dec32(&table->count);
        apr_atomic_set32(&s->state, FREE);
    }
    return given_up;
}

int sc_pending_lease_add(const char *server, const char *key, const char *token,
                         apr_time_t until)
{
    int i;

    if (!leases || strlen(server) >= SERVER_MAX || strlen(key) >= KEY_MAX
        || strlen(token) >= TOKEN_MAX) {
        return 0;
    }
    for (i = 0; i < SC_PENDING_LEASE_SLOTS; i++) {
        lease_slot_t *s = &leases->slots[i];

        if (apr_atomic_cas32(&s->state, WRITING, FREE) == FREE) {
            apr_cpystrn(s->server, server, SERVER_MAX);
            s->until = until;
            apr_cpystrn(s->key, key, KEY_MAX);
            apr_cpystrn(s->token, token, TOKEN_MAX);
            apr_atomic_inc32(&leases->count);
            apr_atomic_set32(&s->state, WAITING);
            return 1;
        }
    }
    return 0;
}

int sc_pending_lease_count(void)
{
    return leases ? (int)apr_atomic_read32(&leases->count) : 0;
}

void sc_pending_lease_retry(int (*try)(void *data, const char *server,
                                       const char *key, const char *token),
                            void *data)
{
    int i;

    for (i = 0; leases && i < SC_PENDING_LEASE_SLOTS; i++) {
        lease_slot_t *s = &leases->slots[i];

        if (apr_atomic_cas32(&s->state, TRYING, WAITING) != WAITING) {
            continue; /* free, or another child tries it */
        }
        /* An expired lease is gone: nobody waits for it any more. */
        if (apr_time_now() < s->until
            && try(data, s->server, s->key, s->token) != 0) {
            apr_atomic_set32(&s->state, WAITING);
            continue;
        }
        apr_atomic_dec32(&leases->count);
        apr_atomic_set32(&s->state, FREE);
    }
}
