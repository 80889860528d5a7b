/*
 * sc_bypass.c: the first stage of a request.  Owns the rules that keep a
 * request away from the cache altogether (credentials, a body, an upgrade,
 * reflected headers, untrustworthy cookies); each rule is one line of the
 * README's "What is never shared".
 */
#include "sc_request.h"

#include "http_core.h"
#include "http_ssl.h"
#include "http_protocol.h"
#include "mod_auth.h"
#include "ap_provider.h"
#include <apr_lib.h>
#include <apr_strings.h>

/* Request headers that applications, frameworks and proxies commonly
 * reflect into pages (host, scheme, client address, method and URL
 * overrides; all mod_wsgi's WSGITrustedProxyHeaders accepts), in lower
 * case.  A request carrying one, in this spelling or
 * with '_' for '-' (mod_proxy forwards those, many WSGI servers read them
 * as dashes), bypasses the cache unless the location keys on exactly that
 * header (SharedCacheVaryByHeader); SharedCacheBypassHeader adds more. */
static const char *const reflected[] = { "forwarded",
                                         "x-forwarded-host",
                                         "x-forwarded-proto",
                                         "x-forwarded-scheme",
                                         "x-forwarded-server",
                                         "x-forwarded-port",
                                         "x-forwarded-prefix",
                                         "x-forwarded-for",
                                         "x-forwarded-ssl",
                                         "x-forwarded-uri",
                                         "x-forwarded-path",
                                         "x-forwarded-protocol",
                                         "x-host",
                                         "x-original-host",
                                         "x-original-url",
                                         "x-original-uri",
                                         "x-rewrite-url",
                                         "x-http-method-override",
                                         "x-http-method",
                                         "x-method-override",
                                         "x-real-ip",
                                         "x-client-ip",
                                         "x-cluster-client-ip",
                                         "true-client-ip",
                                         "cf-connecting-ip",
                                         "fastly-client-ip",
                                         "x-url-scheme",
                                         "front-end-https",
                                         "x-scheme",
                                         "x-script-name",
                                         "x-forwarded-script-name",
                                         "x-forwarded-https",
                                         "x-https",
                                         "client-ip",
                                         "x-forwarded",
                                         "forwarded-for",
                                         "cf-visitor",
                                         "x-proxied-https",
                                         NULL };

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
    request_rec *r;
    const sc_dir_conf_t *d;
    const char *found;
} reflect_scan_t;

/* Is the header one of those that bypass: spelled with '_', or on the
 * reflected list (or SharedCacheBypassHeader's) and not keyed? */
static int bypassing_header(const reflect_scan_t *scan, const char *name)
{
    const char *const *h;
    char buf[SC_HEADER_NAME_MAX + 1], exact[SC_HEADER_NAME_MAX + 1];
    const char *k = header_key(name, buf, sizeof(buf));

    /* A name spelled with '_': mod_proxy forwards it, and WSGI servers,
     * PHP and others read it as the dashed header that may be keyed or
     * reflected (X_Forwarded_Host, Accept_Language, SCRIPT_NAME for
     * gunicorn).  Browsers never send one. */
    if (strchr(name, '_')) {
        return 1;
    }
    if (!k) {
        return 0;
    }
    for (h = reflected; *h && strcmp(*h, k); h++) {
    }
    if (!*h && !in_list(scan->d->bypass_headers, k)) {
        return 0;
    }
    /* Keyed only under its exact spelling: X_Forwarded_Host is not in a
     * key that holds X-Forwarded-Host. */
    apr_cpystrn(exact, name, sizeof(exact));
    ap_str_tolower(exact);
    return !(!strcmp(exact, k) && in_list(scan->d->vary_headers, k));
}

static int reflected_header(void *data, const char *name, const char *value)
{
    reflect_scan_t *scan = data;

    /* ... as the client sent it: one the configuration set or changed
     * (RequestHeader: X-Forwarded-Proto behind a TLS proxy) is in the
     * key, as derived */
    if (bypassing_header(scan, name)
        && sc_derive_header_sent(scan->r, name, value)) {
        scan->found = name;
        return 0;
    }
    return 1;
}

int sc_client_certificate(request_rec *r)
{
    const char *v;

    if (!ap_ssl_conn_is_ssl(r->connection)) {
        return 0;
    }
    v = ap_ssl_var_lookup(r->pool, r->server, r->connection, r,
                          "SSL_CLIENT_VERIFY");
    return v && *v && strcmp(v, "NONE");
}

/* Is the request asking to switch protocols (a WebSocket handshake)? */
static int upgrading(request_rec *r)
{
    const char *conn = apr_table_get(r->headers_in, "Connection");

    return apr_table_get(r->headers_in, "Upgrade")
           || (conn && ap_find_token(r->pool, conn, "upgrade"));
}

/* Does the client name a header in Connection (beyond the connection's
 * own options)?  Such a header is hop-by-hop: mod_proxy drops it before
 * asking the backend (RFC 9110 7.6.1), so a key holding its value would
 * hold what the backend never saw. */
static int names_header_in_connection(request_rec *r)
{
    static const char *const options[] = { "close",   "keep-alive",     "te",
                                           "upgrade", "http2-settings", NULL };
    const char *conn = apr_table_getm(r->pool, r->headers_in, "Connection");
    char *list = conn ? apr_pstrdup(r->pool, conn) : NULL;
    char *tok, *last;

    for (tok = list ? apr_strtok(list, ", \t", &last) : NULL; tok;
         tok = apr_strtok(NULL, ", \t", &last)) {
        const char *const *o;
        for (o = options; *o && strcasecmp(tok, *o); o++) {
        }
        if (!*o) {
            return 1;
        }
    }
    return 0;
}

/* reason, with *detail set to its token. */
static const char *why(const char **detail, const char *token,
                       const char *reason)
{
    *detail = token;
    return reason;
}

/* Is r->user a name mod_authn_anon accepts where r is ("Anonymous guest",
 * "Anonymous *")?  Every visitor may give it: it is no one's identity, and
 * what tells visitors apart, the e-mail address sent as the password, is
 * what an application that reads the credentials sees.  Asked of its
 * provider on a copy of r that is not an initial request (it logs the
 * address it accepts of those only); a name it does not know is
 * AUTH_USER_NOT_FOUND whatever the password. */
static int anonymous_user(request_rec *r)
{
    const authn_provider *anon;
    request_rec probe;

    anon = ap_lookup_provider(AUTHN_PROVIDER_GROUP, "anon",
                              AUTHN_PROVIDER_VERSION);
    if (!anon || !anon->check_password || !r->user) {
        return 0;
    }
    probe = *r;
    probe.prev = r;
    return anon->check_password(&probe, r->user, "") != AUTH_USER_NOT_FOUND;
}

/* Is name ("proxy:URL", a handler or a file name mod_proxy reads) one
 * for a FastCGI server or a balancer, whose members may be FastCGI
 * servers?  A unix socket's URL ("unix:/path|fcgi://host/") is told by
 * the URL after its '|', as mod_proxy does. */
static int fastcgi_url(const char *name)
{
    const char *url, *bar;

    if (!name || strncasecmp(name, "proxy:", 6)) {
        return 0;
    }
    url = name + 6;
    if (!strncasecmp(url, "unix:", 5)) {
        bar = strchr(url, '|');
        if (!bar) {
            return 0;
        }
        url = bar + 1;
    }
    return !strncasecmp(url, "fcgi://", 7)
           || !strncasecmp(url, "balancer://", 11);
}

/* Does r go to mod_proxy_fcgi: ProxyPass, mod_rewrite's [P] or [H=],
 * SetHandler "proxy:fcgi://..." or "proxy:unix:...|fcgi://..." (the
 * PHP-FPM recipes), or a balancer?  (Unknown before translation: quick
 * mode's phase, which serves only what the normal phase stored.) */
static int fastcgi(const request_rec *r)
{
    return fastcgi_url(r->handler) || fastcgi_url(r->filename);
}

/* Who the client is, where a key cannot hold it: credentials, a user,
 * a client certificate (a location keyed on the authenticated user holds
 * one httpd authenticated). */
static const char *identity_reason(request_rec *r, const sc_dir_conf_t *d,
                                   const char **detail)
{
    /* Credentials: only a location keyed on the authenticated user may
     * cache them, and only once httpd has authenticated someone. */
    if (apr_table_get(r->headers_in, "Authorization")
        && !(d->vary_user && r->user)) {
        return why(detail, "authorization", "request has Authorization");
    }
    /* Authenticated without Authorization (TLS client certificates with
     * SSLUserName, Kerberos, form login): the same rule. */
    if (r->user && d->vary_user != 1) {
        return why(detail, "authenticated",
                   "request is authenticated (r->user)");
    }
    if (r->user && anonymous_user(r)) {
        return why(detail, "anonymous-user",
                   "its user name is one mod_authn_anon accepts");
    }
    /* A client certificate, verified or not, identifies the client even
     * without SSLUserName (applications read SSL_CLIENT_S_DN_*
     * themselves). */
    if (!(d->vary_user == 1 && r->user) && sc_client_certificate(r)) {
        return why(detail, "client-certificate",
                   "request carries a client certificate");
    }
    return NULL;
}

/* Why this request may not use the cache at all, or NULL.  Each rule is
 * one line of the README's "What is never shared". */
static const char *own_bypass_reason(request_rec *r, const sc_dir_conf_t *d,
                                     const char **detail)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    const char *cookies = apr_table_get(r->headers_in, "Cookie");
    const char *reason;
    reflect_scan_t scan;
    int i;

    const sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                                     &sharedcache_module);

    if (apr_table_get(r->subprocess_env, "no-sharedcache")) {
        return why(detail, "no-sharedcache-env", "no-sharedcache is set");
    }
    /* Code run before the handler (mod_lua's hooks) may route or change
     * the request by anything it carries: no key holds that. */
    if (s && s->code_hook) {
        *detail = "code-hook";
        return apr_pstrcat(r->pool, s->code_hook, " may change the request",
                           NULL);
    }
    /* FastCGI parameters that ProxyFCGISetEnvIf makes from the request
     * inside mod_proxy_fcgi's handler, after the key was made. */
    if (fastcgi(r) && sc_rules_fcgi_env(r)) {
        return why(detail, "fcgi-env",
                   "ProxyFCGISetEnvIf may make its FastCGI parameters "
                   "from the request");
    }
    if ((reason = identity_reason(r, d, detail)) != NULL) {
        return reason;
    }
    /* A GET with a body: never cache (THREATS 11, 13). */
    if (apr_table_get(r->headers_in, "Transfer-Encoding")
        || (cl && strcmp(cl, "0") != 0)) {
        return why(detail, "request-body", "request has a body");
    }
    /* A WebSocket handshake is not a page. */
    if (upgrading(r)) {
        return why(detail, "upgrade", "request asks for a protocol upgrade");
    }
    if (names_header_in_connection(r)) {
        return why(detail, "connection-header",
                   "the request names a header in Connection");
    }
    /* An ErrorDocument's internal redirect carries the error status. */
    if (r->prev && ap_is_HTTP_ERROR(r->status)) {
        return why(detail, "error-document", "error document");
    }
    /* Cookies drive the key or the bypass here: a header that another
     * parser might read differently is not trusted. */
    if (cookies && (d->vary_cookies || d->bypass_cookies)
        && !sc_key_cookie_header_ok(cookies)) {
        return why(detail, "ambiguous-cookie",
                   "a Cookie header that parsers may read differently");
    }
    for (i = 0; cookies && d->bypass_cookies && i < d->bypass_cookies->nelts;
         i++) {
        if (sc_key_cookie(r->pool, cookies,
                          APR_ARRAY_IDX(d->bypass_cookies, i, const char *))) {
            return why(detail, "bypass-cookie",
                       "a SharedCacheBypassCookie is present");
        }
    }
    scan.r = r;
    scan.d = d;
    scan.found = NULL;
    apr_table_do(reflected_header, &scan, r->headers_in, NULL);
    if (scan.found) {
        return why(detail, "reflected-header",
                   "an unkeyed, commonly reflected header is present");
    }
    return NULL;
}

/* The bypass rules of every request of a chain of internal redirects: a
 * rule of the public URL's location (or an env var set there) holds for
 * the request it is redirected to as well. */
const char *sc_bypass_reason(request_rec *r, const sc_dir_conf_t *d,
                             const char **detail)
{
    const char *token = NULL;
    const char *reason = own_bypass_reason(r, d, &token);
    request_rec *q;

    for (q = r->prev; q && !reason; q = q->prev) {
        const sc_dir_conf_t *dq = ap_get_module_config(q->per_dir_config,
                                                       &sharedcache_module);
        if (dq) {
            reason = own_bypass_reason(q, dq, &token);
        }
    }
    if (detail) {
        *detail = token;
    }
    return reason;
}
