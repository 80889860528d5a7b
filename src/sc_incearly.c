/*
 * sc_incearly.c: an ESI page and its includes in one round trip.  When a
 * page's includes have been prefetched (sc_include.c), the keys of those
 * that live on the page's own server are remembered as a hint of the
 * page's level-1 key (sc_hint.c).  The page's next lookup asks for them
 * in its own multi-get (sc_lookup.c), and the includes' prefetch takes
 * what that read instead of asking again.  Each include is then checked
 * exactly as a prefetched one is (its record and its counters, read at
 * the same moment as the page's): a hint that no longer holds (other
 * includes, another visitor's variance) costs the second round trip it
 * was to save, never a wrong fragment.  Only a page served as its lookup
 * found it uses them: a page rendered after its lookup (a miss, a stale
 * copy refreshed) may have changed its fragments meanwhile (a page whose
 * application purges a fragment it then includes), so its includes are
 * read after the render, as before.  Not with the local tier (a kept
 * lookup is checked against the keys it was read for) nor in the quick
 * handler (which serves no ESI page).
 */
#include "sc_local.h"
#include "sc_request.h"
#include "sc_store.h"

#include <apr_hash.h>
#include <apr_strings.h>

/* r->pool's userdata: what the page's lookup read for its includes */
#define EARLY "sharedcache-early"

/* keys hinted for one page at most (its multi-get grows by as many) */
#define SC_EARLY_MAX 128

typedef struct {
    apr_hash_t *vals; /* key -> sc_value_t * read with the page, or NULL */
    apr_time_t at;    /* when they were asked for */
    int server;       /* on this server of this cluster */
    const sc_backend_t *backend;
    apr_array_header_t *incs; /* the includes that asked (sc_early_note) */
    int missed; /* an include's keys were not all read with the page */
} early_t;

static early_t *early(request_rec *r, int make)
{
    early_t *e = NULL;

    apr_pool_userdata_get((void **)&e, EARLY, r->pool);
    if (!e && make) {
        e = apr_pcalloc(r->pool, sizeof(*e));
        apr_pool_userdata_setn(e, EARLY, NULL, r->pool);
    }
    return e;
}

apr_array_header_t *sc_early_keys(request_rec *r, const sc_req_t *page)
{
    if (page->quick || page->prefetch || sc_local_on() || !page->entry_key) {
        return NULL;
    }
    return sc_hint_get(r->pool, SC_HINT_INCLUDES, page->entry_key);
}

void sc_early_keep(request_rec *r, const sc_req_t *page, const sc_conn_t *c,
                   const char **keys, sc_value_t *vals, int from, int n,
                   apr_time_t at)
{
    early_t *e;
    int i;

    /* only what the page's own cluster holds (not a migration's old one) */
    if (c->backend != page->sconf->backend || from >= n) {
        return;
    }
    e = early(r, 1);
    e->vals = sc_key_hash_make(r->pool);
    e->at = at;
    e->server = page->server;
    e->backend = c->backend;
    /* the page's counters, which its includes often share, read only */
    for (i = 1; i < 1 + SC_GENS; i++) {
        apr_hash_set(e->vals, keys[i], APR_HASH_KEY_STRING, &vals[i]);
    }
    for (i = from; i < n; i++) {
        apr_hash_set(e->vals, keys[i], APR_HASH_KEY_STRING, &vals[i]);
    }
}

void sc_early_drop(request_rec *r)
{
    early_t *e = early(r, 0);

    if (e) {
        e->vals = NULL; /* (their buffers go with the pool) */
    }
}

int sc_early_take(request_rec *r, sc_req_t *inc)
{
    early_t *e = early(r, 0);
    const char *mine[1 + SC_GENS];
    sc_value_t *v[1 + SC_GENS], *own;
    int k;

    if (!e || !e->vals || inc->prefetch || inc->server != e->server
        || inc->sconf->backend != e->backend) {
        return 0;
    }
    sc_lookup_keys(inc, mine);
    for (k = 0; k < 1 + SC_GENS; k++) {
        v[k] = apr_hash_get(e->vals, mine[k], APR_HASH_KEY_STRING);
        if (!v[k]) {
            e->missed = 1;
            return 0;
        }
    }
    own = apr_pcalloc(r->pool, (1 + SC_GENS) * sizeof(*own));
    /* a record is read by one lookup: this one takes it */
    sc_value_move(r->pool, v[0], &own[0]);
    apr_hash_set(e->vals, mine[0], APR_HASH_KEY_STRING, NULL);
    for (k = 1; k < 1 + SC_GENS; k++) {
        own[k] = *v[k]; /* read only */
    }
    inc->prefetch = own;
    inc->prefetch_at = e->at;
    inc->prefetch_local = 0;
    inc->prefetch_mark = 0;
    return 1;
}

void sc_early_note(request_rec *r, const sc_req_t *inc)
{
    const sc_req_t *page = sc_req_get(r);
    early_t *e;

    if (!page || !page->entry_key || page->quick || sc_local_on()
        || inc->server != page->server
        || inc->sconf->backend != page->sconf->backend) {
        return;
    }
    e = early(r, 1);
    if (!e->incs) {
        e->incs = apr_array_make(r->pool, 16, sizeof(const sc_req_t *));
    }
    APR_ARRAY_PUSH(e->incs, const sc_req_t *) = inc;
}

void sc_early_hint(request_rec *r)
{
    const sc_req_t *page = sc_req_get(r);
    early_t *e = early(r, 0);
    const char *own[1 + SC_GENS], *mine[1 + SC_GENS];
    apr_array_header_t *asked = NULL;
    apr_hash_t *index;
    int i, j, k;

    if (!page || !page->entry_key || page->quick || sc_local_on()) {
        return;
    }
    /* Every include found all its keys in what the page's lookup read:
     * the hint holds (the one it read them by; a key no include asks for
     * any more stays in it until an include misses one). */
    if (e && e->vals && !e->missed) {
        return;
    }
    if (e && e->incs) {
        asked = apr_array_make(r->pool, 16, sizeof(const char *));
        index = sc_key_hash_make(r->pool);
        sc_lookup_keys(page, own);
        for (i = 0; i < e->incs->nelts; i++) {
            sc_lookup_keys(APR_ARRAY_IDX(e->incs, i, const sc_req_t *), mine);
            for (k = 0; k < 1 + SC_GENS && asked->nelts < SC_EARLY_MAX; k++) {
                /* the page asks for its own keys anyway */
                for (j = 0; j < 1 + SC_GENS && strcmp(own[j], mine[k]); j++) {
                }
                if (j == 1 + SC_GENS
                    && !apr_hash_get(index, mine[k], APR_HASH_KEY_STRING)) {
                    /* (an include's keys live in its own request's pool) */
                    const char *key = apr_pstrdup(r->pool, mine[k]);
                    apr_hash_set(index, key, APR_HASH_KEY_STRING, "");
                    APR_ARRAY_PUSH(asked, const char *) = key;
                }
            }
        }
    }
    sc_hint_set(SC_HINT_INCLUDES, page->entry_key, asked);
}
