/*
 * sc_key: the canonical cache key and the memcached keys derived from it.
 *
 * Pure code (APR only): linked by the module, the unit tests and
 * sharedcachectl, and mirrored by the Python helper (same test vectors).
 *
 * The canonical key is a sequence of length-prefixed fields, so no byte
 * of a path, query or variance value can be mistaken for a separator:
 *
 *     "SCK2\n" ( <decimal length> ":" <bytes> "\n" )*
 *
 * The first three fields are the origin "scheme://host:port", the path as
 * the handler sees it (decoded) and the query with its parameters stably
 * sorted by name and the ignored ones removed ("" when none); later fields
 * are variance fields "<kind>:<name>=<sha1 hex of the value>" (or
 * "<kind>:<name>" when the value is absent): values are hashed because the
 * canonical key is stored in the entry, and a session cookie must never be
 * readable in memcached.  The
 * memcached key is "<prefix>:<kind>:<sha1 hex of the canonical key>", so it
 * has a fixed length and never holds a raw request byte.
 */
#ifndef SC_KEY_H
#define SC_KEY_H

#include <apr_hash.h>
#include <apr_network_io.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_sha1.h>

/* Kinds of memcached keys (one letter after the prefix). */
#define SC_KIND_ENTRY 'e'   /* an entry (or, later, a Vary record) */
#define SC_KIND_CHUNK 'c'   /* one chunk of a large body */
#define SC_KIND_LOCK 'l'    /* fill lock (lease) of an entry */
#define SC_KIND_GEN 'g'     /* generation counter of a tag/URL/namespace */
#define SC_KIND_REFUSED 'r' /* a fill lease's note: its last render refused */

#define SC_DIGEST_HEX_LEN (APR_SHA1_DIGESTSIZE * 2)
#define SC_PREFIX_MAX 64

typedef struct {
    const char *scheme;
    const char *host;
    unsigned int port;
    const char *path;  /* as the handler sees it */
    const char *query; /* raw query string, NULL when absent */
} sc_url_t;

typedef struct {
    apr_pool_t *pool;
    char *data; /* the canonical key so far */
    apr_size_t len;
    apr_size_t cap;
    /* Set by sc_key_request: where its fields that hold no URL ("s:",
     * "a:", "H:") begin and end, and where what follows its fields (a
     * location's variance, what configuration derived) begins. */
    apr_size_t mid_start, mid_end, tail_start;
} sc_key_t;

/* The query with parameters stably sorted by name and those whose name
 * matches a glob in ignore (of const char *; "*" drops the query) removed.
 * Names are compared as applications decode them ('+' a blank, %XX a
 * byte); the parameters themselves stay raw.  A parameter holding a ';'
 * is never ignored (some applications split on it).  Returns "" when
 * nothing is left.  A query of more than SC_KEY_MAX_PARAMS parameters
 * (separated by '&' or ';') is returned as it is: a backend may read only the
 * first so many (PHP's max_input_vars, Tomcat's maxParameterCount, Node's
 * maxKeys, all 1000 by default), so what it drops must not be what the key
 * keeps. */
#define SC_KEY_MAX_PARAMS 100
const char *sc_key_query(apr_pool_t *p, const char *query,
                         const apr_array_header_t *ignore);

/* Start a canonical key with the URL field. */
void sc_key_init(sc_key_t *k, apr_pool_t *p, const sc_url_t *url,
                 const apr_array_header_t *ignore);

/* Append one variance field: kind letter, name and the SHA-1 of the value,
 * as "<kind>:<name>=<hex>"; value may be NULL (absent: "<kind>:<name>",
 * distinct from ""). */
void sc_key_add(sc_key_t *k, char kind, const char *name, const char *value);

/*
 * The request fields of a level-1 key (all but a location's variance),
 * in their order.  The module fills this from the request, sharedcachectl
 * from a URL and its options; neither writes the fields itself.
 */
typedef struct {
    /* scheme, the Host as httpd normalised it and the port; the path and
     * query exactly as the client sent them */
    sc_url_t url;
    const apr_array_header_t *ignore; /* SharedCacheIgnoreQuery, or NULL */
    const char *vhost;                /* "<ServerName>:<port>" (sc_key_vhost) */
    const char *vhost_addresses;      /* sc_key_vhost_address_add's list; NULL
                                         or "" (the main server): no field */
    const char *host;          /* the Host header as sent; NULL: absent */
    const char *route_path;    /* where httpd routed it: r->uri */
    const char *route_query;   /* and its query, raw: r->args */
    const char *route_backend; /* mod_proxy's r->filename, "proxy:<the
                                  backend URL>"; NULL or anything else:
                                  no field */
} sc_key_request_t;

/* Start the level-1 key of a request: sc_key_init with the URL fields,
 * then "s:vhost", "a:vhost-addresses" (only when there are any),
 * "H:host", "r:route-path", "r:route-query" (normalised as the query, the
 * same ignore list) and "r:route-backend" (only for a proxied request).
 * A location's variance fields follow (sc_key_add). */
void sc_key_request(sc_key_t *k, apr_pool_t *p, const sc_key_request_t *rq);

/* The key sc_key_request and the same additions would make for rq when
 * like is the key of a request that differs from rq by its URL alone
 * (url.path, url.query, route_path, route_query, route_backend) and
 * whose additions hold no URL: rq's URL and route fields, the rest
 * copied from like. */
void sc_key_request_like(sc_key_t *k, apr_pool_t *p, const sc_key_request_t *rq,
                         const sc_key_t *like);

/* The "s:vhost" value: "<ServerName>:<port>". */
const char *sc_key_vhost(apr_pool_t *p, const char *name, unsigned int port);

/* list (NULL or "" to start) with one more address of a virtual host
 * appended, space separated: "<ip>:<port>" with the IP as
 * apr_sockaddr_ip_get writes it (an IPv6 one without brackets), or
 * "*:<port>" when addr is NULL or the wildcard address. */
const char *sc_key_vhost_address_add(apr_pool_t *p, const char *list,
                                     apr_sockaddr_t *addr, unsigned int port);

/* A Vary record's name for one cookie (the application's
 * X-SharedCache-Vary: cookie=NAME narrows Vary: Cookie): the prefix, then
 * the cookie's name in lower case.  No header is named so. */
#define SC_KEY_VARY_COOKIE "cookie*"

/* The canonical key of the variant a Vary record selects: level1
 * extended with one "V:<name>" field for each of names (of const char *,
 * as the record lists them), valued by all the field lines of that
 * header in headers, joined by commas as apr_table_getm does (absent:
 * NULL); a SC_KEY_VARY_COOKIE name by the values of that cookie
 * (sc_key_cookie), or the whole Cookie header where parsers may read it
 * differently (sc_key_cookie_header_ok).
 * level1 is left as it is; the key is allocated in level1's pool. */
const char *sc_key_variant(const sc_key_t *level1,
                           const apr_array_header_t *names,
                           apr_table_t *headers, apr_size_t *len);

/* An independent copy of src (extended later without touching src). */
void sc_key_copy(sc_key_t *dst, const sc_key_t *src);

/* The canonical key (not NUL terminated inside; a NUL is appended). */
const char *sc_key_bytes(const sc_key_t *k, apr_size_t *len);

/* All values of cookie name (compared without case) in a Cookie header,
 * in order, joined by "\n"
 * (so repeating a cookie cannot make two requests look alike); NULL when
 * the cookie is absent. */
const char *sc_key_cookie(apr_pool_t *p, const char *header, const char *name);

/* The value of cookie name exactly as mod_proxy_balancer reads a sticky
 * session's: the first place the name (compared with case) starts the
 * header or follows ';', ',' or a blank, then optional blanks, '=' and a
 * value that is not empty, up to ';' or ','; NULL when there is none.
 * Two headers with the same value route alike. */
const char *sc_key_cookie_sticky(apr_pool_t *p, const char *header,
                                 const char *name);

/*
 * Generation counters (DESIGN section 6).  An entry depends on counters
 * named by "dependencies":
 *     "u:<scheme>://<host>:<port><path>"   its URL, all queries and variants
 *     "n:<namespace>"                      its SharedCacheNamespace
 *     "t:<tag>"                            each tag of the response
 * A counter lives at "<prefix>:g:<sha1 hex of the dependency>" and holds a
 * decimal number: created with a random value, incremented to invalidate.
 */
#define SC_DEP_URL 'u'
#define SC_DEP_NAMESPACE 'n'
#define SC_DEP_TAG 't'
#define SC_DEP_SERVER 's' /* a server's incarnation (sc_gen.h) */
#define SC_TAG_MAX 128

/* "<kind>:<name>". */
const char *sc_key_dep(apr_pool_t *p, char kind, const char *name);

/* The URL dependency of a URL: "u:<scheme>://<host>:<port><path>" (the
 * query is left out: purging a page purges all its queries). */
const char *sc_key_url_dep(apr_pool_t *p, const sc_url_t *url);

/* True when a tag is 1..SC_TAG_MAX printable ASCII bytes, no space. */
int sc_key_tag_ok(const char *tag);

/* Separators of a tag list (the tag response header, Surrogate-Key, and
 * the invalidate header): a comma, a blank or a tab; runs of them are
 * one separator and an empty token is never reported. */
#define SC_TAG_SEPARATORS ", \t"

/* The next token of a tag list: *cursor is where to read from (the list
 * itself to begin; NULL reads as empty) and moves past the token.
 * Returns 0 at the end, else 1 with *tag a copy of the token in p and
 * *valid whether it is a tag (sc_key_tag_ok).  What to do with an
 * invalid token (refuse the list, skip it) is the caller's choice. */
int sc_key_tag_next(apr_pool_t *p, const char **cursor, const char **tag,
                    int *valid);

/* True when every cookie name in a Cookie header is letters, digits, '_'
 * and '-' (names that no parser rewrites), every value is RFC 6265 cookie
 * octets (optionally quoted; blanks around
 * names and values aside) and the header holds nothing but printable
 * ASCII: only then do all applications read the same cookies from it. */
int sc_key_cookie_header_ok(const char *header);

/* True when a request path is already in the form httpd decodes and
 * normalises it to: no %-escape, no empty or dot segment. */
int sc_key_path_plain(const char *path);

/* The memcached key of a dependency's generation counter:
 * "<prefix>:g:<sha1 hex of dep>". */
const char *sc_key_counter(apr_pool_t *p, const char *prefix, const char *dep);

/* A counter's value as memcached holds it (the len bytes at data): 1 to
 * 20 decimal digits of at most 64 bits, which incr may leave followed by
 * spaces.  False for anything else (a sign, a blank first, other bytes):
 * no counter. */
int sc_key_counter_value(const char *data, apr_size_t len, apr_uint64_t *gen);

/* A hash table of memcached keys (or any strings, APR_HASH_KEY_STRING),
 * hashed eight bytes a step: apr_hash_make's byte-wise hash over a
 * page's include keys (about 50 bytes each, a common prefix) was a good
 * part of an ESI page's bookkeeping. */
apr_hash_t *sc_key_hash_make(apr_pool_t *p);

/* "<prefix>:<kind>:<sha1 hex of data>". */
const char *sc_key_digest(apr_pool_t *p, const char *prefix, char kind,
                          const char *data, apr_size_t len);

/* The key of sc_key_digest's shape with the same digest and another kind
 * (the fill lease's note beside its lease); NULL when key is not of that
 * shape. */
const char *sc_key_rekind(apr_pool_t *p, const char *key, char kind);

/* Memcached key of chunk index of an entry version:
 * "<prefix>:c:<sha1 hex of the canonical key>:<version, 16 hex>:<index>". */
const char *sc_chunk_key(apr_pool_t *p, const char *prefix, const char *key,
                         apr_size_t key_len, apr_uint64_t version,
                         apr_uint32_t index);

/* True when prefix is usable in memcached keys (1..SC_PREFIX_MAX bytes,
 * printable ASCII, no whitespace). */
int sc_key_prefix_ok(const char *prefix);

#endif
