/*
 * gen_corpus.c: writes the seed corpora of the fuzz targets into
 * t/fuzz/corpus/<target>/ (make fuzz-corpus).  Records are built with
 * sc_entry_encode_head() so they follow the format in sc_entry.h; the
 * policy and key seeds follow the input layouts documented at the top of
 * fuzz_policy.c and fuzz_key.c; the ESI seeds are pages (one as pieces for
 * check_generated()), a stored form made with sc_esi_encode() and an
 * include source (fuzz_esi.c); the reads seeds are ap_expr conditions
 * (fuzz_reads.c).
 *
 * Usage: gen_corpus <corpus directory>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "sc_entry.h"
#include "sc_esi.h"

static const char *dir;

static void put(const char *target, const char *name, const void *data,
                size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
    f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        exit(1);
    }
}

/* A seed of NUL-separated fields after a binary head. */
static void put_fields(const char *target, const char *name, const void *head,
                       size_t hlen, const char *const *f, int n)
{
    char buf[4096];
    size_t len = hlen;
    int i;

    memcpy(buf, head, hlen);
    for (i = 0; i < n; i++) {
        size_t l = strlen(f[i]);
        if (len + l + 1 > sizeof(buf)) {
            abort();
        }
        memcpy(buf + len, f[i], l);
        len += l;
        if (i + 1 < n) {
            buf[len++] = '\0';
        }
    }
    put(target, name, buf, len);
}

static void header(apr_array_header_t *a, const char *n, const char *v)
{
    sc_header_t *h = apr_array_push(a);
    h->name = n;
    h->value = v;
}

static void dep(apr_array_header_t *a, const char *n, apr_uint64_t g)
{
    sc_dep_t *d = apr_array_push(a);
    d->name = n;
    d->gen = g;
}

static void record(apr_pool_t *p, const char *name, const sc_entry_t *e,
                   const char *body)
{
    char *head, *rec;
    apr_size_t hlen, blen = 0;

    if (sc_entry_encode_head(p, e, &head, &hlen) != APR_SUCCESS) {
        fprintf(stderr, "gen_corpus: cannot encode %s\n", name);
        exit(1);
    }
    if (e->body_kind == SC_BODY_INLINE) {
        blen = (apr_size_t)e->body_len;
    }
    rec = apr_palloc(p, hlen + blen);
    memcpy(rec, head, hlen);
    memcpy(rec + hlen, body, blen);
    put("fuzz_entry", name, rec, hlen + blen);
}

static void entries(apr_pool_t *p)
{
    static const char key[] = "SCK2\n22:http://example.com:80\n"
                              "6:/a?b=c\n0:\n";
    static const char body[] = "<html><body>hello</body></html>\n";
    sc_entry_t e;
    char chunk[SC_CHUNK_HEAD_LEN + 8];

    memset(&e, 0, sizeof(e));
    e.type = SC_REC_ENTRY;
    e.status = 200;
    e.stored_at = 1700000000;
    e.fresh_until = 1700000060;
    e.stale_until = 1700000120;
    e.error_until = 1700086400;
    e.flags = SC_EF_NO_STALE;
    e.key = key;
    e.key_len = sizeof(key) - 1;
    e.headers = apr_array_make(p, 4, sizeof(sc_header_t));
    header(e.headers, "Content-Type", "text/html; charset=utf-8");
    header(e.headers, "Cache-Control", "max-age=60, stale-if-error=86400");
    header(e.headers, "X-Empty", "");
    e.deps = apr_array_make(p, 4, sizeof(sc_dep_t));
    dep(e.deps, "u:http://example.com:80/a", 12345);
    dep(e.deps, "n:default", 1);
    dep(e.deps, "t:post-5", 0xffffffffffffffffull);
    e.body_kind = SC_BODY_INLINE;
    e.body_len = sizeof(body) - 1;
    record(p, "inline", &e, body);

    /* format 4: an inline body with deflate pieces */
    sc_entry_piece_add(p, &e.pieces,
                       "\x01\x02\x03\x00\x00\xff\xff\xde\xad\xbe\xef", 11);
    sc_entry_piece_add(p, &e.pieces, "\x03\x00\x00\xff\xff\x12\x34\x56\x78", 9);
    record(p, "piece", &e, body);
    e.pieces = NULL;

    /* format 3: the body holds a gzip and a br coding */
    e.codings = SC_CODING_BIT(SC_CODING_GZIP) | SC_CODING_BIT(SC_CODING_BR);
    e.coding_len[SC_CODING_GZIP] = 4;
    e.coding_off[SC_CODING_BR] = 4;
    e.coding_len[SC_CODING_BR] = sizeof(body) - 5;
    e.identity_len = 100;
    record(p, "coded", &e, body);
    e.codings = 0;

    e.body_kind = SC_BODY_CHUNKED;
    e.body_len = 2500000;
    e.chunk_size = 1000000;
    e.nchunks = 3;
    e.version = 0x0102030405060708ull;
    e.flags = SC_EF_QUICK;
    record(p, "chunked", &e, NULL);

    memset(&e, 0, sizeof(e));
    e.type = SC_REC_VARY;
    e.status = 204;
    e.key = "";
    e.body_kind = SC_BODY_INLINE;
    record(p, "minimal", &e, "");

    sc_chunk_head(chunk, 0x0102030405060708ull, 2);
    memcpy(chunk + SC_CHUNK_HEAD_LEN, "abcdefgh", 8);
    put("fuzz_entry", "chunk", chunk, sizeof(chunk));
}

static void policies(void)
{
    /* status 200, every field present, default TTL 300, max TTL 86400 */
    static const unsigned char h200[12] = { 0x00, 0xfa, 0, 0,    0,    0,
                                            0x01, 0x2c, 0, 0x01, 0x51, 0x80 };
    static const char *const plain[] = {
        "public, max-age=60, stale-while-revalidate=30, stale-if-error=600",
        "",
        "",
        "",
        "",
        "5",
        "Accept-Encoding, Accept-Language",
        "max-age"
    };
    static const char *const targeted[] = {
        "no-cache, must-revalidate",
        "max-age=\"3600\", no-store=\"x,y\"",
        "max-age=120, stale-if-error=60",
        "",
        "",
        "",
        "accept, *",
        "stale-if-error"
    };
    static const char *const dates[] = {
        "s-maxage=10, private=\"Set-Cookie\", community=\"UCI\"",
        "",
        "",
        "Thu, 01 Dec 1994 16:00:00 GMT",
        "Tue, 14 Nov 2023 22:13:20 GMT",
        "99999999999",
        "\tCookie ,,User-Agent\t",
        "s-maxage"
    };
    unsigned char h[12];

    put_fields("fuzz_policy", "plain", h200, 12, plain, 8);
    memcpy(h, h200, 12);
    h[3] = 0x00;
    put_fields("fuzz_policy", "targeted", h, 12, targeted, 8);
    h[3] = 0x06; /* no Surrogate-/CDN-Cache-Control */
    h[2] = 0x02; /* SharedCacheForceTTL */
    put_fields("fuzz_policy", "dates", h, 12, dates, 8);
}

static void keys(void)
{
    /* port 443, https */
    static const unsigned char h443[4] = { 0x01, 0xbb, 0x01, 0x00 };
    static const unsigned char h80[4] = { 0x00, 0x50, 0x00, 0x04 };
    static const char *const shop[] = {
        "utm_source=x&page=2&b=1&a=3&b=0&utm_campaign=y&&fbclid",
        "utm_*\nfbclid\ngclid",
        "sessionid=abc; csrftoken=x; sessionid = def ",
        "sessionid",
        "example.com",
        "/shop/items",
        "sc",
        "host",
        "example.com",
        "Accept-Language",
        "de-CH, en;q=0.5",
        "user",
        "alice"
    };
    static const char *const odd[] = { "a=%26&a&=x&%3d=1&z",
                                       "*",
                                       "a=1;b=2;;=3; a =4",
                                       "a",
                                       "xn--bcher-kva.ch",
                                       "/p?q=1\n2:x\n",
                                       "my-prefix",
                                       "Cookie",
                                       "",
                                       "X-Forwarded-Host",
                                       "evil.example",
                                       "Accept-Encoding",
                                       "gzip" };

    put_fields("fuzz_key", "shop", h443, 4, shop, 13);
    put_fields("fuzz_key", "odd", h80, 4, odd, 13);
}

static void esi(apr_pool_t *p)
{
    static const char page[] =
        "<html><body><p>a</p>\n"
        "<esi:include src=\"/fragments/user\" alt='/fragments/anon'"
        " onerror=\"continue\"/>\n"
        "<esi:include  src = \"/fragments/posts?n=5\" ></esi:include >\n"
        "<esi:remove><a href=\"/fragments/user\">you</a></esi:remove>\n"
        "<esi:comment text=\"shell\"/>\n"
        "<!--esi <p><esi:include src='/w'/></p> -->\n"
        "<esi:try><esi:attempt>t</esi:attempt></esi:try>\n"
        "</body></html>\n";
    static const char malformed[] =
        "<esi:include src=/a/><esi:include src=\"/b\" src=\"/c\"/>"
        "<esi:include alt=\"/d\"/><esi:include src=\"/e\"/ >"
        "<esi:include src=\"/f\">x</esi:include><ESI:include src=\"/g\"/>"
        "<esi:remove>a<esi:remove>b</esi:remove>c</esi:remove>"
        "<!--esi <!--esi --><esi:include src=\"/h"
        "<esi:remove>unclosed<!--esi";
    static const char generated[] = "2<p>hello</p>\0"
                                    "3/fragments/user?x=1\0"
                                    "4a note\0"
                                    "0<a>for browsers</a>\0"
                                    "1 <b>only with ESI</b>\0"
                                    "3/f\0"
                                    "3/fragments/posts\0"
                                    "2</body>";
    sc_esi_doc_t *d;
    const char *err;
    char *rec, *big;
    apr_size_t len;

    put("fuzz_esi", "page", page, sizeof(page) - 1);
    /* at the limits: as many attributes, as long a value as allowed */
    big = apr_palloc(p, SC_ESI_MAX_ATTR + 1);
    memset(big, 'a', SC_ESI_MAX_ATTR);
    big[0] = '/';
    big[SC_ESI_MAX_ATTR] = '\0';
    big = apr_pstrcat(p,
                      "<esi:include src='/f' alt='/g' onerror='continue'"
                      " a='1' b='2' c='3' d='4' e='5'/>\n<esi:include src=\"",
                      big, "\"/>", NULL);
    put("fuzz_esi", "limits", big, strlen(big));
    put("fuzz_esi", "malformed", malformed, sizeof(malformed) - 1);
    /* NUL-separated pieces for check_generated(): by first byte, '0'
     * remove, '1' wrapper, '2' text, '3' include, '4' comment */
    put("fuzz_esi", "pieces", generated, sizeof(generated) - 1);
    put("fuzz_esi", "src", "/fragments/a/%2e%2E;x/b?c=../d",
        strlen("/fragments/a/%2e%2E;x/b?c=../d"));
    if (sc_esi_parse(p, page, sizeof(page) - 1, &d, &err) != APR_SUCCESS
        || sc_esi_encode(p, d, &rec, &len) != APR_SUCCESS) {
        fprintf(stderr, "gen_corpus: cannot encode the ESI page\n");
        exit(1);
    }
    put("fuzz_esi", "record", rec, len);
}

/* ap_expr conditions as the start-up check meets them (fuzz_reads.c):
 * an expression, then after a NUL a variable only URL rules set. */
static void reads(void)
{
    static const char host[] = "%{HTTP_HOST} != 'www.example.com'";
    static const char mixed[] =
        "%{REQUEST_URI} =~ m#^/app/old(/|-data)#i && req('X-A') == \"a'b\" "
        "|| ! -f '%{DOCUMENT_ROOT}%{REQUEST_URI}' || -R '10.0.0.0/8' "
        "|| %{HTTP:%{SERVER_NAME}} -in { 'a', 'b' } || env('X') == '1'";
    static const char base[] = "%{ENV:BASE} == '/app'\0BASE";

    put("fuzz_reads", "host", host, sizeof(host) - 1);
    put("fuzz_reads", "mixed", mixed, sizeof(mixed) - 1);
    put("fuzz_reads", "base", base, sizeof(base) - 1);
}

int main(int argc, char **argv)
{
    apr_pool_t *p;

    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus <corpus directory>\n");
        return 2;
    }
    dir = argv[1];
    apr_initialize();
    apr_pool_create(&p, NULL);
    entries(p);
    policies();
    keys();
    esi(p);
    reads();
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
