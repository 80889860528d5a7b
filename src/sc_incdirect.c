/*
 * sc_incdirect.c: an ESI page's includes served straight from memcached,
 * without a subrequest, where any client would have had the same entry
 * from the quick handler by asking for the include's URL itself.
 *
 * An include's direct key is the key the quick handler makes for "GET src"
 * with the page's request headers: the virtual host's settings, before
 * any <Location> applies.  A fragment an include's subrequest rendered
 * is flagged SC_EF_DIRECT when stored (sc_write.c) only where its location
 * has SharedCacheQuickHandler On, its key as a subrequest (routed as
 * subrequests are) is that direct key, nothing after the cache changed
 * its headers and an anonymous client would be let through to it and get
 * the same page (sc_quickprobe.c).  Only such an entry, fresh, a 200 and
 * not an ESI page itself, joins the page here; every other include (a
 * miss, a stale copy, an entry a client's own request stored, an entry of
 * a location that is not quick) is a subrequest as before.
 */
#include "sc_assemble.h"
#include "sc_log.h"
#include "sc_status.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_hash.h>
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* Room for core's request notes (AP_NUM_STD_NOTES and those modules
 * register: ap_get_request_note answers NULL beyond what httpd counted,
 * which is far fewer). */
#define SC_CORE_NOTES 64

/* The include's request as the quick handler would see "GET src" sent
 * with the page's headers, or NULL when the quick handler would not serve
 * such a request at all.  Where its key is made like another include's
 * (like: that one's request), it shares that request's pool, headers and
 * variables, which the lookup only reads (the key's derived fields, which
 * read the variables' snapshots, come from the other key).  The first
 * one has a pool of its own: what is kept as a pool's userdata (the
 * variables' snapshots, what a lookup read early) is never the page's. */
static request_rec *direct_request(request_rec *r, const char *src,
                                   const request_rec *like)
{
    apr_pool_t *p;
    request_rec *q;
    core_request_config *core, *page_core;
    apr_table_t *env;

    if (like) {
        p = like->pool;
    }
    else if (apr_pool_create(&p, r->pool) != APR_SUCCESS) {
        return NULL;
    }
    q = apr_pmemdup(p, like ? like : r, sizeof(*q));
    q->pool = p;
    q->method = "GET"; /* (before the target is parsed, as httpd does) */
    q->method_number = M_GET;
    q->header_only = 0;
    q->the_request = apr_pstrcat(p, "GET ", src, " ", r->protocol, NULL);
    ap_parse_uri(q, src);
    if (q->status != HTTP_OK || !q->uri || !sc_key_path_plain(q->uri)) {
        return NULL;
    }
    q->request_config = ap_create_request_config(p);
    /* core's state of a new request, as its create_request hook makes it
     * (what the quick handler's request has: no document root or context
     * of a later phase); other modules' hooks are not run, so as not to
     * act on the page */
    core = apr_pcalloc(p, sizeof(*core));
    core->notes = apr_pcalloc(p, SC_CORE_NOTES * sizeof(void *));
    core->deliver_script = 1;
    page_core = ap_get_core_module_config(r->request_config);
    core->bb = page_core ? page_core->bb : NULL;
    ap_set_core_module_config(q->request_config, core);
    q->notes = apr_table_make(p, 4);
    apr_table_setn(q->notes, NOTE_INCLUDE, "1");
    q->headers_out = apr_table_make(p, 4);
    q->err_headers_out = apr_table_make(p, 1);
    if (like) {
        return q;
    }
    q->main = r;
    q->prev = q->next = NULL;
    q->filename = q->canonical_filename = q->path_info = NULL;
    memset(&q->finfo, 0, sizeof(q->finfo));
    q->handler = NULL;
    q->content_type = NULL;
    q->per_dir_config = r->server->lookup_defaults;
    q->htaccess = NULL;
    q->headers_in = apr_table_copy(p, r->headers_in);
    sc_inc_headers(q->headers_in);
    /* of the page's variables, those configuration set (as a subrequest
     * of sc_inc_request inherits them) */
    env = sc_derive_env_at_handler(r);
    q->subprocess_env = apr_table_copy(p, env ? env : r->subprocess_env);
    sc_derive_env_snapshot(q, SC_ENV_INHERITED);
    sc_derive_env_snapshot(q, SC_ENV_AT_HANDLER);
    return q;
}

sc_req_t *sc_inc_direct_key(request_rec *r, const char *src, request_rec **dq,
                            sc_inc_like_t *like)
{
    sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                               &sharedcache_module);
    sc_dir_conf_t *d = ap_get_module_config(r->server->lookup_defaults,
                                            &sharedcache_module);
    /* The page's includes differ by their URL alone: the first one's key
     * gives the others what holds no URL, its bypass verdict too (no rule
     * of the bypass reads the URL). */
    int same = like->ctx && like->ctx->key_url_free;
    request_rec *q;
    sc_req_t *ctx;

    /* what the quick handler declines: a request with credentials */
    if (!s->quick || !d || r->user
        || apr_table_get(r->headers_in, "Authorization")) {
        return NULL;
    }
    /* A key this thread made for src like the same first key: no
     * request of its own, the first one's serves its lookup (which reads
     * the headers and variables they share, never the URL). */
    ctx = same ? sc_req_new(like->q, d, SC_PHASE_QUICK) : NULL;
    if (ctx && sc_remembered_key_like(like->q, ctx, like->ctx, src)) {
        *dq = like->q;
        return sc_hint_not_quick(r->pool, ctx->entry_key) ? NULL : ctx;
    }
    q = direct_request(r, src, same ? like->q : NULL);
    if (!q || (!same && sc_bypass_reason(q, d, NULL))) {
        return NULL;
    }
    ctx = sc_req_new(q, d, SC_PHASE_QUICK);
    if (sc_build_key_like(q, ctx, same ? like->ctx : NULL)) {
        return NULL;
    }
    if (!like->ctx) {
        like->ctx = ctx;
        like->q = q;
    }
    *dq = q;
    return sc_hint_not_quick(r->pool, ctx->entry_key) ? NULL : ctx;
}

/* The stored header fields of an entry served directly, as a fragment's
 * subrequest would have had them for sc_inc_restrict. */
static apr_table_t *stored_fields(request_rec *r, const sc_entry_t *e,
                                  apr_int64_t now)
{
    apr_table_t *t = apr_table_make(r->pool, e->headers->nelts + 1);
    apr_int64_t age = now - e->stored_at;
    int i;

    for (i = 0; i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        apr_table_addn(t, h->name, h->value);
    }
    apr_table_setn(t, "Age", apr_off_t_toa(r->pool, age < 0 ? 0 : age));
    return t;
}

/* Was the entry stored coded by its application (a gzip it made itself,
 * a .gz file with AddEncoding)?  Its bytes cannot join a page
 * (sc_include.c refuses such an include too). */
static int app_coded(const sc_entry_t *e)
{
    const char *ce = sc_header_value(e->headers, "Content-Encoding");

    return ce && *ce && strcasecmp(ce, "identity");
}

/* One include looked up directly: 1 when its entry joins the page. */
static int direct_one(request_rec *r, part_t *pt, apr_int64_t now, int pieces)
{
    sc_req_t *ctx = pt->direct;
    request_rec *q = pt->dq;
    sc_found_t res;
    sc_verdict_t v = { .fwd = SC_FWD_NONE };
    sc_lookup_t found;
    sc_conn_t *c;
    int ok;

    if (!sc_fence_allows(ctx->sconf->backend, q->pool, ctx->sconf->prefix,
                         ctx->server)) {
        return 0;
    }
    c = sc_store_borrow(ctx->sconf->backend, ctx->server, q->pool);
    if (!c) {
        return 0;
    }
    found = sc_lookup(q, ctx, c, now, &res);
    ok = found == SC_LOOKUP_FOUND && res.entry.status == HTTP_OK
         && sc_entry_direct_ok(res.entry.flags)
         && !(res.entry.flags & SC_EF_ESI) && !app_coded(&res.entry);
    sc_store_return(c, q->pool);
    if (!ok) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r,
                      "ESI include %s: a subrequest (lookup %d, status %d, "
                      "flags %#x)",
                      pt->node->src, (int)found, res.entry.status,
                      (unsigned)res.entry.flags);
        if (res.entry.type == SC_REC_ENTRY
            && (!sc_entry_direct_ok(res.entry.flags)
                || (res.entry.flags & SC_EF_ESI) || app_coded(&res.entry))) {
            sc_hint_set_not_quick(r->pool, ctx->entry_key);
        }
        return 0;
    }
    if (!sc_inc_hold(r, (apr_off_t)res.entry.body_len)) {
        return 0; /* a subrequest fails it, and says why */
    }
    pt->out = res.body;
    pt->direct_fields = stored_fields(r, &res.entry, now);
    if (pieces && res.entry.pieces && res.entry.pieces->nelts == 1) {
        const sc_entry_piece_t *pc = &APR_ARRAY_IDX(res.entry.pieces, 0,
                                                    sc_entry_piece_t);
        /* the record's buffer is the body's bucket's: a copy lives as
         * long as the page */
        pt->piece = apr_pmemdup(r->pool, pc->data, pc->len);
        pt->piece_len = pc->len;
    }
    v.has_ttl = 1;
    v.ttl = res.entry.fresh_until - now;
    sc_set_status(q, ctx->dconf, SC_HIT, &v);
    sc_stat_add_r(q, SC_STAT_SERVED_BYTES, res.entry.body_len);
    sc_stat_add_r(q, SC_STAT_ESI_DIRECT, 1);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "ESI include %s served from memcached without a "
                  "subrequest",
                  pt->node->src);
    return 1;
}

void sc_inc_direct(request_rec *r, part_t *parts, int n, int pieces)
{
    sc_req_t **ctxs = apr_pcalloc(r->pool, (apr_size_t)n * sizeof(*ctxs));
    apr_hash_t *entries = sc_key_hash_make(r->pool);
    apr_int64_t now = apr_time_sec(apr_time_now());
    int i, any = 0;

    for (i = 0; i < n; i++) {
        /* an include met twice looks up alone the second time (a record
         * is read by one lookup) */
        if (parts[i].direct
            && !apr_hash_get(entries, parts[i].direct->entry_key,
                             APR_HASH_KEY_STRING)) {
            ctxs[i] = parts[i].direct;
            apr_hash_set(entries, ctxs[i]->entry_key, APR_HASH_KEY_STRING, "");
            any = 1;
        }
    }
    if (!any) {
        return;
    }
    sc_inc_prefetch_ctxs(r, ctxs, n);
    for (i = 0; i < n; i++) {
        if (parts[i].direct && direct_one(r, &parts[i], now, pieces)) {
            parts[i].served = 1;
        }
    }
}
