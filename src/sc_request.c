/*
 * sc_request.c: what every stage of a request shares.  Owns the request's
 * context (sc_req_t, checked by its magic number), the rate-limited memcached
 * warning, the client's request, method and URL, what the policy decides
 * on, and restoring a stored response's status and headers.
 */
#include "sc_request.h"
#include "sc_log.h"
#include "sc_status.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include <apr_date.h>
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(sharedcache);

/* r->notes: this request's hit set no-gzip and no-brotli (label_coding),
 * taken back once it has passed the filters */
#define NOTE_NO_COMPRESS "sharedcache-no-compress"

sc_req_t *sc_req_get(const request_rec *r)
{
    sc_req_t *ctx = ap_get_module_config(r->request_config,
                                         &sharedcache_module);

    if (ctx && ctx->magic != SC_REQ_MAGIC) {
        ap_log_rerror(APLOG_MARK, APLOG_CRIT, 0, r,
                      SC_LOGNO(0208) "request context corrupt (magic %08x)",
                      ctx->magic);
        abort();
    }
    return ctx;
}

sc_req_t *sc_req_new(request_rec *r, sc_dir_conf_t *d, sc_phase_t phase)
{
    sc_req_t *ctx = apr_pcalloc(r->pool, sizeof(*ctx));

    ctx->magic = SC_REQ_MAGIC;
    ctx->dconf = d;
    ctx->quick = phase == SC_PHASE_QUICK;
    ctx->sconf = ap_get_module_config(r->server->module_config,
                                      &sharedcache_module);
    ctx->state = SC_CAP_NEW;
    return ctx;
}

void sc_log_backend(request_rec *r, const char *what, const char *error)
{
    /* One warning per 10 s per process: memcached being down must not
     * flood the log with one line per request. */
    static apr_time_t last;
    apr_time_t now = apr_time_now();

    if (now - last > apr_time_from_sec(10)) {
        last = now;
        ap_log_rerror(
            APLOG_MARK, APLOG_WARNING, 0, r,
            SC_LOGNO(0201) "memcached %s failed, serving uncached: %s", what,
            error ? error : "no handle available");
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0202) "memcached %s failed: %s", what,
                      error ? error : "no handle available");
    }
}

/* The request the client sent: internal redirects (front controllers,
 * FallbackResource) keep it as the first of r->prev. */
const request_rec *sc_client_request(const request_rec *r)
{
    while (r->prev) {
        r = r->prev;
    }
    return r;
}

int sc_client_method(request_rec *r)
{
    const request_rec *c;

    /* A subrequest (an SSI or ESI include) is its own GET: it copies the
     * client's request line, not its method (a POST to the page must not
     * make every fragment a POST that bypasses and invalidates). */
    if (r->main) {
        return r->method_number;
    }
    c = sc_client_request(r);
    const char *line = c->the_request;
    const char *sp = line ? strchr(line, ' ') : NULL;

    /* mod_cgi and mod_wsgi turn a local redirect's request into a GET
     * (method and method_number) before redirecting: the request line
     * still says what the client sent. */
    if (sp && sp > line) {
        return ap_method_number_of(
            apr_pstrmemdup(r->pool, line, (apr_size_t)(sp - line)));
    }
    return c->method_number;
}

void sc_request_url(request_rec *r, sc_url_t *url)
{
    const request_rec *c = sc_client_request(r);

    url->scheme = ap_http_scheme(r);
    /* r->hostname is the Host header as httpd normalised it; the virtual
     * host's own name is a field of its own in the key, so two virtual
     * hosts never share an entry. */
    url->host = r->hostname ? r->hostname : r->server->server_hostname;
    url->port = r->server->port ? r->server->port
                                : r->connection->local_addr->port;
    /* What the client asked for, decoded and normalised by httpd: URL
     * invalidation (PURGE, unsafe methods, sharedcachectl, Python) names
     * pages this way. */
    url->path = c->uri;
    url->query = c->args;
}

/* Fields that address this cache, never the client: the targeted ones
 * are stored (a revalidation's 304 without them keeps their freshness),
 * but no client gets them. */
const char *const sc_cache_only_fields[] = { "Surrogate-Control",
                                             "CDN-Cache-Control",
                                             "X-SharedCache-Vary", NULL };

int sc_name_listed(const char *name, const char *const *list)
{
    for (; *list; list++) {
        if (!strcasecmp(name, *list)) {
            return 1;
        }
    }
    return 0;
}

int sc_names_equal(const apr_array_header_t *a, const apr_array_header_t *b)
{
    int i, n = a ? a->nelts : 0;

    if (n != (b ? b->nelts : 0)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(APR_ARRAY_IDX(a, i, const char *),
                   APR_ARRAY_IDX(b, i, const char *))) {
            return 0;
        }
    }
    return 1;
}

int sc_header_cache_only(const char *name)
{
    return sc_name_listed(name, sc_cache_only_fields);
}

/* Fields about one exchange, not the page: the server's side of this
 * request's authentication (RFC 9110 11.6.3, 11.7.3; mod_auth_digest's
 * rspauth over the request's own cnonce and nonce count, set before the
 * handler).  Never stored; a hit keeps those its request got. */
const char *const sc_exchange_fields[] = { "Authentication-Info",
                                           "Proxy-Authentication-Info", NULL };

/* The stored fields join those r holds (set before its handler would
 * run: mod_headers' "early", a module's hook, each made for this request
 * and never stored), unless the stored response's handler replaced those
 * (SC_EF_OWN_FIELDS: mod_proxy), which keeps only the exchange's own. */
static void restore_headers(request_rec *r, const sc_entry_t *e)
{
    const char *own[sizeof(sc_exchange_fields) / sizeof(*sc_exchange_fields)];
    int i;

    if (e->flags & SC_EF_OWN_FIELDS) {
        for (i = 0; sc_exchange_fields[i]; i++) {
            own[i] = apr_table_get(r->headers_out, sc_exchange_fields[i]);
        }
        apr_table_clear(r->headers_out);
        for (i = 0; sc_exchange_fields[i]; i++) {
            if (own[i]) {
                apr_table_setn(r->headers_out, sc_exchange_fields[i], own[i]);
            }
        }
    }
    for (i = 0; i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        /* A subrequest's fields reach no client, and a fragment's
         * targeted freshness is what its page takes (sc_fragment.c). */
        if (!r->main && sc_header_cache_only(h->name)) {
            continue;
        }
        if (!strcasecmp(h->name, "Content-Type")) {
            ap_set_content_type(r, h->value);
        }
        else {
            apr_table_addn(r->headers_out, h->name, h->value);
        }
    }
}

/* A coded entry is labelled with the coding it is served in, as
 * mod_deflate and mod_brotli label their output (sc_coding.c): returns
 * the Content-Length. */
static apr_off_t label_coding(request_rec *r, const sc_found_t *res)
{
    const sc_entry_t *e = &res->entry;
    const char *vary, *etag;

    /* If-Range cannot tell the hit's bytes from the MISS's where they
     * differ: an entry stored coded went out as the application made it
     * under the same Last-Modified, or coded by mod_deflate (mod_brotli,
     * which read no weight but 0) under the same "-gzip" ("-br")
     * entity-tag, from another compressor's bytes; an entry stored as it
     * is whose MISS such a filter coded (SC_EF_RECODED) has a hit of
     * other bytes too, identity in quick mode, or coded from another
     * flushing of the body (RFC 9110 13.1.5): a resumed download would
     * join two encodings.  The whole representation then. */
    if ((e->codings || (e->flags & SC_EF_RECODED))
        && apr_table_get(r->headers_in, "If-Range")) {
        apr_table_unset(r->headers_in, "Range");
    }
    if (!e->codings) {
        return (apr_off_t)e->body_len;
    }
    vary = apr_table_get(r->headers_out, "Vary");
    if (!vary || !ap_find_token(r->pool, vary, "Accept-Encoding")) {
        apr_table_mergen(r->headers_out, "Vary", "Accept-Encoding");
    }
    if (res->coding == SC_CODING_IDENTITY) {
        /* The cache chose identity for this client (its weights,
         * no-transform): a compression filter after it must not choose
         * again (mod_deflate reads no weight but 0).  Set only while the
         * hit passes the filters (sc_pass_restored): a refresh made from
         * this request must not inherit them into its key. */
        if (!apr_table_get(r->subprocess_env, "no-gzip")
            && !apr_table_get(r->subprocess_env, "no-brotli")) {
            apr_table_setn(r->subprocess_env, "no-gzip", "1");
            apr_table_setn(r->subprocess_env, "no-brotli", "1");
            apr_table_setn(r->notes, NOTE_NO_COMPRESS, "1");
        }
        return (apr_off_t)e->identity_len;
    }
    /* digests of the identity body are not this coding's (mod_deflate
     * drops Content-MD5 too) */
    apr_table_unset(r->headers_out, "Content-MD5");
    apr_table_unset(r->headers_out, "Digest");
    apr_table_unset(r->headers_out, "Content-Digest");
    apr_table_unset(r->headers_out, "Repr-Digest");
    apr_table_setn(r->headers_out, "Content-Encoding",
                   sc_codec_name(res->coding));
    r->content_encoding = sc_codec_name(res->coding);
    etag = apr_table_get(r->headers_out, "ETag");
    if (etag) {
        apr_table_setn(r->headers_out, "ETag",
                       sc_codec_etag(r->pool, etag, res->coding));
    }
    return (apr_off_t)e->coding_len[res->coding];
}

void sc_restore_response(request_rec *r, const sc_req_t *ctx,
                         const sc_found_t *found, apr_int64_t now,
                         sc_decision_t status)
{
    const sc_entry_t *e = &found->entry;
    const char *lm;
    apr_int64_t age = now - e->stored_at;
    sc_verdict_t v = { .fwd = SC_FWD_NONE };

    restore_headers(r, e);
    r->status = e->status;
    r->status_line = NULL;
    apr_table_setn(
        r->headers_out, "Age",
        apr_psprintf(r->pool, "%" APR_INT64_T_FMT, age < 0 ? 0 : age));
    lm = apr_table_get(r->headers_out, "Last-Modified");
    if (lm) {
        apr_time_t t = apr_date_parse_http(lm);
        if (t != APR_DATE_BAD) {
            r->mtime = t;
        }
    }
    ap_set_content_length(r, label_coding(r, found));
    v.has_ttl = 1;
    v.ttl = e->fresh_until - now;
    v.collapsed = ctx->collapsed;
    v.detail = found->local ? "local" : NULL;
    sc_set_status(r, ctx->dconf, status, &v);
}

void sc_captured_copy(const sc_req_t *ctx, apr_off_t from, char *dst,
                      apr_size_t len)
{
    apr_off_t pos = 0;
    int i;

    for (i = 0; i < ctx->pieces->nelts && len > 0; i++) {
        const sc_piece_t *pc = &APR_ARRAY_IDX(ctx->pieces, i, sc_piece_t);
        apr_off_t end = pos + (apr_off_t)pc->len;
        if (end > from) {
            apr_size_t skip = (apr_size_t)(from - pos);
            apr_size_t n = pc->len - skip;
            if (n > len) {
                n = len;
            }
            memcpy(dst, pc->data + skip, n);
            dst += n;
            from += (apr_off_t)n;
            len -= n;
        }
        pos = end;
    }
}

ap_filter_t *sc_hit_filters(request_rec *r)
{
    ap_filter_t *f = r->output_filters;

    /* The chain ends in the protocol and connection filters, after any
     * content filter: there is always one. */
    while (f->next && f->frec->ftype <= SC_SAVE_FTYPE) {
        f = f->next;
    }
    return f;
}

#define RECEIVED "sharedcache-received"

apr_time_t sc_request_received(request_rec *r)
{
    void *t = NULL;

    apr_pool_userdata_get(&t, RECEIVED, r->pool);
    return t ? *(apr_time_t *)t : r->request_time;
}

apr_status_t sc_pass_restored(request_rec *r, ap_filter_t *next,
                              apr_bucket_brigade *bb)
{
    apr_time_t received = r->request_time;
    const char *date = apr_table_get(r->headers_out, "Date");
    apr_time_t *keep;
    apr_int64_t t;
    apr_status_t rv;

    /* httpd dates a response it did not proxy with r->request_time
     * (HTTP_HEADER and mod_http2 alike): for this pass, which carries the
     * whole response and its EOS, that is the stored Date.  A proxied
     * request keeps the Date of headers_out as it is. */
    if (date && r->proxyreq == PROXYREQ_NONE
        && sc_policy_http_date(date, apr_time_sec(received), &t)) {
        /* (what an ESI include made in this pass takes instead:
         * sc_request_received) */
        keep = apr_palloc(r->pool, sizeof(*keep));
        *keep = received;
        apr_pool_userdata_setn(keep, RECEIVED, NULL, r->pool);
        r->request_time = apr_time_from_sec(t);
    }
    rv = ap_pass_brigade(next, bb);
    r->request_time = received;
    if (apr_table_get(r->notes, NOTE_NO_COMPRESS)) {
        apr_table_unset(r->subprocess_env, "no-gzip");
        apr_table_unset(r->subprocess_env, "no-brotli");
        apr_table_unset(r->notes, NOTE_NO_COMPRESS);
    }
    return rv;
}

apr_status_t sc_pass_read(ap_filter_t *f, apr_bucket_brigade *bb,
                          apr_bucket *upto, apr_bucket_brigade **rest)
{
    apr_status_t rv;

    *rest = apr_brigade_split_ex(bb, upto, *rest);
    rv = ap_pass_brigade(f->next, bb);
    apr_brigade_cleanup(bb);
    APR_BRIGADE_CONCAT(bb, *rest);
    return rv;
}

int sc_handler_reports_broken_body(const request_rec *r)
{
    const char *h = r->handler, *ct = r->content_type;
    apr_size_t n;

    /* Files (the default handler, with or without INCLUDES; mod_asis) end
     * a broken body with an error bucket, and so does mod_proxy_http for a
     * body framed by the backend (sc_origin_framed).  mod_wsgi's daemon
     * mode, CGI (mod_cgi, mod_cgid), PHP, FastCGI and the rest end it like
     * a whole one. */
    if (!h || !strcmp(h, "default-handler") || !strcmp(h, "send-as-is")) {
        return 1;
    }
    if (!strcmp(h, "proxy-server") || !strncmp(h, "proxy:", 6)) {
        return sc_origin_framed(r);
    }
    /* Without a handler of its own, httpd names the handler after the
     * content type of the file (the default handler serves it); a module
     * that produced the content has a name of its own, or changed the
     * type (PHP's application/x-httpd-php answers text/html). */
    if (!ct || !strchr(h, '/')) {
        return 0;
    }
    n = strlen(h);
    return !strncasecmp(ct, h, n)
           && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

const char *sc_handler_name(request_rec *r)
{
    const char *h = apr_table_get(r->notes, SC_NOTE_HANDLER);
    const char *end;

    if (h || r->handler) {
        return h ? h : r->handler;
    }
    if (!r->content_type) {
        return NULL;
    }
    end = strchr(r->content_type, ';');
    if (!end) {
        return r->content_type;
    }
    while (end > r->content_type && end[-1] == ' ') {
        end--;
    }
    return apr_pstrmemdup(r->pool, r->content_type,
                          (apr_size_t)(end - r->content_type));
}

int sc_handler_live(request_rec *r)
{
    static const char *const live[] = { SC_STATUS_HANDLER,
                                        "server-status",
                                        "application/x-httpd-status",
                                        "server-info",
                                        "balancer-manager",
                                        "ldap-status",
                                        "md-status",
                                        NULL };
    const char *name = sc_handler_name(r);
    const char *const *h;

    for (h = live; name && *h; h++) {
        if (!strcasecmp(name, *h)) {
            return 1;
        }
    }
    return 0;
}
