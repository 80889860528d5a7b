/*
 * sc_coding.c: compressed storage.  At the store, a compressible response
 * is kept coded (gzip, and br where smaller: sc_codec.h) instead of as it
 * is; at a hit, the client gets the stored coding it prefers as stored,
 * or the body decoded when it accepts none, labelled as mod_deflate and
 * mod_brotli label their own output (Content-Encoding, Vary, ETag:
 * sc_request.c), so a compression filter after the cache passes it on
 * untouched.
 */
#include "sc_request.h"
#include "sc_log.h"
#include "sc_status.h"
#include "sc_unzipped.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* Cache-Control: no-transform in any of the response's field lines? */
static int no_transform(request_rec *r, const apr_array_header_t *hs)
{
    int i;

    for (i = 0; hs && i < hs->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(hs, i, sc_header_t);
        if (!strcasecmp(h->name, "Cache-Control")
            && ap_find_token(r->pool, h->value, "no-transform")) {
            return 1;
        }
    }
    return 0;
}

/* Why the captured body is stored as it is, or NULL when it is coded. */
static const char *keep_as_is(request_rec *r, const sc_req_t *ctx)
{
    const char *ce = sc_header_value(ctx->headers, "Content-Encoding");

    if (ctx->dconf->compress != 1) {
        return "SharedCacheCompress Off";
    }
    /* a refresh after a stale hit (a subrequest) stores the page */
    if ((r->main && !ctx->refreshing) || ctx->esi_shell) {
        return "a fragment or an ESI page";
    }
    if (ctx->captured < SC_CODEC_MIN) {
        return "small";
    }
    /* (what its application wrote anyway is no representation) */
    if (r->status == HTTP_NO_CONTENT) {
        return "a 204";
    }
    if (ce && strcasecmp(ce, "identity")) {
        return "already coded";
    }
    if (!sc_codec_compressible(sc_header_value(ctx->headers, "Content-Type"))) {
        return "not a compressible type";
    }
    if (no_transform(r, ctx->headers)) {
        return "no-transform";
    }
    return NULL;
}

/* A fragment an ESI page takes directly (SC_EF_DIRECT) is stored as it
 * is, with its deflate piece: what a gzip client of the page gets of it
 * (sc_assemble.c). */
static void fragment_piece(request_rec *r, sc_req_t *ctx, sc_entry_t *e)
{
    const char *ce = sc_header_value(ctx->headers, "Content-Encoding");
    apr_size_t len = (apr_size_t)ctx->captured, piece_len;
    char *flat, *piece;

    if (ctx->dconf->compress != 1 || !(e->flags & SC_EF_DIRECT)
        || (e->flags & SC_EF_ESI) || len == 0
        || (ce && strcasecmp(ce, "identity"))
        || no_transform(r, ctx->headers)) {
        return;
    }
    flat = apr_palloc(ctx->cpool, len);
    sc_captured_copy(ctx, 0, flat, len);
    if (sc_codec_piece(ctx->cpool, flat, len, &piece, &piece_len)
        == APR_SUCCESS) {
        sc_entry_piece_add(ctx->cpool, &e->pieces, piece, piece_len);
    }
}

void sc_coding_store(request_rec *r, sc_req_t *ctx, sc_entry_t *e)
{
    apr_size_t len = (apr_size_t)ctx->captured, gz_len, br_len = 0;
    char *flat, *gz, *br = NULL, *both;
    const char *why = keep_as_is(r, ctx);
    sc_piece_t *pc;

    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "stored uncompressed: %s",
                      why);
        fragment_piece(r, ctx, e);
        return;
    }
    flat = apr_palloc(ctx->cpool, len);
    sc_captured_copy(ctx, 0, flat, len);
    /* gzip only where it saves a tenth: identity is decoded from it */
    if (sc_codec_gzip(ctx->cpool, flat, len, &gz, &gz_len) != APR_SUCCESS
        || gz_len >= len - len / 10) {
        return;
    }
    if (sc_codec_brotli(ctx->cpool, flat, len, &br, &br_len) != APR_SUCCESS
        || br_len >= gz_len) {
        br = NULL;
        br_len = 0;
    }
    both = apr_palloc(ctx->cpool, gz_len + br_len);
    memcpy(both, gz, gz_len);
    e->codings = SC_CODING_BIT(SC_CODING_GZIP);
    e->coding_off[SC_CODING_GZIP] = 0;
    e->coding_len[SC_CODING_GZIP] = gz_len;
    if (br) {
        memcpy(both + gz_len, br, br_len);
        e->codings |= SC_CODING_BIT(SC_CODING_BR);
        e->coding_off[SC_CODING_BR] = gz_len;
        e->coding_len[SC_CODING_BR] = br_len;
    }
    e->identity_len = len;
    ctx->pieces = apr_array_make(ctx->cpool, 1, sizeof(sc_piece_t));
    pc = apr_array_push(ctx->pieces);
    pc->data = both;
    pc->len = gz_len + br_len;
    ctx->captured = (apr_off_t)(gz_len + br_len);
    e->body_len = (apr_uint64_t)ctx->captured;
}

/* The codings this client may be sent: none in a subrequest (the body
 * goes into a page), none for Cache-Control: no-transform (RFC 9111
 * 5.2.1.6), and not those the configuration switched off for it
 * (mod_deflate's no-gzip and gzip-only-text/html, mod_brotli's
 * no-brotli). */
sc_coding_t sc_coding_for_client(request_rec *r, const char *type,
                                 unsigned have)
{
    const char *cc = apr_table_get(r->headers_in, "Cache-Control");
    const char *only_html = apr_table_get(r->subprocess_env,
                                          "gzip-only-text/html");

    if (r->main || (cc && ap_find_token(r->pool, cc, "no-transform"))) {
        return SC_CODING_IDENTITY;
    }
    if (apr_table_get(r->subprocess_env, "no-gzip")
        || (only_html && !strcmp(only_html, "1")
            && (!type || strncmp(type, "text/html", 9)))) {
        have &= ~SC_CODING_BIT(SC_CODING_GZIP);
    }
    if (apr_table_get(r->subprocess_env, "no-brotli")) {
        have &= ~SC_CODING_BIT(SC_CODING_BR);
    }
    return sc_codec_choose(apr_table_get(r->headers_in, "Accept-Encoding"),
                           have);
}

static sc_coding_t client_coding(request_rec *r, const sc_entry_t *e)
{
    return sc_coding_for_client(r, sc_header_value(e->headers, "Content-Type"),
                                e->codings);
}

/* Bytes [off, off + len) of a brigade, as copies of its buckets. */
static apr_bucket_brigade *slice(request_rec *r, apr_bucket_brigade *bb,
                                 apr_uint64_t off, apr_uint64_t len)
{
    apr_bucket_brigade *out = apr_brigade_create(r->pool,
                                                 r->connection->bucket_alloc);
    apr_uint64_t pos = 0;
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb) && len > 0;
         b = APR_BUCKET_NEXT(b)) {
        apr_uint64_t end = pos + b->length;
        apr_bucket *c;
        if (end > off) {
            apr_size_t skip = (apr_size_t)(off - pos);
            apr_size_t n = (apr_size_t)(b->length - skip);
            if (n > len) {
                n = (apr_size_t)len;
            }
            apr_bucket_copy(b, &c);
            c->start += (apr_off_t)skip;
            c->length = n;
            APR_BRIGADE_INSERT_TAIL(out, c);
            off += n;
            len -= n;
        }
        pos = end;
    }
    return out;
}

/* The gzip coding's header and trailer (sc_codec_gzip_framed): a cheap
 * check of a coding that is served as it is stored. */
static int gzip_framed(request_rec *r, apr_bucket_brigade *gz,
                       const sc_entry_t *e)
{
    apr_uint64_t len = e->coding_len[SC_CODING_GZIP];
    char head[SC_CODEC_GZIP_HEAD], tail[SC_CODEC_GZIP_TAIL];
    apr_bucket_brigade *h, *t;
    apr_size_t n = sizeof(head), m = sizeof(tail);

    if (len < SC_CODEC_GZIP_HEAD + SC_CODEC_GZIP_TAIL) {
        return 0;
    }
    h = slice(r, gz, 0, sizeof(head));
    t = slice(r, gz, len - sizeof(tail), sizeof(tail));
    return apr_brigade_flatten(h, head, &n) == APR_SUCCESS
           && apr_brigade_flatten(t, tail, &m) == APR_SUCCESS
           && n == sizeof(head) && m == sizeof(tail)
           && sc_codec_gzip_framed(head, tail, (apr_size_t)e->identity_len);
}

/* The gzip coding decoded (or the same bytes' body kept from an earlier
 * hit: sc_unzipped.h), or NULL. */
static apr_bucket_brigade *decoded(request_rec *r, apr_bucket_brigade *gz,
                                   const sc_entry_t *e)
{
    apr_bucket_brigade *out;
    apr_bucket *b;
    char *flat;
    apr_size_t len;
    int reused;

    if (apr_brigade_pflatten(gz, &flat, &len, r->pool) != APR_SUCCESS
        || sc_unzipped_bucket(flat, len, (apr_size_t)e->identity_len,
                              r->connection->bucket_alloc, &b, &reused)
               != APR_SUCCESS) {
        return NULL;
    }
    sc_stat_add_r(r, reused ? SC_STAT_DECODED_REUSED : SC_STAT_DECODED, 1);
    out = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(out, b);
    return out;
}

static apr_status_t not_coded(request_rec *r)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  SC_LOGNO(0214) "stored entry's codings are not what it "
                                 "records: treated as a miss");
    return APR_EINVAL;
}

apr_status_t sc_coding_serve(request_rec *r, sc_found_t *res,
                             apr_off_t max_size)
{
    const sc_entry_t *e = &res->entry;
    apr_bucket_brigade *gz;
    sc_coding_t c;

    res->coding = SC_CODING_IDENTITY;
    res->body = res->plain = res->stored;
    if (!e->codings) {
        return APR_SUCCESS;
    }
    gz = slice(r, res->stored, e->coding_off[SC_CODING_GZIP],
               e->coding_len[SC_CODING_GZIP]);
    /* never more than a store may keep: a record written by anyone but
     * the module could make every decoded hit allocate gigabytes */
    if (e->identity_len > (apr_uint64_t)max_size || !gzip_framed(r, gz, e)) {
        return not_coded(r);
    }
    c = client_coding(r, e);
    if (c != SC_CODING_IDENTITY) {
        res->coding = c;
        res->body = slice(r, res->stored, e->coding_off[c], e->coding_len[c]);
    }
    if (c == SC_CODING_IDENTITY || res->revalidate) {
        res->plain = decoded(r, gz, e);
        if (!res->plain) {
            return not_coded(r);
        }
        if (c == SC_CODING_IDENTITY) {
            res->body = res->plain;
        }
    }
    return APR_SUCCESS;
}
