/*
 * sc_policy: may a response be stored, and for how long (RFC 9111 as
 * narrowed by DESIGN.md section 4).  Pure code (APR only): it sees header
 * values as strings, never a request_rec, so a table of cases tests it.
 */
#ifndef SC_POLICY_H
#define SC_POLICY_H

#include <apr_pools.h>
#include <apr_tables.h>

#define SC_MAX_STATUS 599
#define SC_MEMCACHED_RELATIVE_MAX (30 * 24 * 3600)

typedef struct {
    /* the response */
    int status;
    const char *cache_control; /* all field lines joined with ", " */
    const char *surrogate_control;
    const char *cdn_cache_control;
    const char *expires;
    const char *date;
    const char *age;
    const char *vary;
    int has_set_cookie;
    /* why its handler's own fields (before a filter changed them) made it
     * personal, as a detail token (sc_policy_personal of them), or NULL */
    const char *handler_personal;
    apr_int64_t now; /* unix seconds */
    /* the configuration */
    apr_int64_t default_ttl;       /* SharedCacheTTL */
    int force_ttl;                 /* SharedCacheForceTTL */
    apr_int64_t max_ttl;           /* SharedCacheMaxTTL */
    const unsigned char *statuses; /* [SC_MAX_STATUS + 1], 1 = storable */
} sc_policy_in_t;

typedef struct {
    int storable;
    const char *reason; /* why not, for the log */
    const char *detail; /* ... as a token, for Cache-Status (RFC 9211) */
    apr_int64_t ttl;    /* seconds fresh from now */
    apr_int64_t age;    /* Age the response arrived with */
    apr_int64_t stale_while_revalidate;
    apr_int64_t stale_if_error;
    int no_stale; /* must-revalidate & co. */
} sc_policy_out_t;

/* Why the response must never be shared whatever its freshness or status
 * (Set-Cookie, Vary: *, no-store or private, a targeted no-cache, a
 * malformed directive list), or NULL.  Part of every decision, and what
 * a fragment (SSI include) is checked against before the page that
 * includes it may be stored.  *detail (if detail is not NULL): the same
 * reason as a token. */
const char *sc_policy_personal(const sc_policy_in_t *in, const char **detail);

/* Decide; always fills out, returns out->storable. */
int sc_policy_decide(const sc_policy_in_t *in, sc_policy_out_t *out);

/* Value of a directive in a Cache-Control style list: -1 when absent,
 * 0 when present without a (numeric) value, else the value (delta-seconds,
 * saturated).  has tells presence for valueless directives. */
apr_int64_t sc_policy_directive(const char *list, const char *name, int *has);

/* The field names of every name="a, b" in a directive list (no-cache and
 * private may name fields), lower case: the cache may store the response
 * without them (RFC 9111 5.2.2.4).  NULL when a value cannot be read
 * plainly (a quoted-pair, a blank inside a token form): then the response
 * is not stored. */
apr_array_header_t *sc_policy_qualified_fields(apr_pool_t *p, const char *list,
                                               const char *name);

/* The header names a Vary value lists: lower case, sorted, each once;
 * NULL when it lists none (or is NULL).  "*" is not a name: policy
 * refuses such responses before this is asked. */
apr_array_header_t *sc_policy_vary_names(apr_pool_t *p, const char *vary);

/* An HTTP-date (RFC 9110 5.6.7) in one of its three formats only:
 * IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), RFC 850 ("Sunday,
 * 06-Nov-94 08:49:37 GMT", the year read as at most 50 years ahead of
 * now) or asctime ("Sun Nov  6 08:49:37 1994"), case-sensitive, with
 * blanks only around it.  Sets *t (unix seconds) and returns 1, or
 * returns 0 for anything else: another zone, a missing comma, a day that
 * does not exist.  The day name is not checked against the date.
 * (sc_httpdate.c) */
int sc_policy_http_date(const char *s, apr_int64_t now, apr_int64_t *t);

/* The exptime to give memcached for an item that must live lifetime
 * seconds: above 30 days memcached reads it as an absolute unix time. */
apr_int64_t sc_policy_exptime(apr_int64_t lifetime, apr_int64_t now);

#endif
