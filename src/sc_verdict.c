/*
 * sc_verdict.c: the request's decision as the client, the log and the
 * status page see it.  Owns X-SharedCache, Cache-Status (RFC 9211), the
 * sharedcache-status note and env var, and the decision counters.
 */
#include "sc_request.h"
#include "sc_status.h"

#include "http_protocol.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

const char *const sc_decision_name[SC_DECISION_COUNT] = {
    "HIT", "MISS", "STALE", "BYPASS", "UNCACHEABLE", "ERROR"
};

/* RFC 9211 2.2's fwd values, by sc_fwd_t. */
static const char *const fwd_name[] = { NULL,       "bypass",    "method",
                                        "uri-miss", "vary-miss", "miss",
                                        "stale" };

/* The cache's name in Cache-Status. */
#define SC_CACHE_NAME "sharedcache"

sc_decision_t sc_decision_of(const request_rec *r)
{
    const char *st = apr_table_get(r->notes, SC_NOTE_STATUS);
    int i;

    for (i = 0; st && i < SC_DECISION_COUNT; i++) {
        if (!strcmp(st, sc_decision_name[i])) {
            return (sc_decision_t)i;
        }
    }
    return SC_UNDECIDED;
}

/* The Cache-Status member of this cache: "sharedcache; hit; ttl=297",
 * "sharedcache; fwd=uri-miss; fwd-status=200; stored; ttl=900", ... */
static const char *cache_status(apr_pool_t *p, sc_decision_t st,
                                const sc_verdict_t *v)
{
    const char *s = SC_CACHE_NAME;
    int hit = st == SC_HIT || st == SC_STALE;

    if (hit) {
        s = apr_pstrcat(p, s, "; hit", NULL);
    }
    else if (v && v->fwd != SC_FWD_NONE) {
        s = apr_pstrcat(p, s, "; fwd=", fwd_name[v->fwd], NULL);
    }
    else {
        s = apr_pstrcat(p, s, "; fwd=", st == SC_BYPASS ? "bypass" : "miss",
                        NULL);
    }
    if (!v) {
        return s;
    }
    if (!hit && v->fwd_status > 0) {
        s = apr_psprintf(p, "%s; fwd-status=%d", s, v->fwd_status);
    }
    if (v->stored) {
        s = apr_pstrcat(p, s, "; stored", NULL);
    }
    if (v->collapsed) {
        s = apr_pstrcat(p, s, "; collapsed", NULL);
    }
    if (v->has_ttl) {
        /* a copy served stale has no freshness left, whatever its own
         * lifetime says (an invalidation made it stale) */
        s = apr_psprintf(p, "%s; ttl=%" APR_INT64_T_FMT, s,
                         st == SC_STALE && v->ttl > 0 ? 0 : v->ttl);
    }
    if (v->detail) {
        s = apr_pstrcat(p, s, "; detail=", v->detail, NULL);
    }
    return s;
}

void sc_set_status(request_rec *r, const sc_dir_conf_t *d, sc_decision_t st,
                   const sc_verdict_t *v)
{
    const char *name = sc_decision_name[st];

    sc_stat_add_r(r, (sc_stat_t)(SC_STAT_HIT + (int)st), 1);
    apr_table_setn(r->notes, SC_NOTE_STATUS, name);
    apr_table_setn(r->subprocess_env, SC_NOTE_STATUS, name);
    if (d->header && !r->main) {
        apr_table_setn(r->err_headers_out, "X-SharedCache", name);
        apr_table_setn(r->err_headers_out, "Cache-Status",
                       cache_status(r->pool, st, v));
    }
}

void sc_verdict_order(request_rec *r)
{
    const char *ours = apr_table_get(r->err_headers_out, "Cache-Status");
    const char *theirs = apr_table_getm(r->pool, r->headers_out,
                                        "Cache-Status");

    /* httpd sends err_headers_out before headers_out: the cache nearest
     * the client, this one, would come first. */
    if (ours && theirs) {
        apr_table_setn(r->headers_out, "Cache-Status",
                       apr_pstrcat(r->pool, theirs, ", ", ours, NULL));
        apr_table_unset(r->err_headers_out, "Cache-Status");
    }
}
