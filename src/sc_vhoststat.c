/*
 * sc_vhoststat.c: per-virtual-host status counters (see sc_vhoststat.h).
 */
#include "sc_vhoststat.h"
#include "sc_config.h"

#include "ap_listen.h"
#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <sys/mman.h>

/* A host name (253) and ":65535" */
#define SC_VHOST_LABEL 260
#define SC_VHOST_STATS 32 /* room for sc_stat_t's counters */
#define SC_VHOST_MIN_SLOTS 16

typedef struct {
    char label[SC_VHOST_LABEL];
    volatile apr_uint64_t n[SC_VHOST_STATS];
} sc_vhost_slot_t;

typedef struct {
    apr_uint32_t capacity; /* slots in the segment */
    apr_uint32_t used;     /* slots given a label; never given back */
    apr_size_t size;       /* bytes mapped */
    sc_vhost_slot_t slot[];
} sc_vhost_table_t;

#define USERDATA "sharedcache-vhost-status"

static sc_vhost_table_t *table;
static apr_array_header_t *shown; /* slot numbers (int), in config order */

/* "name:port": the port of ServerName, else of the virtual host's first
 * address, else of the first Listen (the main server). */
static const char *label_of(apr_pool_t *p, const server_rec *v)
{
    apr_port_t port = v->port;

    if (!port && v->addrs) {
        port = v->addrs->host_port;
    }
    if (!port && ap_listeners && ap_listeners->bind_addr) {
        port = ap_listeners->bind_addr->port;
    }
    return apr_psprintf(p, "%.253s:%u",
                        v->server_hostname ? v->server_hostname : "-",
                        (unsigned)(port ? port : 80));
}

static sc_vhost_table_t *table_make(apr_uint32_t capacity)
{
    apr_size_t size = sizeof(sc_vhost_table_t)
                      + (apr_size_t)capacity * sizeof(sc_vhost_slot_t);
    /* Shared anonymous memory, inherited by the children at fork. */
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    sc_vhost_table_t *t;

    if (mem == MAP_FAILED) {
        return NULL;
    }
    t = mem;
    memset(t, 0, size);
    t->capacity = capacity;
    t->size = size;
    return t;
}

/* Label -> slot number (boxed int) of what a table holds. */
static apr_hash_t *index_of(apr_pool_t *p, const sc_vhost_table_t *t)
{
    apr_hash_t *h = apr_hash_make(p);
    apr_uint32_t i;

    for (i = 0; t && i < t->used; i++) {
        int *n = apr_palloc(p, sizeof(*n));

        *n = (int)i;
        apr_hash_set(h, t->slot[i].label, APR_HASH_KEY_STRING, n);
    }
    return h;
}

/* A table with room for the labels: the one kept since an earlier
 * generation when it has enough, else a new one twice as large holding
 * the counts of the labels still configured (the old one is unmapped
 * here: the children of the old generation keep their own mapping). */
static sc_vhost_table_t *table_for(apr_pool_t *pproc, apr_pool_t *p,
                                   apr_array_header_t *labels)
{
    sc_vhost_table_t *old = NULL, *t;
    apr_hash_t *have;
    apr_uint32_t fresh = 0, want;
    int i;

    apr_pool_userdata_get((void **)&old, USERDATA, pproc);
    have = index_of(p, old);
    for (i = 0; i < labels->nelts; i++) {
        fresh += !apr_hash_get(have, APR_ARRAY_IDX(labels, i, const char *),
                               APR_HASH_KEY_STRING);
    }
    if (old && old->used + fresh <= old->capacity) {
        return old;
    }
    want = (apr_uint32_t)labels->nelts * 2;
    t = table_make(want < SC_VHOST_MIN_SLOTS ? SC_VHOST_MIN_SLOTS : want);
    if (!t) {
        return NULL;
    }
    for (i = 0; i < labels->nelts; i++) {
        const int *n = apr_hash_get(
            have, APR_ARRAY_IDX(labels, i, const char *), APR_HASH_KEY_STRING);
        if (n) {
            memcpy(&t->slot[t->used++], &old->slot[*n], sizeof(t->slot[0]));
        }
    }
    if (old) {
        munmap(old, old->size);
    }
    apr_pool_userdata_set(t, USERDATA, NULL, pproc);
    return t;
}

apr_status_t sc_vhoststat_init(apr_pool_t *pproc, apr_pool_t *pconf,
                               server_rec *s, int nstats)
{
    apr_array_header_t *labels = apr_array_make(pconf, 8, sizeof(char *));
    apr_hash_t *seen = apr_hash_make(pconf), *slots;
    apr_hash_t *slot_of = apr_hash_make(pconf); /* label -> its slot */
    server_rec *v;
    int i;

    table = NULL;
    shown = apr_array_make(pconf, 8, sizeof(int));
    for (v = s; v; v = v->next) {
        sc_server_conf_t *c = ap_get_module_config(v->module_config,
                                                   &sharedcache_module);
        const char *label = label_of(pconf, v);

        c->stat_slot = -1;
        if (!apr_hash_get(seen, label, APR_HASH_KEY_STRING)) {
            apr_hash_set(seen, label, APR_HASH_KEY_STRING, label);
            APR_ARRAY_PUSH(labels, const char *) = label;
        }
    }
    if (nstats > SC_VHOST_STATS || !(table = table_for(pproc, pconf, labels))) {
        return APR_ENOMEM;
    }
    slots = index_of(pconf, table);
    for (i = 0; i < labels->nelts; i++) {
        const char *label = APR_ARRAY_IDX(labels, i, const char *);
        const int *n = apr_hash_get(slots, label, APR_HASH_KEY_STRING);
        int slot = n ? *n : (int)table->used++;

        if (!n) {
            apr_cpystrn(table->slot[slot].label, label, SC_VHOST_LABEL);
        }
        APR_ARRAY_PUSH(shown, int) = slot;
        apr_hash_set(slot_of, label, APR_HASH_KEY_STRING,
                     apr_pmemdup(pconf, &slot, sizeof(slot)));
    }
    for (v = s; v; v = v->next) {
        sc_server_conf_t *c = ap_get_module_config(v->module_config,
                                                   &sharedcache_module);
        const int *n = apr_hash_get(slot_of, label_of(pconf, v),
                                    APR_HASH_KEY_STRING);
        c->stat_slot = *n;
    }
    return APR_SUCCESS;
}

void sc_vhoststat_add(const server_rec *s, int which, apr_uint64_t n)
{
    const sc_server_conf_t *c = ap_get_module_config(s->module_config,
                                                     &sharedcache_module);

    if (table && c && c->stat_slot >= 0
        && (apr_uint32_t)c->stat_slot < table->capacity && which >= 0
        && which < SC_VHOST_STATS) {
        apr_atomic_add64(&table->slot[c->stat_slot].n[which], n);
    }
}

int sc_vhoststat_count(void)
{
    return table && shown ? shown->nelts : 0;
}

const char *sc_vhoststat_label(int i)
{
    return table->slot[APR_ARRAY_IDX(shown, i, int)].label;
}

apr_uint64_t sc_vhoststat_get(int i, int which)
{
    return apr_atomic_read64(
        &table->slot[APR_ARRAY_IDX(shown, i, int)].n[which]);
}
