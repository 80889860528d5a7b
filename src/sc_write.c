/*
 * sc_write.c: writing a captured response to memcached.  Owns what an
 * entry holds (the headers never stored, freshness and the stale windows,
 * the counters it depends on, whether the quick handler may serve it) and
 * how it is laid out: one record, or a head and chunks past SC_ITEM_MAX,
 * and the Vary record that selects among variants.
 */
#include "sc_request.h"
#include "sc_codec.h"
#include "sc_esi.h"
#include "sc_log.h"
#include "sc_status.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_log.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* Never stored as the handler set them: hop-by-hop (RFC 9110 7.6.1),
 * recomputed on every hit, or meant for this cache only.  The Date stored
 * is the one the client gets (sc_capture.c), whatever the handler set. */
static const char *const unstored[] = { "Connection",
                                        "Keep-Alive",
                                        "Proxy-Connection",
                                        "Proxy-Authenticate",
                                        "Proxy-Authorization",
                                        "TE",
                                        "Trailer",
                                        "Transfer-Encoding",
                                        "Upgrade",
                                        "Content-Length",
                                        "Date",
                                        "Age",
                                        "Set-Cookie",
                                        "Set-Cookie2",
                                        "X-SharedCache",
                                        "Cache-Status",
                                        "X-SharedCache-Vary",
                                        NULL };

int sc_header_unstored(const sc_req_t *ctx, const char *name)
{
    return sc_name_listed(name, unstored)
           || sc_name_listed(name, sc_exchange_fields)
           || !strcasecmp(name, ctx->dconf->tag_header)
           || !strcasecmp(name, ctx->dconf->invalidate_header);
}

static apr_status_t put_chunks(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                               sc_entry_t *e, apr_int64_t exptime)
{
    char *buf = apr_palloc(ctx->cpool, SC_ITEM_MAX);
    apr_off_t off = 0;
    apr_uint32_t i;

    apr_generate_random_bytes((unsigned char *)&e->version, sizeof(e->version));
    e->body_kind = SC_BODY_CHUNKED;
    e->pieces = NULL; /* kept with inline bodies only */
    e->chunk_size = SC_ITEM_MAX - SC_CHUNK_HEAD_LEN;
    e->nchunks = sc_chunk_count(e->body_len, e->chunk_size);
    for (i = 0; i < e->nchunks; i++) {
        apr_size_t n = (apr_size_t)(ctx->captured - off);
        const char *key;
        if (n > e->chunk_size) {
            n = e->chunk_size;
        }
        sc_chunk_head(buf, e->version, i);
        sc_captured_copy(ctx, off, buf + SC_CHUNK_HEAD_LEN, n);
        key = sc_chunk_key(r->pool, ctx->sconf->prefix, e->key, e->key_len,
                           e->version, i);
        if (sc_store_set(c, key, buf, SC_CHUNK_HEAD_LEN + n, exptime)
            != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        off += (apr_off_t)n;
    }
    return APR_SUCCESS;
}

/* Write the entry (and its chunks) under mkey. */
static apr_status_t put_entry(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                              sc_entry_t *e, const char *mkey,
                              apr_int64_t exptime)
{
    char *head, *rec;
    apr_size_t head_len;
    apr_status_t rv = sc_entry_encode_head(ctx->cpool, e, &head, &head_len);

    if (rv != APR_SUCCESS) {
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            SC_LOGNO(0304) "not stored: a header cannot be stored safely");
        return rv;
    }
    if (head_len + e->body_len > SC_ITEM_MAX) {
        /* Chunks first, the entry last: a reader that sees the entry finds
         * all its chunks, and the fresh version keeps two writers of the
         * same URL from mixing their chunks. */
        rv = put_chunks(r, ctx, c, e, exptime);
        if (rv == APR_SUCCESS) {
            rv = sc_entry_encode_head(ctx->cpool, e, &head, &head_len);
        }
        if (rv == APR_SUCCESS) {
            rv = sc_store_set(c, mkey, head, head_len, exptime);
        }
        return rv;
    }
    rec = apr_palloc(ctx->cpool, head_len + (apr_size_t)e->body_len);
    memcpy(rec, head, head_len);
    sc_captured_copy(ctx, 0, rec + head_len, (apr_size_t)e->body_len);
    return sc_store_set(c, mkey, rec, head_len + (apr_size_t)e->body_len,
                        exptime);
}

/* The Vary record at level 1: which request headers select the entry.
 * It leads to the variant as long as memcached keeps the variant (until),
 * to be served stale on error or revalidated too, and never less long
 * than the record it replaces with the same names led to the others. */
/* How long the URL's Vary record is kept once a variant kept until
 * until is stored: as long as the longest-lived variant of its names. */
static apr_int64_t vary_kept_until(const sc_req_t *ctx, apr_int64_t until)
{
    if (ctx->stored_vary && sc_names_equal(ctx->stored_vary, ctx->vary)
        && ctx->stored_vary_until > until) {
        return ctx->stored_vary_until;
    }
    return until;
}

static apr_status_t put_vary(sc_req_t *ctx, sc_conn_t *c,
                             const sc_entry_t *entry, apr_int64_t until,
                             apr_int64_t now)
{
    sc_entry_t v;
    char *head;
    apr_size_t head_len;
    apr_status_t rv;
    int i;

    until = vary_kept_until(ctx, until);

    /* Only what a Vary record holds: none of the variant's body fields
     * (a copy of the entry once carried its codings along). */
    memset(&v, 0, sizeof(v));
    v.status = entry->status;
    v.stored_at = entry->stored_at;
    v.fresh_until = entry->fresh_until;
    v.stale_until = until;
    v.error_until = until;
    v.flags = entry->flags;
    v.type = SC_REC_VARY;
    v.key = ctx->key;
    v.key_len = ctx->key_len;
    v.headers = apr_array_make(ctx->cpool, ctx->vary->nelts,
                               sizeof(sc_header_t));
    for (i = 0; i < ctx->vary->nelts; i++) {
        sc_header_t *h = apr_array_push(v.headers);
        h->name = APR_ARRAY_IDX(ctx->vary, i, const char *);
        h->value = "";
    }
    v.body_kind = SC_BODY_INLINE;
    rv = sc_entry_encode_head(ctx->cpool, &v, &head, &head_len);
    return rv == APR_SUCCESS ? sc_store_set(c, ctx->entry_key, head, head_len,
                                            sc_policy_exptime(until - now, now))
                             : rv;
}

/* May the quick handler serve this entry (and a page include it without
 * a subrequest, sc_incdirect.c)?  Only if the location asked for it, keys
 * exactly as the virtual host does (what the quick handler sees, or the
 * include's direct key; its variance and how it reports the server's name
 * and port), nobody showed an identity for it, httpd reads
 * no .htaccess file for it, no response field was set between the quick
 * phase and the handler, and an anonymous client would be let through
 * to it and get the same page (sc_quickprobe.c), under this configuration
 * (its tag goes with the mark: quick_flags). */
static int quick_servable(request_rec *r, const sc_req_t *ctx)
{
    const sc_dir_conf_t *base = ap_get_module_config(r->server->lookup_defaults,
                                                     &sharedcache_module);
    const char *qkey = apr_table_get(r->notes, SC_NOTE_QUICK_KEY);

    return ctx->dconf->quick == 1 && !r->user && !sc_client_certificate(r)
           && qkey && strlen(qkey) == ctx->key_len
           && !memcmp(qkey, ctx->key, ctx->key_len)
           && !ctx->filters_changed_headers && !ctx->before_not_quick
           && sc_config_same_variance(ctx->dconf, base)
           && sc_key_server_as_vhost(r) && sc_key_path_plain(r->parsed_uri.path)
           && r->parsed_uri.path && !strcmp(r->parsed_uri.path, r->uri)
           && !r->prev && (!r->main || sc_esi_include(r))
           && !sc_htaccess_applies(r, 1) && sc_anyone_gets(r, ctx);
}

/* SC_EF_QUICK for what the quick handler may serve; and SC_EF_DIRECT
 * when an ESI include stored it: its key as a subrequest (routed as
 * subrequests are: RewriteCond %{IS_SUBREQ}, [NS]) is its direct key.
 * An entry a client's own request stored says nothing of how an include
 * of its URL is routed. */
static apr_uint32_t quick_flags(request_rec *r, const sc_req_t *ctx)
{
    if (!quick_servable(r, ctx)) {
        return 0;
    }
    return SC_EF_QUICK | (r->main ? SC_EF_DIRECT : 0)
           | sc_rules_config_tag() << SC_EF_CONF_SHIFT;
}

int sc_entry_quick_ok(apr_uint32_t flags)
{
    return (flags & SC_EF_QUICK) && SC_EF_CONF(flags) == sc_rules_config_tag();
}

int sc_entry_direct_ok(apr_uint32_t flags)
{
    return (flags & SC_EF_DIRECT) && sc_entry_quick_ok(flags);
}

/* How long after expiry the entry may still be served: while one request
 * refreshes it (SharedCacheGrace, stale-while-revalidate=) and in place of
 * an error (SharedCacheStaleOnError, stale-if-error=).  must-revalidate,
 * proxy-revalidate and s-maxage forbid both (RFC 9111 4.2.4).  Both are
 * capped at SharedCacheMaxTTL: the administrator's bound on how old a
 * served page may be holds for what an application's header asks too. */
static void stale_windows(const sc_req_t *ctx, sc_entry_t *e)
{
    const sc_dir_conf_t *d = ctx->dconf;
    apr_int64_t grace = d->grace, error = d->stale_on_error;

    if (ctx->policy.stale_while_revalidate > grace) {
        grace = ctx->policy.stale_while_revalidate;
    }
    if (ctx->policy.stale_if_error > error) {
        error = ctx->policy.stale_if_error;
    }
    if (ctx->policy.no_stale) {
        grace = error = 0;
    }
    e->stale_until = e->fresh_until + (grace < d->max_ttl ? grace : d->max_ttl);
    e->error_until = e->fresh_until + (error < d->max_ttl ? error : d->max_ttl);
}

/* Until when memcached keeps the entry: its last stale window, or, for one
 * with a validator, SharedCacheKeep past its freshness (to be
 * revalidated). */
static apr_int64_t kept_until(const sc_req_t *ctx, const sc_entry_t *e)
{
    apr_int64_t until = e->stale_until > e->error_until ? e->stale_until
                                                        : e->error_until;
    apr_int64_t keep = ctx->dconf->keep < ctx->dconf->max_ttl
                           ? ctx->dconf->keep
                           : ctx->dconf->max_ttl;

    if (keep > 0 && e->status == 200
        && !(e->flags & (SC_EF_ESI | SC_EF_ASSEMBLED)) && sc_entry_validated(e)
        && e->fresh_until + keep > until) {
        until = e->fresh_until + keep;
    }
    return until;
}

/* A tag's generation as the revalidated entry recorded it (checked valid
 * by its lookup), else g's as read now: a tag invalidated while the
 * application answered the revalidation still reaches the entry. */
static apr_uint64_t kept_gen(const sc_req_t *ctx, const sc_gen_t *g)
{
    int i;

    for (i = 0; ctx->kept_deps && i < ctx->kept_deps->nelts; i++) {
        const sc_dep_t *d = &APR_ARRAY_IDX(ctx->kept_deps, i, sc_dep_t);
        if (!strcmp(d->name, g->dep)) {
            return d->gen;
        }
    }
    return g->gen;
}

/* The generations the entry depends on: its URL's, namespace's and
 * server's (read before the render) and its tags' (read now, created if
 * missing), all on the entry's own server. */
static apr_array_header_t *entry_deps(request_rec *r, sc_req_t *ctx,
                                      sc_conn_t *c)
{
    int ntags = ctx->tags ? ctx->tags->nelts : 0;
    sc_gen_t *g = apr_palloc(r->pool,
                             (apr_size_t)(ntags + SC_GENS) * sizeof(sc_gen_t));
    apr_array_header_t *deps = apr_array_make(r->pool, ntags + SC_GENS,
                                              sizeof(sc_dep_t));
    int i;

    for (i = 0; i < SC_GENS; i++) {
        g[i] = ctx->gens[i];
        if (!g[i].have) {
            return NULL;
        }
    }
    for (i = 0; i < ntags; i++) {
        sc_gen_init(r->pool, ctx->sconf->prefix,
                    sc_key_dep(r->pool, SC_DEP_TAG,
                               APR_ARRAY_IDX(ctx->tags, i, const char *)),
                    &g[i + SC_GENS]);
    }
    if (ntags > 0
        && sc_gen_fetch(c, r->pool, g + SC_GENS, ntags) != APR_SUCCESS) {
        return NULL;
    }
    if (ntags > 0
        && sc_gen_ensure(c, r->pool, g + SC_GENS, ntags) != APR_SUCCESS) {
        return NULL;
    }
    for (i = 0; i < ntags + SC_GENS; i++) {
        sc_dep_t *dep = apr_array_push(deps);
        dep->name = g[i].dep;
        dep->gen = i < SC_GENS ? g[i].gen : kept_gen(ctx, &g[i]);
    }
    return deps;
}

/* SharedCacheCompress: an ESI page is stored with the deflate piece of
 * each of its literal runs, what a gzip client gets of it (sc_assemble.c);
 * all of them or none. */
static apr_array_header_t *esi_pieces(sc_req_t *ctx, const sc_esi_doc_t *doc)
{
    sc_codec_pieces_t *z = sc_codec_pieces_make(ctx->cpool);
    apr_array_header_t *pieces = NULL;
    int i;

    for (i = 0; z && i < doc->nodes->nelts; i++) {
        const sc_esi_node_t *n = &APR_ARRAY_IDX(doc->nodes, i, sc_esi_node_t);
        char *piece;
        apr_size_t len;

        if (n->kind != SC_ESI_LITERAL) {
            continue;
        }
        if (sc_codec_pieces_add(z, ctx->cpool, n->data, n->len, &piece, &len)
            != APR_SUCCESS) {
            return NULL;
        }
        sc_entry_piece_add(ctx->cpool, &pieces, piece, len);
    }
    return pieces;
}

/* An ESI page is stored parsed (sc_esi.h): its body becomes the parsed
 * form, so a hit never parses it again.  0 when it cannot be. */
static int esi_parsed(request_rec *r, sc_req_t *ctx)
{
    char *page = apr_palloc(ctx->cpool, (apr_size_t)ctx->captured + 1);
    sc_esi_doc_t *doc;
    const char *err = NULL;
    sc_piece_t *pc;
    char *bytes;
    apr_size_t len;
    apr_status_t rv = APR_EGENERAL;

    sc_captured_copy(ctx, 0, page, (apr_size_t)ctx->captured);
    if (sc_esi_parse(ctx->cpool, page, (apr_size_t)ctx->captured, &doc, &err)
        == APR_SUCCESS) {
        if (ctx->dconf->compress == 1) {
            ctx->esi_pieces = esi_pieces(ctx, doc);
        }
        rv = sc_esi_encode(ctx->cpool, doc, &bytes, &len);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0512) "not stored: the ESI page cannot be "
                                     "parsed (%s)",
                      err ? err : "encoding");
        return 0;
    }
    ctx->pieces = apr_array_make(ctx->cpool, 1, sizeof(sc_piece_t));
    pc = apr_array_push(ctx->pieces);
    pc->data = bytes;
    pc->len = len;
    ctx->captured = (apr_off_t)len;
    return 1;
}

/* The record of a response (its key the URL's, not yet a variant's). */
static void entry_of(request_rec *r, sc_req_t *ctx, sc_entry_t *e,
                     apr_int64_t now)
{
    memset(e, 0, sizeof(*e));
    e->type = SC_REC_ENTRY;
    e->status = ctx->status;
    e->stored_at = now - ctx->policy.age;
    e->fresh_until = now + ctx->policy.ttl;
    stale_windows(ctx, e);
    e->flags = (ctx->policy.no_stale ? SC_EF_NO_STALE : 0) | quick_flags(r, ctx)
               | (ctx->esi_shell ? SC_EF_ESI : 0)
               | (ctx->fragments_asked > 0 ? SC_EF_ASSEMBLED : 0)
               | (ctx->recoded ? SC_EF_RECODED : 0)
               | (ctx->before_replaced ? SC_EF_OWN_FIELDS : 0);
    e->local = (unsigned)ctx->dconf->local_ttl;
    e->key = ctx->key;
    e->key_len = ctx->key_len;
    e->headers = ctx->headers;
    e->body_kind = SC_BODY_INLINE;
    e->body_len = (apr_uint64_t)ctx->captured;
    sc_coding_store(r, ctx, e);
    if (ctx->esi_shell) {
        e->pieces = ctx->esi_pieces;
    }
}

/* Stored (mkey, kept until until): the leases of later misses, counted,
 * logged. */
static void note_stored(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                        const sc_entry_t *e, const char *mkey,
                        apr_int64_t until)
{
    /* the lease of a later miss: the variant's once the Vary record is
     * found, the URL's when it is gone too */
    sc_lease_note_stored(r, ctx, c, e->key, e->key_len, until);
    if (e->key != ctx->key) {
        sc_lease_note_stored(r, ctx, c, ctx->key, ctx->key_len,
                             vary_kept_until(ctx, until));
    }
    sc_stat_add_r(r, SC_STAT_STORES, 1);
    sc_stat_add_r(r, SC_STAT_STORED_BYTES, e->body_len);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  SC_LOGNO(0305) "stored %s: %" APR_UINT64_T_FMT
                                 " bytes%s, fresh %" APR_INT64_T_FMT " s",
                  mkey, e->codings ? e->identity_len : e->body_len,
                  e->codings ? apr_psprintf(
                      r->pool, " (coded in %" APR_UINT64_T_FMT ")", e->body_len)
                             : "",
                  ctx->policy.ttl);
}

void sc_write(request_rec *r, sc_req_t *ctx)
{
    apr_int64_t now = apr_time_sec(apr_time_now());
    apr_int64_t exptime, until;
    const char *mkey = ctx->entry_key;
    sc_entry_t e;
    sc_conn_t *c;
    apr_status_t rv;

    if (ctx->esi_shell && !esi_parsed(r, ctx)) {
        return;
    }
    entry_of(r, ctx, &e, now);
    until = kept_until(ctx, &e);
    exptime = sc_policy_exptime(until - now, now);
    if (ctx->freshened) {
        /* A revalidated response varies on what the stored one did: a
         * 304 that narrowed it (X-SharedCache-Vary) would file the stored
         * body under other users' key. */
        ctx->vary = ctx->stored_vary;
    }
    else if (!ctx->vary && ctx->stored_vary) {
        /* The URL's other responses vary (pre-compressed files with a
         * conditional Vary): this one is stored as one of the variants, so
         * it never replaces the record that keeps them apart (THREATS
         * 39). */
        ctx->vary = ctx->stored_vary;
    }
    if (ctx->vary) {
        e.key = sc_variant_key(r, ctx, ctx->vary, &e.key_len);
        mkey = sc_key_digest(r->pool, ctx->sconf->prefix, SC_KIND_ENTRY, e.key,
                             e.key_len);
    }

    c = sc_store_borrow(ctx->sconf->backend, ctx->server, r->pool);
    if (!c) {
        sc_log_backend(r, "store", NULL);
        return;
    }
    e.deps = entry_deps(r, ctx, c);
    if (!e.deps) {
        sc_log_backend(r, "store (counters)", c->error);
        sc_store_return(c, r->pool);
        return;
    }
    rv = put_entry(r, ctx, c, &e, mkey, exptime);
    if (rv == APR_SUCCESS && ctx->vary) {
        rv = put_vary(ctx, c, &e, until, now);
    }
    if (rv == APR_SUCCESS) {
        note_stored(r, ctx, c, &e, mkey, until);
    }
    else if (c->failed) {
        sc_log_backend(r, "store", c->error);
    }
    else if (rv == SC_ENOTSTORED) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0329) "not stored: %s", c->error);
    }
    sc_store_return(c, r->pool);
}
