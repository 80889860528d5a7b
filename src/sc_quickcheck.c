/*
 * sc_quickcheck.c: quick mode against the parsed configuration, walked at
 * start-up and under configtest.  SharedCacheQuickHandler serves hits
 * before access control: an administrator declares a <Location> public
 * with it, and the mistake of also protecting part of that space is made
 * loud (refused); routing by the client's headers next to it is said
 * (the routes are sc_quickroutes.c's).
 */
#include "sc_config.h"
#include "sc_request.h"
#include "sc_conftree.h"
#include "sc_log.h"

#include "http_core.h"
#include "http_log.h"
#include "http_request.h"
#include "util_cfgtree.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* What <AuthzProviderAlias> names (collect_aliases), while the start-up
 * check runs. */
static apr_array_header_t *alias_names;

/* Is name (in any case) on a list of names the start-up check gathered,
 * where "*" stands for any? */
static int listed(const apr_array_header_t *list, const char *name)
{
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        const char *v = APR_ARRAY_IDX(list, i, const char *);
        if (!strcmp(v, "*") || !strcasecmp(name, v)) {
            return 1;
        }
    }
    return 0;
}

static int aliased(const char *name)
{
    return listed(alias_names, name);
}

/* The names <AuthzProviderAlias base NAME ...> gives: each replaces the
 * provider of that name ("all", "method" ...), so a line naming it is
 * read as that alias's, whose expression may refuse anyone. */
static void collect_aliases(apr_pool_t *p, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (sc_tree_is(d, "<AuthzProviderAlias") && d->args) {
            const char *args = d->args;
            char *name;
            (void)ap_getword_conf(p, &args); /* the base provider */
            name = ap_getword_conf(p, &args);
            if (*name && name[strlen(name) - 1] == '>') {
                name[strlen(name) - 1] = '\0';
            }
            APR_ARRAY_PUSH(alias_names, const char *) = name;
        }
        if (d->first_child) {
            collect_aliases(p, d->first_child);
        }
    }
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
            if (strcasecmp(w, "all") || aliased(w)
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

    if (aliased(name)) {
        return 0;
    }
    for (n = positive; *n; n++) {
        if (!strcasecmp(name, *n)) {
            return 1;
        }
    }
    return 0;
}

/* The variables a rule that runs after the quick phase may take away
 * from some requests ("!name"): a section's SetEnvIf, SetEnvIfNoCase,
 * SetEnvIfExpr, BrowserMatch or BrowserMatchNoCase (header_parser), a
 * RewriteRule's [E=!name] (translate_name; fixups in a section), mod_env's
 * UnsetEnv (fixups).  "Require env name" then refuses the requests it
 * fires for before the variable is gone, and not the anonymous client of
 * the probe, or lets in only those it was set for while the stored key,
 * made after fixups, no longer holds it: a denial.  (A server-level
 * SetEnvIf runs before the quick phase, whose key holds what it left.)
 * Collected at start-up, read by denies(). */
static apr_array_header_t *removed_vars;

static void push_removed(apr_pool_t *p, const char *word)
{
    const char *eq;

    if (*word != '!' || !word[1]) {
        return;
    }
    eq = strchr(word, '=');
    APR_ARRAY_PUSH(removed_vars, const char *) =
        eq ? apr_pstrmemdup(p, word + 1, eq - word - 1) : word + 1;
}

/* A RewriteRule's E= value: mod_rewrite expands all of it ("\!" to "!",
 * %N, $N, %{...}, ${map:...}), then unsets the name after a leading "!".
 * One that may begin with "!" only once expanded, or whose name is made
 * at run time, may take away any variable ("*"). */
static void push_rewrite_env(apr_pool_t *p, const char *v)
{
    if (*v == '\\') {
        v++;
    }
    if (*v == '%' || *v == '$') {
        APR_ARRAY_PUSH(removed_vars, const char *) = "*";
        return;
    }
    if (*v != '!') {
        return;
    }
    if (strpbrk(v + 1, "%$\\")) {
        APR_ARRAY_PUSH(removed_vars, const char *) = "*";
        return;
    }
    APR_ARRAY_PUSH(removed_vars, const char *) = apr_pstrdup(p, v + 1);
}

static void collect_removed(apr_pool_t *p, const ap_directive_t *d,
                            int in_section)
{
    static const char *const env_flag[] = { "E", "env", NULL };

    for (; d; d = d->next) {
        const char *n = d->directive;
        const char *args = d->args ? d->args : "";
        int skip = -1;

        if (in_section
            && (!strcasecmp(n, "SetEnvIf")
                || !strcasecmp(n, "SetEnvIfNoCase"))) {
            skip = 2; /* attribute, regex */
        }
        else if (in_section
                 && (!strcasecmp(n, "SetEnvIfExpr")
                     || !strcasecmp(n, "BrowserMatch")
                     || !strcasecmp(n, "BrowserMatchNoCase"))) {
            skip = 1; /* expression or regex */
        }
        if (skip >= 0) {
            const char *w;
            while (skip-- > 0) {
                (void)ap_getword_conf(p, &args);
            }
            while (*(w = ap_getword_conf(p, &args))) {
                push_removed(p, w);
            }
        }
        if (!strcasecmp(n, "UnsetEnv")) {
            const char *w;
            while (*(w = ap_getword_conf(p, &args))) {
                APR_ARRAY_PUSH(removed_vars, const char *) = w;
            }
        }
        if (!strcasecmp(n, "RewriteRule")) {
            const char *word[3]; /* pattern, substitution, flags */
            apr_array_header_t *v;
            int i;
            sc_tree_rewrite_args(p, d->args, word);
            v = sc_tree_rewrite_flag_values(p, word[2], env_flag);
            for (i = 0; i < v->nelts; i++) {
                push_rewrite_env(p, APR_ARRAY_IDX(v, i, const char *));
            }
        }
        if (d->first_child) {
            int wraps = sc_tree_is(d, "<IfModule") || sc_tree_is(d, "<IfDefine")
                        || sc_tree_is(d, "<VirtualHost");
            collect_removed(p, d->first_child, in_section || !wraps);
        }
    }
}

static int removed_later(const char *name)
{
    return listed(removed_vars, name);
}

/* Does "Require env ..." (args after "env") name a variable a later rule
 * may take away, or one no key holds (sc_derive_name_unkeyed: the
 * clients it lets in and those it refuses share keys)? */
static int env_removed_later(apr_pool_t *p, const char *args)
{
    const char *w;

    while (*(w = ap_getword_conf(p, &args))) {
        if (removed_later(w) || sc_derive_name_unkeyed(w)) {
            return 1;
        }
    }
    return 0;
}

/* mod_access_compat's "Allow from ... env=[!]var ...": letting in those
 * without a variable ("env=!bad_bot", Require not env's twin), or those
 * with one a later rule may take away (Require env's), denies the
 * others. */
static int allow_env_denies(apr_pool_t *p, const char *args)
{
    const char *w;

    while (*(w = ap_getword_conf(p, &args))) {
        if (!strncasecmp(w, "env=", 4)
            && (w[4] == '!' || removed_later(w + 4))) {
            return 1;
        }
    }
    return 0;
}

/* mod_ssl's SSLCipherSuite of a section: enforced at access control by
 * renegotiating the connection, it refuses a client by its cipher, which
 * the probe copies from the client whose request stored the entry.
 * (A section's SSLVerifyClient refuses only clients whose requests the
 * cache never serves in the quick phase: with a certificate, or without
 * one where it is required, so nothing is stored.) */
static int tls_refusal(const ap_directive_t *d)
{
    return !strcasecmp(d->directive, "SSLCipherSuite");
}

static int is_conditional(const ap_directive_t *d)
{
    return sc_tree_is(d, "<If") || sc_tree_is(d, "<ElseIf")
           || sc_tree_is(d, "<Else");
}

/* How a conditional section acts on the request (beyond the response's
 * headers: mod_headers' Header, mod_expires).  Its condition may read
 * what a client is; what it holds may refuse (an access rule, a Redirect
 * 403) or route (a Redirect, a SetHandler) the clients it picks, or mark
 * them (a SetEnv, a RequestHeader the application refuses on), which an
 * anonymous client, the probe, is not. */
typedef enum { ACTS_NOT, ACTS_MARKS, ACTS_ROUTES } acts_t;

static acts_t acts_on_request(const ap_directive_t *d)
{
    static const char *const marks[] = { "SetEnv",         "UnsetEnv",
                                         "PassEnv",        "SetEnvIf",
                                         "SetEnvIfNoCase", "SetEnvIfExpr",
                                         "BrowserMatch",   "BrowserMatchNoCase",
                                         "RequestHeader",  NULL };
    acts_t most = ACTS_NOT;

    for (; d; d = d->next) {
        acts_t a = ACTS_ROUTES;
        const char *const *m;
        if (d->first_child) {
            a = acts_on_request(d->first_child);
        }
        else if (!strcasecmp(d->directive, "Header")
                 || !strncasecmp(d->directive, "Expires", 7)) {
            a = ACTS_NOT;
        }
        else {
            for (m = marks; *m; m++) {
                if (!strcasecmp(d->directive, *m)) {
                    a = ACTS_MARKS;
                }
            }
        }
        if (a > most) {
            most = a;
        }
    }
    return most;
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

/* What a conditional section does to the clients its condition picks:
 * refuses some (any access rule: the URL space it guards cannot be told)
 * or routes them by what they are (IF_DENIES), marks them so
 * (IF_MARKS), routes or marks them by what they send (IF_SENT: said);
 * *chain as sc_quick_cond_reads. */
enum { IF_DENIES = 1, IF_MARKS = 2, IF_SENT = 4 };

static unsigned if_kind(const ap_directive_t *d, sc_reads_t *chain)
{
    sc_reads_t reads = sc_quick_cond_reads(d, chain);
    acts_t acts = acts_on_request(d->first_child);

    if (has_access_rule(d->first_child)
        || (reads == SC_READS_IS && acts == ACTS_ROUTES)) {
        return IF_DENIES;
    }
    if (reads == SC_READS_IS && acts == ACTS_MARKS) {
        return IF_MARKS;
    }
    return reads == SC_READS_SENT && acts != ACTS_NOT ? IF_SENT : 0;
}

/* The kinds of the conditional sections of a list, at any depth. */
static unsigned if_kinds(const ap_directive_t *d)
{
    sc_reads_t chain = SC_READS_NOTHING;
    unsigned kinds = 0;

    for (; d; d = d->next) {
        if (is_conditional(d)) {
            kinds |= if_kind(d, &chain);
        }
        if (d->first_child) {
            kinds |= if_kinds(d->first_child);
        }
    }
    return kinds;
}

/* Rules that deny some clients by what they send or are (Require not,
 * Require expr, which may negate, Deny, <RequireNone>, any access rule
 * inside <If>, <ElseIf> or <Else>, whose condition may read the client):
 * an anonymous client lacks what they deny on, so the probe of
 * sc_quickprobe.c passes them, and quick mode would serve the clients
 * they deny. */
static int denies(apr_pool_t *p, const ap_directive_t *d)
{
    if (if_kinds(d) & IF_DENIES) {
        return 1;
    }
    for (; d; d = d->next) {
        const char *n = d->directive;
        if (!strcasecmp(n, "Require")) {
            const char *args = d->args;
            const char *provider = ap_getword_conf(p, &args);
            if (!positive_provider(provider)
                || (!strcasecmp(provider, "env")
                    && env_removed_later(p, args))) {
                return 1;
            }
        }
        else if (!strcasecmp(n, "Allow") && allow_env_denies(p, d->args)) {
            return 1;
        }
        else if (!strcasecmp(n, "Deny") || !strcasecmp(n, "<RequireNone")
                 || !strcasecmp(n, "SSLRequire") || tls_refusal(d)
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

static const ap_directive_t *sets_quick(apr_pool_t *p, const ap_directive_t *d)
{
    return sc_tree_sets_on(p, d, "SharedCacheQuickHandler");
}

/* The sections collect() finds: quick ones, those with access rules
 * (guarded), and, when asked for, those that deny some clients (denying)
 * or mark them by what they are (marking). */
typedef struct {
    apr_array_header_t *quick, *guarded, *denying, *marking;
    apr_array_header_t *said; /* <If>s on what a client sends */
} found_t;

static void collect(apr_pool_t *p, const ap_directive_t *d,
                    const ap_directive_t *vhost, const found_t *f)
{
    const ap_directive_t *on;
    sc_reads_t chain = SC_READS_NOTHING; /* of an <If> chain at this level */
    unsigned kinds;

    /* Quick mode for a whole server or virtual host covers every path;
     * messages name the directive's own line. */
    if (d && (on = sets_quick(p, d)) != NULL) {
        sc_section_t s;
        s.section = vhost ? vhost : d;
        s.vhost = vhost;
        s.path = "/";
        s.where = sc_tree_line(p, on);
        APR_ARRAY_PUSH(f->quick, sc_section_t) = s;
    }
    for (; d; d = d->next) {
        int loc = sc_tree_is(d, "<Location") || sc_tree_is(d, "<LocationMatch");
        int fs = sc_tree_is(d, "<Directory") || sc_tree_is(d, "<DirectoryMatch")
                 || sc_tree_is(d, "<Files") || sc_tree_is(d, "<FilesMatch");

        if (sc_tree_is(d, "<VirtualHost")) {
            collect(p, d->first_child, d, f);
            continue;
        }
        if (loc || fs) {
            sc_section_t s;
            s.section = d;
            s.vhost = vhost;
            s.path = loc ? sc_tree_location_path(p, d) : NULL;
            s.where = sc_tree_line(p, d);
            if (loc && (on = sets_quick(p, d->first_child)) != NULL) {
                sc_section_t q = s;
                q.where = sc_tree_line(p, on);
                APR_ARRAY_PUSH(f->quick, sc_section_t) = q;
            }
            if (restricts(p, d->first_child)) {
                APR_ARRAY_PUSH(f->guarded, sc_section_t) = s;
            }
            if (f->denying && denies(p, d->first_child)) {
                APR_ARRAY_PUSH(f->denying, sc_section_t) = s;
            }
            kinds = if_kinds(d->first_child);
            if (f->marking && (kinds & IF_MARKS)) {
                APR_ARRAY_PUSH(f->marking, sc_section_t) = s;
            }
            if (f->said && (kinds & IF_SENT)) {
                APR_ARRAY_PUSH(f->said, sc_section_t) = s;
            }
        }
        /* outside <Location>, <Directory> and <Files>: a conditional
         * section's or a <Proxy> section's denials apply to any URL */
        kinds = !loc && !fs && is_conditional(d) ? if_kind(d, &chain) : 0;
        if (f->denying
            && ((kinds & IF_DENIES)
                || (!loc && !fs
                    && (sc_tree_is(d, "<Proxy") || sc_tree_is(d, "<ProxyMatch"))
                    && denies(p, d->first_child)))) {
            sc_tree_push(p, f->denying, d, vhost);
        }
        if (f->marking && (kinds & IF_MARKS)) {
            sc_tree_push(p, f->marking, d, vhost);
        }
        if (f->said && (kinds & IF_SENT)) {
            sc_tree_push(p, f->said, d, vhost);
        }
        if (d->first_child && !loc && !fs) {
            collect(p, d->first_child, vhost, f); /* <If...> */
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

/* What quick mode does not see (a route, a derived variable, a Header's
 * condition), said once for each found that a quick section reaches. */
typedef enum { SAID_ROUTE, SAID_DERIVED, SAID_CONDITION } said_t;

static void say_reached(server_rec *s, const apr_array_header_t *quick,
                        const apr_array_header_t *found, said_t what)
{
    const sc_section_t *q;
    int j;

    for (j = 0; j < found->nelts; j++) {
        const sc_section_t *r = &APR_ARRAY_IDX(found, j, sc_section_t);
        if ((q = quick_reached(quick, r)) == NULL) {
            continue;
        }
        switch (what) {
        case SAID_ROUTE:
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SC_LOGNO(0109) "SharedCacheQuickHandler On (%s) "
                                        "keys requests before the %s%s at "
                                        "%s routes them by what the client "
                                        "sends (a header, the request "
                                        "line, TLS or not): a client "
                                        "routed elsewhere may get the "
                                        "default route's page",
                         q->where, r->section->directive,
                         *r->section->directive == '<' ? ">" : "", r->where);
            break;
        case SAID_DERIVED:
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SC_LOGNO(0111) "SharedCacheQuickHandler On (%s) "
                                        "keys requests before the %s at %s "
                                        "derives from them: a client it "
                                        "marks may get the page an "
                                        "anonymous client gets",
                         q->where, r->section->directive, r->where);
            break;
        case SAID_CONDITION:
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SC_LOGNO(0115) "SharedCacheQuickHandler On (%s) "
                                        "serves an entry's stored headers "
                                        "to every client: the condition of "
                                        "the Header at %s is checked only "
                                        "for the client whose request "
                                        "stored it",
                         q->where, r->where);
            break;
        }
    }
}

/* A conditional section anywhere in a list? */
static const ap_directive_t *conditional_in(const ap_directive_t *d)
{
    const ap_directive_t *found;

    for (; d; d = d->next) {
        if (is_conditional(d)) {
            return d;
        }
        if (d->first_child && (found = conditional_in(d->first_child))) {
            return found;
        }
    }
    return NULL;
}

/* A quick <Location> holding an <If>: which <If> sections hold is in the
 * stored key, and the quick phase, before <Location> sections merge,
 * knows only the server's: its entries are never quick hits. */
static void say_quick_if(apr_pool_t *p, server_rec *s,
                         const apr_array_header_t *quick)
{
    const ap_directive_t *c;
    int i;

    for (i = 0; i < quick->nelts; i++) {
        const sc_section_t *q = &APR_ARRAY_IDX(quick, i, sc_section_t);
        if (sc_tree_is(q->section, "<Location")
            && (c = conditional_in(q->section->first_child)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SC_LOGNO(0117) "SharedCacheQuickHandler On (%s) "
                                        "serves nothing in the quick "
                                        "phase: the %s> at %s inside its "
                                        "<Location> is decided after it "
                                        "(move it to the virtual host, or "
                                        "turn quick mode off there)",
                         q->where, c->directive, sc_tree_line(p, c));
        }
    }
}

void sc_config_warn_quick_routes(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *routes = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *derive = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *conds = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *quick = apr_array_make(p, 2, sizeof(sc_section_t));
    found_t f = { quick, apr_array_make(p, 2, sizeof(sc_section_t)), NULL, NULL,
                  routes };

    sc_quick_routes_prepare(p, ap_conftree);
    collect(p, ap_conftree, NULL, &f);
    sc_quick_routes(p, ap_conftree, NULL, routes, NULL);
    sc_quick_derivers(p, ap_conftree, NULL, 0, derive, NULL);
    sc_quick_header_conditions(p, ap_conftree, NULL, conds);
    say_reached(s, quick, routes, SAID_ROUTE);
    say_reached(s, quick, derive, SAID_DERIVED);
    say_reached(s, quick, conds, SAID_CONDITION);
    say_quick_if(p, s, quick);
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

static int is_server_of(const server_rec *s, const ap_directive_t *vhost)
{
    return s->defn_name && vhost->filename
           && s->defn_line_number == (unsigned)vhost->line_num
           && !strcmp(s->defn_name, vhost->filename);
}

/* Does a directive of virtual host vhost (NULL: the main server) apply
 * to server t's requests? */
static int applies_to(const server_rec *t, const ap_directive_t *vhost)
{
    return !vhost || is_server_of(t, vhost);
}

/* Mark each server that a rule denying some clients by what they send or
 * are applies to (a section of its own or of the main server), or every
 * one where a module checks access by rules this check cannot read. */
static void mark_denying(server_rec *s, const apr_array_header_t *denying)
{
    int unknown = unknown_access_module() != NULL;
    server_rec *t;
    int i;

    for (t = s; t; t = t->next) {
        sc_server_conf_t *c = ap_get_module_config(t->module_config,
                                                   &sharedcache_module);
        if (!c) {
            continue;
        }
        c->denies = unknown;
        for (i = 0; !c->denies && i < denying->nelts; i++) {
            const sc_section_t *g = &APR_ARRAY_IDX(denying, i, sc_section_t);
            c->denies = applies_to(t, g->vhost);
        }
    }
}

const char *sc_config_check_quick(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *quick = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *guarded = apr_array_make(p, 4, sizeof(sc_section_t));
    apr_array_header_t *denying = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *marking = apr_array_make(p, 2, sizeof(sc_section_t));
    found_t f = { quick, guarded, denying, marking, NULL };
    int i, j;

    removed_vars = apr_array_make(p, 2, sizeof(const char *));
    collect_removed(p, ap_conftree, 0);
    alias_names = apr_array_make(p, 2, sizeof(const char *));
    collect_aliases(p, ap_conftree);
    sc_quick_routes_prepare(p, ap_conftree);
    collect(p, ap_conftree, NULL, &f);
    removed_vars = alias_names = NULL;
    sc_quick_routes(p, ap_conftree, NULL, NULL, denying);
    sc_quick_derivers(p, ap_conftree, NULL, 0, NULL, marking);
    /* a fragment's subrequest meets the rules that refuse or route; what
     * marks it is in its own key (sc_fragment.c) */
    mark_denying(s, denying);
    /* quick mode keys before either */
    apr_array_cat(denying, marking);
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
            if (sc_tree_overlap(q->path, g->path)) {
                return apr_psprintf(
                    p,
                    "SharedCacheQuickHandler On (%s) serves hits before "
                    "access control, but the %s%s at %s denies some "
                    "clients by what "
                    "they send or are (Require not, Require expr, Require "
                    "env of a variable a later rule may remove, Allow from "
                    "env=!var, a provider alias under a trusted name, a "
                    "section's SSLCipherSuite, Deny, "
                    "<RequireNone>, an <If> section that acts on the "
                    "request, a RewriteRule [F], [G] or [R=4xx] on "
                    "anything but the URL and the host, or on a "
                    "RewriteMap or a file test, which change without a "
                    "reload), or routes or marks some clients by what they "
                    "are (a RewriteRule, or a section's SetEnvIf, on their "
                    "address, TLS, the environment or an expression), "
                    "which an anonymous client is let through: quick mode "
                    "would serve the clients it denies or routes.  Turn "
                    "quick mode off there, or deny them before httpd",
                    q->where, g->section->directive,
                    *g->section->directive == '<' ? ">" : "", g->where);
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
            if (sc_tree_overlap(q->path, g->path)) {
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

static void mark_hook(apr_pool_t *p, server_rec *s, const ap_directive_t *d,
                      const ap_directive_t *vhost, int say)
{
    server_rec *t;

    for (t = s; t; t = t->next) {
        sc_server_conf_t *c = ap_get_module_config(t->module_config,
                                                   &sharedcache_module);
        if (c && !c->code_hook && applies_to(t, vhost)) {
            c->code_hook = apr_psprintf(p, "the %s at %s", d->directive,
                                        sc_tree_line(p, d));
        }
    }
    if (say) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SC_LOGNO(0120) "the %s at %s runs code that may "
                                    "change requests before the "
                                    "cache's handler: SharedCache "
                                    "serves the requests of its %s "
                                    "uncached",
                     d->directive, sc_tree_line(p, d),
                     vhost ? "virtual host" : "server");
    }
}

/* Directives that map a request to its files or handler by more than
 * its URL, here or in the main server (a virtual host inherits them):
 * mod_vhost_alias's by the local address the client connected to (an
 * internal and a public listener of one server serve each their own);
 * an expression (an Alias or ScriptAlias in a <Location>, SetHandler) by
 * anything a request carries. */
static void mark_routes(server_rec *s, const ap_directive_t *d,
                        const ap_directive_t *vhost)
{
    static const char *const by_expr[] = { "Alias", "ScriptAlias", "SetHandler",
                                           NULL };
    int local = !strcasecmp(d->directive, "VirtualDocumentRootIP")
                || !strcasecmp(d->directive, "VirtualScriptAliasIP");
    int expr = 0;
    const char *const *e;
    server_rec *t;

    for (e = by_expr; *e && d->args; e++) {
        expr |= !strcasecmp(d->directive, *e) && ap_strstr_c(d->args, "%{");
    }
    for (t = s; (local || expr) && t; t = t->next) {
        sc_server_conf_t *c = ap_get_module_config(t->module_config,
                                                   &sharedcache_module);
        if (c && applies_to(t, vhost)) {
            c->local_routes |= local;
            c->expr_routes |= expr;
        }
    }
}

static void mark_servers(apr_pool_t *p, server_rec *s, const ap_directive_t *d,
                         const ap_directive_t *vhost, int say)
{
    for (; d; d = d->next) {
        if (sc_tree_is(d, "<VirtualHost")) {
            mark_servers(p, s, d->first_child, d, say);
            continue;
        }
        if (d->first_child) {
            mark_servers(p, s, d->first_child, vhost, say);
        }
        if (sc_code_hook(d->directive)) {
            mark_hook(p, s, d, vhost, say);
        }
        mark_routes(s, d, vhost);
    }
}

void sc_config_mark_servers(apr_pool_t *p, server_rec *s, int say)
{
    mark_servers(p, s, ap_conftree, NULL, say);
}
