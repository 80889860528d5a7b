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
            if (sc_quick_restricts(p, d->first_child)) {
                APR_ARRAY_PUSH(f->guarded, sc_section_t) = s;
            }
            if (f->denying && sc_quick_denies(p, d->first_child)) {
                APR_ARRAY_PUSH(f->denying, sc_section_t) = s;
            }
            kinds = sc_quick_if_kinds(p, d->first_child);
            if (f->marking && (kinds & SC_IF_MARKS)) {
                APR_ARRAY_PUSH(f->marking, sc_section_t) = s;
            }
            if (f->said && (kinds & SC_IF_SENT)) {
                APR_ARRAY_PUSH(f->said, sc_section_t) = s;
            }
        }
        /* outside <Location>, <Directory> and <Files>: a conditional
         * section's or a <Proxy> section's denials apply to any URL */
        kinds = !loc && !fs && sc_quick_is_conditional(d)
                    ? sc_quick_if_kind(p, d, &chain)
                    : 0;
        if (f->denying
            && ((kinds & SC_IF_DENIES)
                || (!loc && !fs
                    && (sc_tree_is(d, "<Proxy") || sc_tree_is(d, "<ProxyMatch"))
                    && sc_quick_denies(p, d->first_child)))) {
            sc_tree_push(p, f->denying, d, vhost);
        }
        if (f->marking && (kinds & SC_IF_MARKS)) {
            sc_tree_push(p, f->marking, d, vhost);
        }
        if (f->said && (kinds & SC_IF_SENT)) {
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
        if (sc_quick_is_conditional(d)) {
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

/* Where a Header's condition (early, env=, expr=) stands: after its
 * action's header name and value(s). */
static int header_condition_at(const char *action)
{
    if (!strcasecmp(action, "unset") || !strcasecmp(action, "echo")) {
        return 2;
    }
    return !strncasecmp(action, "edit", 4) ? 4 : 3;
}

/* A Header of mod_headers in a list (and the <IfModule>s in it) that may
 * change every response after the cache stored it: any but one set early
 * (before the handler), one on a condition, or a note. */
static const ap_directive_t *late_header_in(apr_pool_t *p,
                                            const ap_directive_t *d)
{
    const ap_directive_t *found;

    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "Header") && d->args) {
            const char *args = d->args, *w, *action;
            int spared = 0, at, i;
            action = ap_getword_conf(p, &args);
            if (!strcasecmp(action, "always")
                || !strcasecmp(action, "onsuccess")) {
                action = ap_getword_conf(p, &args);
            }
            at = header_condition_at(action);
            for (i = 1; *(w = ap_getword_conf(p, &args)); i++) {
                /* a condition (the balancer's ROUTEID recipe) changes
                 * some responses only: said apart (SAID_CONDITION) */
                spared |= i >= at
                          && (!strcasecmp(w, "early")
                              || !strncasecmp(w, "env=", 4)
                              || !strncasecmp(w, "expr=", 5));
            }
            if (!spared && strcasecmp(action, "note")) {
                return d;
            }
        }
        else if (d->first_child
                 && (sc_tree_is(d, "<IfModule") || sc_tree_is(d, "<IfDefine"))
                 && (found = late_header_in(p, d->first_child)) != NULL) {
            return found;
        }
    }
    return NULL;
}

/* A quick section that mod_headers' Header directives reach (the
 * server's, its virtual host's, its own): the response a hit would send
 * is not the one stored, so no entry is marked for the quick phase
 * (sc_parity.c); say so (outside attack round 95 M1: the HSTS recipe). */
static void say_quick_headers(apr_pool_t *p, server_rec *s,
                              const apr_array_header_t *quick)
{
    int i;

    for (i = 0; i < quick->nelts; i++) {
        const sc_section_t *q = &APR_ARRAY_IDX(quick, i, sc_section_t);
        const ap_directive_t *h = late_header_in(p, ap_conftree);
        if (!h && q->vhost) {
            h = late_header_in(p, q->vhost->first_child);
        }
        if (!h && q->section != q->vhost && q->section != ap_conftree) {
            h = late_header_in(p, q->section->first_child);
        }
        if (h) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SC_LOGNO(0118) "SharedCacheQuickHandler On (%s) "
                                        "may serve nothing in the quick "
                                        "phase: the Header at %s changes "
                                        "responses after they are stored "
                                        "(keep it out of the quick "
                                        "location's reach, or turn quick "
                                        "mode off there)",
                         q->where, sc_tree_line(p, h));
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
    say_quick_headers(p, s, quick);
}

/* A module that checks access (httpd's access, authentication and
 * authorization hooks) by rules the checks here do not read, or NULL.
 * Those here are read (mod_authz_core's Require, mod_access_compat's
 * Allow and Deny, mod_ssl's SSLRequire, mod_wsgi's WSGIAccessScript),
 * only authenticate (a request with credentials is never served in the
 * quick phase) or refuse by method alone (mod_allowmethods: httpd takes
 * HEAD for GET, and the probe is a GET). */
static const char *unknown_access_module(void)
{
    static const char *const known[] = {
        "mod_authz_core.c",   "mod_access_compat.c",
        "mod_ssl.c",          "mod_authn_core.c",
        "mod_auth_basic.c",   "mod_auth_digest.c",
        "mod_auth_form.c",    "mod_wsgi.c",
        "mod_allowmethods.c", NULL
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

/* The first quick section that a denying one (denying) overlaps, as
 * start-up's error; NULL: none. */
static const char *denied_next_to_quick(apr_pool_t *p,
                                        const apr_array_header_t *quick,
                                        const apr_array_header_t *denying)
{
    int i, j;

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
    return NULL;
}

/* The first quick section that a guarded <Location> overlaps, as
 * start-up's error (a guarded <Directory> or <Files> is only warned of:
 * its URL space cannot be told); NULL: none. */
static const char *guarded_next_to_quick(apr_pool_t *p, server_rec *s,
                                         const apr_array_header_t *quick,
                                         const apr_array_header_t *guarded)
{
    int i, j;

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

const char *sc_config_check_quick(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *quick = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *guarded = apr_array_make(p, 4, sizeof(sc_section_t));
    apr_array_header_t *denying = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *marking = apr_array_make(p, 2, sizeof(sc_section_t));
    found_t f = { quick, guarded, denying, marking, NULL };
    const char *msg;

    sc_quick_acts_prepare(p, ap_conftree);
    sc_quick_routes_prepare(p, ap_conftree);
    collect(p, ap_conftree, NULL, &f);
    sc_quick_acts_done();
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
    msg = denied_next_to_quick(p, quick, denying);
    return msg ? msg : guarded_next_to_quick(p, s, quick, guarded);
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
