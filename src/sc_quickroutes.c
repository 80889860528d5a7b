/*
 * sc_quickroutes.c: the RewriteRules quick mode cannot key as httpd would
 * route: those that route by what the client sends, and those that refuse
 * some clients, or may refuse later without a reload, directly or through
 * the rules their decisions reach ([C], [S], [L], [END], Inherit) (read
 * from the configuration tree at start-up, for sc_quickcheck.c's warnings
 * and refusals; what each rule reads: sc_quickrules.c).
 */
#include "sc_conftree.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <stdlib.h>

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
    int state;        /* ... on a map or a flag file */
} decided_t;

typedef struct {
    int any;                   /* one may decide on any path */
    int any_state;             /* ... one on a map or a flag file */
    apr_array_header_t *paths; /* decided_t: what each other one decides */
} flow_t;

static flow_t *flow_new(apr_pool_t *p, const flow_t *from)
{
    flow_t *f = apr_pcalloc(p, sizeof(*f));

    f->any = from && from->any;
    f->any_state = from && from->any_state;
    f->paths = from ? apr_array_copy(p, from->paths)
                    : apr_array_make(p, 2, sizeof(decided_t));
    return f;
}

/* May a rule of this pattern match a path an earlier rule decided on (on
 * state: one that decided on a map or a flag file)? */
static int flow_reaches(apr_pool_t *p, const flow_t *flow, const char *pattern,
                        int nocase, int on_state)
{
    int i;

    if (on_state ? flow->any_state : flow->any) {
        return 1;
    }
    for (i = 0; i < flow->paths->nelts; i++) {
        const decided_t *dp = &APR_ARRAY_IDX(flow->paths, i, decided_t);
        if ((dp->state || !on_state)
            && sc_rule_pattern_matches(p, pattern, dp->path,
                                       nocase || dp->nocase)) {
            return 1;
        }
    }
    return 0;
}

/* One more decision of a list: on path (NULL: any), on state or not. */
static void flow_add(flow_t *flow, const char *path, int nocase, int on_state)
{
    if (!path) {
        flow->any = 1;
        flow->any_state |= on_state;
    }
    else {
        decided_t *dp = apr_array_push(flow->paths);
        dp->path = path;
        dp->nocase = nocase;
        dp->state = on_state;
    }
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
     * the client, a map or a flag file (ends_state: on one of these two):
     * every per-directory list is reached by it (outside attack round 81
     * H1) */
    int section, ends, ends_state;
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
           && !sc_rule_refuses(p, flags) && sc_rule_stops(p, flags)
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
    st = sc_rule_cond_state(word[0], word[1]);
    r = sc_rule_cond_reads(p, word[0], word[1], sc_rule_nocase(p, word[2]));
    if (r > c->reads) {
        c->reads = r;
    }
    c->state |= st != 0;
    c->flag_file |= st == 1;
}

/* What a RewriteRule (word: its pattern, substitution, flags) decides of
 * the rules after it, where it decides on the client or on state
 * (decides; on_state: on a map or a flag file): whether they run ([C],
 * [S], [L], [END], [N]) or on what path (a rewrite); a rewrite that goes
 * on may turn a path decided before into any. */
static void rule_decides(walk_t *w, flow_t *flow, const char *const word[3],
                         int decides, int on_state)
{
    static const char *const end[] = { "end", NULL };
    static const char *const next[] = { "n", "next", NULL };
    apr_pool_t *p = w->p;
    const char *pattern = word[0], *subst = word[1], *flags = word[2];
    int nc = sc_rule_nocase(p, flags);
    int rewrites = strcmp(subst, "-") && !sc_rule_stops(p, flags);
    int i;

    for (i = 0; rewrites && i < flow->paths->nelts; i++) {
        const decided_t *dp = &APR_ARRAY_IDX(flow->paths, i, decided_t);
        if (sc_rule_pattern_matches(p, pattern, dp->path, nc || dp->nocase)) {
            flow_add(flow, NULL, 0, dp->state);
        }
    }
    if (!decides || sends_away(p, subst, flags)) {
        return;
    }
    if (!w->section && sc_tree_rewrite_flag(p, flags, end)) {
        w->ends = 1;
        w->ends_state |= on_state;
    }
    if (sc_rule_flow_flags(p, flags) || strcmp(subst, "-")) {
        const char *path = rewrites || sc_tree_rewrite_flag(p, flags, next)
                               ? NULL
                               : literal_path(p, pattern);
        flow_add(flow, path, nc, on_state);
    }
}

/* A RewriteRule, c its conditions: a route, a refusal, or a decision that
 * reaches a later rule's refusal (flow).  Did it decide on a map or a
 * flag file?  One that an earlier decision on a map or a flag file
 * reaches runs or not as the state says, as if it read it (outside attack
 * round 83 H1: a flag file's [L] before a route to a refusing section). */
static int rule_seen(walk_t *w, const ap_directive_t *d,
                     const ap_directive_t *vhost, flow_t *flow,
                     const conds_t *conds)
{
    static const char *const env_flag[] = { "e", "env", NULL };
    apr_pool_t *p = w->p;
    const char *word[3];
    const char *pattern, *subst, *flags;
    apr_array_header_t *sets;
    conds_t cs = *conds, *c = &cs;
    sc_reads_t reads = c->reads, own;
    int nc, deny, on_state;

    sc_tree_rewrite_args(p, d->args, word);
    pattern = word[0];
    subst = word[1];
    flags = word[2];
    nc = sc_rule_nocase(p, flags);
    if (flow_reaches(p, flow, pattern, nc, 1)) {
        c->state = c->flag_file = 1;
    }
    deny = sc_rule_refuses(p, flags);
    /* and what the rule makes of the client: a variable it sets to what
     * the client is (one set to a header it sends is what the header is:
     * Nextcloud's HTTP_AUTHORIZATION), a route a map of it gives (a
     * redirect's target does not matter: whom it matches gets no page) */
    own = sc_rule_text_reads(flags) == SC_READS_IS ? SC_READS_IS
                                                   : SC_READS_NOTHING;
    if (!sends_away(p, subst, flags) && sc_rule_text_reads(subst) > own) {
        own = sc_rule_text_reads(subst);
    }
    if (own > reads) {
        reads = own;
    }

    /* a refusal on a map or the file system, or reached by an earlier
     * rule's decision: it may refuse an anonymous client later, without a
     * reload, or refuse some clients only */
    if (!reads && deny && (c->state || flow_reaches(p, flow, pattern, nc, 0))) {
        push_once(w, w->denying, d, vhost);
    }
    /* a route or a variable by a map or a flag file: where it leads (a
     * section that refuses, a variable a later rule or the application
     * refuses on) may change without a reload, as a refusal on it: also
     * an external redirect that ends the rules, also with [L] (rounds 78
     * and 79 H1) */
    on_state = c->flag_file || sc_rule_reads_map(subst)
               || sc_rule_reads_map(flags);
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
    rule_decides(w, flow, word, reads || c->flag_file, c->flag_file);
    return on_state;
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
            int n = rule_seen(w, d, vhost, flow, &c)
                        ? sc_rule_reached(p, d->args)
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
            f->any_state |= w->ends_state;
            w->section = 1;
            quick_routes(w, d->first_child, vhost, f, 1);
            w->section = section;
        }
    }
}

/* RewriteRules that send a request elsewhere (not [F], [G]) depending on
 * what a client sends (sc_rule_cond_reads), anywhere in the configuration: the
 * quick handler keys a request before they run; and (denying) those that
 * refuse some clients, route or mark them by what they are, or may
 * refuse later without a reload. */
void sc_quick_routes(apr_pool_t *p, const ap_directive_t *d,
                     const ap_directive_t *vhost, apr_array_header_t *routes,
                     apr_array_header_t *denying)
{
    walk_t w = { p, d, NULL, 0, NULL, NULL, NULL, 0, 0, 0, 0 };
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
