/*
 * sc_request.h: the request side of the module.  What one request carries
 * from stage to stage (sc_req_t) and the entry points of each stage, in
 * the order a request meets them:
 *
 *   sc_bypass.c    may this request use the cache at all?
 *   sc_request.c   its context, client request and URL; restoring a
 *                  stored response
 *   sc_keying.c    its key: the URL as sent and as routed, the variance
 *   sc_derive.c    ... and what the configuration derived from it
 *   sc_rules.c     the configuration's request rules (start-up, .htaccess)
 *   sc_verdict.c   its decision: X-SharedCache, Cache-Status, the note
 *   sc_lookup.c    the entry in memcached (one to three round trips)
 *   sc_fallback.c  ... or in the old cluster of a migration
 *   sc_lease.c     the fill lease: one render per URL in the farm
 *   sc_handler.c   bypass -> key -> lookup -> serve, wait, or render
 *   sc_serve.c     a stored entry served (conditions, an ESI page)
 *   sc_refresh.c   a refresh after the response (grace)
 *   sc_revalidated.c  a 304 to a revalidation: the stored response again
 *   sc_copy_filters.c  the filters before the copy: trusted or not
 *   sc_snapshot.c  the status and headers SHAREDCACHE_SAVE keeps
 *   sc_capture.c   SHAREDCACHE_SAVE: copies the body on its way out
 *   sc_surrogate.c the ESI handshake: which responses are processed
 *   sc_include.c   an ESI page's includes: subrequests, one multi-get
 *   sc_assemble.c  SHAREDCACHE_ESI: assembles a page from its ESI
 *                  includes (each one a subrequest through the handler)
 *   sc_resp_vary.c what a response varies on, as the key sees it
 *   sc_parity.c    quick mode's header parity
 *   sc_before.c    the response fields set before the handler ran (never
 *                  stored)
 *   sc_decide.c    SHAREDCACHE_DECIDE: decides on the final headers
 *   sc_fragment.c  what SSI includes impose on their page
 *   sc_write.c     writes the entry (chunks, Vary record)
 *   sc_coding.c    compressed storage: coded at the store, the client's
 *                  coding (or the body decoded) at a hit
 *   sc_invalidate.c  PURGE, the invalidate header, unsafe methods
 *
 * The stages call the helpers (request, lease, write, invalidate) and
 * never the other way round: the call graph between the files is a DAG,
 * which tools/callgraph-check verifies in make check.
 */
#ifndef SC_REQUEST_H
#define SC_REQUEST_H

#include "httpd.h"
#include "http_config.h"
#include "util_filter.h"

#include "sc_config.h"
#include "sc_entry.h"
#include "sc_esi.h"
#include "sc_gen.h"
#include "sc_key.h"
#include "sc_policy.h"

/* Decisions, as X-SharedCache and the sharedcache-status env/note (the
 * names are sc_decision_name[]).  The order is sc_stat_t's. */
typedef enum {
    SC_HIT,
    SC_MISS,
    SC_STALE,
    SC_BYPASS,
    SC_UNCACHEABLE,
    SC_ERROR,
    SC_DECISION_COUNT,
    SC_UNDECIDED = -1
} sc_decision_t;

extern const char *const sc_decision_name[SC_DECISION_COUNT];

/* Why a request went to the handler, as Cache-Status's fwd (RFC 9211
 * 2.2); the names are sc_verdict.c's. */
typedef enum {
    SC_FWD_NONE,      /* served from the cache */
    SC_FWD_BYPASS,    /* a rule kept it from the cache */
    SC_FWD_METHOD,    /* not a GET */
    SC_FWD_URI_MISS,  /* nothing stored for the URL */
    SC_FWD_VARY_MISS, /* a Vary record, but no variant for these headers */
    SC_FWD_MISS,      /* the cache could not look (memcached failed) */
    SC_FWD_STALE      /* stored, but expired or invalidated */
} sc_fwd_t;

/* What Cache-Status says besides the decision. */
typedef struct {
    sc_fwd_t fwd;
    const char *detail; /* a token: why not stored or not served */
    int fwd_status;     /* the handler's status, 0: none */
    int stored;         /* accepted for storing when the headers left */
    int collapsed;      /* served after waiting for another's render */
    int has_ttl;
    apr_int64_t ttl; /* seconds fresh left (negative: stale) */
} sc_verdict_t;

#define SC_FILTER_SAVE "SHAREDCACHE_SAVE"
/* Where SHAREDCACHE_SAVE sits: after the resource filters (INCLUDES,
 * SUBSTITUTE), before the content-set ones (DEFLATE). */
#define SC_SAVE_FTYPE (AP_FTYPE_CONTENT_SET - 2)
#define SC_FILTER_DECIDE "SHAREDCACHE_DECIDE"
#define SC_FILTER_ESI "SHAREDCACHE_ESI"
#define SC_FILTER_ESI_HOLD "SHAREDCACHE_ESI_HOLD"
#define SC_FILTER_ESI_PART "SHAREDCACHE_ESI_PART"
#define SC_FILTER_ESI_LENGTH "SHAREDCACHE_ESI_LENGTH"
/* An ESI include may include fragments, this many levels deep at most;
 * one client request makes this many includes at most. */
#define SC_ESI_MAX_DEPTH 3
#define SC_ESI_MAX_TOTAL 1000
/* note: the level-1 key the quick handler computed for this request */
#define SC_NOTE_QUICK_KEY "sharedcache-quick-key"
/* sc_fields_now() as the quick phase saw it (absent: no field) */
#define SC_NOTE_QUICK_FIELDS "sharedcache-quick-fields"
#define SC_NOTE_STATUS "sharedcache-status"
/* note: the handler as httpd ran it (sc_handler): where none was set,
 * httpd names it after the content type only while it runs */
#define SC_NOTE_HANDLER "sharedcache-handler"

#define SC_MAX_TAGS 256 /* per entry */

/* The counters every entry depends on, fetched with it (ctx->gens). */
#define SC_GEN_URL 0
#define SC_GEN_NAMESPACE 1
#define SC_GEN_SERVER 2 /* its server's incarnation (sc_gen.h) */
#define SC_GENS 3

typedef struct {
    const char *data;
    apr_size_t len;
} sc_piece_t;

typedef enum {
    SC_LOOKUP_MISS,
    SC_LOOKUP_ERROR,
    SC_LOOKUP_FOUND,
    SC_LOOKUP_STALE
} sc_lookup_t;

/* The fill lease of an entry, as this request sees it. */
typedef enum {
    SC_LEASE_OURS,        /* this request holds it: it renders */
    SC_LEASE_FREE,        /* nobody holds it (what a probe may find) */
    SC_LEASE_THEIRS,      /* another request renders: wait for it */
    SC_LEASE_UNCACHEABLE, /* the last render could not be stored */
    SC_LEASE_FAILED,      /* the last render failed, a moment ago */
    SC_LEASE_UNAVAILABLE  /* memcached failed: render without it */
} sc_lease_t;

/* How a lease is let go of. */
typedef enum {
    SC_LEASE_LET_GO,          /* stored, or a failure worth a retry */
    SC_LEASE_MARK_UNCACHEABLE /* waiters should not wait */
} sc_lease_end_t;

/* What a lookup found. */
typedef struct {
    sc_entry_t entry;
    apr_bucket_brigade *stored; /* the body as stored (all its codings) */
    apr_bucket_brigade *body;   /* ... as this client gets it */
    sc_coding_t coding;         /* ... in this coding (sc_coding.c) */
    apr_bucket_brigade *plain;  /* ... decoded, when it may be revalidated
                                   (a 304 makes it the render's body) */
    int grace_ok;               /* STALE: may be served while refreshing */
    int error_ok;               /* STALE: may replace a 5xx */
    int revalidate;       /* STALE: kept to be revalidated (SharedCacheKeep):
                             the render asks with its validators */
    int local;            /* read from the local tier (sc_local.h), not
                             memcached */
    const char *lease_of; /* canonical key whose lease applies */
    apr_size_t lease_of_len;
    const char *lease_key; /* its memcached key, once computed */
} sc_found_t;

/* The capture and the decision on a miss (SHAREDCACHE_SAVE runs first,
 * SHAREDCACHE_DECIDE later in the chain, on the same brigades).  Allowed
 * transitions:
 *
 *   NEW -> COPYING       SAVE's first call: the body is worth copying
 *   NEW -> PASSING       ... or it is not (status, size, HEAD)
 *   COPYING -> STORING   DECIDE: the final headers allow the store
 *   COPYING -> REFUSED   DECIDE: they do not; SAVE stops at its next call
 *   STORING -> REFUSED   DECIDE: a subrequest failed without output
 *   STORING -> PENDING   EOS without Content-Length from a handler that
 *                        cannot report a broken body: store at
 *                        log_transaction, once the handler has finished
 *   COPYING, STORING, PENDING, REFUSED -> PASSING
 *                        stored, given up (size, error bucket, read
 *                        failure, client gone before the decision)
 *   any -> SUBSTITUTED   DECIDE replaced a 5xx with the stale copy: the
 *                        failed response's buckets are swallowed
 */
typedef enum {
    SC_CAP_NEW,
    SC_CAP_COPYING,
    SC_CAP_STORING,
    SC_CAP_PENDING,
    SC_CAP_REFUSED,
    SC_CAP_PASSING,
    SC_CAP_SUBSTITUTED
} sc_cap_state_t;

#define SC_REQ_MAGIC 0x53437271U /* "SCrq" */

typedef struct {
    unsigned int magic; /* SC_REQ_MAGIC */
    sc_dir_conf_t *dconf;
    sc_server_conf_t *sconf;
    int quick;            /* looking up in the quick handler */
    int request_no_store; /* the request said Cache-Control:
                             no-store (RFC 9111 5.2.1.5) */

    /* --- key (sc_keying.c) ---
     * Level 1: the URL with this location's variance.  The record there is
     * the entry itself or, when responses carry Vary, a Vary record naming
     * the request headers that select the entry (level 2). */
    sc_key_t key1;
    const char *key; /* canonical key of the level-1 record */
    apr_size_t key_len;
    const char *entry_key; /* its memcached key */
    int server;            /* the memcached server of the URL's keys
                              (sc_place.h) */
    int key_url_free;      /* what follows the URL's fields holds no URL
                              (sc_build_key_like) */
    /* The URL's and the namespace's counters and the server's
     * incarnation, fetched with the entry and created before a miss
     * renders, so an invalidation during the render is never lost. */
    sc_gen_t gens[SC_GENS];

    /* --- lookup (sc_lookup.c) --- */
    sc_value_t *prefetch;       /* an ESI include's level-1 record and counters,
                                   fetched with its siblings' (sc_include.c) */
    int prefetch_local;         /* ... from the local tier */
    apr_uint64_t prefetch_mark; /* ... else the local tier's mark before
                                   the multi-get (sc_local_mark) */
    apr_time_t prefetch_at;     /* ... and when it was sent */
    apr_array_header_t *stored_vary; /* names of the Vary record the
                                        lookup found at level 1, or NULL */
    apr_int64_t stored_vary_until;   /* and until when it leads on */
    sc_found_t *stale;               /* a stale copy kept for stale-on-error */
    int error_redirected;     /* httpd answers its 5xx with a redirect to an
                                 ErrorDocument's URL (sc_insert_error_filter) */
    sc_found_t *revalidating; /* the entry this render revalidates */
    sc_found_t *refreshing;   /* a refresh after the response (a subrequest
                                 of the request that served this stale
                                 entry): render, no lookup */
    sc_fwd_t fwd;             /* what the lookup missed (Cache-Status) */
    int collapsed;            /* served what another request's render stored */

    /* --- lease (sc_lease.c) --- */
    const char *lease_key;     /* the fill lease this request holds */
    const char *lease_token;   /* its value: "lease" and this request's
                                  random token */
    request_rec *lease_holder; /* the request that holds it */

    /* --- capture (sc_capture.c) --- */
    sc_cap_state_t state;
    int freshened; /* a 304 (or a HEAD's 200) revalidated the stored
                      response: its body is the stored one */
    const apr_array_header_t *kept_deps; /* then the stored entry's
                                            dependencies (sc_dep_t) */
    apr_pool_t *cpool;          /* captured body; freed after the store */
    apr_array_header_t *pieces; /* of sc_piece_t */
    apr_off_t captured;
    apr_off_t passed;         /* bytes passed on to the client */
    int client_gone;          /* passing on failed: capture only */
    apr_bucket_brigade *held; /* held back until the store (see
                                 SC_PASS_AHEAD in sc_capture.c) */
    apr_off_t expect_len;     /* Content-Length, -1 if none */
    int status;
    apr_array_header_t *headers; /* of sc_header_t, as they will be stored */
    int handler_varies_encoding; /* the handler's Vary named
                                    Accept-Encoding */
    int esi_shell;               /* the response asks for ESI: stored parsed */
    apr_array_header_t *esi_pieces; /* ... with these deflate pieces of its
                                       literal runs (sc_entry_piece_t) */
    const char *not_copied;         /* why SAVE did not copy the body: a
                                       Cache-Status detail, or NULL */

    /* --- a hit of an ESI page: its parsed form, for SHAREDCACHE_ESI --- */
    const sc_esi_doc_t *esi_doc;

    /* --- decision (sc_decide.c) --- */
    sc_policy_out_t policy;
    apr_array_header_t *tags; /* of const char *: the response's tags */
    apr_array_header_t *vary; /* response Vary names, or NULL */
    apr_array_header_t *app_vary_cookies; /* X-SharedCache-Vary's cookies
                                             (lower case), or NULL */
    const char *vary_raw;                 /* the page's own Vary value */
    apr_table_t *key_headers;    /* r->headers_in as the request held them
                                    when it was let render: the variant it
                                    stores under reads these (a handler may
                                    change r->headers_in: mod_proxy_http2
                                    drops Host) */
    int filters_changed_headers; /* output filters (mod_headers) made the
                                    client's headers other than the stored
                                    ones: a quick hit would differ */
    /* The fields r->headers_out and r->err_headers_out held when the
     * handler was let run (mod_headers' "early", mod_negotiation, a
     * module's hook): made again for each request by whatever set them,
     * never stored (sc_parity.c). */
    apr_table_t *before_out, *before_err;
    const apr_table_t *out_at_handler; /* r->headers_out itself, then */
    int before_not_quick; /* some were set after the quick phase (access
                             control, fixups): a quick hit would lack them */
    int before_replaced;  /* the handler replaced r->headers_out (mod_proxy):
                             a hit drops those set before it too
                             (SC_EF_OWN_FIELDS) */
    /* The body's label (THREATS 39): its first bytes, as captured or as
     * served from the cache, compared with what reaches
     * SHAREDCACHE_DECIDE.  The same bytes there mean the filters between
     * only labelled the body (mod_headers' Content-Encoding on a
     * pre-compressed file), so the label belongs to the entry; other
     * bytes mean a filter transformed it (mod_deflate). */
    char first[32];
    apr_size_t first_len;
    int label_checked;
    int recoded; /* a filter after the cache codes the MISS, or may:
                    SC_EF_RECODED */
    const char *served_encoding; /* a hit's stored Content-Encoding */

    /* --- fragments (sc_decide.c): what the page's subrequests (SSI
     * includes) decided; the page takes the most restrictive decision of
     * its parts. --- */
    const char *fragment_refused; /* why a fragment forbids storing */
    const char *fragment_vary;    /* their Vary values, joined */
    apr_int64_t fragment_ttl;     /* the shortest freshness of theirs */
    int fragments_asked;          /* subrequests created to run into
                                     the page (sc_fragment_asked) */
    int fragments_ran;            /* of those, how many ran */
    int fragments_whole;          /* of those, how many were found whole:
                                     served from the cache, or copied to
                                     the end of their length */
} sc_req_t;

/* Is the body being copied (not yet stored or given up)? */
#define SC_COPYING(ctx) \
    ((ctx)->state == SC_CAP_COPYING || (ctx)->state == SC_CAP_STORING \
     || (ctx)->state == SC_CAP_PENDING)

extern ap_filter_rec_t *sc_save_filter_handle;
extern ap_filter_rec_t *sc_decide_filter_handle;
/* --- sc_refresh.c --- */

/* Where a refresh after the response writes: nowhere. */
extern ap_filter_rec_t *sc_sink_filter_handle;
apr_status_t sc_sink_filter(ap_filter_t *f, apr_bucket_brigade *bb);

/* May the request that serves res stale refresh it after its response
 * (not quick mode, a fragment, an internal redirect or an ESI page)? */
int sc_refresh_later_ok(const request_rec *r, const sc_req_t *ctx,
                        const sc_found_t *res);

/* Flush the client's response, then render the URL again into the cache
 * under ctx's lease (handed over to the refresh). */
void sc_refresh_after_response(request_rec *r, sc_req_t *ctx, sc_found_t *res);

/* --- sc_bypass.c --- */

/* Why this request (or an earlier one of its chain of internal
 * redirects) may not use the cache at all, or NULL; *detail (if detail is
 * not NULL): the reason as a Cache-Status token. */
const char *sc_bypass_reason(request_rec *r, const sc_dir_conf_t *d,
                             const char **detail);

/* Did the client present a certificate, verified or not (with
 * SSLVerifyClient optional_no_ca one that fails verification is let
 * through, SSL_CLIENT_VERIFY "FAILED:...", and its names reach the
 * application all the same)? */
int sc_client_certificate(request_rec *r);

/* --- sc_verdict.c --- */

/* Record the decision: X-SharedCache and Cache-Status (if
 * SharedCacheHeader is On, on the client's request only), env var, note
 * and counter.  v may be NULL: no more to say than the decision. */
void sc_set_status(request_rec *r, const sc_dir_conf_t *d, sc_decision_t st,
                   const sc_verdict_t *v);

/* A response that arrived with a Cache-Status of caches before this one
 * (a proxied backend's): ours goes last, as RFC 9211 2 orders them. */
void sc_verdict_order(request_rec *r);

/* The decision recorded for r, or SC_UNDECIDED. */
sc_decision_t sc_decision_of(const request_rec *r);

/* --- sc_request.c --- */

/* The request's context, or NULL; aborts on a context that is not one
 * (memory corruption must not reach memcached). */
sc_req_t *sc_req_get(const request_rec *r);

/* The phase a context is made in. */
typedef enum { SC_PHASE_NORMAL = 0, SC_PHASE_QUICK = 1 } sc_phase_t;

/* A new context for r, registered where the filters find it. */
sc_req_t *sc_req_new(request_rec *r, sc_dir_conf_t *d, sc_phase_t phase);

/* Log a memcached failure as a rate-limited warning. */
void sc_log_backend(request_rec *r, const char *what, const char *error);

/* The request the client sent: the first of a chain of internal
 * redirects (front controllers, a CGI-style local redirect).  Its method
 * is the one that counts (lookups, invalidation). */
const request_rec *sc_client_request(const request_rec *r);

/* The method the client sent, from its request line (a local redirect
 * rewrites method_number to GET): httpd's method number, M_INVALID for
 * one it does not know.  A subrequest's is its own. */
int sc_client_method(request_rec *r);
/* The handler httpd runs (or ran) for r: as sc_handler noted it, else
 * r->handler, else, as httpd names it where none is set, r's content type
 * without its parameters (AddType application/x-httpd-status); NULL:
 * none. */
const char *sc_handler_name(request_rec *r);
/* Is r's handler one that shows the server's live state (the module's
 * status page, mod_status's by either of its names, mod_info's,
 * mod_proxy_balancer's manager, mod_ldap's cache page, mod_md's
 * certificates)?  Never the
 * cache's business: never looked up, never stored. */
int sc_handler_live(request_rec *r);

/* The URL of the request as keys and URL dependencies see it. */
void sc_request_url(request_rec *r, sc_url_t *url);

/* Prepare status and headers of a stored response, as found (its
 * coding labelled). */
void sc_restore_response(request_rec *r, const sc_req_t *ctx,
                         const sc_found_t *found, apr_int64_t now,
                         sc_decision_t status);

/* Copy bytes [from, from + len) of the captured body into dst. */
void sc_captured_copy(const sc_req_t *ctx, apr_off_t from, char *dst,
                      apr_size_t len);

/* Where a hit's body enters r's output filters: the first filter after
 * SHAREDCACHE_SAVE's place.  The filters before it (mod_include,
 * mod_substitute) already shaped the stored body; run again they would
 * apply a substitution twice, or execute SSI markup that the application
 * or a fragment sent as text, with this visitor's request. */
ap_filter_t *sc_hit_filters(request_rec *r);

/* Pass a restored response (whole, with its EOS) to next, with its stored
 * Date: a hit is not dated anew. */
apr_status_t sc_pass_restored(request_rec *r, ap_filter_t *next,
                              apr_bucket_brigade *bb);

/* Pass bb's buckets before upto on to f's next filter, leaving upto and
 * what follows in bb (*rest: the filter's brigade for the split, made
 * once).  For a filter that reads a body as it goes: reading a file's or
 * a pipe's bucket leaves its bytes in memory and the rest in a new
 * bucket, so a brigade read to its end would be held whole. */
apr_status_t sc_pass_read(ap_filter_t *f, apr_bucket_brigade *bb,
                          apr_bucket *upto, apr_bucket_brigade **rest);

/* When the client's request arrived: r->request_time, but during
 * sc_pass_restored's pass, which dates the response with the stored Date
 * through it, the time it held before (what an ESI include made during
 * that pass is dated with). */
apr_time_t sc_request_received(request_rec *r);

/* What the policy decides on: a response's final headers (out), with
 * what its handler said that no filter takes back (sc_resp_vary.c: the
 * names of its Vary, whether its fields made it personal), and the
 * settings of its location (d; NULL: the headers only). */
void sc_policy_input(request_rec *r, apr_table_t *out, const sc_dir_conf_t *d,
                     sc_policy_in_t *in);
/* The response fields of in from out alone. */
void sc_policy_fields(request_rec *r, apr_table_t *out, sc_policy_in_t *in);

/* Does the request's handler end a broken body with an error bucket (files,
 * mod_proxy), so that a body without Content-Length can be trusted? */
int sc_handler_reports_broken_body(const request_rec *r);

/* --- sc_keying.c --- */

/* post_config: find mod_proxy, whose sticky balancers' live settings
 * every key reads. */
void sc_keying_post_config(void);

/* Level 1 of the key and the URL's and namespace's counters; an error
 * message if an expression fails. */
const char *sc_build_key(request_rec *r, sc_req_t *ctx);

/* Does r's location report the server's name and port (UseCanonicalName,
 * UseCanonicalPhysicalPort) as its virtual host does?  The quick phase
 * keys with the virtual host's settings: where a section changes them, a
 * client's quick key may not be the key its own request would have. */
int sc_key_server_as_vhost(request_rec *r);

/* sc_build_key for r where like is the key of a request made from the
 * same page as r and differing from it by its URL alone (ESI includes
 * served directly, sc_incdirect.c): the fields that hold no URL are
 * copied from like's key where nothing of them may read the URL
 * (like->key_url_free), else the whole key is made. */
const char *sc_build_key_like(request_rec *r, sc_req_t *ctx,
                              const sc_req_t *like);

/* The key sc_build_key_like made last for "GET target" like like, where
 * this thread remembers it (1, ctx filled on r's pool), else 0: a key
 * made on no request of its own (r: like's). */
int sc_remembered_key_like(request_rec *r, sc_req_t *ctx, const sc_req_t *like,
                           const char *target);

/* The canonical key of the variant selected by the Vary names (key1
 * extended with the request's values of those headers). */
const char *sc_variant_key(request_rec *r, const sc_req_t *ctx,
                           const apr_array_header_t *names, apr_size_t *len);

/* The 1 + SC_GENS keys of a lookup's first round trip (the level-1
 * record, then the counters), for a multi-get of several requests. */
void sc_lookup_keys(const sc_req_t *ctx, const char **keys);

/* --- sc_derive.c --- */

/* May a variable of this name be left out of a key (the cache's own,
 * per-request identifiers, mod_ssl's where they are the connection's)?
 * Its presence then tells no two clients apart. */
int sc_derive_name_unkeyed(const char *name);
/* Did the client send this request header with this value, as it
 * arrived?  One the configuration set or changed (RequestHeader) is
 * keyed as derived (sc_derive_key).  1 where nothing was noted. */
int sc_derive_header_sent(request_rec *r, const char *name, const char *value);

/* post_read_request: keep the request headers as the client sent them
 * (the key holds those the configuration adds or changes). */
int sc_derive_arrived(request_rec *r);
/* header_parser (main requests) and fixups (subrequests, which run no
 * header_parser), before any other: note which <If> sections hold, as
 * httpd decided right before, ahead of a per-directory SetEnvIf or a
 * RequestHeader that may change what they read. */
int sc_derive_if_noted(request_rec *r);

/* Keep r's variables as its handler phase begins, or as a subrequest
 * inherits them: the key holds only what configuration set, not what a
 * handler added (sc_build_key). */
typedef enum { SC_ENV_AT_HANDLER = 0, SC_ENV_INHERITED = 1 } sc_env_when_t;
void sc_derive_env_snapshot(request_rec *r, sc_env_when_t when);

/* r's variables as its handler phase began (only what configuration set),
 * or NULL if none were kept. */
apr_table_t *sc_derive_env_at_handler(const request_rec *r);

/* What the configuration derived for r (variables set, request headers
 * changed) and where it routed r beyond its URI, into k; why the key
 * cannot be made (an .htaccess file that cannot be read again), or NULL. */
const char *sc_derive_key(request_rec *r, sc_key_t *k);

/* Does nothing sc_derive_key adds for r depend on r's URL (no request
 * line of another request, no rewrite, no <If> section, no redirect's
 * or subrequest's own variables)? */
int sc_derive_url_free(request_rec *r);

/* --- sc_hint.c --- */

/* What a hint is of: the Vary names of a level-1 record (by its memcached
 * key), the tag dependencies of an entry (by its memcached key), or what
 * httpd answered an anonymous client for an ESI include's URL (with the
 * time it expires: sc_include.c). */
typedef enum {
    SC_HINT_VARY = 0,
    SC_HINT_TAGS = 1,
    SC_HINT_ANYONE = 2,
    SC_HINT_NOT_QUICK = 3, /* sc_hint_not_quick */
    SC_HINT_INCLUDES = 4   /* an ESI page's includes' keys (sc_incearly.c) */
} sc_hint_kind_t;

/* child_init: this child's hints (none yet). */
void sc_hint_child_init(apr_pool_t *pchild);

/* The names last seen for key (copied into p), or NULL. */
apr_array_header_t *sc_hint_get(apr_pool_t *p, sc_hint_kind_t kind,
                                const char *key);

/* Remember names (of const char *) for key; NULL or none forgets. */
void sc_hint_set(sc_hint_kind_t kind, const char *key,
                 const apr_array_header_t *names);

/* Was the entry under this memcached key found not quick-servable (its
 * location is not quick, or it is an ESI page) in the last
 * SC_NOT_QUICK_MEMO seconds?  Then neither the quick handler nor a page
 * including it asks memcached for it: the normal handler (a subrequest)
 * does, once. */
#define SC_NOT_QUICK_MEMO 10
int sc_hint_not_quick(apr_pool_t *p, const char *entry_key);
void sc_hint_set_not_quick(apr_pool_t *p, const char *entry_key);

/* --- sc_rules.c --- */

/* post_config: the configuration's request rules (sc_rules.c). */
void sc_rules_post_config(apr_pool_t *pconf);

/* The headers RequestHeader directives name for r (anywhere in the
 * configuration, and in the .htaccess files httpd read for r), appended
 * to named (lower case); why they cannot be known, or NULL. */
const char *sc_rules_request_headers(request_rec *r, apr_array_header_t *named);

/* Why r, a subrequest that runs into a page, may get from the request
 * what the page's key does not hold (request rules that reach it: a
 * section's SetEnvIf or RewriteRule, an <If>, a request-dependent
 * RequestHeader, an .htaccess RequestHeader, a server-level RewriteRule
 * without [NS]), or NULL.  Rules that did not fire leave no trace in r, so
 * where they exist at all the answer is "may". */
const char *sc_rules_reach(request_rec *r);

/* Did httpd read an .htaccess file for r; with may, or may one apply to
 * it (AllowOverride or AllowOverrideList other than None on one of its
 * directories: a file added later applies at once, without a reload)?
 * (Where AllowOverride is not set at all, httpd opens .htaccess files
 * too, but allows nothing in them.) */
int sc_htaccess_applies(const request_rec *r, int may);

/* pre_config: note the functions the modules registered for the filters
 * the cache trusts, before the configuration registers names of its own
 * (ExtFilterDefine, LuaOutputFilter, FilterDeclare). */
void sc_filters_pre_config(void);

/* The filter registered under name (one sc_snapshot.c trusts, or
 * "includes") if it is still the module's, else NULL. */
ap_filter_rec_t *sc_filter_genuine(const char *name);

/* Is SSIStartTag or SSIEndTag configured anywhere (mod_include's markup
 * is then not the default the SSI watch reads)? */
int sc_rules_ssi_tags(void);

/* Is ProxyHTMLInterp set anywhere (mod_proxy_html's URL maps may then
 * read the request: a condition, an interpolated ${VAR})? */
int sc_rules_proxy_html_interp(void);

/* Is a "BYTYPE:" filter declared, or given a provider, with mod_filter's
 * FilterDeclare or FilterProvider anywhere (an AddOutputFilterByType
 * chain may then run another filter than it names)? */
int sc_rules_bytype_declared(void);

/* May mod_proxy_fcgi's ProxyFCGISetEnvIf make r's FastCGI parameters
 * (its settings in a section, an .htaccess file or the server that apply
 * to r)?  It evaluates them inside its handler, after the key was made. */
int sc_rules_fcgi_env(const request_rec *r);

/* post_config, once: warn (SC0116) of each RequestHeader set from a
 * value that differs on every request and that the key cannot mark
 * (mod_headers' %D, %l, %i, %b). */
void sc_rules_warn_changing_headers(apr_pool_t *p, server_rec *s);

/* The tag of the configuration this process runs (24 bits, never 0),
 * which an entry marked quick-servable carries (SC_EF_CONF). */
apr_uint32_t sc_rules_config_tag(void);

/* May the quick handler serve an entry of these flags (SC_EF_QUICK,
 * marked under this configuration), and may a page take it without a
 * subrequest (SC_EF_DIRECT too)? */
int sc_entry_quick_ok(apr_uint32_t flags);
int sc_entry_direct_ok(apr_uint32_t flags);

/* The note that marks sc_anyone_may()'s anonymous copy of a request. */
#define SC_NOTE_PROBE "sharedcache-probe"

/* --- sc_origin.c --- */

/* mod_proxy's create_req hook: note the backend's raw Date and Expires
 * lines for r (mod_proxy_http rewrites what it can parse leniently). */
extern ap_filter_rec_t *sc_origin_filter_handle;
int sc_origin_proxy_req(request_rec *r, request_rec *backend_r);
apr_status_t sc_origin_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                              ap_input_mode_t mode, apr_read_type_e block,
                              apr_off_t readbytes);

/* Did a proxied response come framed so that mod_proxy reports a body cut
 * short (HTTP, chunked or with a length)? */
int sc_origin_framed(const request_rec *r);

/* The value of a date field of out as the origin sent it: the backend's
 * raw line while the header still holds mod_proxy's rewrite of it, else
 * the header's value. */
const char *sc_origin_field(request_rec *r, apr_table_t *out,
                            const char *field);

/* The request headers as a backend behind mod_proxy receives them: in (r's
 * headers), with the client's address, Host and server name merged into
 * X-Forwarded-For, -Host and -Server as mod_proxy merges them, and the
 * request's protocol version into Via.
 * sc_origin_added() says whether name (any case) is one of those. */
apr_table_t *sc_origin_headers_in(request_rec *r, apr_table_t *in);
int sc_origin_added(const char *name);

/* --- sc_lookup.c --- */

sc_lookup_t sc_lookup(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                      apr_int64_t now, sc_found_t *res);

/* --- sc_incearly.c: an ESI page and its includes in one round trip --- */

/* The keys of the includes of page (a lookup's context) that its lookup
 * may ask for with its own: what they asked the last time, or NULL. */
apr_array_header_t *sc_early_keys(request_rec *r, const sc_req_t *page);
/* What the page's multi-get on c read for keys[from..n) (and the page's
 * counters, keys[1..SC_GENS]), asked at `at`: for its includes. */
void sc_early_keep(request_rec *r, const sc_req_t *page, const sc_conn_t *c,
                   const char **keys, sc_value_t *vals, int from, int n,
                   apr_time_t at);
/* Forget them: the page's lookup found nothing to serve as it is. */
void sc_early_drop(request_rec *r);
/* An include of page r takes its prefetch from what the page's lookup
 * read: 1 when every key of its lookup was read there. */
int sc_early_take(request_rec *r, sc_req_t *inc);
/* An include of page r asked for its lookup's keys ... */
void sc_early_note(request_rec *r, const sc_req_t *inc);
/* ... and once all were asked, they are the page's next hint. */
void sc_early_hint(request_rec *r);

/* --- sc_fallback.c --- */

/* SharedCacheFallbackServers: after a miss in the new cluster (cn: its
 * server for this URL), the old cluster's entry, FOUND only when it is
 * fresh and valid there, can be copied as it is, and every counter it
 * depends on has, in the new cluster, the value it recorded (copied by
 * sharedcachectl migrate, not invalidated since). */
sc_lookup_t sc_lookup_fallback(request_rec *r, sc_req_t *ctx, sc_conn_t *cn,
                               apr_int64_t now, sc_found_t *res);

/* Write an entry found in the old cluster into the new one (c), with
 * its server's incarnation there; variants and chunked bodies are not
 * copied (they are rendered again). */
void sc_write_copy(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                   const sc_entry_t *old, apr_bucket_brigade *body);

/* --- sc_lease.c --- */

/* The memcached key of the lease of what a lookup looked for. */
const char *sc_lease_key(request_rec *r, const sc_req_t *ctx, sc_found_t *res);
/* Claim the lease: OURS when this request now holds it, else what holds
 * it (THEIRS, UNCACHEABLE) or UNAVAILABLE. */
sc_lease_t sc_lease_claim(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                          sc_found_t *res);
/* Let go of the lease this request holds, if any. */
void sc_lease_release(request_rec *r, sc_req_t *ctx, sc_lease_end_t how);
/* How to let go of the lease after a render refused for detail (a
 * Cache-Status detail): unmarked where the refusal is the request's own
 * (a HEAD, a 304 or 412 to its conditions), so the next waiter renders
 * for the others; else marked uncacheable (which sc_lease_release does
 * only for the second refusal in a row). */
sc_lease_end_t sc_lease_end_for(request_rec *r, const char *detail);
/* Write down beside the lease of the entry stored under key (on c, its
 * server) that it was stored, until it is no longer kept (until, in
 * seconds) and SharedCacheLockTimeout more: a refusal then never marks
 * its lease, however many in a row. */
void sc_lease_note_stored(request_rec *r, const sc_req_t *ctx, sc_conn_t *c,
                          const char *key, apr_size_t key_len,
                          apr_int64_t until);
/* The lease from holds becomes to's, held by request r (a refresh). */
void sc_lease_hand_over(request_rec *r, sc_req_t *from, sc_req_t *to);
/* The state of a lease, fetched alone (cheap: what waiters poll): FREE,
 * THEIRS, UNCACHEABLE or UNAVAILABLE; for THEIRS, *holder tells one
 * holder's lease from the next one's (a hash of its token). */
sc_lease_t sc_lease_probe(request_rec *r, sc_req_t *ctx, const char *key,
                          apr_uint32_t *holder);

/* Before a lookup: let go of the cluster's leases that could not be let
 * go of when their requests ended (sc_pending.h). */
void sc_lease_retry(request_rec *r, const sc_server_conf_t *s);

/* --- sc_handler.c --- */

int sc_handler(request_rec *r);
int sc_quick_handler(request_rec *r, int lookup_uri);

/* sc_quickprobe.c: would httpd let an anonymous client (unknown address,
 * no headers, no credentials) through every phase up to the handler for
 * this request's URL? */
int sc_anyone_may(request_rec *r);

/* ... and would it get the page r gets: the same key as ctx's? */
int sc_anyone_gets(request_rec *r, const sc_req_t *ctx);

/* --- sc_resp_vary.c --- */

/* What a response (its final headers: out) varies on, as a Vary value:
 * the names of its handler's Vary and of its final one (NULL: none). */
const char *sc_response_vary(request_rec *r, apr_table_t *out);
/* Note r's response fields as they are now as its handler's word (added
 * to what was noted: variance and restrictions are never taken back). */
void sc_note_handler(request_rec *r);
/* ... unless they were noted already (a hit's, as it was restored). */
void sc_note_handler_once(request_rec *r);
/* Before the handler renders: note an X-SharedCache-Vary that is there
 * already (not the application's: it narrows nothing). */
void sc_note_before_handler(request_rec *r);
/* Why its handler's own fields made r's response personal (a detail
 * token for Cache-Status), or NULL. */
const char *sc_handler_personal(const request_rec *r);

/* The cookies its handler's "X-SharedCache-Vary: cookie=a, cookie=b"
 * names (lower case, as variance names: a filter's never narrows), or
 * NULL when absent or not only such items. */
apr_array_header_t *sc_app_vary_cookies(request_rec *r);
/* The response's Vary names (vary: its Vary value) that select its
 * variant: less what the location's keyed cookies and a compression
 * filter account for, Cookie narrowed to ctx->app_vary_cookies; NULL if
 * none. */
apr_array_header_t *sc_effective_vary(request_rec *r, const sc_req_t *ctx,
                                      const char *vary);

/* --- sc_parity.c --- */

/* Did filters after SHAREDCACHE_SAVE change the client's headers, type
 * or variance from what is stored (then no quick hit may serve it)? */
int sc_parity_changed(request_rec *r, const sc_req_t *ctx, apr_table_t *out);
/* --- sc_before.c --- */

/* The fields r->headers_out and r->err_headers_out hold now, as one
 * string (NULL when there are none): what the quick phase saw is compared
 * with what the handler finds. */
const char *sc_fields_now(request_rec *r);
/* Before the handler renders: note the fields that are there already
 * (ctx->before_out, before_err, out_at_handler, before_not_quick). */
void sc_note_fields_before(request_rec *r, sc_req_t *ctx);
/* Did the handler replace r->headers_out, as mod_proxy does (none of the
 * fields set before it left, or some and the table is another)? */
int sc_fields_replaced(request_rec *r, const sc_req_t *ctx);

/* The fields of r's response (r->err_headers_out's, then
 * r->headers_out's) as its handler made them: each field set before it
 * ran taken off once, in its table (in r->headers_out unless the handler
 * replaced it), also where httpd merged a later field into it ("early,
 * app" is "app"). */
apr_table_t *sc_own_fields(request_rec *r, const sc_req_t *ctx, int replaced);

/* --- sc_serve.c --- */

/* Serve the stored entry res as status (HIT, STALE) at now.  Returns OK
 * or an HTTP status for ap_die. */
int sc_serve(request_rec *r, sc_req_t *ctx, const sc_found_t *res,
             apr_int64_t now, sc_decision_t status);
/* Stale on error: serve failed's stale copy to r (failed itself, or the
 * request of an ErrorDocument that answers failed's 5xx) through next,
 * in place of the error; status is the error's, for the log (302 for
 * the redirect to an ErrorDocument's URL). */
apr_status_t sc_serve_stale_instead(request_rec *r, sc_req_t *failed,
                                    int status, ap_filter_t *next);
/* The quick handler of an ErrorDocument's internal redirect for a 5xx
 * whose request keeps a stale copy: that copy, served; else DECLINED. */
int sc_serve_stale_for_error_document(request_rec *r);

/* --- sc_revalidated.c --- */

/* Does r, the answer to the cache's conditional HEAD, freshen the entry
 * being revalidated (RFC 9111 4.3.5)? */
int sc_head_freshens(request_rec *r, const sc_req_t *ctx);
/* The answer (a 304, or a HEAD that freshens) makes the stored response,
 * with the answer's header fields, the response: its body leads bb. */
void sc_revalidated(request_rec *r, sc_req_t *ctx, apr_bucket_brigade *bb);
/* Delete bb's data buckets, keeping its metadata (EOS, FLUSH). */
void sc_drop_data(apr_bucket_brigade *bb);

/* --- sc_copy_filters.c --- */

/* SHAREDCACHE_FIRST, the first of a response's filters: notes what its
 * handler said (its Vary and X-SharedCache-Vary, whether its fields made
 * it personal) before a filter (mod_headers) changes them, a hit's being
 * noted as it is restored (sc_note_handler); and the first filter then
 * before the copy that may make the body from the request. */
#define SC_FILTER_FIRST "SHAREDCACHE_FIRST"
extern ap_filter_rec_t *sc_first_filter_handle;
apr_status_t sc_first_filter(ap_filter_t *f, apr_bucket_brigade *bb);
void sc_note_filters_before_copy(request_rec *r);
/* The first filter before save (r's SHAREDCACHE_SAVE) that may make the
 * body from the request, now or when the handler first wrote; NULL when
 * none. */
const char *sc_filter_before_copy(request_rec *r, ap_filter_t *save);

/* --- sc_snapshot.c --- */

/* SHAREDCACHE_SAVE's first call: keep the status and headers as the
 * handler made them; 0 when the body is not worth copying (why in
 * ctx->not_copied). */
int sc_snapshot(ap_filter_t *f, request_rec *r, sc_req_t *ctx);

/* --- sc_capture.c --- */

apr_status_t sc_capture_filter(ap_filter_t *f, apr_bucket_brigade *bb);
/* log_transaction: the deferred store of a response without
 * Content-Length, once the handler has finished without failing. */
int sc_log_transaction(request_rec *r);

/* --- sc_surrogate.c, sc_include.c, sc_assemble.c (ESI) --- */

extern ap_filter_rec_t *sc_esi_filter_handle;
extern ap_filter_rec_t *sc_esi_hold_filter_handle;
extern ap_filter_rec_t *sc_esi_part_filter_handle;
extern ap_filter_rec_t *sc_esi_length_filter_handle;
apr_status_t sc_esi_filter(ap_filter_t *f, apr_bucket_brigade *bb);
apr_status_t sc_esi_length_filter(ap_filter_t *f, apr_bucket_brigade *bb);
apr_status_t sc_esi_hold_filter(ap_filter_t *f, apr_bucket_brigade *bb);
apr_status_t sc_esi_part_filter(ap_filter_t *f, apr_bucket_brigade *bb);
/* insert_filter: where SharedCacheESI is On or Force, SHAREDCACHE_ESI and
 * the Surrogate-Capability handshake; elsewhere a client's own
 * Surrogate-Capability is removed. */
void sc_esi_insert(request_rec *r);
/* Does this response (its headers: out) ask for ESI processing here?
 * Decided on the headers as the handler made them. */
int sc_esi_wanted(request_rec *r, const sc_dir_conf_t *d, apr_table_t *out);
/* Is r a subrequest made for an ESI include?  Its page is stored
 * unassembled: nothing of the include reaches the page's decision. */
int sc_esi_include(const request_rec *r);
/* The context an ESI include's lookup was prefetched into, once. */
sc_req_t *sc_esi_prefetched(request_rec *r);

/* --- sc_decide.c --- */

apr_status_t sc_decide_filter(ap_filter_t *f, apr_bucket_brigade *bb);
/* insert_filter: SHAREDCACHE_DECIDE on every request of a location with
 * SharedCache On; insert_error_filter: again for an error response that
 * a stale copy may replace. */
void sc_insert_filter(request_rec *r);
void sc_insert_error_filter(request_rec *r);

/* --- sc_fragment.c --- */

/* create_request: a subrequest made to run into a page being captured
 * (an SSI include) is counted there; one refused before it runs (access
 * control, a bad path) never reaches SHAREDCACHE_DECIDE, and the page,
 * which then holds mod_include's error text, is not stored. */
int sc_fragment_asked(request_rec *r);

/* post_perdir_config: any subrequest of a page being made, a lookup too
 * (mod_autoindex lists only the files the client may read, mod_dir and
 * mod_negotiation pick by them), that meets access rules of its own an
 * anonymous client does not pass makes the page depend on who asks: it
 * and the pages that include it are not stored. */
int sc_fragment_looked_up(request_rec *r);
/* Does every client pass the access rules subrequest r meets (its
 * parent's configuration, or rules an anonymous client passes where
 * nothing may deny some clients by what they send or are)? */
int sc_rules_pass_anyone(request_rec *r);
/* A fragment's final headers reach SHAREDCACHE_DECIDE (bb: its first
 * brigade): impose them on every page that includes it. */
void sc_fragment_reaches_page(request_rec *r, const sc_dir_conf_t *d,
                              apr_bucket_brigade *bb);
/* A fragment's body did not end whole (why: cut short of its
 * Content-Length ...): no page that holds it assembled is stored, and
 * the ESI include it is part of failed. */
void sc_fragment_broken(request_rec *r, const char *why);
/* A fragment's body was found whole (copied to its end, complete). */
void sc_fragment_whole(request_rec *r);
/* Was a part of this ESI include's subrequest broken (sc_fragment_broken),
 * and why? */
const char *sc_fragment_broken_part(const request_rec *rr);
/* SSI that reads the request (#echo, #if, #set, #printenv, #exec): a
 * render whose response goes through mod_include is watched, and neither
 * it nor a page that includes it is stored. */
extern ap_filter_rec_t *sc_ssi_watch_filter_handle;
void sc_ssi_watch(request_rec *r);
apr_status_t sc_ssi_watch_filter(ap_filter_t *f, apr_bucket_brigade *bb);
/* Why r's SSI keeps it from being stored, or NULL. */
const char *sc_ssi_reads(const request_rec *r);
/* Did a subrequest's handler fail without output?  (bb: its first
 * brigade.) */
int sc_subrequest_failed(const request_rec *r, apr_table_t *out,
                         apr_bucket_brigade *bb);

/* --- sc_write.c --- */

/* Write the captured response: entry, chunks, Vary record. */
void sc_write(request_rec *r, sc_req_t *ctx);
/* Is this response header never stored (hop-by-hop, per response, or
 * the application's X-SharedCache-Vary)? */
int sc_header_unstored(const sc_req_t *ctx, const char *name);

/* Fields that address this cache (Surrogate-Control, CDN-Cache-Control,
 * X-SharedCache-Vary): removed from what the client gets, on a miss and
 * on a hit (sc_request.c). */
extern const char *const sc_cache_only_fields[];
int sc_header_cache_only(const char *name);
/* Fields about one exchange, not the page (Authentication-Info,
 * Proxy-Authentication-Info): never stored, and a hit keeps the ones the
 * phases before the handler gave its own request (sc_request.c). */
extern const char *const sc_exchange_fields[];
/* Is name (a header field's, any case) one of list (NULL-terminated)? */
int sc_name_listed(const char *name, const char *const *list);
/* Do two lists of names (of const char *; NULL: none) hold the same, in
 * the same order? */
int sc_names_equal(const apr_array_header_t *a, const apr_array_header_t *b);

/* --- sc_coding.c --- */

/* At the store: keep a compressible body coded (SharedCacheCompress):
 * the captured body becomes its codings, e says which. */
void sc_coding_store(request_rec *r, sc_req_t *ctx, sc_entry_t *e);
/* At a hit: res->body from res->stored, in the coding this client gets,
 * and res->plain (decoded) when res->revalidate.  APR_EINVAL when a
 * stored coding is not one (a miss), or decodes to more than max_size
 * bytes. */
apr_status_t sc_coding_serve(request_rec *r, sc_found_t *res,
                             apr_off_t max_size);
/* Of the codings have (SC_CODING_BIT) of a body of this Content-Type, the
 * one this client gets (identity in a subrequest, for a request's
 * no-transform, and where the configuration's no-gzip, no-brotli or
 * gzip-only-text/html refuse the others). */
sc_coding_t sc_coding_for_client(request_rec *r, const char *type,
                                 unsigned have);

/* --- sc_invalidate.c --- */

/* PURGE: the method number registered in post_config. */
extern int sc_purge_method;
int sc_purge(request_rec *r, const sc_dir_conf_t *d, const sc_server_conf_t *s);

/* Try the invalidations that failed again (before a lookup). */
void sc_invalidate_retry(request_rec *r, const sc_server_conf_t *s);

/* Act on a response's invalidate header only. */
void sc_invalidate_tags(request_rec *r, const sc_dir_conf_t *d,
                        apr_table_t *out);

/* Act on a response's invalidate header and, for a successful unsafe
 * method, invalidate its URL and its Location and Content-Location. */
void sc_invalidate_response(request_rec *r, const sc_dir_conf_t *d,
                            apr_table_t *out);

#endif
