/*
 * sc_quickcheck.c: checks of the parsed configuration, walked at start-up
 * and under configtest.  SharedCacheQuickHandler serves hits before access
 * control: an administrator declares a <Location> public with it, and the
 * mistake of also protecting part of that space is made loud.  And
 * "SharedCache On" with no TTL anywhere above it stores only responses
 * that carry their own freshness (Django sends none): said once, with the
 * directive's line.
 */
#include "sc_config.h"
#include "sc_log.h"

#include "http_core.h"
#include "http_log.h"
#include "http_request.h"
#include "util_cfgtree.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

typedef struct {
    const ap_directive_t *section;
    const ap_directive_t *vhost; /* NULL: the main server */
    const char *path;            /* <Location> path, or NULL */
    const char *where;           /* "file:line" */
} sc_section_t;

static int is_section(const ap_directive_t *d, const char *name)
{
    return !strcasecmp(d->directive, name);
}

static const char *section_path(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args, *w;

    if (!is_section(d, "<Location")) {
        return NULL; /* <LocationMatch>: a regex, overlaps all */
    }
    w = ap_getword_conf(p, &args);
    if (*w && w[strlen(w) - 1] == '>') {
        return apr_pstrndup(p, w, strlen(w) - 1);
    }
    return w;
}

/* Access rules that let some clients in and not others (anything but
 * "Require all granted|denied"): authn/authz, IP, host, env, expr. */
static int restricts(apr_pool_t *p, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        const char *n = d->directive;
        if (!strcasecmp(n, "Require")) {
            const char *args = d->args;
            const char *w = ap_getword_conf(p, &args);
            const char *v = ap_getword_conf(p, &args);
            if (strcasecmp(w, "all")
                || (strcasecmp(v, "granted") && strcasecmp(v, "denied"))) {
                return 1;
            }
        }
        else if (!strcasecmp(n, "Allow") || !strcasecmp(n, "Deny")
                 || !strncasecmp(n, "Auth", 4) || !strcasecmp(n, "SSLRequire")
                 || !strncasecmp(n, "LuaHook", 7)) {
            return 1;
        }
        else if (d->first_child && restricts(p, d->first_child)) {
            return 1; /* <RequireAny>, <Limit> ... */
        }
    }
    return 0;
}

/* Require providers that only let clients in by what they have (an
 * address, a name, a user, a variable set for them): an anonymous client
 * has none of it and is refused, so the probe keeps such pages out of the
 * quick phase.  Any other provider ("not", "expr", an AuthzProviderAlias,
 * a module's own) may let the anonymous client in and refuse others. */
static int positive_provider(const char *name)
{
    static const char *const positive[] = {
        "all",         "ip",         "host",
        "forward-dns", "env",        "user",
        "group",       "valid-user", "file-owner",
        "file-group",  "local",      "method",
        "dbd-group",   "dbm-group",  "ldap-user",
        "ldap-group",  "ldap-dn",    "ldap-attribute",
        "ldap-filter", "ssl",        "ssl-verify-client",
        NULL
    };
    const char *const *n;

    for (n = positive; *n; n++) {
        if (!strcasecmp(name, *n)) {
            return 1;
        }
    }
    return 0;
}

static int is_conditional(const ap_directive_t *d)
{
    return is_section(d, "<If") || is_section(d, "<ElseIf")
           || is_section(d, "<Else");
}

/* Any access rule at all (Require, Allow, Deny, Satisfy), at any depth. */
static int has_access_rule(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "Require")
            || !strcasecmp(d->directive, "Allow")
            || !strcasecmp(d->directive, "Deny")
            || !strcasecmp(d->directive, "Satisfy")
            || (d->first_child && has_access_rule(d->first_child))) {
            return 1;
        }
    }
    return 0;
}

/* Rules that deny some clients by what they send or are (Require not,
 * Require expr, which may negate, Deny, <RequireNone>, any access rule
 * inside <If>, <ElseIf> or <Else>, whose condition may read the client):
 * an anonymous client lacks what they deny on, so the probe of
 * sc_quickprobe.c passes them, and quick mode would serve the clients
 * they deny. */
static int denies(apr_pool_t *p, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        const char *n = d->directive;
        if (is_conditional(d) && has_access_rule(d->first_child)) {
            return 1;
        }
        if (!strcasecmp(n, "Require")) {
            const char *args = d->args;
            if (!positive_provider(ap_getword_conf(p, &args))) {
                return 1;
            }
        }
        else if (!strcasecmp(n, "Deny") || !strcasecmp(n, "<RequireNone")
                 || !strcasecmp(n, "SSLRequire")
                 || !strncasecmp(n, "LuaHook", 7)
                 || !strcasecmp(n, "LuaAuthzProvider")
                 || !strcasecmp(n, "WSGIAccessScript")
                 || !strcasecmp(n, "WSGIAuthGroupScript")) {
            return 1;
        }
        else if (d->first_child && denies(p, d->first_child)) {
            return 1;
        }
    }
    return 0;
}

/* The first directive name of a list set to On, or NULL. */
static const ap_directive_t *sets_on(apr_pool_t *p, const ap_directive_t *d,
                                     const char *name)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, name)) {
            const char *args = d->args;
            if (!strcasecmp(ap_getword_conf(p, &args), "On")) {
                return d;
            }
        }
    }
    return NULL;
}

static const ap_directive_t *sets_quick(apr_pool_t *p, const ap_directive_t *d)
{
    return sets_on(p, d, "SharedCacheQuickHandler");
}

static const char *line_of(apr_pool_t *p, const ap_directive_t *d)
{
    return apr_psprintf(p, "%s:%d", d->filename, d->line_num);
}

static void collect(apr_pool_t *p, const ap_directive_t *d,
                    const ap_directive_t *vhost, apr_array_header_t *quick,
                    apr_array_header_t *guarded, apr_array_header_t *denying)
{
    const ap_directive_t *on;

    /* Quick mode for a whole server or virtual host covers every path;
     * messages name the directive's own line. */
    if (d && (on = sets_quick(p, d)) != NULL) {
        sc_section_t s;
        s.section = vhost ? vhost : d;
        s.vhost = vhost;
        s.path = "/";
        s.where = line_of(p, on);
        APR_ARRAY_PUSH(quick, sc_section_t) = s;
    }
    for (; d; d = d->next) {
        int loc = is_section(d, "<Location") || is_section(d, "<LocationMatch");
        int fs = is_section(d, "<Directory") || is_section(d, "<DirectoryMatch")
                 || is_section(d, "<Files") || is_section(d, "<FilesMatch");

        if (is_section(d, "<VirtualHost")) {
            collect(p, d->first_child, d, quick, guarded, denying);
            continue;
        }
        if (loc || fs) {
            sc_section_t s;
            s.section = d;
            s.vhost = vhost;
            s.path = loc ? section_path(p, d) : NULL;
            s.where = line_of(p, d);
            if (loc && (on = sets_quick(p, d->first_child)) != NULL) {
                sc_section_t q = s;
                q.where = line_of(p, on);
                APR_ARRAY_PUSH(quick, sc_section_t) = q;
            }
            if (restricts(p, d->first_child)) {
                APR_ARRAY_PUSH(guarded, sc_section_t) = s;
            }
            if (denying && denies(p, d->first_child)) {
                APR_ARRAY_PUSH(denying, sc_section_t) = s;
            }
        }
        /* outside <Location>, <Directory> and <Files>: a conditional
         * section's or a <Proxy> section's denials apply to any URL */
        if (denying && !loc && !fs
            && ((is_conditional(d) && has_access_rule(d->first_child))
                || ((is_section(d, "<Proxy") || is_section(d, "<ProxyMatch"))
                    && denies(p, d->first_child)))) {
            sc_section_t s;
            s.section = d;
            s.vhost = vhost;
            s.path = NULL;
            s.where = line_of(p, d);
            APR_ARRAY_PUSH(denying, sc_section_t) = s;
        }
        if (d->first_child && !loc && !fs) {
            collect(p, d->first_child, vhost, quick, guarded,
                    denying); /* <If...> */
        }
    }
}

static int overlap(const char *a, const char *b)
{
    if (!a || !b) {
        return 1; /* a regex: assume it may */
    }
    return !strncmp(a, b, strlen(a)) || !strncmp(b, a, strlen(b));
}

/* A RewriteCond whose test may differ from client to client (or over
 * time) for one URL: anything but the URL, the host and the server (an
 * expr= condition may read anything).  Request headers but Host, cookies,
 * the client's and the connection's address, TLS, the environment, the
 * time, lookaheads all count. */
static int cond_reads_client(const char *test)
{
    static const char *const same_for_all[] = {
        "REQUEST_URI",     "REQUEST_FILENAME", "SCRIPT_FILENAME",
        "QUERY_STRING",    "HTTP_HOST",        "SERVER_NAME",
        "SERVER_ADDR",     "SERVER_PORT",      "SERVER_ADMIN",
        "SERVER_PROTOCOL", "SERVER_SOFTWARE",  "DOCUMENT_ROOT",
        "REQUEST_SCHEME",  "REQUEST_METHOD",   "PATH_INFO",
        "IS_SUBREQ",       "API_VERSION",      NULL
    };
    const char *at;

    if (!strcasecmp(test, "expr")) {
        return 1;
    }
    for (at = strstr(test, "%{"); at; at = strstr(at + 2, "%{")) {
        const char *name = at + 2, *close = strchr(name, '}');
        const char *const *v;
        if (!close) {
            return 1;
        }
        for (v = same_for_all; *v; v++) {
            if (strlen(*v) == (apr_size_t)(close - name)
                && !strncasecmp(name, *v, strlen(*v))) {
                break;
            }
        }
        if (!*v) {
            return 1;
        }
    }
    return 0;
}

/* Does a RewriteRule's flag list refuse the request: [F], [G], or a
 * redirect with a 4xx or 5xx status ([R=403])? */
static int refusing_flags(const char *flags)
{
    const char *r;

    if (ap_strcasestr(flags, "forbidden") || ap_strcasestr(flags, "gone")) {
        return 1;
    }
    for (r = flags; *r; r++) {
        if ((*r == 'F' || *r == 'f' || *r == 'G' || *r == 'g')
            && (r == flags || r[-1] == '[' || r[-1] == ',')
            && (r[1] == ']' || r[1] == ',' || r[1] == '\0')) {
            return 1;
        }
    }
    for (r = ap_strcasestr(flags, "R="); r; r = ap_strcasestr(r + 1, "R=")) {
        if (r[2] == '4' || r[2] == '5') {
            return 1;
        }
    }
    return 0;
}

/* RewriteRules that send a request elsewhere (not [F], [G]) depending on
 * what cond_reads_client names, anywhere in the configuration: the quick
 * handler keys a request before they run. */
static void collect_routes(apr_pool_t *p, const ap_directive_t *d,
                           const ap_directive_t *vhost,
                           apr_array_header_t *routes,
                           apr_array_header_t *denying)
{
    int reads = 0;

    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "RewriteCond")) {
            const char *args = d->args;
            reads |= cond_reads_client(ap_getword_conf(p, &args));
        }
        else if (!strcasecmp(d->directive, "RewriteRule")) {
            const char *args = d->args, *flags;
            ap_getword_conf(p, &args); /* pattern */
            ap_getword_conf(p, &args); /* substitution */
            flags = ap_getword_conf(p, &args);
            if (reads) {
                int deny = refusing_flags(flags);
                sc_section_t r;
                r.section = d;
                r.vhost = vhost;
                r.path = NULL;
                r.where = line_of(p, d);
                if (!deny && routes) {
                    APR_ARRAY_PUSH(routes, sc_section_t) = r;
                }
                /* a refusal on what a client sends or is: whether it
                 * refuses an anonymous client too cannot be told from
                 * here (a hotlink rule refuses only a foreign Referer) */
                if (deny && denying) {
                    APR_ARRAY_PUSH(denying, sc_section_t) = r;
                }
            }
            reads = 0;
        }
        else if (d->first_child) {
            collect_routes(p, d->first_child,
                           is_section(d, "<VirtualHost") ? d : vhost, routes,
                           denying);
        }
    }
}

/* What a section derives from the request after the quick phase: a
 * per-directory SetEnvIf or BrowserMatch, a RequestHeader with env=,
 * expr= or a %-variable (anywhere: it runs at fixups).  The quick phase
 * keys a request before they run. */
static void collect_derivers(apr_pool_t *p, const ap_directive_t *d,
                             const ap_directive_t *vhost, int in_section,
                             apr_array_header_t *derivers)
{
    for (; d; d = d->next) {
        const char *n = d->directive;
        int derives = (in_section
                       && (!strncasecmp(n, "SetEnvIf", 8)
                           || !strncasecmp(n, "BrowserMatch", 12)))
                      || (!strcasecmp(n, "RequestHeader") && d->args
                          && !ap_strstr_c(d->args, "early")
                          && (ap_strstr_c(d->args, "env=")
                              || ap_strstr_c(d->args, "expr=")
                              || strchr(d->args, '%')));
        if (derives) {
            sc_section_t r;
            r.section = d;
            r.vhost = vhost;
            r.path = NULL;
            r.where = line_of(p, d);
            APR_ARRAY_PUSH(derivers, sc_section_t) = r;
        }
        if (d->first_child && is_section(d, "<VirtualHost")) {
            collect_derivers(p, d->first_child, d, 0, derivers);
        }
        else if (d->first_child) {
            /* <IfModule> and <IfDefine> only wrap what they hold */
            int wraps = is_section(d, "<IfModule")
                        || is_section(d, "<IfDefine");
            collect_derivers(p, d->first_child, vhost, in_section || !wraps,
                             derivers);
        }
    }
}

/* Quick mode next to routing by the client's headers, or to what a
 * section derives from them: said, not refused (it serves another
 * route's or variant's page, the one an anonymous client gets, not a
 * protected one). */
/* The first quick section that r's rule reaches (the same virtual host, or
 * either of them the main server's), or NULL. */
static const sc_section_t *quick_reached(const apr_array_header_t *quick,
                                         const sc_section_t *r)
{
    int i;

    for (i = 0; i < quick->nelts; i++) {
        const sc_section_t *q = &APR_ARRAY_IDX(quick, i, sc_section_t);
        if (!q->vhost || !r->vhost || q->vhost == r->vhost) {
            return q;
        }
    }
    return NULL;
}

void sc_config_warn_quick_routes(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *routes = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *derive = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *quick = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *guarded = apr_array_make(p, 2, sizeof(sc_section_t));
    const sc_section_t *q;
    int j;

    collect(p, ap_conftree, NULL, quick, guarded, NULL);
    collect_routes(p, ap_conftree, NULL, routes, NULL);
    collect_derivers(p, ap_conftree, NULL, 0, derive);
    for (j = 0; j < routes->nelts; j++) {
        const sc_section_t *r = &APR_ARRAY_IDX(routes, j, sc_section_t);
        if ((q = quick_reached(quick, r)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SC_LOGNO(0109) "SharedCacheQuickHandler On (%s) "
                                        "keys requests before the "
                                        "RewriteRule at %s routes them by "
                                        "the client's headers: a client "
                                        "routed elsewhere may get the "
                                        "default route's page",
                         q->where, r->where);
        }
    }
    for (j = 0; j < derive->nelts; j++) {
        const sc_section_t *r = &APR_ARRAY_IDX(derive, j, sc_section_t);
        if ((q = quick_reached(quick, r)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SC_LOGNO(0111) "SharedCacheQuickHandler On (%s) "
                                        "keys requests before the %s at %s "
                                        "derives from them: a client it "
                                        "marks may get the page an "
                                        "anonymous client gets",
                         q->where, r->section->directive, r->where);
        }
    }
}

/* A module that checks access (httpd's access, authentication and
 * authorization hooks) by rules the checks here do not read, or NULL.
 * Those here are read (mod_authz_core's Require, mod_access_compat's
 * Allow and Deny, mod_ssl's SSLRequire, mod_wsgi's WSGIAccessScript) or
 * only authenticate (a request with credentials is never served in the
 * quick phase). */
static const char *unknown_access_module(void)
{
    static const char *const known[] = {
        "mod_authz_core.c", "mod_access_compat.c", "mod_ssl.c",
        "mod_authn_core.c", "mod_auth_basic.c",    "mod_auth_digest.c",
        "mod_auth_form.c",  "mod_wsgi.c",          NULL
    };
    apr_array_header_t *hooks[4];
    int h, i;

    hooks[0] = ap_hook_get_access_checker();
    hooks[1] = ap_hook_get_access_checker_ex();
    hooks[2] = ap_hook_get_check_user_id();
    hooks[3] = ap_hook_get_auth_checker();
    for (h = 0; h < 4; h++) {
        /* the four hooks' link records share their layout */
        const ap_LINK_access_checker_t *l = hooks[h] ? (void *)hooks[h]->elts
                                                     : NULL;
        for (i = 0; l && i < hooks[h]->nelts; i++) {
            const char *name = l[i].szName ? l[i].szName : "(unnamed)";
            const char *const *k;
            for (k = known; *k && strcmp(name, *k); k++) {
            }
            if (!*k) {
                return name;
            }
        }
    }
    return NULL;
}

const char *sc_config_check_quick(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *quick = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *guarded = apr_array_make(p, 4, sizeof(sc_section_t));
    int i, j;

    apr_array_header_t *denying = apr_array_make(p, 2, sizeof(sc_section_t));

    collect(p, ap_conftree, NULL, quick, guarded, denying);
    collect_routes(p, ap_conftree, NULL, NULL, denying);
    if (quick->nelts && unknown_access_module()) {
        return apr_psprintf(
            p,
            "SharedCacheQuickHandler On (%s) serves hits before access "
            "control, but %s checks access by rules this check cannot read: "
            "quick mode would skip them.  Turn quick mode off, or leave "
            "that module out",
            APR_ARRAY_IDX(quick, 0, sc_section_t).where,
            unknown_access_module());
    }
    for (i = 0; i < quick->nelts; i++) {
        const sc_section_t *q = &APR_ARRAY_IDX(quick, i, sc_section_t);
        for (j = 0; j < denying->nelts; j++) {
            const sc_section_t *g = &APR_ARRAY_IDX(denying, j, sc_section_t);
            if (q->vhost && g->vhost && q->vhost != g->vhost) {
                continue;
            }
            if (overlap(q->path, g->path)) {
                return apr_psprintf(
                    p,
                    "SharedCacheQuickHandler On (%s) serves hits before "
                    "access control, but %s denies some clients by what "
                    "they send or are (Require not, Require expr, Deny, "
                    "<RequireNone>, access rules inside <If>, a "
                    "RewriteRule [F], [G] or [R=4xx] on anything but the "
                    "URL and the host), which an anonymous client is "
                    "let through: quick mode would serve the clients it "
                    "denies.  Turn quick mode off there, or deny them "
                    "before httpd",
                    q->where, g->where);
            }
        }
    }
    for (i = 0; i < quick->nelts; i++) {
        const sc_section_t *q = &APR_ARRAY_IDX(quick, i, sc_section_t);
        for (j = 0; j < guarded->nelts; j++) {
            const sc_section_t *g = &APR_ARRAY_IDX(guarded, j, sc_section_t);
            /* Sections of the main server apply to every virtual host. */
            if (q->vhost && g->vhost && q->vhost != g->vhost) {
                continue;
            }
            if (g->section->directive[1] != 'L'
                && g->section->directive[1] != 'l') {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                             SC_LOGNO(0104) "SharedCacheQuickHandler On "
                                            "(%s) serves hits before the "
                                            "access rules at %s are "
                                            "applied: make sure none of "
                                            "them covers it",
                             q->where, g->where);
                continue;
            }
            if (overlap(q->path, g->path)) {
                return apr_psprintf(p,
                                    "SharedCacheQuickHandler On (%s) "
                                    "serves hits before access control, but "
                                    "%s restricts access to part of the same "
                                    "space: quick mode would serve those "
                                    "pages to anyone.  Turn quick mode off "
                                    "there, or keep protected URLs out of "
                                    "quick locations",
                                    q->where, g->where);
            }
        }
    }
    return NULL;
}

/* ---- SharedCache On without a TTL ------------------------------------ */

typedef struct {
    const ap_directive_t *vhost; /* NULL: the main server */
    const char *path;            /* <Location> path; "/" for a server */
    int regex;                   /* <LocationMatch>: covers anything */
    const ap_directive_t *on;    /* SharedCache On here, or NULL */
    int ttl;                     /* SharedCacheTTL > 0 or ForceTTL here */
} sc_ttl_section_t;

/* A positive SharedCacheTTL or a SharedCacheForceTTL in a list. */
static int gives_ttl(apr_pool_t *p, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        const char *args = d->args;
        if (!strcasecmp(d->directive, "SharedCacheForceTTL")) {
            return 1;
        }
        if (!strcasecmp(d->directive, "SharedCacheTTL")
            && apr_atoi64(ap_getword_conf(p, &args)) > 0) {
            return 1;
        }
    }
    return 0;
}

static void collect_ttl(apr_pool_t *p, const ap_directive_t *list,
                        const ap_directive_t *vhost, apr_array_header_t *out)
{
    const ap_directive_t *d;
    sc_ttl_section_t *top = apr_array_push(out);

    top->vhost = vhost;
    top->path = "/";
    top->regex = 0;
    top->on = sets_on(p, list, "SharedCache");
    top->ttl = gives_ttl(p, list);
    for (d = list; d; d = d->next) {
        if (is_section(d, "<VirtualHost")) {
            collect_ttl(p, d->first_child, d, out);
        }
        else if (is_section(d, "<Location") || is_section(d, "<LocationMatch")
                 || is_section(d, "<Directory")
                 || is_section(d, "<DirectoryMatch") || is_section(d, "<Files")
                 || is_section(d, "<FilesMatch") || is_section(d, "<If")
                 || is_section(d, "<ElseIf") || is_section(d, "<Else")) {
            sc_ttl_section_t *s = apr_array_push(out);
            s->vhost = vhost;
            s->path = section_path(p, d);
            /* anything but a plain <Location>: may cover any path */
            s->regex = !s->path;
            s->on = sets_on(p, d->first_child, "SharedCache");
            s->ttl = gives_ttl(p, d->first_child);
        }
    }
}

void sc_config_notice_ttl(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *all = apr_array_make(p, 8, sizeof(sc_ttl_section_t));
    int i, j;

    collect_ttl(p, ap_conftree, NULL, all);
    for (i = 0; i < all->nelts; i++) {
        const sc_ttl_section_t *a = &APR_ARRAY_IDX(all, i, sc_ttl_section_t);
        int covered = a->ttl;

        /* a TTL in any section that may apply to the same URLs: the
         * main server's, this virtual host's, an enclosing <Location>,
         * anything that is not a plain <Location> */
        for (j = 0; a->on && !covered && j < all->nelts; j++) {
            const sc_ttl_section_t *b = &APR_ARRAY_IDX(all, j,
                                                       sc_ttl_section_t);
            covered = b->ttl && (!b->vhost || b->vhost == a->vhost)
                      && (b->regex || a->regex || !a->path
                          || !strncmp(a->path, b->path, strlen(b->path)));
        }
        if (a->on && !covered) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                         SC_LOGNO(0108) "SharedCache On (%s:%d) without "
                                        "SharedCacheTTL: only responses "
                                        "with their own freshness "
                                        "(Cache-Control max-age or "
                                        "s-maxage, Expires) are stored",
                         a->on->filename, a->on->line_num);
        }
    }
}
