/*
 * sc_capture.c: the SHAREDCACHE_SAVE output filter.  Added by the handler
 * on a miss.  On its first call it keeps the status and headers as the
 * handler made them and says whether the body is worth copying; then it
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
#include "util_time.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

ap_filter_rec_t *sc_save_filter_handle;

typedef struct {
    request_rec *r;
    apr_array_header_t *out;
    const char *connection; /* value of Connection: names more hops */
    const sc_req_t *ctx;
} collect_t;

static int named_in(const char *name, const char *tokens)
{
    apr_size_t n = strlen(name);
    const char *s = tokens;

    while (s && *s) {
        while (*s == ' ' || *s == ',' || *s == '\t') {
            s++;
        }
        if (!strncasecmp(s, name, n)
            && (s[n] == '\0' || s[n] == ',' || s[n] == ' ')) {
            return 1;
        }
        while (*s && *s != ',') {
            s++;
        }
    }
    return 0;
}

static int collect_header(void *data, const char *name, const char *value)
{
    collect_t *c = data;
    sc_header_t *h;

    if (sc_header_unstored(c->ctx, name) || named_in(name, c->connection)) {
        return 1;
    }
    h = apr_array_push(c->out);
    h->name = name;
    h->value = value;
    return 1;
}

/* The Date the client gets, which hits replay (sc_pass_restored): the
 * backend's for a proxied response, else httpd's, of the request's time
 * (HTTP_HEADER replaces whatever Date a handler set). */
static void stored_date(request_rec *r, apr_table_t *out, sc_header_t *h)
{
    const char *backend = apr_table_get(out, "Date");
    char *now;

    h->name = "Date";
    if (r->proxyreq != PROXYREQ_NONE && backend) {
        h->value = backend;
        return;
    }
    now = apr_palloc(r->pool, APR_RFC822_DATE_LEN);
    ap_recent_rfc822_date(now, r->request_time);
    h->value = now;
}

/* The fields the stored body depends on (RFC 9111 3.2): a 304 or a HEAD
 * never replaces them.  A 304 with another Vary would file the stored
 * variant under other requests' key (one user's page for another); one
 * with a Content-Encoding would relabel the stored bytes. */
static const char *const body_fields[] = {
    "Content-Length", "Content-Type", "Content-Encoding",
    "Content-Range",  "Vary",         NULL
};

static int body_field(const char *name)
{
    const char *const *f;

    for (f = body_fields; *f; f++) {
        if (!strcasecmp(name, *f)) {
            return 1;
        }
    }
    return 0;
}

/* Revalidation answered 304 (RFC 9111 4.3.4): the stored response, with
 * the 304's header fields replacing the stored ones (not those the body
 * depends on, nor those never stored), is the response now: its body
 * leads bb, where nothing of the 304 but metadata can be.  Stored again
 * as a new render would be, on the headers as they now are. */
static void revalidated(request_rec *r, sc_req_t *ctx, apr_bucket_brigade *bb)
{
    const sc_entry_t *e = &ctx->revalidating->entry;
    apr_table_t *merged = apr_table_make(r->pool, e->headers->nelts + 8);
    apr_table_t *fresh = apr_table_overlay(r->pool, r->err_headers_out,
                                           r->headers_out);
    const apr_array_header_t *arr = apr_table_elts(fresh);
    const apr_table_entry_t *te = (const apr_table_entry_t *)arr->elts;
    apr_bucket *b;
    int i;

    for (i = 0; i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        if (!strcasecmp(h->name, "Content-Type")) {
            ap_set_content_type(r, h->value);
        }
        else if (body_field(h->name) || !apr_table_get(fresh, h->name)) {
            apr_table_addn(merged, h->name, h->value);
        }
    }
    for (i = 0; i < arr->nelts; i++) {
        if (!body_field(te[i].key)) {
            apr_table_addn(merged, te[i].key, te[i].val);
        }
    }
    /* A 304 names no tags (Django's and Flask's keep a few fields): the
     * stored response's stay its tags, or no invalidation would reach
     * it.  Tags the 304 names replace them, as its other fields do. */
    if (!apr_table_get(fresh, ctx->dconf->tag_header)) {
        for (i = 0; i < e->deps->nelts; i++) {
            const sc_dep_t *dep = &APR_ARRAY_IDX(e->deps, i, sc_dep_t);
            if (dep->name[0] == SC_DEP_TAG && dep->name[1] == ':') {
                apr_table_addn(merged, ctx->dconf->tag_header, dep->name + 2);
            }
        }
    }
    /* mod_mime's label of the 304 itself is not the stored body's */
    r->content_encoding = NULL;
    r->status = e->status;
    r->status_line = NULL;
    r->headers_out = merged;
    apr_table_clear(r->err_headers_out);
    /* the body as it was captured: decoded (sc_coding_serve) */
    ap_set_content_length(
        r, (apr_off_t)(e->codings ? e->identity_len : e->body_len));
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);) {
        apr_bucket *next = APR_BUCKET_NEXT(b);
        if (!APR_BUCKET_IS_METADATA(b)) {
            apr_bucket_delete(b);
        }
        b = next;
    }
    APR_BRIGADE_PREPEND(bb, ctx->revalidating->plain);
    ctx->revalidating = NULL;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  SC_LOGNO(0324) "revalidated: the application answered 304, "
                                 "the stored response is served");
}

static const char *entry_header(const sc_entry_t *e, const char *name)
{
    int i;

    for (i = 0; i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        if (!strcasecmp(h->name, name)) {
            return h->value;
        }
    }
    return NULL;
}

/* RFC 9111 4.3.5: a 200 to the cache's HEAD freshens the stored response
 * as a 304 would when it carries a validator, every validator it carries
 * is the stored one, and the length it says (if any) is the stored
 * body's.  Any other HEAD response leaves the entry as it is (stale: the
 * next GET revalidates it). */
static int head_freshens(request_rec *r, const sc_req_t *ctx)
{
    const sc_entry_t *e = &ctx->revalidating->entry;
    apr_table_t *out = apr_table_overlay(r->pool, r->err_headers_out,
                                         r->headers_out);
    const char *etag = apr_table_get(out, "ETag");
    const char *lm = apr_table_get(out, "Last-Modified");
    const char *cl = apr_table_get(out, "Content-Length");
    const char *stored;
    apr_uint64_t len = e->codings ? e->identity_len : e->body_len;

    if (!r->header_only || r->status != HTTP_OK || (!etag && !lm)) {
        return 0;
    }
    if (etag && (!(stored = entry_header(e, "ETag")) || strcmp(etag, stored))) {
        return 0;
    }
    if (lm
        && (!(stored = entry_header(e, "Last-Modified"))
            || strcmp(lm, stored))) {
        return 0;
    }
    return !cl || !strcmp(cl, apr_psprintf(r->pool, "%" APR_UINT64_T_FMT, len));
}

/* The filters before SHAREDCACHE_SAVE made the stored body, and a hit does
 * not run them again (sc_hit_filters): each must make it from the
 * response alone, never from the request.  Those known to: mod_include
 * behind SHAREDCACHE_SSI_WATCH (which refuses SSI that reads the
 * request), mod_substitute, mod_sed, mod_proxy_html and its xml2enc,
 * mod_deflate's INFLATE, mod_buffer, and the buffer of ap_rputs.  Any
 * other (mod_ext_filter, mod_lua, a mod_filter chain, INCLUDES added by
 * content type after the render began) keeps the response out.  The
 * filter's name, or NULL. */
static const char *unknown_filter_before(request_rec *r, ap_filter_t *save)
{
    static const char *const known[] = { "substitute", "sed",     "proxy-html",
                                         "xml2enc",    "inflate", "buffer",
                                         "old_write",  NULL };
    const char *const *k;
    ap_filter_t *f;
    int watched = 0;

    for (f = r->output_filters; f && f != save; f = f->next) {
        const char *name = f->frec->name;

        /* AddOutputFilterByType goes through mod_filter: "BYTYPE:NAME" */
        if (!strncasecmp(name, "bytype:", 7)) {
            name += 7;
        }

        if (!strcasecmp(name, "sharedcache_ssi_watch")) {
            watched = 1;
            continue;
        }
        if (!strcasecmp(name, "includes")) {
            if (!watched) {
                return name;
            }
            continue;
        }
        for (k = known; *k && strcasecmp(name, *k); k++) {
        }
        if (!*k) {
            return name;
        }
    }
    return NULL;
}

/* SHAREDCACHE_SAVE's first call: keep the response's status and headers
 * as the handler made them (filters after this one run again on every
 * hit) and say whether the body is worth capturing.  Whether it may be
 * stored is decided by SHAREDCACHE_DECIDE, which sees the final headers. */
static int snapshot(ap_filter_t *f, request_rec *r, sc_req_t *ctx)
{
    apr_table_t *out = apr_table_overlay(r->pool, r->err_headers_out,
                                         r->headers_out);
    const char *cl = apr_table_get(out, "Content-Length");
    const char *vary = apr_table_getm(r->pool, out, "Vary");
    collect_t coll;

    const char *filter = unknown_filter_before(r, f);

    ctx->expect_len = -1;
    if (filter) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0326) "not stored: the output filter %s "
                                     "before the cache may make the body "
                                     "from the request",
                      filter);
        ctx->not_copied = "request-filter";
        return 0;
    }
    if (r->header_only && !ctx->freshened) {
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, 0, r,
            SC_LOGNO(0311) "not stored: a HEAD request has no body to keep");
        ctx->not_copied = "head";
        return 0;
    }
    if (r->status < 100 || r->status > SC_MAX_STATUS
        || !ctx->dconf->statuses[r->status]) {
        ctx->not_copied = "status";
        return 0;
    }
    if (cl) {
        char *end;
        apr_off_t n;
        if (apr_strtoff(&n, cl, &end, 10) != APR_SUCCESS || *end || n < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          SC_LOGNO(0312) "not stored: invalid Content-Length");
            ctx->not_copied = "invalid-content-length";
            return 0;
        }
        if (n > ctx->dconf->max_size) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          SC_LOGNO(0303) "not stored: Content-Length above "
                                         "SharedCacheMaxSize");
            ctx->not_copied = "too-large";
            return 0;
        }
        ctx->expect_len = n;
    }
    ctx->status = r->status;
    ctx->esi_shell = sc_esi_wanted(r, ctx->dconf, out);
    ctx->handler_varies_encoding =
        vary && ap_strcasestr(vary, "accept-encoding") != NULL;
    ctx->headers = apr_array_make(r->pool, 16, sizeof(sc_header_t));
    if (r->content_type) {
        sc_header_t *ct = apr_array_push(ctx->headers);
        ct->name = "Content-Type";
        ct->value = r->content_type;
    }
    /* mod_mime's AddEncoding (a .gz file) labels the body in
     * r->content_encoding, which httpd sends as Content-Encoding: the
     * stored body keeps that label. */
    if (r->content_encoding && !apr_table_get(out, "Content-Encoding")) {
        sc_header_t *ce = apr_array_push(ctx->headers);
        ce->name = "Content-Encoding";
        ce->value = r->content_encoding;
    }
    coll.r = r;
    coll.out = ctx->headers;
    coll.ctx = ctx;
    coll.connection = apr_table_get(out, "Connection");
    apr_table_do(collect_header, &coll, out, NULL);
    stored_date(r, out, apr_array_push(ctx->headers));
    apr_pool_create(&ctx->cpool, r->pool);
    apr_pool_tag(ctx->cpool, "sharedcache_capture");
    ctx->pieces = apr_array_make(ctx->cpool, 16, sizeof(sc_piece_t));
    return 1;
}

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
    if (r->connection->aborted && !ctx->client_gone) {
        return "the connection was aborted";
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
    }
    sc_lease_release(r, ctx,
                     ctx->fragment_refused ? SC_LEASE_MARK_UNCACHEABLE
                                           : SC_LEASE_LET_GO);
    stop_capture(ctx);
}

apr_status_t sc_capture_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    sc_req_t *ctx = f->ctx;
    apr_bucket_brigade *tail;
    apr_bucket *eos;
    apr_status_t rv;

    if (!ctx) { /* added by hand (SetOutputFilter) */
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    if (ctx->magic != SC_REQ_MAGIC) {
        abort(); /* not our context: memory corruption */
    }
    if (ctx->state == SC_CAP_NEW) {
        if (ctx->revalidating
            && (r->status == HTTP_NOT_MODIFIED || head_freshens(r, ctx))) {
            revalidated(r, ctx, bb);
            ctx->freshened = 1;
        }
        ctx->revalidating = NULL;
        ctx->state = snapshot(f, r, ctx) ? SC_CAP_COPYING : SC_CAP_PASSING;
    }
    if (!SC_COPYING(ctx)) {
        /* Refused or substituted by SHAREDCACHE_DECIDE: waiters need not
         * wait; not worth copying (decided before any decision): let go. */
        sc_lease_release(r, ctx,
                         ctx->state != SC_CAP_PASSING && !r->header_only
                             ? SC_LEASE_MARK_UNCACHEABLE
                             : SC_LEASE_LET_GO);
        stop_capture(ctx);
        ap_remove_output_filter(f);
        return pass_on(f, ctx, bb);
    }
    eos = capture(f, ctx, bb, &rv);
    if (!eos) {
        return rv;
    }
    /* EOS.  Once SHAREDCACHE_DECIDE has decided: store, let go of the
     * lease, then send the rest, so neither the store nor the waiters
     * wait for a slow client.  Before (a short response): send it first,
     * so that the decision is made on the final headers. */
    tail = apr_brigade_split_ex(bb, eos, NULL);
    rv = APR_SUCCESS;
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
