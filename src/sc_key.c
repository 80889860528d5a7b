/*
 * sc_key.c: canonical cache key and memcached key digests (see sc_key.h).
 */
#include "sc_key.h"
#include "sc_ring.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

static void append(sc_key_t *k, const char *data, apr_size_t len)
{
    if (k->len + len + 1 > k->cap) {
        /* a request's key is about 300 bytes: one allocation for most */
        apr_size_t cap = k->cap ? k->cap : 512;
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

/* n in decimal at the end of buf (of SC_DEC_MAX bytes): its start. */
#define SC_DEC_MAX 24
static char *decimal(char *buf, apr_uint64_t n)
{
    char *s = buf + SC_DEC_MAX;

    do {
        *--s = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    return s;
}

/* The "<length>:" that starts a field of len bytes. */
static void append_length(sc_key_t *k, apr_size_t len)
{
    char num[SC_DEC_MAX + 1];
    char *s;

    num[SC_DEC_MAX] = ':';
    s = decimal(num, (apr_uint64_t)len);
    append(k, s, (apr_size_t)(num + SC_DEC_MAX + 1 - s));
}

static void append_field(sc_key_t *k, const char *a, apr_size_t alen,
                         const char *b, apr_size_t blen)
{
    append_length(k, alen + blen);
    append(k, a, alen);
    append(k, b, blen);
    append(k, "\n", 1);
}

/* sc_key_init with the query already in its key form. */
static void key_start(sc_key_t *k, apr_pool_t *p, const sc_url_t *url,
                      const char *query)
{
    char num[SC_DEC_MAX];
    const char *port = decimal(num, url->port);
    const char *origin = apr_pstrcat(p, url->scheme, "://", url->host, ":",
                                     NULL);

    k->pool = p;
    k->data = NULL;
    k->len = k->cap = 0;
    k->mid_start = k->mid_end = k->tail_start = 0;
    append(k, "SCK2\n", 5);
    /* Path and query are fields of their own: the path is decoded, so it
     * may hold a '?' that must not read as the start of a query. */
    append_field(k, origin, strlen(origin), port,
                 (apr_size_t)(num + SC_DEC_MAX - port));
    append_field(k, url->path, strlen(url->path), "", 0);
    append_field(k, query, strlen(query), "", 0);
}

void sc_key_init(sc_key_t *k, apr_pool_t *p, const sc_url_t *url,
                 const apr_array_header_t *ignore)
{
    key_start(k, p, url, sc_key_query(p, url->query, ignore));
}

/* A digest is a pure function of its input, and a hit computes the same
 * ones as the URL's last requests (the virtual host's, the Host's, the
 * counters' keys, the entry's key): each thread remembers the last ones
 * it computed, placed by a hash of the input and checked against the
 * whole input.  SHA-1 costs about 0.5 us per 64 bytes here; a page of ten
 * ESI includes computes about fifty different ones (four per include),
 * hence four ways per set: with one, a page's digests evicted each other
 * (several SHA-1s per page; 12 in 21,000 pages with four ways). */
#define SC_DIGEST_SETS 64
#define SC_DIGEST_WAYS 4
#define SC_DIGEST_MEMO_MAX 512 /* longer inputs are not remembered */

/* A set's ways are told apart by their inputs' lengths and hashes
 * (sc_ring_hash, which also picks the set), kept together in one cache
 * line: a probe reads that line, and an input (whose bytes are compared
 * whole) only where both match.  (With
 * the lengths beside the inputs, every probe read four cold lines: 3 %
 * of an ESI page's CPU stalled on them.) */
typedef struct {
    apr_uint32_t fp[SC_DIGEST_WAYS];
    apr_uint32_t len[SC_DIGEST_WAYS]; /* 0: an empty way */
    unsigned char next;               /* the way to reuse */
} __attribute__((aligned(64))) digest_set_t;

typedef struct {
    char hex[SC_DIGEST_HEX_LEN + 1];
    char in[SC_DIGEST_MEMO_MAX];
} digest_way_t;

static __thread digest_set_t digest_sets[SC_DIGEST_SETS];
static __thread digest_way_t digest_ways[SC_DIGEST_SETS][SC_DIGEST_WAYS];

static unsigned int table_hash(const char *key, apr_ssize_t *klen)
{
    if (*klen == APR_HASH_KEY_STRING) {
        *klen = (apr_ssize_t)strlen(key);
    }
    return sc_ring_hash(key, (apr_size_t)*klen);
}

apr_hash_t *sc_key_hash_make(apr_pool_t *p)
{
    return apr_hash_make_custom(p, table_hash);
}

static void sha1_compute(const char *data, apr_size_t len,
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

static void sha1_hex(const char *data, apr_size_t len,
                     char out[SC_DIGEST_HEX_LEN + 1])
{
    digest_set_t *set;
    digest_way_t *m;
    apr_uint32_t h;
    apr_size_t s;
    int i;

    if (len == 0 || len > SC_DIGEST_MEMO_MAX) {
        sha1_compute(data, len, out);
        return;
    }
    h = sc_ring_hash(data, len);
    s = (apr_size_t)(h % SC_DIGEST_SETS);
    set = &digest_sets[s];
    for (i = 0; i < SC_DIGEST_WAYS; i++) {
        m = &digest_ways[s][i];
        if (set->len[i] == len && set->fp[i] == h
            && !memcmp(m->in, data, len)) {
            set->next = (unsigned char)((i + 1) % SC_DIGEST_WAYS);
            memcpy(out, m->hex, SC_DIGEST_HEX_LEN + 1);
            return;
        }
    }
    i = set->next;
    set->next = (unsigned char)((i + 1) % SC_DIGEST_WAYS);
    m = &digest_ways[s][i];
    sha1_compute(data, len, m->hex);
    memcpy(m->in, data, len);
    set->len[i] = (apr_uint32_t)len;
    set->fp[i] = h;
    memcpy(out, m->hex, SC_DIGEST_HEX_LEN + 1);
}

static void add_field(sc_key_t *k, char kind, const char *name,
                      const char *value)
{
    /* "<kind>:<name>=<value>"; an absent value is written without '=' so
     * it differs from "". */
    const char head[2] = { kind, ':' };
    apr_size_t nlen = strlen(name), vlen = value ? strlen(value) : 0;

    append_length(k, 2 + nlen + (value ? 1 + vlen : 0));
    append(k, head, 2);
    append(k, name, nlen);
    if (value) {
        append(k, "=", 1);
        append(k, value, vlen);
    }
    append(k, "\n", 1);
}

void sc_key_add(sc_key_t *k, char kind, const char *name, const char *value)
{
    char hex[SC_DIGEST_HEX_LEN + 1];

    if (value) {
        sha1_hex(value, strlen(value), hex);
    }
    add_field(k, kind, name, value ? hex : NULL);
}

/* The "r:" fields: where httpd routed the request. */
static void add_route(sc_key_t *k, apr_pool_t *p, const sc_key_request_t *rq,
                      const char *query)
{
    /* a request that was not rewritten routes by the query it sent */
    int same = rq->route_query == rq->url.query
               || (rq->route_query && rq->url.query
                   && !strcmp(rq->route_query, rq->url.query));

    sc_key_add(k, 'r', "route-path", rq->route_path);
    sc_key_add(k, 'r', "route-query",
               same && rq->route_query
                   ? query
                   : sc_key_query(p, rq->route_query, rq->ignore));
    if (rq->route_backend && !strncmp(rq->route_backend, "proxy:", 6)) {
        sc_key_add(k, 'r', "route-backend", rq->route_backend);
    }
}

void sc_key_request(sc_key_t *k, apr_pool_t *p, const sc_key_request_t *rq)
{
    const char *query = sc_key_query(p, rq->url.query, rq->ignore);

    key_start(k, p, &rq->url, query);
    k->mid_start = k->len;
    sc_key_add(k, 's', "vhost", rq->vhost);
    if (rq->vhost_addresses && *rq->vhost_addresses) {
        sc_key_add(k, 'a', "vhost-addresses", rq->vhost_addresses);
    }
    sc_key_add(k, 'H', "host", rq->host);
    k->mid_end = k->len;
    add_route(k, p, rq, query);
    k->tail_start = k->len;
}

void sc_key_request_like(sc_key_t *k, apr_pool_t *p, const sc_key_request_t *rq,
                         const sc_key_t *like)
{
    const char *query = sc_key_query(p, rq->url.query, rq->ignore);

    key_start(k, p, &rq->url, query);
    k->mid_start = k->len;
    append(k, like->data + like->mid_start, like->mid_end - like->mid_start);
    k->mid_end = k->len;
    add_route(k, p, rq, query);
    k->tail_start = k->len;
    append(k, like->data + like->tail_start, like->len - like->tail_start);
}

const char *sc_key_vhost(apr_pool_t *p, const char *name, unsigned int port)
{
    char num[SC_DEC_MAX + 1];

    num[SC_DEC_MAX] = '\0';
    return apr_pstrcat(p, name, ":", decimal(num, port), NULL);
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
    dst->mid_start = src->mid_start;
    dst->mid_end = src->mid_end;
    dst->tail_start = src->tail_start;
}

const char *sc_key_bytes(const sc_key_t *k, apr_size_t *len)
{
    *len = k->len;
    return k->data;
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
    apr_size_t plen = strlen(prefix);
    char *out = apr_palloc(p, plen + 3 + SC_DIGEST_HEX_LEN + 1);

    /* "<prefix>:<kind>:<hex>" */
    sha1_hex(data, len, hex);
    memcpy(out, prefix, plen);
    out[plen] = ':';
    out[plen + 1] = kind;
    out[plen + 2] = ':';
    memcpy(out + plen + 3, hex, SC_DIGEST_HEX_LEN + 1);
    return out;
}

const char *sc_key_rekind(apr_pool_t *p, const char *key, char kind)
{
    apr_size_t len = key ? strlen(key) : 0;
    apr_size_t at = len - SC_DIGEST_HEX_LEN - 2;
    char *out;

    if (len < SC_DIGEST_HEX_LEN + 4 || key[at - 1] != ':' || key[at + 1] != ':'
        || strspn(key + at + 2, "0123456789abcdef") != SC_DIGEST_HEX_LEN) {
        return NULL;
    }
    out = apr_pstrmemdup(p, key, len);
    out[at] = kind;
    return out;
}

const char *sc_key_counter(apr_pool_t *p, const char *prefix, const char *dep)
{
    return sc_key_digest(p, prefix, SC_KIND_GEN, dep, strlen(dep));
}

int sc_key_counter_value(const char *data, apr_size_t len, apr_uint64_t *gen)
{
    apr_uint64_t v = 0;
    apr_size_t i = 0;

    /* By hand: strtoull would take blanks and a sign, and cost about
     * 35 ns a counter, which an ESI page pays some thirty times. */
    if (!data) {
        return 0;
    }
    for (; i < len && data[i] >= '0' && data[i] <= '9'; i++) {
        unsigned d = (unsigned)(data[i] - '0');

        /* 19 digits always fit in 64 bits: only a 20th is checked */
        if (i >= 19 && (i > 19 || v > (APR_UINT64_MAX - d) / 10)) {
            return 0; /* more than 64 bits */
        }
        v = v * 10 + d;
    }
    if (i == 0) {
        return 0;
    }
    for (; i < len && data[i] == ' '; i++) {
    }
    if (i != len) {
        return 0;
    }
    *gen = v;
    return 1;
}

const char *sc_key_dep(apr_pool_t *p, char kind, const char *name)
{
    const char head[3] = { kind, ':', '\0' };

    return apr_pstrcat(p, head, name, NULL);
}

const char *sc_key_url_dep(apr_pool_t *p, const sc_url_t *url)
{
    const char head[3] = { SC_DEP_URL, ':', '\0' };
    char num[SC_DEC_MAX + 1];

    num[SC_DEC_MAX] = '\0';
    return apr_pstrcat(p, head, url->scheme, "://", url->host, ":",
                       decimal(num, url->port), url->path, NULL);
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
