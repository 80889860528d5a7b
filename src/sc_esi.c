/*
 * sc_esi.c: the ESI parser (see sc_esi.h): a page's markup into literal
 * runs and include references, malformed markup passed through and
 * counted.  The include sources and the stored form: sc_esi_form.c.
 */
#include "sc_esi.h"

#include <apr_strings.h>
#include <string.h>

#define WRAP_OPEN "<!--esi"
#define WRAP_OPEN_LEN 7
#define WRAP_CLOSE "-->"
#define WRAP_CLOSE_LEN 3

/* ---- bytes -------------------------------------------------------------- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_name(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':'
           || c == '-';
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ---- the parser's state ------------------------------------------------- */

typedef struct parser_s parser_t;

/* A search for the first occurrence of a fixed string that accept() takes
 * (NULL: any), whose last answer is kept.  The parser only ever asks from
 * further on, so no byte is searched, and no occurrence checked, twice:
 * the parse takes linear time. */
typedef struct {
    const char *needle;
    apr_size_t nlen;
    /* the offset just past what was found at at, or 0 to look further */
    apr_size_t (*accept)(const parser_t *ps, apr_size_t at);
    int valid;
    apr_size_t from; /* searched from here ... */
    apr_size_t at;   /* ... and first found here (the input's length: not) */
    apr_size_t past; /* just past what was found */
} finder_t;

struct parser_s {
    const char *buf;
    apr_size_t len;
    apr_pool_t *p;
    sc_esi_doc_t *doc;
    char *text;            /* the literal bytes, copied in document order */
    int in_wrapper;        /* inside <!--esi ... --> */
    finder_t wrap_close;   /* "-->" */
    finder_t remove_close; /* "</esi:remove" blank* ">" */
    finder_t remove_open;  /* "<esi:remove" and no name byte after it */
    const char *err;
};

typedef struct {
    apr_size_t name, name_len; /* offsets into the input */
    apr_size_t value, value_len;
} attr_t;

typedef struct {
    int end_tag;               /* </esi:...> */
    int empty;                 /* <esi:... /> */
    apr_size_t name, name_len; /* after "esi:" */
    int nattrs;
    attr_t attrs[SC_ESI_MAX_ATTRS];
    apr_size_t end; /* just past the '>' */
} tag_t;

static int has(const parser_t *ps, apr_size_t at, const char *s, apr_size_t n)
{
    return ps->len - at >= n && memcmp(ps->buf + at, s, n) == 0;
}

static int has_nocase(const parser_t *ps, apr_size_t at, const char *s,
                      apr_size_t n)
{
    apr_size_t i;

    if (ps->len - at < n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (lower(ps->buf[at + i]) != s[i]) {
            return 0;
        }
    }
    return 1;
}

static apr_size_t find(const parser_t *ps, finder_t *f, apr_size_t from)
{
    apr_size_t i = from;

    if (f->valid && f->from <= from && f->at >= from) {
        return f->at;
    }
    f->valid = 1;
    f->from = from;
    f->at = f->past = ps->len;
    while (i < ps->len && ps->len - i >= f->nlen) {
        const char *c = memchr(ps->buf + i, f->needle[0],
                               ps->len - i - f->nlen + 1);
        apr_size_t past;

        if (!c) {
            break;
        }
        i = (apr_size_t)(c - ps->buf);
        if (memcmp(c, f->needle, f->nlen) == 0) {
            past = f->accept ? f->accept(ps, i) : i + f->nlen;
            if (past) {
                f->at = i;
                f->past = past;
                break;
            }
        }
        i++;
    }
    return f->at;
}

static void malformed(parser_t *ps, apr_size_t at, const char *why)
{
    sc_esi_doc_t *d = ps->doc;

    if (d->malformed == 0) {
        d->first_malformed = why;
        d->first_malformed_at = at;
    }
    if (d->malformed < 0xffffffffu) {
        d->malformed++;
    }
}

/* Bytes [from, to) of the input are literal: copied, joined to the
 * previous node when it is a literal too. */
static void literal(parser_t *ps, apr_size_t from, apr_size_t to)
{
    sc_esi_doc_t *d = ps->doc;
    sc_esi_node_t *last = NULL;
    apr_size_t n = to - from;

    if (to <= from) {
        return;
    }
    memcpy(ps->text + d->literal_len, ps->buf + from, n);
    if (d->nodes->nelts > 0) {
        last = &APR_ARRAY_IDX(d->nodes, d->nodes->nelts - 1, sc_esi_node_t);
    }
    if (last && last->kind == SC_ESI_LITERAL) {
        last->len += n;
    }
    else {
        sc_esi_node_t *node = apr_array_push(d->nodes);

        memset(node, 0, sizeof(*node));
        node->kind = SC_ESI_LITERAL;
        node->data = ps->text + d->literal_len;
        node->len = n;
    }
    d->literal_len += n;
}

/* ---- tags --------------------------------------------------------------- */

static apr_size_t name_run(const parser_t *ps, apr_size_t q, apr_size_t lim)
{
    apr_size_t s = q;

    while (q < lim && is_name(ps->buf[q])) {
        q++;
    }
    return q - s;
}

static apr_size_t skip_blanks(const parser_t *ps, apr_size_t q, apr_size_t lim)
{
    while (q < lim && is_blank(ps->buf[q])) {
        q++;
    }
    return q;
}

static const char *no_end(const parser_t *ps, apr_size_t q, apr_size_t lim)
{
    if (q < lim) {
        return ps->buf[q] == '\0'  ? "NUL byte in an ESI tag"
               : ps->buf[q] == '<' ? "'<' in an ESI tag"
                                   : "unexpected byte in an ESI tag";
    }
    return lim < ps->len ? "ESI tag longer than the limit" : "unclosed ESI tag";
}

static int same_name(const parser_t *ps, apr_size_t at, apr_size_t n,
                     const char *name)
{
    return n == strlen(name) && memcmp(ps->buf + at, name, n) == 0;
}

/* One attribute at q (after its blank): NULL, or why it is malformed. */
static const char *read_attr(const parser_t *ps, tag_t *t, apr_size_t *qp,
                             apr_size_t lim)
{
    const char *b = ps->buf;
    apr_size_t q = *qp, n = name_run(ps, q, lim);
    attr_t *a;
    char quote;
    int i;

    if (n == 0) {
        return no_end(ps, q, lim);
    }
    if (n > SC_ESI_MAX_NAME) {
        return "ESI attribute name too long";
    }
    if (t->nattrs == SC_ESI_MAX_ATTRS) {
        return "too many attributes in an ESI tag";
    }
    a = &t->attrs[t->nattrs];
    a->name = q;
    a->name_len = n;
    q = skip_blanks(ps, q + n, lim);
    if (q >= lim || b[q] != '=') {
        return q >= lim ? no_end(ps, q, lim) : "ESI attribute without a value";
    }
    q = skip_blanks(ps, q + 1, lim);
    if (q >= lim || (b[q] != '"' && b[q] != '\'')) {
        return q >= lim ? no_end(ps, q, lim)
                        : "ESI attribute value without quotes";
    }
    quote = b[q++];
    a->value = q;
    while (q < lim && b[q] != quote && b[q] != '<' && b[q] != '\0') {
        q++;
    }
    if (q >= lim || b[q] != quote) {
        return no_end(ps, q, lim);
    }
    a->value_len = q - a->value;
    if (a->value_len > SC_ESI_MAX_ATTR) {
        return "ESI attribute value too long";
    }
    for (i = 0; i < t->nattrs; i++) {
        if (t->attrs[i].name_len == n
            && memcmp(b + t->attrs[i].name, b + a->name, n) == 0) {
            return "duplicate ESI attribute";
        }
    }
    t->nattrs++;
    *qp = q + 1;
    return NULL;
}

/* The tag at the '<' of "<esi:" or "</esi:": NULL, or why it is not a
 * well-formed tag. */
static const char *read_tag(const parser_t *ps, apr_size_t at, tag_t *t)
{
    const char *b = ps->buf;
    apr_size_t lim = ps->len - at > SC_ESI_MAX_TAG ? at + SC_ESI_MAX_TAG
                                                   : ps->len;
    apr_size_t q, n;
    const char *why;

    memset(t, 0, sizeof(*t));
    t->end_tag = b[at + 1] == '/';
    q = at + (t->end_tag ? 6 : 5);
    n = name_run(ps, q, lim);
    if (n == 0) {
        return q < lim && !is_blank(b[q]) && b[q] != '>' && b[q] != '/'
                   ? no_end(ps, q, lim)
                   : "ESI tag without an element name";
    }
    if (n > SC_ESI_MAX_NAME) {
        return "ESI element name too long";
    }
    t->name = q;
    t->name_len = n;
    q += n;
    for (;;) {
        apr_size_t s = q;

        q = skip_blanks(ps, q, lim);
        if (q >= lim) {
            return no_end(ps, q, lim);
        }
        if (b[q] == '>') {
            t->end = q + 1;
            return NULL;
        }
        if (b[q] == '/' && !t->end_tag) {
            if (q + 1 >= lim) {
                return no_end(ps, q + 1, lim);
            }
            if (b[q + 1] == '>') {
                t->empty = 1;
                t->end = q + 2;
                return NULL;
            }
            return "'/' not followed by '>' in an ESI tag";
        }
        if (t->end_tag) {
            return "more than a name in an ESI end tag";
        }
        if (q == s) {
            return is_name(b[q]) ? "no blank before an ESI attribute"
                                 : no_end(ps, q, lim);
        }
        if ((why = read_attr(ps, t, &q, lim)) != NULL) {
            return why;
        }
    }
}

static const attr_t *attr(const parser_t *ps, const tag_t *t, const char *name)
{
    int i;

    for (i = 0; i < t->nattrs; i++) {
        if (same_name(ps, t->attrs[i].name, t->attrs[i].name_len, name)) {
            return &t->attrs[i];
        }
    }
    return NULL;
}

/* "</esi:NAME" blank* ">" at q: the offset past it, or 0. */
static apr_size_t end_tag_at(const parser_t *ps, apr_size_t q, const char *name)
{
    apr_size_t n = strlen(name);

    if (!has(ps, q, "</esi:", 6) || !has(ps, q + 6, name, n)) {
        return 0;
    }
    q = skip_blanks(ps, q + 6 + n, ps->len);
    return q < ps->len && ps->buf[q] == '>' ? q + 1 : 0;
}

/* Where an empty element written as a start tag ends: blanks and its end
 * tag, or 0 when they do not follow. */
static apr_size_t empty_end(const parser_t *ps, const tag_t *t,
                            const char *name)
{
    if (t->empty) {
        return t->end;
    }
    return end_tag_at(ps, skip_blanks(ps, t->end, ps->len), name);
}

/* ---- elements ----------------------------------------------------------- */

static const char *dup_value(const parser_t *ps, const attr_t *a)
{
    return apr_pstrmemdup(ps->p, ps->buf + a->value, a->value_len);
}

static apr_status_t include(parser_t *ps, apr_size_t at, const tag_t *t,
                            apr_size_t *pos)
{
    apr_size_t end = empty_end(ps, t, "include");
    const attr_t *src = attr(ps, t, "src"), *alt, *onerror;
    sc_esi_node_t *node;

    if (!end) {
        malformed(ps, at, "<esi:include> without </esi:include>");
        literal(ps, at, t->end);
        *pos = t->end;
        return APR_SUCCESS;
    }
    if (!src || src->value_len == 0) {
        malformed(ps, at, "<esi:include> without src");
        literal(ps, at, end);
        *pos = end;
        return APR_SUCCESS;
    }
    if (ps->doc->nincludes >= SC_ESI_MAX_INCLUDES) {
        ps->err = "more ESI includes than the limit";
        return SC_EESILIMIT;
    }
    alt = attr(ps, t, "alt");
    onerror = attr(ps, t, "onerror");
    node = apr_array_push(ps->doc->nodes);
    memset(node, 0, sizeof(*node));
    node->kind = SC_ESI_INCLUDE;
    node->src = dup_value(ps, src);
    node->alt = alt && alt->value_len ? dup_value(ps, alt) : NULL;
    node->onerror_continue = onerror && onerror->value_len == 8
                             && memcmp(ps->buf + onerror->value, "continue", 8)
                                    == 0;
    ps->doc->nincludes++;
    *pos = end;
    return APR_SUCCESS;
}

static void comment(parser_t *ps, apr_size_t at, const tag_t *t,
                    apr_size_t *pos)
{
    apr_size_t end = empty_end(ps, t, "comment");

    if (!end) {
        malformed(ps, at, "<esi:comment> without </esi:comment>");
        literal(ps, at, t->end);
        end = t->end;
    }
    *pos = end;
}

/* Accepted occurrences of the removes' searches (finder_t). */
static apr_size_t remove_close_at(const parser_t *ps, apr_size_t at)
{
    return end_tag_at(ps, at, "remove");
}

static apr_size_t remove_open_at(const parser_t *ps, apr_size_t at)
{
    apr_size_t q = at + 11;

    return q == ps->len || !is_name(ps->buf[q]) ? q : 0;
}

static void remove_element(parser_t *ps, apr_size_t at, const tag_t *t,
                           apr_size_t *pos)
{
    apr_size_t close, nested;

    if (t->empty) {
        *pos = t->end;
        return;
    }
    close = find(ps, &ps->remove_close, t->end);
    if (close == ps->len) {
        malformed(ps, at, "<esi:remove> without </esi:remove>");
        literal(ps, at, t->end);
        *pos = t->end;
        return;
    }
    nested = find(ps, &ps->remove_open, t->end);
    if (nested < close) {
        malformed(ps, nested, "<esi:remove> inside <esi:remove>");
    }
    *pos = ps->remove_close.past;
}

static void unknown(parser_t *ps, apr_size_t at, const tag_t *t,
                    apr_size_t *pos)
{
    sc_esi_doc_t *d = ps->doc;

    if (d->unknown_tags == 0) {
        d->first_unknown = apr_pstrcat(
            ps->p, t->end_tag ? "/esi:" : "esi:",
            apr_pstrmemdup(ps->p, ps->buf + t->name, t->name_len), NULL);
    }
    if (d->unknown_tags < 0xffffffffu) {
        d->unknown_tags++;
    }
    literal(ps, at, t->end);
    *pos = t->end;
}

static int known(const parser_t *ps, const tag_t *t)
{
    return same_name(ps, t->name, t->name_len, "include")
           || same_name(ps, t->name, t->name_len, "remove")
           || same_name(ps, t->name, t->name_len, "comment");
}

/* "<esi:" or "</esi:" at at. */
static apr_status_t esi_tag(parser_t *ps, apr_size_t at, apr_size_t *pos)
{
    tag_t t;
    const char *why = read_tag(ps, at, &t);

    if (why) {
        malformed(ps, at, why);
        literal(ps, at, at + 1);
        *pos = at + 1;
        return APR_SUCCESS;
    }
    if (t.end_tag && known(ps, &t)) {
        malformed(ps, at, "ESI end tag without its start tag");
        literal(ps, at, t.end);
        *pos = t.end;
    }
    else if (t.end_tag || !known(ps, &t)) {
        unknown(ps, at, &t, pos);
    }
    else if (same_name(ps, t.name, t.name_len, "include")) {
        return include(ps, at, &t, pos);
    }
    else if (same_name(ps, t.name, t.name_len, "comment")) {
        comment(ps, at, &t, pos);
    }
    else {
        remove_element(ps, at, &t, pos);
    }
    return APR_SUCCESS;
}

/* "<!--esi" at at. */
static void wrapper(parser_t *ps, apr_size_t at, apr_size_t *pos)
{
    *pos = at + WRAP_OPEN_LEN;
    if (ps->in_wrapper) {
        malformed(ps, at, "<!--esi inside <!--esi");
        literal(ps, at, *pos);
    }
    else if (find(ps, &ps->wrap_close, *pos) == ps->len) {
        malformed(ps, at, "<!--esi without -->");
        literal(ps, at, *pos);
    }
    else {
        ps->in_wrapper = 1;
    }
}

static int wrapper_at(const parser_t *ps, apr_size_t at, int nocase)
{
    apr_size_t q = at + WRAP_OPEN_LEN;

    if (!(nocase ? has_nocase(ps, at, "<!--esi", WRAP_OPEN_LEN)
                 : has(ps, at, WRAP_OPEN, WRAP_OPEN_LEN))) {
        return 0;
    }
    return q == ps->len || !is_word(ps->buf[q]);
}

/* The '<' at at. */
static apr_status_t markup(parser_t *ps, apr_size_t at, apr_size_t *pos)
{
    if (has(ps, at, "<esi:", 5) || has(ps, at, "</esi:", 6)) {
        return esi_tag(ps, at, pos);
    }
    if (wrapper_at(ps, at, 0)) {
        wrapper(ps, at, pos);
        return APR_SUCCESS;
    }
    if (has_nocase(ps, at, "<esi:", 5) || has_nocase(ps, at, "</esi:", 6)
        || wrapper_at(ps, at, 1)) {
        malformed(ps, at, "ESI markup in another case (ESI is case-sensitive)");
    }
    literal(ps, at, at + 1);
    *pos = at + 1;
    return APR_SUCCESS;
}

apr_status_t sc_esi_parse(apr_pool_t *p, const char *buf, apr_size_t len,
                          sc_esi_doc_t **doc, const char **err)
{
    parser_t ps;
    apr_size_t pos = 0;
    apr_status_t rv;

    *doc = NULL;
    *err = NULL;
    if ((apr_uint64_t)len > SC_ESI_MAX_INPUT) {
        *err = "page larger than the ESI parser takes";
        return SC_EESILIMIT;
    }
    memset(&ps, 0, sizeof(ps));
    ps.buf = buf;
    ps.len = len;
    ps.p = p;
    ps.doc = apr_pcalloc(p, sizeof(*ps.doc));
    ps.doc->nodes = apr_array_make(p, 8, sizeof(sc_esi_node_t));
    ps.text = apr_palloc(p, len ? len : 1);
    ps.wrap_close.needle = WRAP_CLOSE;
    ps.wrap_close.nlen = WRAP_CLOSE_LEN;
    ps.remove_close.needle = "</esi:remove";
    ps.remove_close.nlen = 12;
    ps.remove_close.accept = remove_close_at;
    ps.remove_open.needle = "<esi:remove";
    ps.remove_open.nlen = 11;
    ps.remove_open.accept = remove_open_at;

    while (pos < len) {
        const char *lt = memchr(buf + pos, '<', len - pos);
        apr_size_t at = lt ? (apr_size_t)(lt - buf) : len;

        if (ps.in_wrapper) {
            apr_size_t close = find(&ps, &ps.wrap_close, pos);

            if (close < at) {
                literal(&ps, pos, close);
                pos = close + WRAP_CLOSE_LEN;
                ps.in_wrapper = 0;
                continue;
            }
        }
        literal(&ps, pos, at);
        if (at == len) {
            break;
        }
        if ((rv = markup(&ps, at, &pos)) != APR_SUCCESS) {
            *err = ps.err;
            return rv;
        }
    }
    if (ps.in_wrapper) {
        malformed(&ps, len, "<!--esi whose --> was inside a tag or a remove");
    }
    *doc = ps.doc;
    return APR_SUCCESS;
}
