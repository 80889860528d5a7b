/*
 * sc_keying.c: the request's key.  Level 1: the URL as the client sent it
 * and as httpd routed it, the virtual host, the variance of every
 * location of a chain of internal redirects and what the configuration
 * derived (sc_derive.c); the URL's, namespace's and server's counters and
 * the server the URL's keys live on.  Level 2: the Vary variant.
 */
#include "sc_request.h"
#include "sc_ring.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_protocol.h"
#include "mod_proxy.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* ---- Sticky balancers ----------------------------------------------------
 *
 * mod_proxy_balancer routes a sticky balancer's request by the cookie and
 * the URL parameter its live settings name (balancer->s, in shared memory:
 * stickysession as configured, or as balancer-manager set it since).  They
 * are read for every request of the server: the quick handler does not
 * know yet which go to a balancer. */
static module *proxy_mod;

void sc_keying_post_config(void)
{
    proxy_mod = ap_find_linked_module("mod_proxy.c");
}

/* Adds the member r's sticky balancers route it to, by what they read,
 * to k: each one's cookie, read as the balancer reads it, and the URL as
 * sent where it holds a route parameter (the balancer finds "PARAM="
 * anywhere in it, a query parameter's value too: every parameter counts,
 * SharedCacheIgnoreQuery aside).  Returns whether a balancer of the
 * server routes by a URL parameter. */
static int key_sticky(request_rec *r, sc_key_t *k, const char *cookies)
{
    const proxy_server_conf *pc;
    const proxy_balancer *b;
    int i, params = 0, url_keyed = 0;

    pc = proxy_mod ? ap_get_module_config(r->server->module_config, proxy_mod)
                   : NULL;
    if (!pc || !pc->balancers) {
        return 0;
    }
    b = (const proxy_balancer *)pc->balancers->elts;
    for (i = 0; i < pc->balancers->nelts; i++) {
        char name[PROXY_BALANCER_MAX_STICKY_SIZE];

        /* (copied: balancer-manager may write them meanwhile) */
        if (!b[i].s || !*b[i].s->sticky) {
            continue; /* not sticky: the balancer reads neither */
        }
        apr_cpystrn(name, b[i].s->sticky, sizeof name);
        sc_key_add(k, 'b', name, sc_key_cookie_sticky(r->pool, cookies, name));
        apr_cpystrn(name, b[i].s->sticky_path, sizeof name);
        if (!*name) {
            continue;
        }
        params = 1;
        if (!url_keyed && r->unparsed_uri && strstr(r->unparsed_uri, name)) {
            sc_key_add(k, 'b', "url", r->unparsed_uri);
            url_keyed = 1;
        }
    }
    return params;
}

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
 * never share an entry.  Where its files are chosen by the local address
 * the client connected to (sc_server_conf_t.local_routes), that address
 * too. */
static const char *vhost_addresses(request_rec *r, const sc_server_conf_t *s)
{
    const server_addr_rec *a;
    const char *out = "";

    for (a = r->server->is_virtual ? r->server->addrs : NULL; a; a = a->next) {
        out = sc_key_vhost_address_add(r->pool, out, a->host_addr,
                                       (unsigned int)a->host_port);
    }
    if (s && s->local_routes) {
        out = apr_pstrcat(r->pool, out, " local ", r->connection->local_ip,
                          NULL);
    }
    return out;
}

/* The "s:vhost" field: the virtual host's ServerName and the URL's port,
 * or what httpd reports instead (SERVER_NAME, SERVER_PORT: rewrite rules,
 * expressions and the application read them) where the configuration
 * has it report what the connection says: the name the local address
 * resolves to (UseCanonicalName DNS), the port the client connected to
 * (UseCanonicalPhysicalPort On).  One server on a public and an internal
 * address or port never gives one's page to the other. */
static const char *vhost_field(request_rec *r, unsigned int url_port)
{
    const core_dir_config *core = ap_get_core_module_config(r->per_dir_config);
    const char *name = r->server->server_hostname;
    unsigned int port = url_port;

    if (core && core->use_canonical_name == USE_CANONICAL_NAME_DNS) {
        name = ap_get_server_name(r);
    }
    if (core && core->use_canonical_phys_port == USE_CANONICAL_PHYS_PORT_ON) {
        port = ap_get_server_port(r);
    }
    return sc_key_vhost(r->pool, name, port);
}

int sc_key_server_as_vhost(request_rec *r)
{
    const core_dir_config *here = ap_get_core_module_config(r->per_dir_config);
    const core_dir_config *vhost = ap_get_core_module_config(
        r->server->lookup_defaults);

    return here && vhost
           && here->use_canonical_name == vhost->use_canonical_name
           && here->use_canonical_phys_port == vhost->use_canonical_phys_port;
}

/* A location's variance fields.  q is the request of the chain whose
 * location d is (expressions run against it). */
static const char *add_variance(request_rec *q, sc_key_t *k,
                                const sc_dir_conf_t *d, const char *cookies)
{
    apr_table_t *origin = NULL; /* as the backend receives them */
    int i;

    for (i = 0; d->vary_cookies && i < d->vary_cookies->nelts; i++) {
        const char *name = APR_ARRAY_IDX(d->vary_cookies, i, const char *);
        sc_key_add(k, 'c', name, sc_key_cookie(q->pool, cookies, name));
    }
    for (i = 0; d->vary_headers && i < d->vary_headers->nelts; i++) {
        const char *name = APR_ARRAY_IDX(d->vary_headers, i, const char *);
        apr_table_t *in = q->headers_in;
        if (sc_origin_added(name)) {
            if (!origin) {
                origin = sc_origin_headers_in(q, q->headers_in);
            }
            in = origin;
        }
        sc_key_add(k, 'h', name, apr_table_getm(q->pool, in, name));
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
    int sticky_params;

    url_part(r, ctx, &rq);
    sc_gen_init(r->pool, prefix,
                sc_key_dep(r->pool, SC_DEP_NAMESPACE, d->namespace),
                &ctx->gens[SC_GEN_NAMESPACE]);
    sc_gen_init(r->pool, prefix, SC_DEP_SERVER_NAME, &ctx->gens[SC_GEN_SERVER]);
    rq.vhost = vhost_field(r, rq.url.port);
    rq.vhost_addresses = vhost_addresses(r, ctx->sconf);
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
    sticky_params = key_sticky(r, k, cookies);
    why = sc_derive_key(r, k);
    if (why) {
        return why;
    }
    /* What follows the URL's fields reads no URL (sc_build_key_like):
     * no SharedCacheVary expression, which may read it, no sticky
     * balancer's parameter, and nothing of it that sc_derive.c keys. */
    ctx->key_url_free = !(d->vary_exprs && d->vary_exprs->nelts)
                        && !sticky_params && sc_derive_url_free(r);
    finish(r, ctx);
    return NULL;
}

/* ---- Keys made like another, remembered ---------------------------------
 *
 * A key made like another (sc_build_key_like) is a pure function of that
 * key (its entry key is the digest of all of its bytes, the virtual host's
 * prefix and the URL's origin among them), of the request's target as
 * sent and as httpd parsed it, and of the configuration both share.  Each
 * thread remembers the last ones it made: the includes of a page that is
 * asked for again are made like the same first include, with the same
 * sources (a memo of the whole key: its bytes, entry key, URL counter and
 * server, in place of three or four digests' lookups, the query's
 * sorting and the key's assembly). */
#define SC_LIKE_SETS 32
#define SC_LIKE_WAYS 4
#define SC_LIKE_IN_MAX 512   /* longer inputs are not remembered */
#define SC_LIKE_OUT_MAX 1024 /* nor longer keys */

/* A set's ways told apart by their inputs' hashes and lengths, in one
 * cache line (as the digest memo's, sc_key.c): a probe reads that line,
 * and a way's input only where both match. */
typedef struct {
    apr_uint32_t h[SC_LIKE_WAYS];
    apr_uint32_t in_len[SC_LIKE_WAYS]; /* 0: an empty way */
    unsigned char next;                /* the way to reuse */
} __attribute__((aligned(64))) like_set_t;

typedef struct {
    const void *sconf, *dconf;
    char in[SC_LIKE_IN_MAX];
    apr_size_t key_len, mid_start, mid_end, tail_start;
    apr_size_t entry_len, dep_len, gkey_len; /* after the key, in out */
    int server;
    char out[SC_LIKE_OUT_MAX];
} like_memo_t;

static __thread like_set_t like_sets[SC_LIKE_SETS];
static __thread like_memo_t like_ways[SC_LIKE_SETS][SC_LIKE_WAYS];

/* The memo's input for the key of "GET target" made like like: 0 when
 * too long.  A direct include's request is made from its target alone
 * (sc_incdirect.c: httpd's parse of it, the virtual host's settings), so
 * its path and query are those of the target. */
static apr_size_t like_input(const char *target, const sc_req_t *like, char *in)
{
    const char *f[2] = { like->entry_key, target };
    apr_size_t n = 0, l;
    int i;

    for (i = 0; i < 2; i++) {
        if (!f[i]) {
            return 0;
        }
        l = strlen(f[i]);
        if (n + l + 1 > SC_LIKE_IN_MAX) {
            return 0;
        }
        memcpy(in + n, f[i], l);
        n += l;
        in[n++] = '\n';
    }
    return n;
}

static like_memo_t *like_find(const sc_req_t *ctx, const char *in,
                              apr_size_t len, apr_uint32_t h)
{
    apr_size_t s = h % SC_LIKE_SETS;
    like_set_t *set = &like_sets[s];
    int i;

    for (i = 0; i < SC_LIKE_WAYS; i++) {
        like_memo_t *m = &like_ways[s][i];
        if (set->in_len[i] == len && set->h[i] == h && m->sconf == ctx->sconf
            && m->dconf == ctx->dconf && !memcmp(m->in, in, len)) {
            return m;
        }
    }
    return NULL;
}

static void like_restore(request_rec *r, sc_req_t *ctx, const like_memo_t *m)
{
    const char *o = m->out + m->key_len;

    ctx->key1.pool = r->pool;
    ctx->key1.data = apr_pmemdup(r->pool, m->out, m->key_len);
    ctx->key1.len = ctx->key1.cap = m->key_len;
    ctx->key1.mid_start = m->mid_start;
    ctx->key1.mid_end = m->mid_end;
    ctx->key1.tail_start = m->tail_start;
    ctx->key = ctx->key1.data;
    ctx->key_len = m->key_len;
    ctx->entry_key = apr_pstrmemdup(r->pool, o, m->entry_len);
    o += m->entry_len;
    ctx->gens[SC_GEN_URL].dep = apr_pstrmemdup(r->pool, o, m->dep_len);
    o += m->dep_len;
    ctx->gens[SC_GEN_URL].key = apr_pstrmemdup(r->pool, o, m->gkey_len);
    ctx->gens[SC_GEN_URL].gen = 0;
    ctx->gens[SC_GEN_URL].have = 0;
    ctx->server = m->server;
}

static void like_keep(const sc_req_t *ctx, const char *in, apr_size_t len,
                      apr_uint32_t h)
{
    apr_size_t s = h % SC_LIKE_SETS;
    like_set_t *set = &like_sets[s];
    like_memo_t *m = &like_ways[s][set->next];
    apr_size_t el = strlen(ctx->entry_key);
    apr_size_t dl = strlen(ctx->gens[SC_GEN_URL].dep);
    apr_size_t gl = strlen(ctx->gens[SC_GEN_URL].key);
    char *o = m->out;

    if (ctx->key_len + el + dl + gl > SC_LIKE_OUT_MAX) {
        return;
    }
    set->h[set->next] = h;
    set->in_len[set->next] = (apr_uint32_t)len;
    set->next = (unsigned char)((set->next + 1) % SC_LIKE_WAYS);
    m->sconf = ctx->sconf;
    m->dconf = ctx->dconf;
    memcpy(m->in, in, len);
    m->key_len = ctx->key_len;
    m->mid_start = ctx->key1.mid_start;
    m->mid_end = ctx->key1.mid_end;
    m->tail_start = ctx->key1.tail_start;
    m->entry_len = el;
    m->dep_len = dl;
    m->gkey_len = gl;
    m->server = ctx->server;
    memcpy(o, ctx->key, ctx->key_len);
    o += ctx->key_len;
    memcpy(o, ctx->entry_key, el);
    o += el;
    memcpy(o, ctx->gens[SC_GEN_URL].dep, dl);
    o += dl;
    memcpy(o, ctx->gens[SC_GEN_URL].key, gl);
}

/* The counters' keys of like, none of its values. */
static void like_gens(sc_req_t *ctx, const sc_req_t *like)
{
    int i;

    for (i = SC_GEN_NAMESPACE; i <= SC_GEN_SERVER; i++) {
        ctx->gens[i].dep = like->gens[i].dep;
        ctx->gens[i].key = like->gens[i].key;
        ctx->gens[i].gen = 0;
        ctx->gens[i].have = 0;
    }
    ctx->key_url_free = 1;
}

/* Whether r's key may be made like like's (r: a request of the same
 * page, or like's own). */
static int like_applies(request_rec *r, const sc_req_t *ctx,
                        const sc_req_t *like)
{
    return like && like->key_url_free && like->dconf == ctx->dconf
           && like->sconf == ctx->sconf && sc_derive_url_free(r);
}

/* The memo's key for "GET target" like like, into ctx on r's pool: 1, or
 * 0 when this thread does not remember it. */
static int like_take(request_rec *r, sc_req_t *ctx, const sc_req_t *like,
                     const char *target)
{
    char in[SC_LIKE_IN_MAX];
    apr_size_t in_len = like_input(target, like, in);
    const like_memo_t *m;

    if (!in_len) {
        return 0;
    }
    m = like_find(ctx, in, in_len, sc_ring_hash(in, in_len));
    if (!m) {
        return 0;
    }
    like_gens(ctx, like);
    like_restore(r, ctx, m);
    return 1;
}

const char *sc_build_key_like(request_rec *r, sc_req_t *ctx,
                              const sc_req_t *like)
{
    sc_key_request_t rq;
    char in[SC_LIKE_IN_MAX];
    apr_size_t in_len;

    if (!like_applies(r, ctx, like)) {
        return sc_build_key(r, ctx);
    }
    if (like_take(r, ctx, like, r->unparsed_uri)) {
        return NULL;
    }
    like_gens(ctx, like);
    url_part(r, ctx, &rq);
    sc_key_request_like(&ctx->key1, r->pool, &rq, &like->key1);
    finish(r, ctx);
    in_len = like_input(r->unparsed_uri, like, in);
    if (in_len) {
        like_keep(ctx, in, in_len, sc_ring_hash(in, in_len));
    }
    return NULL;
}

int sc_remembered_key_like(request_rec *r, sc_req_t *ctx, const sc_req_t *like,
                           const char *target)
{
    /* (r: like's request, whose URL-free state a direct request made
     * like it shares: sc_incdirect.c) */
    return like_applies(r, ctx, like) && like_take(r, ctx, like, target);
}

const char *sc_variant_key(request_rec *r, const sc_req_t *ctx,
                           const apr_array_header_t *names, apr_size_t *len)
{
    apr_table_t *headers = ctx->key_headers ? ctx->key_headers : r->headers_in;
    int i;

    /* names were narrowed when stored (effective_vary in sc_capture.c):
     * a later configuration change can only miss.  A header mod_proxy
     * adds is keyed as the backend receives it (sc_origin.c). */
    for (i = 0; names && i < names->nelts; i++) {
        if (sc_origin_added(APR_ARRAY_IDX(names, i, const char *))) {
            headers = sc_origin_headers_in(r, headers);
            break;
        }
    }
    return sc_key_variant(&ctx->key1, names, headers, len);
}

void sc_lookup_keys(const sc_req_t *ctx, const char **keys)
{
    keys[0] = ctx->entry_key;
    keys[1] = ctx->gens[SC_GEN_URL].key;
    keys[2] = ctx->gens[SC_GEN_NAMESPACE].key;
    keys[3] = ctx->gens[SC_GEN_SERVER].key;
}
