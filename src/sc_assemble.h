/*
 * sc_assemble.h: what the three files of an ESI page share (private to
 * them): sc_surrogate.c (the handshake: which responses, the filters put
 * in place), sc_include.c (the includes: subrequests, one multi-get, what
 * each part imposes on the page) and sc_assemble.c (the page: assembled
 * before any byte is sent, its headers for the client).
 */
#ifndef SC_ASSEMBLE_H
#define SC_ASSEMBLE_H

#include "sc_request.h"

/* on a subrequest made for an include; on the page while it makes one
 * (create_request runs inside ap_sub_req_lookup_uri) */
#define NOTE_INCLUDE "sharedcache-esi-include"
#define NOTE_CREATING "sharedcache-esi-creating"
/* the prefetched context of an include (a userdata of its pool) */
#define PREFETCHED "sharedcache-esi-prefetched"
/* the client's Range and If-Range while the page is made */
#define NOTE_RANGE "sharedcache-esi-range"
#define NOTE_IF_RANGE "sharedcache-esi-if-range"
/* includes made for one client request (on the main request) */
#define INCLUDES_MADE "sharedcache-esi-includes"

/* includes' bytes kept for one client request (on the main request) */
#define INCLUDES_HELD "sharedcache-esi-held"

/* Largest shell processed; a larger one fails (never sent raw). */
#define SC_ESI_MAX_SHELL (16 * 1024 * 1024)

/* Most bytes of its includes' bodies kept for one client request until
 * its page is sent; the include that goes beyond fails. */
#define SC_ESI_MAX_HELD (16 * 1024 * 1024)

/* One include of the page, as it is fetched. */
typedef struct {
    const sc_esi_node_t *node;
    request_rec *rr;            /* its subrequest, or NULL */
    apr_bucket_brigade *out;    /* what it sent */
    int failed;                 /* its error bucket, if it sent one */
    int allowed;                /* local, within the depth and the budget */
    sc_req_t *direct;           /* its direct key (sc_incdirect.c), or NULL */
    request_rec *dq;            /* ... made on this request */
    int served;                 /* found directly: out is its body */
    apr_table_t *direct_fields; /* ... and these its stored fields */
    const char *piece;          /* ... and its deflate piece, if stored
                                   (sc_codec.h), in r->pool */
    apr_size_t piece_len;
    /* what its handler sent, before any filter (SHAREDCACHE_ESI_LENGTH) */
    int len_started;
    apr_off_t len_said; /* its Content-Length; -1: none, -2: invalid */
    apr_off_t len_got;
    const char *cut; /* why its body is not as long as it said, or NULL */
    apr_bucket_brigade *rest; /* the length filter's, while passing */
} part_t;

/* The page being assembled; also SHAREDCACHE_ESI_HOLD's context. */
typedef struct {
    int passing;            /* not processed: everything goes through */
    apr_bucket_brigade *in; /* the shell as it comes */
    apr_off_t in_len;
    int assembled;                   /* the page is ready: HOLD lets go */
    apr_bucket_brigade *held;        /* what HOLD keeps until then */
    const char *cc;                  /* Cache-Control for the client */
    apr_int64_t age;                 /* the oldest part's Age */
    const char *vary;                /* the parts' Vary, joined */
    apr_array_header_t *set_cookies; /* the fragments' Set-Cookie */
    int codable; /* SharedCacheCompress may code the page (Vary) */
    int gzip;    /* ... and this client gets it as one gzip member */
} page_t;

/* The most restrictive Cache-Control of the parts, as they are met. */
typedef struct {
    int no_store;
    int private_;
    apr_int64_t max_age; /* -1: none seen yet */
} fresh_t;

/* --- sc_surrogate.c --- */

/* How many includes deep r is (0: a page the client asked for). */
int sc_inc_depth(const request_rec *r);

/* The client's Range and If-Range, back for httpd's byterange filter
 * (after ours), whether the page was assembled or not. */
void sc_surrogate_range_back(request_rec *r);

/* --- sc_include.c --- */

/* An include's request header fields (a copy of the page's): never the
 * client's conditions or ranges, which are the page's, nor its
 * Accept-Encoding (the body goes into the page as it is). */
void sc_inc_headers(apr_table_t *t);

/* A subrequest for src, ending in pt's SHAREDCACHE_ESI_PART. */
request_rec *sc_inc_request(request_rec *r, const char *src, part_t *pt);

/* One more include for this client request, within SC_ESI_MAX_TOTAL? */
int sc_inc_budget(request_rec *r);

/* len more bytes of its includes' bodies kept for this client request
 * until its page is sent, within SC_ESI_MAX_HELD?  Counted when true.
 * Every include counts (rendered, a hit, taken directly, an SSI page's
 * own includes), at every level of nesting. */
int sc_inc_hold(request_rec *r, apr_off_t len);

/* What memcached holds for each of ctxs (NULL ones skipped) in one
 * multi-get per server: each one's prefetch. */
void sc_inc_prefetch_ctxs(request_rec *r, sc_req_t **ctxs, int n);

/* What memcached holds for every include that will be looked up by a
 * subrequest, in one multi-get per server. */
void sc_inc_prefetch(request_rec *r, part_t *parts, int n);

/* A part's headers (out) make the page's as restrictive as it is. */
void sc_inc_restrict(request_rec *r, page_t *pg, fresh_t *fr, apr_table_t *out,
                     int personal);

/* Fetch one include (src, then alt): 1 when it joined the page. */
int sc_inc_fetch(request_rec *r, page_t *pg, fresh_t *fr, part_t *pt,
                 apr_bucket_brigade *page);

/* --- sc_incdirect.c --- */

/* The first direct key a page made and its request: the others are made
 * like it (sc_build_key_like), on requests that share its headers. */
typedef struct {
    sc_req_t *ctx;
    request_rec *q;
} sc_inc_like_t;

/* The direct key of an include of r (the quick handler's for "GET src"
 * with r's headers) and the request it was made on (*dq), or NULL when
 * the include cannot be served without a subrequest.  like (empty for
 * the page's first include) keeps the first key made. */
sc_req_t *sc_inc_direct_key(request_rec *r, const char *src, request_rec **dq,
                            sc_inc_like_t *like);

/* Every part with a direct key looked up in one multi-get per server: a
 * fresh quick-servable 200 joins the page as it is (served, out; and with
 * pieces, the deflate piece stored with it). */
void sc_inc_direct(request_rec *r, part_t *parts, int n, int pieces);

#endif
