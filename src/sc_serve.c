/*
 * sc_serve.c: a stored entry served: its response restored, a client's
 * conditional request answered from the stored validators (RFC 9110
 * 13.2.2's order), an ESI page handed to SHAREDCACHE_ESI in its parsed
 * form, and what SHAREDCACHE_DECIDE needs to keep the body and its
 * Content-Encoding together.
 */
#include "sc_request.h"
#include "sc_log.h"
#include "sc_status.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* What SHAREDCACHE_DECIDE needs to keep a hit's body and its
 * Content-Encoding together: the stored label and the first bytes. */
static void remember_label(request_rec *r, sc_req_t *ctx, const sc_found_t *res)
{
    const sc_entry_t *e = &res->entry;
    apr_bucket *b = APR_BRIGADE_FIRST(res->body);
    const char *data;
    apr_size_t len;
    int i;

    ctx->served_encoding = res->coding != SC_CODING_IDENTITY
                               ? sc_codec_name(res->coding)
                               : NULL;
    for (i = 0; !e->codings && i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        if (!strcasecmp(h->name, "Content-Encoding")) {
            ctx->served_encoding = h->value;
        }
    }
    ctx->first_len = 0;
    if (b != APR_BRIGADE_SENTINEL(res->body)
        && apr_bucket_read(b, &data, &len, APR_BLOCK_READ) == APR_SUCCESS) {
        ctx->first_len = len < sizeof(ctx->first) ? len : sizeof(ctx->first);
        memcpy(ctx->first, data, ctx->first_len);
    }
    ap_set_module_config(r->request_config, &sharedcache_module, ctx);
}

/* A conditional request to a stored 200, in the order of RFC 9110
 * 13.2.2: If-Match, else If-Unmodified-Since (412 when it fails); then
 * If-None-Match, else If-Modified-Since (304 when it fails).  The
 * comparisons are httpd's, the order is not ap_meets_conditions', which
 * evaluates every field and lets a date undo a matching entity-tag. */
static int hit_conditions(request_rec *r)
{
    apr_table_t *in = r->headers_in, *h = r->headers_out;

    if (!apr_table_get(in, "If-Match") && !apr_table_get(in, "If-None-Match")
        && !apr_table_get(in, "If-Modified-Since")
        && !apr_table_get(in, "If-Unmodified-Since")) {
        return OK;
    }
    /* httpd's date checks take the Date as the time of the request: the
     * stored one is the response's. */
    if (apr_table_get(h, "Date")) {
        h = apr_table_copy(r->pool, h);
        apr_table_unset(h, "Date");
    }
    if (apr_table_get(in, "If-Match")) {
        if (ap_condition_if_match(r, h) == AP_CONDITION_NOMATCH) {
            return HTTP_PRECONDITION_FAILED;
        }
    }
    else if (ap_condition_if_unmodified_since(r, h) >= AP_CONDITION_WEAK) {
        return HTTP_PRECONDITION_FAILED; /* modified since */
    }
    if (apr_table_get(in, "If-None-Match")) {
        return ap_condition_if_none_match(r, h) >= AP_CONDITION_WEAK
                   ? HTTP_NOT_MODIFIED
                   : OK;
    }
    return ap_condition_if_modified_since(r, h) >= AP_CONDITION_WEAK
               ? HTTP_NOT_MODIFIED
               : OK;
}

/* The deflate pieces stored with the page (sc_entry.h format 4) to its
 * literal runs, copied (the record goes with its body's brigade) for a
 * client that may get the page as gzip (sc_assemble.c decides).  None
 * unless there is one per run. */
static void esi_pieces(request_rec *r, sc_esi_doc_t *doc, const sc_entry_t *e)
{
    int i, n = 0;

    if (!e->pieces
        || sc_coding_for_client(r, r->content_type,
                                SC_CODING_BIT(SC_CODING_GZIP))
               != SC_CODING_GZIP) {
        return;
    }
    for (i = 0; i < doc->nodes->nelts; i++) {
        n += APR_ARRAY_IDX(doc->nodes, i, sc_esi_node_t).kind == SC_ESI_LITERAL;
    }
    if (n != e->pieces->nelts) {
        return;
    }
    for (i = 0, n = 0; i < doc->nodes->nelts; i++) {
        sc_esi_node_t *node = &APR_ARRAY_IDX(doc->nodes, i, sc_esi_node_t);
        const sc_entry_piece_t *pc;

        if (node->kind != SC_ESI_LITERAL) {
            continue;
        }
        pc = &APR_ARRAY_IDX(e->pieces, n++, sc_entry_piece_t);
        node->piece = apr_pmemdup(r->pool, pc->data, pc->len);
        node->piece_len = pc->len;
    }
}

/* A hit of an ESI page: its parsed form goes to SHAREDCACHE_ESI, which
 * assembles the page (no validators: never a 304 of the shell).  A record
 * that does not decode is served as an error, never as text. */
static int serve_esi(request_rec *r, sc_req_t *ctx, const sc_entry_t *e,
                     apr_bucket_brigade *body)
{
    sc_esi_doc_t *doc;
    apr_bucket_brigade *bb;
    char *buf;
    apr_size_t len;
    apr_status_t rv;

    if (apr_brigade_pflatten(body, &buf, &len, r->pool) != APR_SUCCESS
        || sc_esi_decode(r->pool, buf, len, &doc) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      SC_LOGNO(0213) "stored ESI page %s does not decode",
                      ctx->entry_key);
        apr_brigade_destroy(body);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    esi_pieces(r, doc, e);
    apr_brigade_destroy(body);
    ctx->esi_doc = doc;
    ctx->first_len = 0; /* no label to keep: the page is made anew */
    ap_set_module_config(r->request_config, &sharedcache_module, ctx);
    apr_table_unset(r->headers_out, "ETag");
    apr_table_unset(r->headers_out, "Last-Modified");
    r->mtime = 0; /* (If-Range reads it where no Last-Modified is) */
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb,
                            apr_bucket_eos_create(r->connection->bucket_alloc));
    rv = sc_pass_restored(r, sc_hit_filters(r), bb);
    return rv == APR_SUCCESS || r->connection->aborted ? OK : AP_FILTER_ERROR;
}

/* Serve a stored entry.  Returns OK or an HTTP status for ap_die. */
int sc_serve(request_rec *r, sc_req_t *ctx, const sc_found_t *res,
             apr_int64_t now, sc_decision_t status)
{
    const sc_entry_t *e = &res->entry;
    apr_bucket_brigade *body = res->body;
    int rv;

    sc_restore_response(r, ctx, res, now, status);
    if (r->main) {
        /* a fragment: what its handler said, for the page that holds it
         * (a main request's hit was decided on when it was stored) */
        sc_note_handler(r);
    }
    sc_stat_add_r(r, SC_STAT_SERVED_BYTES, e->body_len);
    if (e->flags & SC_EF_ESI) {
        return serve_esi(r, ctx, e, body);
    }
    remember_label(r, ctx, res);
    if (ctx->quick) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "hit for %s served by the quick handler", r->uri);
    }

    /* Conditional requests are answered from the stored validators; a
     * 304 is sent only for a matching conditional request. */
    if (e->status == HTTP_OK) {
        rv = hit_conditions(r);
        if (rv == HTTP_NOT_MODIFIED) {
            r->status = HTTP_NOT_MODIFIED;
            apr_brigade_cleanup(body);
            /* the client's copy may be in another coding (the MISS went
             * out as the application or mod_deflate made it): no
             * representation metadata for it to apply (RFC 9110 15.4.5) */
            apr_table_unset(r->headers_out, "Content-Encoding");
            r->content_encoding = NULL;
        }
        else if (rv != OK) {
            apr_brigade_destroy(body);
            return rv;
        }
    }
    APR_BRIGADE_INSERT_TAIL(body,
                            apr_bucket_eos_create(r->connection->bucket_alloc));
    rv = sc_pass_restored(r, sc_hit_filters(r), body);
    return rv == APR_SUCCESS || r->connection->aborted ? OK : AP_FILTER_ERROR;
}

apr_status_t sc_serve_stale_instead(request_rec *r, sc_req_t *failed,
                                    int status, ap_filter_t *next)
{
    apr_bucket_brigade *out = failed->stale->body;

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  SC_LOGNO(0309) "backend answered %d: serving the stale "
                                 "copy instead",
                  status);
    failed->state = SC_CAP_SUBSTITUTED;
    /* the fields of the failed response go, those set before its handler
     * ran stay */
    r->headers_out = failed->before_out
                         ? apr_table_copy(r->pool, failed->before_out)
                         : apr_table_make(r->pool, 8);
    r->err_headers_out = failed->before_err
                             ? apr_table_copy(r->pool, failed->before_err)
                             : apr_table_make(r->pool, 8);
    sc_restore_response(r, failed, failed->stale, apr_time_sec(apr_time_now()),
                        SC_STALE);
    APR_BRIGADE_INSERT_TAIL(out,
                            apr_bucket_eos_create(r->connection->bucket_alloc));
    return sc_pass_restored(r, next, out);
}

/* httpd answers an error with an ErrorDocument's local path by an
 * internal redirect, which runs the quick handler first (whatever
 * SharedCacheQuickHandler says): the failed request is r->prev, its
 * status the error's. */
int sc_serve_stale_for_error_document(request_rec *r)
{
    sc_req_t *failed;
    apr_status_t rv;

    if (!r->prev || r->main || !ap_is_HTTP_SERVER_ERROR(r->prev->status)) {
        return DECLINED;
    }
    failed = sc_req_get(r->prev);
    if (!failed || !failed->stale || failed->state == SC_CAP_SUBSTITUTED) {
        return DECLINED;
    }
    rv = sc_serve_stale_instead(r, failed, r->prev->status, r->output_filters);
    return rv == APR_SUCCESS || r->connection->aborted ? OK : AP_FILTER_ERROR;
}
