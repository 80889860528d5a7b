/*
 * sc_key.c: canonical cache key and memcached key digests (see sc_key.h).
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

static void append(sc_key_t *k, const char *data, apr_size_t len)
{
    if (k->len + len + 1 > k->cap) {
        apr_size_t cap = k->cap ? k->cap : 256;
        char *grown;

        while (k->len + len + 1 > cap) {
            cap *= 2;
        }
        grown = apr_palloc(k->pool, cap);
        if (k->len > 0) {
            memcpy(grown, k->data, k->len);
        }
        k->data = grown;
        k->cap = cap;
    }
    if (len > 0) {
        memcpy(k->data + k->len, data, len);
    }
    k->len += len;
    k->data[k->len] = '\0';
}

static void append_field(sc_key_t *k, const char *a, apr_size_t alen,
                         const char *b, apr_size_t blen)
{
    char num[32];
    int n = apr_snprintf(num, sizeof(num), "%" APR_SIZE_T_FMT ":", alen + blen);

    append(k, num, (apr_size_t)n);
    append(k, a, alen);
    append(k, b, blen);
    append(k, "\n", 1);
}

void sc_key_init(sc_key_t *k, apr_pool_t *p, const sc_url_t *url,
                 const apr_array_header_t *ignore)
{
    const char *query = sc_key_query(p, url->query, ignore);
    const char *origin = apr_psprintf(p, "%s://%s:%u", url->scheme, url->host,
                                      url->port);

    k->pool = p;
    k->data = NULL;
    k->len = k->cap = 0;
    append(k, "SCK2\n", 5);
    /* Path and query are fields of their own: the path is decoded, so it
     * may hold a '?' that must not read as the start of a query. */
    append_field(k, origin, strlen(origin), "", 0);
    append_field(k, url->path, strlen(url->path), "", 0);
    append_field(k, query, strlen(query), "", 0);
}

static void sha1_hex(const char *data, apr_size_t len,
                     char out[SC_DIGEST_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    apr_sha1_ctx_t ctx;
    int i;

    apr_sha1_init(&ctx);
    /* apr_sha1_update takes an unsigned int length: feed large inputs in
     * pieces so nothing is silently cut. */
    while (len > 0) {
        unsigned int n = len > 65536 ? 65536 : (unsigned int)len;
        apr_sha1_update_binary(&ctx, (const unsigned char *)data, n);
        data += n;
        len -= n;
    }
    apr_sha1_final(digest, &ctx);
    for (i = 0; i < APR_SHA1_DIGESTSIZE; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[SC_DIGEST_HEX_LEN] = '\0';
}

static void add_field(sc_key_t *k, char kind, const char *name,
                      const char *value)
{
    /* An absent value is written without '=' so it differs from "". */
    const char *a = value ? apr_psprintf(k->pool, "%c:%s=", kind, name)
                          : apr_psprintf(k->pool, "%c:%s", kind, name);

    append_field(k, a, strlen(a), value ? value : "",
                 value ? strlen(value) : 0);
}

void sc_key_add(sc_key_t *k, char kind, const char *name, const char *value)
{
    char hex[SC_DIGEST_HEX_LEN + 1];

    if (value) {
        sha1_hex(value, strlen(value), hex);
    }
    add_field(k, kind, name, value ? hex : NULL);
}

void sc_key_request(sc_key_t *k, apr_pool_t *p, const sc_key_request_t *rq)
{
    sc_key_init(k, p, &rq->url, rq->ignore);
    sc_key_add(k, 's', "vhost", rq->vhost);
    if (rq->vhost_addresses && *rq->vhost_addresses) {
        sc_key_add(k, 'a', "vhost-addresses", rq->vhost_addresses);
    }
    sc_key_add(k, 'H', "host", rq->host);
    sc_key_add(k, 'r', "route-path", rq->route_path);
    sc_key_add(k, 'r', "route-query",
               sc_key_query(p, rq->route_query, rq->ignore));
    if (rq->route_backend && !strncmp(rq->route_backend, "proxy:", 6)) {
        sc_key_add(k, 'r', "route-backend", rq->route_backend);
    }
}

const char *sc_key_vhost(apr_pool_t *p, const char *name, unsigned int port)
{
    return apr_psprintf(p, "%s:%u", name, port);
}

const char *sc_key_vhost_address_add(apr_pool_t *p, const char *list,
                                     apr_sockaddr_t *addr, unsigned int port)
{
    char *ip = NULL;

    if (addr && !apr_sockaddr_is_wildcard(addr)) {
        apr_sockaddr_ip_get(&ip, addr);
    }
    return apr_psprintf(p, "%s%s%s:%u", list ? list : "",
                        list && *list ? " " : "", ip ? ip : "*", port);
}

const char *sc_key_variant(const sc_key_t *level1,
                           const apr_array_header_t *names,
                           apr_table_t *headers, apr_size_t *len)
{
    sc_key_t k;
    int i;

    sc_key_copy(&k, level1);
    for (i = 0; names && i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        apr_size_t n = strlen(SC_KEY_VARY_COOKIE);

        if (!strncmp(name, SC_KEY_VARY_COOKIE, n)) {
            /* One cookie of the Cookie header; where parsers may read
             * the header differently, the whole header, as Vary: Cookie */
            const char *cookies = apr_table_getm(k.pool, headers, "Cookie");
            sc_key_add(&k, 'V', name,
                       !cookies || sc_key_cookie_header_ok(cookies)
                           ? sc_key_cookie(k.pool, cookies, name + n)
                           : apr_pstrcat(k.pool, "\001", cookies, NULL));
            continue;
        }
        sc_key_add(&k, 'V', name, apr_table_getm(k.pool, headers, name));
    }
    return sc_key_bytes(&k, len);
}

void sc_key_copy(sc_key_t *dst, const sc_key_t *src)
{
    dst->pool = src->pool;
    dst->data = NULL;
    dst->len = dst->cap = 0;
    append(dst, src->data, src->len);
}

const char *sc_key_bytes(const sc_key_t *k, apr_size_t *len)
{
    *len = k->len;
    return k->data;
}

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

int sc_key_path_plain(const char *path)
{
    const char *s;

    if (!path || path[0] != '/' || strchr(path, '%')) {
        return 0;
    }
    for (s = path; *s; s++) {
        if (s[0] == '/'
            && (s[1] == '/' || (s[1] == '.' && (s[2] == '/' || !s[2]))
                || (s[1] == '.' && s[2] == '.' && (s[3] == '/' || !s[3])))) {
            return 0;
        }
    }
    return 1;
}

const char *sc_key_digest(apr_pool_t *p, const char *prefix, char kind,
                          const char *data, apr_size_t len)
{
    char hex[SC_DIGEST_HEX_LEN + 1];

    sha1_hex(data, len, hex);
    return apr_psprintf(p, "%s:%c:%s", prefix, kind, hex);
}

const char *sc_key_counter(apr_pool_t *p, const char *prefix, const char *dep)
{
    return sc_key_digest(p, prefix, SC_KIND_GEN, dep, strlen(dep));
}

const char *sc_key_dep(apr_pool_t *p, char kind, const char *name)
{
    return apr_psprintf(p, "%c:%s", kind, name);
}

const char *sc_key_url_dep(apr_pool_t *p, const sc_url_t *url)
{
    return apr_psprintf(p, "%c:%s://%s:%u%s", SC_DEP_URL, url->scheme,
                        url->host, url->port, url->path);
}

int sc_key_tag_ok(const char *tag)
{
    apr_size_t len = strlen(tag);
    const char *s;

    if (len == 0 || len > SC_TAG_MAX) {
        return 0;
    }
    for (s = tag; *s; s++) {
        if (!apr_isgraph(*s)) {
            return 0;
        }
    }
    return 1;
}

int sc_key_tag_next(apr_pool_t *p, const char **cursor, const char **tag,
                    int *valid)
{
    const char *s = *cursor ? *cursor : "";
    apr_size_t n;

    s += strspn(s, SC_TAG_SEPARATORS);
    n = strcspn(s, SC_TAG_SEPARATORS);
    *cursor = s + n;
    if (n == 0) {
        *tag = NULL;
        *valid = 0;
        return 0;
    }
    *tag = apr_pstrmemdup(p, s, n);
    *valid = sc_key_tag_ok(*tag);
    return 1;
}

const char *sc_chunk_key(apr_pool_t *p, const char *prefix, const char *key,
                         apr_size_t key_len, apr_uint64_t version,
                         apr_uint32_t index)
{
    return apr_psprintf(p, "%s:%016" APR_UINT64_T_HEX_FMT ":%u",
                        sc_key_digest(p, prefix, SC_KIND_CHUNK, key, key_len),
                        version, index);
}

int sc_key_prefix_ok(const char *prefix)
{
    apr_size_t len = strlen(prefix);
    const char *s;

    if (len == 0 || len > SC_PREFIX_MAX) {
        return 0;
    }
    for (s = prefix; *s; s++) {
        if (!apr_isgraph(*s)) {
            return 0;
        }
    }
    return 1;
}
