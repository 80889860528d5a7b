/*
 * fuzz_esi.c: libFuzzer target for the ESI parser and its stored form
 * (src/sc_esi.c, src/sc_esi_form.c; THREATS.md 16 and 29).
 *
 * The input is read four ways (t/fuzz/README.md says more):
 *   - as a page: sc_esi_parse() must return a document that keeps the
 *     invariants of sc_esi.h, owns its bytes, whose literal bytes are a
 *     subsequence of the page, that holds only sources written in the
 *     page, and passes a page without ESI markup through as one literal;
 *     the same page after one more byte of text parses to the same
 *     document, that byte first; the document's stored form follows the
 *     documented layout, decodes to the same document and encodes back to
 *     the same bytes; edited (a node doubled or dropped, truncated, a byte
 *     changed) it decodes to an error or to a valid document, as the
 *     edit says;
 *   - as pieces cut at NUL bytes, each made into text, an include, a
 *     comment, a remove or a wrapper: the page they make parses to exactly
 *     the document built alongside, nothing malformed;
 *   - as a stored form: sc_esi_decode() refuses it or returns a valid
 *     document whose literals lie inside it and whose encoding is the
 *     input byte for byte;
 *   - up to its first NUL, as an include source: sc_esi_src_local() agrees
 *     with a model written from the rule in sc_esi.h (decode the path,
 *     then look at it).
 */
#include "fuzz.h"

#include <apr_strings.h>

#include "sc_esi.h"

static int name_byte(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':'
           || c == '-';
}

/* Does data hold s (lower case) in any case?  Only a '<' can start it. */
static int has_nocase(const uint8_t *data, size_t size, const char *s)
{
    size_t n = strlen(s), i = 0, j;
    const uint8_t *lt;

    while (i < size && (lt = memchr(data + i, '<', size - i)) != NULL) {
        i = (size_t)(lt - data);
        if (size - i < n) {
            return 0;
        }
        for (j = 1; j < n; j++) {
            uint8_t c = data[i + j];

            if ((c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) != (uint8_t)s[j]) {
                break;
            }
        }
        if (j == n) {
            return 1;
        }
        i++;
    }
    return 0;
}

static const sc_esi_node_t *node(const sc_esi_doc_t *d, int i)
{
    return &APR_ARRAY_IDX(d->nodes, i, sc_esi_node_t);
}

/* The invariants of sc_esi.h. */
static void check_doc(const sc_esi_doc_t *d)
{
    int i, includes = 0, prev_literal = 0;
    size_t bytes = 0;

    FUZZ_CHECK(d != NULL && d->nodes != NULL);
    FUZZ_CHECK(d->nodes->nelts <= SC_ESI_MAX_NODES);
    for (i = 0; i < d->nodes->nelts; i++) {
        const sc_esi_node_t *n = node(d, i);

        if (n->kind == SC_ESI_LITERAL) {
            FUZZ_CHECK(!prev_literal && n->len > 0 && n->data != NULL);
            bytes += n->len;
            prev_literal = 1;
            continue;
        }
        FUZZ_CHECK(n->kind == SC_ESI_INCLUDE);
        FUZZ_CHECK(n->src != NULL && strlen(n->src) >= 1
                   && strlen(n->src) <= SC_ESI_MAX_ATTR);
        FUZZ_CHECK(
            n->alt == NULL
            || (strlen(n->alt) >= 1 && strlen(n->alt) <= SC_ESI_MAX_ATTR));
        FUZZ_CHECK(n->onerror_continue == 0 || n->onerror_continue == 1);
        includes++;
        prev_literal = 0;
    }
    FUZZ_CHECK(d->nincludes == includes && includes <= SC_ESI_MAX_INCLUDES);
    FUZZ_CHECK(d->literal_len == bytes);
}

static void check_same(const sc_esi_doc_t *a, const sc_esi_doc_t *b)
{
    int i;

    FUZZ_CHECK(a->nodes->nelts == b->nodes->nelts);
    FUZZ_CHECK(a->nincludes == b->nincludes);
    FUZZ_CHECK(a->literal_len == b->literal_len);
    for (i = 0; i < a->nodes->nelts; i++) {
        const sc_esi_node_t *x = node(a, i), *y = node(b, i);

        FUZZ_CHECK(x->kind == y->kind);
        if (x->kind == SC_ESI_LITERAL) {
            FUZZ_CHECK(x->len == y->len
                       && memcmp(x->data, y->data, x->len) == 0);
            continue;
        }
        FUZZ_CHECK(strcmp(x->src, y->src) == 0);
        FUZZ_CHECK((x->alt == NULL) == (y->alt == NULL));
        FUZZ_CHECK(!x->alt || strcmp(x->alt, y->alt) == 0);
        FUZZ_CHECK(x->onerror_continue == y->onerror_continue);
    }
}

/* What the parser reports of a page. */
static void check_report(const sc_esi_doc_t *d, size_t size)
{
    FUZZ_CHECK((d->malformed == 0) == (d->first_malformed == NULL));
    FUZZ_CHECK(d->first_malformed_at <= size);
    FUZZ_CHECK((d->unknown_tags == 0) == (d->first_unknown == NULL));
    if (d->first_unknown) {
        const char *s = d->first_unknown;
        size_t n;

        s += *s == '/';
        FUZZ_CHECK(strncmp(s, "esi:", 4) == 0);
        n = strlen(s + 4);
        FUZZ_CHECK(n >= 1 && n <= SC_ESI_MAX_NAME);
        for (s += 4; *s; s++) {
            FUZZ_CHECK(name_byte(*s));
        }
    }
}

/* sc_esi_decode() of a copy, checked; the copy is freed before returning
 * (so *d must not be used after, but for its shape). */
static apr_status_t decode_checked(apr_pool_t *p, const char *buf, size_t len,
                                   const sc_esi_doc_t *want)
{
    char *copy = malloc(len ? len : 1);
    sc_esi_doc_t *d = NULL;
    apr_status_t rv;

    if (!copy) {
        abort();
    }
    memcpy(copy, buf, len);
    rv = sc_esi_decode(p, copy, len, &d);
    if (rv == APR_SUCCESS) {
        char *again;
        apr_size_t again_len;
        int i;

        check_doc(d);
        FUZZ_CHECK(d->malformed == 0 && d->unknown_tags == 0
                   && !d->first_malformed && !d->first_unknown);
        for (i = 0; i < d->nodes->nelts; i++) {
            const sc_esi_node_t *n = node(d, i);

            if (n->kind == SC_ESI_LITERAL) {
                FUZZ_CHECK(n->data >= copy && n->data + n->len <= copy + len);
            }
        }
        if (want) {
            check_same(want, d);
        }
        /* the encoding is unique */
        FUZZ_CHECK(sc_esi_encode(p, d, &again, &again_len) == APR_SUCCESS);
        FUZZ_CHECK(again_len == len && memcmp(again, copy, len) == 0);
    }
    else {
        FUZZ_CHECK(rv == SC_EBADESI && d == NULL);
    }
    free(copy);
    return rv;
}

/* A page without anything that starts ESI markup is one literal, itself. */
static int plain(const uint8_t *data, size_t size)
{
    return !has_nocase(data, size, "<esi:") && !has_nocase(data, size, "</esi:")
           && !has_nocase(data, size, "<!--esi");
}

/* The literal bytes, in order, are a subsequence of the page: nothing is
 * invented, duplicated or reordered. */
static void check_subsequence(const sc_esi_doc_t *d, const uint8_t *data,
                              size_t size)
{
    size_t at = 0, j;
    int i;

    for (i = 0; i < d->nodes->nelts; i++) {
        const sc_esi_node_t *n = node(d, i);

        for (j = 0; n->kind == SC_ESI_LITERAL && j < n->len; j++) {
            const uint8_t *c = at < size
                                   ? memchr(data + at, n->data[j], size - at)
                                   : NULL;

            FUZZ_CHECK(c != NULL);
            at = (size_t)(c - data) + 1;
        }
    }
}

static void check_page_doc(const sc_esi_doc_t *d, const uint8_t *data,
                           size_t size)
{
    int i;

    check_doc(d);
    check_report(d, size);
    FUZZ_CHECK(d->literal_len <= size);
    for (i = 0; i < d->nodes->nelts; i++) {
        const sc_esi_node_t *n = node(d, i);

        if (n->kind == SC_ESI_LITERAL) {
            /* self-contained: a copy, not the page */
            FUZZ_CHECK(n->data + n->len <= (const char *)data
                       || n->data >= (const char *)data + size);
            continue;
        }
        /* sources are written in the page, and hold no '<' */
        FUZZ_CHECK(memmem(data, size, n->src, strlen(n->src)) != NULL);
        FUZZ_CHECK(strchr(n->src, '<') == NULL);
        FUZZ_CHECK(!n->alt
                   || memmem(data, size, n->alt, strlen(n->alt)) != NULL);
        (void)sc_esi_src_local(n->src);
    }
    check_subsequence(d, data, size);
    if (plain(data, size)) {
        FUZZ_CHECK(d->malformed == 0 && d->unknown_tags == 0);
        FUZZ_CHECK(d->nodes->nelts == (size ? 1 : 0));
        FUZZ_CHECK(size == 0
                   || (node(d, 0)->len == size
                       && memcmp(node(d, 0)->data, data, size) == 0));
    }
}

/* The page after one more byte of text, "x" first: the same document. */
static void check_shifted(apr_pool_t *p, const sc_esi_doc_t *d,
                          const uint8_t *data, size_t size)
{
    char *page = malloc(size + 1);
    sc_esi_doc_t *e = NULL;
    const char *err;
    int i, skip;

    if (!page) {
        abort();
    }
    page[0] = 'x';
    memcpy(page + 1, data, size);
    FUZZ_CHECK(sc_esi_parse(p, page, size + 1, &e, &err) == APR_SUCCESS);
    free(page);
    FUZZ_CHECK(e->malformed == d->malformed
               && e->unknown_tags == d->unknown_tags);
    FUZZ_CHECK(e->first_malformed == d->first_malformed);
    FUZZ_CHECK(!d->malformed
               || e->first_malformed_at == d->first_malformed_at + 1);
    FUZZ_CHECK((e->first_unknown == NULL) == (d->first_unknown == NULL));
    FUZZ_CHECK(!d->first_unknown
               || strcmp(e->first_unknown, d->first_unknown) == 0);
    FUZZ_CHECK(e->nincludes == d->nincludes);
    FUZZ_CHECK(e->literal_len == d->literal_len + 1);
    FUZZ_CHECK(node(e, 0)->kind == SC_ESI_LITERAL
               && node(e, 0)->data[0] == 'x');
    skip = d->nodes->nelts > 0 && node(d, 0)->kind == SC_ESI_LITERAL;
    FUZZ_CHECK(e->nodes->nelts == d->nodes->nelts + !skip);
    if (skip) {
        FUZZ_CHECK(
            node(e, 0)->len == node(d, 0)->len + 1
            && memcmp(node(e, 0)->data + 1, node(d, 0)->data, node(d, 0)->len)
                   == 0);
    }
    else {
        FUZZ_CHECK(node(e, 0)->len == 1);
    }
    for (i = 1; i < e->nodes->nelts; i++) {
        const sc_esi_node_t *x = node(e, i), *y = node(d, i - !skip);

        FUZZ_CHECK(x->kind == y->kind);
        if (x->kind == SC_ESI_LITERAL) {
            FUZZ_CHECK(x->len == y->len
                       && memcmp(x->data, y->data, x->len) == 0);
        }
        else {
            FUZZ_CHECK(strcmp(x->src, y->src) == 0
                       && (x->alt == NULL) == (y->alt == NULL)
                       && (!x->alt || strcmp(x->alt, y->alt) == 0)
                       && x->onerror_continue == y->onerror_continue);
        }
    }
}

static apr_uint64_t be(const char *p, int width)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < width; i++) {
        v = (v << 8) | (unsigned char)p[i];
    }
    return v;
}

/* Walk the record by the layout documented in sc_esi.h, checking each
 * node against the document; off[i] is where node i starts (off[n]: the
 * end). */
static void check_layout(const sc_esi_doc_t *d, const char *rec, apr_size_t len,
                         apr_size_t *off)
{
    apr_size_t at = 8;
    int i;

    FUZZ_CHECK(memcmp(rec, "SCX\x01", 4) == 0);
    FUZZ_CHECK(be(rec + 4, 4) == (apr_uint64_t)d->nodes->nelts);
    for (i = 0; i < d->nodes->nelts; i++) {
        const sc_esi_node_t *n = node(d, i);

        off[i] = at;
        FUZZ_CHECK((int)rec[at] == (int)n->kind);
        if (n->kind == SC_ESI_LITERAL) {
            FUZZ_CHECK(be(rec + at + 1, 4) == n->len);
            FUZZ_CHECK(memcmp(rec + at + 5, n->data, n->len) == 0);
            at += 5 + n->len;
        }
        else {
            apr_size_t sl = strlen(n->src), al = n->alt ? strlen(n->alt) : 0;

            FUZZ_CHECK(rec[at + 1] == (n->onerror_continue ? 1 : 0));
            FUZZ_CHECK(be(rec + at + 2, 2) == sl);
            FUZZ_CHECK(memcmp(rec + at + 4, n->src, sl) == 0);
            FUZZ_CHECK(be(rec + at + 4 + sl, 2) == al);
            FUZZ_CHECK(al == 0 || memcmp(rec + at + 6 + sl, n->alt, al) == 0);
            at += 6 + sl + al;
        }
    }
    off[i] = at;
    FUZZ_CHECK(at == len);
}

/* The record with node k twice (dup) or without it: valid exactly when
 * no two literals end up side by side. */
static void check_edited(apr_pool_t *p, const sc_esi_doc_t *d, const char *rec,
                         const apr_size_t *off, int k, int dup)
{
    int n = d->nodes->nelts, count = n + (dup ? 1 : -1);
    apr_size_t klen = off[k + 1] - off[k];
    apr_size_t len = off[n] + (dup ? klen : 0) - (dup ? 0 : klen);
    char *e = malloc(len);
    int lit_k = node(d, k)->kind == SC_ESI_LITERAL;
    int lit_prev = k > 0 && node(d, k - 1)->kind == SC_ESI_LITERAL;
    int lit_next = k + 1 < n && node(d, k + 1)->kind == SC_ESI_LITERAL;
    int valid = dup ? !lit_k && d->nincludes < SC_ESI_MAX_INCLUDES
                    : !(lit_prev && lit_next);

    if (!e) {
        abort();
    }
    if (dup) {
        memcpy(e, rec, off[k + 1]);
        memcpy(e + off[k + 1], rec + off[k], klen);
        memcpy(e + off[k + 1] + klen, rec + off[k + 1], off[n] - off[k + 1]);
    }
    else {
        memcpy(e, rec, off[k]);
        memcpy(e + off[k], rec + off[k + 1], off[n] - off[k + 1]);
    }
    e[4] = (char)(count >> 24);
    e[5] = (char)(count >> 16);
    e[6] = (char)(count >> 8);
    e[7] = (char)count;
    FUZZ_CHECK((decode_checked(p, e, len, NULL) == APR_SUCCESS) == valid);
    free(e);
}

/* The stored form of a parsed page: its layout, a round trip, the record
 * with one node doubled or dropped, a prefix and a changed byte, picked
 * from the input. */
static void check_stored(apr_pool_t *p, const sc_esi_doc_t *d,
                         const uint8_t *data, size_t size)
{
    char *rec;
    apr_size_t len, at;
    apr_size_t *off = apr_palloc(p, (d->nodes->nelts + 1) * sizeof(*off));
    unsigned int h = 2166136261u;
    size_t i;

    FUZZ_CHECK(sc_esi_encode(p, d, &rec, &len) == APR_SUCCESS);
    check_layout(d, rec, len, off);
    FUZZ_CHECK(decode_checked(p, rec, len, d) == APR_SUCCESS);
    for (i = 0; i < size; i++) {
        h = (h ^ data[i]) * 16777619u;
    }
    if (d->nodes->nelts > 0) {
        check_edited(p, d, rec, off, (int)(h % d->nodes->nelts), 1);
        check_edited(p, d, rec, off, (int)((h >> 4) % d->nodes->nelts), 0);
    }
    FUZZ_CHECK(decode_checked(p, rec, h % len, NULL) == SC_EBADESI);
    at = (h >> 8) % len;
    rec[at] ^= (char)(1 + (h >> 24) % 255);
    (void)decode_checked(p, rec, len, NULL);
}

/* ---- a page whose document is known ----------------------------------- */

typedef struct {
    apr_pool_t *p;
    char *page;
    size_t len, cap;
    apr_array_header_t *want; /* of sc_esi_node_t */
} gen_t;

static void gen_put(gen_t *g, const char *s, size_t n)
{
    if (g->len + n > g->cap) {
        size_t cap = (g->len + n) * 2;
        char *page = apr_palloc(g->p, cap);

        if (g->len) {
            memcpy(page, g->page, g->len);
        }
        g->page = page;
        g->cap = cap;
    }
    memcpy(g->page + g->len, s, n);
    g->len += n;
}

/* Text (without the bytes in drop) into the page and the document. */
static void gen_text(gen_t *g, const char *s, const char *drop)
{
    char *t = apr_palloc(g->p, strlen(s) + 1);
    size_t n = 0;
    sc_esi_node_t *last = g->want->nelts ? &APR_ARRAY_IDX(
                              g->want, g->want->nelts - 1, sc_esi_node_t)
                                         : NULL;

    for (; *s; s++) {
        if (!strchr(drop, *s)) {
            t[n++] = *s;
        }
    }
    if (n == 0) {
        return;
    }
    gen_put(g, t, n);
    if (last && last->kind == SC_ESI_LITERAL) {
        char *j = apr_palloc(g->p, last->len + n);

        memcpy(j, last->data, last->len);
        memcpy(j + last->len, t, n);
        last->data = j;
        last->len += n;
    }
    else {
        last = apr_array_push(g->want);
        memset(last, 0, sizeof(*last));
        last->kind = SC_ESI_LITERAL;
        last->data = t;
        last->len = n;
    }
}

/* An include of the piece (quotes and '<' dropped), in a form picked by
 * its length. */
static void gen_include(gen_t *g, const char *piece)
{
    char *src = apr_palloc(g->p, strlen(piece) + 2);
    size_t n = 0, v = strlen(piece) % 4;
    sc_esi_node_t *inc;
    const char *tag;

    for (; *piece && n < SC_ESI_MAX_ATTR - 1; piece++) {
        if (!strchr("\"'<", *piece)) {
            src[n++] = *piece;
        }
    }
    if (n == 0) {
        src[n++] = '/';
    }
    src[n] = '\0';
    inc = apr_array_push(g->want);
    memset(inc, 0, sizeof(*inc));
    inc->kind = SC_ESI_INCLUDE;
    inc->src = src;
    inc->alt = v & 1 ? apr_pstrcat(g->p, src, "a", NULL) : NULL;
    inc->onerror_continue = (v & 2) != 0;
    switch (v) {
    case 0:
        tag = apr_psprintf(g->p, "<esi:include src=\"%s\"/>", src);
        break;
    case 1:
        tag = apr_psprintf(g->p, "<esi:include\tsrc = '%s' alt='%sa'\n/>", src,
                           src);
        break;
    case 2:
        tag = apr_psprintf(g->p,
                           "<esi:include onerror=\"continue\" src='%s'>"
                           "</esi:include>",
                           src);
        break;
    default:
        tag = apr_psprintf(g->p,
                           "<esi:include alt=\"%sa\" src=\"%s\" "
                           "onerror='continue'>\r\n</esi:include >",
                           src, src);
        break;
    }
    gen_put(g, tag, strlen(tag));
}

/* The input cut at NUL bytes; each piece becomes, by its first byte, text,
 * an include, a comment, a remove or an <!--esi wrapper, with the bytes
 * dropped that would make it something else.  The parser must find
 * exactly the document built alongside, and nothing malformed. */
static void check_generated(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *f[16];
    int nf = fuzz_split(data, size, f, 16), i;
    gen_t g;
    sc_esi_doc_t *d, want;
    const char *err;
    char *page;

    memset(&g, 0, sizeof(g));
    g.p = p;
    g.want = apr_array_make(p, 16, sizeof(sc_esi_node_t));
    for (i = 0; i < nf; i++) {
        const char *s = f[i];
        size_t n;

        switch ((unsigned char)s[0] % 5) {
        case 0:
            gen_text(&g, s, "<");
            break;
        case 1:
            gen_include(&g, s + 1);
            break;
        case 2:
            gen_put(&g, "<esi:comment text=\"", 19);
            n = strcspn(s + 1, "\"<");
            gen_put(&g, s + 1, n < SC_ESI_MAX_ATTR ? n : SC_ESI_MAX_ATTR);
            gen_put(&g, "\"/>", 3);
            break;
        case 3:
            gen_put(&g, "<esi:remove>", 12);
            gen_put(&g, s + 1, strcspn(s + 1, "<"));
            gen_put(&g, "</esi:remove>", 13);
            break;
        default:
            gen_put(&g, "<!--esi", 7);
            gen_text(&g, " ", "");
            gen_text(&g, s + 1, "<>");
            gen_put(&g, "-->", 3);
            break;
        }
    }
    fuzz_free_fields(f, 16);
    page = malloc(g.len ? g.len : 1);
    if (!page) {
        abort();
    }
    if (g.len) {
        memcpy(page, g.page, g.len);
    }
    FUZZ_CHECK(sc_esi_parse(p, page, g.len, &d, &err) == APR_SUCCESS);
    free(page);
    check_doc(d);
    FUZZ_CHECK(d->malformed == 0 && d->unknown_tags == 0);
    memset(&want, 0, sizeof(want));
    want.nodes = g.want;
    for (i = 0; i < g.want->nelts; i++) {
        if (node(&want, i)->kind == SC_ESI_INCLUDE) {
            want.nincludes++;
        }
        else {
            want.literal_len += node(&want, i)->len;
        }
    }
    check_same(&want, d);
}

static void check_page(apr_pool_t *p, const uint8_t *data, size_t size)
{
    sc_esi_doc_t *d = NULL;
    const char *err = NULL;
    apr_status_t rv = sc_esi_parse(p, (const char *)data, size, &d, &err);

    if (rv != APR_SUCCESS) {
        /* too many includes: more than this input can hold */
        FUZZ_CHECK(rv == SC_EESILIMIT && d == NULL && err != NULL);
        FUZZ_CHECK(size > SC_ESI_MAX_INCLUDES * 20);
        return;
    }
    FUZZ_CHECK(err == NULL);
    check_page_doc(d, data, size);
    check_shifted(p, d, data, size);
    check_stored(p, d, data, size);
}

/* ---- include sources: the model ---------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* One path segment [s, s + n), decoded: 0 when an escape is malformed or
 * decodes to a byte a path must not smuggle, or when it is ".." up to its
 * first ';'. */
static int model_segment(const char *s, size_t n)
{
    char dec[SC_ESI_MAX_ATTR + 1];
    size_t i, m = 0;

    for (i = 0; i < n; i++) {
        if (s[i] != '%') {
            dec[m++] = s[i];
            continue;
        }
        if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
            return 0;
        }
        dec[m] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
        if ((unsigned char)dec[m] < 0x20 || dec[m] == 0x7f || dec[m] == '/'
            || dec[m] == '\\') {
            return 0;
        }
        m++;
        i += 2;
    }
    dec[m] = '\0';
    dec[strcspn(dec, ";")] = '\0';
    return strcmp(dec, "..") != 0;
}

static int model_local(const char *s)
{
    size_t n = strlen(s), i, path, start;

    if (n == 0 || n > SC_ESI_MAX_ATTR || s[0] != '/' || s[1] == '/') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= ' ' || c == 0x7f || c == '\\' || c == '#') {
            return 0;
        }
    }
    path = strcspn(s, "?");
    for (start = 1, i = 1; i <= path; i++) {
        if (i == path || s[i] == '/') {
            if (!model_segment(s + start, i - start)) {
                return 0;
            }
            start = i + 1;
        }
    }
    return 1;
}

static void check_src(const uint8_t *data, size_t size)
{
    char *f[1];

    fuzz_split(data, size, f, 1);
    FUZZ_CHECK(sc_esi_src_local(f[0]) == model_local(f[0]));
    fuzz_free_fields(f, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();

    check_page(p, data, size);
    check_generated(p, data, size);
    (void)decode_checked(p, (const char *)data, size, NULL);
    check_src(data, size);
    apr_pool_destroy(p);
    return 0;
}
