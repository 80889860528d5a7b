/*
 * sc_keying.c: the request's key.  Level 1: the URL as the client sent it
 * and as httpd routed it, the virtual host, the variance of every
 * location of a chain of internal redirects and what the configuration
 * derived (sc_derive.c); the URL's, namespace's and server's counters and
 * the server the URL's keys live on.  Level 2: the Vary variant.
 */
#include "sc_request.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_protocol.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* The path and query of the request-target exactly as the client sent
 * them.  httpd normalises r->parsed_uri.path in place (dot segments,
 * slashes, unreserved %XX), so only r->unparsed_uri still holds them. */
static void client_target(request_rec *r, const request_rec *client,
                          sc_url_t *url)
{
    const char *t = client->unparsed_uri;

    if (t && t[0] == '/') {
        /* origin form: all of it up to '?' is the path ("//a/b" too, as
         * httpd reads it) */
        const char *q = strchr(t, '?');
        url->path = q ? apr_pstrmemdup(r->pool, t, (apr_size_t)(q - t)) : t;
        url->query = q ? q + 1 : NULL;
    }
    else if (t && *t) {
        /* any other form (absolute, "http:", "http:?x"): the application
         * gets it as sent (REQUEST_URI), never the origin form's page */
        const char *q = strchr(t, '?');
        url->path = q ? apr_pstrmemdup(r->pool, t, (apr_size_t)(q - t)) : t;
        url->query = q ? q + 1 : NULL;
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

    for (a = r->server->is_virtual ? r->server->addrs : NULL; a; a = a->next) {
        out = sc_key_vhost_address_add(r->pool, out, a->host_addr,
                                       (unsigned int)a->host_port);
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
        sc_key_add(k, 'h', name, apr_table_getm(q->pool, q->headers_in, name));
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
            return apr_psprintf(q->pool, "SharedCacheVary '%s': %s", v->text,
                                err);
        }
        sc_key_add(k, 'x', v->text, val);
    }
    return NULL;
}

/* The URL's part of r's level-1 key: its counters, its server and the
 * request fields (rq). */
static void url_part(request_rec *r, sc_req_t *ctx, sc_key_request_t *rq)
{
    const sc_dir_conf_t *d = ctx->dconf;
    const char *prefix = ctx->sconf->prefix;
    const request_rec *client = sc_client_request(r);
    sc_url_t url;

    sc_request_url(r, &url);
    sc_gen_init(r->pool, prefix, sc_key_url_dep(r->pool, &url),
                &ctx->gens[SC_GEN_URL]);
    /* Every key of the URL (entries, variants, chunks, lease, counters'
     * copies) lives on the server its URL counter's key is placed on. */
    ctx->server = sc_store_place(ctx->sconf->backend,
                                 ctx->gens[SC_GEN_URL].key);
    /* The key holds the path and query exactly as the client sent them:
     * what a front controller routes on (REQUEST_URI) and what a
     * "ProxyPass ... nocanon" backend receives.  Spellings that httpd
     * would normalise alike only cost extra entries. */
    client_target(r, client, &url);
    rq->url = url;
    rq->ignore = d->ignore_query;
    /* Where httpd routed it: after a rewrite ([PT] with a new query, a
     * front controller's internal redirect) the application answers for
     * this, and access control was applied to it.  A request that was not
     * rewritten routes where its target says, so this splits nothing. */
    rq->route_path = r->uri;
    rq->route_query = r->args;
    /* mod_proxy (ProxyPass, RewriteRule [P]): the backend it was sent to,
     * which a rewrite may choose by what the key does not hold. */
    rq->route_backend = r->proxyreq ? r->filename : NULL;
}

static void finish(request_rec *r, sc_req_t *ctx)
{
    ctx->key = sc_key_bytes(&ctx->key1, &ctx->key_len);
    ctx->entry_key = sc_key_digest(r->pool, ctx->sconf->prefix, SC_KIND_ENTRY,
                                   ctx->key, ctx->key_len);
}

/* Level 1 of the key: the URL as the client sent it and as httpd routed
 * it, and the locations' variance. */
const char *sc_build_key(request_rec *r, sc_req_t *ctx)
{
    const sc_dir_conf_t *d = ctx->dconf;
    const char *prefix = ctx->sconf->prefix;
    const char *cookies = apr_table_get(r->headers_in, "Cookie");
    sc_key_t *k = &ctx->key1;
    sc_key_request_t rq;
    request_rec *q;
    const char *why;

    url_part(r, ctx, &rq);
    sc_gen_init(r->pool, prefix,
                sc_key_dep(r->pool, SC_DEP_NAMESPACE, d->namespace),
                &ctx->gens[SC_GEN_NAMESPACE]);
    sc_gen_init(r->pool, prefix, SC_DEP_SERVER_NAME, &ctx->gens[SC_GEN_SERVER]);
    rq.vhost = sc_key_vhost(r->pool, r->server->server_hostname, rq.url.port);
    rq.vhost_addresses = vhost_addresses(r);
    /* The Host header exactly as sent: the application sees all of it
     * (port, trailing dot, case) and may reflect it into the page. */
    rq.host = apr_table_get(r->headers_in, "Host");
    sc_key_request(k, r->pool, &rq);
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
    why = sc_derive_key(r, k);
    if (why) {
        return why;
    }
    /* What follows the URL's fields reads no URL (sc_build_key_like):
     * no SharedCacheVary expression, which may read it, and nothing of
     * it that sc_derive.c keys. */
    ctx->key_url_free = !(d->vary_exprs && d->vary_exprs->nelts)
                        && sc_derive_url_free(r);
    finish(r, ctx);
    return NULL;
}

const char *sc_build_key_like(request_rec *r, sc_req_t *ctx,
                              const sc_req_t *like)
{
    sc_key_request_t rq;
    int i;

    if (!like || !like->key_url_free || like->dconf != ctx->dconf
        || like->sconf != ctx->sconf || !sc_derive_url_free(r)) {
        return sc_build_key(r, ctx);
    }
    url_part(r, ctx, &rq);
    for (i = SC_GEN_NAMESPACE; i <= SC_GEN_SERVER; i++) {
        /* the same counters' keys, none of like's values */
        ctx->gens[i].dep = like->gens[i].dep;
        ctx->gens[i].key = like->gens[i].key;
        ctx->gens[i].gen = 0;
        ctx->gens[i].have = 0;
    }
    sc_key_request_like(&ctx->key1, r->pool, &rq, &like->key1);
    ctx->key_url_free = 1;
    finish(r, ctx);
    return NULL;
}

const char *sc_variant_key(request_rec *r, const sc_req_t *ctx,
                           const apr_array_header_t *names, apr_size_t *len)
{
    /* names were narrowed when stored (effective_vary in sc_capture.c):
     * a later configuration change can only miss. */
    return sc_key_variant(&ctx->key1, names, r->headers_in, len);
}

void sc_lookup_keys(const sc_req_t *ctx, const char **keys)
{
    keys[0] = ctx->entry_key;
    keys[1] = ctx->gens[SC_GEN_URL].key;
    keys[2] = ctx->gens[SC_GEN_NAMESPACE].key;
    keys[3] = ctx->gens[SC_GEN_SERVER].key;
}
