/*
 * sc_handler.c: the first content handler.  Decides whether a request may
 * use the cache, looks the entry up in memcached and serves a hit; on a
 * miss it adds the capture filter and lets the real handler run.
 */
#include "sc_request.h"
#include "sc_key.h"
#include "sc_log.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_date.h>
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(sharedcache);

void sc_set_status(request_rec *r, const sc_dir_conf_t *d, const char *st)
{
    apr_table_setn(r->notes, "sharedcache-status", st);
    apr_table_setn(r->subprocess_env, "sharedcache-status", st);
    if (d->header && !r->main) {
        apr_table_setn(r->err_headers_out, "X-SharedCache", st);
    }
}

void sc_log_backend(request_rec *r, const char *what, const char *error)
{
    /* One warning per 10 s per process: memcached being down must not
     * flood the log with one line per request. */
    static apr_time_t last;
    apr_time_t now = apr_time_now();

    if (now - last > apr_time_from_sec(10)) {
        last = now;
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SC_LOGNO(0201)
                      "memcached %s failed, serving uncached: %s", what,
                      error ? error : "no handle available");
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0202)
                      "memcached %s failed: %s", what,
                      error ? error : "no handle available");
    }
}

/* Why this request may not use the cache at all, or NULL. */
static const char *bypass_reason(request_rec *r)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");

    if (apr_table_get(r->subprocess_env, "no-sharedcache")) {
        return "no-sharedcache is set";
    }
    if (apr_table_get(r->headers_in, "Authorization")) {
        return "request has Authorization";
    }
    /* A GET with a body: never cache (THREATS 11, 13). */
    if (apr_table_get(r->headers_in, "Transfer-Encoding")
        || (cl && strcmp(cl, "0") != 0)) {
        return "request has a body";
    }
    /* An ErrorDocument's internal redirect carries the error status. */
    if (r->prev && ap_is_HTTP_ERROR(r->status)) {
        return "error document";
    }
    return NULL;
}

static void build_key(request_rec *r, sc_req_t *ctx)
{
    sc_url_t url;
    sc_key_t k;
    apr_port_t port = r->server->port ? r->server->port
                                      : r->connection->local_addr->port;

    url.scheme = ap_http_scheme(r);
    /* r->hostname is the Host header as httpd normalised it; the virtual
     * host's own name is a field of its own, so two virtual hosts never
     * share an entry and a forged Host only reaches its own entries. */
    url.host = r->hostname ? r->hostname : r->server->server_hostname;
    url.port = port;
    url.path = r->uri;
    url.query = r->args;
    sc_key_init(&k, r->pool, &url, NULL);
    sc_key_add(&k, 's', "vhost", apr_psprintf(r->pool, "%s:%u",
                                              r->server->server_hostname,
                                              (unsigned)port));
    ctx->key = sc_key_bytes(&k, &ctx->key_len);
    ctx->entry_key = sc_key_digest(r->pool, ctx->sconf->prefix,
                                   SC_KIND_ENTRY, ctx->key, ctx->key_len);
    ctx->chunk_base = sc_key_digest(r->pool, ctx->sconf->prefix,
                                    SC_KIND_CHUNK, ctx->key, ctx->key_len);
}

/* Fetch a chunked body in one multi-get; NULL if any chunk is missing or
 * fails its check (then the whole entry is a miss). */
static apr_bucket_brigade *fetch_chunks(request_rec *r, sc_req_t *ctx,
                                        sc_conn_t *c, const sc_entry_t *e)
{
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;
    const char **keys = apr_palloc(r->pool, e->nchunks * sizeof(char *));
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, ba);
    apr_uint64_t left = e->body_len;
    sc_value_t *vals;
    apr_uint32_t i;

    for (i = 0; i < e->nchunks; i++) {
        keys[i] = apr_psprintf(r->pool, "%s:%016" APR_UINT64_T_HEX_FMT ":%u",
                               ctx->chunk_base, e->version, i);
    }
    if (sc_store_mget(c, r->pool, keys, e->nchunks, &vals) != APR_SUCCESS) {
        sc_log_backend(r, "get of chunks", c->error);
        return NULL;
    }
    for (i = 0; i < e->nchunks; i++) {
        apr_size_t want = left > e->chunk_size ? e->chunk_size
                                               : (apr_size_t)left;
        const char *data;
        apr_bucket *b;

        if (!vals[i].data
            || sc_chunk_check(vals[i].data, vals[i].len, e->version, i,
                              want, &data) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SC_LOGNO(0203)
                          "chunk %u of %s missing or corrupt: miss", i,
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
        left -= want;
    }
    return bb;
}

static void restore_headers(request_rec *r, const sc_entry_t *e)
{
    int i;

    apr_table_clear(r->headers_out);
    for (i = 0; i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        if (!strcasecmp(h->name, "Content-Type")) {
            ap_set_content_type(r, h->value);
        }
        else {
            apr_table_addn(r->headers_out, h->name, h->value);
        }
    }
}

/* Serve a fresh entry.  Returns OK or an HTTP status for ap_die. */
static int serve(request_rec *r, sc_req_t *ctx, const sc_entry_t *e,
                 apr_bucket_brigade *body, apr_int64_t now)
{
    const char *lm;
    apr_int64_t age = now - e->stored_at;
    int rv;

    restore_headers(r, e);
    r->status = e->status;
    apr_table_setn(r->headers_out, "Age", apr_psprintf(r->pool,
                   "%" APR_INT64_T_FMT, age < 0 ? 0 : age));
    lm = apr_table_get(r->headers_out, "Last-Modified");
    if (lm) {
        apr_time_t t = apr_date_parse_http(lm);
        if (t != APR_DATE_BAD) {
            r->mtime = t;
        }
    }
    sc_set_status(r, ctx->dconf, SC_HIT);

    /* Conditional requests are answered from the stored validators; a
     * 304 is sent only for a matching conditional request. */
    if (e->status == HTTP_OK) {
        rv = ap_meets_conditions(r);
        if (rv == HTTP_NOT_MODIFIED) {
            r->status = HTTP_NOT_MODIFIED;
            apr_brigade_cleanup(body);
        }
        else if (rv != OK) {
            apr_brigade_destroy(body);
            return rv;
        }
    }
    if (r->status != HTTP_NOT_MODIFIED) {
        ap_set_content_length(r, (apr_off_t)e->body_len);
    }
    APR_BRIGADE_INSERT_TAIL(body, apr_bucket_eos_create(
                                      r->connection->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, body);
    return rv == APR_SUCCESS || r->connection->aborted ? OK
                                                       : AP_FILTER_ERROR;
}

typedef enum { LOOKUP_MISS, LOOKUP_ERROR, LOOKUP_FOUND } lookup_t;

/* Find a fresh entry and its body.  Everything that talks to memcached is
 * here, so the handle goes back to the pool before a (possibly slow)
 * client is served. */
static lookup_t lookup(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                       apr_int64_t now, sc_entry_t *e,
                       apr_bucket_brigade **body)
{
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;
    sc_value_t *vals;

    if (sc_store_mget(c, r->pool, &ctx->entry_key, 1, &vals)
        != APR_SUCCESS) {
        sc_log_backend(r, "lookup", c->error);
        return LOOKUP_ERROR;
    }
    if (!vals[0].data) {
        return LOOKUP_MISS;
    }
    if (sc_entry_decode(r->pool, vals[0].data, vals[0].len, e)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SC_LOGNO(0204)
                      "corrupt entry %s: treated as a miss",
                      ctx->entry_key);
        return LOOKUP_MISS;
    }
    /* The digest is only an address: the full key must match, so a hash
     * collision or a misdirected reply can never serve another page. */
    if (e->key_len != ctx->key_len || memcmp(e->key, ctx->key, e->key_len)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SC_LOGNO(0205)
                      "entry %s holds another key: treated as a miss",
                      ctx->entry_key);
        return LOOKUP_MISS;
    }
    if (e->type != SC_REC_ENTRY || now >= e->fresh_until) {
        return LOOKUP_MISS;
    }
    if (e->body_kind == SC_BODY_CHUNKED) {
        *body = fetch_chunks(r, ctx, c, e);
        if (!*body) {
            return c->failed ? LOOKUP_ERROR : LOOKUP_MISS;
        }
        return LOOKUP_FOUND;
    }
    *body = apr_brigade_create(r->pool, ba);
    if (e->body_len > 0) {
        /* Zero copy: the bucket owns libmemcached's buffer. */
        apr_size_t off = (apr_size_t)(e->body - vals[0].data);
        apr_bucket *b = apr_bucket_heap_create(vals[0].data, vals[0].len,
                                               free, ba);
        sc_value_take(&vals[0]);
        b->start = off;
        b->length = (apr_size_t)e->body_len;
        APR_BRIGADE_INSERT_TAIL(*body, b);
    }
    return LOOKUP_FOUND;
}

int sc_handler(request_rec *r)
{
    sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                            &sharedcache_module);
    sc_req_t *ctx;
    sc_conn_t *c;
    sc_entry_t e;
    apr_bucket_brigade *body = NULL;
    apr_int64_t now;
    lookup_t found;
    const char *why;

    if (d && APLOGrtrace2(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r, "config for %s: %s",
                      r->uri, sc_config_describe(r->pool,
                          ap_get_module_config(r->server->module_config,
                                               &sharedcache_module), d));
    }
    if (!d || d->enabled != 1 || r->method_number != M_GET
        || r->proxyreq == PROXYREQ_PROXY) {
        return DECLINED;
    }
    why = bypass_reason(r);
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "bypass: %s", why);
        sc_set_status(r, d, SC_BYPASS);
        return DECLINED;
    }
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->dconf = d;
    ctx->sconf = ap_get_module_config(r->server->module_config,
                                      &sharedcache_module);
    build_key(r, ctx);

    c = sc_store_borrow(ctx->sconf->backend, r->pool);
    if (!c) {
        sc_log_backend(r, "lookup", NULL);
        sc_set_status(r, d, SC_ERROR);
        return DECLINED;
    }
    now = apr_time_sec(apr_time_now());
    found = lookup(r, ctx, c, now, &e, &body);
    sc_store_return(c, r->pool);

    switch (found) {
    case LOOKUP_FOUND:
        return serve(r, ctx, &e, body, now);
    case LOOKUP_ERROR:
        /* memcached is down or slow: render uncached, and do not pay a
         * second timeout trying to store. */
        sc_set_status(r, d, SC_ERROR);
        return DECLINED;
    case LOOKUP_MISS:
        break;
    }
    ap_add_output_filter_handle(sc_save_filter_handle, ctx, r,
                                r->connection);
    return DECLINED;
}
