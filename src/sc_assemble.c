/*
 * sc_assemble.c: SHAREDCACHE_ESI, the output filter that assembles a page
 * from its ESI includes (DESIGN sections 2 and 4, THREATS 16 and 35).
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
 */
#include "sc_request.h"
#include "sc_esi.h"
#include "sc_log.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_hash.h>
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

ap_filter_rec_t *sc_esi_filter_handle;
ap_filter_rec_t *sc_esi_hold_filter_handle;
ap_filter_rec_t *sc_esi_part_filter_handle;

/* on a subrequest made for an include; on the page while it makes one
 * (create_request runs inside ap_sub_req_lookup_uri) */
#define NOTE_INCLUDE "sharedcache-esi-include"
#define NOTE_CREATING "sharedcache-esi-creating"
/* the prefetched context of an include (a userdata of its pool) */
#define PREFETCHED "sharedcache-esi-prefetched"
/* the client's Range and If-Range while the page is made */
#define NOTE_RANGE "sharedcache-esi-range"
#define NOTE_IF_RANGE "sharedcache-esi-if-range"
/* includes made for one client request (on the main request) */
#define INCLUDES_MADE "sharedcache-esi-includes"

/* Largest shell processed; a larger one fails (never sent raw). */
#define SC_ESI_MAX_SHELL (16 * 1024 * 1024)

/* One include of the page, as it is fetched. */
typedef struct {
    const sc_esi_node_t *node;
    request_rec *rr;         /* its subrequest, or NULL */
    apr_bucket_brigade *out; /* what it sent */
    int failed;              /* its error bucket, if it sent one */
} part_t;

/* The page being assembled; also SHAREDCACHE_ESI_HOLD's context. */
typedef struct {
    int passing;            /* not processed: everything goes through */
    apr_bucket_brigade *in; /* the shell as it comes */
    apr_off_t in_len;
    int assembled;                   /* the page is ready: HOLD lets go */
    apr_bucket_brigade *held;        /* what HOLD keeps until then */
    const char *cc;                  /* Cache-Control for the client */
    apr_int64_t age;                 /* the oldest part's Age */
    const char *vary;                /* the parts' Vary, joined */
    apr_array_header_t *set_cookies; /* the fragments' Set-Cookie */
} page_t;

/* The most restrictive Cache-Control of the parts, as they are met. */
typedef struct {
    int no_store;
    int private_;
    apr_int64_t max_age; /* -1: none seen yet */
} fresh_t;

int sc_esi_include(const request_rec *r)
{
    return r->main
           && (apr_table_get(r->notes, NOTE_INCLUDE)
               || apr_table_get(r->main->notes, NOTE_CREATING));
}

/* How many includes deep r is (0: a page the client asked for). */
static int depth(const request_rec *r)
{
    int n = 0;

    for (; r->main; r = r->main) {
        n += sc_esi_include(r);
    }
    return n;
}

const char *sc_esi_token(request_rec *r, const sc_dir_conf_t *d)
{
    return d->esi_token ? d->esi_token : r->server->server_hostname;
}

/* Does Surrogate-Control ask this cache for ESI: a directive named
 * exactly "content" whose value lists ESI/1.0, targeted at no device or
 * at ours (content="ESI/1.0";token)?  Directives are split at commas
 * outside quotes. */
static int asks_for_esi(request_rec *r, const char *sc, const char *token)
{
    const char *s = sc;

    while (*s) {
        const char *name, *v, *vend, *end;
        apr_size_t nlen;

        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        name = s;
        nlen = strcspn(s, "=,; \t");
        s += nlen;
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        v = vend = s;
        if (*s == '=') {
            s++;
            while (*s == ' ' || *s == '\t') {
                s++;
            }
            if (*s == '"') {
                v = ++s;
                vend = strchr(s, '"');
                if (!vend) {
                    return 0; /* unclosed: not guessed at */
                }
                s = vend + 1;
            }
            else {
                v = s;
                s += strcspn(s, ",; \t");
                vend = s;
            }
        }
        /* the target: ";token", up to the next comma */
        end = s + strcspn(s, ",");
        if (nlen == 7 && !strncasecmp(name, "content", 7) && vend > v
            && ap_find_token(r->pool,
                             apr_pstrmemdup(r->pool, v, (apr_size_t)(vend - v)),
                             "ESI/1.0")) {
            const char *t = s;
            while (*t == ' ' || *t == '\t') {
                t++;
            }
            if (*t != ';') {
                return 1;
            }
            t++;
            while (*t == ' ' || *t == '\t') {
                t++;
            }
            if ((apr_size_t)(end - t) >= strlen(token)
                && !strncasecmp(t, token, strlen(token))
                && strspn(t + strlen(token), " \t")
                       == (apr_size_t)(end - t) - strlen(token)) {
                return 1;
            }
        }
        s = end;
    }
    return 0;
}

int sc_esi_wanted(request_rec *r, const sc_dir_conf_t *d, apr_table_t *out)
{
    const char *ce = apr_table_get(out, "Content-Encoding");
    const char *sc;

    if (!d || d->esi == sc_esi_off || r->status == 204 || r->status == 304
        || r->status < 200) {
        return 0;
    }
    /* A compressed body cannot be read: passed through (and logged). */
    if (ce && strcasecmp(ce, "identity")) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0501) "ESI not processed: the response is "
                                     "compressed (Content-Encoding: %s)",
                      ce);
        return 0;
    }
    if (d->esi == sc_esi_force) {
        return 1;
    }
    sc = apr_table_getm(r->pool, out, "Surrogate-Control");
    return sc && asks_for_esi(r, sc, sc_esi_token(r, d));
}

void sc_esi_insert(request_rec *r)
{
    const sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                                  &sharedcache_module);

    if (!d) {
        return;
    }
    if (d->esi == sc_esi_off) {
        /* A client's own Surrogate-Capability would have the application
         * send ESI markup that nobody here processes, and the cache keep
         * it for everyone. */
        if (d->enabled == 1) {
            apr_table_unset(r->headers_in, "Surrogate-Capability");
        }
        return;
    }
    apr_table_setn(
        r->headers_in, "Surrogate-Capability",
        apr_pstrcat(r->pool, sc_esi_token(r, d), "=\"ESI/1.0\"", NULL));
    /* An assembled page has no validators of its own: the application is
     * never asked for a 304 of the shell (its fragments may have changed
     * meanwhile), and the client gets the whole page. */
    apr_table_unset(r->headers_in, "If-None-Match");
    apr_table_unset(r->headers_in, "If-Modified-Since");
    /* A Range is the assembled page's (httpd's byterange filter applies it
     * to the page, If-Range too, which no validator of the page matches):
     * the application is never asked for part of the shell. */
    if (!r->main && apr_table_get(r->headers_in, "Range")) {
        apr_table_setn(r->notes, NOTE_RANGE,
                       apr_table_get(r->headers_in, "Range"));
        if (apr_table_get(r->headers_in, "If-Range")) {
            apr_table_setn(r->notes, NOTE_IF_RANGE,
                           apr_table_get(r->headers_in, "If-Range"));
        }
        apr_table_unset(r->headers_in, "Range");
        apr_table_unset(r->headers_in, "If-Range");
    }
    ap_add_output_filter_handle(sc_esi_filter_handle, NULL, r, r->connection);
}

/* The client's Range and If-Range, back for httpd's byterange filter
 * (after ours), whether the page was assembled or not. */
static void range_back(request_rec *r)
{
    const char *range = apr_table_get(r->notes, NOTE_RANGE);
    const char *if_range = apr_table_get(r->notes, NOTE_IF_RANGE);

    if (range) {
        apr_table_setn(r->headers_in, "Range", range);
        apr_table_unset(r->notes, NOTE_RANGE);
    }
    if (if_range) {
        apr_table_setn(r->headers_in, "If-Range", if_range);
        apr_table_unset(r->notes, NOTE_IF_RANGE);
    }
}

/* ---- the includes ------------------------------------------------------ */

/* SHAREDCACHE_ESI_PART: the end of an include's filter chain (it never
 * reaches the client): keeps what the fragment sends, in the page's pool. */
apr_status_t sc_esi_part_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    part_t *pt = f->ctx;
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (AP_BUCKET_IS_ERROR(b)) {
            pt->failed = 1;
        }
    }
    return ap_save_brigade(f, &pt->out, &bb, f->r->pool);
}

/* A subrequest for src, ending in pt's SHAREDCACHE_ESI_PART. */
static request_rec *include_request(request_rec *r, const char *src, part_t *pt)
{
    ap_filter_t *end = apr_pcalloc(r->pool, sizeof(*end));
    char *line;
    apr_table_t *env;
    request_rec *rr;

    end->frec = sc_esi_part_filter_handle;
    end->ctx = pt;
    end->r = r;
    end->c = r->connection;
    pt->out = apr_brigade_create(r->pool, r->connection->bucket_alloc);
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
    apr_table_setn(r->notes, NOTE_CREATING, "1");
    rr = ap_sub_req_lookup_uri(src, r, end);
    apr_table_unset(r->notes, NOTE_CREATING);
    r->the_request = line;
    r->subprocess_env = env;
    apr_table_setn(rr->notes, NOTE_INCLUDE, "1");
    /* The client's conditions and ranges are the page's, never a
     * fragment's (a fragment answering 412 or 206 is no fragment). */
    apr_table_unset(rr->headers_in, "If-Match");
    apr_table_unset(rr->headers_in, "If-None-Match");
    apr_table_unset(rr->headers_in, "If-Modified-Since");
    apr_table_unset(rr->headers_in, "If-Unmodified-Since");
    apr_table_unset(rr->headers_in, "If-Range");
    apr_table_unset(rr->headers_in, "Range");
    return rr;
}

/* One more include for this client request, within SC_ESI_MAX_TOTAL?
 * (Pages that include themselves many times would otherwise make
 * includes to the power of the depth.) */
static int include_budget(request_rec *r)
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

/* What memcached holds for every include that will be looked up, in one
 * multi-get per server: each include's level-1 record and the counters it
 * is checked against (sc_lookup takes them from the include's prefetched
 * context).  The counters many includes share are asked once; an include
 * whose record another include of the page already asks for looks up
 * alone (a record is read by one lookup). */
static void prefetch(request_rec *r, part_t *parts, int n)
{
    sc_req_t **ctxs = apr_pcalloc(r->pool, (apr_size_t)n * sizeof(*ctxs));
    sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                               &sharedcache_module);
    apr_hash_t *entries = apr_hash_make(r->pool);
    int i, j, k;

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
    for (i = 0; i < n; i++) {
        apr_hash_t *index = apr_hash_make(r->pool);
        const char **keys;
        sc_value_t *vals;
        sc_conn_t *c;
        int m = 0, server;

        if (!ctxs[i] || ctxs[i]->prefetch) {
            continue;
        }
        /* every include of this server, each key once */
        server = ctxs[i]->server;
        keys = apr_palloc(r->pool,
                          (apr_size_t)(n * (1 + SC_GENS)) * sizeof(*keys));
        for (j = i; j < n; j++) {
            const char *mine[1 + SC_GENS];
            if (!ctxs[j] || ctxs[j]->server != server) {
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
            continue;
        }
        if (sc_store_mget(c, r->pool, keys, (apr_size_t)m, &vals)
            != APR_SUCCESS) {
            sc_store_return(c, r->pool);
            continue; /* each looks up alone, and logs */
        }
        sc_store_return(c, r->pool);
        for (j = i; j < n; j++) {
            const char *mine[1 + SC_GENS];
            sc_value_t *own;
            if (!ctxs[j] || ctxs[j]->server != server) {
                continue;
            }
            sc_lookup_keys(ctxs[j], mine);
            own = apr_pcalloc(r->pool, (1 + SC_GENS) * sizeof(*own));
            for (k = 0; k < 1 + SC_GENS; k++) {
                apr_uintptr_t at = (apr_uintptr_t)apr_hash_get(
                    index, mine[k], APR_HASH_KEY_STRING);
                if (k == 0) {
                    /* the record: this include's alone, it may take it */
                    sc_value_move(r->pool, &vals[at - 1], &own[0]);
                }
                else {
                    own[k] = vals[at - 1]; /* read only */
                }
            }
            ctxs[j]->prefetch = own;
            apr_pool_userdata_setn(ctxs[j], PREFETCHED, NULL,
                                   parts[j].rr->pool);
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
static void restrict_by(request_rec *r, page_t *pg, fresh_t *fr,
                        apr_table_t *out, int personal)
{
    const char *cc = apr_table_getm(r->pool, out, "Cache-Control");
    const char *age = apr_table_get(out, "Age");
    const char *vary = apr_table_getm(r->pool, out, "Vary");
    apr_int64_t v = 0;

    if (cc && cc_has(r, cc, "no-store", NULL)) {
        fr->no_store = 1;
    }
    if (personal || (cc && cc_has(r, cc, "private", NULL))
        || apr_table_get(out, "Set-Cookie")) {
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

/* An include answered: its output joins the page, its headers restrict
 * the page's, and its cookies (a miss rendered for this visitor) go to
 * the visitor. */
static void include_done(request_rec *r, page_t *pg, fresh_t *fr, part_t *pt,
                         apr_bucket_brigade *page)
{
    request_rec *rr = pt->rr;
    apr_table_t *out = apr_table_overlay(r->pool, rr->err_headers_out,
                                         rr->headers_out);
    const sc_dir_conf_t *fd = ap_get_module_config(rr->per_dir_config,
                                                   &sharedcache_module);
    const sc_dir_conf_t *pd = ap_get_module_config(r->per_dir_config,
                                                   &sharedcache_module);
    apr_bucket *b;

    int personal = fd && pd && !sc_config_variance_within(fd, pd);

    /* A fragment with access rules of its own that an anonymous client
     * would not pass makes the page this client's own. */
    if (!personal && !fr->private_ && rr->per_dir_config != r->per_dir_config
        && !sc_anyone_may(rr)) {
        personal = 1;
    }
    restrict_by(r, pg, fr, out, personal);
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

/* Fetch one include (src, then alt): 1 when it joined the page. */
static int fetch(request_rec *r, page_t *pg, fresh_t *fr, part_t *pt,
                 apr_bucket_brigade *page)
{
    const char *alt = pt->node->alt;

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
    if (depth(r) >= SC_ESI_MAX_DEPTH || !include_budget(r)) {
        return 0;
    }
    pt->rr = include_request(r, alt, pt);
    if (include_ran(r, pt)) {
        include_done(r, pg, fr, pt, page);
        ap_destroy_sub_req(pt->rr);
        return 1;
    }
    ap_destroy_sub_req(pt->rr);
    return 0;
}

/* ---- the page ---------------------------------------------------------- */

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
    apr_table_unset(r->headers_out, "Content-Length");
    if (pg->age > 0) {
        apr_table_setn(r->headers_out, "Age",
                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT, pg->age));
    }
    if (pg->vary) {
        apr_table_mergen(r->headers_out, "Vary", pg->vary);
    }
    for (i = 0; pg->set_cookies && i < pg->set_cookies->nelts; i++) {
        apr_table_addn(r->err_headers_out, "Set-Cookie",
                       APR_ARRAY_IDX(pg->set_cookies, i, const char *));
    }
}

/* The page cannot be made: an error before any byte of it is sent. */
static apr_status_t fail_page(ap_filter_t *f, page_t *pg)
{
    request_rec *r = f->r;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, f->c->bucket_alloc);

    pg->assembled = 1;
    ap_remove_output_filter(f);
    range_back(r);
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
    int i, n = 0;
    int deep = depth(r) >= SC_ESI_MAX_DEPTH;

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
        else if (!deep && include_budget(r)) {
            parts[n].rr = include_request(r, node->src, &parts[n]);
        }
        n++;
    }
    if (!deep) {
        prefetch(r, parts, n);
    }
    restrict_by(r, pg, &fr, own, 0);
    pg->set_cookies = apr_array_make(r->pool, 2, sizeof(const char *));
    for (i = 0, n = 0; i < doc->nodes->nelts; i++) {
        const sc_esi_node_t *node = &APR_ARRAY_IDX(doc->nodes, i,
                                                   sc_esi_node_t);
        if (node->kind == SC_ESI_LITERAL) {
            APR_BRIGADE_INSERT_TAIL(
                page,
                apr_bucket_pool_create(node->data, node->len, r->pool, ba));
            continue;
        }
        if (!fetch(r, pg, &fr, &parts[n], page)
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
            apr_brigade_destroy(page);
            return fail_page(f, pg);
        }
        n++;
    }
    pg->cc = page_cc(r, &fr);
    pg->assembled = 1;
    if (r->main) {
        /* an ESI page that is itself a fragment: its page reads these */
        page_headers(r, pg);
    }
    ap_remove_output_filter(f);
    APR_BRIGADE_INSERT_TAIL(page, apr_bucket_eos_create(ba));
    return ap_pass_brigade(f->next, page);
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

apr_status_t sc_esi_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    page_t *pg = f->ctx;
    apr_bucket *b;

    if (!pg) {
        sc_req_t *ctx = sc_req_get(r);
        const sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                                      &sharedcache_module);
        pg = f->ctx = apr_pcalloc(r->pool, sizeof(*pg));
        if (!(ctx && ctx->esi_doc)
            && !sc_esi_wanted(r, d,
                              apr_table_overlay(r->pool, r->err_headers_out,
                                                r->headers_out))) {
            ap_remove_output_filter(f);
            range_back(r);
            return ap_pass_brigade(f->next, bb);
        }
        if (r->header_only && !(ctx && ctx->esi_doc)) {
            /* HEAD of a page the application made: its parts are not
             * fetched, so nothing is known of their freshness */
            pg->cc = "no-cache";
            ap_remove_output_filter(f);
            page_headers(r, pg);
            range_back(r);
            return ap_pass_brigade(f->next, bb);
        }
        pg->in = apr_brigade_create(r->pool, f->c->bucket_alloc);
        /* The client's headers wait for the page (a subrequest's go
         * nowhere). */
        if (!r->main) {
            ap_add_output_filter_handle(sc_esi_hold_filter_handle, pg, r,
                                        r->connection);
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
            range_back(r);
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
            rv = ap_pass_brigade(f->next, fl);
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
    range_back(r);
    if (pg->held && !APR_BRIGADE_EMPTY(pg->held)) {
        APR_BRIGADE_PREPEND(bb, pg->held);
    }
    return ap_pass_brigade(f->next, bb);
}
