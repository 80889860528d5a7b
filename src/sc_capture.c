/*
 * sc_capture.c: the SHAREDCACHE_SAVE output filter.
 *
 * Added by the handler on a miss.  On its first call it decides from the
 * status and headers whether the response may be stored; if so it keeps a
 * copy of every body bucket while passing the buckets on at once (the
 * client is never delayed), gives up past SharedCacheMaxSize, and at EOS
 * stores the entry only if the body is complete.
 */
#include "sc_request.h"
#include "sc_key.h"
#include "sc_log.h"
#include "sc_status.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(sharedcache);

ap_filter_rec_t *sc_save_filter_handle;
ap_filter_rec_t *sc_decide_filter_handle;

/* Never stored: hop-by-hop (RFC 9110 7.6.1), recomputed on every hit, or
 * meant for this cache only. */
static const char *const unstored[] = {
    "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
    "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
    "Content-Length", "Date", "Age", "Set-Cookie", "Set-Cookie2",
    "X-SharedCache", "Surrogate-Control", "CDN-Cache-Control", NULL
};

/* Removed from what the client sees: they target this cache. */
static const char *const cache_only[] = {
    "Surrogate-Control", "CDN-Cache-Control", NULL
};

typedef struct {
    request_rec *r;
    apr_array_header_t *out;
    const char *connection;      /* value of Connection: names more hops */
    const sc_dir_conf_t *d;
} collect_t;

static int listed(const char *name, const char *const *list)
{
    for (; *list; list++) {
        if (!strcasecmp(name, *list)) {
            return 1;
        }
    }
    return 0;
}

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

    if (listed(name, unstored) || named_in(name, c->connection)
        || !strcasecmp(name, c->d->tag_header)
        || !strcasecmp(name, c->d->invalidate_header)) {
        return 1;
    }
    h = apr_array_push(c->out);
    h->name = name;
    h->value = value;
    return 1;
}

/* Vary names without those the location's keyed cookies or a content
 * encoding filter account for. */
static apr_array_header_t *effective_vary(request_rec *r, sc_req_t *ctx,
                                          const char *vary)
{
    apr_array_header_t *names = sc_policy_vary_names(r->pool, vary);
    int i, j;

    for (i = 0, j = 0; names && i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        /* Vary: Cookie is narrowed to the keyed cookies, which level 1
         * already holds. */
        if (!strcmp(n, "cookie") && ctx->dconf->vary_cookies) {
            continue;
        }
        /* mod_deflate & co. add Accept-Encoding; the stored body is the
         * one before them, and they run again on every hit. */
        if (!strcmp(n, "accept-encoding") && !ctx->handler_varies_encoding) {
            continue;
        }
        APR_ARRAY_IDX(names, j++, const char *) = n;
    }
    return j ? (names->nelts = j, names) : NULL;
}

/* SHAREDCACHE_SAVE's first call: keep the response's status and headers
 * as the handler made them (filters after this one run again on every
 * hit) and say whether the body is worth capturing.  Whether it may be
 * stored is decided by SHAREDCACHE_DECIDE, which sees the final headers. */
static int snapshot(request_rec *r, sc_req_t *ctx)
{
    apr_table_t *out = apr_table_overlay(r->pool, r->err_headers_out,
                                         r->headers_out);
    const char *cl = apr_table_get(out, "Content-Length");
    const char *vary = apr_table_getm(r->pool, out, "Vary");
    collect_t coll;

    ctx->expect_len = -1;
    if (r->header_only) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0311)
                      "not stored: a HEAD request has no body to keep");
        return 0;
    }
    if (r->status < 100 || r->status > SC_MAX_STATUS
        || !ctx->dconf->statuses[r->status]) {
        return 0;
    }
    if (cl) {
        char *end;
        apr_off_t n;
        if (apr_strtoff(&n, cl, &end, 10) != APR_SUCCESS || *end || n < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0312)
                          "not stored: invalid Content-Length");
            return 0;
        }
        if (n > ctx->dconf->max_size) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0303)
                          "not stored: Content-Length above "
                          "SharedCacheMaxSize");
            return 0;
        }
        ctx->expect_len = n;
    }
    ctx->status = r->status;
    ctx->handler_varies_encoding =
        vary && ap_strcasestr(vary, "accept-encoding") != NULL;
    ctx->headers = apr_array_make(r->pool, 16, sizeof(sc_header_t));
    if (r->content_type) {
        sc_header_t *ct = apr_array_push(ctx->headers);
        ct->name = "Content-Type";
        ct->value = r->content_type;
    }
    coll.r = r;
    coll.out = ctx->headers;
    coll.d = ctx->dconf;
    coll.connection = apr_table_get(out, "Connection");
    apr_table_do(collect_header, &coll, out, NULL);
    apr_pool_create(&ctx->cpool, r->pool);
    apr_pool_tag(ctx->cpool, "sharedcache_capture");
    ctx->pieces = apr_array_make(ctx->cpool, 16, sizeof(sc_piece_t));
    return 1;
}

/* SHAREDCACHE_DECIDE: placed after every content filter (mod_headers,
 * mod_deflate) and before HTTP_HEADER, it sees the headers the client
 * will get: a "Header set Cache-Control private" must stop the store as
 * surely as the application's own. */
/* The response's tags, or NULL with *bad set when one is invalid or there
 * are too many to depend on. */
static apr_array_header_t *response_tags(request_rec *r, const char *list,
                                         int *bad)
{
    apr_array_header_t *tags = apr_array_make(r->pool, 4,
                                              sizeof(const char *));
    char *copy, *last, *tag;

    *bad = 0;
    if (!list) {
        return tags;
    }
    copy = apr_pstrdup(r->pool, list);
    for (tag = apr_strtok(copy, ", \t", &last); tag;
         tag = apr_strtok(NULL, ", \t", &last)) {
        if (!sc_key_tag_ok(tag) || tags->nelts >= SC_MAX_TAGS) {
            *bad = 1;
            return NULL;
        }
        APR_ARRAY_PUSH(tags, const char *) = tag;
    }
    return tags;
}

int sc_handler_reports_broken_body(const request_rec *r)
{
    const char *h = r->handler, *ct = r->content_type;
    apr_size_t n;

    /* Files (the default handler, with or without INCLUDES; mod_asis) and
     * mod_proxy end a broken body with an error bucket.  mod_wsgi's daemon
     * mode, CGI (mod_cgi, mod_cgid), PHP and the rest end it like a whole
     * one. */
    if (!h || !strcmp(h, "default-handler") || !strcmp(h, "send-as-is")
        || !strcmp(h, "proxy-server") || !strncmp(h, "proxy:", 6)) {
        return 1;
    }
    /* Without a handler of its own, httpd names the handler after the
     * content type of the file (the default handler serves it); a module
     * that produced the content has a name of its own, or changed the
     * type (PHP's application/x-httpd-php answers text/html). */
    if (!ct || !strchr(h, '/')) {
        return 0;
    }
    n = strlen(h);
    return !strncasecmp(ct, h, n) && (ct[n] == '\0' || ct[n] == ';'
                                       || ct[n] == ' ');
}

/* What the policy decides on: a response's final headers (out) and the
 * settings of its location (d; NULL: the headers only). */
static void policy_input(request_rec *r, apr_table_t *out,
                         const sc_dir_conf_t *d, sc_policy_in_t *in)
{
    memset(in, 0, sizeof(*in));
    in->status = r->status;
    in->cache_control = apr_table_getm(r->pool, out, "Cache-Control");
    in->surrogate_control = apr_table_getm(r->pool, out,
                                           "Surrogate-Control");
    in->cdn_cache_control = apr_table_getm(r->pool, out,
                                           "CDN-Cache-Control");
    in->expires = apr_table_get(out, "Expires");
    in->date = apr_table_get(out, "Date");
    in->age = apr_table_get(out, "Age");
    in->vary = apr_table_getm(r->pool, out, "Vary");
    in->has_set_cookie = apr_table_get(out, "Set-Cookie")
                         || apr_table_get(out, "Set-Cookie2");
    in->now = apr_time_sec(apr_time_now());
    if (d) {
        in->default_ttl = d->ttl;
        in->force_ttl = d->force_ttl;
        in->max_ttl = d->max_ttl;
        in->statuses = d->statuses;
    }
}

/* An earlier request of a chain of internal redirects answered first (an
 * application's "200 + Location: /local" hands over to the file it names):
 * what made that answer personal makes this one so too. */
static void earlier_forbids(request_rec *r, sc_policy_out_t *policy)
{
    request_rec *q;

    for (q = r->prev; q; q = q->prev) {
        apr_table_t *out = apr_table_overlay(r->pool, q->err_headers_out,
                                             q->headers_out);
        sc_policy_in_t in;
        const char *why;

        policy_input(q, out, NULL, &in);
        why = sc_policy_personal(&in);
        if (why) {
            policy->storable = 0;
            policy->reason = apr_pstrcat(r->pool, "an earlier request of "
                                         "the redirect chain answered ", why,
                                         NULL);
            return;
        }
    }
}

/* Headers that may differ between what the client got and what is stored
 * without a quick hit and a normal hit differing: recomputed per response,
 * or set with the body by a filter that runs on normal hits only and
 * whose work the label check keeps consistent (mod_deflate). */
static const char *const parity_ignored[] = {
    "Content-Type", "Content-Encoding", "Vary", "ETag", "Cache-Status",
    NULL
};

static const char *stored_value(const sc_req_t *ctx, const char *name)
{
    int i;

    for (i = 0; ctx->headers && i < ctx->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(ctx->headers, i, sc_header_t);
        if (!strcasecmp(h->name, name)) {
            return h->value;
        }
    }
    return NULL;
}

/* Content-Type and Vary, compared apart: a Content-Type a filter set, and
 * a Vary other than the one a compression filter adds, differ. */
static int type_or_vary_changed(request_rec *r, const sc_req_t *ctx,
                                apr_table_t *out)
{
    const char *ct = apr_table_get(out, "Content-Type");
    const char *stored_ct = stored_value(ctx, "Content-Type");
    apr_array_header_t *now = effective_vary(r, (sc_req_t *)ctx,
                                             apr_table_getm(r->pool, out,
                                                            "Vary"));
    apr_array_header_t *before = effective_vary(r, (sc_req_t *)ctx,
                                                stored_value(ctx, "Vary"));
    int i;

    if (ct && (!stored_ct || strcasecmp(ct, stored_ct))) {
        return 1;
    }
    if ((now ? now->nelts : 0) != (before ? before->nelts : 0)) {
        return 1;
    }
    for (i = 0; now && i < now->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(now, i, const char *),
                   APR_ARRAY_IDX(before, i, const char *))) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    const sc_req_t *ctx;
    int differ;
    int seen;
} parity_t;

static int parity_ignores(const sc_req_t *ctx, const char *name)
{
    return listed(name, unstored) || listed(name, parity_ignored)
           || !strcasecmp(name, ctx->dconf->tag_header)
           || !strcasecmp(name, ctx->dconf->invalidate_header);
}

static int stored_as(void *data, const char *name, const char *value)
{
    parity_t *p = data;
    int i;

    if (parity_ignores(p->ctx, name)) {
        return 1;
    }
    p->seen++;
    for (i = 0; i < p->ctx->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(p->ctx->headers, i,
                                              sc_header_t);
        if (!strcasecmp(h->name, name) && !strcmp(h->value, value)) {
            return 1;
        }
    }
    p->differ = 1;
    return 0;
}

/* Did filters after SHAREDCACHE_SAVE (mod_headers' Header set/unset) make
 * the client's headers differ from the stored ones?  A normal hit runs
 * them again; a quick hit cannot, so such an entry is not quick-servable
 * (a quick hit and a normal hit carry the same headers). */
static int headers_changed(const sc_req_t *ctx, apr_table_t *out)
{
    parity_t p;
    int i, stored = 0;

    p.ctx = ctx;
    p.differ = 0;
    p.seen = 0;
    apr_table_do(stored_as, &p, out, NULL);
    for (i = 0; ctx->headers && i < ctx->headers->nelts; i++) {
        stored += !parity_ignores(ctx, APR_ARRAY_IDX(ctx->headers, i,
                                                     sc_header_t).name);
    }
    return p.differ || p.seen != stored;
}

/* The storing side of SHAREDCACHE_DECIDE, for a GET miss. */
static void decide(request_rec *r, sc_req_t *ctx, apr_table_t *out)
{
    sc_policy_in_t in;
    int bad_tags, unverifiable;

    policy_input(r, out, ctx->dconf, &in);
    sc_policy_decide(&in, &ctx->policy);
    if (ctx->policy.storable) {
        earlier_forbids(r, &ctx->policy);
    }
    ctx->vary_raw = in.vary;
    ctx->vary = effective_vary(r, ctx, in.vary);
    if (ctx->dconf->quick == 1 && ctx->headers) {
        ctx->filters_changed_headers = headers_changed(ctx, out)
                                       || type_or_vary_changed(r, ctx, out);
    }

    ctx->tags = response_tags(r, apr_table_getm(r->pool, out,
                                                 ctx->dconf->tag_header),
                              &bad_tags);

    ctx->decided = 1;
    /* SHAREDCACHE_SAVE ran first: it may already have given up on the
     * body (size); a HEAD is a miss that simply has no body to keep. */
    /* Without a Content-Length, a body that mod_wsgi's daemon mode or a
     * CGI cut short (the application failed mid-stream) ends like a whole
     * one: only handlers that report a broken body are trusted. */
    unverifiable = ctx->expect_len < 0 && !r->header_only
                   && (ctx->dconf->require_length == 1
                       || (ctx->dconf->require_length == SC_AUTO
                           && !sc_handler_reports_broken_body(r)));
    ctx->storable = ctx->policy.storable && !r->no_cache && !bad_tags
                    && !unverifiable && !ctx->request_no_store
                    && (ctx->capturing || r->header_only);
    if (!ctx->policy.storable) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0301)
                      "not stored: %s", ctx->policy.reason);
    }
    else if (r->no_cache) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0302)
                      "not stored: r->no_cache is set");
    }
    else if (bad_tags) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SC_LOGNO(0308)
                      "not stored: %s holds an invalid tag or more than %d",
                      ctx->dconf->tag_header, SC_MAX_TAGS);
    }
    else if (ctx->request_no_store) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0320)
                      "not stored: the request said Cache-Control: "
                      "no-store");
    }
    else if (unverifiable) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0310)
                      "not stored: no Content-Length to verify the body "
                      "against (SharedCacheRequireLength On)");
    }
    sc_set_status(r, ctx->dconf, ctx->storable ? SC_MISS : SC_UNCACHEABLE);
    if (!ctx->storable) {
        /* Waiters need not wait for the end of this response. */
        sc_lock_release(r, ctx, !r->header_only);
    }
}

/* After a substitution: the failed response's own buckets go nowhere. */
static apr_status_t swallow(ap_filter_t *f, apr_bucket_brigade *bb)
{
    (void)f;
    apr_brigade_cleanup(bb);
    return APR_SUCCESS;
}

/* Stale-on-error: the backend answered 5xx (or failed and httpd made an
 * error page); before its headers leave, send the stale copy instead. */
static apr_status_t substitute(ap_filter_t *f, sc_req_t *ctx,
                               apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    apr_bucket_brigade *out = ctx->stale->body;

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SC_LOGNO(0309)
                  "backend answered %d: serving the stale copy instead",
                  r->status);
    ctx->substituting = 1;
    ctx->decided = 1;
    ctx->storable = 0;
    apr_table_clear(r->err_headers_out);
    sc_restore_response(r, ctx, &ctx->stale->entry,
                        apr_time_sec(apr_time_now()), SC_STALE);
    apr_brigade_cleanup(bb);
    APR_BRIGADE_INSERT_TAIL(out, apr_bucket_eos_create(
                                     r->connection->bucket_alloc));
    return ap_pass_brigade(f->next, out);
}

/* Did a subrequest's handler fail without output?  It returns its status
 * (the default handler's 404, a mod_wsgi daemon that is down) to the
 * includer without setting r->status: what reaches the filters is a 200
 * that is nothing but the end of the stream, without a Content-Length (a
 * real empty answer says Content-Length: 0).  bb: the first brigade. */
static int subrequest_failed(const request_rec *r, apr_table_t *out,
                             apr_bucket_brigade *bb)
{
    apr_bucket *b;

    if (!r->main || apr_table_get(out, "Content-Length")) {
        return 0;
    }
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (!APR_BUCKET_IS_METADATA(b)) {
            return 0;       /* it produced something */
        }
        if (APR_BUCKET_IS_EOS(b) || APR_BUCKET_IS_FLUSH(b)) {
            return 1;       /* the end (or SHAREDCACHE_SAVE's FLUSH before
                               it), with nothing before */
        }
    }
    return 0;
}

/* Why a fragment (a subrequest: an SSI include) keeps any page that
 * includes it from being stored, or NULL; *ttl is how long it stays
 * fresh.  d is the fragment's location. */
static const char *fragment_refuses(request_rec *r, const sc_dir_conf_t *d,
                                    apr_table_t *out, apr_bucket_brigade *bb,
                                    apr_int64_t *ttl)
{
    const char *st = apr_table_get(r->notes, "sharedcache-status");
    sc_policy_out_t policy;
    sc_policy_in_t in;
    const char *why;

    policy_input(r, out, d, &in);
    if (st && !strcmp(st, SC_BYPASS)) {
        return "it bypassed the cache for this request";
    }
    if (r->status >= 400 || subrequest_failed(r, out, bb)) {
        return "it failed";
    }
    if (r->no_cache) {
        return "it set r->no_cache";
    }
    /* SharedCache Off is how a personal location is kept out: its output
     * must not reach a shared page either. */
    if (d->enabled != 1) {
        return "its location does not have SharedCache On";
    }
    if (!apr_table_get(out, "Content-Length") && d->require_length != 0
        && !sc_handler_reports_broken_body(r)) {
        return "no Content-Length, from a handler that cannot report a "
               "broken body";
    }
    why = sc_policy_personal(&in);
    if (why) {
        return why;
    }
    if (!sc_policy_decide(&in, &policy)) {
        return policy.reason;
    }
    /* httpd skips access control for a subrequest whose configuration is
     * its parent's; otherwise the fragment passed rules of its own, for
     * this client (Require ip, a client certificate ...). */
    if (r->main && r->per_dir_config != r->main->per_dir_config
        && !sc_anyone_may(r)) {
        return "access rules of its own that an anonymous client does not "
               "pass";
    }
    *ttl = policy.ttl;
    return NULL;
}

/* A fragment of pages being captured (every including page, nested SSI
 * too): what would keep the fragment from being shared keeps them from
 * being stored, they stay fresh no longer than it does, and what it
 * varies on they vary on (THREATS 35).  Runs on the fragment's final
 * headers, hit or miss. */
int sc_fragment_asked(request_rec *r)
{
    request_rec *a;

    /* Made to run into its includer's output (a lookup only, such as
     * mod_dir's or mod_include's #fsize, is given no filters), by an
     * includer whose own handler runs: ours set its context first. */
    if (!r->main || r->output_filters == r->proto_output_filters
        || !ap_get_module_config(r->main->request_config,
                                 &sharedcache_module)) {
        return DECLINED;
    }
    for (a = r->main; a; a = a->main) {
        sc_req_t *page = ap_get_module_config(a->request_config,
                                              &sharedcache_module);
        if (page) {
            page->fragments_asked++;
        }
    }
    return DECLINED;
}

static void fragment_reaches_page(request_rec *r, const sc_dir_conf_t *d,
                                  apr_bucket_brigade *bb)
{
    apr_table_t *out = apr_table_overlay(r->pool, r->err_headers_out,
                                         r->headers_out);
    const char *vary = apr_table_getm(r->pool, out, "Vary");
    apr_int64_t ttl = 0;
    const char *why = fragment_refuses(r, d, out, bb, &ttl);
    request_rec *a;

    for (a = r->main; a; a = a->main) {
        sc_req_t *page = ap_get_module_config(a->request_config,
                                              &sharedcache_module);
        const char *no = why;

        if (page) {
            page->fragments_ran++;
        }
        if (!page || page->fragment_refused) {
            continue;
        }
        if (!no && !sc_config_variance_within(d, page->dconf)) {
            no = "its location keys on what the page's does not";
        }

        if (no) {
            page->fragment_refused = apr_psprintf(a->pool, "a fragment "
                                                  "forbids it (%s: %s)",
                                                  r->uri, no);
            continue;
        }
        if (!page->fragment_ttl || ttl < page->fragment_ttl) {
            page->fragment_ttl = ttl;
        }
        if (vary) {
            page->fragment_vary = page->fragment_vary
                ? apr_pstrcat(a->pool, page->fragment_vary, ", ", vary, NULL)
                : apr_pstrdup(a->pool, vary);
        }
    }
}

/* Did the body reach this filter as it left the handler (or the cache)?
 * -1: no data yet; 1: the same first bytes; 0: other bytes. */
static int same_body(apr_bucket_brigade *bb, const sc_req_t *ctx)
{
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_METADATA(b) || b->length == 0) {
            continue;
        }
        if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS) {
            return 0;
        }
        if (len == 0) {
            continue;
        }
        if (len > ctx->first_len) {
            len = ctx->first_len;
        }
        return len > 0 && !memcmp(data, ctx->first, len);
    }
    return -1;
}

/* Once the first bytes are seen: a hit keeps the Content-Encoding it was
 * stored with unless a filter transformed its body; a miss whose body
 * only got labelled stores the label, and keeps Accept-Encoding in its
 * Vary (THREATS 39).  Returns false while no data has been seen. */
static int check_label(request_rec *r, sc_req_t *ctx, apr_bucket_brigade *bb,
                       int hit)
{
    int same = same_body(bb, ctx);
    const char *ce;

    if (same < 0) {
        return 0;
    }
    ctx->label_checked = 1;
    if (!same) {
        return 1;
    }
    if (hit) {
        apr_table_unset(r->err_headers_out, "Content-Encoding");
        if (ctx->served_encoding) {
            apr_table_setn(r->headers_out, "Content-Encoding",
                           ctx->served_encoding);
        }
        else {
            apr_table_unset(r->headers_out, "Content-Encoding");
        }
        r->content_encoding = ctx->served_encoding;
        return 1;
    }
    ce = apr_table_get(r->headers_out, "Content-Encoding");
    if (!ce) {
        ce = apr_table_get(r->err_headers_out, "Content-Encoding");
    }
    if (!ce) {
        return 1;       /* unlabelled: a Vary of a compression filter that
                           chose not to compress runs again on hits */
    }
    if (ctx->capturing && ctx->headers) {
        int i;
        for (i = 0; i < ctx->headers->nelts; i++) {
            sc_header_t *h = &APR_ARRAY_IDX(ctx->headers, i, sc_header_t);
            if (!strcasecmp(h->name, "Content-Encoding")) {
                break;
            }
        }
        if (i == ctx->headers->nelts) {
            sc_header_t *h = apr_array_push(ctx->headers);
            h->name = "Content-Encoding";
            h->value = ce;
        }
    }
    ctx->handler_varies_encoding = 1;
    ctx->vary = effective_vary(r, ctx, ctx->vary_raw);
    return 1;
}

/* SHAREDCACHE_DECIDE, inserted for every request of a location with
 * SharedCache On: acts on the invalidate header and unsafe methods,
 * decides for a GET miss, and keeps the headers meant for this cache from
 * the client. */
apr_status_t sc_decide_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                                  &sharedcache_module);
    sc_req_t *ctx = ap_get_module_config(r->request_config,
                                         &sharedcache_module);
    const char *status = apr_table_get(r->notes, "sharedcache-status");
    const char *const *h;
    apr_table_t *out;

    if (r->main && f->ctx == NULL) {
        f->ctx = f;             /* once per fragment */
        fragment_reaches_page(r, d, bb);
    }
    if (ctx && ctx->substituting) {
        return swallow(f, bb);
    }
    if (ctx && ctx->stale && r->status >= 500 && !r->main) {
        return substitute(f, ctx, bb);
    }
    if (ctx && f->ctx == &ctx->label_checked) {
        /* decided already, waiting for the first bytes */
        if (check_label(r, ctx, bb, 0)) {
            ap_remove_output_filter(f);
        }
        return ap_pass_brigade(f->next, bb);
    }
    /* A response served from the cache carries none of these headers. */
    if (status && (!strcmp(status, SC_HIT) || !strcmp(status, SC_STALE))) {
        if (!ctx || !ctx->first_len || check_label(r, ctx, bb, 1)) {
            ap_remove_output_filter(f);
        }
        return ap_pass_brigade(f->next, bb);
    }
    if (d->enabled != 1) {
        ap_remove_output_filter(f);
        /* Not cached here: only what the application asks for explicitly
         * (a POST here invalidates nothing by itself). */
        if (apr_table_get(r->headers_out, d->invalidate_header)
            || apr_table_get(r->err_headers_out, d->invalidate_header)) {
            out = apr_table_overlay(r->pool, r->err_headers_out,
                                    r->headers_out);
            sc_invalidate_tags(r, d, out);
            apr_table_unset(r->headers_out, d->invalidate_header);
            apr_table_unset(r->err_headers_out, d->invalidate_header);
        }
        return ap_pass_brigade(f->next, bb);
    }
    out = apr_table_overlay(r->pool, r->err_headers_out, r->headers_out);
    if (ctx) {
        decide(r, ctx, out);
        if (ctx->storable && subrequest_failed(r, out, bb)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0319)
                          "not stored: the handler of this subrequest "
                          "failed without output");
            ctx->storable = 0;
            sc_set_status(r, ctx->dconf, SC_UNCACHEABLE);
            sc_lock_release(r, ctx, 0);
        }
    }
    if (ctx && ctx->storable && ctx->capturing
        && !check_label(r, ctx, bb, 0)) {
        /* no data yet: stay until the first bytes come by */
        f->ctx = &ctx->label_checked;
    }
    else {
        ap_remove_output_filter(f);
    }
    sc_invalidate_response(r, d, out);
    for (h = cache_only; *h; h++) {
        apr_table_unset(r->headers_out, *h);
        apr_table_unset(r->err_headers_out, *h);
    }
    apr_table_unset(r->headers_out, d->tag_header);
    apr_table_unset(r->err_headers_out, d->tag_header);
    apr_table_unset(r->headers_out, d->invalidate_header);
    apr_table_unset(r->err_headers_out, d->invalidate_header);
    return ap_pass_brigade(f->next, bb);
}

static void stop_capture(sc_req_t *ctx)
{
    ctx->capturing = 0;
    ctx->store_pending = 0;
    if (ctx->cpool) {
        apr_pool_destroy(ctx->cpool);
        ctx->cpool = NULL;
    }
}

/* Copy pieces [from, from + len) of the captured body into dst. */
static void copy_body(const sc_req_t *ctx, apr_off_t from, char *dst,
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

static apr_status_t put_chunks(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                               sc_entry_t *e, apr_int64_t exptime)
{
    char *buf = apr_palloc(ctx->cpool, SC_ITEM_MAX);
    apr_off_t off = 0;
    apr_uint32_t i;

    apr_generate_random_bytes((unsigned char *)&e->version,
                              sizeof(e->version));
    e->body_kind = SC_BODY_CHUNKED;
    e->chunk_size = SC_ITEM_MAX - SC_CHUNK_HEAD_LEN;
    e->nchunks = sc_chunk_count(e->body_len, e->chunk_size);
    for (i = 0; i < e->nchunks; i++) {
        apr_size_t n = (apr_size_t)(ctx->captured - off);
        const char *key;
        if (n > e->chunk_size) {
            n = e->chunk_size;
        }
        sc_chunk_head(buf, e->version, i);
        copy_body(ctx, off, buf + SC_CHUNK_HEAD_LEN, n);
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
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SC_LOGNO(0304)
                      "not stored: a header cannot be stored safely");
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
    copy_body(ctx, 0, rec + head_len, (apr_size_t)e->body_len);
    return sc_store_set(c, mkey, rec, head_len + (apr_size_t)e->body_len,
                        exptime);
}

/* The Vary record at level 1: which request headers select the entry. */
static apr_status_t put_vary(sc_req_t *ctx, sc_conn_t *c,
                             const sc_entry_t *entry, apr_int64_t exptime)
{
    sc_entry_t v = *entry;
    char *head;
    apr_size_t head_len;
    apr_status_t rv;
    int i;

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
    v.deps = NULL;
    v.body_kind = SC_BODY_INLINE;
    v.body_len = 0;
    rv = sc_entry_encode_head(ctx->cpool, &v, &head, &head_len);
    return rv == APR_SUCCESS ? sc_store_set(c, ctx->entry_key, head,
                                            head_len, exptime)
                             : rv;
}

/* May the quick handler serve this entry?  Only if the location asked for
 * it, keys exactly as the virtual host does (what the quick handler sees),
 * nobody showed an identity for it and an anonymous client would be let
 * through to it (sc_quickprobe.c). */
static int quick_servable(request_rec *r, const sc_req_t *ctx)
{
    const sc_dir_conf_t *base = ap_get_module_config(
        r->server->lookup_defaults, &sharedcache_module);
    const char *qkey = apr_table_get(r->notes, SC_NOTE_QUICK_KEY);

    return ctx->dconf->quick == 1 && !r->user && !sc_client_certificate(r)
           && qkey && strlen(qkey) == ctx->key_len
           && !memcmp(qkey, ctx->key, ctx->key_len)
           && !ctx->filters_changed_headers
           && sc_config_same_variance(ctx->dconf, base)
           && sc_key_path_plain(r->parsed_uri.path)
           && r->parsed_uri.path && !strcmp(r->parsed_uri.path, r->uri)
           && !r->prev && !r->main && sc_anyone_may(r);
}

/* How long after expiry the entry may still be served: while one request
 * refreshes it (SharedCacheGrace, stale-while-revalidate=) and in place of
 * an error (SharedCacheStaleOnError, stale-if-error=).  must-revalidate,
 * proxy-revalidate and s-maxage forbid both (RFC 9111 4.2.4). */
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
    e->stale_until = e->fresh_until + (grace < d->max_ttl ? grace
                                                          : d->max_ttl);
    e->error_until = e->fresh_until + (error < d->max_ttl ? error
                                                          : d->max_ttl);
}

/* The generations the entry depends on: its URL's and namespace's (read
 * before the render) and its tags' (read now, created if missing). */
static apr_array_header_t *entry_deps(request_rec *r, sc_req_t *ctx,
                                      sc_conn_t *c)
{
    int ntags = ctx->tags ? ctx->tags->nelts : 0;
    sc_gen_t *g = apr_palloc(r->pool, (apr_size_t)(ntags + 2)
                                      * sizeof(sc_gen_t));
    apr_array_header_t *deps = apr_array_make(r->pool, ntags + 2,
                                              sizeof(sc_dep_t));
    int i;

    g[0] = ctx->gens[SC_GEN_URL];
    g[1] = ctx->gens[SC_GEN_NAMESPACE];
    if (!g[0].have || !g[1].have) {
        return NULL;
    }
    for (i = 0; i < ntags; i++) {
        sc_gen_init(r->pool, ctx->sconf->prefix,
                    sc_key_dep(r->pool, SC_DEP_TAG,
                               APR_ARRAY_IDX(ctx->tags, i, const char *)),
                    &g[i + 2]);
    }
    if (ntags > 0 && (sc_gen_fetch(c, r->pool, g + 2, ntags) != APR_SUCCESS
                      || sc_gen_ensure(c, r->pool, g + 2, ntags)
                         != APR_SUCCESS)) {
        return NULL;
    }
    for (i = 0; i < ntags + 2; i++) {
        sc_dep_t *dep = apr_array_push(deps);
        dep->name = g[i].dep;
        dep->gen = g[i].gen;
    }
    return deps;
}

static void store(request_rec *r, sc_req_t *ctx)
{
    apr_int64_t now = apr_time_sec(apr_time_now());
    apr_int64_t exptime;
    const char *mkey = ctx->entry_key;
    sc_entry_t e;
    sc_conn_t *c;
    apr_status_t rv;

    memset(&e, 0, sizeof(e));
    e.type = SC_REC_ENTRY;
    e.status = ctx->status;
    e.stored_at = now - ctx->policy.age;
    e.fresh_until = now + ctx->policy.ttl;
    stale_windows(ctx, &e);
    e.flags = (ctx->policy.no_stale ? SC_EF_NO_STALE : 0)
              | (quick_servable(r, ctx) ? SC_EF_QUICK : 0);
    e.key = ctx->key;
    e.key_len = ctx->key_len;
    e.headers = ctx->headers;
    e.body_kind = SC_BODY_INLINE;
    e.body_len = (apr_uint64_t)ctx->captured;
    exptime = sc_policy_exptime((e.stale_until > e.error_until
                                 ? e.stale_until : e.error_until) - now, now);
    if (!ctx->vary && ctx->stored_vary) {
        /* The URL's other responses vary (pre-compressed files with a
         * conditional Vary): this one is stored as one of the variants, so
         * it never replaces the record that keeps them apart (THREATS
         * 39). */
        ctx->vary = ctx->stored_vary;
    }
    if (ctx->vary) {
        e.key = sc_variant_key(r, ctx, ctx->vary, &e.key_len);
        mkey = sc_key_digest(r->pool, ctx->sconf->prefix, SC_KIND_ENTRY,
                             e.key, e.key_len);
    }

    c = sc_store_borrow(ctx->sconf->backend, r->pool);
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
        rv = put_vary(ctx, c, &e, exptime);
    }
    if (rv == APR_SUCCESS) {
        sc_stat_add(SC_STAT_STORES, 1);
        sc_stat_add(SC_STAT_STORED_BYTES, e.body_len);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0305)
                      "stored %s: %" APR_UINT64_T_FMT " bytes, fresh %"
                      APR_INT64_T_FMT " s", mkey, e.body_len,
                      ctx->policy.ttl);
    }
    else if (c->failed) {
        sc_log_backend(r, "store", c->error);
    }
    sc_store_return(c, r->pool);
}

/* Of a response being stored, this much goes to the client at once;
 * past it, the rest is held back until the handler has finished and the
 * entry is stored (bounded by SharedCacheMaxSize, as the copy is).  A
 * client that reads slowly then holds neither the store nor the requests
 * waiting for it (the fill lease).  httpd writes this much to a client
 * without blocking the handler (the core output filter's threshold). */
#define SC_PASS_AHEAD (64 * 1024)

static int holding(const sc_req_t *ctx)
{
    return ctx->capturing && ctx->decided && ctx->storable
           && ctx->passed >= SC_PASS_AHEAD;
}

/* Pass bb on, after whatever was held back.  While a response is being
 * stored, a client that went away does not stop it: the rest of the body
 * is kept for the store and goes nowhere else (THREATS 38). */
static apr_status_t pass_on(ap_filter_t *f, sc_req_t *ctx,
                            apr_bucket_brigade *bb)
{
    apr_status_t rv;

    if (ctx->held && !APR_BRIGADE_EMPTY(ctx->held)) {
        APR_BRIGADE_PREPEND(bb, ctx->held);
    }
    if (ctx->client_gone) {
        apr_brigade_cleanup(bb);
        return ctx->capturing ? APR_SUCCESS : APR_ECONNABORTED;
    }
    rv = ap_pass_brigade(f->next, bb);
    if (rv != APR_SUCCESS && ctx->capturing) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, f->r, SC_LOGNO(0318)
                      "the client went away: the rest of the response is "
                      "kept for the store only");
        ctx->client_gone = 1;
        apr_brigade_cleanup(bb);
        return APR_SUCCESS;
    }
    return rv;
}

/* Hold bb back (it stays valid after this call returns). */
static apr_status_t hold(ap_filter_t *f, sc_req_t *ctx,
                         apr_bucket_brigade *bb)
{
    if (!ctx->held) {
        ctx->held = apr_brigade_create(f->r->pool, f->c->bucket_alloc);
    }
    return ap_save_brigade(f, &ctx->held, &bb, f->r->pool);
}

/* Keep a copy of the data of bb while passing it on.  Data not there yet
 * (a CGI pipe, a proxied socket) is never waited for with the earlier
 * data held back: what came before is sent with a FLUSH first.  Returns
 * the EOS bucket, with what precedes it still in bb, or NULL when all of
 * bb was passed on (*rv says how that went). */
static apr_bucket *capture(ap_filter_t *f, sc_req_t *ctx,
                           apr_bucket_brigade *bb, apr_status_t *rv)
{
    request_rec *r = f->r;
    apr_bucket *b = APR_BRIGADE_FIRST(bb);

    *rv = APR_SUCCESS;
    while (b != APR_BRIGADE_SENTINEL(bb)) {
        const char *data;
        apr_size_t len;
        apr_status_t st;

        if (APR_BUCKET_IS_EOS(b)) {
            return b;
        }
        if (ctx->capturing && AP_BUCKET_IS_ERROR(b)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0313)
                          "not stored: the body ends in an error");
            stop_capture(ctx);
            sc_lock_release(r, ctx, 0);
        }
        if (!ctx->capturing || APR_BUCKET_IS_METADATA(b)) {
            b = APR_BUCKET_NEXT(b);
            continue;
        }
        st = apr_bucket_read(b, &data, &len, APR_NONBLOCK_READ);
        if (APR_STATUS_IS_EAGAIN(st) && holding(ctx)) {
            st = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        }
        else if (APR_STATUS_IS_EAGAIN(st)) {
            apr_bucket_brigade *rest = apr_brigade_split_ex(bb, b, NULL);
            APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(
                                            r->connection->bucket_alloc));
            ctx->passed = ctx->captured;
            *rv = pass_on(f, ctx, bb);
            apr_brigade_cleanup(bb);
            APR_BRIGADE_CONCAT(bb, rest);
            if (*rv != APR_SUCCESS) {
                return NULL;    /* not capturing (pass_on) */
            }
            b = APR_BRIGADE_FIRST(bb);
            st = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        }
        if (st != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, st, r, SC_LOGNO(0315)
                          "not stored: reading the body failed");
            stop_capture(ctx);
            sc_lock_release(r, ctx, 0);
        }
        else if (ctx->captured + (apr_off_t)len > ctx->dconf->max_size) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0306)
                          "not stored: body above SharedCacheMaxSize");
            stop_capture(ctx);
            sc_lock_release(r, ctx, 1);
        }
        else if (len > 0) {
            sc_piece_t *pc = apr_array_push(ctx->pieces);
            if (ctx->first_len == 0) {
                ctx->first_len = len < sizeof(ctx->first) ? len
                                                          : sizeof(ctx->first);
                memcpy(ctx->first, data, ctx->first_len);
            }
            pc->data = apr_pmemdup(ctx->cpool, data, len);
            pc->len = len;
            ctx->captured += (apr_off_t)len;
        }
        b = APR_BUCKET_NEXT(b);
    }
    if (holding(ctx)) {
        *rv = hold(f, ctx, bb);
        return NULL;
    }
    ctx->passed = ctx->captured;
    *rv = pass_on(f, ctx, bb);
    return NULL;
}

/* a followed by the names of b it lacks (either may be NULL). */
static apr_array_header_t *union_names(apr_pool_t *p,
                                       apr_array_header_t *a,
                                       const apr_array_header_t *b)
{
    apr_array_header_t *out = a ? apr_array_copy(p, a)
                                : apr_array_make(p, 4, sizeof(const char *));
    int i, j;

    for (i = 0; b && i < b->nelts; i++) {
        const char *n = APR_ARRAY_IDX(b, i, const char *);
        for (j = 0; j < out->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(out, j, const char *), n)) {
                break;
            }
        }
        if (j == out->nelts) {
            APR_ARRAY_PUSH(out, const char *) = n;
        }
    }
    return out->nelts ? out : NULL;
}

/* The response is complete: store it (if it may be) and let go of the
 * lease. */
void sc_capture_finish(request_rec *r, sc_req_t *ctx)
{
    int complete = ctx->capturing && ctx->decided && ctx->storable
                   && (!r->connection->aborted || ctx->client_gone)
                   && r->status == ctx->status
                   && (ctx->expect_len < 0
                       || ctx->expect_len == ctx->captured);

    ctx->store_pending = 0;
    if (!ctx->fragment_refused && ctx->fragments_ran < ctx->fragments_asked) {
        ctx->fragment_refused = "a fragment was refused before it ran "
                                "(access control, a missing path)";
    }
    if (complete && ctx->fragment_refused) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0321)
                      "not stored: %s", ctx->fragment_refused);
        complete = 0;
    }
    else if (complete) {
        if (ctx->fragment_vary) {
            /* the fragments' Vary as they sent it: a page's own
             * SharedCacheVaryByCookie says nothing of what they read */
            ctx->vary = union_names(r->pool, ctx->vary,
                                    sc_policy_vary_names(r->pool,
                                                         ctx->fragment_vary));
        }
        if (ctx->fragment_ttl > 0 && ctx->fragment_ttl < ctx->policy.ttl) {
            ctx->policy.ttl = ctx->fragment_ttl;
        }
        store(r, ctx);
    }
    else if (ctx->capturing) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SC_LOGNO(0307)
                      "not stored: response incomplete or aborted");
    }
    sc_lock_release(r, ctx, ctx->fragment_refused != NULL);
    stop_capture(ctx);
}

apr_status_t sc_capture_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    sc_req_t *ctx = f->ctx;
    apr_bucket_brigade *tail;
    apr_bucket *eos;
    apr_status_t rv;

    if (!ctx) {                 /* added by hand (SetOutputFilter) */
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    if (!ctx->started) {
        ctx->started = 1;
        ctx->capturing = snapshot(r, ctx);
    }
    if (!ctx->capturing || (ctx->decided && !ctx->storable)) {
        stop_capture(ctx);
        sc_lock_release(r, ctx, ctx->decided && !r->header_only);
        ap_remove_output_filter(f);
        return pass_on(f, ctx, bb);
    }
    eos = capture(f, ctx, bb, &rv);
    if (!eos) {
        return rv;
    }
    /* EOS.  Once SHAREDCACHE_DECIDE has decided: store, let go of the
     * lease, then send the rest, so neither the store nor the waiters
     * wait for a slow client.  Before (a short response): send it first,
     * so that the decision is made on the final headers. */
    tail = apr_brigade_split_ex(bb, eos, NULL);
    rv = APR_SUCCESS;
    if (!ctx->decided) {
        /* A filter between here and SHAREDCACHE_DECIDE may hold a small
         * body back until it sees more (mod_deflate does): a FLUSH makes
         * it pass what it has. */
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(
                                        r->connection->bucket_alloc));
        ctx->passed = ctx->captured;
        rv = pass_on(f, ctx, bb);
        apr_brigade_cleanup(bb);
    }
    if (rv == APR_SUCCESS && ctx->capturing && ctx->expect_len < 0
        && !r->main && !sc_handler_reports_broken_body(r)) {
        /* No Content-Length, from a handler that ends a broken body like
         * a whole one (SharedCacheRequireLength Off): only a handler that
         * finished without failing vouches for it. */
        ctx->store_pending = 1;
    }
    else if (rv == APR_SUCCESS) {
        sc_capture_finish(r, ctx);
    }
    else {
        stop_capture(ctx);
        sc_lock_release(r, ctx, 0);
    }
    if (!ctx->store_pending) {
        ap_remove_output_filter(f);
    }
    APR_BRIGADE_CONCAT(bb, tail);
    rv = pass_on(f, ctx, bb);
    return ctx->client_gone ? APR_SUCCESS : rv;
}
