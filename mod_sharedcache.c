/*
 * mod_sharedcache: a page cache for Apache httpd 2.4 stored in memcached,
 * shared by every process, thread and host.
 *
 * This file is glue only: the module record, the hooks and the filters.
 * The data path, file by file, is in src/sc_request.h and README "How it
 * works": sc_bypass -> sc_request (key) -> sc_lookup -> sc_handler (hit:
 * serve; miss: sc_lease, then the real handler) -> SHAREDCACHE_SAVE
 * (sc_capture) -> SHAREDCACHE_DECIDE (sc_decide, sc_fragment) -> sc_write.
 */
#include <stdio.h>
#include <stdlib.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_cfgtree.h"
#include "mod_proxy.h"
#include <apr_strings.h>

#include "src/sc_config.h"
#include "src/sc_local.h"
#include "src/sc_log.h"
#include "src/sc_pending.h"
#include "src/sc_request.h"
#include "src/sc_status.h"
#include "src/sc_store.h"
#include "src/sc_unzipped.h"

/* pre_config: the local tier's mutex is one the Mutex directive names;
 * the filters the cache trusts are noted before the configuration names
 * its own. */
static int sc_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    sc_local_pre_config(pconf);
    sc_filters_pre_config();
    return OK;
}

/* post_config (runs twice at start-up, in the parent): fill directory
 * defaults and describe each server's memcached backend.  No connection
 * is made here: a socket opened before fork would be shared by every
 * child (THREATS 6). */
static int sc_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    const char *err = sc_config_check_quick(ptemp, s);

    if (err) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SC_LOGNO(0105) "%s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    sc_config_mark_servers(pconf, s,
                           ap_state_query(AP_SQ_MAIN_STATE)
                               != AP_SQ_MS_CREATE_PRE_CONFIG);
    /* said once: not in the first, trial run of post_config */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        sc_config_notice_ttl(ptemp, s);
        sc_config_warn_quick_routes(ptemp, s);
        sc_rules_warn_changing_headers(ptemp, s);
    }
    sc_purge_method = ap_method_register(pconf, "PURGE");
    sc_rules_post_config(pconf);
    sc_keying_post_config();
    if (sc_pending_init(s->process->pool) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SC_LOGNO(0106) "no shared memory for failed "
                                    "invalidations: they are only logged");
    }
    if (sc_status_init(s->process->pool) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SC_LOGNO(0103) "no shared memory for the status "
                                    "counters: the status page will show "
                                    "zeros");
    }
    if (sc_status_vhosts_init(s->process->pool, pconf, s) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     SC_LOGNO(0110) "no shared memory for the counters of "
                                    "each virtual host: the status page "
                                    "shows only the totals");
    }
    if (sc_local_post_config(pconf, s->process->pool, s,
                             ((sc_server_conf_t *)ap_get_module_config(
                                  s->module_config, &sharedcache_module))
                                 ->local_size)
        != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return sc_config_post(pconf, s);
}

/* How many threads of a child may run requests at once: the MPM's, and
 * mod_http2's workers, which run its streams beside them (H2MaxWorkers of
 * the main server, by default 3/2 of H2MinWorkers, itself the MPM's
 * thread count: as mod_http2 computes it). */
static int request_threads(void)
{
    const ap_directive_t *d;
    int threads = 1, minw = 0, maxw = 0;

    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    threads = threads > 0 ? threads : 1;
    if (!ap_find_linked_module("mod_http2.c")) {
        return threads;
    }
    /* <IfModule> and Include are flattened into the tree when read. */
    for (d = ap_conftree; d; d = d->next) {
        if (!strcasecmp(d->directive, "H2MinWorkers")) {
            minw = atoi(d->args);
        }
        else if (!strcasecmp(d->directive, "H2MaxWorkers")) {
            maxw = atoi(d->args);
        }
    }
    minw = minw > 0 ? minw : threads;
    if (maxw <= 0) {
        maxw = 3 * minw / 2 > 4 ? 3 * minw / 2 : 4;
    }
    return threads + maxw;
}

/* child_init: each child opens its own pool of memcached handles.  A
 * request holds at most one at a time; twice as many as the threads that
 * can run requests, plus two, is headroom (a lease released by a cleanup
 * of a request whose handle is still out, in a signal handler). */
static server_rec *main_server;

/* A memcached server was marked down in this child, or answers again:
 * said once per change, not once per request. */
static void server_event(const char *server, int up, const char *error)
{
    if (up) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, main_server,
                     SC_LOGNO(0210) "memcached %s answers again", server);
    }
    else {
        ap_log_error(
            APLOG_MARK, APLOG_WARNING, 0, main_server,
            SC_LOGNO(0209) "memcached %s marked down (%s): its "
                           "URLs are served uncached until it answers again",
            server, error ? error : "-");
    }
}

/* The names of a backend's servers, added to a list once each. */
static void add_names(apr_array_header_t *names, const sc_backend_t *b)
{
    int i, j;

    for (i = 0; b && b->names && i < b->servers->nelts; i++) {
        for (j = 0; j < names->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(names, j, const char *), b->names[i])) {
                break;
            }
        }
        if (j == names->nelts) {
            APR_ARRAY_PUSH(names, const char *) = b->names[i];
        }
    }
}

static void sc_child_init(apr_pool_t *pchild, server_rec *s)
{
    unsigned int max = (unsigned int)request_threads() * 2 + 2;
    apr_array_header_t *names = apr_array_make(pchild, 4, sizeof(char *));
    sc_server_conf_t *c0;

    main_server = s;
    sc_local_child_init(pchild, s);
    for (; s; s = s->next) {
        sc_server_conf_t *c = ap_get_module_config(s->module_config,
                                                   &sharedcache_module);
        const char *err = NULL;

        if (c->backend) {
            c->backend->exhausted = sc_stat_no_handle;
            c->backend->event = server_event;
            c->backend->counted = sc_stat_mc_call;
            c->backend->changed = sc_local_changed;
            c->backend->state = sc_status_server_state;
        }
        if (c->fallback
            && sc_store_open(c->fallback, pchild, max, &err) != APR_SUCCESS) {
            ap_log_error(
                APLOG_MARK, APLOG_ERR, 0, s,
                SC_LOGNO(0107) "cannot set up the fallback memcached (%s): not "
                               "read",
                err);
            c->fallback = NULL;
        }
        if (c->backend
            && sc_store_open(c->backend, pchild, max, &err) != APR_SUCCESS) {
            ap_log_error(
                APLOG_MARK, APLOG_ERR, 0, s,
                SC_LOGNO(0102) "cannot set up memcached access (%s): serving "
                               "uncached",
                err);
        }
        add_names(names, c->backend);
        add_names(names, c->fallback);
    }
    sc_status_child_init(pchild, (const char *const *)names->elts,
                         names->nelts);
    sc_hint_child_init(pchild);
    c0 = ap_get_module_config(main_server->module_config, &sharedcache_module);
    sc_unzipped_init(pchild, sc_config_keep_decoded(c0));
    sc_unzipped_on_kept(sc_status_decoded_kept);
}

/* apachectl configtest: the same check, failing the test (post_config
 * does not run then). */
static void sc_test_config(apr_pool_t *pconf, server_rec *s)
{
    const char *err = sc_config_check_quick(pconf, s);

    if (err) {
        fprintf(stderr, "mod_sharedcache: %s\n", err);
        exit(1);
    }
    sc_config_notice_ttl(pconf, s);
    sc_config_warn_quick_routes(pconf, s);
    sc_config_mark_servers(pconf, s, 1);
}

static void sc_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(sc_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(sc_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(sc_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(sc_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* SharedCacheQuickHandler: serve public entries before everything
     * else (sc_quick_handler says what it may serve). */
    /* Before anything changes the request headers (mod_headers' early
     * RequestHeader, mod_setenvif). */
    ap_hook_post_read_request(sc_derive_arrived, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_header_parser(sc_derive_if_noted, NULL, NULL,
                          APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(sc_derive_if_noted, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_quick_handler(sc_quick_handler, NULL, NULL, APR_HOOK_FIRST);
    /* SHAREDCACHE_DECIDE on every request of a cached location: it sees
     * the final headers of misses, invalidations and unsafe methods. */
    ap_hook_insert_filter(sc_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(sc_esi_insert, NULL, NULL, APR_HOOK_MIDDLE);
    /* An error page (the handler failed) that a stale copy may replace. */
    ap_hook_insert_error_filter(sc_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    /* Subrequests that should run into a page being captured (SSI
     * includes) are counted, so one refused before it runs is noticed. */
    ap_hook_create_request(sc_fragment_asked, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_perdir_config(sc_fragment_looked_up, NULL, NULL,
                               APR_HOOK_MIDDLE);
    /* When the request is over: the deferred store of a body without
     * Content-Length, once its handler has finished without failing. */
    ap_hook_log_transaction(sc_log_transaction, NULL, NULL, APR_HOOK_FIRST);
    /* First content handler: after authentication, authorization and
     * <Location> merging, before mod_wsgi, mod_proxy, CGI or files. */
    ap_hook_handler(sc_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* Where a refresh after the response writes (sc_handler). */
    sc_sink_filter_handle = ap_register_output_filter(
        "SHAREDCACHE_SINK", sc_sink_filter, NULL, AP_FTYPE_CONNECTION);
    /* A proxied response's dates as its backend sent them (sc_origin). */
    APR_OPTIONAL_HOOK(proxy, create_req, sc_origin_proxy_req, NULL, NULL,
                      APR_HOOK_MIDDLE);
    sc_origin_filter_handle = ap_register_input_filter(
        "SHAREDCACHE_ORIGIN", sc_origin_filter, NULL, AP_FTYPE_PROTOCOL);
    /* SetHandler sharedcache-status */
    ap_hook_handler(sc_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* After resource filters such as INCLUDES, before DEFLATE, so the
     * stored body is what the application produced, and what the filters
     * before it made (a hit starts after them: sc_hit_filters). */
    sc_save_filter_handle = ap_register_output_filter(
        SC_FILTER_SAVE, sc_capture_filter, NULL, SC_SAVE_FTYPE);
    /* After every content filter (mod_headers, mod_deflate), before
     * HTTP_HEADER: decides on the headers the client really gets. */
    sc_decide_filter_handle = ap_register_output_filter(
        SC_FILTER_DECIDE, sc_decide_filter, NULL, AP_FTYPE_CONTENT_SET + 5);
    /* First of all: what the handler said (its Vary, whether it is
     * personal), which a content filter never takes back
     * (sc_resp_vary.c). */
    sc_first_filter_handle = ap_register_output_filter(
        SC_FILTER_FIRST, sc_first_filter, NULL, AP_FTYPE_RESOURCE - 3);
    /* ESI: after SHAREDCACHE_SAVE (the shell is stored unassembled),
     * before DEFLATE; the client's headers wait after SHAREDCACHE_DECIDE
     * (the shell is decided on its own headers); an include's output ends
     * in SHAREDCACHE_ESI_PART, which the page keeps. */
    sc_esi_filter_handle = ap_register_output_filter(
        SC_FILTER_ESI, sc_esi_filter, NULL, SC_SAVE_FTYPE + 1);
    sc_esi_hold_filter_handle = ap_register_output_filter(
        SC_FILTER_ESI_HOLD, sc_esi_hold_filter, NULL, AP_FTYPE_CONTENT_SET + 6);
    /* Before INCLUDES: reads the SSI source for directives that read the
     * request. */
    sc_ssi_watch_filter_handle = ap_register_output_filter(
        "SHAREDCACHE_SSI_WATCH", sc_ssi_watch_filter, NULL,
        AP_FTYPE_RESOURCE - 1);
    sc_esi_part_filter_handle = ap_register_output_filter(
        SC_FILTER_ESI_PART, sc_esi_part_filter, NULL, AP_FTYPE_CONTENT_SET);
    /* First of an include's filters: what its handler sent, against the
     * length it said, before a filter rewrites the body (and drops it). */
    sc_esi_length_filter_handle = ap_register_output_filter(
        SC_FILTER_ESI_LENGTH, sc_esi_length_filter, NULL,
        AP_FTYPE_RESOURCE - 2);
}

AP_DECLARE_MODULE(sharedcache) = {
    STANDARD20_MODULE_STUFF, sc_config_create_dir,   sc_config_merge_dir,
    sc_config_create_server, sc_config_merge_server, sc_config_cmds,
    sc_register_hooks,       AP_MODULE_FLAG_NONE
};
