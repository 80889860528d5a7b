/*
 * sc_ttlcheck.c: "SharedCache On" with no TTL anywhere above it stores
 * only responses that carry their own freshness (Django sends none): said
 * once at start-up, with the directive's line.
 */
#include "sc_config.h"
#include "sc_conftree.h"
#include "sc_log.h"

#include "http_core.h"
#include "http_log.h"
#include "util_cfgtree.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

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
    top->on = sc_tree_sets_on(p, list, "SharedCache");
    top->ttl = gives_ttl(p, list);
    for (d = list; d; d = d->next) {
        if (sc_tree_is(d, "<VirtualHost")) {
            collect_ttl(p, d->first_child, d, out);
        }
        else if (sc_tree_is(d, "<Location") || sc_tree_is(d, "<LocationMatch")
                 || sc_tree_is(d, "<Directory")
                 || sc_tree_is(d, "<DirectoryMatch") || sc_tree_is(d, "<Files")
                 || sc_tree_is(d, "<FilesMatch") || sc_tree_is(d, "<If")
                 || sc_tree_is(d, "<ElseIf") || sc_tree_is(d, "<Else")) {
            sc_ttl_section_t *s = apr_array_push(out);
            s->vhost = vhost;
            s->path = sc_tree_location_path(p, d);
            /* anything but a plain <Location>: may cover any path */
            s->regex = !s->path;
            s->on = sc_tree_sets_on(p, d->first_child, "SharedCache");
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
