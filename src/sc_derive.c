/*
 * sc_derive.c: what httpd's configuration derived from the request, into
 * the key.  SetEnvIf, BrowserMatch, RewriteRule [E=] (with [NV] httpd adds
 * no Vary), SetEnv inside <If> and RequestHeader compute what the
 * application gets from the request: a variable, a header added or
 * changed.  Whatever of it the application reads is part of its page, so
 * all of it is part of the key (a request that derives nothing keys as
 * before); so is where httpd routed it beyond its URI (a rewritten file,
 * the <If> sections that hold, the headers RequestHeader names).
 */
#include "sc_request.h"

#include "http_core.h"
#include "http_log.h"
#include "http_ssl.h"
#include "mod_ssl.h"
#include "util_script.h"
#include <apr_lib.h>
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(sharedcache);

#define SENT "sharedcache-sent-headers"

int sc_derive_arrived(request_rec *r)
{
    /* (the quick-mode probe's anonymous copy has a pool of its own) */
    if (!r->main && !r->prev) {
        apr_pool_userdata_setn(apr_table_copy(r->pool, r->headers_in), SENT,
                               NULL, r->pool);
    }
    return DECLINED;
}

/* Variables that differ on every request or connection whatever the
 * configuration (a key holding them would never hit; mod_include's clock
 * among them), restate the URL
 * (mod_rewrite's), or are ours. */
static int env_unkeyed(const char *name)
{
    static const char *const not_derived[] = { "UNIQUE_ID",
                                               "H2_STREAM_ID",
                                               "H2_STREAM_TAG",
                                               "H2_PUSHED_ON",
                                               "SSL_SESSION_ID",
                                               "SSL_SESSION_RESUMED",
                                               "SCRIPT_URL",
                                               "SCRIPT_URI",
                                               "DATE_LOCAL",
                                               "DATE_GMT",
                                               NULL };
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

int sc_derive_name_unkeyed(const char *name)
{
    return env_unkeyed(name) || !strcmp(name, "HTTPS")
           || !strncmp(name, "SSL_", 4);
}

/* mod_ssl's variables (HTTPS, SSL_*) say what the connection is, not
 * what the request asked: not keyed when they hold what mod_ssl reports
 * for this TLS connection, not empty (a SetEnvIf that sets HTTPS=on from
 * a header on a plain connection is keyed; mod_ssl reports "" for a name
 * it does not know and, on a plain connection, sets none: an SSL_STAFF
 * the configuration sets empty for some clients is theirs). */
static APR_OPTIONAL_FN_TYPE(ssl_var_lookup) * ssl_var;

static int connection_fact(request_rec *r, const char *name, const char *value)
{
    const char *is;

    if ((strcmp(name, "HTTPS") && strncmp(name, "SSL_", 4)) || !*value
        || !ap_ssl_conn_is_ssl(r->connection)) {
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

apr_table_t *sc_derive_env_at_handler(const request_rec *r)
{
    return env_snapshot(r, ENV_AT_HANDLER);
}

void sc_derive_env_snapshot(request_rec *r, sc_env_when_t when)
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
/* The CGI variables r's handler sets from r itself (ap_add_common_vars,
 * ap_add_cgi_vars), computed on a copy of r: a value r inherited that
 * these give again, the same, comes from r's own request.  (PATH_INFO
 * and PATH_TRANSLATED are left out: the latter takes a lookup.) */
static apr_table_t *own_cgi_vars(request_rec *r)
{
    request_rec copy = *r;

    copy.subprocess_env = apr_table_make(r->pool, 32);
    copy.path_info = "";
    ap_add_common_vars(&copy);
    ap_add_cgi_vars(&copy);
    return copy.subprocess_env;
}

static int config_derived(const request_rec *r, const char *name,
                          const char *value, apr_table_t *own)
{
    apr_table_t *t;

    if (!strncmp(name, "REDIRECT_", 9) && r->prev) {
        return config_derived(r->prev, name + 9, value, NULL);
    }
    /* Inherited from the page: whatever reached the page after its
     * handler began (mod_include's DOCUMENT_URI, its #set variables, the
     * page's PATH_INFO and its HTTP_* of headers this request no longer
     * has) reaches the fragment's handler too, so it is keyed; only what
     * the fragment's handler sets again, to the same value, from its own
     * request is not (own: those values, for r itself). */
    t = r->main ? env_snapshot(r, ENV_INHERITED) : NULL;
    if (t && env_has(t, name, value)) {
        return !own || !env_has(own, name, value);
    }
    t = env_snapshot(r, ENV_AT_HANDLER);
    return !t || env_has(t, name, value);
}

typedef struct {
    request_rec *r;
    apr_array_header_t *pairs; /* of sc_header_t */
    apr_table_t *sent;         /* what the client sent, or NULL */
    apr_table_t *own;          /* a subrequest's own CGI variables */
} derived_t;

/* Is env (HTTP_X_SITE) the CGI variable of the header name (X-Site:
 * upper case, '_' for anything but letters and digits; CONTENT_TYPE and
 * CONTENT_LENGTH those of Content-Type and Content-Length)? */
static int cgi_name_of(const char *env, const char *name)
{
    if (!strcmp(env, "CONTENT_TYPE") || !strcmp(env, "CONTENT_LENGTH")) {
        return !strncasecmp(name, "Content-", 8)
               && !strcasecmp(env + 8, name + 8);
    }
    if (strncmp(env, "HTTP_", 5)) {
        return 0;
    }
    for (env += 5; *env && *name; env++, name++) {
        if (*env != (apr_isalnum(*name) ? apr_toupper(*name) : '_')) {
            return 0;
        }
    }
    return !*env && !*name;
}

typedef struct {
    derived_t *dv;
    const char *env;
} shadow_t;

/* A request header whose CGI variable is shadow->env: httpd gives the
 * application its value in place of the configured one (mod_wsgi,
 * mod_cgi and mod_proxy_fcgi get ap_add_common_vars' variables). */
static int shadowing_header(void *data, const char *name, const char *value)
{
    shadow_t *sh = data;
    sc_header_t *h;

    if (cgi_name_of(sh->env, name)) {
        h = apr_array_push(sh->dv->pairs);
        h->name = apr_pstrcat(sh->dv->r->pool, sh->env, " from ", name, NULL);
        h->value = value;
    }
    return 1;
}

static int derived_env(void *data, const char *name, const char *value)
{
    derived_t *dv = data;
    sc_header_t *h;

    if (!env_unkeyed(name) && !connection_fact(dv->r, name, value)
        && config_derived(dv->r, name, value, dv->own)) {
        shadow_t sh = { dv, name };
        h = apr_array_push(dv->pairs);
        h->name = name;
        h->value = value;
        apr_table_do(shadowing_header, &sh, dv->r->headers_in, NULL);
    }
    return 1;
}

/* Is an entry of the headers as sent the very one (the same string: the
 * snapshot shares them) the request now has?  One the configuration set
 * again, even to the same value, is not: the application gets the
 * configuration's, whatever the client sends. */
static int was_sent(void *data, const char *name, const char *value)
{
    const char **want = data;

    (void)name;
    if (value == want[1]) {
        want[0] = NULL; /* found */
        return 0;
    }
    return 1;
}

int sc_derive_header_sent(request_rec *r, const char *name, const char *value)
{
    const request_rec *top = r;
    void *sent = NULL;
    const char *want[2] = { name, value };

    while (top->main) {
        top = top->main;
    }
    top = sc_client_request(top);
    apr_pool_userdata_get(&sent, SENT, top->pool);
    if (!sent) {
        return 1;
    }
    apr_table_do(was_sent, (void *)want, sent, name, NULL);
    return want[0] == NULL;
}

/* Replace each occurrence of what (what_len > 0) in value by mark. */
static const char *replace_all(apr_pool_t *p, const char *value,
                               const char *what, apr_size_t what_len,
                               const char *mark)
{
    const char *at = strstr(value, what);
    char *out = "";

    if (!at) {
        return value;
    }
    for (; at; value = at + what_len, at = strstr(value, what)) {
        out = apr_pstrcat(p, out,
                          apr_pstrmemdup(p, value, (apr_size_t)(at - value)),
                          mark, NULL);
    }
    return apr_pstrcat(p, out, value, NULL);
}

/* A header's value as the key holds it: the request's own per-request
 * values in it (what mod_headers' %{UNIQUE_ID}e and %t give: tracing
 * recipes set X-Request-Id and X-Request-Start from them) are keyed as a
 * mark, as the variables themselves are not keyed (env_unkeyed): a key
 * holding them would never hit.  The rest of the value is keyed as it is.
 * A mark holds a control byte, which httpd refuses in what a client sends;
 * a client that sends one anyway gets the page of the mark, which is what
 * the application saw. */
static const char *per_request_marked(request_rec *r, const char *value)
{
    const char *id = apr_table_get(r->subprocess_env, "UNIQUE_ID");
    char t[32];

    if (!value) {
        return NULL;
    }
    /* (mod_unique_id's ids are 19 or more characters, no substring of a
     * value by chance) */
    if (id && strlen(id) >= 19) {
        value = replace_all(r->pool, value, id, strlen(id),
                            "\001UNIQUE_ID\001");
    }
    apr_snprintf(t, sizeof(t), "t=%" APR_TIME_T_FMT, r->request_time);
    return replace_all(r->pool, value, t, strlen(t), "t=\001request-time\001");
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
        h->value = per_request_marked(dv->r, value);
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

/* Where httpd routes r beyond its URI: a server-level RewriteRule without
 * [PT] changes the file (and may set a type or handler), not r->uri; an
 * <If> section may add filters, options or a type.  Which <If> sections
 * hold for r, the rewritten file (below the document root) and handler
 * go into the key, with the headers RequestHeader directives name.
 * Returns why the key cannot be made (an .htaccess file that cannot be
 * read again), or NULL. */
static const char *const rewrite_forced[] = { "rewrite-forced-mimetype",
                                              "rewrite-forced-handler" };

/* Were r's file and handler chosen by more than its URL: by a rewrite, or
 * in a server where an expression picks them (sc_server_conf_t)? */
static int routed_beyond_url(request_rec *r)
{
    const char *rw = apr_table_get(r->notes, "mod_rewrite_rewritten");
    const sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                                     &sharedcache_module);

    return (rw && strcmp(rw, "0")) || (s && s->expr_routes);
}

#define IF_HELD "sharedcache-if-held"

/* Which <If> sections hold for r, "file:line=1 ..." ("error" for a
 * condition that fails), evaluated now. */
static const char *if_sections_held(request_rec *r)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    const char *held = "";
    int i;

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
        held = apr_psprintf(r->pool, "%s%s:%d=%s ", held,
                            c->condition->filename, c->condition->line_number,
                            err  ? "error"
                            : rc ? "1"
                                 : "0");
    }
    return held;
}

int sc_derive_if_noted(request_rec *r)
{
    const sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                                  &sharedcache_module);

    if (d && d->enabled == 1 && !apr_table_get(r->notes, IF_HELD)) {
        apr_table_setn(r->notes, IF_HELD, if_sections_held(r));
    }
    return DECLINED;
}

static const char *add_route_state(request_rec *r, sc_key_t *k)
{
    const char *held;
    apr_array_header_t *named;
    const char *why;
    int i;

    if (routed_beyond_url(r) && r->filename) {
        const char *root = ap_document_root(r);
        apr_size_t n = strlen(root);
        const char *f = r->filename;
        if (n && !strncmp(f, root, n)) {
            f += n;
        }
        sc_key_add(k, 'f', "file", f);
        sc_key_add(k, 'f', "handler", r->handler);
    }
    /* RewriteRule [T=] and [H=] (also with "-" as the substitution, and
     * in a directory): a type or handler chosen by the rule's conditions,
     * which may read the client's address or an unkeyed header. */
    for (i = 0; i < 2; i++) {
        const char *forced = apr_table_get(r->notes, rewrite_forced[i]);
        if (forced) {
            sc_key_add(k, 'f', rewrite_forced[i], forced);
        }
    }
    /* which <If> sections hold, as httpd decided before fixups
     * (RequestHeader may change the headers they read after), or where
     * no fixup ran (the quick phase) as they hold now */
    held = apr_table_get(r->notes, IF_HELD);
    if (!held) {
        held = if_sections_held(r);
    }
    if (*held) {
        sc_key_add(k, 'i', "if", held);
    }
    named = apr_array_make(r->pool, 4, sizeof(const char *));
    why = sc_rules_request_headers(r, named);
    for (i = 0; i < named->nelts; i++) {
        const char *n = APR_ARRAY_IDX(named, i, const char *);
        sc_key_add(k, 'q', n,
                   per_request_marked(r, apr_table_get(r->headers_in, n)));
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
    /* (an ESI include inherits only what configuration set: all keyed) */
    dv.own = r->main && !sc_esi_include(r) ? own_cgi_vars(r) : NULL;
    dv.pairs = apr_array_make(r->pool, 4, sizeof(sc_header_t));
    apr_table_do(derived_env, &dv, r->subprocess_env, NULL);
    add_derived(r, k, 'e', dv.pairs);
    dv.pairs = apr_array_make(r->pool, 4, sizeof(sc_header_t));
    if (dv.sent) {
        apr_table_do(derived_header, &dv, r->headers_in, NULL);
    }
    add_derived(r, k, 'd', dv.pairs);
}

/* The request line a subrequest inherited from its page (httpd copies
 * it): its handler reads REQUEST_URI from it.  An ESI include gets a line
 * of its own (sc_include.c), an SSI include the page's.  NULL where r's
 * line is its own (or r is no subrequest). */
static const char *inherited_line(const request_rec *r)
{
    const char *line = r->the_request, *sp, *target;
    apr_size_t n;

    if (!r->main || !line || !(sp = strchr(line, ' '))) {
        return NULL;
    }
    target = sp + 1;
    n = r->unparsed_uri ? strlen(r->unparsed_uri) : 0;
    if (r->unparsed_uri && !strncmp(target, r->unparsed_uri, n)
        && (target[n] == ' ' || target[n] == '\0')) {
        return NULL; /* its own */
    }
    return line;
}

static void add_request_line(request_rec *r, sc_key_t *k)
{
    const char *line = inherited_line(r);

    if (line) {
        sc_key_add(k, 't', "request-line", line);
    }
}

int sc_derive_url_free(request_rec *r)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    int i;

    /* a redirect's variables (REDIRECT_*), a subrequest's own CGI ones,
     * a request line of another request */
    if (r->prev || (r->main && !sc_esi_include(r)) || inherited_line(r)) {
        return 0;
    }
    /* a rewrite's or an expression's file, type or handler; <If>
     * sections, the .htaccess files of r's directories (add_route_state) */
    if (r->htaccess || apr_table_get(r->notes, "mod_rewrite_rewritten")
        || routed_beyond_url(r)) {
        return 0;
    }
    for (i = 0; i < 2; i++) {
        if (apr_table_get(r->notes, rewrite_forced[i])) {
            return 0;
        }
    }
    return !(cd && cd->sec_if && cd->sec_if->nelts);
}

const char *sc_derive_key(request_rec *r, sc_key_t *k)
{
    add_derived_state(r, k);
    add_request_line(r, k);
    return add_route_state(r, k);
}
