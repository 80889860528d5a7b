/*
 * sc_esi_form.c: what an ESI page is once parsed (see sc_esi.h): which
 * include sources are this host's local paths, and the parsed form as the
 * entry stores it (written and read back, bounds-checked).  Pure: APR
 * only.
 */
#include "sc_esi.h"
#include "sc_record.h"

#include <apr_strings.h>
#include <string.h>

static const char esi_magic[4] = { 'S', 'C', 'X', SC_ESI_FORMAT };

/* ASCII only, whatever the locale. */
static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Is the path segment [s, e) ".." once %2e is '.' and what follows a ';'
 * (or %3b) is cut? */
static int dot_dot(const char *s, const char *e)
{
    int dots = 0;

    while (s < e && *s != ';'
           && !(*s == '%' && e - s >= 3 && s[1] == '3' && lower(s[2]) == 'b')) {
        if (*s == '.') {
            s++;
        }
        else if (*s == '%' && e - s >= 3 && s[1] == '2' && lower(s[2]) == 'e') {
            s += 3;
        }
        else {
            return 0;
        }
        dots++;
    }
    return dots == 2;
}

int sc_esi_src_local(const char *src)
{
    const char *s, *seg;

    if (!src || src[0] != '/' || src[1] == '/') {
        return 0;
    }
    for (s = src; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c == 0x7f || c == '\\' || c == '#'
            || s - src >= SC_ESI_MAX_ATTR) {
            return 0;
        }
    }
    /* the path: escapes and segments */
    for (s = seg = src + 1;; s++) {
        if (*s == '%') {
            int hi = hex(s[1]), lo = hi < 0 ? -1 : hex(s[2]), v;

            if (lo < 0) {
                return 0;
            }
            v = hi * 16 + lo;
            if (v < 0x20 || v == 0x7f || v == '/' || v == '\\') {
                return 0;
            }
        }
        if (*s == '/' || *s == '?' || *s == '\0') {
            if (dot_dot(seg, s)) {
                return 0;
            }
            if (*s != '/') {
                return 1;
            }
            seg = s + 1;
        }
    }
}

/* ---- the stored form: writing ------------------------------------------- */

static int value_ok(const char *s, int optional)
{
    apr_size_t n;

    if (!s) {
        return optional;
    }
    n = strlen(s);
    return n >= 1 && n <= SC_ESI_MAX_ATTR;
}

/* The invariants of sc_esi.h. */
static int doc_ok(const sc_esi_doc_t *doc)
{
    int i, includes = 0, prev_literal = 0;

    if (!doc || !doc->nodes || doc->nodes->nelts > SC_ESI_MAX_NODES) {
        return 0;
    }
    for (i = 0; i < doc->nodes->nelts; i++) {
        const sc_esi_node_t *n = &APR_ARRAY_IDX(doc->nodes, i, sc_esi_node_t);

        if (n->kind == SC_ESI_LITERAL) {
            if (prev_literal || !n->data || n->len == 0
                || (apr_uint64_t)n->len > 0xffffffffu) {
                return 0;
            }
            prev_literal = 1;
        }
        else if (n->kind == SC_ESI_INCLUDE) {
            if (!value_ok(n->src, 0) || !value_ok(n->alt, 1)
                || (n->onerror_continue != 0 && n->onerror_continue != 1)
                || ++includes > SC_ESI_MAX_INCLUDES) {
                return 0;
            }
            prev_literal = 0;
        }
        else {
            return 0;
        }
    }
    return 1;
}

/* Two passes over the same code (sc_rec_build): the first measures. */
static void write_doc(sc_rec_writer_t *w, const void *what)
{
    const sc_esi_doc_t *doc = what;
    int i;

    sc_rec_put_bytes(w, esi_magic, 4);
    sc_rec_put_uint(w, (apr_uint64_t)doc->nodes->nelts, 4);
    for (i = 0; i < doc->nodes->nelts; i++) {
        const sc_esi_node_t *n = &APR_ARRAY_IDX(doc->nodes, i, sc_esi_node_t);

        sc_rec_put_uint(w, (apr_uint64_t)n->kind, 1);
        if (n->kind == SC_ESI_LITERAL) {
            sc_rec_put_uint(w, n->len, 4);
            sc_rec_put_bytes(w, n->data, n->len);
        }
        else {
            apr_size_t sl = strlen(n->src), al = n->alt ? strlen(n->alt) : 0;

            sc_rec_put_uint(w, n->onerror_continue ? SC_ESI_F_CONTINUE : 0, 1);
            sc_rec_put_uint(w, sl, 2);
            sc_rec_put_bytes(w, n->src, sl);
            sc_rec_put_uint(w, al, 2);
            sc_rec_put_bytes(w, n->alt, al);
        }
    }
}

apr_status_t sc_esi_encode(apr_pool_t *p, const sc_esi_doc_t *doc, char **bytes,
                           apr_size_t *len)
{
    if (!doc_ok(doc)) {
        return SC_EBADESI;
    }
    sc_rec_build(p, write_doc, doc, bytes, len);
    return APR_SUCCESS;
}

/* ---- the stored form: reading ------------------------------------------- */

/* An attribute value: 1..SC_ESI_MAX_ATTR bytes without NUL, copied (0
 * bytes: NULL when optional). */
static const char *get_value(sc_rec_reader_t *r, apr_pool_t *p, int optional)
{
    apr_size_t n = (apr_size_t)sc_rec_get_uint(r, 2);
    const char *s;

    if (r->bad || n > SC_ESI_MAX_ATTR || (n == 0 && !optional)) {
        r->bad = 1;
        return NULL;
    }
    if (n == 0) {
        return NULL;
    }
    s = sc_rec_get_bytes(r, n);
    if (!s || memchr(s, '\0', n)) {
        r->bad = 1;
        return NULL;
    }
    return apr_pstrmemdup(p, s, n);
}

static void get_node(sc_rec_reader_t *r, apr_pool_t *p, sc_esi_doc_t *d,
                     int prev_literal)
{
    sc_esi_node_t *n = apr_array_push(d->nodes);
    apr_uint64_t kind = sc_rec_get_uint(r, 1), flags;

    memset(n, 0, sizeof(*n));
    if (kind == SC_ESI_LITERAL) {
        n->kind = SC_ESI_LITERAL;
        n->len = (apr_size_t)sc_rec_get_uint(r, 4);
        n->data = sc_rec_get_bytes(r, n->len);
        if (prev_literal || n->len == 0) {
            r->bad = 1;
        }
        d->literal_len += n->len;
        return;
    }
    if (kind != SC_ESI_INCLUDE || d->nincludes >= SC_ESI_MAX_INCLUDES) {
        r->bad = 1;
        return;
    }
    n->kind = SC_ESI_INCLUDE;
    flags = sc_rec_get_uint(r, 1);
    if (flags & ~(apr_uint64_t)SC_ESI_F_CONTINUE) {
        r->bad = 1;
        return;
    }
    n->onerror_continue = (flags & SC_ESI_F_CONTINUE) != 0;
    n->src = get_value(r, p, 0);
    n->alt = get_value(r, p, 1);
    d->nincludes++;
}

apr_status_t sc_esi_decode(apr_pool_t *p, const char *buf, apr_size_t len,
                           sc_esi_doc_t **doc)
{
    sc_rec_reader_t r = { (const unsigned char *)buf, len, 0 };
    const char *magic = sc_rec_get_bytes(&r, 4);
    sc_esi_doc_t *d;
    apr_uint64_t n, i;

    *doc = NULL;
    if (!magic || memcmp(magic, esi_magic, 4) != 0) {
        return SC_EBADESI;
    }
    n = sc_rec_get_uint(&r, 4);
    if (r.bad || n > SC_ESI_MAX_NODES) {
        return SC_EBADESI;
    }
    d = apr_pcalloc(p, sizeof(*d));
    /* a node takes 6 bytes at least: a hostile count allocates little */
    d->nodes = apr_array_make(p, (int)(n < r.left / 6 ? n : r.left / 6) + 1,
                              sizeof(sc_esi_node_t));
    for (i = 0; i < n && !r.bad; i++) {
        int prev_literal =
            i > 0
            && APR_ARRAY_IDX(d->nodes, d->nodes->nelts - 1, sc_esi_node_t).kind
                   == SC_ESI_LITERAL;

        get_node(&r, p, d, prev_literal);
    }
    if (r.bad || r.left != 0) {
        return SC_EBADESI;
    }
    *doc = d;
    return APR_SUCCESS;
}
