/*
 * sc_fallback.c: SharedCacheFallbackServers, the old cluster of a
 * migration: on a miss in the new cluster the URL is looked up in the old
 * one, against the old one's counters, and served only while every
 * counter it depends on holds in the new cluster the value it recorded
 * (copied by sharedcachectl migrate, invalidated by nothing since); such
 * an entry is then copied into the new cluster.
 */
#include "sc_request.h"
#include "sc_log.h"
#include "sc_store.h"

#include "http_log.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* The old cluster's server for this URL, borrowed, or NULL. */
static sc_conn_t *fallback_conn(request_rec *r, sc_req_t *ctx)
{
    sc_backend_t *fb = ctx->sconf->fallback;

    return fb ? sc_store_borrow(
               fb, sc_store_place(fb, ctx->gens[SC_GEN_URL].key), r->pool)
              : NULL;
}

/* An old entry may be served in the new cluster only while every
 * counter it depends on there holds the value it recorded: the counters
 * were copied from the old cluster (sharedcachectl migrate) and nothing
 * has invalidated them since.  A counter the new cluster lacks (never
 * copied, evicted, purged, its server restarted) makes it a miss, and so
 * does a new server that was ever fenced (its copies may have missed an
 * invalidation).  Its server's incarnation is the old server's: not
 * compared. */
static int still_valid(request_rec *r, sc_req_t *ctx, sc_conn_t *cn,
                       const sc_entry_t *e)
{
    int i, n = e->deps->nelts, m = 0;
    sc_gen_t *g = apr_pcalloc(r->pool, (apr_size_t)(n + 1) * sizeof(*g));
    apr_uint64_t *want = apr_pcalloc(r->pool,
                                     (apr_size_t)(n + 1) * sizeof(*want));

    for (i = 0; i < n; i++) {
        const sc_dep_t *dep = &APR_ARRAY_IDX(e->deps, i, sc_dep_t);
        if (!strcmp(dep->name, SC_DEP_SERVER_NAME)) {
            continue;
        }
        sc_gen_init(r->pool, ctx->sconf->prefix, dep->name, &g[m]);
        want[m++] = dep->gen;
    }
    /* the record of fences the server applied: absent if never fenced */
    sc_gen_init(r->pool, ctx->sconf->prefix, SC_DEP_APPLIED_NAME, &g[m]);
    if (sc_gen_fetch(cn, r->pool, g, m + 1) != APR_SUCCESS || g[m].have) {
        return 0;
    }
    for (i = 0; i < m; i++) {
        if (!g[i].have || g[i].gen != want[i]) {
            return 0;
        }
    }
    return 1;
}

/* What the new cluster can hold as it is: an entry of this very key with
 * its body in one record (a variant needs its Vary record, a chunked body
 * its chunks: those are rendered again instead). */
static int copyable(const sc_req_t *ctx, const sc_entry_t *e)
{
    return e->type == SC_REC_ENTRY && e->body_kind == SC_BODY_INLINE
           && e->key_len == ctx->key_len
           && !memcmp(e->key, ctx->key, e->key_len);
}

sc_lookup_t sc_lookup_fallback(request_rec *r, sc_req_t *ctx, sc_conn_t *cn,
                               apr_int64_t now, sc_found_t *res)
{
    sc_gen_t saved[SC_GENS];
    apr_array_header_t *saved_vary = ctx->stored_vary;
    apr_int64_t saved_vary_until = ctx->stored_vary_until;
    sc_conn_t *co = fallback_conn(r, ctx);
    sc_lookup_t found;

    if (!co) {
        return SC_LOOKUP_MISS;
    }
    /* Looked up as in its own cluster, against its own counters. */
    memcpy(saved, ctx->gens, sizeof(saved));
    found = sc_lookup(r, ctx, co, now, res);
    sc_store_return(co, r->pool);
    memcpy(ctx->gens, saved, sizeof(saved));
    ctx->stored_vary = saved_vary;
    ctx->stored_vary_until = saved_vary_until;
    if (found != SC_LOOKUP_FOUND || !copyable(ctx, &res->entry)
        || !still_valid(r, ctx, cn, &res->entry)) {
        return SC_LOOKUP_MISS;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  SC_LOGNO(0211) "served from SharedCacheFallbackServers");
    return SC_LOOKUP_FOUND;
}

void sc_write_copy(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                   const sc_entry_t *old, apr_bucket_brigade *body)
{
    apr_int64_t now = apr_time_sec(apr_time_now());
    sc_entry_t e = *old;
    char *head, *rec, *data;
    apr_size_t head_len, len;
    int i;

    /* A variant needs its Vary record too, and a chunked body its
     * chunks: those are rendered again in the new cluster instead. */
    if (e.type != SC_REC_ENTRY || e.key_len != ctx->key_len
        || memcmp(e.key, ctx->key, e.key_len) || e.body_kind != SC_BODY_INLINE
        || apr_brigade_pflatten(body, &data, &len, r->pool) != APR_SUCCESS
        || (apr_uint64_t)len != e.body_len) {
        return;
    }
    if (sc_gen_ensure(c, r->pool, &ctx->gens[SC_GEN_SERVER], 1)
        != APR_SUCCESS) {
        return;
    }
    e.deps = apr_array_copy(r->pool, old->deps);
    for (i = 0; i < e.deps->nelts; i++) {
        sc_dep_t *dep = &APR_ARRAY_IDX(e.deps, i, sc_dep_t);
        if (!strcmp(dep->name, SC_DEP_SERVER_NAME)) {
            dep->gen = ctx->gens[SC_GEN_SERVER].gen;
        }
    }
    if (sc_entry_encode_head(r->pool, &e, &head, &head_len) != APR_SUCCESS
        || head_len + len > SC_ITEM_MAX) {
        return;
    }
    rec = apr_palloc(r->pool, head_len + len);
    memcpy(rec, head, head_len);
    memcpy(rec + head_len, data, len);
    if (sc_store_set(
            c, ctx->entry_key, rec, head_len + len,
            sc_policy_exptime(
                (e.stale_until > e.error_until ? e.stale_until : e.error_until)
                    - now,
                now))
        == APR_SUCCESS) {
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, 0, r,
            SC_LOGNO(0322) "copied from SharedCacheFallbackServers into %s",
            ctx->entry_key);
    }
}
