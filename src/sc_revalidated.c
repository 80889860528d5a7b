/*
 * sc_revalidated.c: the application's answer to a revalidation (RFC 9111
 * 4.3.4, 4.3.5): a 304, or a 200 to a HEAD that carries the stored
 * validators, makes the stored response, with the answer's header fields,
 * the response again; the fields the stored body depends on and its tags
 * stay the stored ones.
 */
#include "sc_request.h"
#include "sc_log.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* The fields the stored body depends on (RFC 9111 3.2): a 304 or a HEAD
 * never replaces them.  A 304 with another Vary would file the stored
 * variant under other requests' key (one user's page for another); one
 * with a Content-Encoding would relabel the stored bytes. */
static const char *const body_fields[] = {
    "Content-Length", "Content-Type", "Content-Encoding",
    "Content-Range",  "Vary",         NULL
};

void sc_drop_data(apr_bucket_brigade *bb)
{
    apr_bucket *b, *next;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = next) {
        next = APR_BUCKET_NEXT(b);
        if (!APR_BUCKET_IS_METADATA(b)) {
            apr_bucket_delete(b);
        }
    }
}

/* Revalidation answered 304 (RFC 9111 4.3.4): the stored response, with
 * the 304's header fields replacing the stored ones (not those the body
 * depends on, nor those never stored), is the response now: its body
 * leads bb, where nothing of the 304 but metadata is left (nor of its
 * later brigades: sc_capture_filter).  Stored again
 * as a new render would be, on the headers as they now are. */
void sc_revalidated(request_rec *r, sc_req_t *ctx, apr_bucket_brigade *bb)
{
    const sc_entry_t *e = &ctx->revalidating->entry;
    apr_table_t *merged = apr_table_make(r->pool, e->headers->nelts + 8);
    /* the answer's fields as its handler made them: one set before it ran
     * (this request's own, made again for every hit) replaces no stored
     * one, and stays where it was */
    int replaced = sc_fields_replaced(r, ctx);
    apr_table_t *answered = sc_own_fields(r, ctx, replaced);
    const apr_array_header_t *arr = apr_table_elts(answered);
    const apr_table_entry_t *te = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        if (!strcasecmp(h->name, "Content-Type")) {
            ap_set_content_type(r, h->value);
        }
        /* The stored Date is the first render's: freshness that Expires
         * gives counts from the answer's Date, or from now. */
        else if (!strcasecmp(h->name, "Date")) {
            continue;
        }
        else if (sc_name_listed(h->name, body_fields)
                 || !apr_table_get(answered, h->name)) {
            apr_table_addn(merged, h->name, h->value);
        }
    }
    for (i = 0; i < arr->nelts; i++) {
        if (!sc_name_listed(te[i].key, body_fields)) {
            apr_table_addn(merged, te[i].key, te[i].val);
        }
    }
    if (!replaced && ctx->before_out) {
        merged = apr_table_overlay(r->pool, merged, ctx->before_out);
    }
    /* The stored response's tags stay its tags, with those the 304 names
     * (Django's and Flask's 304s keep few fields, and a middleware may add
     * some of the tags back): an invalidation of any reaches it. */
    for (i = 0; i < e->deps->nelts; i++) {
        const sc_dep_t *dep = &APR_ARRAY_IDX(e->deps, i, sc_dep_t);
        if (dep->name[0] == SC_DEP_TAG && dep->name[1] == ':') {
            apr_table_addn(merged, ctx->dconf->tag_header, dep->name + 2);
        }
    }
    /* mod_mime's label of the 304 itself is not the stored body's */
    r->content_encoding = NULL;
    r->status = e->status;
    r->status_line = NULL;
    r->headers_out = merged;
    r->err_headers_out = ctx->before_err
                             ? apr_table_copy(r->pool, ctx->before_err)
                             : apr_table_make(r->pool, 4);
    /* the body as it was captured: decoded (sc_coding_serve) */
    ap_set_content_length(
        r, (apr_off_t)(e->codings ? e->identity_len : e->body_len));
    sc_drop_data(bb);
    APR_BRIGADE_PREPEND(bb, ctx->revalidating->plain);
    ctx->kept_deps = e->deps;
    /* what the earlier MISS gave out under these validators stays out */
    ctx->recoded |= (e->flags & SC_EF_RECODED) != 0;
    ctx->revalidating = NULL;
    /* what the stored response's handler said counts with the 304's */
    sc_note_handler(r);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  SC_LOGNO(0324) "revalidated: the application answered 304, "
                                 "the stored response is served");
}

/* RFC 9111 4.3.5: a 200 to the cache's HEAD freshens the stored response
 * as a 304 would when it carries a validator, every validator it carries
 * is the stored one, and the length it says (if any) is the stored
 * body's.  Any other HEAD response leaves the entry as it is (stale: the
 * next GET revalidates it). */
int sc_head_freshens(request_rec *r, const sc_req_t *ctx)
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
    if (etag
        && (!(stored = sc_header_value(e->headers, "ETag"))
            || strcmp(etag, stored))) {
        return 0;
    }
    if (lm
        && (!(stored = sc_header_value(e->headers, "Last-Modified"))
            || strcmp(lm, stored))) {
        return 0;
    }
    return !cl || !strcmp(cl, apr_psprintf(r->pool, "%" APR_UINT64_T_FMT, len));
}
