/*
 * sc_snapshot.c: what SHAREDCACHE_SAVE keeps of a response on its first
 * call, before any body: the status and the header fields as the handler
 * made them (less those of one hop, those never stored, the cache's own
 * and those set before it ran: sc_before.c), the Date hits replay, and whether
 * the body is worth copying at all (filters before the cache that may make it
 * from the request: sc_copy_filters.c; HEAD, status, Content-Length).
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

/* SHAREDCACHE_SAVE's first call: keep the response's status and headers
 * as the handler made them (filters after this one run again on every
 * hit) and say whether the body is worth capturing.  Whether it may be
 * stored is decided by SHAREDCACHE_DECIDE, which sees the final headers. */
int sc_snapshot(ap_filter_t *f, request_rec *r, sc_req_t *ctx)
{
    apr_table_t *out = apr_table_overlay(r->pool, r->err_headers_out,
                                         r->headers_out);
    /* two Content-Length fields make one invalid list: no length of
     * theirs can be trusted */
    const char *cl = apr_table_getm(r->pool, out, "Content-Length");
    const char *vary = apr_table_getm(r->pool, out, "Vary");
    collect_t coll;

    const char *filter = sc_filter_before_copy(r, f);

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
        apr_off_t n;
        if (!ap_parse_strict_length(&n, cl)) {
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
    ctx->before_replaced = sc_fields_replaced(r, ctx);
    apr_table_do(collect_header, &coll,
                 sc_own_fields(r, ctx, ctx->before_replaced), NULL);
    stored_date(r, out, apr_array_push(ctx->headers));
    apr_pool_create(&ctx->cpool, r->pool);
    apr_pool_tag(ctx->cpool, "sharedcache_capture");
    ctx->pieces = apr_array_make(ctx->cpool, 16, sizeof(sc_piece_t));
    return 1;
}
