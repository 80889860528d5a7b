/*
 * sc_quickroutes.c: the sections quick mode cannot key as httpd would
 * route: RewriteRules that route by what the client sends, and sections
 * that derive variables or headers from it (read from the configuration
 * tree at start-up, for sc_quickcheck.c's warnings and refusals).
 */
#include "sc_conftree.h"
#include "sc_reads.h"

#include "http_core.h"
#include "ap_expr.h"
#include "http_log.h"
#include "ap_regex.h"
#include "util_cfgtree.h"
#include <apr_lib.h>
#include <apr_strings.h>
#include <stdlib.h>

/* Does pattern (a RewriteRule's or RewriteCond's regex, "!" negating it)
 * match str?  Where it does not compile here, it may. */
static int pattern_matches(apr_pool_t *p, const char *pattern, const char *str,
                           int nocase)
{
    int negated = *pattern == '!';
    ap_regex_t *re = ap_pregcomp(p, pattern + negated,
                                 AP_REG_EXTENDED | (nocase ? AP_REG_ICASE : 0));

    if (!re) {
        return 1;
    }
    return (ap_regexec(re, str, 0, NULL, 0) == 0) != negated;
}

/* Is a RewriteCond on the method (test is exactly %{REQUEST_METHOD}) the
 * same for every request the quick handler serves (GET, and HEAD, which
 * it serves as a GET): a regex or "=" comparison that both pass or both
 * fail (a refusal of TRACE or POST never refuses them)?  (The protocol
 * is not known so: httpd takes HTTP/1.2 as well as HTTP/1.1.) */
static int cond_same_for_quick(apr_pool_t *p, const char *test,
                               const char *pattern, int nocase)
{
    static const char *const methods[] = { "GET", "HEAD", NULL };
    const char *const *v;
    int negated = *pattern == '!', first = -1;
    const char *pat = pattern + negated;

    if (strcasecmp(test, "%{REQUEST_METHOD}") || *pat == '<' || *pat == '>'
        || *pat == '-') {
        return 0; /* another test, or another comparison */
    }
    for (v = methods; *v; v++) {
        int hit = *pat == '=' ? !(nocase ? strcasecmp(pat + 1, *v)
                                         : strcmp(pat + 1, *v))
                              : pattern_matches(p, pat, *v, nocase);
        if (first >= 0 && hit != first) {
            return 0;
        }
        first = hit;
    }
    return 1;
}

/* The variables that only rules on the URL set (a RewriteRule's E=
 * whose conditions read nothing of the client: Symfony's BASE), while
 * the start-up check runs (sc_quick_routes_prepare); NULL: none known. */
static apr_array_header_t *url_vars;

/* url_vars as sc_reads.h takes it: NULL ended, or NULL. */
static const char *const *url_only(void)
{
    return url_vars ? (const char *const *)(void *)url_vars->elts : NULL;
}

static sc_reads_t text_reads(const char *s)
{
    return sc_reads_text(s, url_only());
}

/* The RewriteMaps that every definition of their name makes int: (tolower,
 * toupper, escape, unescape): a function of the key it is given, which
 * changes with no file nor program; the others' values change without a
 * reload (sc_quick_routes_prepare, NULL ended). */
static apr_array_header_t *int_maps;

static void collect_maps(apr_pool_t *p, const ap_directive_t *d,
                         apr_array_header_t *pure, apr_array_header_t *other)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "RewriteMap") && d->args) {
            const char *args = d->args;
            const char *name = ap_getword_conf(p, &args);
            const char *type = ap_getword_conf(p, &args);
            *(const char **)apr_array_push(
                strncasecmp(type, "int:", 4) ? other : pure) = name;
        }
        if (d->first_child) {
            collect_maps(p, d->first_child, pure, other);
        }
    }
}

/* Does a RewriteRule's or RewriteCond's text look a value up in a map
 * other than an int: one (each "${name:", nested ones too; a "${" with no
 * name ended by ':' is taken for one)? */
static int reads_map(const char *s)
{
    const char *at;

    for (at = strstr(s, "${"); at; at = strstr(at + 2, "${")) {
        const char *name = at + 2;
        apr_size_t len = strcspn(name, ":}");
        if (name[len] != ':' || !int_maps
            || !sc_reads_word_in(name, len,
                                 (const char *const *)(void *)int_maps->elts)) {
            return 1;
        }
    }
    return 0;
}

/* What httpd's own parser meets in an expression: the most its
 * variables, functions and operators read, and how many file tests it
 * makes (which file each reads, the parser does not say). */
typedef struct {
    sc_reads_t most;
    int file_tests;
} parsed_t;

#define PARSED_KEY "sharedcache-quick-parsed"

/* The lookup httpd's parser makes of every variable, function and
 * operator of an expression: noted, then resolved as httpd resolves it
 * (an unknown name fails the parse, as in httpd). */
static int note_lookup(ap_expr_lookup_parms *parms)
{
    parsed_t *pd = NULL;
    const char *name = parms->name;
    apr_size_t len = strlen(name);
    sc_reads_t r;

    (void)apr_pool_userdata_get((void **)&pd, PARSED_KEY, parms->ptemp);
    switch (parms->type) {
    case AP_EXPR_FUNC_VAR:
        r = sc_reads_var(name, len, url_only());
        break;
    case AP_EXPR_FUNC_STRING:
    case AP_EXPR_FUNC_LIST:
        r = sc_reads_function(name, len);
        /* %{ENV:NAME}, reqenv('NAME'): read as mod_rewrite's %{ENV:NAME}
         * (httpd's REDIRECT_STATUS, a variable only URL rules set) */
        if (parms->arg
            && (!strcasecmp(name, "env") || !strcasecmp(name, "reqenv"))) {
            const char *v = apr_pstrcat(parms->ptemp, "ENV:", parms->arg, NULL);
            r = sc_reads_var(v, strlen(v), url_only());
        }
        break;
    case AP_EXPR_FUNC_OP_UNARY:
    case AP_EXPR_FUNC_OP_BINARY:
        r = sc_reads_operator(name, len);
        if (len == 1 && strchr("defsLhx", *name) && pd) {
            /* a file test: of a file named as it is, another file than
             * the request's; else sc_reads_file_tests says */
            pd->file_tests++;
            r = parms->arg ? SC_READS_IS : SC_READS_NOTHING;
        }
        break;
    default:
        r = SC_READS_IS;
    }
    if (pd && r > pd->most) {
        pd->most = r;
    }
    return ap_expr_lookup_default(parms);
}

/* What an ap_expr condition (an <If>'s, a RewriteCond expr's) reads, as
 * httpd's own parser reads it: no reading of its own can take a token
 * for another.  Which file a file test reads is sc_reads_file_tests's
 * (the request's own: nothing), where both count the same tests.  One
 * httpd cannot parse here reads what a client is. */
static sc_reads_t expr_reads(apr_pool_t *p, const char *expr)
{
    parsed_t pd = { SC_READS_NOTHING, 0 };
    ap_expr_info_t info;
    apr_pool_t *tmp;
    const char *err;
    int tests, own;

    if (apr_pool_create(&tmp, p) != APR_SUCCESS) {
        return SC_READS_IS;
    }
    apr_pool_userdata_setn(&pd, PARSED_KEY, NULL, tmp);
    memset(&info, 0, sizeof(info));
    info.module_index = APLOG_NO_MODULE;
    err = ap_expr_parse(tmp, tmp, &info, expr, note_lookup);
    apr_pool_destroy(tmp);
    tests = sc_reads_file_tests(expr, &own);
    if (err || tests != pd.file_tests || own != tests) {
        return SC_READS_IS;
    }
    return pd.most;
}

/* What a RewriteCond's test may differ by from client to client (an
 * "expr" condition's pattern is an ap_expr, read as an <If>'s; a
 * condition on the method that is the same for GET and HEAD, nothing). */
static sc_reads_t cond_reads(apr_pool_t *p, const char *test,
                             const char *pattern, int nocase)
{
    if (!strcasecmp(test, "expr")) {
        return expr_reads(p, pattern);
    }
    if (cond_same_for_quick(p, test, pattern, nocase)) {
        return SC_READS_NOTHING;
    }
    return text_reads(test);
}

/* The condition of a conditional section as httpd reads it: its
 * arguments up to the last '>', one word of the configuration (quotes
 * and their escapes taken off). */
static const char *condition_of(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args ? d->args : "";
    const char *end = strrchr(args, '>');
    const char *word = apr_pstrndup(
        p, args, end ? (apr_size_t)(end - args) : strlen(args));

    return ap_getword_conf(p, &word);
}

sc_reads_t sc_quick_cond_reads(apr_pool_t *p, const ap_directive_t *d,
                               sc_reads_t *chain)
{
    /* <Else> holds when those before it in its chain do not; <ElseIf>
     * when its own condition holds and theirs do not */
    sc_reads_t r = sc_tree_is(d, "<Else") ? SC_READS_NOTHING
                                          : expr_reads(p, condition_of(p, d));

    if (sc_tree_is(d, "<If") || r > *chain) {
        *chain = r;
    }
    return *chain;
}

/* A RewriteCond that reads what may change without a reload: a
 * RewriteMap (its file, database or program) or the file system (-f, -d,
 * -s, -l, -L, -h, -x, -F, -U).  A refusal on it may start to refuse a URL
 * whose quick-servable entries were marked before (t/quick_reload.t): the
 * configuration's tag cannot see it.  1: a map, or a file test of
 * another file than the request's own (a flag file); 2: a test of the
 * request's own file only (%{REQUEST_FILENAME}: a front controller's
 * route, which serves the same entry to everyone). */
static int cond_reads_state(const char *test, const char *pattern)
{
    static const char tests[] = "dfslLhxFUH";
    apr_size_t own = sc_reads_own_file(test);

    /* an expression's file tests, as a RewriteCond's own (round 77 H1:
     * in a server's rules %{REQUEST_FILENAME} is no file yet) */
    if (!strcasecmp(test, "expr")) {
        int own_tests, n = sc_reads_file_tests(pattern, &own_tests);
        return n == 0 ? 0 : (n > 0 && own_tests == n ? 2 : 1);
    }

    if (reads_map(test)) {
        return 1;
    }
    if (*pattern == '!') {
        pattern++;
    }
    if (!(pattern[0] == '-' && pattern[1] && strchr(tests, pattern[1])
          && pattern[2] == '\0')) {
        return 0;
    }
    return own && test[own] == '\0' ? 2 : 1;
}

/* Does a RewriteRule's flag list refuse the request: [F], [G], or a
 * status that is not a redirect ([R=403], [redirect=0503])? */
static int refusing_flags(apr_pool_t *p, const char *flags)
{
    static const char *const refuse[] = { "f", "forbidden", "g", "gone", NULL };
    static const char *const redirect[] = { "r", "redirect", NULL };
    const char *status = sc_tree_rewrite_flag_value(p, flags, redirect);

    if (sc_tree_rewrite_flag(p, flags, refuse)) {
        return 1;
    }
    if (status && apr_isdigit(*status)) {
        int code = atoi(status);
        return code < 300 || code > 399;
    }
    return 0;
}

/* Does a RewriteRule's flag list decide whether the rules after it run:
 * [C] (a chain: the next rule runs only if this one matched), [S=n],
 * [L], [END], [N]? */
static int flow_flags(apr_pool_t *p, const char *flags)
{
    static const char *const flow[] = { "c",    "chain", "s", "skip", "l",
                                        "last", "end",   "n", "next", NULL };

    return sc_tree_rewrite_flag(p, flags, flow);
}

/* Does it end the rules for a request it matches ([L], [END])? */
static int stop_flags(apr_pool_t *p, const char *flags)
{
    static const char *const stop[] = { "l", "last", "end", NULL };

    return sc_tree_rewrite_flag(p, flags, stop);
}

static int nocase_flag(apr_pool_t *p, const char *flags)
{
    static const char *const nc[] = { "nc", "nocase", NULL };

    return sc_tree_rewrite_flag(p, flags, nc);
}

/* The one path a RewriteRule's pattern matches ("^$", "^remote\.php$"),
 * or NULL for a pattern that matches more. */
static const char *literal_path(apr_pool_t *p, const char *pattern)
{
    apr_size_t len = strlen(pattern), i;
    char *out, *o;

    if (len < 2 || pattern[0] != '^' || pattern[len - 1] != '$'
        || (len > 2 && pattern[len - 2] == '\\')) {
        return NULL;
    }
    out = o = apr_palloc(p, len);
    for (i = 1; i < len - 1; i++) {
        if (pattern[i] == '\\') {
            if (apr_isalnum(pattern[++i])) {
                return NULL; /* \d, \w ... */
            }
        }
        else if (strchr(".[]()*+?{}|^$", pattern[i])) {
            return NULL;
        }
        *o++ = pattern[i];
    }
    *o = '\0';
    return out;
}

/* The earlier rules of a list (and its <IfModule>s) that decide on the
 * client, a map or a flag file whether or where the rules after them
 * run: [C], [S], [L], [END], [N], or a rewrite of the URL.  A refusal
 * after one is reached by some clients and not others, whatever its own
 * conditions read, unless it cannot match the one path such a rule
 * matches (Nextcloud's DavClnt rule on "^$" before its [R=404]s). */
typedef struct {
    const char *path; /* the one path a rule decides on */
    int nocase;       /* ... in any case ([NC]) */
} decided_t;

typedef struct {
    int any;                   /* one may decide on any path */
    apr_array_header_t *paths; /* decided_t: what each other one decides */
} flow_t;

static flow_t *flow_new(apr_pool_t *p, const flow_t *from)
{
    flow_t *f = apr_pcalloc(p, sizeof(*f));

    f->any = from && from->any;
    f->paths = from ? apr_array_copy(p, from->paths)
                    : apr_array_make(p, 2, sizeof(decided_t));
    return f;
}

/* May a rule of this pattern match a path an earlier rule decided on? */
static int flow_reaches(apr_pool_t *p, const flow_t *flow, const char *pattern,
                        int nocase)
{
    int i;

    if (flow->any) {
        return 1;
    }
    for (i = 0; i < flow->paths->nelts; i++) {
        const decided_t *dp = &APR_ARRAY_IDX(flow->paths, i, decided_t);
        if (pattern_matches(p, pattern, dp->path, nocase || dp->nocase)) {
            return 1;
        }
    }
    return 0;
}

/* The walk: the lists found so far, and the main server's rules (a
 * virtual host with RewriteOptions Inherit runs them too). */
typedef struct {
    apr_pool_t *p;
    const ap_directive_t *top;
    const flow_t *server; /* the flow at the end of the main server's rules */
    int inherit_down;     /* RewriteOptions InheritDown[Before] there */
    apr_array_header_t *routes, *denying;
    /* where a per-directory list says RewriteOptions Inherit*: the
     * decisions of every per-directory list (mod_rewrite joins a
     * section's rules to those of the sections it inherits), gathered
     * first (gathering) */
    flow_t *perdir;
    int gathering;
    /* walking a per-directory list; and (ends) a server's or a host's
     * rule ends all rewriting, the per-directory lists' too ([END]), on
     * the client, a map or a flag file: every per-directory list is
     * reached by it (outside attack round 81 H1) */
    int section, ends;
} walk_t;

static void push_once(walk_t *w, apr_array_header_t *list,
                      const ap_directive_t *d, const ap_directive_t *vhost)
{
    int i;

    if (!list) {
        return;
    }
    for (i = 0; i < list->nelts; i++) {
        if (APR_ARRAY_IDX(list, i, sc_section_t).section == d) {
            return;
        }
    }
    sc_tree_push(w->p, list, d, vhost);
}

/* Does a list say RewriteOptions kind... (Inherit: any of its kinds)? */
static int inherits(apr_pool_t *p, const ap_directive_t *d, const char *kind)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "RewriteOptions") && d->args) {
            const char *args = d->args, *word;
            while (*(word = ap_getword_conf(p, &args))) {
                if (!strncasecmp(word, kind, strlen(kind))) {
                    return 1;
                }
            }
        }
    }
    return 0;
}

/* Does a section's list (in_section), at any depth, say RewriteOptions
 * Inherit* (a server's or a virtual host's own list is inherits()')? */
static int section_inherits(apr_pool_t *p, const ap_directive_t *d,
                            int in_section)
{
    for (; d; d = d->next) {
        if (d->first_child) {
            int section = in_section
                          || !(sc_tree_is(d, "<VirtualHost")
                               || sc_tree_is(d, "<IfModule")
                               || sc_tree_is(d, "<IfDefine"));
            if ((section && inherits(p, d->first_child, "Inherit"))
                || section_inherits(p, d->first_child, section)) {
                return 1;
            }
        }
    }
    return 0;
}

/* Does a rule send whom it matches away for good: an external redirect
 * ([R], [R=301], [redirect=permanent]) to a substitution (with "-"
 * mod_rewrite redirects nowhere: the flags end the rules, nothing more)
 * that ends the rules ([L], [END]) outside a chain?  Whom it matches gets
 * a redirect, never a page; whom it does not reaches the next rules as if
 * it were not there. */
static int sends_away(apr_pool_t *p, const char *subst, const char *flags)
{
    static const char *const redirect[] = { "r", "redirect", NULL };
    static const char *const chain[] = { "c", "chain", NULL };

    return strcmp(subst, "-") && sc_tree_rewrite_flag(p, flags, redirect)
           && !refusing_flags(p, flags) && stop_flags(p, flags)
           && !sc_tree_rewrite_flag(p, flags, chain);
}

/* What the RewriteConds before a rule read: the most of what they may
 * differ by (reads), whether one reads a map or the file system
 * (state), another file than the request's own (flag_file). */
typedef struct {
    sc_reads_t reads;
    int state, flag_file;
} conds_t;

static void cond_seen(apr_pool_t *p, const ap_directive_t *d, conds_t *c)
{
    const char *word[3];
    int st;
    sc_reads_t r;

    sc_tree_rewrite_args(p, d->args, word);
    st = cond_reads_state(word[0], word[1]);
    r = cond_reads(p, word[0], word[1], nocase_flag(p, word[2]));
    if (r > c->reads) {
        c->reads = r;
    }
    c->state |= st != 0;
    c->flag_file |= st == 1;
}

/* A RewriteRule, c its conditions: a route, a refusal, or a decision that
 * reaches a later rule's refusal (flow).  Did it decide on a map or a
 * flag file? */
static int rule_seen(walk_t *w, const ap_directive_t *d,
                     const ap_directive_t *vhost, flow_t *flow,
                     const conds_t *c)
{
    static const char *const env_flag[] = { "e", "env", NULL };
    static const char *const end[] = { "end", NULL };
    apr_pool_t *p = w->p;
    const char *word[3];
    const char *pattern, *subst, *flags;
    apr_array_header_t *sets;
    sc_reads_t reads = c->reads, own;
    int nc, deny, rewrites, i, on_state;

    sc_tree_rewrite_args(p, d->args, word);
    pattern = word[0];
    subst = word[1];
    flags = word[2];
    nc = nocase_flag(p, flags);
    deny = refusing_flags(p, flags);
    rewrites = strcmp(subst, "-") && !stop_flags(p, flags);
    /* and what the rule makes of the client: a variable it sets to what
     * the client is (one set to a header it sends is what the header is:
     * Nextcloud's HTTP_AUTHORIZATION), a route a map of it gives (a
     * redirect's target does not matter: whom it matches gets no page) */
    own = text_reads(flags) == SC_READS_IS ? SC_READS_IS : SC_READS_NOTHING;
    if (!sends_away(p, subst, flags) && text_reads(subst) > own) {
        own = text_reads(subst);
    }
    if (own > reads) {
        reads = own;
    }

    /* a refusal on a map or the file system, or reached by an earlier
     * rule's decision: it may refuse an anonymous client later, without a
     * reload, or refuse some clients only */
    if (!reads && deny && (c->state || flow_reaches(p, flow, pattern, nc))) {
        push_once(w, w->denying, d, vhost);
    }
    /* a route or a variable by a map or a flag file: where it leads (a
     * section that refuses, a variable a later rule or the application
     * refuses on) may change without a reload, as a refusal on it: also
     * an external redirect that ends the rules, also with [L] (rounds 78
     * and 79 H1) */
    on_state = c->flag_file || reads_map(subst) || reads_map(flags);
    if (!reads && on_state
        && (strcmp(subst, "-") || deny
            || ((sets = sc_tree_rewrite_flag_values(p, flags, env_flag))
                && sets->nelts > 0))) {
        push_once(w, w->denying, d, vhost);
    }
    /* on what a client sends or is: a route, or a refusal (whether it
     * refuses an anonymous client too cannot be told from here: a hotlink
     * rule refuses only a foreign Referer).  A route by what a client is
     * may be a refusal too: to a section that refuses, to a block page, a
     * variable the application refuses on; the probe, an anonymous
     * client, is not the client it picks. */
    if (reads) {
        push_once(w, deny || reads == SC_READS_IS ? w->denying : w->routes, d,
                  vhost);
    }
    /* a rewrite that goes on may turn a decided path into any */
    for (i = 0; rewrites && i < flow->paths->nelts; i++) {
        const decided_t *dp = &APR_ARRAY_IDX(flow->paths, i, decided_t);
        if (pattern_matches(p, pattern, dp->path, nc || dp->nocase)) {
            flow->any = 1;
        }
    }
    if ((reads || c->flag_file) && !w->section && !sends_away(p, subst, flags)
        && sc_tree_rewrite_flag(p, flags, end)) {
        w->ends = 1;
    }
    if ((reads || c->flag_file) && !sends_away(p, subst, flags)
        && (flow_flags(p, flags) || strcmp(subst, "-"))) {
        const char *path = literal_path(p, pattern);
        static const char *const next[] = { "n", "next", NULL };
        if (!path || rewrites || sc_tree_rewrite_flag(p, flags, next)) {
            flow->any = 1;
        }
        else {
            decided_t *dp = apr_array_push(flow->paths);
            dp->path = path;
            dp->nocase = nc;
        }
    }
    return on_state;
}

/* How many of the rules after a RewriteRule (its arguments args) its
 * match decides on: the next with [C], n with [S=n]. */
static int rules_reached(apr_pool_t *p, const char *args)
{
    static const char *const chain[] = { "c", "chain", NULL };
    static const char *const skip[] = { "s", "skip", NULL };
    const char *word[3];
    const char *n;

    sc_tree_rewrite_args(p, args, word);
    if (sc_tree_rewrite_flag(p, word[2], chain)) {
        return 1;
    }
    n = sc_tree_rewrite_flag_value(p, word[2], skip);
    return n ? atoi(n) : 0;
}

/* Walk one list of rules (descend: and the sections in it). */
static void quick_routes(walk_t *w, const ap_directive_t *d,
                         const ap_directive_t *vhost, flow_t *flow, int descend)
{
    apr_pool_t *p = w->p;
    conds_t c = { SC_READS_NOTHING, 0, 0 }; /* of the rule to come */
    int reached = 0; /* rules a decision on state still reaches ([C], [S]) */

    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "RewriteCond")) {
            cond_seen(p, d, &c);
        }
        else if (!strcasecmp(d->directive, "RewriteRule")) {
            int n = rule_seen(w, d, vhost, flow, &c) ? rules_reached(p, d->args)
                                                     : 0;
            reached = reached > 0 ? reached - 1 : 0;
            reached = n > reached ? n : reached;
            memset(&c, 0, sizeof(c));
            c.state = c.flag_file = reached > 0;
        }
        else if (d->first_child
                 && (sc_tree_is(d, "<IfModule")
                     || sc_tree_is(d, "<IfDefine"))) {
            /* only wrap the rules of this list */
            quick_routes(w, d->first_child, vhost, flow, descend);
        }
        else if (d->first_child && descend && sc_tree_is(d, "<VirtualHost")) {
            /* RewriteOptions Inherit: the main server's rules run before
             * (InheritBefore) or after (Inherit) the host's own: either
             * way, each list's decisions reach the other's refusals */
            int inherit = w->inherit_down
                          || inherits(p, d->first_child, "Inherit");
            flow_t *inner = flow_new(p, inherit ? w->server : NULL);
            quick_routes(w, d->first_child, d, inner, 1);
            if (inherit) {
                quick_routes(w, w->top, d, flow_new(p, inner), 0);
            }
        }
        else if (d->first_child && descend) {
            /* a section's list; where per-directory lists inherit, each
             * reached by the decisions of all (outside attack round 80) */
            flow_t *f = !w->perdir     ? flow_new(p, NULL)
                        : w->gathering ? w->perdir
                                       : flow_new(p, w->perdir);
            int section = w->section;
            f->any |= w->ends;
            w->section = 1;
            quick_routes(w, d->first_child, vhost, f, 1);
            w->section = section;
        }
    }
}

/* The variables set by a rule of the configuration: by a RewriteRule's
 * E= whose conditions and own words read nothing of the client (into
 * url), by anything else (into other: SetEnv, SetEnvIf, BrowserMatch,
 * PassEnv, UnsetEnv, an E= on the client).  *any: an E= whose name is
 * expanded at run time may set any. */
static void collect_setters(apr_pool_t *p, const ap_directive_t *d,
                            apr_array_header_t *url, apr_array_header_t *other,
                            int *any)
{
    static const char *const env[] = { "e", "env", NULL };
    sc_reads_t reads = SC_READS_NOTHING, carried = SC_READS_NOTHING;
    int reached = 0;

    for (; d; d = d->next) {
        const char *n = d->directive;
        if (!strcasecmp(n, "RewriteCond")) {
            const char *word[3];
            sc_reads_t r;
            sc_tree_rewrite_args(p, d->args, word);
            r = cond_reads(p, word[0], word[1], nocase_flag(p, word[2]));
            /* a file test or a map: what changes without a reload is no
             * URL's (round 78 H1) */
            if (cond_reads_state(word[0], word[1])) {
                r = SC_READS_IS;
            }
            reads = r > reads ? r : reads;
        }
        else if (!strcasecmp(n, "RewriteRule")) {
            const char *word[3];
            apr_array_header_t *set;
            int i;
            sc_tree_rewrite_args(p, d->args, word);
            if (text_reads(word[1]) > reads) {
                reads = text_reads(word[1]);
            }
            if (text_reads(word[2]) > reads) {
                reads = text_reads(word[2]);
            }
            if (reads_map(word[1]) || reads_map(word[2])) {
                reads = SC_READS_IS; /* a map's value */
            }
            set = sc_tree_rewrite_flag_values(p, word[2], env);
            for (i = 0; set && i < set->nelts; i++) {
                const char *v = APR_ARRAY_IDX(set, i, const char *);
                const char *colon = strchr(v, ':');
                const char *name =
                    colon ? apr_pstrmemdup(p, v, (apr_size_t)(colon - v)) : v;
                name += *name == '!';
                if (strpbrk(name, "%$\\")) {
                    *any = 1;
                }
                *(const char **)apr_array_push(reads ? other : url) = name;
            }
            /* what a rule read reaches the rules its match decides on
             * ([C], [S=n]: round 79 H1) */
            i = reads ? rules_reached(p, d->args) : 0;
            reached = reached > 0 ? reached - 1 : 0;
            if (i > reached) {
                reached = i;
                carried = reads;
            }
            reads = reached > 0 ? carried : SC_READS_NOTHING;
        }
        else if (d->args
                 && (!strncasecmp(n, "SetEnv", 6) || !strcasecmp(n, "PassEnv")
                     || !strcasecmp(n, "UnsetEnv")
                     || !strncasecmp(n, "BrowserMatch", 12))) {
            /* every word, as a name (with its "!" and "=value" cut) */
            const char *args = d->args, *w;
            while (*(w = ap_getword_conf(p, &args))) {
                const char *eq = strchr(w, '=');
                w = eq ? apr_pstrmemdup(p, w, (apr_size_t)(eq - w)) : w;
                *(const char **)apr_array_push(other) = w + (*w == '!');
            }
        }
        if (d->first_child) {
            collect_setters(p, d->first_child, url, other, any);
        }
    }
}

void sc_quick_routes_prepare(apr_pool_t *p, const ap_directive_t *tree)
{
    apr_array_header_t *url = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *other = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *pure = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *maps = apr_array_make(p, 2, sizeof(const char *));
    int any = 0, i;

    url_vars = NULL;
    collect_maps(p, tree, pure, maps);
    *(const char **)apr_array_push(maps) = NULL;
    int_maps = apr_array_make(p, pure->nelts + 1, sizeof(const char *));
    for (i = 0; i < pure->nelts; i++) {
        const char *name = APR_ARRAY_IDX(pure, i, const char *);
        if (!sc_reads_word_in(name, strlen(name),
                              (const char *const *)(void *)maps->elts)) {
            *(const char **)apr_array_push(int_maps) = name;
        }
    }
    *(const char **)apr_array_push(int_maps) = NULL;
    collect_setters(p, tree, url, other, &any);
    if (any) {
        return;
    }
    *(const char **)apr_array_push(other) = NULL;
    url_vars = apr_array_make(p, url->nelts + 1, sizeof(const char *));
    for (i = 0; i < url->nelts; i++) {
        const char *name = APR_ARRAY_IDX(url, i, const char *);
        if (!sc_reads_word_in(name, strlen(name),
                              (const char *const *)(void *)other->elts)) {
            *(const char **)apr_array_push(url_vars) = name;
        }
    }
    *(const char **)apr_array_push(url_vars) = NULL;
}

/* RewriteRules that send a request elsewhere (not [F], [G]) depending on
 * what a client sends (cond_reads), anywhere in the configuration: the
 * quick handler keys a request before they run; and (denying) those that
 * refuse some clients, route or mark them by what they are, or may
 * refuse later without a reload. */
void sc_quick_routes(apr_pool_t *p, const ap_directive_t *d,
                     const ap_directive_t *vhost, apr_array_header_t *routes,
                     apr_array_header_t *denying)
{
    walk_t w = { p, d, NULL, 0, NULL, NULL, NULL, 0, 0, 0 };
    flow_t *server = flow_new(p, NULL);

    /* the main server's own rules first, for the hosts that inherit
     * them */
    quick_routes(&w, d, vhost, server, 0);
    w.server = server;
    w.inherit_down = inherits(p, d, "InheritDown");
    /* then what every list decides: whether a server's or a host's
     * [END] ends the per-directory lists, and where per-directory lists
     * inherit, what all of them decide */
    if (section_inherits(p, d, 0)) {
        w.perdir = flow_new(p, NULL);
    }
    w.gathering = 1;
    quick_routes(&w, d, vhost, flow_new(p, NULL), 1);
    w.gathering = 0;
    w.routes = routes;
    w.denying = denying;
    quick_routes(&w, d, vhost, flow_new(p, NULL), 1);
}

/* What mod_setenvif's attribute (SetEnvIf's first word) reads: the
 * client's or the local address, a variable (mod_geoip's country, one an
 * earlier SetEnvIf set), or what the client sends (a header, a regex of
 * header names, the request line). */
static sc_reads_t setenvif_reads(apr_pool_t *p, const ap_directive_t *d)
{
    static const char *const is[] = { "Remote_Addr", "Remote_Host",
                                      "Server_Addr", NULL };
    const char *args = d->args ? d->args : "";
    const char *attr = ap_getword_conf(p, &args);
    const char *const *v;
    const char *c;

    if (!strcasecmp(d->directive, "SetEnvIfExpr")) {
        return SC_READS_IS;
    }
    if (!strncasecmp(d->directive, "BrowserMatch", 12)) {
        return SC_READS_SENT;
    }
    for (v = is; *v; v++) {
        if (!strcasecmp(attr, *v)) {
            return SC_READS_IS;
        }
    }
    for (c = attr; *c && (apr_isalnum(*c) || *c == '_'); c++) {
    }
    return !*c && strchr(attr, '_') && strncasecmp(attr, "Request_", 8)
               ? SC_READS_IS
               : SC_READS_SENT;
}

/* What mod_headers' RequestHeader derives from: a condition (its last
 * word, after the value and an edit's replacement) that is an expression
 * may pick the clients it marks by what they are; a value of the client
 * (a %-variable, an expression: "expr=%{REMOTE_ADDR}") or a condition on
 * a variable differs from client to client like what they send: the
 * probe's own value is not the storing client's, and keeps the entry out
 * of the quick phase. */
static sc_reads_t request_header_reads(apr_pool_t *p, const char *args)
{
    const char *word[5] = { "", "", "", "", "" };
    const char *cond;
    int n, at;

    for (n = 0; n < 5 && *args; n++) {
        word[n] = ap_getword_conf(p, &args);
    }
    at = !strcasecmp(word[0], "unset")      ? 2
         : !strncasecmp(word[0], "edit", 4) ? 4
                                            : 3;
    cond = word[at];
    if (!strcasecmp(cond, "early")) {
        return SC_READS_NOTHING; /* before the quick phase: in its key */
    }
    if (!strncasecmp(cond, "expr=", 5)) {
        return SC_READS_IS;
    }
    if (!strncasecmp(cond, "env=", 4) || strchr(word[2], '%')
        || !strncasecmp(word[2], "expr=", 5)
        || (at == 4 && strchr(word[3], '%'))) {
        return SC_READS_SENT;
    }
    return SC_READS_NOTHING;
}

/* What a section derives from the request after the quick phase: a
 * per-directory SetEnvIf or BrowserMatch, a RequestHeader with env=,
 * expr= or a %-variable (anywhere: it runs at fixups).  The quick phase
 * keys a request before they run: those on what a client sends go into
 * said, those on what it is (marking, perhaps, the clients an application
 * refuses) into refused. */
void sc_quick_derivers(apr_pool_t *p, const ap_directive_t *d,
                       const ap_directive_t *vhost, int in_section,
                       apr_array_header_t *said, apr_array_header_t *refused)
{
    for (; d; d = d->next) {
        const char *n = d->directive;
        sc_reads_t reads = SC_READS_NOTHING;

        if (in_section
            && (!strncasecmp(n, "SetEnvIf", 8)
                || !strncasecmp(n, "BrowserMatch", 12))) {
            reads = setenvif_reads(p, d);
        }
        else if (!strcasecmp(n, "RequestHeader") && d->args) {
            reads = request_header_reads(p, d->args);
        }
        if (reads != SC_READS_NOTHING) {
            apr_array_header_t *list = reads == SC_READS_IS ? refused : said;
            if (list) {
                sc_tree_push(p, list, d, vhost);
            }
        }
        if (d->first_child && sc_tree_is(d, "<VirtualHost")) {
            sc_quick_derivers(p, d->first_child, d, 0, said, refused);
        }
        else if (d->first_child) {
            /* <IfModule> and <IfDefine> only wrap what they hold */
            int wraps = sc_tree_is(d, "<IfModule")
                        || sc_tree_is(d, "<IfDefine");
            sc_quick_derivers(p, d->first_child, vhost, in_section || !wraps,
                              said, refused);
        }
    }
}

/* mod_headers' Header with a condition (env=, expr=): evaluated for each
 * response, so for a stored entry only for the client whose request
 * stored it; a quick hit (or a page that includes the fragment directly)
 * carries the stored headers to any other client. */
void sc_quick_header_conditions(apr_pool_t *p, const ap_directive_t *d,
                                const ap_directive_t *vhost,
                                apr_array_header_t *found)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "Header") && d->args
            && (ap_strstr_c(d->args, "env=")
                || ap_strstr_c(d->args, "expr="))) {
            sc_tree_push(p, found, d, vhost);
        }
        if (d->first_child) {
            sc_quick_header_conditions(
                p, d->first_child, sc_tree_is(d, "<VirtualHost") ? d : vhost,
                found);
        }
    }
}
