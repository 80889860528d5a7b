/*
 * sc_assemble.c: SHAREDCACHE_ESI, the output filter that assembles a page
 * from its ESI includes (DESIGN sections 2 and 4, THREATS 16 and 35); the
 * handshake is sc_surrogate.c's, the includes sc_include.c's.
 *
 * The page (the "shell") is stored as it left the application, parsed
 * (sc_write.c stores the parsed form, sc_esi.h); every include is a
 * subrequest through the same handler, so each fragment is cached under
 * its own <Location> rules.  The filter sits after SHAREDCACHE_SAVE and
 * before mod_deflate: it takes the whole shell (a hit's parsed form comes
 * from the handler instead), fetches what memcached holds of every include
 * in one multi-get per server, runs the includes in document order and
 * sends the page when every include has answered: a failed include without
 * onerror="continue" fails the page before any byte of it is sent.
 *
 * What the client gets of the page's headers is the most restrictive of
 * its parts, and no validators (SHAREDCACHE_ESI_HOLD, after
 * SHAREDCACHE_DECIDE, applies them: the decision to store the shell is
 * made on the shell's own headers).
 *
 * A client that takes gzip gets the page as one gzip member made of a
 * deflate piece per part (sc_codec.h): the shell's literal runs and the
 * fragments taken directly as stored with them, the output of the other
 * includes compressed for this page; mod_deflate, after this filter, sees
 * a page that is coded already and leaves it alone.
 */
#include "sc_assemble.h"
#include "sc_codec.h"
#include "sc_esi.h"
#include "sc_log.h"
#include "sc_status.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_hash.h>
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

ap_filter_rec_t *sc_esi_hold_filter_handle;

/* The assembled page's header fields: the most restrictive of its parts
 * (pg), no validators, no Content-Length (the page's is computed), and
 * the cookies its fragments set for this request. */
static void page_headers(request_rec *r, const page_t *pg)
{
    int i;

    if (!pg->cc) {
        return;
    }
    apr_table_unset(r->err_headers_out, "Cache-Control");
    apr_table_setn(r->headers_out, "Cache-Control", pg->cc);
    apr_table_unset(r->headers_out, "Expires");
    apr_table_unset(r->err_headers_out, "Expires");
    apr_table_unset(r->headers_out, "ETag");
    apr_table_unset(r->headers_out, "Last-Modified");
    r->mtime = 0; /* (If-Range reads it where no Last-Modified is) */
    apr_table_unset(r->headers_out, "Content-Length");
    if (pg->age > 0) {
        apr_table_setn(r->headers_out, "Age",
                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT, pg->age));
    }
    if (pg->vary) {
        apr_table_mergen(r->headers_out, "Vary", pg->vary);
    }
    if (pg->codable) {
        apr_table_mergen(r->headers_out, "Vary", "Accept-Encoding");
    }
    for (i = 0; pg->set_cookies && i < pg->set_cookies->nelts; i++) {
        apr_table_addn(r->err_headers_out, "Set-Cookie",
                       APR_ARRAY_IDX(pg->set_cookies, i, const char *));
    }
}

/* May the module code this page for a client that takes it (the page is
 * a main request's, SharedCacheCompress On, a compressible type, not coded
 * already, no no-transform), and does this client get it as gzip? */
static void page_coding(request_rec *r, const sc_dir_conf_t *d, page_t *pg)
{
    const char *cc = apr_table_get(r->headers_out, "Cache-Control");
    const char *ecc = apr_table_get(r->err_headers_out, "Cache-Control");

    pg->codable = !r->main && d && d->compress == 1
                  && sc_codec_compressible(r->content_type)
                  && !r->content_encoding
                  && !apr_table_get(r->headers_out, "Content-Encoding")
                  && !apr_table_get(r->err_headers_out, "Content-Encoding")
                  && !(cc && ap_find_token(r->pool, cc, "no-transform"))
                  && !(ecc && ap_find_token(r->pool, ecc, "no-transform"));
    pg->gzip = pg->codable
               && sc_coding_for_client(r, r->content_type,
                                       SC_CODING_BIT(SC_CODING_GZIP))
                      == SC_CODING_GZIP;
}

/* The page is sent gzip-coded: so labelled before mod_deflate sees any of
 * it (a FLUSH of the shell, or the page). */
static void label_gzip(request_rec *r)
{
    apr_table_unset(r->err_headers_out, "Content-Encoding");
    apr_table_setn(r->headers_out, "Content-Encoding", "gzip");
}

/* What the filters after this one see while they decide (bb): the page
 * labelled gzip when the client gets it so; where the module may code
 * the page but the client gets identity (its weights, a request's
 * no-transform), no-gzip and no-brotli say so to mod_deflate and
 * mod_brotli, as on a hit of a stored coding (sc_request.c), only while
 * bb passes: the includes made after it must not inherit them. */
static apr_status_t pass_labelled(ap_filter_t *f, const page_t *pg,
                                  apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    int hold = pg->codable && !pg->gzip
               && !apr_table_get(r->subprocess_env, "no-gzip")
               && !apr_table_get(r->subprocess_env, "no-brotli");
    apr_status_t rv;

    if (pg->gzip) {
        label_gzip(r);
    }
    if (hold) {
        apr_table_setn(r->subprocess_env, "no-gzip", "1");
        apr_table_setn(r->subprocess_env, "no-brotli", "1");
    }
    rv = ap_pass_brigade(f->next, bb);
    if (hold) {
        apr_table_unset(r->subprocess_env, "no-gzip");
        apr_table_unset(r->subprocess_env, "no-brotli");
    }
    return rv;
}

/* One part of the page: its bytes (bb) and, when stored with it, its
 * deflate piece. */
typedef struct {
    apr_bucket_brigade *bb;
    const char *piece;
    apr_size_t piece_len;
} seg_t;

/* The page as one gzip member: the parts' pieces, as stored where they
 * were, else compressed now.  NULL if zlib fails (the page goes out
 * uncoded). */
static apr_bucket_brigade *gzip_page(request_rec *r, const seg_t *segs, int n)
{
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;
    apr_bucket_brigade *out = apr_brigade_create(r->pool, ba);
    sc_codec_pieces_t *z = NULL;
    char *end = apr_palloc(r->pool, SC_CODEC_GZIP_END);
    apr_uint32_t crc = 0, piece_crc;
    apr_uint64_t total = 0;
    apr_uint64_t stored = 0, made = 0;
    int i;

    APR_BRIGADE_INSERT_TAIL(
        out,
        apr_bucket_immortal_create(sc_codec_gzip_head, SC_CODEC_GZIP_HEAD, ba));
    for (i = 0; i < n; i++) {
        const char *piece = segs[i].piece;
        apr_size_t piece_len = segs[i].piece_len;
        apr_off_t len;

        if (!segs[i].bb
            || apr_brigade_length(segs[i].bb, 1, &len) != APR_SUCCESS) {
            return NULL;
        }
        if (len == 0) {
            continue;
        }
        if (piece && sc_codec_piece_framed(piece, piece_len, &piece_crc)) {
            stored++;
        }
        else {
            char *flat, *made_piece;
            apr_size_t flat_len;

            if ((!z && !(z = sc_codec_pieces_make(r->pool)))
                || apr_brigade_pflatten(segs[i].bb, &flat, &flat_len, r->pool)
                       != APR_SUCCESS
                || sc_codec_pieces_add(z, r->pool, flat, flat_len, &made_piece,
                                       &piece_len)
                       != APR_SUCCESS
                || !sc_codec_piece_framed(made_piece, piece_len, &piece_crc)) {
                return NULL;
            }
            piece = made_piece;
            made++;
        }
        crc = sc_codec_crc_combine(crc, piece_crc, (apr_uint64_t)len);
        total += (apr_uint64_t)len;
        APR_BRIGADE_INSERT_TAIL(
            out, apr_bucket_pool_create(piece, piece_len - SC_CODEC_PIECE_CRC,
                                        r->pool, ba));
    }
    sc_codec_gzip_end(end, crc, total);
    APR_BRIGADE_INSERT_TAIL(
        out, apr_bucket_pool_create(end, SC_CODEC_GZIP_END, r->pool, ba));
    sc_stat_add_r(r, SC_STAT_ESI_GZIP_STORED, stored);
    sc_stat_add_r(r, SC_STAT_ESI_GZIP_MADE, made);
    return out;
}

/* The page cannot be made: an error before any byte of it is sent. */
static apr_status_t fail_page(ap_filter_t *f, page_t *pg)
{
    request_rec *r = f->r;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, f->c->bucket_alloc);

    pg->assembled = 1;
    if (pg->gzip) {
        apr_table_unset(r->headers_out, "Content-Encoding");
    }
    ap_remove_output_filter(f);
    sc_surrogate_range_back(r);
    APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_error_create(HTTP_BAD_GATEWAY, NULL,
                                                       r->pool,
                                                       f->c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    return ap_pass_brigade(f->next, bb);
}

/* The Cache-Control the client gets: the most restrictive of the parts. */
static const char *page_cc(request_rec *r, const fresh_t *fr)
{
    const char *who = fr->private_ ? "private, " : "";

    if (fr->no_store) {
        return "no-store";
    }
    if (fr->max_age <= 0) {
        return apr_pstrcat(r->pool, who, "no-cache", NULL);
    }
    return apr_psprintf(r->pool, "%smax-age=%" APR_INT64_T_FMT, who,
                        fr->max_age);
}

static void log_markup(request_rec *r, const sc_esi_doc_t *doc)
{
    if (doc->malformed) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0506) "ESI: %u malformed construct(s) passed "
                                     "through as text, the first at byte "
                                     "%" APR_SIZE_T_FMT ": %s",
                      doc->malformed, doc->first_malformed_at,
                      doc->first_malformed);
    }
    if (doc->unknown_tags) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0507) "ESI: %u tag(s) this module does not "
                                     "implement passed through, the first "
                                     "<%s>",
                      doc->unknown_tags, doc->first_unknown);
    }
}

/* Every include fetched (what memcached holds of them first, in one
 * multi-get), the page is sent whole. */
/* Start doc's includes into parts: what any client may have is taken from
 * memcached as it is; every other include is a subrequest, its entry
 * fetched with its siblings'. */
static void start_includes(request_rec *r, page_t *pg, const sc_esi_doc_t *doc,
                           part_t *parts)
{
    sc_inc_like_t like = { NULL, NULL };
    int i, n = 0;
    int deep = sc_inc_depth(r) >= SC_ESI_MAX_DEPTH;

    if (deep && doc->nincludes > 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0503) "ESI: %d includes not fetched: %d "
                                     "includes deep (a loop?)",
                      doc->nincludes, SC_ESI_MAX_DEPTH);
    }
    for (i = 0; i < doc->nodes->nelts; i++) {
        const sc_esi_node_t *node = &APR_ARRAY_IDX(doc->nodes, i,
                                                   sc_esi_node_t);
        if (node->kind != SC_ESI_INCLUDE) {
            continue;
        }
        parts[n].node = node;
        if (!sc_esi_src_local(node->src)) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          SC_LOGNO(0508) "ESI include src=\"%s\" refused: "
                                         "only local paths of this host are "
                                         "included",
                          node->src);
        }
        else if (!deep && sc_inc_budget(r)) {
            parts[n].allowed = 1;
            parts[n].direct = sc_inc_direct_key(r, node->src, &parts[n].dq,
                                                &like);
        }
        n++;
    }
    sc_inc_direct(r, parts, n, pg->gzip);
    for (i = 0; i < n; i++) {
        if (parts[i].allowed && !parts[i].served) {
            parts[i].rr = sc_inc_request(r, parts[i].node->src, &parts[i]);
        }
    }
    sc_inc_prefetch(r, parts, n);
}

/* doc's literals and includes, in order, into page (or, for a gzip page,
 * each into its segment of segs); 0: an include failed without
 * onerror="continue" (the includes not reached are let go). */
static int fill_page(request_rec *r, page_t *pg, fresh_t *fr,
                     const sc_esi_doc_t *doc, part_t *parts, seg_t *segs,
                     apr_bucket_brigade *page)
{
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;
    int i, n = 0;

    for (i = 0; i < doc->nodes->nelts; i++) {
        const sc_esi_node_t *node = &APR_ARRAY_IDX(doc->nodes, i,
                                                   sc_esi_node_t);
        apr_bucket_brigade *into = page;

        if (segs) {
            into = segs[i].bb = apr_brigade_create(r->pool, ba);
        }
        if (node->kind == SC_ESI_LITERAL) {
            APR_BRIGADE_INSERT_TAIL(
                into,
                apr_bucket_pool_create(node->data, node->len, r->pool, ba));
            if (segs) {
                segs[i].piece = node->piece;
                segs[i].piece_len = node->piece_len;
            }
            continue;
        }
        if (!sc_inc_fetch(r, pg, fr, &parts[n], into)
            && !parts[n].node->onerror_continue) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          SC_LOGNO(0509) "ESI include %s failed without "
                                         "onerror=\"continue\": the page "
                                         "fails",
                          parts[n].node->src);
            for (n++; n < doc->nincludes; n++) {
                if (parts[n].rr) {
                    ap_destroy_sub_req(parts[n].rr);
                }
            }
            return 0;
        }
        if (segs && parts[n].served) {
            segs[i].piece = parts[n].piece;
            segs[i].piece_len = parts[n].piece_len;
        }
        n++;
    }
    return 1;
}

static apr_status_t assemble(ap_filter_t *f, page_t *pg,
                             const sc_esi_doc_t *doc)
{
    request_rec *r = f->r;
    apr_bucket_alloc_t *ba = f->c->bucket_alloc;
    apr_bucket_brigade *page = apr_brigade_create(r->pool, ba);
    part_t *parts = apr_pcalloc(r->pool, (apr_size_t)(doc->nincludes + 1)
                                             * sizeof(*parts));
    apr_table_t *own = apr_table_overlay(r->pool, r->err_headers_out,
                                         r->headers_out);
    fresh_t fr = { 0, 0, -1 };
    seg_t *segs = NULL;
    int i;

    start_includes(r, pg, doc, parts);
    sc_early_hint(r);
    sc_inc_restrict(r, pg, &fr, own, 0);
    pg->set_cookies = apr_array_make(r->pool, 2, sizeof(const char *));
    if (pg->gzip) {
        segs = apr_pcalloc(r->pool,
                           (apr_size_t)doc->nodes->nelts * sizeof(*segs));
    }
    if (!fill_page(r, pg, &fr, doc, parts, segs, page)) {
        apr_brigade_destroy(page);
        return fail_page(f, pg);
    }
    pg->cc = page_cc(r, &fr);
    pg->assembled = 1;
    if (r->main) {
        /* an ESI page that is itself a fragment: its page reads these */
        page_headers(r, pg);
    }
    ap_remove_output_filter(f);
    if (segs) {
        apr_bucket_brigade *gz = gzip_page(r, segs, doc->nodes->nelts);

        if (gz) {
            page = gz;
        }
        else {
            /* sent as it is, labelled so (a compression filter that saw
             * the label before has gone) */
            pg->gzip = 0;
            apr_table_unset(r->headers_out, "Content-Encoding");
            for (i = 0; i < doc->nodes->nelts; i++) {
                APR_BRIGADE_CONCAT(page, segs[i].bb);
            }
        }
    }
    APR_BRIGADE_INSERT_TAIL(page, apr_bucket_eos_create(ba));
    return pass_labelled(f, pg, page);
}

/* The shell is whole: parse it (a hit's parsed form is the handler's) and
 * assemble the page. */
static apr_status_t shell_done(ap_filter_t *f, page_t *pg)
{
    request_rec *r = f->r;
    sc_req_t *ctx = sc_req_get(r);
    const sc_esi_doc_t *doc = ctx ? ctx->esi_doc : NULL;
    sc_esi_doc_t *parsed;
    const char *err = NULL;
    char *buf;
    apr_size_t len;

    if (!doc) {
        if (apr_brigade_pflatten(pg->in, &buf, &len, r->pool) != APR_SUCCESS
            || sc_esi_parse(r->pool, buf, len, &parsed, &err) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          SC_LOGNO(0510) "ESI: the page cannot be processed "
                                         "(%s)",
                          err ? err : "its body could not be read");
            return fail_page(f, pg);
        }
        log_markup(r, parsed);
        doc = parsed;
    }
    apr_brigade_cleanup(pg->in);
    return assemble(f, pg, doc);
}

/* The filter's first brigade: r's page to assemble, or NULL and *rv the
 * answer where r's response is not one (passed on as it is) or is a
 * HEAD of one the application made. */
static page_t *page_start(ap_filter_t *f, apr_bucket_brigade *bb,
                          apr_status_t *rv)
{
    request_rec *r = f->r;
    sc_req_t *ctx = sc_req_get(r);
    const sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                                  &sharedcache_module);
    page_t *pg = f->ctx = apr_pcalloc(r->pool, sizeof(*pg));

    if (!(ctx && ctx->esi_doc)
        && !sc_esi_wanted(
            r, d,
            apr_table_overlay(r->pool, r->err_headers_out, r->headers_out))) {
        ap_remove_output_filter(f);
        sc_surrogate_range_back(r);
        *rv = ap_pass_brigade(f->next, bb);
        return NULL;
    }
    page_coding(r, d, pg);
    if (r->header_only && !(ctx && ctx->esi_doc)) {
        /* HEAD of a page the application made: its parts are not
         * fetched, so nothing is known of their freshness */
        pg->cc = "no-cache";
        ap_remove_output_filter(f);
        page_headers(r, pg);
        sc_surrogate_range_back(r);
        *rv = pass_labelled(f, pg, bb);
        return NULL;
    }
    pg->in = apr_brigade_create(r->pool, f->c->bucket_alloc);
    /* The client's headers wait for the page (a subrequest's go
     * nowhere). */
    if (!r->main) {
        ap_add_output_filter_handle(sc_esi_hold_filter_handle, pg, r,
                                    r->connection);
    }
    return pg;
}

apr_status_t sc_esi_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    page_t *pg = f->ctx;
    apr_bucket *b;

    if (!pg) {
        apr_status_t rv;

        if (!(pg = page_start(f, bb, &rv))) {
            return rv;
        }
    }
    if (pg->passing) {
        return ap_pass_brigade(f->next, bb);
    }
    while (!APR_BRIGADE_EMPTY(bb)) {
        b = APR_BRIGADE_FIRST(bb);
        if (APR_BUCKET_IS_EOS(b)) {
            apr_brigade_cleanup(bb);
            return shell_done(f, pg);
        }
        if (AP_BUCKET_IS_ERROR(b)) {
            /* The shell itself failed: its error goes on as it is. */
            pg->passing = 1;
            pg->assembled = 1;
            apr_brigade_cleanup(pg->in);
            ap_remove_output_filter(f);
            sc_surrogate_range_back(r);
            return ap_pass_brigade(f->next, bb);
        }
        if (APR_BUCKET_IS_FLUSH(b)) {
            /* Let the filters after decide on the headers (the shell's:
             * SHAREDCACHE_DECIDE); nothing reaches the client before the
             * page is whole (SHAREDCACHE_ESI_HOLD). */
            apr_bucket_brigade *fl = apr_brigade_create(r->pool,
                                                        f->c->bucket_alloc);
            apr_status_t rv;

            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(fl, b);
            /* mod_deflate decides on the first brigade it sees */
            rv = pass_labelled(f, pg, fl);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            continue;
        }
        if (!APR_BUCKET_IS_METADATA(b)) {
            const char *data;
            apr_size_t len;
            apr_status_t rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);

            if (rv != APR_SUCCESS) {
                return rv;
            }
            pg->in_len += (apr_off_t)len;
            if (pg->in_len > SC_ESI_MAX_SHELL) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                              SC_LOGNO(0511) "ESI: the page is larger than "
                                             "%d bytes: it fails",
                              SC_ESI_MAX_SHELL);
                apr_brigade_cleanup(bb);
                apr_brigade_cleanup(pg->in);
                pg->passing = 1;
                return fail_page(f, pg);
            }
            if (len > 0) {
                APR_BRIGADE_INSERT_TAIL(
                    pg->in, apr_bucket_heap_create(data, len, NULL,
                                                   f->c->bucket_alloc));
            }
        }
        apr_bucket_delete(b);
    }
    return APR_SUCCESS;
}

/* ---- the client's headers ---------------------------------------------- */

/* SHAREDCACHE_ESI_HOLD: after SHAREDCACHE_DECIDE, holds whatever comes
 * (a FLUSH of the shell, mod_deflate's first bytes) until the page is
 * whole, then gives the client the page's headers. */
apr_status_t sc_esi_hold_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    page_t *pg = f->ctx;

    if (!pg->assembled) {
        apr_bucket *b = APR_BRIGADE_FIRST(bb);

        while (b != APR_BRIGADE_SENTINEL(bb)) {
            apr_bucket *next = APR_BUCKET_NEXT(b);
            if (APR_BUCKET_IS_FLUSH(b)) {
                apr_bucket_delete(b);
            }
            b = next;
        }
        return ap_save_brigade(f, &pg->held, &bb, r->pool);
    }
    ap_remove_output_filter(f);
    page_headers(r, pg);
    sc_surrogate_range_back(r);
    if (pg->held && !APR_BRIGADE_EMPTY(pg->held)) {
        APR_BRIGADE_PREPEND(bb, pg->held);
    }
    return ap_pass_brigade(f->next, bb);
}
