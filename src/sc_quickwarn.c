/*
 * sc_quickwarn.c: what quick mode does not see, said at start-up, not
 * refused: routing by what a client sends next to a quick section (it
 * serves another route's or variant's page, the one an anonymous client
 * gets, not a protected one), what a section derives from the request, a
 * Header's condition, an <If> in a quick <Location>, and a Header that
 * keeps entries out of the quick phase.
 */
#include "sc_config.h"
#include "sc_request.h"
#include "sc_conftree.h"
#include "sc_log.h"

#include "http_core.h"
#include "http_log.h"
#include "util_cfgtree.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

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
    sc_quick_found_t f = { quick, apr_array_make(p, 2, sizeof(sc_section_t)),
                           NULL, NULL, routes };

    sc_quick_routes_prepare(p, ap_conftree);
    sc_quick_collect(p, ap_conftree, NULL, &f);
    sc_quick_routes(p, ap_conftree, NULL, routes, NULL);
    sc_quick_derivers(p, ap_conftree, NULL, 0, derive, NULL);
    sc_quick_header_conditions(p, ap_conftree, NULL, conds);
    say_reached(s, quick, routes, SAID_ROUTE);
    say_reached(s, quick, derive, SAID_DERIVED);
    say_reached(s, quick, conds, SAID_CONDITION);
    say_quick_if(p, s, quick);
    say_quick_headers(p, s, quick);
}
