/*
 * sc_request.c: what every stage of a request shares.  Owns the request's
 * context (sc_req_t, checked by its magic number), the rate-limited memcached
 * warning, the request's URL and key (level 1 and the Vary variant), and
 * restoring a stored response's status and headers.
 */
#include "sc_request.h"
#include "sc_log.h"
#include "sc_status.h"

#include "http_core.h"
#include "http_log.h"
#include "mod_ssl.h"
#include "util_cfgtree.h"
#include "http_protocol.h"
#include <apr_date.h>
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(sharedcache);

sc_req_t *sc_req_get(const request_rec *r)
{
    sc_req_t *ctx = ap_get_module_config(r->request_config,
                                         &sharedcache_module);

    if (ctx && ctx->magic != SC_REQ_MAGIC) {
        ap_log_rerror(APLOG_MARK, APLOG_CRIT, 0, r,
                      SC_LOGNO(0208) "request context corrupt (magic %08x)",
                      ctx->magic);
        abort();
    }
    return ctx;
}

sc_req_t *sc_req_new(request_rec *r, sc_dir_conf_t *d, sc_phase_t phase)
{
    sc_req_t *ctx = apr_pcalloc(r->pool, sizeof(*ctx));

    ctx->magic = SC_REQ_MAGIC;
    ctx->dconf = d;
    ctx->quick = phase == SC_PHASE_QUICK;
    ctx->sconf = ap_get_module_config(r->server->module_config,
                                      &sharedcache_module);
    ctx->state = SC_CAP_NEW;
    return ctx;
}

void sc_log_backend(request_rec *r, const char *what, const char *error)
{
    /* One warning per 10 s per process: memcached being down must not
     * flood the log with one line per request. */
    static apr_time_t last;
    apr_time_t now = apr_time_now();

    if (now - last > apr_time_from_sec(10)) {
        last = now;
        ap_log_rerror(
            APLOG_MARK, APLOG_WARNING, 0, r,
            SC_LOGNO(0201) "memcached %s failed, serving uncached: %s", what,
            error ? error : "no handle available");
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0202) "memcached %s failed: %s", what,
                      error ? error : "no handle available");
    }
}

/* The request the client sent: internal redirects (front controllers,
 * FallbackResource) keep it as the first of r->prev. */
const request_rec *sc_client_request(const request_rec *r)
{
    while (r->prev) {
        r = r->prev;
    }
    return r;
}

int sc_client_method(request_rec *r)
{
    const request_rec *c;

    /* A subrequest (an SSI or ESI include) is its own GET: it copies the
     * client's request line, not its method (a POST to the page must not
     * make every fragment a POST that bypasses and invalidates). */
    if (r->main) {
        return r->method_number;
    }
    c = sc_client_request(r);
    const char *line = c->the_request;
    const char *sp = line ? strchr(line, ' ') : NULL;

    /* mod_cgi and mod_wsgi turn a local redirect's request into a GET
     * (method and method_number) before redirecting: the request line
     * still says what the client sent. */
    if (sp && sp > line) {
        return ap_method_number_of(
            apr_pstrmemdup(r->pool, line, (apr_size_t)(sp - line)));
    }
    return c->method_number;
}

void sc_request_url(request_rec *r, sc_url_t *url)
{
    const request_rec *c = sc_client_request(r);

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

/* ---- what httpd's configuration derived from the request ---------------
 *
 * SetEnvIf, BrowserMatch, RewriteRule [E=] (with [NV] httpd adds no Vary),
 * SetEnv inside <If> and RequestHeader compute what the application gets
 * from the request: a variable, a header added or changed.  Whatever of
 * it the application reads is part of its page, so all of it is part of
 * the key (a request that derives nothing keys as before). */

#define SENT "sharedcache-sent-headers"

int sc_request_arrived(request_rec *r)
{
    /* (the quick-mode probe shares the real request's pool) */
    if (!r->main && !r->prev && !apr_table_get(r->notes, SC_NOTE_PROBE)) {
        apr_pool_userdata_setn(apr_table_copy(r->pool, r->headers_in), SENT,
                               NULL, r->pool);
    }
    return DECLINED;
}

/* Variables that differ on every request or connection whatever the
 * configuration (a key holding them would never hit), restate the URL
 * (mod_rewrite's), or are ours. */
static int env_unkeyed(const char *name)
{
    static const char *const not_derived[] = {
        "UNIQUE_ID",    "H2_STREAM_ID",   "H2_STREAM_TAG",
        "H2_PUSHED_ON", "SSL_SESSION_ID", "SSL_SESSION_RESUMED",
        "SCRIPT_URL",   "SCRIPT_URI",     NULL
    };
    const char *const *n;

    while (!strncmp(name, "REDIRECT_", 9)) {
        name += 9;
    }
    if (!strncasecmp(name, "sharedcache", 11)) {
        return 1;
    }
    for (n = not_derived; *n; n++) {
        if (!strcmp(name, *n)) {
            return 1;
        }
    }
    return 0;
}

/* mod_ssl's variables (HTTPS, SSL_*) say what the connection is, not
 * what the request asked: not keyed when they hold what mod_ssl reports
 * for this connection (a SetEnvIf that sets HTTPS=on from a header on a
 * plain connection is keyed). */
static APR_OPTIONAL_FN_TYPE(ssl_var_lookup) * ssl_var;

static int connection_fact(request_rec *r, const char *name, const char *value)
{
    const char *is;

    if (strcmp(name, "HTTPS") && strncmp(name, "SSL_", 4)) {
        return 0;
    }
    if (!ssl_var) {
        ssl_var = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
    }
    is = ssl_var ? ssl_var(r->pool, r->server, r->connection, r, (char *)name)
                 : NULL;
    return is && !strcmp(is, value);
}

/* Snapshots of a request's variables: as its handler phase began (before
 * any handler adds the CGI and application variables: HTTP_*,
 * REMOTE_PORT, mod_wsgi.*), and, for a subrequest, as it inherited them
 * from its parent (a copy of the parent's, those included). */
#define ENV_AT_HANDLER "sharedcache-env-handler"
#define ENV_INHERITED "sharedcache-env-inherited"

static apr_table_t *env_snapshot(const request_rec *r, const char *which)
{
    void *t = NULL;

    apr_pool_userdata_get(&t, which, r->pool);
    return t;
}

void sc_request_env_snapshot(request_rec *r, sc_env_when_t when)
{
    const char *which = when == SC_ENV_INHERITED ? ENV_INHERITED
                                                 : ENV_AT_HANDLER;

    if (!env_snapshot(r, which)) {
        apr_pool_userdata_setn(apr_table_copy(r->pool, r->subprocess_env),
                               which, NULL, r->pool);
    }
}

static int env_has(apr_table_t *t, const char *name, const char *value)
{
    const char *v = apr_table_get(t, name);

    return v && !strcmp(v, value);
}

/* Did configuration set name=value for r (or for the request it comes
 * from), rather than a handler (the CGI variables mod_wsgi or mod_cgi add
 * to the parent of a subrequest, or to the previous hop of an internal
 * redirect, which then reaches r as REDIRECT_...)? */
static int config_derived(const request_rec *r, const char *name,
                          const char *value)
{
    apr_table_t *t;

    if (!strncmp(name, "REDIRECT_", 9) && r->prev) {
        return config_derived(r->prev, name + 9, value);
    }
    t = r->main ? env_snapshot(r, ENV_INHERITED) : NULL;
    if (t && env_has(t, name, value)) {
        return config_derived(r->main, name, value);
    }
    t = env_snapshot(r, ENV_AT_HANDLER);
    return !t || env_has(t, name, value);
}

typedef struct {
    request_rec *r;
    apr_array_header_t *pairs; /* of sc_header_t */
    apr_table_t *sent;         /* what the client sent, or NULL */
} derived_t;

static int derived_env(void *data, const char *name, const char *value)
{
    derived_t *dv = data;
    sc_header_t *h;

    if (!env_unkeyed(name) && !connection_fact(dv->r, name, value)
        && config_derived(dv->r, name, value)) {
        h = apr_array_push(dv->pairs);
        h->name = name;
        h->value = value;
    }
    return 1;
}

static int was_sent(void *data, const char *name, const char *value)
{
    const char **want = data;

    (void)name;
    if (!strcmp(value, want[1])) {
        want[0] = NULL; /* found */
        return 0;
    }
    return 1;
}

static int derived_header(void *data, const char *name, const char *value)
{
    derived_t *dv = data;
    const char *want[2] = { name, value };
    sc_header_t *h;

    /* set or removed by this module for the location (SharedCacheESI) */
    if (!strcasecmp(name, "Surrogate-Capability")) {
        return 1;
    }
    if (dv->sent) {
        apr_table_do(was_sent, (void *)want, dv->sent, name, NULL);
    }
    if (want[0]) {
        h = apr_array_push(dv->pairs);
        h->name = name;
        h->value = value;
    }
    return 1;
}

static int by_name(const void *a, const void *b)
{
    const sc_header_t *x = a, *y = b;
    int c = strcasecmp(x->name, y->name);

    return c ? c : strcmp(x->value, y->value);
}

static void add_derived(request_rec *r, sc_key_t *k, char kind,
                        apr_array_header_t *pairs)
{
    int i;

    qsort(pairs->elts, (size_t)pairs->nelts, sizeof(sc_header_t), by_name);
    for (i = 0; i < pairs->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(pairs, i, sc_header_t);
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r,
                      "the key holds the derived %s %s=%s",
                      kind == 'e' ? "variable" : "header", h->name, h->value);
        sc_key_add(k, kind, apr_pstrdup(r->pool, h->name), h->value);
    }
}

/* Request headers that a RequestHeader directive names anywhere in the
 * configuration (lower case; read at start-up): their values are keyed
 * whoever set them, the client or the configuration. */
static apr_array_header_t *configured_headers;

static void collect_request_headers(apr_pool_t *p, ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "RequestHeader") && d->args) {
            const char *args = d->args;
            char *action = ap_getword_conf(p, &args);
            char *name = ap_getword_conf(p, &args);
            (void)action;
            if (*name) {
                ap_str_tolower(name);
                APR_ARRAY_PUSH(configured_headers, const char *) = name;
            }
        }
        if (d->first_child) {
            collect_request_headers(p, d->first_child);
        }
    }
}

/* What may derive request state for a subrequest that its parent's
 * request did not (sc_request_rules_reach): the modules whose
 * per-directory configuration holds such rules, whether a RequestHeader
 * anywhere depends on the request (a condition, a %-variable in its
 * value) and whether a server-level RewriteRule applies to subrequests
 * (no [NS]). */
static module *setenvif_module_p, *rewrite_module_p, *headers_module_p;
static int request_header_rules, server_rewrites;

static int dir_section(const char *name)
{
    static const char *const sections[] = {
        "<Location", "<LocationMatch", "<Directory",  "<DirectoryMatch",
        "<Files",    "<FilesMatch",    "<If",         "<ElseIf",
        "<Else",     "<Proxy",         "<ProxyMatch", NULL
    };
    const char *const *s;

    for (s = sections; *s; s++) {
        if (!strcasecmp(name, *s)) {
            return 1;
        }
    }
    return 0;
}

/* Does a RewriteRule's flag list ("[L,NS]") hold NS or nosubreq? */
static int rewrite_flags_ns(apr_pool_t *p, const char *flags)
{
    char *list = apr_pstrdup(p, flags), *flag, *last;

    if (*list == '[') {
        list++;
    }
    for (flag = apr_strtok(list, ",]", &last); flag;
         flag = apr_strtok(NULL, ",]", &last)) {
        while (*flag == ' ') {
            flag++;
        }
        if (!strcasecmp(flag, "ns") || !strcasecmp(flag, "nosubreq")) {
            return 1;
        }
    }
    return 0;
}

static void find_derivers(apr_pool_t *p, ap_directive_t *d, int in_dir)
{
    for (; d; d = d->next) {
        int dir = in_dir || dir_section(d->directive);
        if (!strcasecmp(d->directive, "RequestHeader") && d->args
            && (ap_strstr_c(d->args, "env=") || ap_strstr_c(d->args, "expr=")
                || strchr(d->args, '%'))) {
            request_header_rules = 1;
        }
        if (!strcasecmp(d->directive, "RewriteRule") && !in_dir && d->args) {
            const char *args = d->args;
            (void)ap_getword_conf(p, &args); /* pattern */
            (void)ap_getword_conf(p, &args); /* substitution */
            if (!rewrite_flags_ns(p, ap_getword_conf(p, &args))) {
                server_rewrites = 1;
            }
        }
        if (d->first_child) {
            find_derivers(p, d->first_child, dir);
        }
    }
}

void sc_request_post_config(apr_pool_t *pconf)
{
    configured_headers = apr_array_make(pconf, 4, sizeof(const char *));
    collect_request_headers(pconf, ap_conftree);
    setenvif_module_p = ap_find_linked_module("mod_setenvif.c");
    rewrite_module_p = ap_find_linked_module("mod_rewrite.c");
    headers_module_p = ap_find_linked_module("mod_headers.c");
    request_header_rules = server_rewrites = 0;
    find_derivers(pconf, ap_conftree, 0);
}

/* Has a section (a <Location>, <Directory>, .htaccess ...) given r rules
 * of module m beyond the virtual host's own? */
static int section_rules(const request_rec *r, module *m)
{
    return m
           && ap_get_module_config(r->per_dir_config, m)
                  != ap_get_module_config(r->server->lookup_defaults, m);
}

static const char *htaccess_request_headers(request_rec *r,
                                            apr_array_header_t *out);

const char *sc_request_rules_reach(request_rec *r)
{
    core_dir_config *cr = ap_get_core_module_config(r->per_dir_config);
    apr_array_header_t *named;
    const char *why;

    if (server_rewrites) {
        return "a server-level RewriteRule without [NS] applies to it";
    }
    if (section_rules(r, setenvif_module_p)) {
        return "SetEnvIf rules of a section";
    }
    if (section_rules(r, rewrite_module_p)) {
        return "RewriteRules of a section";
    }
    if (request_header_rules) {
        return "a RequestHeader that depends on the request";
    }
    if (cr && cr->sec_if && cr->sec_if->nelts) {
        return "<If> sections";
    }
    named = apr_array_make(r->pool, 2, sizeof(const char *));
    why = htaccess_request_headers(r, named);
    if (why || named->nelts) {
        return "RequestHeader rules of an .htaccess file";
    }
    return NULL;
}

/* The header names RequestHeader lines name in the .htaccess files httpd
 * read for r (the start-up walk cannot see them), read again here as
 * httpd itself reads them for every request; why they cannot be known,
 * or NULL.  Continuation lines are joined; a NUL ends a line. */
static const char *htaccess_text_headers(request_rec *r, char *text,
                                         apr_size_t len,
                                         apr_array_header_t *out)
{
    apr_size_t i, j;
    char *line, *last;

    for (i = 0; i < len; i++) {
        if (text[i] == '\0' || text[i] == '\r') {
            text[i] = '\n';
        }
    }
    /* "\" at the end of a line continues it */
    for (i = 0, j = 0; i < len; i++) {
        if (text[i] == '\\' && i + 1 < len && text[i + 1] == '\n') {
            i++;
            continue;
        }
        text[j++] = text[i];
    }
    text[j] = '\0';
    for (line = apr_strtok(text, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        const char *args = line;
        char *word = ap_getword_conf(r->pool, &args);
        if (!strcasecmp(word, "Use") || !strcasecmp(word, "Include")
            || !strcasecmp(word, "IncludeOptional")) {
            return "an .htaccess file includes text the module cannot read";
        }
        if (!strcasecmp(word, "RequestHeader")) {
            (void)ap_getword_conf(r->pool, &args); /* the action */
            word = ap_getword_conf(r->pool, &args);
            if (*word) {
                ap_str_tolower(word);
                APR_ARRAY_PUSH(out, const char *) = word;
            }
        }
    }
    return NULL;
}

static const char *htaccess_request_headers(request_rec *r,
                                            apr_array_header_t *out)
{
    core_server_config *sc = ap_get_core_module_config(
        r->server->module_config);
    const struct htaccess_result *h;

    for (h = r->htaccess; h; h = h->next) {
        const char *names = sc->access_name;
        char *name;

        if (!h->htaccess || !h->dir) {
            continue; /* no file there */
        }
        while (*(name = ap_getword_conf(r->pool, &names))) {
            apr_file_t *f;
            apr_finfo_t fi;
            apr_size_t len;
            char *text;
            const char *why;
            const char *path = apr_pstrcat(r->pool, h->dir, name, NULL);

            if (apr_file_open(&f, path, APR_READ, 0, r->pool) != APR_SUCCESS) {
                continue; /* httpd did not read it either */
            }
            if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS
                || fi.size > 4 * 1024 * 1024) {
                apr_file_close(f);
                return "an .htaccess file too large to read again";
            }
            len = (apr_size_t)fi.size;
            text = apr_palloc(r->pool, len + 1);
            if (apr_file_read_full(f, text, len, &len) != APR_SUCCESS
                && len != (apr_size_t)fi.size) {
                apr_file_close(f);
                return "an .htaccess file that could not be read again";
            }
            apr_file_close(f);
            why = htaccess_text_headers(r, text, len, out);
            if (why) {
                return why;
            }
        }
    }
    return NULL;
}

/* Where httpd routes r beyond its URI: a server-level RewriteRule without
 * [PT] changes the file (and may set a type or handler), not r->uri; an
 * <If> section may add filters, options or a type.  Which <If> sections
 * hold for r, the rewritten file (below the document root) and handler
 * go into the key, with the headers RequestHeader directives name.
 * Returns why the key cannot be made (an .htaccess file that cannot be
 * read again), or NULL. */
static const char *add_route_state(request_rec *r, sc_key_t *k)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    const char *rw = apr_table_get(r->notes, "mod_rewrite_rewritten");
    apr_array_header_t *named;
    const char *why;
    int i;

    if (rw && strcmp(rw, "0") && r->filename) {
        const char *root = ap_document_root(r);
        apr_size_t n = strlen(root);
        const char *f = r->filename;
        if (n && !strncmp(f, root, n)) {
            f += n;
        }
        sc_key_add(k, 'f', "file", f);
        sc_key_add(k, 'f', "handler", r->handler);
    }
    for (i = 0; cd && cd->sec_if && i < cd->sec_if->nelts; i++) {
        ap_conf_vector_t *sec = APR_ARRAY_IDX(cd->sec_if, i,
                                              ap_conf_vector_t *);
        core_dir_config *c = ap_get_core_module_config(sec);
        const char *err = NULL;
        int rc;

        if (!c || !c->condition) {
            continue; /* <Else>: what came before decides it */
        }
        rc = ap_expr_exec(r, c->condition, &err);
        sc_key_add(k, 'i',
                   apr_psprintf(r->pool, "%s:%d", c->condition->filename,
                                c->condition->line_number),
                   err  ? "error"
                   : rc ? "1"
                        : "0");
    }
    named = apr_array_make(r->pool, 4, sizeof(const char *));
    if (configured_headers) {
        apr_array_cat(named, configured_headers);
    }
    why = htaccess_request_headers(r, named);
    for (i = 0; i < named->nelts; i++) {
        const char *n = APR_ARRAY_IDX(named, i, const char *);
        sc_key_add(k, 'q', n, apr_table_get(r->headers_in, n));
    }
    return why;
}

/* The variables set for r and the request headers that differ from what
 * the client sent, into the key. */
static void add_derived_state(request_rec *r, sc_key_t *k)
{
    const request_rec *top = r;
    derived_t dv;
    void *sent = NULL;

    while (top->main) {
        top = top->main;
    }
    top = sc_client_request(top);
    apr_pool_userdata_get(&sent, SENT, top->pool);
    dv.r = r;
    dv.sent = sent;
    dv.pairs = apr_array_make(r->pool, 4, sizeof(sc_header_t));
    apr_table_do(derived_env, &dv, r->subprocess_env, NULL);
    add_derived(r, k, 'e', dv.pairs);
    dv.pairs = apr_array_make(r->pool, 4, sizeof(sc_header_t));
    if (dv.sent) {
        apr_table_do(derived_header, &dv, r->headers_in, NULL);
    }
    add_derived(r, k, 'd', dv.pairs);
}

/* Level 1 of the key: the URL as the client sent it and as httpd routed
 * it, and the locations' variance. */
const char *sc_build_key(request_rec *r, sc_req_t *ctx)
{
    const sc_dir_conf_t *d = ctx->dconf;
    const char *prefix = ctx->sconf->prefix;
    const char *cookies = apr_table_get(r->headers_in, "Cookie");
    const request_rec *client = sc_client_request(r);
    sc_key_t *k = &ctx->key1;
    sc_key_request_t rq;
    request_rec *q;
    const char *why;
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
    sc_gen_init(r->pool, prefix,
                sc_key_dep(r->pool, SC_DEP_NAMESPACE, d->namespace),
                &ctx->gens[SC_GEN_NAMESPACE]);
    sc_gen_init(r->pool, prefix, SC_DEP_SERVER_NAME, &ctx->gens[SC_GEN_SERVER]);
    rq.url = url;
    rq.ignore = d->ignore_query;
    rq.vhost = sc_key_vhost(r->pool, r->server->server_hostname, url.port);
    rq.vhost_addresses = vhost_addresses(r);
    /* The Host header exactly as sent: the application sees all of it
     * (port, trailing dot, case) and may reflect it into the page. */
    rq.host = apr_table_get(r->headers_in, "Host");
    /* Where httpd routed it: after a rewrite ([PT] with a new query, a
     * front controller's internal redirect) the application answers for
     * this, and access control was applied to it.  A request that was not
     * rewritten routes where its target says, so this splits nothing. */
    rq.route_path = r->uri;
    rq.route_query = r->args;
    /* mod_proxy (ProxyPass, RewriteRule [P]): the backend it was sent to,
     * which a rewrite may choose by what the key does not hold. */
    rq.route_backend = r->proxyreq ? r->filename : NULL;
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
    add_derived_state(r, k);
    why = add_route_state(r, k);
    if (why) {
        return why;
    }
    ctx->key = sc_key_bytes(k, &ctx->key_len);
    ctx->entry_key = sc_key_digest(r->pool, ctx->sconf->prefix, SC_KIND_ENTRY,
                                   ctx->key, ctx->key_len);
    return NULL;
}

const char *sc_variant_key(request_rec *r, const sc_req_t *ctx,
                           const apr_array_header_t *names, apr_size_t *len)
{
    /* names were narrowed when stored (effective_vary in sc_capture.c):
     * a later configuration change can only miss. */
    return sc_key_variant(&ctx->key1, names, r->headers_in, len);
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
                         sc_decision_t status)
{
    const char *lm;
    apr_int64_t age = now - e->stored_at;
    sc_verdict_t v = { .fwd = SC_FWD_NONE };

    restore_headers(r, e);
    r->status = e->status;
    r->status_line = NULL;
    apr_table_setn(
        r->headers_out, "Age",
        apr_psprintf(r->pool, "%" APR_INT64_T_FMT, age < 0 ? 0 : age));
    lm = apr_table_get(r->headers_out, "Last-Modified");
    if (lm) {
        apr_time_t t = apr_date_parse_http(lm);
        if (t != APR_DATE_BAD) {
            r->mtime = t;
        }
    }
    ap_set_content_length(r, (apr_off_t)e->body_len);
    v.has_ttl = 1;
    v.ttl = e->fresh_until - now;
    v.collapsed = ctx->collapsed;
    sc_set_status(r, ctx->dconf, status, &v);
}

ap_filter_t *sc_hit_filters(request_rec *r)
{
    ap_filter_t *f = r->output_filters;

    /* The chain ends in the protocol and connection filters, after any
     * content filter: there is always one. */
    while (f->next && f->frec->ftype <= SC_SAVE_FTYPE) {
        f = f->next;
    }
    return f;
}

apr_status_t sc_pass_restored(request_rec *r, ap_filter_t *next,
                              apr_bucket_brigade *bb)
{
    apr_time_t received = r->request_time;
    const char *date = apr_table_get(r->headers_out, "Date");
    apr_int64_t t;
    apr_status_t rv;

    /* httpd dates a response it did not proxy with r->request_time
     * (HTTP_HEADER and mod_http2 alike): for this pass, which carries the
     * whole response and its EOS, that is the stored Date.  A proxied
     * request keeps the Date of headers_out as it is. */
    if (date && r->proxyreq == PROXYREQ_NONE
        && sc_policy_http_date(date, apr_time_sec(received), &t)) {
        r->request_time = apr_time_from_sec(t);
    }
    rv = ap_pass_brigade(next, bb);
    r->request_time = received;
    return rv;
}

int sc_handler_reports_broken_body(const request_rec *r)
{
    const char *h = r->handler, *ct = r->content_type;
    apr_size_t n;

    /* Files (the default handler, with or without INCLUDES; mod_asis) end
     * a broken body with an error bucket, and so does mod_proxy_http for a
     * body framed by the backend (sc_origin_framed).  mod_wsgi's daemon
     * mode, CGI (mod_cgi, mod_cgid), PHP, FastCGI and the rest end it like
     * a whole one. */
    if (!h || !strcmp(h, "default-handler") || !strcmp(h, "send-as-is")) {
        return 1;
    }
    if (!strcmp(h, "proxy-server") || !strncmp(h, "proxy:", 6)) {
        return sc_origin_framed(r);
    }
    /* Without a handler of its own, httpd names the handler after the
     * content type of the file (the default handler serves it); a module
     * that produced the content has a name of its own, or changed the
     * type (PHP's application/x-httpd-php answers text/html). */
    if (!ct || !strchr(h, '/')) {
        return 0;
    }
    n = strlen(h);
    return !strncasecmp(ct, h, n)
           && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* What the policy decides on: a response's final headers (out) and the
 * settings of its location (d; NULL: the headers only). */
void sc_policy_input(request_rec *r, apr_table_t *out, const sc_dir_conf_t *d,
                     sc_policy_in_t *in)
{
    memset(in, 0, sizeof(*in));
    in->status = r->status;
    in->cache_control = apr_table_getm(r->pool, out, "Cache-Control");
    in->surrogate_control = apr_table_getm(r->pool, out, "Surrogate-Control");
    in->cdn_cache_control = apr_table_getm(r->pool, out, "CDN-Cache-Control");
    in->expires = sc_origin_field(r, out, "Expires");
    in->date = sc_origin_field(r, out, "Date");
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
