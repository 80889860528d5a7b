/*
 * sc_include.c: an ESI page's includes.  Each one is a subrequest through
 * the same handler, so each fragment is cached under its own <Location>
 * rules, made as a request of its own (its own request line, only what
 * configuration set of the page's variables); what memcached holds of all
 * of them is fetched in one multi-get per server before they run, in
 * document order; each part's headers make the page's as restrictive as
 * it is, and a fragment with access rules of its own makes the page
 * private unless anyone may read it.
 */
#include "sc_assemble.h"
#include "sc_esi.h"
#include "sc_local.h"
#include "sc_log.h"
#include "sc_pending.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_hash.h>
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

ap_filter_rec_t *sc_esi_part_filter_handle;
ap_filter_rec_t *sc_esi_length_filter_handle;

/* Reads a bucket whose length is not known yet (a pipe's, a CGI's): the
 * include waits for its data anyway.  A failed read fails the include. */
static apr_status_t read_length(part_t *pt, apr_bucket *b)
{
    const char *data;
    apr_size_t len;
    apr_status_t rv;

    if (b->length != (apr_size_t)-1) {
        return APR_SUCCESS;
    }
    rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
    if (rv != APR_SUCCESS) {
        pt->failed = 1;
    }
    return rv;
}

/* SHAREDCACHE_ESI_PART: the end of an include's filter chain (it never
 * reaches the client): keeps what the fragment sends, in the page's pool. */
apr_status_t sc_esi_part_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    part_t *pt = f->ctx;
    apr_status_t rv;
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (AP_BUCKET_IS_ERROR(b)) {
            pt->failed = 1;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            continue;
        }
        rv = read_length(pt, b);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        /* whatever made it (a render, a hit, an SSI page's includes) */
        if (!sc_inc_hold(f->r, (apr_off_t)b->length)) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, f->r,
                          SC_LOGNO(0517) "ESI include %s failed: the page's "
                                         "includes are larger than %d bytes",
                          pt->node->src, SC_ESI_MAX_HELD);
            pt->failed = 1;
            apr_brigade_cleanup(bb);
            return APR_ENOSPC; /* the render stops */
        }
    }
    return ap_save_brigade(f, &pt->out, &bb, f->r->pool);
}

int sc_inc_hold(request_rec *r, apr_off_t len)
{
    request_rec *top = r;
    apr_off_t *held = NULL;

    while (top->main) {
        top = top->main;
    }
    apr_pool_userdata_get((void **)&held, INCLUDES_HELD, top->pool);
    if (!held) {
        held = apr_pcalloc(top->pool, sizeof(*held));
        apr_pool_userdata_setn(held, INCLUDES_HELD, NULL, top->pool);
    }
    if (len > SC_ESI_MAX_HELD - *held) {
        return 0;
    }
    *held += len;
    return 1;
}

/* The length filter passes on what it has read every so many bytes
 * (sc_pass_read). */
#define LENGTH_PASS_BYTES (64 * 1024)

/* SHAREDCACHE_ESI_LENGTH: the first of an include's filters.  A handler
 * that cannot report a broken body (mod_wsgi's daemon mode, CGI, FastCGI)
 * ends one the application broke off like a whole one; the length it
 * announced is what tells them apart, counted here before any filter
 * rewrites the body (mod_substitute drops the length).  Data not there
 * yet (a CGI's pipe) is read here: the page waits for the whole include
 * anyway.  Without a length, the body is taken as it came (the page is
 * never stored; the fragment itself is stored only under
 * SharedCacheRequireLength's rule).  What the cache serves is whole. */
apr_status_t sc_esi_length_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    part_t *pt = f->ctx;
    request_rec *r = f->r;
    apr_size_t unpassed = 0;
    apr_status_t rv;
    apr_bucket *b;

    if (!pt->len_started) {
        const char *cl = apr_table_getm(r->pool, r->headers_out,
                                        "Content-Length");

        pt->len_started = 1;
        pt->len_said = -1;
        if (cl && !ap_parse_strict_length(&pt->len_said, cl)) {
            pt->len_said = -2;
        }
    }
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (unpassed >= LENGTH_PASS_BYTES) {
            rv = sc_pass_read(f, bb, b, &pt->rest);
            if (rv != APR_SUCCESS) {
                apr_brigade_cleanup(bb);
                return rv;
            }
            b = APR_BRIGADE_FIRST(bb);
            unpassed = 0;
        }
        if (APR_BUCKET_IS_EOS(b)) {
            sc_decision_t d = sc_decision_of(r);
            if (d != SC_HIT && d != SC_STALE
                && (pt->len_said == -2
                    || (pt->len_said >= 0 && pt->len_got != pt->len_said))) {
                pt->cut = pt->len_said == -2
                              ? "an invalid Content-Length"
                              : apr_psprintf(r->pool,
                                             "%" APR_OFF_T_FMT " bytes, "
                                             "Content-Length said "
                                             "%" APR_OFF_T_FMT,
                                             pt->len_got, pt->len_said);
            }
            break;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            continue;
        }
        rv = read_length(pt, b);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        pt->len_got += (apr_off_t)b->length;
        unpassed += b->length;
    }
    return ap_pass_brigade(f->next, bb);
}

void sc_inc_headers(apr_table_t *t)
{
    /* The client's conditions and ranges are the page's, never a
     * fragment's (a fragment answering 412 or 206 is no fragment). */
    static const char *const page_only[] = { "If-Match",
                                             "If-None-Match",
                                             "If-Modified-Since",
                                             "If-Unmodified-Since",
                                             "If-Range",
                                             "Range",
                                             NULL };
    const char *const *n;

    for (n = page_only; *n; n++) {
        apr_table_unset(t, *n);
    }
    /* A fragment's body goes into the page as it is: an application that
     * compresses for clients that take gzip (Django's GZipMiddleware)
     * must not send it coded. */
    apr_table_unset(t, "Accept-Encoding");
}

/* A subrequest for src, ending in pt's SHAREDCACHE_ESI_PART. */
request_rec *sc_inc_request(request_rec *r, const char *src, part_t *pt)
{
    ap_filter_t *end = apr_pcalloc(r->pool, sizeof(*end));
    char *line;
    apr_table_t *env;
    apr_time_t shown;
    request_rec *rr;

    end->frec = sc_esi_part_filter_handle;
    end->ctx = pt;
    end->r = r;
    end->c = r->connection;
    pt->out = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    pt->len_started = 0;
    pt->len_got = 0;
    pt->cut = NULL;
    /* An include is a request of its own, as a surrogate makes it: its
     * own request line (REQUEST_URI), and of the page's variables only
     * those configuration set, which its key holds; not what the page's
     * handler or filters added (its CGI variables, mod_include's). */
    line = r->the_request;
    env = r->subprocess_env;
    r->the_request = apr_pstrcat(r->pool, "GET ", src, " ", r->protocol, NULL);
    if (sc_derive_env_at_handler(r)) {
        r->subprocess_env = sc_derive_env_at_handler(r);
    }
    /* a request of this moment, also while a hit's pass dates the page
     * with its stored Date (sc_pass_restored): the subrequest copies it */
    shown = r->request_time;
    r->request_time = sc_request_received(r);
    apr_table_setn(r->notes, NOTE_CREATING, "1");
    rr = ap_sub_req_lookup_uri(src, r, end);
    apr_table_unset(r->notes, NOTE_CREATING);
    r->the_request = line;
    r->subprocess_env = env;
    r->request_time = shown;
    apr_table_setn(rr->notes, NOTE_INCLUDE, "1");
    sc_inc_headers(rr->headers_in);
    ap_add_output_filter_handle(sc_esi_length_filter_handle, pt, rr,
                                rr->connection);
    /* The key the include would be served under without a subrequest:
     * the entry may be served so if it is stored under it (sc_write.c). */
    if (pt->direct) {
        apr_table_setn(
            rr->notes, SC_NOTE_QUICK_KEY,
            apr_pstrmemdup(rr->pool, pt->direct->key, pt->direct->key_len));
    }
    return rr;
}

/* One more include for this client request, within SC_ESI_MAX_TOTAL?
 * (Pages that include themselves many times would otherwise make
 * includes to the power of the depth.) */
int sc_inc_budget(request_rec *r)
{
    request_rec *top = r;
    apr_size_t *made = NULL;

    while (top->main) {
        top = top->main;
    }
    apr_pool_userdata_get((void **)&made, INCLUDES_MADE, top->pool);
    if (!made) {
        made = apr_pcalloc(top->pool, sizeof(*made));
        apr_pool_userdata_setn(made, INCLUDES_MADE, NULL, top->pool);
    }
    if (++*made == SC_ESI_MAX_TOTAL + 1) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      SC_LOGNO(0513) "ESI: more than %d includes for one "
                                     "request: the rest are not fetched",
                      SC_ESI_MAX_TOTAL);
    }
    return *made <= SC_ESI_MAX_TOTAL;
}

/* The local tier first: what it keeps is not asked of memcached. */
static void prefetch_local(request_rec *r, sc_req_t **ctxs, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        const char *mine[1 + SC_GENS];

        if (ctxs[i] && !ctxs[i]->prefetch) {
            sc_lookup_keys(ctxs[i], mine);
            ctxs[i]->prefetch_local = sc_local_get(
                r, mine, 1 + SC_GENS, (int)ctxs[i]->dconf->local_ttl,
                &ctxs[i]->prefetch);
            ctxs[i]->prefetch_mark = sc_local_mark(mine, 1 + SC_GENS);
        }
    }
}

/* Is ctxs[j] one of server's still to read? */
static int still_to_read(sc_req_t *const *ctxs, int j, int server)
{
    return ctxs[j] && ctxs[j]->server == server && !ctxs[j]->prefetch;
}

/* Those of ctxs[i]'s server still to read, from ctxs[i] on, in one
 * multi-get: every key once. */
static void prefetch_server(request_rec *r, const sc_server_conf_t *s,
                            sc_req_t **ctxs, int i, int n)
{
    apr_hash_t *index = sc_key_hash_make(r->pool);
    apr_time_t at = apr_time_now();
    int server = ctxs[i]->server;
    const char **keys = apr_palloc(r->pool, (apr_size_t)(n * (1 + SC_GENS))
                                                * sizeof(*keys));
    sc_value_t *vals;
    sc_conn_t *c;
    int m = 0, j, k;

    for (j = i; j < n; j++) {
        const char *mine[1 + SC_GENS];
        /* (one the local tier answered is not asked) */
        if (!still_to_read(ctxs, j, server)) {
            continue;
        }
        sc_lookup_keys(ctxs[j], mine);
        for (k = 0; k < 1 + SC_GENS; k++) {
            if (!apr_hash_get(index, mine[k], APR_HASH_KEY_STRING)) {
                keys[m] = mine[k];
                apr_hash_set(index, mine[k], APR_HASH_KEY_STRING,
                             (void *)(apr_uintptr_t)(m + 1));
                m++;
            }
        }
    }
    c = sc_store_borrow(s->backend, server, r->pool);
    if (!c) {
        return;
    }
    if (sc_store_mget(c, r->pool, keys, (apr_size_t)m, &vals) != APR_SUCCESS) {
        sc_store_return(c, r->pool);
        return; /* each looks up alone, and logs */
    }
    sc_store_return(c, r->pool);
    for (j = i; j < n; j++) {
        const char *mine[1 + SC_GENS];
        sc_value_t *own;
        if (!still_to_read(ctxs, j, server)) {
            continue;
        }
        sc_lookup_keys(ctxs[j], mine);
        own = apr_pcalloc(r->pool, (1 + SC_GENS) * sizeof(*own));
        for (k = 0; k < 1 + SC_GENS; k++) {
            apr_uintptr_t pos = (apr_uintptr_t)apr_hash_get(
                index, mine[k], APR_HASH_KEY_STRING);
            if (k == 0) {
                /* the record: this one's alone, it may take it */
                sc_value_move(r->pool, &vals[pos - 1], &own[0]);
            }
            else {
                own[k] = vals[pos - 1]; /* read only */
            }
        }
        ctxs[j]->prefetch = own;
        ctxs[j]->prefetch_at = at;
    }
}

/* What memcached holds for each of ctxs, in one multi-get per server:
 * each one's level-1 record and the counters it is checked against
 * (sc_lookup takes them from its prefetch).  The counters many share are
 * asked once. */
void sc_inc_prefetch_ctxs(request_rec *r, sc_req_t **ctxs, int n)
{
    sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                               &sharedcache_module);
    int local = sc_local_on() && sc_pending_count() == 0;
    int i;

    /* Read with the page's own lookup (sc_incearly.c). */
    for (i = 0; !local && i < n; i++) {
        if (ctxs[i]) {
            sc_early_take(r, ctxs[i]);
        }
    }
    if (local) {
        prefetch_local(r, ctxs, n);
    }
    for (i = 0; i < n; i++) {
        if (ctxs[i] && !ctxs[i]->prefetch) {
            /* (all of them, where the page's lookup read them) */
            prefetch_server(r, s, ctxs, i, n);
        }
    }
    for (i = 0; i < n; i++) {
        if (ctxs[i]) {
            sc_early_note(r, ctxs[i]);
        }
    }
}

/* What memcached holds for every include that a subrequest will look up.
 * An include whose record another include of the page already asks for
 * looks up alone (a record is read by one lookup). */
void sc_inc_prefetch(request_rec *r, part_t *parts, int n)
{
    sc_req_t **ctxs = apr_pcalloc(r->pool, (apr_size_t)n * sizeof(*ctxs));
    sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                               &sharedcache_module);
    apr_hash_t *entries = sc_key_hash_make(r->pool);
    int i;

    for (i = 0; i < n; i++) {
        request_rec *rr = parts[i].rr;
        sc_dir_conf_t *d;

        if (!rr || rr->status != HTTP_OK) {
            continue;
        }
        d = ap_get_module_config(rr->per_dir_config, &sharedcache_module);
        if (!d || d->enabled != 1 || sc_client_method(rr) != M_GET
            || sc_bypass_reason(rr, d, NULL)) {
            continue;
        }
        ctxs[i] = sc_req_new(rr, d, SC_PHASE_NORMAL);
        if (sc_build_key(rr, ctxs[i]) || ctxs[i]->sconf != s
            || apr_hash_get(entries, ctxs[i]->entry_key, APR_HASH_KEY_STRING)) {
            ctxs[i] = NULL;
            continue;
        }
        apr_hash_set(entries, ctxs[i]->entry_key, APR_HASH_KEY_STRING, "");
    }
    sc_inc_prefetch_ctxs(r, ctxs, n);
    for (i = 0; i < n; i++) {
        if (ctxs[i] && ctxs[i]->prefetch) {
            apr_pool_userdata_setn(ctxs[i], PREFETCHED, NULL,
                                   parts[i].rr->pool);
        }
    }
}

sc_req_t *sc_esi_prefetched(request_rec *r)
{
    void *ctx = NULL;

    if (!r->main) {
        return NULL;
    }
    apr_pool_userdata_get(&ctx, PREFETCHED, r->pool);
    apr_pool_userdata_setn(NULL, PREFETCHED, NULL, r->pool);
    return ctx;
}

/* Has the subrequest answered something to include? */
static int include_ran(request_rec *r, part_t *pt)
{
    request_rec *rr = pt->rr;
    const char *ce;
    int rv;

    if (rr->status != HTTP_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0502) "ESI include %s refused (%d)",
                      pt->node->src, rr->status);
        return 0;
    }
    rv = ap_run_sub_req(rr);
    /* A redirect, a 304 or a part of a range is no fragment either. */
    if (rv != OK || rr->status >= 300 || rr->status == HTTP_PARTIAL_CONTENT
        || pt->failed) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0504) "ESI include %s failed (%d)",
                      pt->node->src, rv != OK ? rv : rr->status);
        return 0;
    }
    if (pt->cut) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      SC_LOGNO(0514) "ESI include %s failed: its body is not "
                                     "as long as its Content-Length says "
                                     "(cut short: %s)",
                      pt->node->src, pt->cut);
        return 0;
    }
    /* coded bytes (an application that compresses itself, a .gz file
     * with AddEncoding) would sit raw in the page */
    ce = rr->content_encoding
             ? rr->content_encoding
             : apr_table_get(rr->headers_out, "Content-Encoding");
    if (!ce) {
        ce = apr_table_get(rr->err_headers_out, "Content-Encoding");
    }
    if (ce && *ce && strcasecmp(ce, "identity")) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      SC_LOGNO(0516) "ESI include %s failed: its response is "
                                     "coded (Content-Encoding: %s)",
                      pt->node->src, ce);
        return 0;
    }
    if (sc_fragment_broken_part(rr)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      SC_LOGNO(0515) "ESI include %s failed: a part of it "
                                     "was cut short (%s)",
                      pt->node->src, sc_fragment_broken_part(rr));
        return 0;
    }
    return 1;
}

/* A Cache-Control list's word, its value after '=' if any. */
static int cc_has(request_rec *r, const char *cc, const char *word,
                  apr_int64_t *value)
{
    const char *p = cc;

    while (p && *p) {
        apr_size_t n = strlen(word);
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (!strncasecmp(p, word, n)
            && (p[n] == '\0' || p[n] == ',' || p[n] == '=' || p[n] == ' ')) {
            if (value) {
                *value = p[n] == '=' ? apr_atoi64(p + n + 1 + (p[n + 1] == '"'))
                                     : 0;
            }
            return 1;
        }
        p = strchr(p, ',');
    }
    (void)r;
    return 0;
}

/* A part's headers (out) make the page's as restrictive as it is. */
void sc_inc_restrict(request_rec *r, page_t *pg, fresh_t *fr, apr_table_t *out,
                     int personal)
{
    const char *cc = apr_table_getm(r->pool, out, "Cache-Control");
    const char *age = apr_table_get(out, "Age");
    const char *vary = apr_table_getm(r->pool, out, "Vary");
    apr_int64_t v = 0;

    if (cc && cc_has(r, cc, "no-store", NULL)) {
        fr->no_store = 1;
    }
    if (personal || (cc && cc_has(r, cc, "private", NULL))
        || apr_table_get(out, "Set-Cookie")
        || apr_table_get(out, "Set-Cookie2")) {
        fr->private_ = 1;
    }
    /* Without max-age (or with no-cache) a part is not fresh for the
     * client at all. */
    if (!cc || cc_has(r, cc, "no-cache", NULL) || !cc_has(r, cc, "max-age", &v)
        || v < 0) {
        v = 0;
    }
    if (fr->max_age < 0 || v < fr->max_age) {
        fr->max_age = v;
    }
    if (age && apr_atoi64(age) > pg->age) {
        pg->age = apr_atoi64(age);
    }
    /* copies: a fragment's values live in its pool, destroyed with it */
    if (vary) {
        pg->vary = pg->vary ? apr_pstrcat(r->pool, pg->vary, ", ", vary, NULL)
                            : apr_pstrdup(r->pool, vary);
    }
}

static int keep_cookie(void *data, const char *name, const char *value)
{
    page_t *pg = data;

    (void)name;
    APR_ARRAY_PUSH(pg->set_cookies,
                   const char *) = apr_pstrdup(pg->set_cookies->pool, value);
    return 1;
}

/* How long a child trusts what httpd answered for an include's URL to
 * an anonymous client: the answer depends on the configuration and the
 * URL only, and asking (sc_anyone_may) prepares the include once more. */
#define SC_ANYONE_MEMO 10

/* Would every client be let through to rr's URL (sc_rules_pass_anyone:
 * an anonymous client, and no rule that denies some clients)?  Asked of
 * httpd at most once per SC_ANYONE_MEMO seconds per child, virtual host,
 * Host and URL. */
static int anyone_may_include(request_rec *r, request_rec *rr)
{
    const char *host = apr_table_get(rr->headers_in, "Host");
    /* the virtual host itself (two may share a ServerName on other
     * addresses or ports, with other rules): its record, which is the
     * same for the child's life */
    const char *key = apr_psprintf(r->pool, "anyone %pp %s %s", rr->server,
                                   host ? host : "", rr->unparsed_uri);
    apr_array_header_t *memo = sc_hint_get(r->pool, SC_HINT_ANYONE, key);
    apr_int64_t now = apr_time_sec(apr_time_now());
    int may;

    if (memo && memo->nelts == 2
        && apr_atoi64(APR_ARRAY_IDX(memo, 1, const char *)) > now) {
        return !strcmp(APR_ARRAY_IDX(memo, 0, const char *), "1");
    }
    may = sc_rules_pass_anyone(rr);
    memo = apr_array_make(r->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(memo, const char *) = may ? "1" : "0";
    APR_ARRAY_PUSH(memo, const char *) = apr_psprintf(
        r->pool, "%" APR_INT64_T_FMT, now + SC_ANYONE_MEMO);
    sc_hint_set(SC_HINT_ANYONE, key, memo);
    return may;
}

/* An include answered: its output joins the page, its headers restrict
 * the page's, and its cookies (a miss rendered for this visitor) go to
 * the visitor. */
static void include_done(request_rec *r, page_t *pg, fresh_t *fr, part_t *pt,
                         apr_bucket_brigade *page)
{
    request_rec *rr = pt->rr;
    apr_table_t *out = apr_table_overlay(r->pool, rr->err_headers_out,
                                         rr->headers_out);
    const char *vary = sc_response_vary(rr, out);
    const sc_dir_conf_t *fd = ap_get_module_config(rr->per_dir_config,
                                                   &sharedcache_module);
    const sc_dir_conf_t *pd = ap_get_module_config(r->per_dir_config,
                                                   &sharedcache_module);
    apr_bucket *b;

    /* (its handler's word counts where a filter lifted it) */
    int personal = (fd && pd && !sc_config_variance_within(fd, pd))
                   || sc_handler_personal(rr);

    /* A fragment with access rules of its own that not every client
     * would pass makes the page this client's own. */
    if (!personal && !fr->private_ && rr->per_dir_config != r->per_dir_config
        && !anyone_may_include(r, rr)) {
        personal = 1;
    }
    /* the page's Vary tells caches after it what its handler's said */
    if (vary) {
        apr_table_setn(out, "Vary", vary);
    }
    sc_inc_restrict(r, pg, fr, out, personal);
    apr_table_do(keep_cookie, pg, out, "Set-Cookie", NULL);
    while (!APR_BRIGADE_EMPTY(pt->out)) {
        b = APR_BRIGADE_FIRST(pt->out);
        APR_BUCKET_REMOVE(b);
        if (APR_BUCKET_IS_METADATA(b)) {
            apr_bucket_destroy(b);
        }
        else {
            APR_BRIGADE_INSERT_TAIL(page, b);
        }
    }
}

/* An include found directly (sc_incdirect.c): its stored body joins the
 * page, its stored fields restrict the page's.  Its location keys as the
 * virtual host does (the entry is quick-servable). */
static void direct_done(request_rec *r, page_t *pg, fresh_t *fr, part_t *pt,
                        apr_bucket_brigade *page)
{
    const sc_dir_conf_t *base = ap_get_module_config(r->server->lookup_defaults,
                                                     &sharedcache_module);
    const sc_dir_conf_t *pd = ap_get_module_config(r->per_dir_config,
                                                   &sharedcache_module);

    sc_inc_restrict(r, pg, fr, pt->direct_fields,
                    base && pd && !sc_config_variance_within(base, pd));
    APR_BRIGADE_CONCAT(page, pt->out);
}

/* Fetch one include (src, then alt): 1 when it joined the page. */
int sc_inc_fetch(request_rec *r, page_t *pg, fresh_t *fr, part_t *pt,
                 apr_bucket_brigade *page)
{
    const char *alt = pt->node->alt;

    if (pt->served) {
        direct_done(r, pg, fr, pt, page);
        return 1;
    }
    if (pt->rr && include_ran(r, pt)) {
        include_done(r, pg, fr, pt, page);
        ap_destroy_sub_req(pt->rr);
        return 1;
    }
    if (pt->rr) {
        ap_destroy_sub_req(pt->rr);
        pt->rr = NULL;
    }
    if (!alt) {
        return 0;
    }
    if (!sc_esi_src_local(alt)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      SC_LOGNO(0505) "ESI include alt=\"%s\" refused: only "
                                     "local paths of this host are included",
                      alt);
        return 0;
    }
    if (sc_inc_depth(r) >= SC_ESI_MAX_DEPTH || !sc_inc_budget(r)) {
        return 0;
    }
    pt->rr = sc_inc_request(r, alt, pt);
    if (include_ran(r, pt)) {
        include_done(r, pg, fr, pt, page);
        ap_destroy_sub_req(pt->rr);
        return 1;
    }
    ap_destroy_sub_req(pt->rr);
    return 0;
}
