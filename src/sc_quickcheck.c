/*
 * sc_quickcheck.c: SharedCacheQuickHandler serves hits before access
 * control.  An administrator declares a <Location> public with it; this
 * check makes the mistake of also protecting part of that space loud: the
 * parsed configuration is walked at start-up and under configtest.
 */
#include "sc_config.h"
#include "sc_log.h"

#include "http_core.h"
#include "http_log.h"
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
                 || !strncasecmp(n, "Auth", 4)) {
            return 1;
        }
        else if (d->first_child && restricts(p, d->first_child)) {
            return 1; /* <RequireAny>, <Limit> ... */
        }
    }
    return 0;
}

static int sets_quick(apr_pool_t *p, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "SharedCacheQuickHandler")) {
            const char *args = d->args;
            if (!strcasecmp(ap_getword_conf(p, &args), "On")) {
                return 1;
            }
        }
    }
    return 0;
}

static void collect(apr_pool_t *p, const ap_directive_t *d,
                    const ap_directive_t *vhost, apr_array_header_t *quick,
                    apr_array_header_t *guarded)
{
    /* Quick mode for a whole server or virtual host covers every path. */
    if (d && sets_quick(p, d)) {
        sc_section_t s;
        s.section = vhost ? vhost : d;
        s.vhost = vhost;
        s.path = "/";
        s.where = vhost ? apr_psprintf(p, "%s:%d", vhost->filename,
                                       vhost->line_num)
                        : "the main server";
        APR_ARRAY_PUSH(quick, sc_section_t) = s;
    }
    for (; d; d = d->next) {
        int loc = is_section(d, "<Location") || is_section(d, "<LocationMatch");
        int fs = is_section(d, "<Directory") || is_section(d, "<DirectoryMatch")
                 || is_section(d, "<Files") || is_section(d, "<FilesMatch");

        if (is_section(d, "<VirtualHost")) {
            collect(p, d->first_child, d, quick, guarded);
            continue;
        }
        if (loc || fs) {
            sc_section_t s;
            s.section = d;
            s.vhost = vhost;
            s.path = loc ? section_path(p, d) : NULL;
            s.where = apr_psprintf(p, "%s:%d", d->filename, d->line_num);
            if (loc && sets_quick(p, d->first_child)) {
                APR_ARRAY_PUSH(quick, sc_section_t) = s;
            }
            if (restricts(p, d->first_child)) {
                APR_ARRAY_PUSH(guarded, sc_section_t) = s;
            }
        }
        if (d->first_child && !loc && !fs) {
            collect(p, d->first_child, vhost, quick, guarded); /* <If...> */
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

const char *sc_config_check_quick(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *quick = apr_array_make(p, 2, sizeof(sc_section_t));
    apr_array_header_t *guarded = apr_array_make(p, 4, sizeof(sc_section_t));
    int i, j;

    collect(p, ap_conftree, NULL, quick, guarded);
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
