/*
 * sc_quickcheck.c: quick mode against the parsed configuration, walked at
 * start-up and under configtest.  SharedCacheQuickHandler serves hits
 * before access control: an administrator declares a <Location> public
 * with it, and the mistake of also protecting part of that space is made
 * loud (refused); routing by the client's headers next to it is said
 * (sc_quickwarn.c; the routes are sc_quickroutes.c's).
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

void sc_quick_collect(apr_pool_t *p, const ap_directive_t *d,
                      const ap_directive_t *vhost, const sc_quick_found_t *f)
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
            sc_quick_collect(p, d->first_child, d, f);
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
            sc_quick_collect(p, d->first_child, vhost, f); /* <If...> */
        }
    }
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
    sc_quick_found_t f = { quick, guarded, denying, marking, NULL };
    const char *msg;

    sc_quick_acts_prepare(p, ap_conftree);
    sc_quick_routes_prepare(p, ap_conftree);
    sc_quick_collect(p, ap_conftree, NULL, &f);
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
