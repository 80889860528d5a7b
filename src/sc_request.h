/*
 * sc_request: what the handler (lookup) hands to the capture filter
 * (store) for one request, and the helpers both use.
 */
#ifndef SC_REQUEST_H
#define SC_REQUEST_H

#include "httpd.h"
#include "http_config.h"
#include "util_filter.h"

#include "sc_config.h"
#include "sc_entry.h"
#include "sc_gen.h"
#include "sc_key.h"
#include "sc_policy.h"

/* Decisions, as X-SharedCache and the sharedcache-status env/note. */
#define SC_HIT         "HIT"
#define SC_MISS        "MISS"
#define SC_STALE       "STALE"
#define SC_BYPASS      "BYPASS"
#define SC_UNCACHEABLE "UNCACHEABLE"
#define SC_ERROR       "ERROR"

#define SC_FILTER_SAVE "SHAREDCACHE_SAVE"
/* note: the level-1 key the quick handler computed for this request */
#define SC_NOTE_QUICK_KEY "sharedcache-quick-key"
#define SC_FILTER_DECIDE "SHAREDCACHE_DECIDE"

typedef struct {
    const char *data;
    apr_size_t len;
} sc_piece_t;

typedef enum {
    SC_LOOKUP_MISS, SC_LOOKUP_ERROR, SC_LOOKUP_FOUND, SC_LOOKUP_STALE
} sc_lookup_t;

/* The fill lease of an entry, as a lookup found it. */
typedef enum {
    SC_LOCK_NONE, SC_LOCK_LEASE, SC_LOCK_UNCACHEABLE
} sc_lock_t;

/* What a lookup found. */
typedef struct {
    sc_entry_t entry;
    apr_bucket_brigade *body;
    int grace_ok;                /* STALE: may be served while refreshing */
    int error_ok;                /* STALE: may replace a 5xx */
    const char *lock_of;         /* canonical key whose lease applies */
    apr_size_t lock_of_len;
    const char *lock_key;        /* its memcached key, once computed */
} sc_found_t;

typedef struct {
    sc_dir_conf_t *dconf;
    sc_server_conf_t *sconf;
    int quick;                   /* looking up in the quick handler */
    /* Level 1: the URL with this location's variance.  The record there is
     * the entry itself or, when responses carry Vary, a Vary record naming
     * the request headers that select the entry (level 2). */
    sc_key_t key1;
    const char *key;             /* canonical key of the level-1 record */
    apr_size_t key_len;
    const char *entry_key;       /* its memcached key */
    /* The URL's and the namespace's counters, fetched with the entry and
     * created before a miss renders, so an invalidation during the
     * render is never lost. */
    sc_gen_t gens[2];
    apr_array_header_t *tags;    /* of const char *: the response's tags */
    /* What the page's fragments (subrequests: SSI includes) decided: the
     * page takes the most restrictive decision of its parts. */
    const char *fragment_refused;   /* why a fragment forbids storing */
    const char *fragment_vary;      /* their Vary values, joined */
    apr_int64_t fragment_ttl;       /* the shortest freshness of theirs */
    int fragments_asked;            /* subrequests created to run into
                                       the page (sc_fragment_asked) */
    int fragments_ran;              /* of those, how many ran */
    const char *vary_raw;           /* the page's own Vary value */
    int request_no_store;
    int filters_changed_headers; /* output filters (mod_headers) made the
                                    client's headers other than the stored
                                    ones: a quick hit would differ */
    /* The body's label (THREATS 39): its first bytes, as captured or as
     * served from the cache, compared with what reaches
     * SHAREDCACHE_DECIDE.  The same bytes there mean the filters between
     * only labelled the body (mod_headers' Content-Encoding on a
     * pre-compressed file), so the label belongs to the entry; other
     * bytes mean a filter transformed it (mod_deflate). */
    char first[32];
    apr_size_t first_len;
    int label_checked;
    const char *served_encoding; /* a hit's stored Content-Encoding */        /* the request said Cache-Control:
                                    no-store (RFC 9111 5.2.1.5) */
    const char *lease_key;       /* the fill lease this request holds */
    request_rec *r;              /* the request that holds it */
    int store_pending;           /* no Content-Length: store once the
                                    handler has finished (log_transaction) */
    sc_found_t *stale;           /* a stale copy kept for stale-on-error */
    int substituting;            /* SHAREDCACHE_DECIDE replaced a 5xx */

    /* capture state */
    int capturing;
    int started;
    int decided;                 /* SHAREDCACHE_DECIDE has run */
    int storable;                /* and said the response may be stored */
    int handler_varies_encoding; /* the handler's Vary named
                                    Accept-Encoding */
    apr_pool_t *cpool;           /* captured body; freed after the store */
    apr_array_header_t *pieces;  /* of sc_piece_t */
    apr_off_t captured;
    apr_off_t passed;            /* bytes passed on to the client */
    int client_gone;             /* passing on failed: capture only */
    apr_bucket_brigade *held;    /* held back until the store (see
                                    SC_PASS_AHEAD in sc_capture.c) */
    apr_off_t expect_len;        /* Content-Length, -1 if none */
    int status;
    apr_array_header_t *headers; /* of sc_header_t, as they will be stored */
    apr_array_header_t *vary;    /* response Vary names, or NULL */
    apr_array_header_t *stored_vary; /* names of the Vary record the
                                        lookup found at level 1, or NULL */
    sc_policy_out_t policy;
} sc_req_t;

extern ap_filter_rec_t *sc_save_filter_handle;
extern ap_filter_rec_t *sc_decide_filter_handle;

/* sc_lookup.c: one to three round trips to memcached. */
sc_lookup_t sc_lookup(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                      apr_int64_t now, sc_found_t *res);
/* The memcached key of the lease of what a lookup looked for. */
const char *sc_lock_key(request_rec *r, const sc_req_t *ctx,
                        sc_found_t *res);
/* Claim the lease: SC_LOCK_NONE when this request now holds it, else the
 * state found (another's lease, or the uncacheable marker). */
sc_lock_t sc_lock_claim(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                        sc_found_t *res);
/* Take the fill lease (memcached add); true when this request holds it. */
int sc_lock_try(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                const char *key);
/* Let go of the lease, leaving the "uncacheable" marker if asked. */
void sc_lock_release(request_rec *r, sc_req_t *ctx, int uncacheable);
/* The state of a lease, fetched alone (cheap: what waiters poll). */
sc_lock_t sc_lock_probe(request_rec *r, sc_req_t *ctx, const char *key);

/* sc_handler.c: prepare status and headers of a stored response. */
void sc_restore_response(request_rec *r, const sc_req_t *ctx,
                         const sc_entry_t *e, apr_int64_t now,
                         const char *status);

/* Record the decision: header (if on), env var and note. */
void sc_set_status(request_rec *r, const sc_dir_conf_t *d, const char *st);

#define SC_MAX_TAGS 256           /* per entry */

#define SC_GEN_URL 0
#define SC_GEN_NAMESPACE 1

/* The URL of the request as keys and URL dependencies see it. */
void sc_request_url(request_rec *r, sc_url_t *url);

/* PURGE: the method number registered in post_config. */
extern int sc_purge_method;
int sc_purge(request_rec *r, const sc_dir_conf_t *d,
             const sc_server_conf_t *s);

/* Act on a response's invalidate header only. */
void sc_invalidate_tags(request_rec *r, const sc_dir_conf_t *d,
                        apr_table_t *out);

/* Act on a response's invalidate header and, for a successful unsafe
 * method, invalidate its URL and its Location and Content-Location. */
void sc_invalidate_response(request_rec *r, const sc_dir_conf_t *d,
                            apr_table_t *out);

/* insert_filter: SHAREDCACHE_DECIDE on every request of a location with
 * SharedCache On; insert_error_filter: again for an error response that
 * a stale copy may replace. */
void sc_insert_filter(request_rec *r);
void sc_insert_error_filter(request_rec *r);

/* log_transaction: the deferred store of a response without
 * Content-Length, once the handler has finished without failing. */
int sc_log_transaction(request_rec *r);
/* sc_capture.c: store the captured response now and release the lease. */
void sc_capture_finish(request_rec *r, sc_req_t *ctx);

/* The canonical key of the variant selected by the Vary names (key1
 * extended with the request's values of those headers). */
const char *sc_variant_key(request_rec *r, const sc_req_t *ctx,
                           const apr_array_header_t *names,
                           apr_size_t *len);


/* Did the client present a certificate that mod_ssl verified? */
int sc_client_certificate(request_rec *r);

/* sc_quickprobe.c: would httpd let an anonymous client (unknown address,
 * no headers, no credentials) through every phase up to the handler for
 * this request's URL? */
int sc_anyone_may(request_rec *r);

/* create_request: a subrequest made to run into a page being captured
 * (an SSI include) is counted there; one refused before it runs (access
 * control, a bad path) never reaches SHAREDCACHE_DECIDE, and the page,
 * which then holds mod_include's error text, is not stored. */
int sc_fragment_asked(request_rec *r);

/* Does the request's handler end a broken body with an error bucket (files,
 * mod_proxy), so that a body without Content-Length can be trusted? */
int sc_handler_reports_broken_body(const request_rec *r);

/* Log a memcached failure as a rate-limited warning. */
void sc_log_backend(request_rec *r, const char *what, const char *error);

int sc_handler(request_rec *r);
int sc_quick_handler(request_rec *r, int lookup_uri);
apr_status_t sc_capture_filter(ap_filter_t *f, apr_bucket_brigade *bb);
apr_status_t sc_decide_filter(ap_filter_t *f, apr_bucket_brigade *bb);

#endif
