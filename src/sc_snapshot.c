/*
 * sc_snapshot.c: what SHAREDCACHE_SAVE keeps of a response on its first
 * call, before any body: the status and the header fields as the handler
 * made them (less those of one hop, those never stored and the cache's
 * own), the Date hits replay, and whether the body is worth copying at
 * all (filters before the cache that may make it from the request, HEAD,
 * status, Content-Length).
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

/* Is f the module's filter of that name (by_type: a BYTYPE: chain, which
 * runs the filter registered under the name it wraps)? */
static int known_filter(const ap_filter_t *f, const char *name, int by_type)
{
    ap_filter_rec_t *genuine;

    if (!strcasecmp(name, "includes")
        || (!strcasecmp(name, "proxy-html") && sc_rules_proxy_html_interp())) {
        return 0;
    }
    genuine = sc_filter_genuine(name);
    return genuine && (by_type || f->frec == genuine);
}

/* The filters before SHAREDCACHE_SAVE made the stored body, and a hit does
 * not run them again (sc_hit_filters): each must make it from the
 * response alone, never from the request.  Those known to: mod_include
 * right behind SHAREDCACHE_SSI_WATCH (which reads exactly what it runs and
 * refuses SSI that reads the request; a second mod_include runs what the
 * first made, fragments' SSI text among it), mod_substitute (httpd 2.4's:
 * no expressions), mod_sed, mod_proxy_html unless ProxyHTMLInterp is set
 * anywhere (its URL maps' conditions and ${VAR} read the request), its
 * xml2enc, mod_deflate's INFLATE, mod_buffer, the buffer of ap_rputs, and
 * an ESI include's SHAREDCACHE_ESI_LENGTH (which only counts).  Each is
 * known by the function its module registered, not by its name: a
 * mod_filter chain, an ext or a Lua filter is named as the administrator
 * likes (FilterDeclare sed, ExtFilterDefine buffer); only
 * AddOutputFilterByType's ("BYTYPE:NAME") is taken by the name it wraps,
 * mod_include excepted, whose source no watch reads there, and only where
 * no FilterDeclare or FilterProvider names a BYTYPE: filter (one may add
 * INCLUDES to BYTYPE:SUBSTITUTE) and no .htaccess file was read for the
 * request (FilterProvider is allowed there).  Any other
 * (mod_ext_filter, mod_lua, a mod_filter chain, INCLUDES added by content
 * type or after the render began) keeps the response out.  The filter's
 * name, or NULL. */
static const char *unknown_filter_before(request_rec *r, ap_filter_t *save)
{
    ap_filter_rec_t *includes = sc_filter_genuine("includes");
    int by_type_ok = !sc_rules_bytype_declared() && !sc_htaccess_applies(r, 0);
    const ap_filter_t *f, *prev = NULL;

    for (f = r->output_filters; f && f != save; prev = f, f = f->next) {
        const char *name = f->frec->name;
        int by_type = !strncasecmp(name, "bytype:", 7);

        if (by_type && !by_type_ok) {
            return name;
        }
        if (f->frec == sc_ssi_watch_filter_handle
            || f->frec == sc_esi_length_filter_handle) {
            continue;
        }
        if (includes && f->frec == includes) {
            if (!prev || prev->frec != sc_ssi_watch_filter_handle) {
                return name;
            }
            continue;
        }
        if (!known_filter(f, by_type ? name + 7 : name, by_type)) {
            return name;
        }
    }
    return NULL;
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
    apr_table_do(collect_header, &coll, out, NULL);
    stored_date(r, out, apr_array_push(ctx->headers));
    apr_pool_create(&ctx->cpool, r->pool);
    apr_pool_tag(ctx->cpool, "sharedcache_capture");
    ctx->pieces = apr_array_make(ctx->cpool, 16, sizeof(sc_piece_t));
    return 1;
}
