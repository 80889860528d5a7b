/*
 * fuzz_key.c: libFuzzer target for the canonical key (src/sc_key.c;
 * THREATS.md 1-4 and 29): query normalisation, Cookie parsing, the
 * length-prefixed canonical key and the memcached key digests.
 *
 * Input: a 4-byte head, then NUL-separated fields:
 *   head:   port(2) flags(1) absent(1)
 *           flags: 1 https, 2 no query (NULL), 4 no ignore list
 *           absent: bit i set = the value of variance pair i is NULL
 *   fields: query, ignore globs (split at LF), Cookie header, cookie
 *           name, host, path, key prefix, then up to NPAIRS pairs of
 *           variance name and value
 * A short input is padded with zero bytes.
 */
#include "fuzz.h"

#include <ctype.h>

#include <apr_fnmatch.h>
#include <apr_lib.h>
#include <apr_sha1.h>
#include <apr_strings.h>

#include "sc_key.h"

#define HEAD_LEN 4
#define NPAIRS 6
#define NFIELDS (7 + 2 * NPAIRS)

enum {
    F_QUERY,
    F_IGNORE,
    F_COOKIE,
    F_CNAME,
    F_HOST,
    F_PATH,
    F_PREFIX,
    F_PAIRS
};

static const char kinds[] = "sHchuxV";

static void hex_sha1(const char *data, size_t len,
                     char out[SC_DIGEST_HEX_LEN + 1])
{
    unsigned char d[APR_SHA1_DIGESTSIZE];
    apr_sha1_ctx_t ctx;
    int i;

    apr_sha1_init(&ctx);
    apr_sha1_update_binary(&ctx, (const unsigned char *)data,
                           (unsigned int)len);
    apr_sha1_final(d, &ctx);
    for (i = 0; i < APR_SHA1_DIGESTSIZE; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

/* ---- query ------------------------------------------------------------ */

typedef struct {
    const char *s;
    size_t len;
    const char *name; /* decoded */
    size_t name_len;
    int plain; /* raw name of [A-Za-z0-9_-] only */
} param_t;

static int hexdigit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* '+' a blank, %XX a byte (a malformed escape stays as it is). */
static const char *decode_name(apr_pool_t *p, const char *s, size_t n,
                               size_t *out_len)
{
    char *out = apr_palloc(p, n + 1);
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexdigit(s[i + 1]) >= 0
            && hexdigit(s[i + 2]) >= 0) {
            out[o++] = (char)(hexdigit(s[i + 1]) * 16 + hexdigit(s[i + 2]));
            i += 2;
        }
        else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static int is_ignored(const param_t *x, const apr_array_header_t *ignore)
{
    int i;

    if (memchr(x->s, ';', x->len) || memchr(x->name, '\0', x->name_len)) {
        return 0;
    }
    for (i = 0; ignore && i < ignore->nelts; i++) {
        if (apr_fnmatch(APR_ARRAY_IDX(ignore, i, const char *), x->name, 0)
            == APR_SUCCESS) {
            return 1;
        }
    }
    return 0;
}

static int name_less(const param_t *a, const param_t *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);

    return c < 0 || (c == 0 && a->name_len < b->name_len);
}

/* An independent model of sc_key_query(): split at '&', drop empty
 * parameters and ignored ones (by decoded name, never one holding ';'),
 * then, only when the query holds no ';' and every name left is plain,
 * a stable insertion sort by name; join. */
static char *model_query(apr_pool_t *p, const char *q,
                         const apr_array_header_t *ignore)
{
    size_t n = q ? strlen(q) : 0, i = 0, k = 0, np = 0, o = 0;
    int sort = 1;
    param_t *v;
    char *out;

    if (!n) {
        return apr_pstrdup(p, "");
    }
    sort = !memchr(q, ';', n);
    v = apr_palloc(p, sizeof(*v) * (n + 1));
    while (i <= n) {
        const char *amp = memchr(q + i, '&', n - i);
        size_t len = amp ? (size_t)(amp - (q + i)) : n - i;
        if (len) {
            const char *eq = memchr(q + i, '=', len);
            size_t raw = eq ? (size_t)(eq - (q + i)) : len, j;
            param_t x;
            x.s = q + i;
            x.len = len;
            x.name = decode_name(p, x.s, raw, &x.name_len);
            x.plain = 1;
            for (j = 0; j < raw; j++) {
                char c = x.s[j];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
                      || (c >= 'A' && c <= 'Z') || c == '_' || c == '-')) {
                    x.plain = 0;
                }
            }
            if (!(ignore && ignore->nelts && is_ignored(&x, ignore))) {
                sort = sort && x.plain;
                v[np++] = x;
            }
        }
        i += len + 1;
    }
    if (sort) {
        for (i = 1; i < np; i++) {
            param_t x = v[i];
            /* insert after every parameter whose name is not greater */
            for (k = i; k > 0 && name_less(&x, &v[k - 1]); k--) {
                v[k] = v[k - 1];
            }
            v[k] = x;
        }
    }
    out = apr_palloc(p, n + 1);
    for (k = 0; k < np; k++) {
        if (k) {
            out[o++] = '&';
        }
        memcpy(out + o, v[k].s, v[k].len);
        o += v[k].len;
    }
    out[o] = '\0';
    return out;
}

static const char *check_query(apr_pool_t *p, const char *query,
                               const apr_array_header_t *ignore)
{
    const char *q = sc_key_query(p, query, ignore);
    const char *again;

    FUZZ_CHECK(q != NULL);
    FUZZ_CHECK(strlen(q) <= (query ? strlen(query) : 0));
    FUZZ_CHECK(strcmp(q, model_query(p, query, ignore)) == 0);
    /* normalised is a fixed point */
    again = sc_key_query(p, q, ignore);
    FUZZ_CHECK(strcmp(again, q) == 0);
    return q;
}

/* ---- cookies ---------------------------------------------------------- */

static const char *cookie(apr_pool_t *p, const char *pre, const char *h,
                          const char *post, const char *name)
{
    char *c = fuzz_strdup(apr_pstrcat(p, pre, h, post, NULL));
    char *n = fuzz_strdup(name);
    const char *v = sc_key_cookie(p, c, n);

    free(c);
    free(n);
    return v;
}

static int plain_cookie_name(const char *n)
{
    size_t len = strlen(n);

    return len > 0 && !strchr(n, ';') && !strchr(n, '=') && n[0] != ' '
           && n[0] != '\t' && n[len - 1] != ' ' && n[len - 1] != '\t';
}

static void check_cookie(apr_pool_t *p, const char *header, const char *name)
{
    const char *v = cookie(p, "", header, "", name);

    if (v) {
        FUZZ_CHECK(strlen(v) <= strlen(header));
        FUZZ_CHECK(!strchr(v, ';'));
    }
    if (!plain_cookie_name(name)) {
        return;
    }
    /* One more cookie of that name, first or last, adds its value first
     * or last. */
    {
        const char *pre = cookie(p, apr_pstrcat(p, name, "=pre;", NULL), header,
                                 "", name);
        const char *post = cookie(
            p, "", header, apr_pstrcat(p, "; ", name, "= post ", NULL), name);
        FUZZ_CHECK(pre
                   && strcmp(pre, v ? apr_pstrcat(p, "pre\n", v, NULL) : "pre")
                          == 0);
        FUZZ_CHECK(
            post
            && strcmp(post, v ? apr_pstrcat(p, v, "\npost", NULL) : "post")
                   == 0);
    }
}

/* ---- predicates on request values -------------------------------------
 *
 * Declared weak here: they are new, so the target still builds (and skips
 * them) against a tree without them. */

#pragma weak sc_key_cookie_header_ok
#pragma weak sc_key_path_plain
#pragma weak sc_chunk_key
int sc_key_cookie_header_ok(const char *header);
int sc_key_path_plain(const char *path);
const char *sc_chunk_key(apr_pool_t *p, const char *prefix, const char *key,
                         apr_size_t key_len, apr_uint64_t version,
                         apr_uint32_t index);

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Every byte printable ASCII or a tab; in each ';'-separated member the
 * name (before any '='), blanks around it aside, is letters, digits, '_'
 * and '-', and the value (after the first '='), blanks around it and one
 * pair of enclosing double quotes aside, is RFC 6265 cookie octets. */
static int model_cookie_header_ok(const char *h)
{
    const char *s, *m = h;

    for (s = h; *s; s++) {
        if (((unsigned char)*s < 0x20 && *s != '\t')
            || (unsigned char)*s >= 0x7f) {
            return 0;
        }
    }
    for (;;) {
        const char *end = strchr(m, ';');
        size_t len = end ? (size_t)(end - m) : strlen(m);
        const char *eq = memchr(m, '=', len);
        const char *a = m, *z = eq ? eq : m + len;

        while (a < z && blank(*a)) {
            a++;
        }
        while (z > a && blank(z[-1])) {
            z--;
        }
        for (; a < z; a++) {
            if (!(isalnum((unsigned char)*a) || *a == '_' || *a == '-')) {
                return 0;
            }
        }
        if (eq) {
            a = eq + 1;
            z = m + len;
            while (a < z && blank(*a)) {
                a++;
            }
            while (z > a && blank(z[-1])) {
                z--;
            }
            if (z - a >= 2 && *a == '"' && z[-1] == '"') {
                a++;
                z--;
            }
            for (; a < z; a++) {
                if (*a < 0x21 || *a > 0x7e || strchr("\",;\\", *a)) {
                    return 0;
                }
            }
        }
        if (!end) {
            return 1;
        }
        m = end + 1;
    }
}

/* Starts with '/', no '%', and no segment (but the last) empty, none
 * "." or "..". */
static int model_path_plain(const char *path)
{
    const char *s, *seg;

    if (path[0] != '/' || strchr(path, '%')) {
        return 0;
    }
    for (seg = path + 1;; seg = s + 1) {
        size_t n;

        s = strchr(seg, '/');
        n = s ? (size_t)(s - seg) : strlen(seg);
        if ((n == 0 && s) || (n == 1 && seg[0] == '.')
            || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
            return 0;
        }
        if (!s) {
            return 1;
        }
    }
}

static void check_predicates(const char *cookie_header, const char *path)
{
    if (sc_key_cookie_header_ok) {
        char *h = fuzz_strdup(cookie_header);
        FUZZ_CHECK(!sc_key_cookie_header_ok(h)
                   == !model_cookie_header_ok(cookie_header));
        free(h);
    }
    if (sc_key_path_plain) {
        char *c = fuzz_strdup(path);
        FUZZ_CHECK(!sc_key_path_plain(c) == !model_path_plain(path));
        FUZZ_CHECK(!sc_key_path_plain(NULL));
        free(c);
    }
}

/* ---- tag lists -------------------------------------------------------- */

/* An independent model of sc_key_tag_next(): tokens between runs of ',',
 * ' ' and '\t'; a tag is 1..SC_TAG_MAX bytes of 0x21..0x7e. */
static void check_tags(apr_pool_t *p, const char *list)
{
    char *copy = fuzz_strdup(list);
    const char *cursor = copy, *tag, *s = list;
    int valid, n = 0;

    while (sc_key_tag_next(p, &cursor, &tag, &valid)) {
        size_t want, i;
        int ok;

        while (*s == ',' || *s == ' ' || *s == '\t') {
            s++;
        }
        want = strcspn(s, ", \t");
        FUZZ_CHECK(want > 0 && strlen(tag) == want);
        FUZZ_CHECK(memcmp(tag, s, want) == 0);
        ok = want <= SC_TAG_MAX;
        for (i = 0; i < want; i++) {
            ok = ok && (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f;
        }
        FUZZ_CHECK(!valid == !ok);
        FUZZ_CHECK(cursor == copy + (s - list) + want);
        s += want;
        n++;
    }
    FUZZ_CHECK(tag == NULL && !valid);
    FUZZ_CHECK(s[strspn(s, ", \t")] == '\0');
    FUZZ_CHECK(n <= (int)strlen(list));
    free(copy);
}

/* ---- canonical key ---------------------------------------------------- */

/* Read the next length-prefixed field of a canonical key. */
static int next_field(const char **s, const char *end, const char **f,
                      size_t *flen)
{
    size_t n = 0;
    const char *c = *s;

    if (c >= end || !apr_isdigit(*c)) {
        return 0;
    }
    while (c < end && apr_isdigit(*c)) {
        FUZZ_CHECK(n < ((size_t)1 << 40));
        n = n * 10 + (size_t)(*c - '0');
        c++;
    }
    FUZZ_CHECK(c < end && *c == ':');
    c++;
    FUZZ_CHECK((size_t)(end - c) > n && c[n] == '\n');
    *f = c;
    *flen = n;
    *s = c + n + 1;
    return 1;
}

static void expect_field(const char **s, const char *end, const char *want,
                         size_t wlen)
{
    const char *f;
    size_t n;

    FUZZ_CHECK(next_field(s, end, &f, &n));
    FUZZ_CHECK(n == wlen && memcmp(f, want, n) == 0);
}

static void check_key_bytes(apr_pool_t *p, const sc_key_t *k,
                            const sc_url_t *url, const char *query,
                            char **names, char **values, int from, int to)
{
    apr_size_t len;
    const char *key = sc_key_bytes(k, &len), *s, *end;
    const char *origin = apr_psprintf(p, "%s://%s:%u", url->scheme, url->host,
                                      url->port);
    int i;

    FUZZ_CHECK(key && key[len] == '\0' && len >= 5);
    FUZZ_CHECK(memcmp(key, "SCK2\n", 5) == 0);
    s = key + 5;
    end = key + len;
    expect_field(&s, end, origin, strlen(origin));
    expect_field(&s, end, url->path, strlen(url->path));
    expect_field(&s, end, query, strlen(query));
    for (i = from; i < to; i++) {
        char hex[SC_DIGEST_HEX_LEN + 1];
        const char *want;

        if (values[i]) {
            /* values appear only hashed: never raw in the key */
            hex_sha1(values[i], strlen(values[i]), hex);
            want = apr_psprintf(p, "%c:%s=%s", kinds[i % 7], names[i], hex);
        }
        else {
            want = apr_psprintf(p, "%c:%s", kinds[i % 7], names[i]);
        }
        expect_field(&s, end, want, strlen(want));
    }
    FUZZ_CHECK(s == end);
}

static void check_digest(apr_pool_t *p, const char *prefix, char kind,
                         const char *data, apr_size_t len)
{
    char *pre = fuzz_strdup(prefix);
    const char *d = sc_key_digest(p, pre, kind, data, len);
    char hex[SC_DIGEST_HEX_LEN + 1];
    size_t plen = strlen(prefix);

    hex_sha1(data, len, hex);
    FUZZ_CHECK(strlen(d) == plen + 3 + SC_DIGEST_HEX_LEN);
    FUZZ_CHECK(memcmp(d, prefix, plen) == 0 && d[plen] == ':'
               && d[plen + 1] == kind && d[plen + 2] == ':');
    FUZZ_CHECK(strcmp(d + plen + 3, hex) == 0);
    if (sc_key_prefix_ok(pre)) {
        const char *c;
        /* a valid memcached key: at most 250 bytes, no blank or control */
        FUZZ_CHECK(plen >= 1 && plen <= SC_PREFIX_MAX);
        FUZZ_CHECK(strlen(d) <= 250);
        for (c = d; *c; c++) {
            FUZZ_CHECK(*c > ' ' && *c < 0x7f);
        }
    }
    if (sc_chunk_key) {
        /* "<prefix>:c:<sha1 hex>:<16 hex digits>:<index>" */
        apr_uint64_t version = (apr_uint64_t)len * 0x9e3779b97f4a7c15ull;
        apr_uint32_t index = (apr_uint32_t)(len * 2654435761u);
        const char *ck = sc_chunk_key(p, pre, data, len, version, index);
        const char *want = apr_psprintf(
            p, "%s:%016" APR_UINT64_T_HEX_FMT ":%u",
            sc_key_digest(p, pre, SC_KIND_CHUNK, data, len), version, index);

        FUZZ_CHECK(strcmp(ck, want) == 0);
        if (sc_key_prefix_ok(pre)) {
            const char *c;
            FUZZ_CHECK(strlen(ck) <= 250);
            for (c = ck; *c; c++) {
                FUZZ_CHECK(*c > ' ' && *c < 0x7f);
            }
        }
    }
    free(pre);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t head[HEAD_LEN] = { 0 };
    char *f[NFIELDS];
    char *names[NPAIRS], *values[NPAIRS];
    apr_array_header_t *ignore = NULL;
    const char *query, *prefix;
    sc_url_t url;
    sc_key_t k, copy;
    apr_size_t len0, len1;
    const char *b0;
    char *snapshot;
    apr_pool_t *p;
    int i, npairs = 0;

    memcpy(head, data, size < HEAD_LEN ? size : HEAD_LEN);
    memset(f, 0, sizeof(f));
    if (size > HEAD_LEN) {
        fuzz_split(data + HEAD_LEN, size - HEAD_LEN, f, NFIELDS);
    }
    for (i = 0; i < F_PAIRS; i++) {
        if (!f[i]) {
            f[i] = fuzz_strdup("");
        }
    }
    if (head[2] & 2) {
        free(f[F_QUERY]);
        f[F_QUERY] = NULL;
    }
    for (i = 0; i < NPAIRS && f[F_PAIRS + 2 * i]; i++) {
        names[i] = f[F_PAIRS + 2 * i];
        values[i] = f[F_PAIRS + 2 * i + 1];
        if (!values[i] || (head[3] & (1u << i))) {
            values[i] = NULL;
        }
        npairs++;
    }
    p = fuzz_pool();

    if (!(head[2] & 4)) {
        char *globs = apr_pstrdup(p, f[F_IGNORE]), *g, *last;
        ignore = apr_array_make(p, 4, sizeof(const char *));
        for (g = apr_strtok(globs, "\n", &last); g;
             g = apr_strtok(NULL, "\n", &last)) {
            APR_ARRAY_PUSH(ignore, const char *) = g;
        }
    }

    query = check_query(p, f[F_QUERY], ignore);
    check_query(p, f[F_QUERY], NULL);
    check_cookie(p, f[F_COOKIE], f[F_CNAME]);
    check_predicates(f[F_COOKIE], f[F_PATH]);
    check_tags(p, f[F_COOKIE]);

    url.scheme = (head[2] & 1) ? "https" : "http";
    url.host = f[F_HOST];
    url.port = (unsigned)head[0] << 8 | head[1];
    url.path = f[F_PATH];
    url.query = f[F_QUERY];

    sc_key_init(&k, p, &url, ignore);
    for (i = 0; i < npairs / 2; i++) {
        sc_key_add(&k, kinds[i % 7], names[i], values[i]);
    }
    check_key_bytes(p, &k, &url, query, names, values, 0, npairs / 2);

    /* A copy grows on its own: the original keeps its bytes. */
    b0 = sc_key_bytes(&k, &len0);
    snapshot = apr_pmemdup(p, b0, len0 + 1);
    sc_key_copy(&copy, &k);
    for (i = npairs / 2; i < npairs; i++) {
        sc_key_add(&copy, kinds[i % 7], names[i], values[i]);
    }
    b0 = sc_key_bytes(&k, &len1);
    FUZZ_CHECK(len1 == len0 && memcmp(b0, snapshot, len0 + 1) == 0);
    {
        /* the copy is the key built in one go */
        sc_key_t whole;
        apr_size_t lc, lw;
        const char *bc, *bw;

        sc_key_init(&whole, p, &url, ignore);
        for (i = 0; i < npairs; i++) {
            sc_key_add(&whole, kinds[i % 7], names[i], values[i]);
        }
        bc = sc_key_bytes(&copy, &lc);
        bw = sc_key_bytes(&whole, &lw);
        FUZZ_CHECK(lc == lw && memcmp(bc, bw, lc) == 0);
        check_key_bytes(p, &whole, &url, query, names, values, 0, npairs);
    }

    prefix = *f[F_PREFIX] ? f[F_PREFIX] : "sc";
    b0 = sc_key_bytes(&copy, &len1);
    check_digest(p, prefix, SC_KIND_ENTRY, b0, len1);
    check_digest(p, prefix, SC_KIND_GEN, f[F_PATH], strlen(f[F_PATH]));

    {
        const char *dep = sc_key_url_dep(p, &url);
        FUZZ_CHECK(strcmp(dep, apr_psprintf(p, "u:%s://%s:%u%s", url.scheme,
                                            url.host, url.port, url.path))
                   == 0);
    }
    for (i = 0; i < npairs; i++) {
        char *t = fuzz_strdup(names[i]);
        if (sc_key_tag_ok(t)) {
            const char *c;
            FUZZ_CHECK(*t && strlen(t) <= SC_TAG_MAX);
            for (c = t; *c; c++) {
                FUZZ_CHECK(*c > ' ' && *c < 0x7f);
            }
            FUZZ_CHECK(strcmp(sc_key_dep(p, SC_DEP_TAG, t),
                              apr_pstrcat(p, "t:", t, NULL))
                       == 0);
        }
        free(t);
    }

    apr_pool_destroy(p);
    fuzz_free_fields(f, NFIELDS);
    return 0;
}
