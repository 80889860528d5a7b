/*
 * sc_query.c: the query string as the key holds it (sc_key_query, see
 * sc_key.h): parameters the configuration ignores dropped, the rest
 * sorted where asked, each name compared as applications decode it.
 * Pure: APR only.
 */
#include "sc_key.h"

#include <apr_fnmatch.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *param; /* "name=value" or "name", raw */
    apr_size_t len;
    apr_size_t raw_name_len;
    const char *name; /* the name as applications decode it */
    apr_size_t name_len;
    int order; /* position in the request: keeps sort stable */
} sc_param_t;

static int hexval(char c)
{
    return apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10;
}

/* A parameter name as form decoders (Django, Werkzeug, PHP) read it:
 * '+' is a blank and %XX a byte.  Sorting and SharedCacheIgnoreQuery use
 * this, so "%73tatus" and "status" are one name to the key as to the
 * application. */
static const char *decoded_name(apr_pool_t *p, const char *s, apr_size_t len,
                                apr_size_t *out_len)
{
    char *out = apr_palloc(p, len + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && apr_isxdigit(s[i + 1])
            && apr_isxdigit(s[i + 2])) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        else {
            *o++ = s[i] == '+' ? ' ' : s[i];
        }
    }
    *o = '\0';
    *out_len = (apr_size_t)(o - out);
    return out;
}

static int param_cmp(const void *a, const void *b)
{
    const sc_param_t *x = a, *y = b;
    apr_size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);

    if (c != 0) {
        return c;
    }
    if (x->name_len != y->name_len) {
        return x->name_len < y->name_len ? -1 : 1;
    }
    return x->order - y->order;
}

/* May the parameter be left out of the key?  Only when its decoded name
 * matches a glob, and only when no parser could read another parameter
 * out of it: a ';' inside ("utm_source=x;callback=y") is a separator to
 * some applications, so such a parameter always stays in the key. */
static int ignored(const sc_param_t *prm, const apr_array_header_t *ignore)
{
    int i;

    if (!ignore || memchr(prm->param, ';', prm->len)
        || memchr(prm->name, '\0', prm->name_len)) {
        return 0;
    }
    for (i = 0; i < ignore->nelts; i++) {
        const char *glob = APR_ARRAY_IDX(ignore, i, const char *);
        if (apr_fnmatch(glob, prm->name, 0) == APR_SUCCESS) {
            return 1;
        }
    }
    return 0;
}

/* May the parameters be put in order?  Only when every parser reads the
 * same names from them: no ';' anywhere (a separator to some), and names
 * of letters, digits, '_' and '-' only (PHP reads "a.b" as "a_b", decoders
 * turn different invalid %XX alike).  Otherwise the query keeps its order:
 * a reordered copy only costs a miss. */
static int sortable(const char *query, const apr_array_header_t *params)
{
    int i;

    if (strchr(query, ';')) {
        return 0;
    }
    for (i = 0; i < params->nelts; i++) {
        const sc_param_t *prm = &APR_ARRAY_IDX(params, i, sc_param_t);
        apr_size_t j;
        for (j = 0; j < prm->raw_name_len; j++) {
            char ch = prm->param[j];
            if (!apr_isalnum(ch) && ch != '_' && ch != '-') {
                return 0;
            }
        }
    }
    return 1;
}

const char *sc_key_query(apr_pool_t *p, const char *query,
                         const apr_array_header_t *ignore)
{
    apr_array_header_t *params;
    const char *s = query;
    char *out, *o;
    int i, total = 0;

    if (!query || !*query) {
        return "";
    }
    /* ';' counts as a separator too: PHP (arg_separator.input), CGI.pm
     * and older Rack split on it */
    for (s = query; *s; s++) {
        total += *s != '&' && *s != ';'
                 && (s == query || s[-1] == '&' || s[-1] == ';');
    }
    if (total > SC_KEY_MAX_PARAMS) {
        return query;
    }
    /* one parameter and nothing to ignore: the query is its own form */
    if (total == 1 && (!ignore || !ignore->nelts) && !strchr(query, '&')) {
        return query;
    }
    s = query;
    params = apr_array_make(p, 8, sizeof(sc_param_t));
    while (*s) {
        const char *end = strchr(s, '&');
        apr_size_t len = end ? (apr_size_t)(end - s) : strlen(s);

        if (len > 0) {
            const char *eq = memchr(s, '=', len);
            sc_param_t *prm = apr_array_push(params);
            prm->param = s;
            prm->len = len;
            prm->raw_name_len = eq ? (apr_size_t)(eq - s) : len;
            prm->name = decoded_name(p, s, prm->raw_name_len, &prm->name_len);
            prm->order = params->nelts;
            if (ignore && ignore->nelts && ignored(prm, ignore)) {
                params->nelts--;
            }
        }
        s += len + (end ? 1 : 0);
    }
    if (params->nelts == 0) {
        return "";
    }
    if (sortable(query, params)) {
        qsort(params->elts, params->nelts, sizeof(sc_param_t), param_cmp);
    }
    o = out = apr_palloc(p, strlen(query) + 1);
    for (i = 0; i < params->nelts; i++) {
        const sc_param_t *prm = &APR_ARRAY_IDX(params, i, sc_param_t);
        if (i > 0) {
            *o++ = '&';
        }
        memcpy(o, prm->param, prm->len);
        o += prm->len;
    }
    *o = '\0';
    return out;
}
