/*
 * sc_quickprobe.c: may an entry be served in the quick-handler phase,
 * before access control, to anyone at all?
 *
 * Safety must not depend on recognising every form of access rule
 * (THREATS 36: <Location ~ regex>, <If>, .htaccess, mod_rewrite [F],
 * SSLRequire ...).  So nothing here reads a rule: when an entry of a quick
 * location is stored, httpd itself prepares the same URL once more for an
 * anonymous client, an unknown address with no headers, no cookies and no
 * credentials, through every phase up to the handler (translation,
 * mapping, the <Location>, <Directory>, .htaccess and <If> walks, access
 * control, fixups).  Only when that succeeds, and the anonymous client's
 * key is the entry's (the same route, nothing derived for it that the
 * real request had not), may the quick handler serve the entry; otherwise
 * the normal handler finds it, after access control.  It is asked from
 * three addresses far apart (two IPv4 documentation networks and IPv6's):
 * an allowlist that happens to cover one (a sloppy 192.0.0.0/8) is still
 * an allowlist.
 */
#include "sc_request.h"
#include "sc_log.h"

#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* Where the anonymous client asks from: TEST-NET-1 and TEST-NET-3 (RFC
 * 5737), and the IPv6 documentation prefix (RFC 3849).  Rules must let
 * each through. */
static const struct {
    const char *ip;
    int family;
} anyone_at[] = { { "192.0.2.1", APR_INET },
                  { "203.0.113.1", APR_INET },
                  { "2001:db8::1", APR_INET6 } };
#define SC_ANYONE_AT (sizeof(anyone_at) / sizeof(anyone_at[0]))

/* The connection's module state for the anonymous copy: the real one's,
 * but none of mod_remoteip's, which holds the client address a PROXY
 * protocol header gave (its post_read_request would give it back). */
static ap_conf_vector_t *anonymous_conn_config(request_rec *r)
{
    ap_conf_vector_t *v = ap_create_conn_config(r->pool);
    module *m;

    for (m = ap_top_module; m; m = m->next) {
        if (strcmp(m->name, "mod_remoteip.c")) {
            ap_set_module_config(
                v, m, ap_get_module_config(r->connection->conn_config, m));
        }
    }
    return v;
}

static void make_anonymous(request_rec *anon, apr_sockaddr_t *addr,
                           const char *ip)
{
    anon->useragent_addr = addr;
    anon->useragent_ip = (char *)ip;
    anon->useragent_host = NULL;
}

/* The anonymous copy of r asking from anyone_at[at], prepared by httpd up
 * to the handler, or NULL when httpd would not let it through. */
static request_rec *anonymous_request(request_rec *r, apr_size_t at)
{
    const char *ip = anyone_at[at].ip;
    request_rec *anon = apr_pmemdup(r->pool, r, sizeof(*r));
    struct ap_logconf *quiet = apr_pcalloc(r->pool, sizeof(*quiet));
    apr_sockaddr_t *addr;
    conn_rec *conn;
    const char *host = apr_table_get(r->headers_in, "Host");
    int rc;

    if (apr_sockaddr_info_get(&addr, ip, anyone_at[at].family, 0, 0, r->pool)
        != APR_SUCCESS) {
        return 0;
    }
    /* Who asks: nobody in particular, over a connection of its own (rules
     * on CONN_REMOTE_ADDR read the peer, not the user agent). */
    conn = apr_pmemdup(r->pool, r->connection, sizeof(*conn));
    conn->client_addr = addr;
    conn->client_ip = (char *)ip;
    conn->remote_host = NULL;
    conn->notes = apr_table_make(r->pool, 1);
    conn->conn_config = anonymous_conn_config(r);
    anon->connection = conn;
    make_anonymous(anon, addr, ip);
    anon->headers_in = apr_table_make(r->pool, 1);
    if (host) {
        apr_table_setn(anon->headers_in, "Host", host);
    }
    anon->user = NULL;
    anon->ap_auth_type = NULL;
    /* A pool of its own: what the module keeps per request (the headers
     * as sent, the variables as the handler phase began: sc_derive.c)
     * is the anonymous client's, not the real request's. */
    apr_pool_create(&anon->pool, r->pool);
    /* What for: the same URL, prepared from the start. */
    anon->uri = apr_pstrdup(r->pool, r->uri);
    anon->parsed_uri.path = apr_pstrdup(r->pool, r->uri);
    anon->filename = NULL;
    anon->canonical_filename = NULL;
    anon->path_info = NULL;
    memset(&anon->finfo, 0, sizeof(anon->finfo));
    anon->handler = NULL;
    anon->content_type = NULL;
    anon->per_dir_config = r->server->lookup_defaults;
    anon->request_config = ap_create_request_config(r->pool);
    anon->htaccess = NULL;
    anon->subprocess_env = apr_table_make(r->pool, 4);
    anon->notes = apr_table_make(r->pool, 4);
    anon->headers_out = apr_table_make(r->pool, 1);
    anon->err_headers_out = apr_table_make(r->pool, 1);
    anon->main = anon->prev = anon->next = NULL;
    anon->status = HTTP_OK;
    /* Nothing it does reaches the real request's filters or its log (a
     * denial of the anonymous client is the expected answer, not an
     * error). */
    anon->output_filters = anon->proto_output_filters = NULL;
    anon->input_filters = anon->proto_input_filters = NULL;
    quiet->level = APLOG_EMERG;
    anon->log = quiet;
    apr_table_setn(anon->notes, SC_NOTE_PROBE, "1");
    /* as for any new request: every module's per-request state, then what
     * runs once the request line and headers are read (mod_setenvif reads
     * its server-wide rules there, and its per-directory ones only in a
     * later call: without it, a "SetEnvIf ... outsider" of a <Directory>
     * or .htaccess that "Require not env outsider" reads never runs) */
    rc = ap_run_create_request(anon);
    if (rc != OK && rc != DECLINED) {
        return NULL;
    }
    rc = ap_run_post_read_request(anon);
    if (rc != OK && rc != DECLINED) {
        return NULL;
    }
    make_anonymous(anon, addr, ip); /* whatever a module made of it there */

    rc = ap_process_request_internal(anon);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "quick mode: an "
                  "anonymous client at %s would get %d for %s",
                  ip, rc, r->uri);
    return rc == OK ? anon : NULL;
}

/* Does the anonymous client at anyone_at[at] get through to r's URL and,
 * when ctx is given, to the page of key ctx->key? */
static int anyone_at_gets(request_rec *r, const sc_req_t *ctx, apr_size_t at)
{
    request_rec *anon = anonymous_request(r, at);
    sc_dir_conf_t *d;
    sc_req_t *actx;

    if (!anon) {
        return 0;
    }
    if (!ctx) {
        return 1;
    }
    /* Let through, but routed elsewhere, or with something derived for
     * it that the real request had not (a rule on "not this address"):
     * another page.  The same key means the same page. */
    d = ap_get_module_config(anon->per_dir_config, &sharedcache_module);
    if (!d || d->enabled != 1) {
        return 0;
    }
    sc_derive_env_snapshot(anon, SC_ENV_AT_HANDLER);
    actx = sc_req_new(anon, d, SC_PHASE_NORMAL);
    if (sc_build_key(anon, actx) || actx->key_len != ctx->key_len
        || memcmp(actx->key, ctx->key, ctx->key_len)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "quick mode: an anonymous client at %s would get "
                      "another page for %s",
                      anyone_at[at].ip, r->uri);
        return 0;
    }
    return 1;
}

/* Every one of the anonymous clients, as anyone_at_gets asks. */
static int everyone_gets(request_rec *r, const sc_req_t *ctx)
{
    apr_size_t at;

    for (at = 0; at < SC_ANYONE_AT; at++) {
        if (!anyone_at_gets(r, ctx, at)) {
            return 0;
        }
    }
    return 1;
}

int sc_anyone_may(request_rec *r)
{
    return everyone_gets(r, NULL);
}

int sc_anyone_gets(request_rec *r, const sc_req_t *ctx)
{
    return everyone_gets(r, ctx);
}
