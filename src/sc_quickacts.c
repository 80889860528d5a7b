/*
 * sc_quickacts.c: what the rules of a section do to the clients they
 * pick, for quick mode's start-up check (sc_quickcheck.c): restrict
 * access at all, refuse some clients (an anonymous client, the probe,
 * would pass), route or mark them by what they are, or by what they
 * send.  What a condition reads is sc_reads.c's.
 */
#include "sc_request.h"
#include "sc_conftree.h"

#include "http_core.h"
#include "util_cfgtree.h"
#include <apr_lib.h>
#include <apr_strings.h>
#include <stdlib.h>

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

/* Does a <Limit> or <LimitExcept> leave GET alone (and so HEAD: httpd
 * takes HEAD for GET), the methods the quick handler serves?  Methods
 * are named in their case ("get" is another).  It limits to its methods
 * only the access rules in it (limited()); the rest, an SSLRequire, a
 * WSGIAccessScript, applies to every method (outside attack round 89). */
static int spares_get(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args ? d->args : "", *m;
    int except = sc_tree_is(d, "<LimitExcept"), get = 0;

    if (!except && !sc_tree_is(d, "<Limit")) {
        return 0;
    }
    while (*(m = ap_getword_conf(p, &args))) {
        apr_size_t n = strcspn(m, ">");
        get |= (n == 3 && !strncmp(m, "GET", 3))
               || (n == 4 && !strncmp(m, "HEAD", 4));
    }
    return except ? get : !get;
}

/* A directive a <Limit> limits to its methods: Require and its
 * sections, mod_access_compat's Allow, Deny, Order, and Satisfy. */
static int limited(const ap_directive_t *d)
{
    static const char *const names[] = { "Require",     "<RequireAny",
                                         "<RequireAll", "<RequireNone",
                                         "Allow",       "Deny",
                                         "Order",       "Satisfy",
                                         NULL };

    return sc_reads_word_in(d->directive, strlen(d->directive), names);
}

/* Is a Require line (args) "method ..." or "not method ..."?  httpd
 * takes HEAD for GET: such a rule lets both in or neither (and the probe
 * is a GET). */
static int method_rule(apr_pool_t *p, const char *args)
{
    const char *w = ap_getword_conf(p, &args);

    if (!strcasecmp(w, "not") && !aliased(w)) {
        w = ap_getword_conf(p, &args);
    }
    return !strcasecmp(w, "method") && !aliased(w);
}

/* Access rules that let some clients in and not others: authn/authz, IP,
 * host, env, expr; not "Require all granted|denied", nor "Require
 * method" (httpd takes HEAD for GET: it lets both in or neither, and the
 * probe is a GET), nor the rules of a <Limit> that leaves GET alone. */
static int restricts(apr_pool_t *p, const ap_directive_t *d, int spared)
{
    for (; d; d = d->next) {
        const char *n = d->directive;
        if (spared && limited(d)) {
            continue; /* in a <Limit> that leaves GET alone */
        }
        if (!strcasecmp(n, "Require")) {
            const char *args = d->args, *w, *v;
            if (method_rule(p, d->args)) {
                continue;
            }
            w = ap_getword_conf(p, &args);
            v = ap_getword_conf(p, &args);
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
        else if (d->first_child
                 && restricts(p, d->first_child, spared || spares_get(p, d))) {
            return 1; /* <RequireAny>, <Limit> ... */
        }
    }
    return 0;
}

int sc_quick_restricts(apr_pool_t *p, const ap_directive_t *d)
{
    return restricts(p, d, 0);
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
 * Collected at start-up, read by sc_quick_denies(). */
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

int sc_quick_is_conditional(const ap_directive_t *d)
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
typedef enum { ACTS_NOT, ACTS_MARKS, ACTS_ROUTES, ACTS_REFUSES } acts_t;

/* Does a directive refuse the request: a RewriteRule [F], [G] or with a
 * status that is no redirect, a Redirect gone or with such a status
 * ("Redirect 403" inside an <If>)? */
static int refuses(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args ? d->args : "", *first;

    if (!strcasecmp(d->directive, "RewriteRule")) {
        const char *word[3];
        sc_tree_rewrite_args(p, args, word);
        return sc_rule_refuses(p, word[2]);
    }
    if (!strncasecmp(d->directive, "SSLRequire", 10)
        || !strcasecmp(d->directive, "SSLVerifyClient")) {
        return 1; /* SSLRequireSSL, SSLRequire: a refusal by TLS */
    }
    if (strncasecmp(d->directive, "Redirect", 8)) {
        return 0;
    }
    first = ap_getword_conf(p, &args);
    return !strcasecmp(first, "gone") || sc_status_refuses(first);
}

static acts_t acts_on_request(apr_pool_t *p, const ap_directive_t *d)
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
            a = acts_on_request(p, d->first_child);
        }
        else if (refuses(p, d)) {
            a = ACTS_REFUSES;
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

static int denies(apr_pool_t *p, const ap_directive_t *d, int spared);

/* mod_access_compat's "Deny from all": nobody, or (Order Deny,Allow)
 * only whom an Allow lets in: an allowlist, whose anonymous client the
 * probe is, never a denylist (outside attack round 93 M1). */
static int deny_from_all(apr_pool_t *p, const char *args)
{
    const char *from = ap_getword_conf(p, &args);
    const char *all = ap_getword_conf(p, &args);

    return !strcasecmp(from, "from") && !strcasecmp(all, "all")
           && !*ap_getword_conf(p, &args);
}

/* What a conditional section does to the clients its condition picks:
 * refuses some (any access rule: the URL space it guards cannot be told)
 * or routes them by what they are (SC_IF_DENIES), marks them so
 * (SC_IF_MARKS), routes or marks them by what they send (SC_IF_SENT: said);
 * *chain as sc_quick_cond_reads. */
unsigned sc_quick_if_kind(apr_pool_t *p, const ap_directive_t *d,
                          sc_reads_t *chain)
{
    sc_reads_t reads = sc_quick_cond_reads(p, d, chain);
    acts_t acts = acts_on_request(p, d->first_child);

    /* a refusal on what a client sends too (hotlink protection on the
     * Referer: outside attack round 84 H1), as a RewriteRule's is */
    /* an access rule in one on the URL alone that lets in or refuses
     * every client alike (Require all denied for TRACE) is the probe's;
     * one that denies some clients (a WSGIAccessScript) is not, whatever
     * the condition reads (outside attack round 90 H1) */
    if ((reads == SC_READS_NOTHING ? sc_quick_restricts(p, d->first_child)
                                   : has_access_rule(d->first_child))
        || denies(p, d->first_child, 0)
        || (reads == SC_READS_IS && acts >= ACTS_ROUTES)
        || (reads != SC_READS_NOTHING && acts == ACTS_REFUSES)) {
        return SC_IF_DENIES;
    }
    if (reads == SC_READS_IS && acts == ACTS_MARKS) {
        return SC_IF_MARKS;
    }
    return reads == SC_READS_SENT && acts != ACTS_NOT ? SC_IF_SENT : 0;
}

/* The kinds of the conditional sections of a list, at any depth. */
unsigned sc_quick_if_kinds(apr_pool_t *p, const ap_directive_t *d)
{
    sc_reads_t chain = SC_READS_NOTHING;
    unsigned kinds = 0;

    for (; d; d = d->next) {
        if (sc_quick_is_conditional(d)) {
            kinds |= sc_quick_if_kind(p, d, &chain);
        }
        if (d->first_child) {
            kinds |= sc_quick_if_kinds(p, d->first_child);
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
static int denies(apr_pool_t *p, const ap_directive_t *d, int spared)
{
    if (sc_quick_if_kinds(p, d) & SC_IF_DENIES) {
        return 1;
    }
    for (; d; d = d->next) {
        const char *n = d->directive;
        if (spared && limited(d)) {
            continue; /* in a <Limit> that leaves GET alone */
        }
        if (!strcasecmp(n, "Require")) {
            const char *args = d->args;
            const char *provider = ap_getword_conf(p, &args);
            if (method_rule(p, d->args)) {
                continue;
            }
            if (!positive_provider(provider)
                || (!strcasecmp(provider, "env")
                    && env_removed_later(p, args))) {
                return 1;
            }
        }
        else if (!strcasecmp(n, "Allow") && allow_env_denies(p, d->args)) {
            return 1;
        }
        else if ((!strcasecmp(n, "Deny")
                  && !deny_from_all(p, d->args ? d->args : ""))
                 || !strcasecmp(n, "<RequireNone")
                 || !strcasecmp(n, "SSLRequire") || tls_refusal(d)
                 || !strncasecmp(n, "LuaHook", 7)
                 || !strcasecmp(n, "LuaAuthzProvider")
                 || !strcasecmp(n, "WSGIAccessScript")
                 || !strcasecmp(n, "WSGIAuthGroupScript")) {
            return 1;
        }
        else if (d->first_child
                 && denies(p, d->first_child, spared || spares_get(p, d))) {
            return 1;
        }
    }
    return 0;
}

int sc_quick_denies(apr_pool_t *p, const ap_directive_t *d)
{
    return denies(p, d, 0);
}

void sc_quick_acts_prepare(apr_pool_t *p, const ap_directive_t *tree)
{
    removed_vars = apr_array_make(p, 2, sizeof(const char *));
    collect_removed(p, tree, 0);
    alias_names = apr_array_make(p, 2, sizeof(const char *));
    collect_aliases(p, tree);
}

void sc_quick_acts_done(void)
{
    removed_vars = alias_names = NULL;
}
