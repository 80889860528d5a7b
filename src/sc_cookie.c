/*
 * sc_cookie.c: cookies as the key reads them (sc_key_cookie,
 * sc_key_cookie_header_ok, see sc_key.h): every value of a cookie as
 * Django and Python's http.cookies find it, and whether a Cookie header
 * is one all parsers read alike (else the whole header keys the
 * variant).  Pure: APR only.
 */
#include "sc_key.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

/* Trim blanks around [s, e) as Django and Python's http.cookies do. */
static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t')) {
        (*s)++;
    }
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) {
        (*e)--;
    }
}

const char *sc_key_cookie(apr_pool_t *p, const char *header, const char *name)
{
    apr_size_t nlen = strlen(name);
    const char *s = header, *found = NULL;

    while (s && *s) {
        const char *end = strchr(s, ';');
        const char *stop = end ? end : s + strlen(s);
        const char *eq = memchr(s, '=', (apr_size_t)(stop - s));

        if (eq) {
            const char *ns = s, *ne = eq, *vs = eq + 1, *ve = stop;
            trim(&ns, &ne);
            trim(&vs, &ve);
            /* case-insensitively: some frameworks (ASP.NET) read
             * "SessionId" as "sessionid" */
            if ((apr_size_t)(ne - ns) == nlen && !strncasecmp(ns, name, nlen)) {
                const char *v = apr_pstrmemdup(p, vs, (apr_size_t)(ve - vs));
                found = found ? apr_pstrcat(p, found, "\n", v, NULL) : v;
            }
        }
        s = end ? end + 1 : stop;
    }
    return found;
}

const char *sc_key_cookie_sticky(apr_pool_t *p, const char *header,
                                 const char *name)
{
    apr_size_t nlen = strlen(name);
    const char *at;

    if (!header || !nlen) {
        return NULL;
    }
    for (at = strstr(header, name); at; at = strstr(at + 1, name)) {
        if (at != header && at[-1] != ';' && at[-1] != ','
            && !apr_isspace(at[-1])) {
            continue;
        }
        at += nlen;
        while (*at && apr_isspace(*at)) {
            at++;
        }
        if (*at == '=' && at[1]) {
            return apr_pstrmemdup(p, at + 1, strcspn(at + 1, ";,"));
        }
        if (!*at || !at[1]) {
            return NULL; /* the end of the header */
        }
        at++; /* the search goes on after the character that was compared,
                 as the balancer's */
    }
    return NULL;
}

/* RFC 6265 cookie-octet: no blank, '"', ',', ';' or '\\'. */
static int is_cookie_octet(char ch)
{
    return ch >= 0x21 && ch <= 0x7e && ch != '"' && ch != ',' && ch != ';'
           && ch != '\\';
}

/* A cookie value that every common parser reads the same way: cookie
 * octets, optionally in double quotes.  "1 sessionid=S" is one value to
 * Django but two cookies to Python's http.cookies; "1,sessionid=S" two
 * to others. */
static int cookie_value_ok(const char *s, const char *e)
{
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
        s++;
        e--;
    }
    for (; s < e; s++) {
        if (!is_cookie_octet(*s)) {
            return 0;
        }
    }
    return 1;
}

int sc_key_cookie_header_ok(const char *header)
{
    const char *s;

    for (s = header; *s; s++) {
        if ((*s < 0x20 && *s != '\t') || (unsigned char)*s >= 0x7f) {
            return 0;
        }
    }
    s = header;
    while (*s) {
        const char *end = strchr(s, ';');
        const char *stop = end ? end : s + strlen(s);
        const char *eq = memchr(s, '=', (apr_size_t)(stop - s));
        const char *ns = s, *ne = eq ? eq : stop;

        trim(&ns, &ne);
        for (; ns < ne; ns++) {
            /* names other parsers rewrite (PHP reads "a.b" and "a b" as
             * "a_b", Rack decodes %XX) are not plain */
            if (!apr_isalnum(*ns) && *ns != '_' && *ns != '-') {
                return 0;
            }
        }
        if (eq) {
            const char *vs = eq + 1, *ve = stop;
            trim(&vs, &ve);
            if (!cookie_value_ok(vs, ve)) {
                return 0;
            }
        }
        s = end ? end + 1 : stop;
    }
    return 1;
}
