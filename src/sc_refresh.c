/*
 * sc_refresh.c: a refresh after the response.  Within the grace window
 * (SharedCacheGrace, stale-while-revalidate=) the request that takes the
 * lease is served the stale copy at once, like every other (RFC 5861, RFC
 * 9111 4.2.4), and refreshes the entry after its response has left, on
 * the same worker: a GET subrequest of the URL as the client sent it,
 * without the client's conditions, whose output goes nowhere but into the
 * cache (SHAREDCACHE_SINK).  It is stored only under the very key of the
 * stale entry.  The cost: the worker (and, with keep-alive, the client's
 * next request on that connection) waits for the render.
 */
#include "sc_request.h"
#include "sc_log.h"

#include "http_log.h"
#include "http_request.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

ap_filter_rec_t *sc_sink_filter_handle;

apr_status_t sc_sink_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    (void)f;
    apr_brigade_cleanup(bb);
    return APR_SUCCESS;
}

/* Not in quick mode, not for a fragment or an internally redirected
 * request (the refresh asks for the URL as the client sent it), not an
 * ESI page (assembled per request). */
int sc_refresh_later_ok(const request_rec *r, const sc_req_t *ctx,
                        const sc_found_t *res)
{
    return !ctx->quick && !r->main && !r->prev && r->unparsed_uri
           && r->unparsed_uri[0] == '/' && !(res->entry.flags & SC_EF_ESI);
}

/* The subrequest that refreshes ctx's entry, ready to run, or NULL (why
 * logged, the lease let go). */
static request_rec *refresh_request(request_rec *r, sc_req_t *ctx,
                                    sc_found_t *res)
{
    static const char *const conditions[] = { "If-None-Match",
                                              "If-Modified-Since",
                                              "If-Match",
                                              "If-Unmodified-Since",
                                              "If-Range",
                                              "Range",
                                              NULL };
    ap_filter_t *sink = apr_pcalloc(r->pool, sizeof(*sink));
    request_rec *rr;
    sc_dir_conf_t *d;
    sc_req_t *rc = NULL;
    const char *why = NULL;
    int i;

    sink->frec = sc_sink_filter_handle;
    sink->r = r;
    sink->c = r->connection;
    rr = ap_sub_req_method_uri("GET", r->unparsed_uri, r, sink);
    /* As the client's request: httpd leaves a subrequest's protocol
     * version at 0.0 and its port to the connection's, which mod_proxy
     * puts into Via (and the key reads: sc_origin.c). */
    rr->proto_num = r->proto_num;
    rr->parsed_uri.port_str = r->parsed_uri.port_str;
    rr->parsed_uri.port = r->parsed_uri.port;
    d = ap_get_module_config(rr->per_dir_config, &sharedcache_module);
    if (rr->status != HTTP_OK) {
        why = apr_psprintf(r->pool, "the subrequest was answered %d",
                           rr->status);
    }
    else if (!d || d->enabled != 1) {
        why = "the subrequest's location does not have SharedCache On";
    }
    else {
        rc = sc_req_new(rr, d, SC_PHASE_NORMAL);
        sc_derive_env_snapshot(rr, SC_ENV_AT_HANDLER);
        why = sc_build_key(rr, rc);
        if (!why
            && (rc->key_len != ctx->key_len
                || memcmp(rc->key, ctx->key, ctx->key_len))) {
            why = "the subrequest keys otherwise";
        }
    }
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0327) "no refresh after the response: %s", why);
        sc_lease_release(r, ctx, SC_LEASE_LET_GO);
        ap_destroy_sub_req(rr);
        return NULL;
    }
    for (i = 0; conditions[i]; i++) {
        apr_table_unset(rr->headers_in, conditions[i]);
    }
    memcpy(rc->gens, ctx->gens, sizeof(rc->gens));
    rc->stored_vary = ctx->stored_vary;
    rc->refreshing = res;
    sc_lease_hand_over(rr, ctx, rc);
    ap_set_module_config(rr->request_config, &sharedcache_module, rc);
    return rr;
}

void sc_refresh_after_response(request_rec *r, sc_req_t *ctx, sc_found_t *res)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool,
                                                r->connection->bucket_alloc);
    request_rec *rr;
    int rv;

    /* The client's response leaves first. */
    APR_BRIGADE_INSERT_TAIL(
        bb, apr_bucket_flush_create(r->connection->bucket_alloc));
    ap_pass_brigade(r->connection->output_filters, bb);

    rr = refresh_request(r, ctx, res);
    if (!rr) {
        return;
    }
    rv = ap_run_sub_req(rr);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  SC_LOGNO(0328) "refreshed after the response: %d (%s)",
                  rv == OK ? rr->status : rv,
                  sc_decision_name[sc_decision_of(rr)]);
    sc_log_transaction(rr); /* a store waiting for the handler's end */
    ap_destroy_sub_req(rr);
}
