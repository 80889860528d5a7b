/*
 * sc_quickrules.c: what a RewriteCond, a RewriteRule's words and flags, an
 * <If>'s expression read of a request, for the start-up check of quick mode
 * (sc_quickroutes.c follows the rules' flow, sc_quickacts.c and
 * sc_quickcheck.c their effects): conditions read by httpd's own
 * expression parser, maps and file tests that change without a reload,
 * the variables only rules on the URL set.
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
 * match str?  Where it does not compile here, it may; where
 * RegexDefaultOptions may have made it blind to case, it may if either
 * way does. */
int sc_rule_pattern_matches(apr_pool_t *p, const char *pattern, const char *str,
                            int nocase)
{
    int negated = *pattern == '!', icase, may = 0;

    for (icase = nocase; icase < 2; icase++) {
        int hit = sc_quick_regex(p, pattern + negated, str, icase);
        may |= hit < 0 || hit != negated;
    }
    return may;
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
    int negated = *pattern == '!', first = -1, icase;
    const char *pat = pattern + negated;

    if (strcasecmp(test, "%{REQUEST_METHOD}") || *pat == '<' || *pat == '>'
        || *pat == '-') {
        return 0; /* another test, or another comparison */
    }
    /* a regex, with RegexDefaultOptions' ICASE where it is or not */
    for (icase = nocase; icase < 2; icase++, first = -1) {
        for (v = methods; *v; v++) {
            int hit = *pat != '=' ? sc_quick_regex(p, pat, *v, icase)
                      : nocase    ? !strcasecmp(pat + 1, *v)
                                  : !strcmp(pat + 1, *v);
            if (hit < 0 || (first >= 0 && hit != first)) {
                return 0;
            }
            first = hit;
        }
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

sc_reads_t sc_rule_text_reads(const char *s)
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
 * other than an int: one (each "${name:", nested ones too)?  A "${" not
 * followed by a plain name and ':' is taken for one (mod_rewrite reads a
 * name up to the first ':' outside braces: "${a{:}:k}" looks up "a{:}";
 * outside attack round 83 L1). */
int sc_rule_reads_map(const char *s)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
    const char *at;

    for (at = strstr(s, "${"); at; at = strstr(at + 2, "${")) {
        const char *name = at + 2;
        apr_size_t len = strspn(name, plain);
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

    if (sc_quick_method_same(p, expr)) {
        return SC_READS_NOTHING;
    }
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
sc_reads_t sc_rule_cond_reads(apr_pool_t *p, const char *test,
                              const char *pattern, int nocase)
{
    if (!strcasecmp(test, "expr")) {
        return expr_reads(p, pattern);
    }
    if (cond_same_for_quick(p, test, pattern, nocase)) {
        return SC_READS_NOTHING;
    }
    return sc_rule_text_reads(test);
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
int sc_rule_cond_state(const char *test, const char *pattern)
{
    static const char tests[] = "dfslLhxFUH";
    apr_size_t own = sc_reads_own_file(test);

    /* an expression's file tests, as a RewriteCond's own (round 77 H1:
     * in a server's rules %{REQUEST_FILENAME} is no file yet) */
    if (!strcasecmp(test, "expr")) {
        int own_tests, n = sc_reads_file_tests(pattern, &own_tests);
        return n == 0 ? 0 : (n > 0 && own_tests == n ? 2 : 1);
    }

    if (sc_rule_reads_map(test)) {
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

int sc_status_refuses(const char *status)
{
    return status && apr_isdigit(*status)
           && (atoi(status) < 300 || atoi(status) > 399);
}

/* Does a RewriteRule's flag list refuse the request: [F], [G], or a
 * status that is not a redirect ([R=403], [redirect=0503])? */
int sc_rule_refuses(apr_pool_t *p, const char *flags)
{
    static const char *const refuse[] = { "f", "forbidden", "g", "gone", NULL };
    static const char *const redirect[] = { "r", "redirect", NULL };

    return sc_tree_rewrite_flag(p, flags, refuse)
           || sc_status_refuses(sc_tree_rewrite_flag_value(p, flags, redirect));
}

/* Does a RewriteRule's flag list decide whether the rules after it run:
 * [C] (a chain: the next rule runs only if this one matched), [S=n],
 * [L], [END], [N]? */
int sc_rule_flow_flags(apr_pool_t *p, const char *flags)
{
    static const char *const flow[] = { "c",    "chain", "s", "skip", "l",
                                        "last", "end",   "n", "next", NULL };

    return sc_tree_rewrite_flag(p, flags, flow);
}

/* Does it end the rules for a request it matches ([L], [END])? */
int sc_rule_stops(apr_pool_t *p, const char *flags)
{
    static const char *const stop[] = { "l", "last", "end", NULL };

    return sc_tree_rewrite_flag(p, flags, stop);
}

int sc_rule_nocase(apr_pool_t *p, const char *flags)
{
    static const char *const nc[] = { "nc", "nocase", NULL };

    return sc_tree_rewrite_flag(p, flags, nc);
}

/* How many of the rules after a RewriteRule (its arguments args) its
 * match decides on: the next with [C], n with [S=n]. */
int sc_rule_reached(apr_pool_t *p, const char *args)
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
            r = sc_rule_cond_reads(p, word[0], word[1],
                                   sc_rule_nocase(p, word[2]));
            /* a file test or a map: what changes without a reload is no
             * URL's (round 78 H1) */
            if (sc_rule_cond_state(word[0], word[1])) {
                r = SC_READS_IS;
            }
            reads = r > reads ? r : reads;
        }
        else if (!strcasecmp(n, "RewriteRule")) {
            const char *word[3];
            apr_array_header_t *set;
            int i;
            sc_tree_rewrite_args(p, d->args, word);
            if (sc_rule_text_reads(word[1]) > reads) {
                reads = sc_rule_text_reads(word[1]);
            }
            if (sc_rule_text_reads(word[2]) > reads) {
                reads = sc_rule_text_reads(word[2]);
            }
            if (sc_rule_reads_map(word[1]) || sc_rule_reads_map(word[2])) {
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
            i = reads ? sc_rule_reached(p, d->args) : 0;
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
