/*
 * sc_policy.c: cacheability and freshness rules (see sc_policy.h).
 */
#include "sc_policy.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

#include <stdlib.h>

/* Lower-case in place (APR only: no httpd in the pure files). */
static void lower_in_place(char *s)
{
    for (; *s; s++) {
        *s = (char)apr_tolower(*s);
    }
}

#define DELTA_MAX ((apr_int64_t)1 << 31) /* RFC 9111 1.2.2 */

/* Parse a delta-seconds value; -1 if not a number. */
static apr_int64_t delta(const char *s, apr_size_t n)
{
    apr_int64_t v = 0;
    apr_size_t i;

    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    if (n == 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i])) {
            return -1;
        }
        if (v < DELTA_MAX) {
            v = v * 10 + (s[i] - '0');
        }
    }
    return v > DELTA_MAX ? DELTA_MAX : v;
}

apr_int64_t sc_policy_directive(const char *list, const char *name, int *has)
{
    apr_size_t nlen = strlen(name);
    const char *s = list;

    if (has) {
        *has = 0;
    }
    while (s && *s) {
        const char *end, *eq;
        apr_size_t len;

        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        /* a directive ends at a comma outside quotes */
        end = s;
        while (*end && *end != ',') {
            if (*end == '"') {
                end++;
                while (*end && *end != '"') {
                    end += (end[0] == '\\' && end[1]) ? 2 : 1;
                }
                if (!*end) {
                    break;
                }
            }
            end++;
        }
        len = (apr_size_t)(end - s);
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
            len--;
        }
        eq = memchr(s, '=', len);
        {
            apr_size_t klen = eq ? (apr_size_t)(eq - s) : len;
            while (klen > 0 && s[klen - 1] == ' ') {
                klen--;
            }
            if (klen == nlen && strncasecmp(s, name, nlen) == 0) {
                if (has) {
                    *has = 1;
                }
                if (!eq) {
                    return 0;
                }
                eq++;
                while (*eq == ' ') {
                    eq++;
                }
                {
                    apr_int64_t v = delta(eq, (apr_size_t)(s + len - eq));
                    return v < 0 ? 0 : v;
                }
            }
        }
        s = end;
    }
    return -1;
}

apr_array_header_t *sc_policy_qualified_fields(apr_pool_t *p, const char *list,
                                               const char *name)
{
    apr_array_header_t *out = apr_array_make(p, 2, sizeof(const char *));
    apr_size_t nlen = strlen(name);
    const char *s = list;

    while (s && *s) {
        const char *v, *end;

        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        if (!strncasecmp(s, name, nlen)) {
            v = s + nlen;
            while (*v == ' ') {
                v++;
            }
            if (*v == '=') {
                v++;
                while (*v == ' ') {
                    v++;
                }
                /* quoted: a list of names; a token: one name.  A
                 * quoted-pair (backslash) or a blank after a token is not
                 * read at all: the caller refuses to store rather than
                 * keep a field it may have misread. */
                if (*v == '"') {
                    end = strchr(++v, '"');
                    if (!end || memchr(v, '\\', (apr_size_t)(end - v))) {
                        return NULL;
                    }
                }
                else {
                    const char *after;
                    end = v + strcspn(v, ", \t");
                    after = end + strspn(end, " \t");
                    if (*after && *after != ',') {
                        return NULL;
                    }
                }
                while (v < end) {
                    apr_size_t n;
                    while (v < end && (*v == ' ' || *v == ',' || *v == '\t')) {
                        v++;
                    }
                    n = strcspn(v, ", \t\"");
                    if (v + n > end) {
                        n = (apr_size_t)(end - v);
                    }
                    if (n > 0) {
                        char *f = apr_pstrmemdup(p, v, n), *c;
                        for (c = f; *c; c++) {
                            *c = (char)apr_tolower(*c);
                        }
                        APR_ARRAY_PUSH(out, const char *) = f;
                    }
                    v += n;
                }
                s = *end ? end + 1 : end;
                continue;
            }
        }
        /* the next directive: a comma outside quotes */
        while (*s && *s != ',') {
            if (*s == '"') {
                const char *q = strchr(s + 1, '"');
                s = q ? q : s + strlen(s) - 1;
            }
            s++;
        }
    }
    return out;
}

/* Age (RFC 9111 5.1): a list is read as its first member; a value that
 * is not a non-negative integer is ignored (0). */
static apr_int64_t age_of(const char *s)
{
    apr_size_t n = 0;
    apr_int64_t v;

    while (*s == ' ' || *s == '\t' || *s == ',') {
        s++; /* OWS and empty list elements */
    }
    while (s[n] && s[n] != ',') {
        n++;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    v = s[0] == '"' ? -1 : delta(s, n); /* no quoted-string here */
    return v < 0 ? 0 : v;
}

static int has_directive(const char *list, const char *name)
{
    int has;

    sc_policy_directive(list, name, &has);
    return has;
}

/* "*" anywhere in Vary, as its own member (commas or blanks around it):
 * the response varies on things no key can hold. */
static int vary_star(const char *vary)
{
    const char *s = vary;

    while (s && *s) {
        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        if (*s == '*'
            && (s[1] == '\0' || s[1] == ' ' || s[1] == '\t' || s[1] == ',')) {
            return 1;
        }
        while (*s && *s != ' ' && *s != '\t' && *s != ',') {
            s++;
        }
    }
    return 0;
}

/* A quoted string that never closes would hide every directive after it
 * (a "private" among them): such a list is refused, not guessed at. */
static int unbalanced(const char *list)
{
    int open = 0;

    for (; list && *list; list++) {
        if (*list == '\\' && open && list[1]) {
            list++;
        }
        else if (*list == '"') {
            open = !open;
        }
    }
    return open;
}

static int refuses(const char *list)
{
    return list
           && (has_directive(list, "no-store") || has_directive(list, "private")
               || has_directive(list, "no-cache"));
}

static int refuse(sc_policy_out_t *out, const char *detail, const char *reason)
{
    out->storable = 0;
    out->detail = detail;
    out->reason = reason;
    return 0;
}

/* Freshness lifetime given by the response, -1 when it gives none. */
static apr_int64_t response_lifetime(const sc_policy_in_t *in,
                                     const char *targeted)
{
    apr_int64_t v;

    if (targeted) {
        v = sc_policy_directive(targeted, "max-age", NULL);
        if (v >= 0) {
            return v;
        }
    }
    v = sc_policy_directive(in->cache_control, "s-maxage", NULL);
    if (v >= 0) {
        return v;
    }
    v = sc_policy_directive(in->cache_control, "max-age", NULL);
    if (v >= 0) {
        return v;
    }
    if (in->expires) {
        apr_int64_t exp, base;
        /* An invalid Expires means "already expired" (RFC 9111 5.3); an
         * invalid Date is no Date: the response is as old as now. */
        if (!sc_policy_http_date(in->expires, in->now, &exp)) {
            return 0;
        }
        if (!sc_policy_http_date(in->date, in->now, &base)) {
            base = in->now;
        }
        v = exp - base;
        return v < 0 ? 0 : v;
    }
    return -1;
}

/* RFC 9110 15.1: the statuses a cache may give heuristic freshness. */
static int heuristic_status(int status)
{
    switch (status) {
    case 200:
    case 203:
    case 204:
    case 206:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
        return 1;
    default:
        return 0;
    }
}

static const char *personal(const char **detail, const char *token,
                            const char *reason)
{
    if (detail) {
        *detail = token;
    }
    return reason;
}

const char *sc_policy_personal(const sc_policy_in_t *in, const char **detail)
{
    const char *cc = in->cache_control;

    if (in->has_set_cookie) {
        return personal(detail, "set-cookie", "Set-Cookie");
    }
    if (vary_star(in->vary)) {
        return personal(detail, "vary-star", "Vary: *");
    }
    if (unbalanced(cc) || unbalanced(in->surrogate_control)
        || unbalanced(in->cdn_cache_control)) {
        return personal(detail, "unclosed-quote",
                        "a cache directive list with an unclosed quote");
    }
    /* no-store and private anywhere always win, even over a targeted
     * field that allows storing: failing safe beats sharing a private
     * page. */
    if (has_directive(cc, "no-store") || has_directive(cc, "private")) {
        return personal(detail,
                        has_directive(cc, "private") ? "private" : "no-store",
                        "Cache-Control: no-store or private");
    }
    if (refuses(in->surrogate_control) || refuses(in->cdn_cache_control)) {
        return personal(detail, "targeted-refusal",
                        "targeted Cache-Control: no-store, private or "
                        "no-cache");
    }
    /* a filter after the handler may restrict, never lift (mod_headers'
     * "Header set Cache-Control public" over an application's private) */
    if (in->handler_personal) {
        return personal(detail, in->handler_personal,
                        "its handler's own fields (Set-Cookie, Vary: *, "
                        "no-store or private), which a filter removed");
    }
    return NULL;
}

int sc_policy_decide(const sc_policy_in_t *in, sc_policy_out_t *out)
{
    const char *cc = in->cache_control;
    const char *reason, *detail;
    /* RFC 9213: a targeted field replaces Cache-Control for freshness.
     * Surrogate-Control is the older name of the same idea. */
    const char *targeted = in->surrogate_control ? in->surrogate_control
                                                 : in->cdn_cache_control;
    apr_int64_t lifetime;

    memset(out, 0, sizeof(*out));
    out->stale_while_revalidate = -1;
    out->stale_if_error = -1;

    if (in->status < 100 || in->status > SC_MAX_STATUS
        || !in->statuses[in->status]) {
        return refuse(out, "status", "status not in SharedCacheStatuses");
    }
    reason = sc_policy_personal(in, &detail);
    if (reason) {
        return refuse(out, detail, reason);
    }
    /* no-cache means "revalidate every time", and we do not revalidate,
     * so it refuses too (a targeted field may allow storing). */
    if (!targeted && has_directive(cc, "no-cache")) {
        return refuse(out, "no-cache", "Cache-Control: no-cache");
    }

    lifetime = response_lifetime(in, targeted);
    /* SharedCacheTTL is a heuristic freshness: RFC 9111 4.2.2 allows one
     * only for statuses "heuristically cacheable" (RFC 9110 15.1); a 302,
     * 303 or 307 is stored only with freshness of its own. */
    if (lifetime < 0 && !heuristic_status(in->status)) {
        return refuse(out, "no-freshness",
                      "no freshness of its own (a status SharedCacheTTL "
                      "does not apply to)");
    }
    if (in->force_ttl && in->default_ttl > 0 && heuristic_status(in->status)) {
        lifetime = in->default_ttl;
    }
    else if (lifetime < 0) {
        lifetime = in->default_ttl;
    }
    if (lifetime > in->max_ttl) {
        lifetime = in->max_ttl;
    }
    out->age = in->age ? age_of(in->age) : 0;
    out->ttl = lifetime - out->age;
    if (out->ttl <= 0) {
        return refuse(out, "no-freshness", "no freshness");
    }

    out->no_stale = has_directive(cc, "must-revalidate")
                    || has_directive(cc, "proxy-revalidate")
                    || has_directive(cc, "s-maxage")
                    || (targeted && has_directive(targeted, "must-revalidate"));
    out->stale_while_revalidate = sc_policy_directive(
        targeted ? targeted : cc, "stale-while-revalidate", NULL);
    out->stale_if_error = sc_policy_directive(targeted ? targeted : cc,
                                              "stale-if-error", NULL);
    out->storable = 1;
    out->reason = "storable";
    return 1;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

apr_array_header_t *sc_policy_vary_names(apr_pool_t *p, const char *vary)
{
    apr_array_header_t *names;
    char *copy, *tok, *last;
    int i, j;

    if (!vary) {
        return NULL;
    }
    names = apr_array_make(p, 4, sizeof(const char *));
    copy = apr_pstrdup(p, vary);
    for (tok = apr_strtok(copy, ", \t", &last); tok;
         tok = apr_strtok(NULL, ", \t", &last)) {
        if (strcmp(tok, "*") != 0) {
            lower_in_place(tok);
            APR_ARRAY_PUSH(names, const char *) = tok;
        }
    }
    if (names->nelts == 0) {
        return NULL;
    }
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), name_cmp);
    for (i = 1, j = 1; i < names->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(names, i, const char *),
                   APR_ARRAY_IDX(names, j - 1, const char *))
            != 0) {
            APR_ARRAY_IDX(names, j++,
                          const char *) = APR_ARRAY_IDX(names, i, const char *);
        }
    }
    names->nelts = j;
    return names;
}

apr_int64_t sc_policy_exptime(apr_int64_t lifetime, apr_int64_t now)
{
    if (lifetime <= 0) {
        return -1; /* memcached: a negative exptime expires now */
    }
    if (lifetime > SC_MEMCACHED_RELATIVE_MAX) {
        return now + lifetime;
    }
    return lifetime;
}
