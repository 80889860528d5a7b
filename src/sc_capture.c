/*
 * sc_capture.c: the SHAREDCACHE_SAVE output filter.  Added by the handler
 * on a miss.  On its first call it has a 304 to a revalidation turned into
 * the stored response (sc_revalidated.c) and the status and headers kept
 * as the handler made them (sc_snapshot.c); then it
 * copies every body bucket while passing it on (the client is never
 * delayed, up to SC_PASS_AHEAD), gives up past SharedCacheMaxSize or on an
 * error, and at EOS, once SHAREDCACHE_DECIDE has allowed it, has the entry
 * written (sc_write.c) and lets go of the fill lease.
 */
#include "sc_request.h"
#include "sc_log.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

ap_filter_rec_t *sc_save_filter_handle;

static void stop_capture(sc_req_t *ctx)
{
    if (ctx->state != SC_CAP_SUBSTITUTED) {
        ctx->state = SC_CAP_PASSING;
    }
    if (ctx->cpool) {
        apr_pool_destroy(ctx->cpool);
        ctx->cpool = NULL;
    }
}

/* Of a response being stored, this much goes to the client at once;
 * past it, the rest is held back until the handler has finished and the
 * entry is stored (bounded by SharedCacheMaxSize, as the copy is).  A
 * client that reads slowly then holds neither the store nor the requests
 * waiting for it (the fill lease).  httpd writes this much to a client
 * without blocking the handler (the core output filter's threshold). */
#define SC_PASS_AHEAD (64 * 1024)

static int holding(const sc_req_t *ctx)
{
    return ctx->state == SC_CAP_STORING && ctx->passed >= SC_PASS_AHEAD;
}

/* Pass bb on, after whatever was held back.  While a response is being
 * stored, a client that went away does not stop it: the rest of the body
 * is kept for the store and goes nowhere else (THREATS 38). */
static apr_status_t pass_on(ap_filter_t *f, sc_req_t *ctx,
                            apr_bucket_brigade *bb)
{
    apr_status_t rv;

    if (ctx->held && !APR_BRIGADE_EMPTY(ctx->held)) {
        APR_BRIGADE_PREPEND(bb, ctx->held);
    }
    if (ctx->client_gone) {
        apr_brigade_cleanup(bb);
        return SC_COPYING(ctx) ? APR_SUCCESS : APR_ECONNABORTED;
    }
    rv = ap_pass_brigade(f->next, bb);
    if (rv != APR_SUCCESS && SC_COPYING(ctx)) {
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, rv, f->r,
            SC_LOGNO(0318) "the client went away: the rest of the response is "
                           "kept for the store only");
        ctx->client_gone = 1;
        apr_brigade_cleanup(bb);
        return APR_SUCCESS;
    }
    return rv;
}

/* Hold bb back (it stays valid after this call returns). */
static apr_status_t hold(ap_filter_t *f, sc_req_t *ctx, apr_bucket_brigade *bb)
{
    if (!ctx->held) {
        ctx->held = apr_brigade_create(f->r->pool, f->c->bucket_alloc);
    }
    return ap_save_brigade(f, &ctx->held, &bb, f->r->pool);
}

/* Keep a copy of the data of bb while passing it on.  Data not there yet
 * (a CGI pipe, a proxied socket) is never waited for with the earlier
 * data held back: what came before is sent with a FLUSH first.  Returns
 * the EOS bucket, with what precedes it still in bb, or NULL when all of
 * bb was passed on (*rv says how that went). */
static apr_bucket *capture(ap_filter_t *f, sc_req_t *ctx,
                           apr_bucket_brigade *bb, apr_status_t *rv)
{
    request_rec *r = f->r;
    apr_bucket *b = APR_BRIGADE_FIRST(bb);

    *rv = APR_SUCCESS;
    while (b != APR_BRIGADE_SENTINEL(bb)) {
        const char *data;
        apr_size_t len;
        apr_status_t st;

        if (APR_BUCKET_IS_EOS(b)) {
            return b;
        }
        if (SC_COPYING(ctx) && AP_BUCKET_IS_ERROR(b)) {
            ap_log_rerror(
                APLOG_MARK, APLOG_DEBUG, 0, r,
                SC_LOGNO(0313) "not stored: the body ends in an error");
            stop_capture(ctx);
            sc_lease_release(r, ctx, SC_LEASE_LET_GO);
        }
        if (!SC_COPYING(ctx) || APR_BUCKET_IS_METADATA(b)) {
            b = APR_BUCKET_NEXT(b);
            continue;
        }
        st = apr_bucket_read(b, &data, &len, APR_NONBLOCK_READ);
        if (APR_STATUS_IS_EAGAIN(st) && holding(ctx)) {
            st = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        }
        else if (APR_STATUS_IS_EAGAIN(st)) {
            apr_bucket_brigade *rest = apr_brigade_split_ex(bb, b, NULL);
            APR_BRIGADE_INSERT_TAIL(
                bb, apr_bucket_flush_create(r->connection->bucket_alloc));
            ctx->passed = ctx->captured;
            *rv = pass_on(f, ctx, bb);
            apr_brigade_cleanup(bb);
            APR_BRIGADE_CONCAT(bb, rest);
            if (*rv != APR_SUCCESS) {
                return NULL; /* not capturing (pass_on) */
            }
            b = APR_BRIGADE_FIRST(bb);
            st = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        }
        if (st != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, st, r,
                          SC_LOGNO(0315) "not stored: reading the body failed");
            stop_capture(ctx);
            sc_lease_release(r, ctx, SC_LEASE_LET_GO);
        }
        else if (ctx->captured + (apr_off_t)len > ctx->dconf->max_size) {
            ap_log_rerror(
                APLOG_MARK, APLOG_DEBUG, 0, r,
                SC_LOGNO(0306) "not stored: body above SharedCacheMaxSize");
            stop_capture(ctx);
            sc_lease_release(r, ctx, SC_LEASE_MARK_UNCACHEABLE);
        }
        else if (len > 0) {
            sc_piece_t *pc = apr_array_push(ctx->pieces);
            if (ctx->first_len == 0) {
                ctx->first_len = len < sizeof(ctx->first) ? len
                                                          : sizeof(ctx->first);
                memcpy(ctx->first, data, ctx->first_len);
            }
            pc->data = apr_pmemdup(ctx->cpool, data, len);
            pc->len = len;
            ctx->captured += (apr_off_t)len;
        }
        b = APR_BUCKET_NEXT(b);
    }
    if (holding(ctx)) {
        *rv = hold(f, ctx, bb);
        return NULL;
    }
    ctx->passed = ctx->captured;
    *rv = pass_on(f, ctx, bb);
    return NULL;
}

/* a followed by the names of b it lacks (either may be NULL). */
static apr_array_header_t *union_names(apr_pool_t *p, apr_array_header_t *a,
                                       const apr_array_header_t *b)
{
    apr_array_header_t *out = a ? apr_array_copy(p, a)
                                : apr_array_make(p, 4, sizeof(const char *));
    int i, j;

    for (i = 0; b && i < b->nelts; i++) {
        const char *n = APR_ARRAY_IDX(b, i, const char *);
        for (j = 0; j < out->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(out, j, const char *), n)) {
                break;
            }
        }
        if (j == out->nelts) {
            APR_ARRAY_PUSH(out, const char *) = n;
        }
    }
    return out->nelts ? out : NULL;
}

/* Why a response still being copied at its end is not whole, or NULL. */
static const char *incomplete(request_rec *r, const sc_req_t *ctx)
{
    if (ctx->state == SC_CAP_COPYING) {
        return "no decision was made on its headers";
    }
    /* A refresh after the response runs once the client's response has
     * left: on HTTP/2 mod_http2 has marked the stream's connection
     * aborted by then, which says nothing of the refresh's body beyond
     * what the checks below read (a handler that stopped early). */
    if (r->connection->aborted && !ctx->client_gone && !ctx->refreshing) {
        return "the connection was aborted";
    }
    /* A handler that watches the connection (mod_proxy_http, mod_wsgi)
     * stops once the client is gone and ends its response like a whole
     * one: only a Content-Length tells then that it went on to the end. */
    if ((ctx->client_gone || r->connection->aborted) && ctx->expect_len < 0) {
        return "the client went away, and without a Content-Length nothing "
               "tells whether the handler finished the body";
    }
    if (r->status != ctx->status) {
        return apr_psprintf(r->pool, "the status became %d after %d", r->status,
                            ctx->status);
    }
    if (ctx->expect_len >= 0 && ctx->expect_len != ctx->captured) {
        return apr_psprintf(r->pool,
                            "the body has %" APR_OFF_T_FMT
                            " bytes, Content-Length said %" APR_OFF_T_FMT,
                            ctx->captured, ctx->expect_len);
    }
    return NULL;
}

/* The response is complete: store it (if it may be) and let go of the
 * lease.  A response refused or given up on earlier said why then. */
static void finish(request_rec *r, sc_req_t *ctx)
{
    const char *why = SC_COPYING(ctx) ? incomplete(r, ctx) : NULL;
    int complete =
        (ctx->state == SC_CAP_STORING || ctx->state == SC_CAP_PENDING) && !why;

    if (!ctx->fragment_refused && ctx->fragments_ran < ctx->fragments_asked) {
        ctx->fragment_refused = "a fragment was refused before it ran "
                                "(access control, a missing path)";
    }
    /* Only a fragment found whole goes into a stored page: one whose copy
     * stopped (above its location's SharedCacheMaxSize, tags refused ...)
     * was never checked against its length. */
    if (!ctx->fragment_refused && ctx->fragments_whole < ctx->fragments_ran) {
        ctx->fragment_refused = "a fragment was not found whole (its own "
                                "copy stopped before its end)";
    }
    if (complete && r->main) {
        sc_fragment_whole(r);
    }
    if (complete && sc_ssi_reads(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0323) "not stored: %s", sc_ssi_reads(r));
        ctx->fragment_refused = sc_ssi_reads(r);
        complete = 0;
    }
    else if (complete && ctx->fragment_refused) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0321) "not stored: %s", ctx->fragment_refused);
        complete = 0;
    }
    else if (complete) {
        if (ctx->fragment_vary) {
            /* the fragments' Vary as they sent it: a page's own
             * SharedCacheVaryByCookie says nothing of what they read */
            ctx->vary = union_names(
                r->pool, ctx->vary,
                sc_policy_vary_names(r->pool, ctx->fragment_vary));
        }
        if (ctx->fragment_ttl > 0 && ctx->fragment_ttl < ctx->policy.ttl) {
            ctx->policy.ttl = ctx->fragment_ttl;
        }
        sc_write(r, ctx);
    }
    else if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0307) "not stored: response incomplete: %s",
                      why);
        if (r->main) {
            sc_fragment_broken(r, why);
        }
    }
    sc_lease_release(r, ctx,
                     ctx->fragment_refused ? SC_LEASE_MARK_UNCACHEABLE
                                           : SC_LEASE_LET_GO);
    stop_capture(ctx);
}

/* The first brigade of the answer (a revalidation's: the stored copy
 * freshened), or one after a freshened copy. */
static void first_or_freshened(ap_filter_t *f, sc_req_t *ctx,
                               apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    if (ctx->state == SC_CAP_NEW) {
        if (ctx->revalidating
            && (r->status == HTTP_NOT_MODIFIED || sc_head_freshens(r, ctx))) {
            sc_revalidated(r, ctx, bb);
            ctx->freshened = 1;
        }
        ctx->revalidating = NULL;
        ctx->state = sc_snapshot(f, r, ctx) ? SC_CAP_COPYING : SC_CAP_PASSING;
    }
    else if (ctx->freshened) {
        /* the stored body is the response: the rest of the answer's own
         * (a 304 that writes the page anyway, a HEAD run as a GET) goes
         * nowhere, or it would follow the stored body to the client */
        sc_drop_data(bb);
    }
}

/* EOS.  Once SHAREDCACHE_DECIDE has decided: store, let go of the lease,
 * then send the rest, so neither the store nor the waiters wait for a
 * slow client.  Before (a short response): send it first, so that the
 * decision is made on the final headers. */
static apr_status_t at_eos(ap_filter_t *f, sc_req_t *ctx,
                           apr_bucket_brigade *bb, apr_bucket *eos)
{
    request_rec *r = f->r;
    apr_bucket_brigade *tail = apr_brigade_split_ex(bb, eos, NULL);
    apr_status_t rv = APR_SUCCESS;

    if (ctx->state == SC_CAP_COPYING) {
        /* A filter between here and SHAREDCACHE_DECIDE may hold a small
         * body back until it sees more (mod_deflate does): a FLUSH makes
         * it pass what it has. */
        APR_BRIGADE_INSERT_TAIL(
            bb, apr_bucket_flush_create(r->connection->bucket_alloc));
        ctx->passed = ctx->captured;
        rv = pass_on(f, ctx, bb);
        apr_brigade_cleanup(bb);
    }
    if (rv == APR_SUCCESS && ctx->state == SC_CAP_STORING && ctx->expect_len < 0
        && !r->main && !sc_handler_reports_broken_body(r)) {
        /* No Content-Length, from a handler that ends a broken body like
         * a whole one (SharedCacheRequireLength Off): only a handler that
         * finished without failing vouches for it. */
        ctx->state = SC_CAP_PENDING;
    }
    else if (rv == APR_SUCCESS) {
        finish(r, ctx);
    }
    else {
        stop_capture(ctx);
        sc_lease_release(r, ctx, SC_LEASE_LET_GO);
    }
    if (ctx->state != SC_CAP_PENDING) {
        ap_remove_output_filter(f);
    }
    APR_BRIGADE_CONCAT(bb, tail);
    rv = pass_on(f, ctx, bb);
    return ctx->client_gone ? APR_SUCCESS : rv;
}

apr_status_t sc_capture_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    sc_req_t *ctx = f->ctx;
    apr_bucket *eos;
    apr_status_t rv;

    if (!ctx) { /* added by hand (SetOutputFilter) */
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    if (ctx->magic != SC_REQ_MAGIC) {
        abort(); /* not our context: memory corruption */
    }
    first_or_freshened(f, ctx, bb);
    if (!SC_COPYING(ctx)) {
        /* Refused or substituted by SHAREDCACHE_DECIDE, or not worth
         * copying (a status not kept, too large: decided before any
         * decision): waiters need not wait, unless the refusal was the
         * request's own (a HEAD, a 304 to its conditions).  Let go
         * unmarked after a page's refusal, they took the lease over one
         * after the other, each refused in turn. */
        sc_lease_release(r, ctx,
                         sc_lease_end_for(r, ctx->state == SC_CAP_PASSING
                                                 ? ctx->not_copied
                                                 : NULL));
        stop_capture(ctx);
        if (!ctx->freshened) {
            ap_remove_output_filter(f);
        }
        return pass_on(f, ctx, bb);
    }
    eos = capture(f, ctx, bb, &rv);
    return eos ? at_eos(f, ctx, bb, eos) : rv;
}
int sc_log_transaction(request_rec *r)
{
    request_rec *last = r;
    sc_req_t *ctx;

    /* After internal redirects the response is the last request's. */
    while (last->next) {
        last = last->next;
    }
    ctx = sc_req_get(last);
    if (ctx && ctx->state == SC_CAP_PENDING) {
        finish(last, ctx);
    }
    return DECLINED;
}
