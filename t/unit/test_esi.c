/*
 * test_esi.c: the ESI parser, include sources and the stored parsed form
 * (src/sc_esi.[ch]; DESIGN.md sections 2 and 4, THREATS.md 16, 29, 35).
 *
 * Most of the language is one table: a page, and the document it must
 * parse to, written back as text with each include as {src|alt|continue}
 * (the pages below use no '{').  Malformed ESI is passed through: for
 * those rows the expected text is the page itself.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "sc_esi.h"

/* ---- helpers ----------------------------------------------------------- */

/* The invariants sc_esi.h promises of every document. */
static void check_doc(const sc_esi_doc_t *d)
{
    int i, includes = 0, prev_literal = 0;
    apr_size_t bytes = 0;

    assert_non_null(d);
    assert_non_null(d->nodes);
    assert_true(d->nodes->nelts <= SC_ESI_MAX_NODES);
    for (i = 0; i < d->nodes->nelts; i++) {
        const sc_esi_node_t *n = &APR_ARRAY_IDX(d->nodes, i, sc_esi_node_t);

        if (n->kind == SC_ESI_LITERAL) {
            assert_false(prev_literal);
            assert_true(n->len > 0);
            assert_non_null(n->data);
            bytes += n->len;
            prev_literal = 1;
            continue;
        }
        assert_int_equal(n->kind, SC_ESI_INCLUDE);
        assert_non_null(n->src);
        assert_in_range(strlen(n->src), 1, SC_ESI_MAX_ATTR);
        if (n->alt) {
            assert_in_range(strlen(n->alt), 1, SC_ESI_MAX_ATTR);
        }
        assert_in_range(n->onerror_continue, 0, 1);
        includes++;
        prev_literal = 0;
    }
    assert_int_equal(d->nincludes, includes);
    assert_int_equal(d->literal_len, bytes);
    assert_true(d->nincludes <= SC_ESI_MAX_INCLUDES);
}

/* The document as text: literals as they are, includes as
 * {src}, {src|alt}, {src||continue} or {src|alt|continue}. */
static char *render(apr_pool_t *p, const sc_esi_doc_t *d, apr_size_t *len)
{
    apr_size_t cap = 1, n = 0;
    char *out;
    int i;

    for (i = 0; i < d->nodes->nelts; i++) {
        const sc_esi_node_t *e = &APR_ARRAY_IDX(d->nodes, i, sc_esi_node_t);

        cap += e->kind == SC_ESI_LITERAL
                   ? e->len
                   : strlen(e->src) + (e->alt ? strlen(e->alt) : 0) + 16;
    }
    out = apr_palloc(p, cap);
    for (i = 0; i < d->nodes->nelts; i++) {
        const sc_esi_node_t *e = &APR_ARRAY_IDX(d->nodes, i, sc_esi_node_t);

        if (e->kind == SC_ESI_LITERAL) {
            memcpy(out + n, e->data, e->len);
            n += e->len;
        }
        else {
            const char *s = apr_psprintf(
                p, "{%s%s%s%s}", e->src,
                e->alt || e->onerror_continue ? "|" : "", e->alt ? e->alt : "",
                e->onerror_continue ? "|continue" : "");
            memcpy(out + n, s, strlen(s));
            n += strlen(s);
        }
    }
    out[n] = '\0';
    *len = n;
    return out;
}

/* Parse an exact-size malloc'd copy (a read past its end is a real
 * overread under ASan), destroy the copy, then check the invariants: the
 * document needs nothing of the page. */
static sc_esi_doc_t *parse(apr_pool_t *p, const char *in, apr_size_t len)
{
    char *copy = malloc(len ? len : 1);
    sc_esi_doc_t *d = NULL;
    const char *err = "unset";

    assert_non_null(copy);
    memcpy(copy, in, len);
    assert_int_equal(sc_esi_parse(p, copy, len, &d, &err), APR_SUCCESS);
    assert_null(err);
    /* self-contained: nothing points into the page */
    memset(copy, 'Z', len);
    free(copy);
    check_doc(d);
    return d;
}

static void assert_same_doc(const sc_esi_doc_t *a, const sc_esi_doc_t *b)
{
    int i;

    assert_int_equal(a->nodes->nelts, b->nodes->nelts);
    assert_int_equal(a->nincludes, b->nincludes);
    assert_int_equal(a->literal_len, b->literal_len);
    for (i = 0; i < a->nodes->nelts; i++) {
        const sc_esi_node_t *x = &APR_ARRAY_IDX(a->nodes, i, sc_esi_node_t);
        const sc_esi_node_t *y = &APR_ARRAY_IDX(b->nodes, i, sc_esi_node_t);

        assert_int_equal(x->kind, y->kind);
        if (x->kind == SC_ESI_LITERAL) {
            assert_int_equal(x->len, y->len);
            assert_memory_equal(x->data, y->data, x->len);
            continue;
        }
        assert_string_equal(x->src, y->src);
        if (x->alt || y->alt) {
            assert_non_null(x->alt);
            assert_non_null(y->alt);
            assert_string_equal(x->alt, y->alt);
        }
        assert_int_equal(x->onerror_continue, y->onerror_continue);
    }
}

/* Encode into an exact-size malloc'd buffer; free() it. */
static char *encode(apr_pool_t *p, const sc_esi_doc_t *d, apr_size_t *len)
{
    char *bytes, *rec;

    assert_int_equal(sc_esi_encode(p, d, &bytes, len), APR_SUCCESS);
    rec = malloc(*len);
    assert_non_null(rec);
    memcpy(rec, bytes, *len);
    return rec;
}

static apr_status_t decode_copy(apr_pool_t *p, const char *buf, apr_size_t len,
                                sc_esi_doc_t **d)
{
    char *copy = malloc(len ? len : 1);
    apr_status_t rv;

    assert_non_null(copy);
    memcpy(copy, buf, len);
    rv = sc_esi_decode(p, copy, len, d);
    if (rv == APR_SUCCESS) {
        char *again;
        apr_size_t again_len;

        /* the encoding is unique: the same bytes come back */
        check_doc(*d);
        assert_int_equal(sc_esi_encode(p, *d, &again, &again_len), APR_SUCCESS);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, copy, len);
    }
    else {
        assert_int_equal(rv, SC_EBADESI);
        assert_null(*d);
    }
    free(copy);
    return rv;
}

static void assert_round_trip(apr_pool_t *p, const sc_esi_doc_t *d)
{
    apr_size_t len;
    char *rec = encode(p, d, &len);
    sc_esi_doc_t *back;

    assert_int_equal(decode_copy(p, rec, len, &back), APR_SUCCESS);
    free(rec);
    /* decode_copy freed the record its literals point into: compare a
     * second decode of a live buffer */
    rec = encode(p, d, &len);
    assert_int_equal(sc_esi_decode(p, rec, len, &back), APR_SUCCESS);
    assert_same_doc(d, back);
    assert_int_equal(back->unknown_tags, 0);
    assert_null(back->first_unknown);
    assert_int_equal(back->malformed, 0);
    assert_null(back->first_malformed);
    free(rec);
}

/* ---- the catalogue ----------------------------------------------------- */

typedef struct {
    const char *name;
    const char *in;
    apr_size_t in_len; /* 0: strlen(in) */
    const char *out;   /* the document as render() writes it; NULL: in */
    apr_size_t out_len;
    int nodes;                 /* 0: not checked */
    unsigned malformed;        /* constructs passed through */
    const char *why;           /* in first_malformed, if set */
    unsigned unknown;          /* other <esi:...> tags */
    const char *first_unknown; /* checked if set */
} ecase_t;

#define BIN(s) s, sizeof(s) - 1

/* clang-format off: one case per paragraph, as written */
static const ecase_t cases[] = {
    /* --- no ESI ----------------------------------------------------------- */
    { .name = "plain HTML is one literal",
      .in = "<html><body><p>hello</p></body></html>",
      .nodes = 1 },
    { .name = "an empty page", .in = "" },
    { .name = "'<' alone and at the end", .in = "a < b <", .nodes = 1 },
    { .name = "NUL and high bytes in text pass through",
      .in = BIN("a\0b\xff\x80<p>\0</p>"),
      .nodes = 1 },
    { .name = "<esix and <esi without colon are text",
      .in = "<esix:include src=\"/a\"/><esi include src=\"/a\"/>",
      .nodes = 1 },
    { .name = "< esi:include with a blank after '<' is text",
      .in = "< esi:include src=\"/a\"/>",
      .nodes = 1 },
    { .name = "<!--esix is an ordinary comment",
      .in = "<!--esix <esi:comment text=\"c\"/> -->",
      .out = "<!--esix  -->",
      .nodes = 1 },

    /* --- include ---------------------------------------------------------- */
    { .name = "include between text",
      .in = "a<esi:include src=\"/f\"/>b",
      .out = "a{/f}b",
      .nodes = 3 },
    { .name = "include alone",
      .in = "<esi:include src=\"/f\"/>",
      .out = "{/f}",
      .nodes = 1 },
    { .name = "include with alt and onerror",
      .in = "<esi:include src=\"/f\" alt=\"/g\" onerror=\"continue\"/>",
      .out = "{/f|/g|continue}",
      .nodes = 1 },
    { .name = "attributes in any order",
      .in = "<esi:include onerror=\"continue\" alt=\"/g\" src=\"/f\"/>",
      .out = "{/f|/g|continue}",
      .nodes = 1 },
    { .name = "onerror without alt",
      .in = "<esi:include src=\"/f\" onerror=\"continue\"/>",
      .out = "{/f||continue}" },
    { .name = "single quotes",
      .in = "<esi:include src='/f' alt='/g'/>",
      .out = "{/f|/g}" },
    { .name = "the other quote inside a value",
      .in = "<esi:include src=\"/a'b\" alt='/c\"d'/>",
      .out = "{/a'b|/c\"d}" },
    { .name = "blanks around = and before />",
      .in = "<esi:include  src = \"/x\" />",
      .out = "{/x}" },
    { .name = "tabs, CR and LF are blanks",
      .in = "<esi:include\tsrc\r\n=\n'/x'\r\n\t/>",
      .out = "{/x}" },
    { .name = "start and end tag",
      .in = "a<esi:include src=\"/f\"></esi:include>b",
      .out = "a{/f}b",
      .nodes = 3 },
    { .name = "start and end tag with blanks between and inside",
      .in = "<esi:include src=\"/f\">\r\n  </esi:include \t>",
      .out = "{/f}" },
    { .name = "onerror with another value is the default",
      .in = "<esi:include src=\"/f\" onerror=\"abort\"/>"
            "<esi:include src=\"/g\" onerror=\"Continue\"/>"
            "<esi:include src=\"/h\" onerror=\"continue \"/>",
      .out = "{/f}{/g}{/h}",
      .nodes = 3 },
    { .name = "alt=\"\" is no alt",
      .in = "<esi:include src=\"/f\" alt=\"\"/>",
      .out = "{/f}" },
    { .name = "unknown attributes are ignored",
      .in = "<esi:include dca=\"none\" src=\"/f\" maxwait='5'/>",
      .out = "{/f}" },
    { .name = "attribute names are case-sensitive: SRC is not src",
      .in = "<esi:include SRC=\"/f\" src=\"/g\"/>",
      .out = "{/g}" },
    { .name = "values are taken as written: no entity decoding",
      .in = "<esi:include src=\"/a?x=1&amp;y=2\"/>",
      .out = "{/a?x=1&amp;y=2}" },
    { .name = "'>' and '/' inside a value",
      .in = "<esi:include src=\"/a?b>c/\"/>",
      .out = "{/a?b>c/}" },
    { .name = "src is kept even when it is not local (refused later)",
      .in = "<esi:include src=\"http://evil.example/x\"/>",
      .out = "{http://evil.example/x}" },
    { .name = "two includes side by side",
      .in = "<esi:include src=\"/a\"/><esi:include src=\"/b\"/>",
      .out = "{/a}{/b}",
      .nodes = 2 },
    { .name = "NUL bytes around an include",
      .in = BIN("\0<esi:include src=\"/f\"/>\0"),
      .out = BIN("\0{/f}\0"),
      .nodes = 3 },

    /* --- remove, comment, <!--esi ----------------------------------------- */
    { .name = "remove drops its content, ESI included",
      .in = "a<esi:remove>x<esi:include src=\"/no\"/>y</esi:remove>b",
      .out = "ab",
      .nodes = 1 },
    { .name = "remove end tag with blanks",
      .in = "a<esi:remove>x</esi:remove \n>b",
      .out = "ab" },
    { .name = "remove with attributes (ignored)",
      .in = "a<esi:remove x=\"y\">x</esi:remove>b",
      .out = "ab" },
    { .name = "empty remove is dropped", .in = "a<esi:remove/>b", .out = "ab" },
    { .name = "remove skips a false close and an open-looking word",
      .in = "a<esi:remove>x</esi:removed><esi:removal><esi:removes>"
            "</esi:remove>b",
      .out = "ab" },
    { .name = "remove holding a --> and a <!--esi",
      .in = "a<esi:remove><!--esi x --></esi:remove>b",
      .out = "ab" },
    { .name = "comment is dropped and literals join",
      .in = "a<esi:comment text=\"why\"/>b",
      .out = "ab",
      .nodes = 1 },
    { .name = "comment without text, and as start and end tag",
      .in = "a<esi:comment/>b<esi:comment text='x'> </esi:comment>c",
      .out = "abc",
      .nodes = 1 },
    { .name = "<!--esi wrapper dropped, content processed",
      .in = "a<!--esi <esi:include src=\"/f\"/> -->b",
      .out = "a {/f} b",
      .nodes = 3 },
    { .name = "<!--esi with HTML and no blank",
      .in = "<!--esi<p>x</p>-->",
      .out = "<p>x</p>",
      .nodes = 1 },
    { .name = "<!--esi--> is empty", .in = "a<!--esi-->b", .out = "ab" },
    { .name = "<!--esi: a --> in a tag's value does not end it",
      .in = "<!--esi <esi:include src=\"/a-->\"/> -->",
      .out = " {/a-->} " },
    { .name = "<!--esi ends at its first -->",
      .in = "<!--esi a --> b -->",
      .out = " a  b -->" },
    { .name = "ESI in an ordinary HTML comment is processed",
      .in = "<!-- <esi:include src=\"/f\"/> -->",
      .out = "<!-- {/f} -->" },
    { .name = "remove inside <!--esi",
      .in = "<!--esi a<esi:remove>b</esi:remove>c -->",
      .out = " ac " },

    /* --- other ESI elements: passed through, counted ---------------------- */
    { .name = "try/attempt/except: tags kept, include inside executed",
      .in = "<esi:try><esi:attempt><esi:include src=\"/a\"/></esi:attempt>"
            "</esi:try>",
      .out = "<esi:try><esi:attempt>{/a}</esi:attempt></esi:try>",
      .nodes = 3,
      .unknown = 4,
      .first_unknown = "esi:try" },
    { .name = "vars with attributes",
      .in = "<esi:vars name='x'>$(HTTP_HOST)</esi:vars>",
      .unknown = 2,
      .first_unknown = "esi:vars" },
    { .name = "an unknown end tag first",
      .in = "</esi:choose ><esi:inline name=\"/x\" fetchable=\"no\"/>",
      .unknown = 2,
      .first_unknown = "/esi:choose" },
    { .name = "element names are case-sensitive: esi:Include is unknown",
      .in = "<esi:Include src=\"/f\"/>",
      .unknown = 1,
      .first_unknown = "esi:Include" },
    { .name = "a longer name is another element",
      .in = "<esi:include-x src=\"/f\"/><esi:removed>",
      .unknown = 2,
      .first_unknown = "esi:include-x" },

    /* --- malformed: passed through, counted --------------------------------
     */
    { .name = "unclosed tag at the end",
      .in = "a<esi:include src=\"/f\"",
      .malformed = 1,
      .why = "unclosed" },
    { .name = "unclosed tag ending in '/'",
      .in = "<esi:include src=\"/f\"/",
      .malformed = 1,
      .why = "unclosed" },
    { .name = "unclosed tag before the end",
      .in = "a<esi:include src=\"/f\" b",
      .malformed = 1,
      .why = "unclosed" },
    { .name = "unterminated quote stops at the next '<'",
      .in = "<esi:include src=\"/f/> <p>x</p>",
      .malformed = 1,
      .why = "'<'" },
    { .name = "unterminated quote does not swallow the next include",
      .in = "<esi:include src=\"/f <esi:include src=\"/g\"/>",
      .out = "<esi:include src=\"/f {/g}",
      .malformed = 1 },
    { .name = "attribute without quotes",
      .in = "<esi:include src=/f/>",
      .malformed = 1,
      .why = "quotes" },
    { .name = "attribute without value",
      .in = "<esi:include src/> <esi:include src />",
      .malformed = 2,
      .why = "without a value" },
    { .name = "no blank between attributes",
      .in = "<esi:include src=\"/a\"alt=\"/b\"/>",
      .malformed = 1,
      .why = "blank" },
    { .name = "duplicate src: neither is guessed",
      .in = "<esi:include src=\"/a\" src=\"/b\"/>",
      .malformed = 1,
      .why = "duplicate" },
    { .name = "duplicate alt",
      .in = "<esi:include src=\"/a\" alt=\"/b\" alt='/c'/>",
      .malformed = 1,
      .why = "duplicate" },
    { .name = "NUL in a value",
      .in = BIN("<esi:include src=\"/a\0b\"/>"),
      .malformed = 1,
      .why = "NUL" },
    { .name = "NUL between attributes",
      .in = BIN("<esi:include\0src=\"/a\"/>"),
      .malformed = 1,
      .why = "NUL" },
    { .name = "NUL in the element name",
      .in = BIN("<esi:incl\0ude src=\"/a\"/>"),
      .malformed = 1,
      .why = "NUL" },
    { .name = "'<' in a value",
      .in = "<esi:include src=\"/a<b\"/>",
      .malformed = 1,
      .why = "'<'" },
    { .name = "include without src",
      .in = "<esi:include alt=\"/b\"/>",
      .malformed = 1,
      .why = "without src" },
    { .name = "include with src=\"\"",
      .in = "<esi:include src=\"\"/>",
      .malformed = 1,
      .why = "without src" },
    { .name = "'/ >' is not '/>'",
      .in = "<esi:include src=\"/f\"/ >",
      .malformed = 1,
      .why = "'/'" },
    { .name = "'<esi:' without a name",
      .in = "<esi:> <esi: include src=\"/f\"/> <esi:/>",
      .malformed = 3,
      .why = "element name" },
    { .name = "odd byte right after the element name",
      .in = "<esi:include\"/f\"/>",
      .malformed = 1 },
    { .name = "include start tag without its end tag",
      .in = "<esi:include src=\"/f\">x<esi:include src=\"/g\"/>",
      .out = "<esi:include src=\"/f\">x{/g}",
      .malformed = 1,
      .why = "</esi:include>" },
    { .name = "include with content: start and end both literal",
      .in = "<esi:include src=\"/f\">x</esi:include>",
      .malformed = 2,
      .why = "</esi:include>" },
    { .name = "comment start tag without its end tag",
      .in = "<esi:comment text=\"x\">y",
      .malformed = 1,
      .why = "</esi:comment>" },
    { .name = "stray end tags",
      .in = "</esi:remove></esi:include>\n</esi:comment >",
      .malformed = 3,
      .why = "end tag without" },
    { .name = "attribute in an end tag",
      .in = "</esi:remove x=\"y\">",
      .malformed = 1,
      .why = "end tag" },
    { .name = "unclosed remove: shown, its content processed",
      .in = "a<esi:remove>b<esi:include src=\"/f\"/>c",
      .out = "a<esi:remove>b{/f}c",
      .malformed = 1,
      .why = "without </esi:remove>" },
    { .name = "two unclosed removes",
      .in = "<esi:remove>a<esi:remove>b",
      .malformed = 2,
      .why = "without </esi:remove>" },
    { .name = "nested remove: the first close ends it",
      .in = "a<esi:remove>b<esi:remove>c</esi:remove>d</esi:remove>e",
      .out = "ad</esi:remove>e",
      .malformed = 2,
      .why = "inside <esi:remove>" },
    { .name = "<!--esi without -->",
      .in = "a<!--esi <esi:include src=\"/f\"/>",
      .out = "a<!--esi {/f}",
      .malformed = 1,
      .why = "without -->" },
    { .name = "<!--esi inside <!--esi",
      .in = "<!--esi a <!--esi b --> c -->",
      .out = " a <!--esi b  c -->",
      .malformed = 1,
      .why = "inside <!--esi" },
    { .name = "<!--esi whose --> was inside a remove",
      .in = "<!--esi <esi:remove> --> </esi:remove> x",
      .out = "  x",
      .malformed = 1,
      .why = "whose -->" },
    { .name = "ESI in another case is not processed",
      .in = "<ESI:include src=\"/f\"/><Esi:remove>x</eSi:remove>"
            "<!--ESI y -->",
      .malformed = 4,
      .why = "case-sensitive" },
};
/* clang-format on */

static void run_case(apr_pool_t *p, const ecase_t *c)
{
    apr_size_t in_len = c->in_len ? c->in_len : strlen(c->in);
    const char *out = c->out ? c->out : c->in;
    apr_size_t out_len = c->out ? (c->out_len ? c->out_len : strlen(c->out))
                                : in_len;
    sc_esi_doc_t *d = parse(p, c->in, in_len);
    apr_size_t len;
    char *got = render(p, d, &len);

    if (len != out_len || memcmp(got, out, len) != 0) {
        fail_msg("%s: got \"%s\", want \"%s\"", c->name, got, out);
    }
    if (c->nodes && d->nodes->nelts != c->nodes) {
        fail_msg("%s: %d nodes, want %d", c->name, d->nodes->nelts, c->nodes);
    }
    if (d->malformed != c->malformed) {
        fail_msg("%s: %u malformed (first: %s), want %u", c->name, d->malformed,
                 d->first_malformed ? d->first_malformed : "-", c->malformed);
    }
    if (c->malformed) {
        assert_non_null(d->first_malformed);
        assert_true(d->first_malformed_at <= in_len);
        if (c->why && !strstr(d->first_malformed, c->why)) {
            fail_msg("%s: first malformed \"%s\", want \"%s\" in it", c->name,
                     d->first_malformed, c->why);
        }
    }
    else {
        assert_null(d->first_malformed);
    }
    if (d->unknown_tags != c->unknown) {
        fail_msg("%s: %u unknown tags, want %u", c->name, d->unknown_tags,
                 c->unknown);
    }
    if (c->first_unknown) {
        assert_non_null(d->first_unknown);
        if (strcmp(d->first_unknown, c->first_unknown) != 0) {
            fail_msg("%s: first unknown \"%s\", want \"%s\"", c->name,
                     d->first_unknown, c->first_unknown);
        }
    }
    if (!c->unknown) {
        assert_null(d->first_unknown);
    }
    assert_round_trip(p, d);
}

static void test_catalogue(void **state)
{
    apr_pool_t *p = unit_pool(state);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(p, &cases[i]);
    }
}

/* Every malformed row is passed through whole: its output is its input. */
static void test_malformed_rows_lose_no_byte(void **state)
{
    apr_pool_t *p = unit_pool(state);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const ecase_t *c = &cases[i];
        apr_size_t in_len = c->in_len ? c->in_len : strlen(c->in);
        sc_esi_doc_t *d;

        if (!c->malformed || c->out) {
            continue;
        }
        d = parse(p, c->in, in_len);
        assert_int_equal(d->nincludes, 0);
        assert_int_equal(d->nodes->nelts, 1);
        assert_int_equal(d->literal_len, in_len);
    }
}

static void test_first_malformed_is_where_it_starts(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char page[] = "0123<esi:include src=/f/><esi:include/>";
    sc_esi_doc_t *d = parse(p, page, sizeof(page) - 1);

    assert_int_equal(d->malformed, 2);
    assert_int_equal(d->first_malformed_at, 4);
    assert_non_null(strstr(d->first_malformed, "quotes"));
}

/* ---- sizes and limits --------------------------------------------------- */

static char *include_with(apr_pool_t *p, const char *attr, apr_size_t n)
{
    char *v = apr_palloc(p, n + 1);

    v[0] = '/';
    memset(v + 1, 'a', n - 1);
    v[n] = '\0';
    return apr_psprintf(p, "<esi:include %s=\"%s\"/>", attr, v);
}

static void test_attribute_value_of_the_limit_and_one_more(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char *page = include_with(p, "src", SC_ESI_MAX_ATTR);
    sc_esi_doc_t *d = parse(p, page, strlen(page));

    assert_int_equal(d->nincludes, 1);
    assert_int_equal(strlen(APR_ARRAY_IDX(d->nodes, 0, sc_esi_node_t).src),
                     SC_ESI_MAX_ATTR);
    assert_round_trip(p, d);

    page = include_with(p, "src", SC_ESI_MAX_ATTR + 1);
    d = parse(p, page, strlen(page));
    assert_int_equal(d->nincludes, 0);
    assert_int_equal(d->malformed, 1);
    assert_non_null(strstr(d->first_malformed, "too long"));
    assert_int_equal(d->literal_len, strlen(page));

    /* alt too, and an ignored attribute as well */
    page = apr_pstrcat(p, "<esi:include src=\"/f\" ",
                       include_with(p, "alt", SC_ESI_MAX_ATTR + 1) + 13, NULL);
    d = parse(p, page, strlen(page));
    assert_int_equal(d->nincludes, 0);
    assert_int_equal(d->malformed, 1);
    page = apr_pstrcat(p, "<esi:include src=\"/f\" ",
                       include_with(p, "x", 100000) + 13, NULL);
    d = parse(p, page, strlen(page));
    assert_int_equal(d->nincludes, 0);
    assert_int_equal(d->malformed, 1);
}

static void test_names_of_the_limit_and_one_more(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char name[SC_ESI_MAX_NAME + 2];
    char *page;
    sc_esi_doc_t *d;

    memset(name, 'n', sizeof(name) - 1);
    name[SC_ESI_MAX_NAME] = '\0';
    page = apr_psprintf(p, "<esi:%s/><esi:include %s='x' src='/f'/>", name,
                        name);
    d = parse(p, page, strlen(page));
    assert_int_equal(d->unknown_tags, 1);
    assert_int_equal(d->nincludes, 1);
    assert_int_equal(d->malformed, 0);

    name[SC_ESI_MAX_NAME] = 'n';
    name[SC_ESI_MAX_NAME + 1] = '\0';
    page = apr_psprintf(p, "<esi:%s/><esi:include %s='x' src='/f'/>", name,
                        name);
    d = parse(p, page, strlen(page));
    assert_int_equal(d->unknown_tags, 0);
    assert_int_equal(d->nincludes, 0);
    assert_int_equal(d->malformed, 2);
}

static void test_attributes_of_the_limit_and_one_more(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char *page = apr_pstrdup(p, "<esi:include src='/f'");
    sc_esi_doc_t *d;
    int i;

    for (i = 1; i < SC_ESI_MAX_ATTRS; i++) {
        page = apr_psprintf(p, "%s a%d='%d'", page, i, i);
    }
    d = parse(p, apr_pstrcat(p, page, "/>", NULL), strlen(page) + 2);
    assert_int_equal(d->nincludes, 1);
    page = apr_pstrcat(p, page, " z='9'/>", NULL);
    d = parse(p, page, strlen(page));
    assert_int_equal(d->nincludes, 0);
    assert_int_equal(d->malformed, 1);
    assert_non_null(strstr(d->first_malformed, "too many"));
}

static void test_tag_longer_than_the_limit(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t blanks = SC_ESI_MAX_TAG - strlen("<esi:include src='/f'/>");
    char *pad = apr_palloc(p, blanks + 2);
    char *page;
    sc_esi_doc_t *d;

    memset(pad, ' ', blanks + 1);
    pad[blanks] = '\0';
    page = apr_pstrcat(p, "<esi:include", pad, " src='/f'/>", NULL);
    assert_int_equal(strlen(page), SC_ESI_MAX_TAG);
    d = parse(p, page, strlen(page));
    assert_int_equal(d->nincludes, 1);

    pad[blanks] = ' ';
    pad[blanks + 1] = '\0';
    page = apr_pstrcat(p, "<esi:include", pad, " src='/f'/>", NULL);
    d = parse(p, page, strlen(page));
    assert_int_equal(d->nincludes, 0);
    assert_int_equal(d->malformed, 1);
    assert_non_null(strstr(d->first_malformed, "longer"));
}

static char *includes(apr_pool_t *p, int n, apr_size_t *len)
{
    static const char one[] = "x<esi:include src=\"/f\"/>";
    apr_size_t l = sizeof(one) - 1;
    char *page = apr_palloc(p, l * (apr_size_t)n + 2);
    int i;

    for (i = 0; i < n; i++) {
        memcpy(page + l * (apr_size_t)i, one, l);
    }
    page[l * (apr_size_t)n] = 'y';
    *len = l * (apr_size_t)n + 1;
    return page;
}

static void test_includes_up_to_the_limit_then_an_error(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t len;
    char *page = includes(p, SC_ESI_MAX_INCLUDES, &len);
    sc_esi_doc_t *d = parse(p, page, len);
    const char *err = NULL;

    assert_int_equal(d->nincludes, SC_ESI_MAX_INCLUDES);
    assert_int_equal(d->nodes->nelts, SC_ESI_MAX_NODES);
    assert_round_trip(p, d);

    page = includes(p, SC_ESI_MAX_INCLUDES + 1, &len);
    assert_int_equal(sc_esi_parse(p, page, len, &d, &err), SC_EESILIMIT);
    assert_null(d);
    assert_non_null(err);
    assert_non_null(strstr(err, "includes"));
}

/* Quadratic behaviour would take minutes here (several MB of openings that
 * each search to the end); the parser takes linear time. */
static void test_pathological_pages_parse_in_linear_time(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char *const units[] = {
        "<esi:remove>",
        "<esi:remove></esi:remove    x",
        "<!--esi",
        "<esi:include src=\"",
        "<esi:include src='/a' alt=\"",
        "<esi:remove><esi:removeX",
        "<esi:include src=\"/f\">                ",
        "<ESI:",
    };
    size_t u;

    for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        apr_size_t l = strlen(units[u]), n = (2u << 20) / l, i;
        char *page = malloc(l * n);
        apr_time_t start = apr_time_now();
        sc_esi_doc_t *d;
        const char *err;

        assert_non_null(page);
        for (i = 0; i < n; i++) {
            memcpy(page + i * l, units[u], l);
        }
        assert_int_equal(sc_esi_parse(p, page, l * n, &d, &err), APR_SUCCESS);
        check_doc(d);
        if (apr_time_now() - start > apr_time_from_sec(20)) {
            fail_msg("\"%s\" x %lu: %ld ms", units[u], (unsigned long)n,
                     (long)apr_time_as_msec(apr_time_now() - start));
        }
        free(page);
    }
}

/* Every prefix of a page rich in ESI parses to a valid document, reading
 * nothing past its end (an exact-size copy each time). */
static void test_every_prefix_of_a_page_parses(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char page[] =
        "<p>a</p><esi:include src=\"/f\" alt='/g' onerror=\"continue\"/>"
        "<esi:remove>r<esi:include src=\"/no\"/></esi:remove >"
        "<!--esi <esi:include src=\"/h\"></esi:include> -->"
        "<esi:comment text=\"c\"/><esi:try>t</esi:try>"
        "<ESI:x><esi:include src=/u/></esi:remove>";
    apr_size_t n;

    for (n = 0; n <= sizeof(page) - 1; n++) {
        apr_pool_t *sub;

        apr_pool_create(&sub, p);
        parse(sub, page, n);
        apr_pool_destroy(sub);
    }
}

/* ---- include sources ---------------------------------------------------- */

static void test_src_local_accepts_local_paths(void **state)
{
    static const char *const ok[] = {
        "/",
        "/a",
        "/fragments/user-box/",
        "/a/b?c=d&e=f",
        "/a?x=../../etc/passwd",
        "/a?x=%00%0d%0a%2f%zz",
        "/a/..x/b",
        "/a/x../b",
        "/a/.../b",
        "/a/./b",
        "/a/.",
        "/%41%62c",
        "/a%20b",
        "/caf\xc3\xa9",
        "/a/%2e/b",
        "/a/.%2ex",
        "/a;..",
        "/a/;../b",
    };
    size_t i;
    char *max;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (!sc_esi_src_local(ok[i])) {
            fail_msg("\"%s\" refused", ok[i]);
        }
    }
    max = malloc(SC_ESI_MAX_ATTR + 1);
    assert_non_null(max);
    memset(max, 'a', SC_ESI_MAX_ATTR);
    max[0] = '/';
    max[SC_ESI_MAX_ATTR] = '\0';
    assert_true(sc_esi_src_local(max));
    free(max);
}

static void test_src_local_refuses_the_rest(void **state)
{
    static const char *const bad[] = {
        "",
        "a",
        "a/b",
        "./a",
        "../a",
        "//evil.example/x",
        "///x",
        "/\\evil.example",
        "http://evil.example/x",
        "https:/x",
        "/a\\b",
        "/a b",
        "/a?b c",
        "/a\tb",
        "/a\rb",
        "/a\nb",
        "/a\x01",
        "/a\x7f",
        "/..",
        "/../x",
        "/a/..",
        "/a/../b",
        "/a/../../etc/passwd",
        "/a/..?x",
        "/a/..#x",
        "/a#b",
        "/a?b#c",
        "/%2e%2e/x",
        "/%2E%2e/x",
        "/.%2e/x",
        "/%2e./x",
        "/a/..;jsessionid=1/b",
        "/a/..%3bx/b",
        "/a/%2e%2E%3B/b",
        "/a%2fb",
        "/a%2Fb",
        "/a%5cb",
        "/a%5Cb",
        "/a%00b",
        "/a%0d%0ab",
        "/a%09",
        "/a%7f",
        "/a%zz",
        "/a%2",
        "/a%",
        "/a%%41",
    };
    size_t i;
    char *over;

    (void)state;
    assert_false(sc_esi_src_local(NULL));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sc_esi_src_local(bad[i])) {
            fail_msg("\"%s\" accepted", bad[i]);
        }
    }
    over = malloc(SC_ESI_MAX_ATTR + 2);
    assert_non_null(over);
    memset(over, 'a', SC_ESI_MAX_ATTR + 1);
    over[0] = '/';
    over[SC_ESI_MAX_ATTR + 1] = '\0';
    assert_false(sc_esi_src_local(over));
    free(over);
}

/* ---- the stored form ---------------------------------------------------- */

static const char rich[] =
    "<html>\0<esi:include src=\"/f\" alt='/g' onerror=\"continue\"/>"
    "<esi:include src=\"/h\"/><esi:remove>gone</esi:remove>tail\xff";

static sc_esi_doc_t *rich_doc(apr_pool_t *p)
{
    return parse(p, rich, sizeof(rich) - 1);
}

static void test_encode_matches_documented_layout(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char page[] =
        "ab<esi:include src=\"/f\" alt=\"/gh\" "
        "onerror=\"continue\"/><esi:include src=\"/i\"/>";
    static const char want[] = "SCX\x01"
                               "\x00\x00\x00\x03"              /* nnodes */
                               "\x01\x00\x00\x00\x02"          /* literal */
                               "ab"                            /*  */
                               "\x02\x01\x00\x02/f\x00\x03/gh" /* include */
                               "\x02\x00\x00\x02/i\x00\x00";   /* include */
    sc_esi_doc_t *d = parse(p, page, sizeof(page) - 1);
    apr_size_t len;
    char *rec = encode(p, d, &len);

    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(rec, want, len);
    free(rec);
}

static void test_roundtrip_keeps_every_node(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_esi_doc_t *d = rich_doc(p), *back;
    apr_size_t len;
    char *rec = encode(p, d, &len);

    assert_int_equal(sc_esi_decode(p, rec, len, &back), APR_SUCCESS);
    assert_same_doc(d, back);
    /* literals point into the record, sources are copies */
    assert_true(APR_ARRAY_IDX(back->nodes, 0, sc_esi_node_t).data >= rec
                && APR_ARRAY_IDX(back->nodes, 0, sc_esi_node_t).data
                       < rec + len);
    free(rec);
    assert_string_equal(APR_ARRAY_IDX(back->nodes, 1, sc_esi_node_t).src, "/f");
}

static void test_roundtrip_empty_document(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_esi_doc_t *d = parse(p, "", 0), *back;

    assert_int_equal(d->nodes->nelts, 0);
    assert_int_equal(decode_copy(p, BIN("SCX\x01\0\0\0\0"), &back),
                     APR_SUCCESS);
    assert_int_equal(back->nodes->nelts, 0);
    assert_round_trip(p, d);
}

static void test_decode_rejects_every_truncation(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_esi_doc_t *d = rich_doc(p), *back;
    apr_size_t len, n;
    char *rec = encode(p, d, &len);

    for (n = 0; n < len; n++) {
        if (decode_copy(p, rec, n, &back) != SC_EBADESI) {
            fail_msg("prefix of %lu of %lu bytes decoded", (unsigned long)n,
                     (unsigned long)len);
        }
    }
    assert_int_equal(decode_copy(p, rec, len, &back), APR_SUCCESS);
    free(rec);
}

static void test_decode_rejects_trailing_garbage(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_esi_doc_t *d = rich_doc(p), *back;
    apr_size_t len;
    char *rec = encode(p, d, &len);
    char *longer = malloc(len + 8);

    assert_non_null(longer);
    memcpy(longer, rec, len);
    memset(longer + len, 0, 8);
    assert_int_equal(decode_copy(p, longer, len + 1, &back), SC_EBADESI);
    assert_int_equal(decode_copy(p, longer, len + 8, &back), SC_EBADESI);
    free(longer);
    free(rec);
}

/* Any single bit flipped: an error, or a record that decodes to a valid
 * document whose encoding is exactly the flipped bytes (decode_copy). */
static void test_decode_of_every_bit_flip_is_safe(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_esi_doc_t *d = rich_doc(p), *back;
    apr_size_t len, i;
    char *rec = encode(p, d, &len);
    int bit, decoded = 0;

    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            apr_pool_t *sub;

            apr_pool_create(&sub, p);
            rec[i] ^= (char)(1 << bit);
            if (decode_copy(sub, rec, len, &back) == APR_SUCCESS) {
                decoded++;
            }
            rec[i] ^= (char)(1 << bit);
            apr_pool_destroy(sub);
        }
    }
    /* flips inside literal bytes and sources decode; headers do not */
    assert_true(decoded > 0 && (apr_size_t)decoded < len * 8);
    free(rec);
}

static void test_decode_rejects_foreign_records(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_esi_doc_t *back;

    assert_int_equal(decode_copy(p, BIN("SCE\x02\0\0\0\0"), &back), SC_EBADESI);
    assert_int_equal(decode_copy(p, BIN("SCX\x02\0\0\0\0"), &back), SC_EBADESI);
    assert_int_equal(decode_copy(p, BIN("SCX\x00\0\0\0\0"), &back), SC_EBADESI);
    assert_int_equal(decode_copy(p, BIN("scx\x01\0\0\0\0"), &back), SC_EBADESI);
    assert_int_equal(decode_copy(p, BIN("<html>hello</html>"), &back),
                     SC_EBADESI);
    assert_int_equal(decode_copy(p, "", 0, &back), SC_EBADESI);
}

/* One node after the 4-byte count. */
static apr_status_t decode_nodes(apr_pool_t *p, apr_uint32_t count,
                                 const char *nodes, apr_size_t nlen)
{
    char *rec = malloc(8 + nlen);
    sc_esi_doc_t *back;
    apr_status_t rv;

    assert_non_null(rec);
    memcpy(rec, "SCX\x01", 4);
    rec[4] = (char)(count >> 24);
    rec[5] = (char)(count >> 16);
    rec[6] = (char)(count >> 8);
    rec[7] = (char)count;
    memcpy(rec + 8, nodes, nlen);
    rv = decode_copy(p, rec, 8 + nlen, &back);
    free(rec);
    return rv;
}

static void test_decode_checks_each_field(void **state)
{
    apr_pool_t *p = unit_pool(state);

    /* well-formed ones first */
    assert_int_equal(decode_nodes(p, 1, BIN("\x01\0\0\0\x01x")), APR_SUCCESS);
    assert_int_equal(decode_nodes(p, 1, BIN("\x02\x01\0\x01/\0\x01/")),
                     APR_SUCCESS);
    assert_int_equal(decode_nodes(p, 2,
                                  BIN("\x02\0\0\x01/\0\0"
                                      "\x02\0\0\x01/\0\0")),
                     APR_SUCCESS);
    /* a count that lies, either way */
    assert_int_equal(decode_nodes(p, 2, BIN("\x01\0\0\0\x01x")), SC_EBADESI);
    assert_int_equal(decode_nodes(p, 0, BIN("\x01\0\0\0\x01x")), SC_EBADESI);
    assert_int_equal(decode_nodes(p, 0xffffffffu, BIN("\x01\0\0\0\x01x")),
                     SC_EBADESI);
    assert_int_equal(decode_nodes(p, SC_ESI_MAX_NODES, BIN("\x01\0\0\0\x01x")),
                     SC_EBADESI);
    /* unknown kinds */
    assert_int_equal(decode_nodes(p, 1, BIN("\x00\0\0\0\x01x")), SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\x03\0\0\0\x01x")), SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\xff\0\0\0\x01x")), SC_EBADESI);
    /* literals: empty, adjacent, longer than the record */
    assert_int_equal(decode_nodes(p, 1, BIN("\x01\0\0\0\0")), SC_EBADESI);
    assert_int_equal(decode_nodes(p, 2, BIN("\x01\0\0\0\x01x\x01\0\0\0\x01y")),
                     SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\x01\0\0\0\x02x")), SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\x01\xff\xff\xff\xffx")),
                     SC_EBADESI);
    /* includes: flags, empty src, NUL in src or alt, lengths past the end */
    assert_int_equal(decode_nodes(p, 1, BIN("\x02\x02\0\x01/\0\0")),
                     SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\x02\x81\0\x01/\0\0")),
                     SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\x02\0\0\0\0\0")), SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\x02\0\0\x02/\0\0\0")),
                     SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\x02\0\0\x01/\0\x02/\0")),
                     SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\x02\0\0\x05/\0\0")), SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\x02\0\0\x01/\0\x05/")),
                     SC_EBADESI);
    assert_int_equal(decode_nodes(p, 1, BIN("\x02\0\0\x01/\0")), SC_EBADESI);
}

static char *include_node(apr_size_t src_len, apr_size_t alt_len,
                          apr_size_t *len)
{
    char *n = malloc(7 + src_len + alt_len);

    assert_non_null(n);
    n[0] = SC_ESI_INCLUDE;
    n[1] = 0;
    n[2] = (char)(src_len >> 8);
    n[3] = (char)src_len;
    memset(n + 4, 's', src_len);
    n[4 + src_len] = (char)(alt_len >> 8);
    n[5 + src_len] = (char)alt_len;
    memset(n + 6 + src_len, 'a', alt_len);
    *len = 6 + src_len + alt_len;
    return n;
}

static void test_decode_rejects_oversize_values(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const apr_size_t sizes[][3] = {
        /* src, alt, decodes */
        { SC_ESI_MAX_ATTR, 0, 1 },
        { SC_ESI_MAX_ATTR, SC_ESI_MAX_ATTR, 1 },
        { SC_ESI_MAX_ATTR + 1, 0, 0 },
        { 1, SC_ESI_MAX_ATTR + 1, 0 },
        { 0xffff, 0, 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        apr_size_t len;
        char *n = include_node(sizes[i][0], sizes[i][1], &len);

        assert_int_equal(decode_nodes(p, 1, n, len),
                         sizes[i][2] ? APR_SUCCESS : SC_EBADESI);
        free(n);
    }
}

static void test_decode_rejects_too_many_includes(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char one[] = "\x02\0\0\x01/\0\0";
    apr_size_t l = sizeof(one) - 1, n;

    for (n = SC_ESI_MAX_INCLUDES; n <= SC_ESI_MAX_INCLUDES + 1; n++) {
        char *nodes = malloc(l * n);
        apr_size_t i;

        assert_non_null(nodes);
        for (i = 0; i < n; i++) {
            memcpy(nodes + i * l, one, l);
        }
        assert_int_equal(decode_nodes(p, (apr_uint32_t)n, nodes, l * n),
                         n <= SC_ESI_MAX_INCLUDES ? APR_SUCCESS : SC_EBADESI);
        free(nodes);
    }
}

static sc_esi_node_t *push(apr_array_header_t *a, sc_esi_kind_t kind,
                           const char *s, apr_size_t len)
{
    sc_esi_node_t *n = apr_array_push(a);

    memset(n, 0, sizeof(*n));
    n->kind = kind;
    if (kind == SC_ESI_LITERAL) {
        n->data = s;
        n->len = len;
    }
    else {
        n->src = s;
    }
    return n;
}

static apr_status_t encode_nodes(apr_pool_t *p, apr_array_header_t *nodes)
{
    sc_esi_doc_t d;
    char *bytes;
    apr_size_t len;

    memset(&d, 0, sizeof(d));
    d.nodes = nodes;
    return sc_esi_encode(p, &d, &bytes, &len);
}

static void test_encode_refuses_what_decode_would(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *a;
    char *big = apr_palloc(p, SC_ESI_MAX_ATTR + 2);
    sc_esi_doc_t empty;
    char *bytes;
    apr_size_t len;
    int i;

    memset(big, 'b', SC_ESI_MAX_ATTR + 1);
    big[SC_ESI_MAX_ATTR + 1] = '\0';
    memset(&empty, 0, sizeof(empty));
    assert_int_equal(sc_esi_encode(p, &empty, &bytes, &len), SC_EBADESI);
    assert_int_equal(sc_esi_encode(p, NULL, &bytes, &len), SC_EBADESI);

    a = apr_array_make(p, 2, sizeof(sc_esi_node_t));
    push(a, SC_ESI_LITERAL, "x", 1);
    push(a, SC_ESI_LITERAL, "y", 1);
    assert_int_equal(encode_nodes(p, a), SC_EBADESI); /* adjacent */
    a->nelts = 0;
    push(a, SC_ESI_LITERAL, "x", 0);
    assert_int_equal(encode_nodes(p, a), SC_EBADESI); /* empty */
    a->nelts = 0;
    push(a, SC_ESI_LITERAL, NULL, 1);
    assert_int_equal(encode_nodes(p, a), SC_EBADESI);
    a->nelts = 0;
    push(a, SC_ESI_INCLUDE, "", 0);
    assert_int_equal(encode_nodes(p, a), SC_EBADESI); /* src "" */
    a->nelts = 0;
    push(a, SC_ESI_INCLUDE, NULL, 0);
    assert_int_equal(encode_nodes(p, a), SC_EBADESI);
    a->nelts = 0;
    push(a, SC_ESI_INCLUDE, big, 0);
    assert_int_equal(encode_nodes(p, a), SC_EBADESI); /* src too long */
    a->nelts = 0;
    push(a, SC_ESI_INCLUDE, "/f", 0)->alt = big;
    assert_int_equal(encode_nodes(p, a), SC_EBADESI); /* alt too long */
    a->nelts = 0;
    push(a, SC_ESI_INCLUDE, "/f", 0)->alt = "";
    assert_int_equal(encode_nodes(p, a), SC_EBADESI); /* alt "" */
    a->nelts = 0;
    push(a, SC_ESI_INCLUDE, "/f", 0)->onerror_continue = 2;
    assert_int_equal(encode_nodes(p, a), SC_EBADESI);
    a->nelts = 0;
    push(a, (sc_esi_kind_t)3, "/f", 0);
    assert_int_equal(encode_nodes(p, a), SC_EBADESI);

    a->nelts = 0;
    for (i = 0; i < SC_ESI_MAX_INCLUDES; i++) {
        push(a, SC_ESI_INCLUDE, "/f", 0);
    }
    assert_int_equal(encode_nodes(p, a), APR_SUCCESS);
    push(a, SC_ESI_INCLUDE, "/f", 0);
    assert_int_equal(encode_nodes(p, a), SC_EBADESI);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_catalogue),
        UNIT_TEST(test_malformed_rows_lose_no_byte),
        UNIT_TEST(test_first_malformed_is_where_it_starts),
        UNIT_TEST(test_attribute_value_of_the_limit_and_one_more),
        UNIT_TEST(test_names_of_the_limit_and_one_more),
        UNIT_TEST(test_attributes_of_the_limit_and_one_more),
        UNIT_TEST(test_tag_longer_than_the_limit),
        UNIT_TEST(test_includes_up_to_the_limit_then_an_error),
        UNIT_TEST(test_pathological_pages_parse_in_linear_time),
        UNIT_TEST(test_every_prefix_of_a_page_parses),
        UNIT_TEST(test_src_local_accepts_local_paths),
        UNIT_TEST(test_src_local_refuses_the_rest),
        UNIT_TEST(test_encode_matches_documented_layout),
        UNIT_TEST(test_roundtrip_keeps_every_node),
        UNIT_TEST(test_roundtrip_empty_document),
        UNIT_TEST(test_decode_rejects_every_truncation),
        UNIT_TEST(test_decode_rejects_trailing_garbage),
        UNIT_TEST(test_decode_of_every_bit_flip_is_safe),
        UNIT_TEST(test_decode_rejects_foreign_records),
        UNIT_TEST(test_decode_checks_each_field),
        UNIT_TEST(test_decode_rejects_oversize_values),
        UNIT_TEST(test_decode_rejects_too_many_includes),
        UNIT_TEST(test_encode_refuses_what_decode_would),
    };

    return UNIT_RUN(tests);
}
