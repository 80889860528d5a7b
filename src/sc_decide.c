/*
 * sc_decide.c: the SHAREDCACHE_DECIDE output filter.  Placed after every
 * content filter (mod_headers, mod_deflate) and before HTTP_HEADER, it
 * sees the headers the client will get: a "Header set Cache-Control
 * private" must stop the store as surely as the application's own.  It
 * owns the storing decision of a miss (policy, tags, earlier hops of a
 * redirect chain; the response's variance is sc_resp_vary.c's, quick
 * mode's header parity sc_parity.c's), what fragments (SSI includes)
 * impose on their page, the body's label (Content-Encoding),
 * stale-on-error substitution, and acting on the invalidate header.
 */
#include "sc_request.h"
#include "sc_status.h"
#include "sc_log.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_core.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

ap_filter_rec_t *sc_decide_filter_handle;

/* The response's tags, or NULL with *bad set when one is invalid or there
 * are too many to depend on. */
static apr_array_header_t *response_tags(request_rec *r, const char *list,
                                         int *bad)
{
    apr_array_header_t *tags = apr_array_make(r->pool, 4, sizeof(const char *));
    const char *cursor = list, *tag;
    int valid;

    *bad = 0;
    int i;

    /* A store refuses the whole list for one bad tag; a tag named twice
     * (a revalidation's and the stored entry's) counts once. */
    while (sc_key_tag_next(r->pool, &cursor, &tag, &valid)) {
        for (i = 0; valid && i < tags->nelts; i++) {
            if (!strcmp(APR_ARRAY_IDX(tags, i, const char *), tag)) {
                break;
            }
        }
        if (valid && i < tags->nelts) {
            continue;
        }
        if (!valid || tags->nelts >= SC_MAX_TAGS) {
            *bad = 1;
            return NULL;
        }
        APR_ARRAY_PUSH(tags, const char *) = tag;
    }
    return tags;
}

/* An earlier request of a chain of internal redirects answered first (an
 * application's "200 + Location: /local" hands over to the file it names):
 * what made that answer personal makes this one so too. */
static void earlier_forbids(request_rec *r, sc_policy_out_t *policy)
{
    request_rec *q;

    for (q = r->prev; q; q = q->prev) {
        apr_table_t *out = apr_table_overlay(r->pool, q->err_headers_out,
                                             q->headers_out);
        sc_policy_in_t in;
        const char *why;

        sc_policy_input(q, out, NULL, &in);
        why = sc_policy_personal(&in, &policy->detail);
        if (why) {
            policy->storable = 0;
            policy->reason = apr_pstrcat(r->pool,
                                         "an earlier request of "
                                         "the redirect chain answered ",
                                         why, NULL);
            return;
        }
    }
}

/* Fields a Cache-Control (or a targeted field) names in no-cache="..."
 * are never served without revalidation, so never stored (RFC 9111
 * 5.2.2.4): the response is stored without them. */
static int drop_qualified(request_rec *r, sc_req_t *ctx, const char *list)
{
    apr_array_header_t *names = sc_policy_qualified_fields(r->pool, list,
                                                           "no-cache");
    int i, j, k;

    if (!names) {
        return 0;
    }
    for (i = 0; ctx->headers && i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        for (j = 0, k = 0; j < ctx->headers->nelts; j++) {
            sc_header_t *h = &APR_ARRAY_IDX(ctx->headers, j, sc_header_t);
            if (strcasecmp(h->name, n)) {
                APR_ARRAY_IDX(ctx->headers, k++, sc_header_t) = *h;
            }
        }
        ctx->headers->nelts = k;
    }
    return 1;
}

/* Does a compression filter after the cache code this resource's
 * responses?  mod_deflate and mod_brotli name Accept-Encoding in Vary
 * whether or not they code this client's response: the entry's bytes may
 * not be what other clients got under the same validators
 * (SC_EF_RECODED). */
static int coded_after(request_rec *r, const sc_req_t *ctx, apr_table_t *out)
{
    const char *now = apr_table_get(out, "Vary");
    const char *then = ctx->headers ? sc_header_value(ctx->headers, "Vary")
                                    : NULL;

    return now && ap_find_token(r->pool, now, "Accept-Encoding")
           && !(then && ap_find_token(r->pool, then, "Accept-Encoding"));
}

/* Why decide() does not store r's response, logged, as Cache-Status's
 * detail (NULL: it does, or the policy gave none); in the order the
 * reasons are checked. */
static const char *why_not_stored(request_rec *r, const sc_req_t *ctx,
                                  int bad_tags, int unverifiable,
                                  int unreadable)
{
    if (!ctx->policy.storable) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0301) "not stored: %s", ctx->policy.reason);
        return ctx->policy.detail;
    }
    if (r->no_cache) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0302) "not stored: r->no_cache is set");
        return "handler-no-cache";
    }
    if (bad_tags) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0308) "not stored: %s holds an invalid tag "
                                     "or more than %d",
                      ctx->dconf->tag_header, SC_MAX_TAGS);
        return "invalid-tag";
    }
    if (ctx->request_no_store) {
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, 0, r,
            SC_LOGNO(0320) "not stored: the request said Cache-Control: "
                           "no-store");
        return "request-no-store";
    }
    if (unverifiable) {
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, 0, r,
            SC_LOGNO(0310) "not stored: no Content-Length to verify the body "
                           "against (SharedCacheRequireLength On)");
        return "no-content-length";
    }
    if (unreadable) {
        return "no-cache-list";
    }
    if (!SC_COPYING(ctx)) {
        return ctx->not_copied; /* a HEAD: a miss, nothing to keep */
    }
    return NULL;
}

/* The storing side of SHAREDCACHE_DECIDE, for a GET miss: may the
 * response be stored? */
static int decide(request_rec *r, sc_req_t *ctx, apr_table_t *out)
{
    sc_policy_in_t in;
    sc_verdict_t v = { .fwd = ctx->fwd ? ctx->fwd : SC_FWD_URI_MISS,
                       .fwd_status = r->status };
    int bad_tags, unverifiable, storable, unreadable = 0;

    sc_policy_input(r, out, ctx->dconf, &in);
    sc_policy_decide(&in, &ctx->policy);
    if (ctx->policy.storable) {
        earlier_forbids(r, &ctx->policy);
    }
    ctx->vary_raw = in.vary;
    ctx->recoded |= coded_after(r, ctx, out);
    ctx->app_vary_cookies = sc_app_vary_cookies(r);
    ctx->vary = sc_effective_vary(r, ctx, in.vary);
    if (ctx->dconf->quick == 1 && ctx->headers) {
        ctx->filters_changed_headers = sc_parity_changed(r, ctx, out);
    }

    ctx->tags = response_tags(
        r, apr_table_getm(r->pool, out, ctx->dconf->tag_header), &bad_tags);

    /* SHAREDCACHE_SAVE ran first: it may already have given up on the
     * body (size, an invalid Content-Length: it logged why, and read no
     * length); a HEAD is a miss that simply has no body to keep. */
    /* Without a Content-Length, a body that mod_wsgi's daemon mode or a
     * CGI cut short (the application failed mid-stream) ends like a whole
     * one: only handlers that report a broken body are trusted. */
    unverifiable = SC_COPYING(ctx) && ctx->expect_len < 0
                   && (ctx->dconf->require_length == 1
                       || (ctx->dconf->require_length == SC_AUTO
                           && !sc_handler_reports_broken_body(r)));
    storable = ctx->policy.storable && !r->no_cache && !bad_tags
               && !unverifiable && !ctx->request_no_store
               && (SC_COPYING(ctx) || r->header_only);
    if (storable
        && !(drop_qualified(r, ctx, in.cache_control)
             && drop_qualified(r, ctx, in.surrogate_control)
             && drop_qualified(r, ctx, in.cdn_cache_control))) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0325) "not stored: a no-cache=\"...\" list "
                                     "that cannot be read plainly");
        storable = 0;
        unreadable = 1;
    }
    if (ctx->state == SC_CAP_COPYING) {
        ctx->state = storable ? SC_CAP_STORING : SC_CAP_REFUSED;
    }
    v.detail = why_not_stored(r, ctx, bad_tags, unverifiable, unreadable);
    v.stored = storable && SC_COPYING(ctx);
    if (v.stored) {
        v.has_ttl = 1;
        v.ttl = ctx->policy.ttl;
    }
    sc_set_status(r, ctx->dconf, storable ? SC_MISS : SC_UNCACHEABLE, &v);
    if (!storable) {
        /* Waiters need not wait for the end of this response.  A refusal
         * that the request made says nothing of the page: let go, and the
         * next request renders for all; marked, every miss would render
         * for SharedCacheLockTimeout. */
        sc_lease_release(r, ctx, sc_lease_end_for(r, v.detail));
    }
    return storable;
}

/* After a substitution: the failed response's own buckets go nowhere. */
static apr_status_t swallow(ap_filter_t *f, apr_bucket_brigade *bb)
{
    (void)f;
    apr_brigade_cleanup(bb);
    return APR_SUCCESS;
}

/* Stale-on-error: the backend answered 5xx (or failed and httpd made an
 * error page, or a redirect to an ErrorDocument's URL); before its
 * headers leave, send the stale copy instead. */
static apr_status_t substitute(ap_filter_t *f, sc_req_t *ctx,
                               apr_bucket_brigade *bb)
{
    apr_brigade_cleanup(bb);
    return sc_serve_stale_instead(f->r, ctx, f->r->status, f->next);
}

/* Did the body reach this filter as it left the handler (or the cache)?
 * -1: no data yet; 1: the same first bytes; 0: other bytes. */
static int same_body(apr_bucket_brigade *bb, const sc_req_t *ctx)
{
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_METADATA(b) || b->length == 0) {
            continue;
        }
        if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS) {
            return 0;
        }
        if (len == 0) {
            continue;
        }
        if (len > ctx->first_len) {
            len = ctx->first_len;
        }
        return len > 0 && !memcmp(data, ctx->first, len);
    }
    return -1;
}

/* Once the first bytes are seen: a hit keeps the Content-Encoding it was
 * stored with unless a filter transformed its body; a miss whose body
 * only got labelled stores the label, and keeps Accept-Encoding in its
 * Vary (THREATS 39).  Returns false while no data has been seen. */
static int check_label(request_rec *r, sc_req_t *ctx, apr_bucket_brigade *bb,
                       int hit)
{
    int same = same_body(bb, ctx);
    const char *ce;

    if (same < 0) {
        return 0;
    }
    ctx->label_checked = 1;
    if (!same) {
        ctx->recoded |= !hit;
        return 1;
    }
    if (hit) {
        apr_table_unset(r->err_headers_out, "Content-Encoding");
        if (ctx->served_encoding) {
            apr_table_setn(r->headers_out, "Content-Encoding",
                           ctx->served_encoding);
        }
        else {
            apr_table_unset(r->headers_out, "Content-Encoding");
        }
        r->content_encoding = ctx->served_encoding;
        return 1;
    }
    ce = apr_table_get(r->headers_out, "Content-Encoding");
    if (!ce) {
        ce = apr_table_get(r->err_headers_out, "Content-Encoding");
    }
    if (!ce) {
        return 1; /* unlabelled: a Vary of a compression filter that
                     chose not to compress runs again on hits */
    }
    if (SC_COPYING(ctx) && ctx->headers) {
        int i;
        for (i = 0; i < ctx->headers->nelts; i++) {
            sc_header_t *h = &APR_ARRAY_IDX(ctx->headers, i, sc_header_t);
            if (!strcasecmp(h->name, "Content-Encoding")) {
                break;
            }
        }
        if (i == ctx->headers->nelts) {
            sc_header_t *h = apr_array_push(ctx->headers);
            h->name = "Content-Encoding";
            h->value = ce;
        }
    }
    ctx->handler_varies_encoding = 1;
    ctx->vary = sc_effective_vary(r, ctx, ctx->vary_raw);
    return 1;
}

/* A hit that a filter after the cache codes (mod_deflate on an entry
 * stored as it is) leaves with that filter's bytes of this response, not
 * the MISS's (a streamed MISS was coded with a sync flush per piece)
 * under the same entity-tag and date: If-Range gets the whole
 * representation, as on a hit of an entry stored coded (label_coding in
 * sc_request.c).  httpd's byterange filter, after this one, reads Range
 * when the body reaches it. */
static void hit_if_range(request_rec *r)
{
    if (apr_table_get(r->headers_in, "If-Range")
        && (apr_table_get(r->headers_out, "Content-Encoding")
            || apr_table_get(r->err_headers_out, "Content-Encoding"))) {
        apr_table_unset(r->headers_in, "Range");
    }
}

/* SHAREDCACHE_DECIDE, inserted for every request of a location with
 * SharedCache On: acts on the invalidate header and unsafe methods,
 * decides for a GET miss, and keeps the headers meant for this cache from
 * the client. */
apr_status_t sc_decide_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                                  &sharedcache_module);
    sc_req_t *ctx = sc_req_get(r);
    sc_decision_t status = sc_decision_of(r);
    const char *const *h;
    apr_table_t *out;

    if (r->main && f->ctx == NULL) {
        f->ctx = f; /* once per fragment */
        sc_fragment_reaches_page(r, d, bb);
    }
    if (ctx && ctx->state == SC_CAP_SUBSTITUTED) {
        return swallow(f, bb);
    }
    if (ctx && ctx->stale && (r->status >= 500 || ctx->error_redirected)
        && !r->main) {
        return substitute(f, ctx, bb);
    }
    if (ctx && f->ctx == &ctx->label_checked) {
        /* decided already, waiting for the first bytes */
        if (check_label(r, ctx, bb, 0)) {
            ap_remove_output_filter(f);
        }
        return ap_pass_brigade(f->next, bb);
    }
    /* A response served from the cache carries none of these headers. */
    if (status == SC_HIT || status == SC_STALE) {
        hit_if_range(r);
        if (!ctx || !ctx->first_len || check_label(r, ctx, bb, 1)) {
            ap_remove_output_filter(f);
        }
        return ap_pass_brigade(f->next, bb);
    }
    if (d->enabled != 1) {
        ap_remove_output_filter(f);
        /* Not cached here: only what the application asks for explicitly
         * (a POST here invalidates nothing by itself). */
        if (apr_table_get(r->headers_out, d->invalidate_header)
            || apr_table_get(r->err_headers_out, d->invalidate_header)) {
            out = apr_table_overlay(r->pool, r->err_headers_out,
                                    r->headers_out);
            sc_invalidate_tags(r, d, out);
            apr_table_unset(r->headers_out, d->invalidate_header);
            apr_table_unset(r->err_headers_out, d->invalidate_header);
        }
        return ap_pass_brigade(f->next, bb);
    }
    out = apr_table_overlay(r->pool, r->err_headers_out, r->headers_out);
    if (ctx && decide(r, ctx, out) && sc_subrequest_failed(r, out, bb)) {
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, 0, r,
            SC_LOGNO(0319) "not stored: the handler of this subrequest "
                           "failed without output");
        sc_verdict_t v = { .fwd = SC_FWD_URI_MISS,
                           .detail = "fragment-failed" };

        if (ctx->state == SC_CAP_STORING) {
            ctx->state = SC_CAP_REFUSED;
        }
        sc_set_status(r, ctx->dconf, SC_UNCACHEABLE, &v);
        sc_lease_release(r, ctx, SC_LEASE_LET_GO);
    }
    if (ctx && ctx->state == SC_CAP_STORING && !check_label(r, ctx, bb, 0)) {
        /* no data yet: stay until the first bytes come by */
        f->ctx = &ctx->label_checked;
    }
    else {
        ap_remove_output_filter(f);
    }
    sc_invalidate_response(r, d, out);
    sc_verdict_order(r);
    for (h = sc_cache_only_fields; *h; h++) {
        apr_table_unset(r->headers_out, *h);
        apr_table_unset(r->err_headers_out, *h);
    }
    apr_table_unset(r->headers_out, d->tag_header);
    apr_table_unset(r->err_headers_out, d->tag_header);
    apr_table_unset(r->headers_out, d->invalidate_header);
    apr_table_unset(r->err_headers_out, d->invalidate_header);
    return ap_pass_brigade(f->next, bb);
}

void sc_insert_filter(request_rec *r)
{
    sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                            &sharedcache_module);

    /* Everywhere: a response may invalidate even where nothing is
     * cached (an admin section with SharedCache Off, say). */
    if (d && !sc_handler_live(r)) {
        ap_add_output_filter_handle(sc_first_filter_handle, NULL, r,
                                    r->connection);
        ap_add_output_filter_handle(sc_decide_filter_handle, NULL, r,
                                    r->connection);
    }
}

/* Is r's 302 httpd's answer to a 5xx whose ErrorDocument is a URL?  Its
 * Location is then that ErrorDocument's string (ap_die; an expression,
 * evaluated again here).  ap_die has replaced the status by then: where
 * the same URL also answers another status (a 404: an answer, not a
 * failure), the redirect cannot be told apart and goes out as it is. */
static int error_document_redirect(request_rec *r)
{
    const char *loc = apr_table_get(r->headers_out, "Location");
    int s, server_error = 0;

    if (r->status != HTTP_MOVED_TEMPORARILY || !loc) {
        return 0;
    }
    for (s = HTTP_BAD_REQUEST; s <= HTTP_NETWORK_AUTHENTICATION_REQUIRED; s++) {
        const char *doc;

        if (!ap_is_HTTP_SERVER_ERROR(s)
            && ap_index_of_response(s) == ap_index_of_response(500)) {
            continue; /* not a status httpd knows (it maps it to 500's) */
        }
        doc = ap_response_code_string(r, ap_index_of_response(s));
        if (doc && !strcmp(doc, loc)) {
            if (!ap_is_HTTP_SERVER_ERROR(s)) {
                return 0;
            }
            server_error = 1;
        }
    }
    return server_error;
}

void sc_insert_error_filter(request_rec *r)
{
    sc_req_t *ctx = sc_req_get(r);

    /* The handler failed (e.g. the mod_wsgi daemon is down) and httpd
     * builds an error page, or redirects to an ErrorDocument's URL: a
     * stale copy may replace it. */
    if (ctx && ctx->stale && ctx->state != SC_CAP_SUBSTITUTED
        && (r->status >= 500 || error_document_redirect(r))) {
        ctx->error_redirected = r->status < 500;
        ap_add_output_filter_handle(sc_decide_filter_handle, NULL, r,
                                    r->connection);
    }
}
