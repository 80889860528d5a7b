/*
 * sc_lookup.c: finding what memcached holds for a request, in as few round
 * trips as possible: the level-1 record with the URL's and namespace's
 * counters in one multi-get, and with them the variant (if the response
 * varies) and the tags' counters when this child's hints (sc_hint.c) say
 * which; else at most one more each; a chunked body in one more.  A record is a
 * hit only if it decodes, holds exactly this key and its counters are
 * unchanged.  (The fill lease is sc_lease.c's: a miss asks for it
 * separately; the old cluster of a migration is sc_fallback.c's.)
 */
#include "sc_request.h"
#include "sc_local.h"
#include "sc_log.h"
#include "sc_pending.h"
#include "sc_status.h"
#include "sc_store.h"

#include "http_log.h"
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(sharedcache);

/* Fetch a chunked body in one multi-get; NULL if any chunk is missing or
 * fails its check (then the whole entry is a miss). */
static apr_bucket_brigade *fetch_chunks(request_rec *r, sc_req_t *ctx,
                                        sc_conn_t *c, const sc_entry_t *e)
{
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;
    const char **keys = sc_entry_chunk_keys(r->pool, ctx->sconf->prefix, e);
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, ba);
    sc_value_t *vals;
    apr_uint32_t i;

    if (sc_store_mget(c, r->pool, keys, e->nchunks, &vals) != APR_SUCCESS) {
        sc_log_backend(r, "get of chunks", c->error);
        return NULL;
    }
    for (i = 0; i < e->nchunks; i++) {
        const char *data;
        apr_size_t want;
        apr_bucket *b;

        if (sc_entry_chunk(e, i, vals[i].data, vals[i].len, &data, &want)
            != APR_SUCCESS) {
            ap_log_rerror(
                APLOG_MARK, APLOG_INFO, 0, r,
                SC_LOGNO(0203) "chunk %u of %s missing or corrupt: miss", i,
                ctx->entry_key);
            apr_brigade_destroy(bb);
            return NULL;
        }
        /* Zero copy: the bucket owns libmemcached's buffer. */
        b = apr_bucket_heap_create(vals[i].data, vals[i].len, free, ba);
        sc_value_take(&vals[i]);
        b->start = SC_CHUNK_HEAD_LEN;
        b->length = want;
        APR_BRIGADE_INSERT_TAIL(bb, b);
    }
    return bb;
}

/* Check a fetched record: a miss unless it decodes and holds exactly
 * this key.  The digest is only an address: a hash collision or a
 * misdirected reply can never serve another page. */
static sc_lookup_t check_record(request_rec *r, const sc_value_t *val,
                                const char *mkey, const char *key,
                                apr_size_t key_len, sc_entry_t *e)
{
    switch (sc_entry_match(r->pool, val->data, val->len, key, key_len, e)) {
    case APR_SUCCESS:
        return SC_LOOKUP_FOUND;
    case APR_ENOENT:
        return SC_LOOKUP_MISS;
    case SC_EOTHERKEY:
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            SC_LOGNO(0205) "entry %s holds another key: treated as a miss",
            mkey);
        return SC_LOOKUP_MISS;
    default:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0204) "corrupt entry %s: treated as a miss",
                      mkey);
        return SC_LOOKUP_MISS;
    }
}

/* What the first multi-get asked for on a hint's word: the variant of the
 * Vary names the level-1 record had last time, and the counters of the
 * tags its entry had. */
typedef struct {
    const char *variant; /* canonical key of the hinted variant, or NULL */
    apr_size_t variant_len;
    int variant_at; /* its value's index in vals */
    sc_gen_t *tags; /* the hinted tags' counters */
    int ntags;
    int tags_at; /* the first one's index in vals */
    sc_value_t *vals;
    int extra; /* a value was not in vals: another round trip */
} hinted_t;

/* Add the hinted keys to keys[*n...] (room for them: see hint_room). */
static void hint_keys(request_rec *r, sc_req_t *ctx, const char **keys, int *n,
                      apr_array_header_t *vary, apr_array_header_t *tags,
                      hinted_t *h)
{
    const char *entry = ctx->entry_key;
    int i;

    if (vary) {
        h->variant = sc_variant_key(r, ctx, vary, &h->variant_len);
        entry = sc_key_digest(r->pool, ctx->sconf->prefix, SC_KIND_ENTRY,
                              h->variant, h->variant_len);
        h->variant_at = *n;
        keys[(*n)++] = entry;
    }
    h->tags_at = *n;
    h->ntags = tags ? tags->nelts : 0;
    h->tags = apr_palloc(r->pool,
                         (apr_size_t)(h->ntags + 1) * sizeof(sc_gen_t));
    for (i = 0; i < h->ntags; i++) {
        sc_gen_init(r->pool, ctx->sconf->prefix,
                    APR_ARRAY_IDX(tags, i, const char *), &h->tags[i]);
        keys[(*n)++] = h->tags[i].key;
    }
}

/* The counters of tags (n of them) from the first multi-get, if it
 * fetched every one of them. */
static int hinted_tags(const hinted_t *h, sc_gen_t *tags, int n)
{
    int i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < h->ntags && strcmp(h->tags[j].key, tags[i].key); j++) {
        }
        if (j == h->ntags) {
            return 0;
        }
        tags[i].have = sc_gen_parse(&h->vals[h->tags_at + j], &tags[i].gen);
    }
    return 1;
}

/* The tags an entry depends on, for the hint of its memcached key. */
static void remember_tags(request_rec *r, const char *mkey, const sc_entry_t *e)
{
    apr_array_header_t *names = apr_array_make(r->pool, 4, sizeof(char *));
    int i;

    for (i = 0; i < e->deps->nelts; i++) {
        const sc_dep_t *dep = &APR_ARRAY_IDX(e->deps, i, sc_dep_t);
        if (dep->name[0] == SC_DEP_TAG) {
            APR_ARRAY_PUSH(names, const char *) = dep->name;
        }
    }
    sc_hint_set(SC_HINT_TAGS, mkey, names);
}

/* Is every generation the entry was stored under unchanged?  The URL's
 * and the namespace's were fetched with the entry; the tags' take one
 * more multi-get.  *soft tells that only URL or tag counters moved (a
 * soft invalidation may serve it stale); a missing counter or another
 * namespace is always a miss. */
static sc_lookup_t deps_valid(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                              const sc_entry_t *e, hinted_t *h, int *soft)
{
    sc_gen_t *tags = apr_palloc(r->pool, (apr_size_t)(e->deps->nelts + 1)
                                             * sizeof(sc_gen_t));
    const sc_dep_t **want = apr_palloc(r->pool, (apr_size_t)(e->deps->nelts + 1)
                                                    * sizeof(sc_dep_t *));
    int i, j, ntags = 0, seen = 0, moved = 0;

    *soft = 0;
    for (i = 0; i < e->deps->nelts; i++) {
        const sc_dep_t *dep = &APR_ARRAY_IDX(e->deps, i, sc_dep_t);

        if (sc_pending_count() > 0) {
            sc_gen_t g;

            sc_gen_init(r->pool, ctx->sconf->prefix, dep->name, &g);
            if (sc_pending_has(g.key)) {
                return SC_LOOKUP_MISS; /* its invalidation waits */
            }
        }
        for (j = 0; j < SC_GENS; j++) {
            if (!strcmp(dep->name, ctx->gens[j].dep)) {
                sc_dep_state_t st = sc_entry_dep_state(dep, ctx->gens[j].have,
                                                       ctx->gens[j].gen);
                if (st == SC_DEP_GONE) {
                    return SC_LOOKUP_MISS;
                }
                moved |= st == SC_DEP_MOVED;
                seen |= 1 << j;
                break;
            }
        }
        if (j == SC_GENS) {
            if (dep->name[0] != SC_DEP_TAG) {
                return SC_LOOKUP_MISS;
            }
            sc_gen_init(r->pool, ctx->sconf->prefix, dep->name, &tags[ntags]);
            want[ntags++] = dep;
        }
    }
    /* Stored under another namespace (the configuration changed): that
     * namespace's flushes would not reach it.  Stored before its server
     * was fenced (sc_gen.h): it may have missed an invalidation. */
    if (seen != (1 << SC_GENS) - 1) {
        return SC_LOOKUP_MISS;
    }
    /* The tags' counters: fetched with the entry if a hint named them. */
    if (ntags > 0 && !hinted_tags(h, tags, ntags)) {
        h->extra = 1;
        if (sc_gen_fetch(c, r->pool, tags, ntags) != APR_SUCCESS) {
            sc_log_backend(r, "lookup of tags", c->error);
            return SC_LOOKUP_ERROR;
        }
    }
    for (i = 0; i < ntags; i++) {
        sc_dep_state_t st = sc_entry_dep_state(want[i], tags[i].have,
                                               tags[i].gen);
        if (st == SC_DEP_GONE) {
            return SC_LOOKUP_MISS;
        }
        moved |= st == SC_DEP_MOVED;
    }
    *soft = moved;
    return moved ? SC_LOOKUP_MISS : SC_LOOKUP_FOUND;
}

/* The body of an entry as a brigade (zero copy: buckets own libmemcached's
 * buffers), as this client gets it, and decoded for a revalidation (its
 * body is captured again); a stored coding that is not one is a miss. */
static sc_lookup_t load_body(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                             sc_value_t *val, sc_found_t *res)
{
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;
    const sc_entry_t *e = &res->entry;

    if (e->body_kind == SC_BODY_CHUNKED) {
        res->stored = fetch_chunks(r, ctx, c, e);
        if (!res->stored) {
            return c->failed ? SC_LOOKUP_ERROR : SC_LOOKUP_MISS;
        }
    }
    else {
        res->stored = apr_brigade_create(r->pool, ba);
        if (e->body_len > 0) {
            apr_size_t off = (apr_size_t)(e->body - val->data);
            apr_bucket *b = apr_bucket_heap_create(val->data, val->len, free,
                                                   ba);
            sc_value_take(val);
            b->start = off;
            b->length = (apr_size_t)e->body_len;
            APR_BRIGADE_INSERT_TAIL(res->stored, b);
        }
    }
    return sc_coding_serve(r, res, ctx->dconf->max_size) == APR_SUCCESS
               ? SC_LOOKUP_FOUND
               : SC_LOOKUP_MISS;
}

/* What a lookup's first round trip asked for and got. */
typedef struct {
    const char **keys;
    int n;                         /* keys asked */
    sc_value_t *vals;              /* their values */
    hinted_t h;                    /* what hints added to them */
    apr_array_header_t *vary_hint; /* the Vary names a hint gave */
    apr_uint64_t mark;             /* the local tier's mark before it */
    apr_time_t fetched;            /* when it was read */
} trip_t;

/* One round trip: the entry and the counters it must match, and what
 * the hints say the entry will need: its variant, its tags' counters (the
 * variant's tags when it varies), an ESI page's includes.  (The lease
 * matters on a miss only: the miss asks for it.)  local: the local tier
 * may answer for memcached. */
static sc_lookup_t first_trip(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                              sc_found_t *res, int local, trip_t *t)
{
    apr_array_header_t *tags_hint = NULL, *early = NULL;
    int i, early_at;

    memset(t, 0, sizeof(*t));
    t->n = 1 + SC_GENS;
    if (!ctx->prefetch) {
        const char *mkey = ctx->entry_key;
        t->vary_hint = sc_hint_get(r->pool, SC_HINT_VARY, ctx->entry_key);
        if (t->vary_hint) {
            apr_size_t len;
            const char *variant = sc_variant_key(r, ctx, t->vary_hint, &len);
            mkey = sc_key_digest(r->pool, ctx->sconf->prefix, SC_KIND_ENTRY,
                                 variant, len);
        }
        tags_hint = sc_hint_get(r->pool, SC_HINT_TAGS, mkey);
        /* an ESI page: its includes' keys (sc_incearly.c) */
        early = local ? NULL : sc_early_keys(r, ctx);
    }
    t->keys = apr_palloc(
        r->pool, (apr_size_t)(t->n + 1 + (tags_hint ? tags_hint->nelts : 0)
                              + (early ? early->nelts : 0))
                     * sizeof(*t->keys));
    sc_lookup_keys(ctx, t->keys);
    if (ctx->prefetch) {
        /* fetched with the page's other includes (sc_include.c) */
        t->vals = ctx->prefetch;
        ctx->prefetch = NULL;
        res->local = ctx->prefetch_local;
        t->mark = ctx->prefetch_mark;
        t->fetched = ctx->prefetch_at;
        return SC_LOOKUP_FOUND;
    }
    hint_keys(r, ctx, t->keys, &t->n, t->vary_hint, tags_hint, &t->h);
    early_at = t->n;
    for (i = 0; early && i < early->nelts; i++) {
        const char *k = APR_ARRAY_IDX(early, i, const char *);
        int j;

        for (j = 0; j < early_at && strcmp(t->keys[j], k); j++) {
        }
        if (j == early_at) {
            t->keys[t->n++] = k;
        }
    }
    if (local
        && sc_local_get(r, t->keys, t->n, (int)ctx->dconf->local_ttl,
                        &t->vals)) {
        res->local = 1;
    }
    else {
        /* What this host changes from now on is newer than the values
         * read (sc_local.h). */
        t->mark = local ? sc_local_mark(t->keys, t->n) : 0;
        t->fetched = apr_time_now();
        if (sc_store_mget(c, r->pool, t->keys, (apr_size_t)t->n, &t->vals)
            != APR_SUCCESS) {
            sc_log_backend(r, "lookup", c->error);
            return SC_LOOKUP_ERROR;
        }
        if (early) {
            sc_early_keep(r, ctx, c, t->keys, t->vals, early_at, t->n,
                          t->fetched);
        }
    }
    t->h.vals = t->vals;
    return SC_LOOKUP_FOUND;
}

/* A Vary record e: the variant's entry into e, its value *val and key
 * *mkey: fetched with the record where the hint named it, else in a
 * round trip of its own (*one_trip then 0). */
static sc_lookup_t follow_vary(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                               apr_int64_t now, trip_t *t, sc_found_t *res,
                               sc_value_t **val, const char **mkey,
                               int *one_trip)
{
    sc_entry_t *e = &res->entry;
    apr_size_t len;
    const char *key;

    if (!sc_entry_vary_live(e, now)) {
        return SC_LOOKUP_MISS;
    }
    /* The variant has its own entry and its own lease. */
    ctx->fwd = SC_FWD_VARY_MISS;
    ctx->stored_vary = sc_entry_vary_names(r->pool, e);
    ctx->stored_vary_until = e->stale_until;
    if (t->h.vals) {
        sc_hint_set(SC_HINT_VARY, ctx->entry_key, ctx->stored_vary);
    }
    key = sc_variant_key(r, ctx, ctx->stored_vary, &len);
    *mkey = sc_key_digest(r->pool, ctx->sconf->prefix, SC_KIND_ENTRY, key, len);
    res->lease_of = key;
    res->lease_of_len = len;
    if (t->h.variant && t->h.variant_len == len
        && !memcmp(t->h.variant, key, len)) {
        *val = &t->vals[t->h.variant_at]; /* fetched with the record */
    }
    else if (sc_store_mget(c, r->pool, mkey, 1, val) != APR_SUCCESS) {
        sc_log_backend(r, "lookup", c->error);
        return SC_LOOKUP_ERROR;
    }
    else {
        *one_trip = 0;
        t->h.ntags = 0; /* they were another variant's */
    }
    return check_record(r, *val, *mkey, key, len, e);
}

/* One lookup; local: the local tier may answer for memcached. */
static sc_lookup_t lookup(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                          apr_int64_t now, sc_found_t *res, int local)
{
    sc_entry_t *e = &res->entry;
    const char *mkey = ctx->entry_key;
    sc_value_t *val;
    sc_lookup_t found;
    sc_usable_t use;
    trip_t t;
    int i, soft, one_trip = 1;

    memset(res, 0, sizeof(*res));
    ctx->stored_vary = NULL;
    ctx->fwd = SC_FWD_URI_MISS;
    res->lease_of = ctx->key;
    res->lease_of_len = ctx->key_len;
    found = first_trip(r, ctx, c, res, local, &t);
    if (found != SC_LOOKUP_FOUND) {
        return found;
    }
    for (i = 0; i < SC_GENS; i++) {
        ctx->gens[i].have = sc_gen_parse(&t.vals[i + 1], &ctx->gens[i].gen);
    }
    val = &t.vals[0];
    found = check_record(r, val, ctx->entry_key, ctx->key, ctx->key_len, e);
    if (found == SC_LOOKUP_FOUND && e->type == SC_REC_VARY) {
        found = follow_vary(r, ctx, c, now, &t, res, &val, &mkey, &one_trip);
    }
    else if (found == SC_LOOKUP_FOUND && t.vary_hint) {
        sc_hint_set(SC_HINT_VARY, ctx->entry_key, NULL);
    }
    if (found != SC_LOOKUP_FOUND) {
        return found;
    }
    if (e->type == SC_REC_ENTRY && t.h.vals) {
        remember_tags(r, mkey, e);
    }
    /* The quick handler serves neither an entry stored where quick mode
     * was off nor an ESI page (its includes are subrequests). */
    if (e->type != SC_REC_ENTRY
        || (ctx->quick
            && (!sc_entry_quick_ok(e->flags) || (e->flags & SC_EF_ESI)))) {
        return SC_LOOKUP_MISS;
    }
    ctx->fwd = SC_FWD_STALE; /* if it is not served */
    found = deps_valid(r, ctx, c, e, &t.h, &soft);
    if (found == SC_LOOKUP_ERROR || (found == SC_LOOKUP_MISS && !soft)) {
        return found;
    }
    sc_entry_usable(e, now, soft, ctx->dconf->soft_invalidate, ctx->quick,
                    &use);
    if (use.fresh) {
        /* Kept for this host when one round trip read it all. */
        if (local && !res->local && one_trip && !t.h.extra
            && e->body_kind == SC_BODY_INLINE && e->local > 0
            && sc_local_fits(t.keys, t.vals, t.n)) {
            sc_local_put(r, t.keys, t.vals, t.n, t.mark, t.fetched,
                         (int)e->local);
        }
        return load_body(r, ctx, c, val, res);
    }
    /* Stale: expired, or invalidated by URL or tag with
     * SharedCacheSoftInvalidate.  must-revalidate & co. forbid serving
     * it; an expired one with a validator may still be revalidated
     * (SharedCacheKeep; not one that an invalidation moved). */
    res->grace_ok = use.grace_ok;
    res->error_ok = use.error_ok;
    res->revalidate = !soft && !ctx->quick && ctx->dconf->keep > 0
                      && e->status == 200
                      && !(e->flags & (SC_EF_ESI | SC_EF_ASSEMBLED))
                      && sc_entry_validated(e);
    if (!res->grace_ok && !res->error_ok && !res->revalidate) {
        return SC_LOOKUP_MISS;
    }
    found = load_body(r, ctx, c, val, res);
    return found == SC_LOOKUP_FOUND ? SC_LOOKUP_STALE : found;
}

sc_lookup_t sc_lookup(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                      apr_int64_t now, sc_found_t *res)
{
    /* The local tier: not for the old cluster of a migration, nor while
     * an invalidation of this process waits to reach memcached. */
    int local = sc_local_on() && c->backend == ctx->sconf->backend
                && sc_pending_count() == 0;
    sc_lookup_t found = lookup(r, ctx, c, now, res, local);

    /* What an ESI page's lookup read for its includes is theirs only
     * when the page is served as found (sc_incearly.c). */
    if (found != SC_LOOKUP_FOUND) {
        sc_early_drop(r);
    }

    /* A kept lookup answers only with a fresh entry: anything else (it
     * expired since, a miss in quick mode) is asked of memcached. */
    if (res->local && found != SC_LOOKUP_FOUND) {
        found = lookup(r, ctx, c, now, res, 0);
    }
    else if (res->local) {
        sc_stat_add_r(r, SC_STAT_LOCAL_HITS, 1);
    }
    return found;
}
