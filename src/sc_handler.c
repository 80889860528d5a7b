/*
 * sc_handler.c: the stage that answers from the cache.  The first content
 * handler (and, in quick mode, the quick handler) reads bypass -> key ->
 * lookup -> serve a hit, or claim the fill lease (wait for another
 * request's render, serve stale during grace) -> render: the capture
 * filter is added and the real handler runs.
 */
#include "sc_request.h"
#include "sc_log.h"
#include "sc_status.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* Poll the lease alone (a few bytes) with short, growing sleeps until it
 * is released or marked uncacheable, or until the deadline.  The first
 * sleep is 2 ms, so a render that is nearly done is picked up without a
 * delay anyone notices; doubling up to 25 ms keeps a slow render's
 * waiters at about 40 small gets a second each, so a herd of them does
 * not load memcached. */
typedef struct {
    apr_uint32_t holder; /* the lease's holder last seen, 0: none yet */
    int successors;      /* holders seen after the first */
} sc_holders_t;

static void wait_while_leased(request_rec *r, sc_req_t *ctx,
                              const char *lease_key, apr_time_t until,
                              apr_interval_time_t *pause, sc_holders_t *seen)
{
    apr_time_t now;
    apr_uint32_t holder = 0;

    while ((now = apr_time_now()) < until) {
        apr_sleep(until - now < *pause ? until - now : *pause);
        *pause = *pause * 2 > 25000 ? 25000 : *pause * 2;
        if (sc_lease_probe(r, ctx, lease_key, &holder) != SC_LEASE_THEIRS) {
            return;
        }
        /* (a lease let go and taken over between two polls is a new
         * holder all the same) */
        if (seen->holder && holder != seen->holder) {
            seen->successors++;
        }
        seen->holder = holder;
        if (seen->successors > 1) {
            return;
        }
    }
}

/* Wait for another request's render (it holds the lease), then look up
 * once more.  When the lease goes without a store (its holder died or
 * failed, or let go after a refusal of its own request's) or
 * SharedCacheLockTimeout passes, the waiter tries to take the lease
 * itself: one waiter renders and the others wait on for its store,
 * instead of all of them rendering at once.  A waiter waits at most twice
 * SharedCacheLockTimeout in all (the holder's lease, then one successor's
 * render), and follows one successor only: when that one lets go without
 * a store too (new visitors one after the other, each given a cookie),
 * it renders itself rather than queue behind a third.  A dead holder's
 * lease may outlive its timeout by up to a second of memcached's clock,
 * which the second period also covers.
 * Returns the last lookup's result (*res tells what was found): FOUND or
 * STALE to serve, or MISS (or STALE, for stale-on-error) to render, with
 * the lease if it could be taken. */
static sc_lookup_t wait_for_render(request_rec *r, sc_req_t *ctx,
                                   const char *lease_key, sc_found_t *res,
                                   apr_int64_t *now)
{
    apr_time_t start = apr_time_now();
    apr_interval_time_t timeout = apr_time_from_sec(ctx->dconf->lock_timeout);
    apr_time_t until = start + timeout, last = start + 2 * timeout;
    apr_interval_time_t pause = 2000;
    sc_holders_t seen = { 0, 0 };
    sc_found_t again;
    sc_lookup_t found;
    sc_lease_t lease;
    sc_conn_t *c;

    sc_stat_add_r(r, SC_STAT_LOCK_WAITS, 1);
    for (;;) {
        wait_while_leased(r, ctx, lease_key, until, &pause, &seen);
        c = sc_store_borrow(ctx->sconf->backend, ctx->server, r->pool);
        if (!c) {
            return SC_LOOKUP_ERROR;
        }
        *now = apr_time_sec(apr_time_now());
        found = sc_lookup(r, ctx, c, *now, res);
        if (found == SC_LOOKUP_FOUND || found == SC_LOOKUP_ERROR
            || (found == SC_LOOKUP_STALE && res->grace_ok)) {
            sc_store_return(c, r->pool);
            break;
        }
        /* Not stored: render, with the lease if it is free. */
        lease = sc_lease_claim(r, ctx, c, res);
        if (lease == SC_LEASE_OURS
            && sc_lookup(r, ctx, c, *now, &again) == SC_LOOKUP_FOUND) {
            /* Ours, but stored and let go just before: serve that. */
            *res = again;
            found = SC_LOOKUP_FOUND;
            sc_store_return(c, r->pool);
            sc_lease_release(r, ctx, SC_LEASE_LET_GO);
            break;
        }
        sc_store_return(c, r->pool);
        if (lease != SC_LEASE_THEIRS || apr_time_now() >= last
            || seen.successors > 1) {
            break;
        }
        /* Another waiter took it over first (or the dead holder's lease
         * is still there): wait for that one. */
        until = apr_time_now() + timeout;
        until = until < last ? until : last;
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "waited %" APR_TIME_T_FMT " ms for another render",
                  (apr_time_now() - start) / 1000);
    return found;
}

/* The lookup an earlier request of this chain of internal redirects
 * made, if any. */
static sc_req_t *earlier_lookup(request_rec *r)
{
    request_rec *p;

    for (p = r->prev; p; p = p->prev) {
        sc_req_t *ctx = sc_req_get(p);
        if (ctx) {
            return ctx;
        }
    }
    return NULL;
}

/* memcached is down or slow: render uncached, and do not pay a second
 * timeout trying to store. */
static int uncached(request_rec *r, const sc_dir_conf_t *d)
{
    sc_verdict_t v = { .fwd = SC_FWD_MISS, .detail = "memcached-error" };

    sc_set_status(r, d, SC_ERROR, &v);
    ap_set_module_config(r->request_config, &sharedcache_module, NULL);
    return DECLINED;
}

/* Grace: the entry is stale but may be served while one request
 * refreshes it.  That request takes the lease; the others get the stale
 * copy at once.  DECLINED: this request renders. */
static int render(request_rec *r, sc_req_t *ctx, sc_conn_t *c, sc_found_t *res);

/* The refresh subrequest itself: render into the cache. */
static int render_refresh(request_rec *r, sc_req_t *ctx)
{
    sc_conn_t *c = sc_store_borrow(ctx->sconf->backend, ctx->server, r->pool);

    if (!c) {
        sc_log_backend(r, "refresh", NULL);
        return uncached(r, ctx->dconf);
    }
    return render(r, ctx, c, ctx->refreshing);
}

static int serve_stale_or_refresh(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                                  sc_found_t *res, apr_int64_t now)
{
    sc_lease_t lease = sc_lease_claim(r, ctx, c, res);
    sc_found_t *later;
    int rv;

    /* Another request refreshes it, or the last refresh failed a moment
     * ago (the backend is tried again once the mark is gone). */
    if (lease == SC_LEASE_THEIRS || lease == SC_LEASE_FAILED) {
        sc_store_return(c, r->pool);
        return sc_serve(r, ctx, res, now, SC_STALE);
    }
    later = apr_palloc(r->pool, sizeof(*later));
    if (lease == SC_LEASE_OURS
        && sc_lookup(r, ctx, c, now, later) == SC_LOOKUP_FOUND) {
        /* Refreshed by the previous holder meanwhile. */
        sc_store_return(c, r->pool);
        sc_lease_release(r, ctx, SC_LEASE_LET_GO);
        return sc_serve(r, ctx, later, now, SC_HIT);
    }
    if (lease == SC_LEASE_OURS && sc_refresh_later_ok(r, ctx, res)) {
        sc_store_return(c, r->pool);
        rv = sc_serve(r, ctx, res, now, SC_STALE);
        sc_refresh_after_response(r, ctx, res);
        return rv;
    }
    return DECLINED;
}

/* The fill lock: take the lease and render, or wait for the request that
 * holds it.  DECLINED: this request renders, with *c (NULL when memcached
 * failed meanwhile: render uncached) and *res (a stale copy found while
 * waiting may replace a 5xx). */
static int claim_or_wait(request_rec *r, sc_req_t *ctx, sc_conn_t **c,
                         sc_found_t **res, apr_int64_t *now)
{
    sc_lease_t lease = sc_lease_claim(r, ctx, *c, *res);
    sc_found_t *later = apr_palloc(r->pool, sizeof(*later));
    sc_lookup_t found;

    if (lease == SC_LEASE_OURS) {
        /* The lease is ours, but the previous holder may have stored and
         * let go between our lookup and our claim: look again. */
        if (sc_lookup(r, ctx, *c, *now, later) == SC_LOOKUP_FOUND) {
            sc_store_return(*c, r->pool);
            sc_lease_release(r, ctx, SC_LEASE_LET_GO);
            return sc_serve(r, ctx, later, *now, SC_HIT);
        }
        return DECLINED;
    }
    if (lease != SC_LEASE_THEIRS) {
        return DECLINED; /* uncacheable or unavailable: render */
    }
    /* Another request in the farm renders it: wait for its store. */
    sc_store_return(*c, r->pool);
    found = wait_for_render(r, ctx, sc_lease_key(r, ctx, *res), later, now);
    ctx->collapsed = found == SC_LOOKUP_FOUND
                     || (found == SC_LOOKUP_STALE && later->grace_ok);
    if (found == SC_LOOKUP_FOUND) {
        return sc_serve(r, ctx, later, *now, SC_HIT);
    }
    if (found == SC_LOOKUP_STALE && later->grace_ok) {
        return sc_serve(r, ctx, later, *now, SC_STALE);
    }
    if (found == SC_LOOKUP_STALE) {
        *res = later;
    }
    *c = found == SC_LOOKUP_ERROR
             ? NULL
             : sc_store_borrow(ctx->sconf->backend, ctx->server, r->pool);
    return DECLINED;
}

/* Revalidation: the render asks the application with the stored
 * validators instead of the client's own conditions (a 304 to those would
 * be the client's, not the cache's: the client then gets the whole
 * response).  SHAREDCACHE_SAVE turns a 304 into the stored response. */
static void ask_with_validators(request_rec *r, sc_req_t *ctx, sc_found_t *res)
{
    const sc_entry_t *e = &res->entry;
    int i;

    apr_table_unset(r->headers_in, "If-Match");
    apr_table_unset(r->headers_in, "If-None-Match");
    apr_table_unset(r->headers_in, "If-Modified-Since");
    apr_table_unset(r->headers_in, "If-Unmodified-Since");
    apr_table_unset(r->headers_in, "If-Range");
    for (i = 0; i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        if (!strcasecmp(h->name, "ETag")) {
            apr_table_setn(r->headers_in, "If-None-Match", h->value);
        }
        else if (!strcasecmp(h->name, "Last-Modified")) {
            apr_table_setn(r->headers_in, "If-Modified-Since", h->value);
        }
    }
    ctx->revalidating = res;
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "revalidating the stored response with the application");
}

/* This request renders: its counters exist before it does, so an
 * invalidation during the render is never lost; the capture filter copies
 * the response on its way out. */
static int render(request_rec *r, sc_req_t *ctx, sc_conn_t *c, sc_found_t *res)
{
    if (!c) {
        return uncached(r, ctx->dconf);
    }
    if (sc_gen_ensure(c, r->pool, ctx->gens, SC_GENS) != APR_SUCCESS) {
        sc_log_backend(r, "creating counters", c->error);
        sc_store_return(c, r->pool);
        return uncached(r, ctx->dconf);
    }
    sc_store_return(c, r->pool);
    /* the headers the lookup read: the handler may change them */
    ctx->key_headers = apr_table_copy(r->pool, r->headers_in);
    sc_note_before_handler(r);
    sc_note_fields_before(r, ctx);
    if (res->body && res->revalidate) {
        ask_with_validators(r, ctx, res);
    }
    if (res->body && res->error_ok && !(res->entry.flags & SC_EF_ESI)) {
        ctx->stale = res; /* may replace a 5xx (not an ESI page: its parsed
                             form is for SHAREDCACHE_ESI, which a
                             substitute does not pass) */
    }
    ap_add_output_filter_handle(sc_save_filter_handle, ctx, r, r->connection);
    sc_ssi_watch(r);
    /* before any filter has run: one placed before SHAREDCACHE_FIRST may
     * remove itself on its first call */
    sc_note_filters_before_copy(r);
    return DECLINED;
}

/* Not for the cache (why; detail: the same as a token, and fwd=method
 * for another method than GET): the handler runs as if we were not
 * here. */
static int bypass(request_rec *r, const sc_dir_conf_t *d, int quick,
                  const char *why, const char *detail)
{
    sc_verdict_t v = { .fwd = SC_FWD_BYPASS, .detail = detail };

    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "bypass: %s", why);
    if (!strcmp(detail, "method")) {
        v.fwd = SC_FWD_METHOD;
        v.detail = NULL;
    }
    if (!quick) {
        sc_set_status(r, d, SC_BYPASS, &v);
    }
    return DECLINED;
}

/* Bypass -> key -> lookup -> serve, or claim the lease (or wait) ->
 * render.  Returns what serving returned, or DECLINED with the capture
 * filter added (normal mode) or nothing done (quick mode: the normal
 * handler runs later). */
/* The quick phase's key, from the headers as the client sent them: an
 * entry is quick-servable only if it is stored under this very key (a
 * RequestHeader may change a keyed header before the normal phase), and
 * the response fields set so far (mod_headers' "early"): only if no more
 * were set before its handler ran (sc_note_before_handler). */
static int quick_declined(request_rec *r, const sc_req_t *ctx)
{
    const char *fields = sc_fields_now(r);

    apr_table_setn(r->notes, SC_NOTE_QUICK_KEY,
                   apr_pstrmemdup(r->pool, ctx->key, ctx->key_len));
    if (fields) {
        apr_table_setn(r->notes, SC_NOTE_QUICK_FIELDS, fields);
    }
    return DECLINED;
}

/* r's context with its key, or NULL and *rv what to answer: a bypass,
 * a refresh's render, the quick phase declining. */
static sc_req_t *keyed(request_rec *r, sc_dir_conf_t *d, int quick, int *rv)
{
    sc_req_t *ctx, *earlier;
    const char *why, *detail, *cc;

    ctx = quick ? NULL : sc_req_get(r);
    if (ctx && ctx->refreshing) {
        *rv = render_refresh(r, ctx);
        return NULL;
    }
    why = sc_bypass_reason(r, d, &detail);
    if (why) {
        *rv = bypass(r, d, quick, why, detail);
        return NULL;
    }
    /* An ESI include's key was made, and its entry fetched, with its
     * siblings'. */
    ctx = quick ? NULL : sc_esi_prefetched(r);
    why = NULL;
    if (!ctx) {
        ctx = sc_req_new(r, d, quick ? SC_PHASE_QUICK : SC_PHASE_NORMAL);
        why = sc_build_key(r, ctx);
    }
    cc = apr_table_get(r->headers_in, "Cache-Control");
    ctx->request_no_store = cc && ap_find_token(r->pool, cc, "no-store");
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      SC_LOGNO(0206) "%s: serving uncached", why);
        *rv = bypass(r, d, quick, why, "unkeyable");
        return NULL;
    }
    /* The quick handler does not ask again for an entry it just found it
     * may not serve: the normal handler asks, once. */
    if (quick && sc_hint_not_quick(r->pool, ctx->entry_key)) {
        *rv = quick_declined(r, ctx);
        return NULL;
    }
    /* An earlier request of this chain of internal redirects (mod_actions)
     * may hold a lease: its key names another route, so nobody will fill
     * it; let go of it now rather than when the chain ends. */
    earlier = quick ? NULL : earlier_lookup(r);
    if (earlier) {
        sc_lease_release(earlier->lease_holder, earlier, SC_LEASE_LET_GO);
    }
    return ctx;
}

static int run(request_rec *r, sc_dir_conf_t *d, int quick)
{
    sc_req_t *ctx;
    sc_conn_t *c;
    sc_found_t *res;
    apr_int64_t now;
    sc_lookup_t found;
    const char *cc;
    int rv;

    ctx = keyed(r, d, quick, &rv);
    if (!ctx) {
        return rv;
    }
    sc_invalidate_retry(r, ctx->sconf);
    sc_lease_retry(r, ctx->sconf);
    /* A server that missed an invalidation is not read until fenced. */
    c = sc_fence_allows(ctx->sconf->backend, r->pool, ctx->sconf->prefix,
                        ctx->server)
            ? sc_store_borrow(ctx->sconf->backend, ctx->server, r->pool)
            : NULL;
    if (!c) {
        sc_log_backend(r, "lookup", NULL);
        return quick ? DECLINED : uncached(r, d);
    }
    res = apr_palloc(r->pool, sizeof(*res));
    now = apr_time_sec(apr_time_now());
    found = sc_lookup(r, ctx, c, now, res);

    if (found == SC_LOOKUP_MISS && !quick && ctx->sconf->fallback
        && sc_lookup_fallback(r, ctx, c, now, res) == SC_LOOKUP_FOUND) {
        /* A migration: the old cluster's copy, now the new one's too. */
        sc_write_copy(r, ctx, c, &res->entry, res->stored);
        found = SC_LOOKUP_FOUND;
    }
    if (found == SC_LOOKUP_FOUND || found == SC_LOOKUP_ERROR || quick) {
        sc_store_return(c, r->pool);
        if (found == SC_LOOKUP_FOUND) {
            return sc_serve(r, ctx, res, now, SC_HIT);
        }
        if (quick) {
            if (found == SC_LOOKUP_MISS && res->entry.type == SC_REC_ENTRY
                && (!sc_entry_quick_ok(res->entry.flags)
                    || (res->entry.flags & SC_EF_ESI))) {
                sc_hint_set_not_quick(r->pool, ctx->entry_key);
            }
            return quick_declined(r, ctx);
        }
        return uncached(r, d);
    }
    cc = apr_table_get(r->headers_in, "Cache-Control");
    /* RFC 9111 5.2.1.7: a client that asks for a stored response only
     * gets a 504 where none may be served, not a render.  (memcached
     * failing is not an answer: that request renders.) */
    if (!r->main && !(found == SC_LOOKUP_STALE && res->grace_ok) && cc
        && ap_find_token(r->pool, cc, "only-if-cached")) {
        sc_verdict_t v = { .fwd = found == SC_LOOKUP_STALE ? SC_FWD_STALE
                                                           : SC_FWD_URI_MISS,
                           .detail = "only-if-cached" };
        sc_store_return(c, r->pool);
        sc_set_status(r, d, SC_MISS, &v);
        return HTTP_GATEWAY_TIME_OUT;
    }
    /* log_transaction finds ctx to store late, SHAREDCACHE_DECIDE to
     * decide on the response. */
    ap_set_module_config(r->request_config, &sharedcache_module, ctx);

    if (found == SC_LOOKUP_STALE && res->grace_ok) {
        rv = serve_stale_or_refresh(r, ctx, c, res, now);
    }
    /* A HEAD with nothing stored to freshen stores nothing, nor does a
     * request that says no-store: either would hold the fill lock over a
     * render the requests behind it cannot use. */
    else if (d->lock && !ctx->request_no_store
             && !(r->header_only && found == SC_LOOKUP_MISS)) {
        rv = claim_or_wait(r, ctx, &c, &res, &now);
    }
    else {
        rv = DECLINED;
    }
    return rv == DECLINED ? render(r, ctx, c, res) : rv;
}

int sc_handler(request_rec *r)
{
    sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                            &sharedcache_module);

    /* Before any handler (an application's) adds its variables. */
    sc_derive_env_snapshot(r, SC_ENV_AT_HANDLER);
    if (r->handler) {
        apr_table_setn(r->notes, SC_NOTE_HANDLER, r->handler);
    }

    if (d && APLOGrtrace2(r)) {
        ap_log_rerror(
            APLOG_MARK, APLOG_TRACE2, 0, r, "config for %s: %s", r->uri,
            sc_config_describe(r->pool,
                               ap_get_module_config(r->server->module_config,
                                                    &sharedcache_module),
                               d));
    }
    if (d && d->purge == 1 && r->method_number == sc_purge_method
        && sc_purge_method >= 0) {
        return sc_purge(r, d,
                        ap_get_module_config(r->server->module_config,
                                             &sharedcache_module));
    }
    if (!d || d->enabled != 1 || r->proxyreq == PROXYREQ_PROXY) {
        return DECLINED;
    }
    /* Only GET (and HEAD) is looked up, as the client sent it: not the
     * internal GET of a POST's local redirect.  Any other method is
     * logged as a bypass, so that %{sharedcache-status}e is never "-". */
    if (r->method_number != M_GET || sc_client_method(r) != M_GET) {
        return bypass(r, d, 0, "method", "method");
    }
    /* mod_rewrite in a directory redirects this request internally: the
     * key of the request it becomes names where it is routed, so a
     * lookup here could never hit. */
    if (r->handler && !strcmp(r->handler, "redirect-handler")) {
        return DECLINED;
    }
    /* Status pages are never the cache's business, wherever they are. */
    if (sc_handler_live(r)) {
        return DECLINED;
    }
    return run(r, d, 0);
}
/* Quick mode runs before <Location> sections are merged and before access
 * control.  It uses the virtual host's settings for the key (startup makes
 * sure quick sections do not set their own variance) and serves only
 * entries stored where SharedCacheQuickHandler is On, that is where the
 * administrator declared the content public.  A request with credentials
 * is never served here. */
int sc_quick_handler(request_rec *r, int lookup_uri)
{
    sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                               &sharedcache_module);
    sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                            &sharedcache_module);

    /* An ErrorDocument answering a 5xx that a stale copy may replace. */
    if (!lookup_uri && r->prev) {
        int rv = sc_serve_stale_for_error_document(r);
        if (rv != DECLINED) {
            return rv;
        }
    }
    /* Before translation r->uri is the raw path: only a path that httpd
     * will not decode or normalise keys the same as in the normal phase. */
    if (lookup_uri || !s->quick || !d || r->method_number != M_GET || r->main
        || r->proxyreq == PROXYREQ_PROXY
        || apr_table_get(r->headers_in, "Authorization")
        || !sc_key_path_plain(r->uri)) {
        return DECLINED;
    }
    return run(r, d, 1);
}
