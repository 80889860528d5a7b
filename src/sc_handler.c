/*
 * sc_handler.c: the first content handler.  Decides whether a request may
 * use the cache, builds its key, looks the entry up in memcached and serves
 * a hit; on a miss it adds the capture filter and lets the real handler
 * run.
 */
#include "sc_request.h"
#include "sc_log.h"
#include "sc_status.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_ssl.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_date.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(sharedcache);

/* Request headers that applications, frameworks and proxies commonly
 * reflect into pages (host, scheme, client address, method and URL
 * overrides), in lower case.  A request carrying one, in this spelling or
 * with '_' for '-' (mod_proxy forwards those, many WSGI servers read them
 * as dashes), bypasses the cache unless the location keys on exactly that
 * header (SharedCacheVaryByHeader); SharedCacheBypassHeader adds more. */
static const char *const reflected[] = {
    "forwarded", "x-forwarded-host", "x-forwarded-proto",
    "x-forwarded-scheme", "x-forwarded-server", "x-forwarded-port",
    "x-forwarded-prefix", "x-forwarded-for", "x-forwarded-ssl",
    "x-forwarded-uri", "x-forwarded-path", "x-forwarded-protocol",
    "x-host", "x-original-host", "x-original-url", "x-original-uri",
    "x-rewrite-url", "x-http-method-override", "x-http-method",
    "x-method-override", "x-real-ip", "x-client-ip", "x-cluster-client-ip",
    "true-client-ip", "cf-connecting-ip", "fastly-client-ip",
    "x-url-scheme", "front-end-https", "x-scheme", "x-script-name", NULL
};

void sc_set_status(request_rec *r, const sc_dir_conf_t *d, const char *st)
{
    sc_stat_decision(st);
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

/* A request header name as the bypass lists hold it: lower case, '_'
 * read as '-'.  Returns NULL for names too long to be one of them. */
static const char *header_key(const char *name, char *buf, apr_size_t size)
{
    apr_size_t i;

    for (i = 0; name[i]; i++) {
        if (i + 1 >= size) {
            return NULL;
        }
        buf[i] = name[i] == '_' ? '-' : apr_tolower(name[i]);
    }
    buf[i] = '\0';
    return buf;
}

static int in_list(const apr_array_header_t *list, const char *name)
{
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(list, i, const char *), name)) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    const sc_dir_conf_t *d;
    const char *found;
} reflect_scan_t;

static int reflected_header(void *data, const char *name, const char *value)
{
    reflect_scan_t *scan = data;
    const char *const *h;
    char buf[SC_HEADER_NAME_MAX + 1], exact[SC_HEADER_NAME_MAX + 1];
    const char *k = header_key(name, buf, sizeof(buf));

    (void)value;
    /* A name spelled with '_': mod_proxy forwards it, and WSGI servers,
     * PHP and others read it as the dashed header that may be keyed or
     * reflected (X_Forwarded_Host, Accept_Language, SCRIPT_NAME for
     * gunicorn).  Browsers never send one. */
    if (strchr(name, '_')) {
        scan->found = name;
        return 0;
    }
    if (!k) {
        return 1;
    }
    for (h = reflected; *h && strcmp(*h, k); h++) {
    }
    if (!*h && !in_list(scan->d->bypass_headers, k)) {
        return 1;
    }
    /* Keyed only under its exact spelling: X_Forwarded_Host is not in a
     * key that holds X-Forwarded-Host. */
    apr_cpystrn(exact, name, sizeof(exact));
    ap_str_tolower(exact);
    if (!strcmp(exact, k) && in_list(scan->d->vary_headers, k)) {
        return 1;
    }
    scan->found = name;
    return 0;
}

int sc_client_certificate(request_rec *r)
{
    const char *v;

    if (!ap_ssl_conn_is_ssl(r->connection)) {
        return 0;
    }
    v = ap_ssl_var_lookup(r->pool, r->server, r->connection, r,
                          "SSL_CLIENT_VERIFY");
    return v && (!strcmp(v, "SUCCESS") || !strncmp(v, "GENEROUS", 8));
}

/* Is the request asking to switch protocols (a WebSocket handshake)? */
static int upgrading(request_rec *r)
{
    const char *conn = apr_table_get(r->headers_in, "Connection");

    return apr_table_get(r->headers_in, "Upgrade")
           || (conn && ap_find_token(r->pool, conn, "upgrade"));
}

/* Why this request may not use the cache at all, or NULL.  Each rule is
 * one line of the README's "What is never shared". */
static const char *bypass_reason(request_rec *r, const sc_dir_conf_t *d)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    const char *cookies = apr_table_get(r->headers_in, "Cookie");
    reflect_scan_t scan;
    int i;

    if (apr_table_get(r->subprocess_env, "no-sharedcache")) {
        return "no-sharedcache is set";
    }
    /* Credentials: only a location keyed on the authenticated user may
     * cache them, and only once httpd has authenticated someone. */
    if (apr_table_get(r->headers_in, "Authorization")
        && !(d->vary_user && r->user)) {
        return "request has Authorization";
    }
    /* Authenticated without Authorization (TLS client certificates with
     * SSLUserName, Kerberos, form login): the same rule. */
    if (r->user && d->vary_user != 1) {
        return "request is authenticated (r->user)";
    }
    /* A verified client certificate identifies the client even without
     * SSLUserName (applications read SSL_CLIENT_S_DN_* themselves). */
    if (!(d->vary_user == 1 && r->user) && sc_client_certificate(r)) {
        return "request carries a verified client certificate";
    }
    /* A GET with a body: never cache (THREATS 11, 13). */
    if (apr_table_get(r->headers_in, "Transfer-Encoding")
        || (cl && strcmp(cl, "0") != 0)) {
        return "request has a body";
    }
    /* A WebSocket handshake is not a page. */
    if (upgrading(r)) {
        return "request asks for a protocol upgrade";
    }
    /* An ErrorDocument's internal redirect carries the error status. */
    if (r->prev && ap_is_HTTP_ERROR(r->status)) {
        return "error document";
    }
    /* Cookies drive the key or the bypass here: a header that another
     * parser might read differently is not trusted. */
    if (cookies && (d->vary_cookies || d->bypass_cookies)
        && !sc_key_cookie_header_ok(cookies)) {
        return "a Cookie header that parsers may read differently";
    }
    for (i = 0; cookies && d->bypass_cookies
                && i < d->bypass_cookies->nelts; i++) {
        if (sc_key_cookie(r->pool, cookies, APR_ARRAY_IDX(d->bypass_cookies,
                                                          i, const char *))) {
            return "a SharedCacheBypassCookie is present";
        }
    }
    scan.d = d;
    scan.found = NULL;
    apr_table_do(reflected_header, &scan, r->headers_in, NULL);
    if (scan.found) {
        return "an unkeyed, commonly reflected header is present";
    }
    return NULL;
}

/* The bypass rules of every request of a chain of internal redirects: a
 * rule of the public URL's location (or an env var set there) holds for
 * the request it is redirected to as well. */
static const char *chain_bypass_reason(request_rec *r, const sc_dir_conf_t *d)
{
    const char *why = bypass_reason(r, d);
    request_rec *q;

    for (q = r->prev; q && !why; q = q->prev) {
        const sc_dir_conf_t *dq = ap_get_module_config(q->per_dir_config,
                                                       &sharedcache_module);
        if (dq) {
            why = bypass_reason(q, dq);
        }
    }
    return why;
}

/* The request the client sent: internal redirects (front controllers,
 * FallbackResource) keep it as the first of r->prev. */
static const request_rec *client_request(const request_rec *r)
{
    while (r->prev) {
        r = r->prev;
    }
    return r;
}

void sc_request_url(request_rec *r, sc_url_t *url)
{
    const request_rec *c = client_request(r);

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

/* The path and query of the request-target exactly as the client sent
 * them.  httpd normalises r->parsed_uri.path in place (dot segments,
 * slashes, unreserved %XX), so only r->unparsed_uri still holds them. */
static void client_target(request_rec *r, const request_rec *client,
                          sc_url_t *url)
{
    const char *t = client->unparsed_uri;
    apr_uri_t u;

    if (t && t[0] == '/') {
        /* origin form: all of it up to '?' is the path ("//a/b" too, as
         * httpd reads it) */
        const char *q = strchr(t, '?');
        url->path = q ? apr_pstrmemdup(r->pool, t, (apr_size_t)(q - t)) : t;
        url->query = q ? q + 1 : NULL;
    }
    else if (t && apr_uri_parse(r->pool, t, &u) == APR_SUCCESS
             && (u.path || u.hostname)) {
        url->path = u.path ? u.path : "/";
        url->query = u.query;
    }
}

/* The addresses and ports a virtual host is declared on ("*:port" for a
 * wildcard, the same on every host of a farm; "" for the main server):
 * two virtual hosts with one ServerName on different addresses or ports
 * never share an entry. */
static const char *vhost_addresses(request_rec *r)
{
    const server_addr_rec *a;
    const char *out = "";

    for (a = r->server->is_virtual ? r->server->addrs : NULL; a;
         a = a->next) {
        char *ip = NULL;
        if (a->host_addr && !apr_sockaddr_is_wildcard(a->host_addr)) {
            apr_sockaddr_ip_get(&ip, a->host_addr);
        }
        out = apr_psprintf(r->pool, "%s%s%s:%u", out, *out ? " " : "",
                           ip ? ip : "*", (unsigned int)a->host_port);
    }
    return out;
}

/* A location's variance fields.  q is the request of the chain whose
 * location d is (expressions run against it). */
static const char *add_variance(request_rec *q, sc_key_t *k,
                                const sc_dir_conf_t *d, const char *cookies)
{
    int i;

    for (i = 0; d->vary_cookies && i < d->vary_cookies->nelts; i++) {
        const char *name = APR_ARRAY_IDX(d->vary_cookies, i, const char *);
        sc_key_add(k, 'c', name, sc_key_cookie(q->pool, cookies, name));
    }
    for (i = 0; d->vary_headers && i < d->vary_headers->nelts; i++) {
        const char *name = APR_ARRAY_IDX(d->vary_headers, i, const char *);
        sc_key_add(k, 'h', name, apr_table_getm(q->pool, q->headers_in,
                                                name));
    }
    if (d->vary_user == 1) {
        sc_key_add(k, 'u', "user", q->user);
    }
    for (i = 0; d->vary_exprs && i < d->vary_exprs->nelts; i++) {
        const sc_vary_expr_t *v = &APR_ARRAY_IDX(d->vary_exprs, i,
                                                 sc_vary_expr_t);
        const char *err = NULL;
        const char *val = ap_expr_str_exec(q, v->expr, &err);
        if (err) {
            return apr_psprintf(q->pool, "SharedCacheVary '%s': %s",
                                v->text, err);
        }
        sc_key_add(k, 'x', v->text, val);
    }
    return NULL;
}

/* Level 1 of the key: the URL as the client sent it and as httpd routed
 * it, and the locations' variance.  Returns an error message if an
 * expression fails. */
static const char *build_key(request_rec *r, sc_req_t *ctx)
{
    const sc_dir_conf_t *d = ctx->dconf;
    const char *prefix = ctx->sconf->prefix;
    const char *cookies = apr_table_get(r->headers_in, "Cookie");
    const request_rec *client = client_request(r);
    const char *addrs = vhost_addresses(r);
    sc_key_t *k = &ctx->key1;
    request_rec *q;
    sc_url_t url;

    sc_request_url(r, &url);
    sc_gen_init(r->pool, prefix, sc_key_url_dep(r->pool, &url),
                &ctx->gens[SC_GEN_URL]);
    /* The key holds the path and query exactly as the client sent them:
     * what a front controller routes on (REQUEST_URI) and what a
     * "ProxyPass ... nocanon" backend receives.  Spellings that httpd
     * would normalise alike only cost extra entries. */
    client_target(r, client, &url);
    sc_gen_init(r->pool, prefix, sc_key_dep(r->pool, SC_DEP_NAMESPACE,
                                            d->namespace),
                &ctx->gens[SC_GEN_NAMESPACE]);
    sc_key_init(k, r->pool, &url, d->ignore_query);
    sc_key_add(k, 's', "vhost", apr_psprintf(r->pool, "%s:%u",
                                             r->server->server_hostname,
                                             url.port));
    if (*addrs) {
        sc_key_add(k, 'a', "vhost-addresses", addrs);
    }
    /* The Host header exactly as sent: the application sees all of it
     * (port, trailing dot, case) and may reflect it into the page. */
    sc_key_add(k, 'H', "host", apr_table_get(r->headers_in, "Host"));
    /* Where httpd routed it: after a rewrite ([PT] with a new query, a
     * front controller's internal redirect) the application answers for
     * this, and access control was applied to it.  A request that was not
     * rewritten routes where its target says, so this splits nothing. */
    sc_key_add(k, 'r', "route-path", r->uri);
    sc_key_add(k, 'r', "route-query", sc_key_query(r->pool, r->args,
                                                   d->ignore_query));
    /* mod_proxy (ProxyPass, RewriteRule [P]): the backend it was sent to,
     * which a rewrite may choose by what the key does not hold. */
    if (r->proxyreq && r->filename && !strncmp(r->filename, "proxy:", 6)) {
        sc_key_add(k, 'r', "route-backend", r->filename);
    }
    /* The variance of every location of a chain of internal redirects:
     * the public URL's SharedCacheVaryBy* count as much as the target's. */
    for (q = r; q; q = q->prev) {
        const sc_dir_conf_t *dq = ap_get_module_config(q->per_dir_config,
                                                       &sharedcache_module);
        const char *err;

        if (!dq || (q != r && dq == d)) {
            continue;
        }
        err = add_variance(q, k, dq, cookies);
        if (err) {
            return err;
        }
    }
    ctx->key = sc_key_bytes(k, &ctx->key_len);
    ctx->entry_key = sc_key_digest(r->pool, ctx->sconf->prefix,
                                   SC_KIND_ENTRY, ctx->key, ctx->key_len);
    return NULL;
}

const char *sc_variant_key(request_rec *r, const sc_req_t *ctx,
                           const apr_array_header_t *names,
                           apr_size_t *len)
{
    sc_key_t k;
    int i;

    sc_key_copy(&k, &ctx->key1);
    for (i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        /* names were narrowed when stored (effective_vary in
         * sc_capture.c): a later configuration change can only miss. */
        sc_key_add(&k, 'V', name, apr_table_getm(r->pool, r->headers_in,
                                                 name));
    }
    return sc_key_bytes(&k, len);
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

void sc_restore_response(request_rec *r, const sc_req_t *ctx,
                         const sc_entry_t *e, apr_int64_t now,
                         const char *status)
{
    const char *lm;
    apr_int64_t age = now - e->stored_at;

    restore_headers(r, e);
    r->status = e->status;
    r->status_line = NULL;
    apr_table_setn(r->headers_out, "Age", apr_psprintf(r->pool,
                   "%" APR_INT64_T_FMT, age < 0 ? 0 : age));
    lm = apr_table_get(r->headers_out, "Last-Modified");
    if (lm) {
        apr_time_t t = apr_date_parse_http(lm);
        if (t != APR_DATE_BAD) {
            r->mtime = t;
        }
    }
    ap_set_content_length(r, (apr_off_t)e->body_len);
    sc_set_status(r, ctx->dconf, status);
}

/* What SHAREDCACHE_DECIDE needs to keep a hit's body and its
 * Content-Encoding together: the stored label and the first bytes. */
static void remember_label(request_rec *r, sc_req_t *ctx, const sc_entry_t *e,
                           apr_bucket_brigade *body)
{
    apr_bucket *b = APR_BRIGADE_FIRST(body);
    const char *data;
    apr_size_t len;
    int i;

    ctx->served_encoding = NULL;
    for (i = 0; i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        if (!strcasecmp(h->name, "Content-Encoding")) {
            ctx->served_encoding = h->value;
        }
    }
    ctx->first_len = 0;
    if (b != APR_BRIGADE_SENTINEL(body)
        && apr_bucket_read(b, &data, &len, APR_BLOCK_READ) == APR_SUCCESS) {
        ctx->first_len = len < sizeof(ctx->first) ? len : sizeof(ctx->first);
        memcpy(ctx->first, data, ctx->first_len);
    }
    ap_set_module_config(r->request_config, &sharedcache_module, ctx);
}

/* Serve a stored entry.  Returns OK or an HTTP status for ap_die. */
static int serve(request_rec *r, sc_req_t *ctx, const sc_entry_t *e,
                 apr_bucket_brigade *body, apr_int64_t now,
                 const char *status)
{
    int rv;

    sc_restore_response(r, ctx, e, now, status);
    sc_stat_add(SC_STAT_SERVED_BYTES, e->body_len);
    remember_label(r, ctx, e, body);
    if (ctx->quick) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "hit for %s served by the quick handler", r->uri);
    }

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
    APR_BRIGADE_INSERT_TAIL(body, apr_bucket_eos_create(
                                      r->connection->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, body);
    return rv == APR_SUCCESS || r->connection->aborted ? OK
                                                       : AP_FILTER_ERROR;
}

/* Poll the lease alone (a few bytes) with short, growing sleeps until it
 * is released or marked uncacheable, or until the deadline. */
static void wait_while_leased(request_rec *r, sc_req_t *ctx,
                              const char *lock_key, apr_time_t until,
                              apr_interval_time_t *pause)
{
    apr_time_t now;

    while ((now = apr_time_now()) < until) {
        apr_sleep(until - now < *pause ? until - now : *pause);
        *pause = *pause * 2 > 25000 ? 25000 : *pause * 2;
        if (sc_lock_probe(r, ctx, lock_key) != SC_LOCK_LEASE) {
            return;
        }
    }
}

/* Wait for another request's render (it holds the lease), then look up
 * once more.  When the lease goes without a store (its holder died or
 * failed) or SharedCacheLockTimeout passes, the waiter tries to take the
 * lease itself: one waiter renders and the others wait on for its store,
 * instead of all of them rendering at once.  A waiter waits at most twice
 * SharedCacheLockTimeout in all (the holder's lease, then one successor's
 * render); a dead holder's lease may outlive its timeout by up to a
 * second of memcached's clock, which the second period also covers.
 * Returns the last lookup's result (*res tells what was found): FOUND or
 * STALE to serve, or MISS (or STALE, for stale-on-error) to render, with
 * the lease if it could be taken. */
static sc_lookup_t wait_for_render(request_rec *r, sc_req_t *ctx,
                                   const char *lock_key, sc_found_t *res,
                                   apr_int64_t *now)
{
    apr_time_t start = apr_time_now();
    apr_interval_time_t timeout = apr_time_from_sec(ctx->dconf->lock_timeout);
    apr_time_t until = start + timeout, last = start + 2 * timeout;
    apr_interval_time_t pause = 2000;
    sc_found_t again;
    sc_lookup_t found;
    sc_lock_t lock;
    sc_conn_t *c;

    sc_stat_add(SC_STAT_LOCK_WAITS, 1);
    for (;;) {
        wait_while_leased(r, ctx, lock_key, until, &pause);
        c = sc_store_borrow(ctx->sconf->backend, r->pool);
        if (!c) {
            return SC_LOOKUP_ERROR;
        }
        *now = apr_time_sec(apr_time_now());
        found = sc_lookup(r, ctx, c, *now, res);
        if (found == SC_LOOKUP_FOUND || found == SC_LOOKUP_ERROR
            || (found == SC_LOOKUP_STALE && res->grace_ok)) {
            sc_store_return(c, r->pool);
            break;
        }
        /* Not stored: render, with the lease if it is free. */
        lock = sc_lock_claim(r, ctx, c, res);
        if (lock == SC_LOCK_NONE
            && sc_lookup(r, ctx, c, *now, &again) == SC_LOOKUP_FOUND) {
            /* Ours, but stored and let go just before: serve that. */
            *res = again;
            found = SC_LOOKUP_FOUND;
            sc_store_return(c, r->pool);
            sc_lock_release(r, ctx, 0);
            break;
        }
        sc_store_return(c, r->pool);
        if (lock != SC_LOCK_LEASE || apr_time_now() >= last) {
            break;
        }
        /* Another waiter took it over first (or the dead holder's lease
         * is still there): wait for that one. */
        until = apr_time_now() + timeout;
        until = until < last ? until : last;
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "waited %" APR_TIME_T_FMT
                  " ms for another render", (apr_time_now() - start) / 1000);
    return found;
}

/* The lookup an earlier request of this chain of internal redirects
 * made, if any. */
static sc_req_t *earlier_lookup(request_rec *r)
{
    request_rec *p;

    for (p = r->prev; p; p = p->prev) {
        sc_req_t *ctx = ap_get_module_config(p->request_config,
                                             &sharedcache_module);
        if (ctx) {
            return ctx;
        }
    }
    return NULL;
}

/* memcached is down or slow: render uncached, and do not pay a second
 * timeout trying to store. */
static int uncached(request_rec *r, const sc_dir_conf_t *d)
{
    sc_set_status(r, d, SC_ERROR);
    ap_set_module_config(r->request_config, &sharedcache_module, NULL);
    return DECLINED;
}

/* Look up and serve, or DECLINED with the capture filter added (normal
 * mode) or nothing done (quick mode: the normal handler runs later). */
static int run(request_rec *r, sc_dir_conf_t *d, int quick)
{
    sc_req_t *ctx, *earlier;
    sc_conn_t *c;
    sc_found_t *res, *later;
    apr_int64_t now;
    sc_lookup_t found;
    const char *why, *cc;

    why = chain_bypass_reason(r, d);
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "bypass: %s", why);
        if (!quick) {
            sc_set_status(r, d, SC_BYPASS);
        }
        return DECLINED;
    }
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->dconf = d;
    ctx->quick = quick;
    ctx->sconf = ap_get_module_config(r->server->module_config,
                                      &sharedcache_module);
    cc = apr_table_get(r->headers_in, "Cache-Control");
    ctx->request_no_store = cc && ap_find_token(r->pool, cc, "no-store");
    why = build_key(r, ctx);
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SC_LOGNO(0206)
                      "%s: serving uncached", why);
        if (!quick) {
            sc_set_status(r, d, SC_BYPASS);
        }
        return DECLINED;
    }
    /* An earlier request of this chain of internal redirects (mod_actions)
     * may hold a lease: its key names another route, so nobody will fill
     * it; let go of it now rather than when the chain ends. */
    earlier = quick ? NULL : earlier_lookup(r);
    if (earlier) {
        sc_lock_release(earlier->r, earlier, 0);
    }
    c = sc_store_borrow(ctx->sconf->backend, r->pool);
    if (!c) {
        sc_log_backend(r, "lookup", NULL);
        return quick ? DECLINED : uncached(r, d);
    }
    res = apr_palloc(r->pool, sizeof(*res));
    now = apr_time_sec(apr_time_now());
    found = sc_lookup(r, ctx, c, now, res);
    if (found == SC_LOOKUP_FOUND || found == SC_LOOKUP_ERROR || quick) {
        sc_store_return(c, r->pool);
        if (found == SC_LOOKUP_FOUND) {
            return serve(r, ctx, &res->entry, res->body, now, SC_HIT);
        }
        if (quick) {
            /* The key the quick phase saw, from the headers as the client
             * sent them: an entry is quick-servable only if it is stored
             * under this very key (a RequestHeader may change a keyed
             * header before the normal phase). */
            apr_table_setn(r->notes, SC_NOTE_QUICK_KEY,
                           apr_pstrmemdup(r->pool, ctx->key, ctx->key_len));
            return DECLINED;
        }
        return uncached(r, d);
    }
    /* log_transaction finds ctx to release a lease, SHAREDCACHE_DECIDE
     * to decide on the response. */
    ap_set_module_config(r->request_config, &sharedcache_module, ctx);

    if (found == SC_LOOKUP_STALE && res->grace_ok) {
        /* Grace: one request refreshes (it takes the lease), the others
         * get the stale copy at once. */
        sc_lock_t lock = sc_lock_claim(r, ctx, c, res);

        if (lock == SC_LOCK_LEASE) {
            sc_store_return(c, r->pool);
            return serve(r, ctx, &res->entry, res->body, now, SC_STALE);
        }
        later = apr_palloc(r->pool, sizeof(*later));
        if (lock == SC_LOCK_NONE
            && sc_lookup(r, ctx, c, now, later) == SC_LOOKUP_FOUND) {
            /* Refreshed by the previous holder meanwhile. */
            sc_store_return(c, r->pool);
            sc_lock_release(r, ctx, 0);
            return serve(r, ctx, &later->entry, later->body, now, SC_HIT);
        }
    }
    else if (d->lock) {
        sc_lock_t lock = sc_lock_claim(r, ctx, c, res);

        if (lock == SC_LOCK_NONE) {
            /* The lease is ours, but the previous holder may have stored
             * and let go between our lookup and our claim: look again. */
            later = apr_palloc(r->pool, sizeof(*later));
            if (sc_lookup(r, ctx, c, now, later) == SC_LOOKUP_FOUND) {
                sc_store_return(c, r->pool);
                sc_lock_release(r, ctx, 0);
                return serve(r, ctx, &later->entry, later->body, now,
                             SC_HIT);
            }
        }
        else if (lock == SC_LOCK_LEASE) {
            /* Another request in the farm renders it: wait for its store. */
            sc_store_return(c, r->pool);
            later = apr_palloc(r->pool, sizeof(*later));
            found = wait_for_render(r, ctx, sc_lock_key(r, ctx, res), later,
                                    &now);
            if (found == SC_LOOKUP_FOUND) {
                return serve(r, ctx, &later->entry, later->body, now,
                             SC_HIT);
            }
            if (found == SC_LOOKUP_STALE && later->grace_ok) {
                return serve(r, ctx, &later->entry, later->body, now,
                             SC_STALE);
            }
            if (found == SC_LOOKUP_STALE) {
                res = later;
            }
            c = found == SC_LOOKUP_ERROR
                ? NULL : sc_store_borrow(ctx->sconf->backend, r->pool);
            if (!c) {
                return uncached(r, d);
            }
        }
    }

    /* This request renders.  Its counters exist before it does, so an
     * invalidation during the render is never lost. */
    if (sc_gen_ensure(c, r->pool, ctx->gens, 2) != APR_SUCCESS) {
        sc_log_backend(r, "creating counters", c->error);
        sc_store_return(c, r->pool);
        return uncached(r, d);
    }
    sc_store_return(c, r->pool);
    if (res->body && res->error_ok) {
        ctx->stale = res;        /* may replace a 5xx */
    }
    ap_add_output_filter_handle(sc_save_filter_handle, ctx, r,
                                r->connection);
    return DECLINED;
}

void sc_insert_filter(request_rec *r)
{
    sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                            &sharedcache_module);

    /* Everywhere: a response may invalidate even where nothing is
     * cached (an admin section with SharedCache Off, say). */
    if (d) {
        ap_add_output_filter_handle(sc_decide_filter_handle, NULL, r,
                                    r->connection);
    }
}

void sc_insert_error_filter(request_rec *r)
{
    sc_req_t *ctx = ap_get_module_config(r->request_config,
                                         &sharedcache_module);

    /* The handler failed (e.g. the mod_wsgi daemon is down) and httpd
     * builds an error page: a stale copy may replace it. */
    if (ctx && ctx->stale && r->status >= 500) {
        ap_add_output_filter_handle(sc_decide_filter_handle, NULL, r,
                                    r->connection);
    }
}

int sc_log_transaction(request_rec *r)
{
    request_rec *last = r;
    sc_req_t *ctx;

    /* After internal redirects the response is the last request's. */
    while (last->next) {
        last = last->next;
    }
    ctx = ap_get_module_config(last->request_config, &sharedcache_module);
    if (ctx && ctx->store_pending) {
        sc_capture_finish(last, ctx);
    }
    return DECLINED;
}

int sc_handler(request_rec *r)
{
    sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                            &sharedcache_module);

    if (d && APLOGrtrace2(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r, "config for %s: %s",
                      r->uri, sc_config_describe(r->pool,
                          ap_get_module_config(r->server->module_config,
                                               &sharedcache_module), d));
    }
    if (d && d->purge == 1 && r->method_number == sc_purge_method
        && sc_purge_method >= 0) {
        return sc_purge(r, d, ap_get_module_config(r->server->module_config,
                                                   &sharedcache_module));
    }
    if (!d || d->enabled != 1 || r->method_number != M_GET
        || r->proxyreq == PROXYREQ_PROXY) {
        return DECLINED;
    }
    /* mod_rewrite in a directory redirects this request internally: the
     * key of the request it becomes names where it is routed, so a
     * lookup here could never hit. */
    if (r->handler && !strcmp(r->handler, "redirect-handler")) {
        return DECLINED;
    }
    return run(r, d, 0);
}

/* Quick mode runs before <Location> sections are merged and before access
 * control.  It uses the virtual host's settings for the key (startup makes
 * sure quick sections do not set their own variance) and serves only
 * entries stored where SharedCacheQuickHandler is On, that is where the
 * administrator declared the content public.  A request with credentials
 * is never served here. */
int sc_quick_handler(request_rec *r, int lookup_uri)
{
    sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                               &sharedcache_module);
    sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                            &sharedcache_module);

    /* Before translation r->uri is the raw path: only a path that httpd
     * will not decode or normalise keys the same as in the normal phase. */
    if (lookup_uri || !s->quick || !d || r->method_number != M_GET
        || r->main || r->proxyreq == PROXYREQ_PROXY
        || apr_table_get(r->headers_in, "Authorization")
        || !sc_key_path_plain(r->uri)) {
        return DECLINED;
    }
    return run(r, d, 1);
}
