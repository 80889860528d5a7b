/*
 * sc_lease.c: the fill lease (DESIGN section 8), one render per URL in
 * the farm.  A miss takes the lease with memcached add; other requests for
 * the URL then wait for its store instead of rendering too.  The holder
 * lets go when its response is stored or given up: a plain delete, or an
 * "uncacheable" marker that tells waiters and later requests not to wait
 * (set when two renders in a row were refused and none stored since the
 * first: a note beside the lease remembers the first, or the last store).
 * A request that ends still holding it lets go from a cleanup of its
 * pool.  The lease expires by itself after SharedCacheLockTimeout.
 */
#include "sc_request.h"
#include "sc_log.h"
#include "sc_pending.h"
#include "sc_ring.h"
#include "sc_store.h"

#include "http_log.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* Lease values: a render in progress ("lease" and a token of the
 * request's own, so that reading the key back tells whose add took it),
 * "the last render was not storable: do not wait", or "the last render
 * failed: do not wait, and a stale copy within grace is served as is". */
#define LEASE "lease "
#define UNCACHEABLE "uncacheable"
#define FAILED "failed"

/* The lease's note ("<prefix>:r:<hex>"): the last render refused, or a
 * store of the entry, kept while the entry is (and SharedCacheLockTimeout
 * more). */
#define NOTE_REFUSED "refused"
#define NOTE_STORED "stored"

static sc_lease_t lease_state(const sc_value_t *v)
{
    if (!v->data) {
        return SC_LEASE_FREE;
    }
    if (v->len == sizeof(UNCACHEABLE) - 1
        && !memcmp(v->data, UNCACHEABLE, v->len)) {
        return SC_LEASE_UNCACHEABLE;
    }
    if (v->len == sizeof(FAILED) - 1 && !memcmp(v->data, FAILED, v->len)) {
        return SC_LEASE_FAILED;
    }
    return SC_LEASE_THEIRS;
}

static apr_int64_t lease_exptime(const sc_req_t *ctx)
{
    return sc_policy_exptime(ctx->dconf->lock_timeout,
                             apr_time_sec(apr_time_now()));
}

const char *sc_lease_key(request_rec *r, const sc_req_t *ctx, sc_found_t *res)
{
    if (!res->lease_key) {
        res->lease_key = sc_key_digest(r->pool, ctx->sconf->prefix,
                                       SC_KIND_LOCK, res->lease_of,
                                       res->lease_of_len);
    }
    return res->lease_key;
}

sc_lease_t sc_lease_probe(request_rec *r, sc_req_t *ctx, const char *key,
                          apr_uint32_t *holder)
{
    sc_conn_t *c = sc_store_borrow(ctx->sconf->backend, ctx->server, r->pool);
    sc_value_t *v;
    sc_lease_t state = SC_LEASE_UNAVAILABLE;

    if (!c) {
        return state;
    }
    if (sc_store_mget(c, r->pool, &key, 1, &v) == APR_SUCCESS) {
        state = lease_state(&v[0]);
        if (state == SC_LEASE_THEIRS) {
            *holder = sc_ring_hash(v[0].data, v[0].len);
        }
    }
    sc_store_return(c, r->pool);
    return state;
}

/* Backstop: a request that ends while still holding the lease (its
 * handler failed before any output, say) lets go of it then, while its
 * pool is being destroyed (sc_lease_release borrows without a pool).
 * Nothing decided on its response: one httpd made in place of the
 * handler's (ap_die: an error page, an ErrorDocument's internal redirect
 * or its URL's 302) is stored by nobody, and the waiters are told so. */
static apr_status_t release_at_end(void *data)
{
    sc_req_t *ctx = data;
    request_rec *r = ctx->lease_holder;

    if (ctx->lease_key) {
        sc_lease_release(r, ctx,
                         ap_is_HTTP_SUCCESS(r->status)
                             ? SC_LEASE_LET_GO
                             : SC_LEASE_MARK_UNCACHEABLE);
    }
    return APR_SUCCESS;
}

static void lease_hold(request_rec *r, sc_req_t *ctx, const char *key,
                       const char *token)
{
    ctx->lease_key = key;
    ctx->lease_token = token;
    ctx->lease_holder = r;
    apr_pool_cleanup_register(r->pool, ctx, release_at_end,
                              apr_pool_cleanup_null);
}

void sc_lease_hand_over(request_rec *r, sc_req_t *from, sc_req_t *to)
{
    if (from->lease_key) {
        lease_hold(r, to, from->lease_key, from->lease_token);
        from->lease_key = NULL;
    }
}

/* The lease's value for this request: LEASE and 16 random hex digits. */
static const char *lease_token(apr_pool_t *p)
{
    unsigned char raw[8];
    char *t = apr_palloc(p, sizeof(LEASE) + 2 * sizeof(raw));
    apr_size_t i;

    apr_generate_random_bytes(raw, sizeof(raw));
    memcpy(t, LEASE, sizeof(LEASE) - 1);
    for (i = 0; i < sizeof(raw); i++) {
        apr_snprintf(t + sizeof(LEASE) - 1 + 2 * i, 3, "%02x", raw[i]);
    }
    return t;
}

sc_lease_t sc_lease_claim(request_rec *r, sc_req_t *ctx, sc_conn_t *c,
                          sc_found_t *res)
{
    const char *key = sc_lease_key(r, ctx, res);
    const char *token = lease_token(r->pool);
    apr_size_t len = strlen(token);
    sc_value_t *v;
    apr_status_t rv = APR_SUCCESS;
    int tries;

    for (tries = 0; tries < 2; tries++) {
        int not_ours;

        rv = sc_store_add(c, key, token, len, lease_exptime(ctx));
        if (rv == APR_SUCCESS) {
            lease_hold(r, ctx, key, token);
            return SC_LEASE_OURS;
        }
        /* another's lease, or one let go (or ours refused) at once */
        not_ours = rv == SC_EEXISTS || rv == SC_ENOTSTORED;
        if (!not_ours) {
            sc_log_backend(r, "taking the fill lease", c->error);
        }
        /* Whose is it?  Asked even after a failure (on a new connection):
         * an add whose answer was lost may have taken it, and a lease
         * nobody knows it holds would keep every request for the URL
         * waiting until it expires. */
        if (sc_store_mget(c, r->pool, &key, 1, &v) != APR_SUCCESS) {
            if (!not_ours) {
                /* Neither the add's answer nor the lease could be read:
                 * it may be ours.  It is let go of at the end as if it
                 * were: at worst that frees another request's lease (one
                 * more render), where keeping it would hold every request
                 * for the URL until it expires. */
                lease_hold(r, ctx, key, token);
            }
            return SC_LEASE_UNAVAILABLE;
        }
        if (v[0].data && v[0].len == len && !memcmp(v[0].data, token, len)) {
            lease_hold(r, ctx, key, token);
            return SC_LEASE_OURS;
        }
        if (v[0].data) {
            return lease_state(&v[0]);
        }
        if (!not_ours) {
            return SC_LEASE_UNAVAILABLE;
        }
        /* released between the add and the get: try again */
    }
    /* twice held and let go at once: wait for it; twice gone at once may
     * be memcached refusing the lease: render without it, not wait */
    return rv == SC_ENOTSTORED ? SC_LEASE_UNAVAILABLE : SC_LEASE_THEIRS;
}

/* Is the lease key still token's?  A render slower than
 * SharedCacheLockTimeout lost it when it expired, and another request may
 * hold it now: letting go of that one would start one more render.  With
 * note, that key's value is read in the same round trip (*noted, in p).
 * 1: ours, 0: not, -1: it could not be read. */
static int token_holds(sc_conn_t *c, apr_pool_t *p, const char *key,
                       const char *token, const char *note, sc_value_t **noted)
{
    const char *keys[2];
    sc_value_t *v;

    keys[0] = key;
    keys[1] = note;
    if (!token || sc_store_mget(c, p, keys, note ? 2 : 1, &v) != APR_SUCCESS) {
        return -1;
    }
    if (note) {
        *noted = &v[1];
    }
    return v[0].data && v[0].len == strlen(token)
           && !memcmp(v[0].data, token, v[0].len);
}

/* A lease this request could not let go of (its server out of reach, or
 * marked down in this child after another thread's timeout): kept for the
 * next request of any child of the host that reaches the server, so that
 * the requests waiting for it do not wait until it expires. */
static void keep_lease(request_rec *r, const sc_req_t *ctx)
{
    apr_time_t until = apr_time_now()
                       + apr_time_from_sec(ctx->dconf->lock_timeout);

    if (!ctx->lease_token) {
        return;
    }
    if (sc_pending_lease_add(ctx->sconf->backend->names[ctx->server],
                             ctx->lease_key, ctx->lease_token, until)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0215) "fill lease %s could not be let go of: "
                                     "the next request that reaches its "
                                     "server will",
                      ctx->lease_key);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0217) "fill lease %s could not be let go of "
                                     "nor kept (%d kept already): it "
                                     "expires in %" APR_INT64_T_FMT " s",
                      ctx->lease_key, sc_pending_lease_count(),
                      ctx->dconf->lock_timeout);
    }
}

typedef struct {
    request_rec *r;
    const sc_server_conf_t *s;
} retry_t;

static int try_letting_go(void *data, const char *name, const char *key,
                          const char *token)
{
    retry_t *t = data;
    sc_backend_t *b = t->s->backend;
    sc_conn_t *c = NULL;
    apr_pool_t *tmp;
    int ours = -1, server;
    apr_status_t rv = APR_SUCCESS;

    for (server = 0; server < b->servers->nelts; server++) {
        if (!strcmp(b->names[server], name)) {
            c = sc_store_acquire(b, server);
            break;
        }
    }
    if (!c) {
        return -1; /* not one of ours, or still marked down here */
    }
    if (apr_pool_create(&tmp, NULL) == APR_SUCCESS) {
        ours = token_holds(c, tmp, key, token, NULL, NULL);
        apr_pool_destroy(tmp);
    }
    if (ours == 1) {
        rv = sc_store_delete(c, key);
        rv = rv == SC_ENOTFOUND ? APR_SUCCESS : rv;
    }
    sc_store_release(c);
    if (ours < 0 || rv != APR_SUCCESS) {
        return -1;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, t->r,
                  SC_LOGNO(0216) "fill lease %s let go of %s", key,
                  ours ? "now" : "already (expired, or another's)");
    return 0;
}

void sc_lease_retry(request_rec *r, const sc_server_conf_t *s)
{
    retry_t t;

    if (!sc_pending_lease_count()) {
        return;
    }
    t.r = r;
    t.s = s;
    sc_pending_lease_retry(try_letting_go, &t);
}

sc_lease_end_t sc_lease_end_for(request_rec *r, const char *detail)
{
    int by_request = r->header_only
                     || (detail && !strcmp(detail, "status")
                         && (r->status == HTTP_NOT_MODIFIED
                             || r->status == HTTP_PRECONDITION_FAILED));

    return by_request ? SC_LEASE_LET_GO : SC_LEASE_MARK_UNCACHEABLE;
}

void sc_lease_note_stored(request_rec *r, const sc_req_t *ctx, sc_conn_t *c,
                          const char *key, apr_size_t key_len,
                          apr_int64_t until)
{
    apr_int64_t now = apr_time_sec(apr_time_now());
    const char *note;

    if (!ctx->dconf->lock) {
        return;
    }
    note = sc_key_digest(r->pool, ctx->sconf->prefix, SC_KIND_REFUSED, key,
                         key_len);
    if (sc_store_set(
            c, note, NOTE_STORED, sizeof(NOTE_STORED) - 1,
            sc_policy_exptime(until - now + ctx->dconf->lock_timeout, now))
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0218) "fill lease note %s: %s", note, c->error);
    }
}

/* How long the waiters are told not to wait for a render that failed:
 * soon enough, a request takes the lease again and tries the backend. */
#define SC_FAILED_MARK_SECS 2

/* Is the lease still ours (1; -1 where that could not be told; 0: another
 * request's now)?  For a refusal (refused), the first is noted beside the
 * lease, and *mark set where one was noted before (see below). */
static int hold_and_note(sc_conn_t *c, apr_pool_t *tmp, const sc_req_t *ctx,
                         int refused, int *mark)
{
    sc_value_t *noted = NULL;
    const char *note = NULL;
    int ours;

    if (refused) {
        note = sc_key_rekind(tmp, ctx->lease_key, SC_KIND_REFUSED);
    }
    ours = token_holds(c, tmp, ctx->lease_key, ctx->lease_token, note, &noted);
    if (ours > 0 && note && !noted->data) {
        /* add: a store's note written meanwhile is never replaced */
        sc_store_add(c, note, NOTE_REFUSED, sizeof(NOTE_REFUSED) - 1,
                     lease_exptime(ctx));
    }
    else if (ours > 0 && note) {
        *mark = noted->len == sizeof(NOTE_REFUSED) - 1
                && !memcmp(noted->data, NOTE_REFUSED, noted->len);
    }
    return ours;
}

/* Mark the lease (failed: for SC_FAILED_MARK_SECS) or let it go, tried
 * once more on a fresh connection after a reply out of step. */
static apr_status_t mark_or_let_go(request_rec *r, sc_conn_t *c,
                                   const sc_req_t *ctx, int mark, int failed)
{
    apr_int64_t exptime = failed ? sc_policy_exptime(
                              SC_FAILED_MARK_SECS, apr_time_sec(apr_time_now()))
                                 : lease_exptime(ctx);
    apr_status_t rv = APR_SUCCESS;
    int tries;

    for (tries = 0; tries < 2; tries++) {
        if (mark) {
            const char *v = failed ? FAILED : UNCACHEABLE;
            rv = sc_store_set(c, ctx->lease_key, v, strlen(v), exptime);
        }
        else {
            rv = sc_store_delete(c, ctx->lease_key);
            rv = rv == SC_ENOTFOUND ? APR_SUCCESS : rv;
        }
        if (rv == APR_SUCCESS) {
            break;
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0207) "fill lease: %s", c->error);
    }
    return rv;
}

void sc_lease_release(request_rec *r, sc_req_t *ctx, sc_lease_end_t how)
{
    /* A render that failed (a 5xx, or one a stale copy replaced) stores
     * nothing either: the requests waiting for it render at once, as
     * they would without the cache, instead of taking the lease over one
     * after the other, each failing in turn. */
    int failed = r->status >= 500 || ctx->state == SC_CAP_SUBSTITUTED;
    /* A refusal is one request's evidence, and a client can shape its
     * own (a cookie the application replaces, a header that makes it
     * answer private): the first is written down in a note beside the
     * lease ("<prefix>:r:<hex>", for SharedCacheLockTimeout) and the
     * lease let go, so that the next request renders for the others; the
     * lease is marked only when that render is refused too.  A page
     * stored since (the note says so) is never marked: a client cannot
     * switch its lock off by two refusals of its own. */
    int refused = how == SC_LEASE_MARK_UNCACHEABLE && !failed;
    int mark = failed, ours;
    apr_pool_t *tmp;
    sc_conn_t *c;

    if (!ctx->lease_key) {
        return;
    }
    /* No pool of the request's or longer-lived: this may run in a
     * cleanup of r->pool, and the connection's would grow by a cleanup
     * per request on a keep-alive connection. */
    c = sc_store_acquire(ctx->sconf->backend, ctx->server);
    if (!c || apr_pool_create(&tmp, NULL) != APR_SUCCESS) {
        if (c) {
            sc_store_release(c);
        }
        keep_lease(r, ctx);
        ctx->lease_key = NULL;
        return;
    }
    ours = hold_and_note(c, tmp, ctx, refused, &mark);
    apr_pool_destroy(tmp);
    /* Uncacheable (or too large): leave a marker, so waiters stop waiting
     * at once and later requests do not queue behind the URL one by one.
     * A failed render leaves it for SC_FAILED_MARK_SECS only: a failing
     * backend is worth trying again soon.  Otherwise (stored, or a
     * failure worth retrying) just let go.  A reply out of step with its
     * command closes the connection; the release is tried once more on a
     * fresh one (an unreleased lease would hold waiters until it
     * expires). */
    if (!ours) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0212) "fill lease %s expired during the "
                                     "render: another request's now, left "
                                     "alone",
                      ctx->lease_key);
        ctx->lease_key = NULL;
        sc_store_release(c);
        return;
    }
    if (mark_or_let_go(r, c, ctx, mark, failed) != APR_SUCCESS) {
        sc_log_backend(r,
                       mark ? "marking the fill lease uncacheable"
                            : "releasing the fill lease",
                       c->error);
        keep_lease(r, ctx);
    }
    ctx->lease_key = NULL;
    sc_store_release(c);
}
