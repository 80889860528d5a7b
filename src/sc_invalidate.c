/*
 * sc_invalidate.c: invalidation from within requests (DESIGN section 6):
 * the PURGE method, the invalidate response header (tags) and unsafe
 * methods (RFC 9111 section 4.4).  Each is one memcached incr per copy of
 * a URL's or tag's counter, whatever the number of entries.
 *
 * An invalidation is never lost silently.  A server it could not reach
 * gets a fence mark on the others (sc_gen.h).  The invalidation itself is
 * kept for every child of this host (sc_pending.h) and tried again before
 * lookups; while it has not gone through, no entry that depends on it is
 * served here.
 */
#include "sc_request.h"
#include "sc_log.h"
#include "sc_pending.h"
#include "sc_status.h"

#include "http_core.h"
#include "http_main.h"
#include "http_log.h"
#include "http_protocol.h"
#include <apr_strings.h>
#include <apr_uri.h>

APLOG_USE_MODULE(sharedcache);

int sc_purge_method = -1;

typedef struct {
    request_rec *r;
    const sc_server_conf_t *s;
} retry_t;

static int try_again(void *data, const char *key, int url, int hard)
{
    retry_t *t = data;
    apr_array_header_t *unreached = apr_array_make(t->r->pool, 2, sizeof(int));
    const char *error = NULL;
    int existed;

    if (sc_gen_invalidate_key(t->s->backend, t->r->pool, key, url, hard,
                              &existed, unreached, &error)
        == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, t->r,
                      SC_LOGNO(0404) "invalidation of %s tried again: done",
                      key);
        return 0;
    }
    if (unreached->nelts > 0) {
        sc_fence_mark(t->s->backend, t->r->pool, t->s->prefix, unreached);
    }
    return -1;
}

/* The lost invalidation may have been any cluster's: fence every server
 * of every cluster this configuration uses (each virtual host's
 * SharedCacheServers).  True when all were fenced. */
static int fence_every_cluster(request_rec *r)
{
    server_rec *v;

    for (v = ap_server_conf; v; v = v->next) {
        const sc_server_conf_t *c = ap_get_module_config(v->module_config,
                                                         &sharedcache_module);

        if (c && c->backend
            && sc_fence_all(c->backend, r->pool, c->prefix) != APR_SUCCESS) {
            return 0;
        }
    }
    return 1;
}

void sc_invalidate_retry(request_rec *r, const sc_server_conf_t *s)
{
    retry_t t;

    if (!sc_pending_count()) {
        return;
    }
    if (sc_pending_overflowed() && fence_every_cluster(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      SC_LOGNO(0406) "more invalidations failed than could "
                                     "be kept: every server was fenced");
        sc_pending_overflow_done();
    }
    t.r = r;
    t.s = s;
    if (sc_pending_retry(s->backend->cluster, try_again, &t) > 0) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            SC_LOGNO(0405) "an invalidation failed for %d s: given up",
            SC_PENDING_SECONDS);
    }
}

/* An invalidation failed: keep it, for every child, to try again. */
static void keep_pending(request_rec *r, const sc_server_conf_t *s,
                         const char *dep, int hard)
{
    sc_gen_t g;

    sc_gen_init(r->pool, s->prefix, dep, &g);
    sc_stat_add_r(r, SC_STAT_INVALIDATIONS_PENDING, 1);
    if (!sc_pending_add(s->backend->cluster, g.key, dep[0] == SC_DEP_URL,
                        hard)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      SC_LOGNO(0403) "invalidation of %s failed and %d "
                                     "others wait: every server is fenced "
                                     "once they answer",
                      dep, SC_PENDING_SLOTS);
    }
}

typedef enum {
    SC_INVALIDATE_SOFT, /* increment: SharedCacheSoftInvalidate may serve
                           the old entry STALE while one request
                           refreshes it */
    SC_INVALIDATE_HARD  /* delete: the old entry is gone (PURGE) */
} sc_invalidate_how_t;

/* Invalidate each dependency wherever its counter lives (sc_gen.h);
 * returns how many existed, or -1 when a server could not be reached. */
static int bump_all(request_rec *r, const sc_server_conf_t *s,
                    apr_array_header_t *deps, const char *why,
                    sc_invalidate_how_t how)
{
    apr_array_header_t *unreached = apr_array_make(r->pool, 2, sizeof(int));
    int i, found = 0, failed = 0;

    for (i = 0; i < deps->nelts; i++) {
        const char *dep = APR_ARRAY_IDX(deps, i, const char *);
        const char *error = NULL;
        int existed;
        apr_status_t rv = sc_gen_invalidate(s->backend, r->pool, s->prefix, dep,
                                            how == SC_INVALIDATE_HARD, &existed,
                                            unreached, &error);
        if (rv != APR_SUCCESS) {
            sc_log_backend(r, why, error);
            keep_pending(r, s, dep, how == SC_INVALIDATE_HARD);
            failed = 1;
        }
        found += existed;
        sc_stat_add_r(r, SC_STAT_INVALIDATIONS, 1);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      SC_LOGNO(0401) "invalidated %s (%s)", dep,
                      existed ? "was cached" : "nothing depended on it");
    }
    if (unreached->nelts > 0) {
        /* Those servers are fenced before they are read again. */
        sc_fence_mark(s->backend, r->pool, s->prefix, unreached);
    }
    return failed ? -1 : found;
}

int sc_purge(request_rec *r, const sc_dir_conf_t *d, const sc_server_conf_t *s)
{
    apr_array_header_t *deps = apr_array_make(r->pool, 1, sizeof(const char *));
    sc_url_t url;
    int found;

    (void)d;
    sc_request_url(r, &url);
    APR_ARRAY_PUSH(deps, const char *) = sc_key_url_dep(r->pool, &url);
    /* PURGE is hard: a purged page never comes back STALE. */
    found = bump_all(r, s, deps, "purge", SC_INVALIDATE_HARD);
    if (found < 0) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (found == 0) {
        return HTTP_NOT_FOUND;
    }
    ap_set_content_type(r, "text/plain");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_rputs("purged\n", r);
    return OK;
}

/* The URL dependency of a Location/Content-Location value, when it names
 * this same host and port; NULL otherwise. */
static const char *target_dep(request_rec *r, const sc_url_t *self,
                              const char *target)
{
    apr_uri_t uri;
    sc_url_t url = *self;
    char *path;

    if (apr_uri_parse(r->pool, target, &uri) != APR_SUCCESS || !uri.path) {
        return NULL;
    }
    if (uri.hostname) {
        apr_port_t port = uri.port_str ? uri.port
                                       : apr_uri_port_of_scheme(uri.scheme);
        if (strcasecmp(uri.hostname, self->host) || port != self->port
            || (uri.scheme && strcasecmp(uri.scheme, self->scheme))) {
            return NULL;
        }
    }
    path = uri.path[0] == '/'
               ? apr_pstrdup(r->pool, uri.path)
               : apr_pstrcat(r->pool,
                             ap_make_dirstr_parent(r->pool, self->path),
                             uri.path, NULL);
    if (ap_unescape_url(path) != OK) {
        return NULL;
    }
    ap_getparents(path);
    url.path = path;
    return sc_key_url_dep(r->pool, &url);
}

/* The tags of the invalidate header, as dependencies. */
static apr_array_header_t *header_deps(request_rec *r, const sc_dir_conf_t *d,
                                       apr_table_t *out)
{
    const char *tags = apr_table_getm(r->pool, out, d->invalidate_header);
    apr_array_header_t *deps = apr_array_make(r->pool, 4, sizeof(const char *));
    const char *cursor = tags, *tag;
    int valid;

    /* An invalidation skips a bad tag and acts on the others. */
    while (sc_key_tag_next(r->pool, &cursor, &tag, &valid)) {
        if (!valid) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          SC_LOGNO(0402) "%s: ignoring an invalid tag",
                          d->invalidate_header);
            continue;
        }
        APR_ARRAY_PUSH(deps, const char *) = sc_key_dep(r->pool, SC_DEP_TAG,
                                                        tag);
    }
    return deps;
}

static void bump_deps(request_rec *r, apr_array_header_t *deps)
{
    const sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                                     &sharedcache_module);

    if (deps->nelts > 0) {
        bump_all(r, s, deps, "invalidation", SC_INVALIDATE_SOFT);
    }
}

void sc_invalidate_tags(request_rec *r, const sc_dir_conf_t *d,
                        apr_table_t *out)
{
    bump_deps(r, header_deps(r, d, out));
}

/* RFC 9111 4.4: every method but the safe ones invalidates, those whose
 * safety is unknown included (M_INVALID: a method httpd does not know;
 * WebDAV's and other registered ones).  GET stands for HEAD too; PURGE
 * is the module's own (sc_purge), or the application's where it is off. */
static int unsafe_method(int m)
{
    return m != M_GET && m != M_OPTIONS && m != M_TRACE
           && (sc_purge_method < 0 || m != sc_purge_method);
}

/* The same-origin URL in a response header, as a dependency, added. */
static void push_header_dep(request_rec *r, apr_array_header_t *deps,
                            const sc_url_t *self, apr_table_t *out,
                            const char *field)
{
    const char *v = apr_table_get(out, field);
    const char *dep = v ? target_dep(r, self, v) : NULL;

    if (dep) {
        APR_ARRAY_PUSH(deps, const char *) = dep;
    }
}

/* RFC 9111 4.4 requires the target URI and allows Location and
 * Content-Location.  Invalidated: the target URI; the resource the
 * response is a representation of (Content-Location, or the target of a
 * CGI-style local redirect, whose page is the answer); the resource a 201
 * created (its Location: a cached 404 of it would outlive the creation).
 * Not the Location of a redirect: post/redirect/get (a login answering
 * "302 Location: /") sends the browser to a page the request did not
 * change, and invalidating it would empty the home page at every login. */
void sc_invalidate_response(request_rec *r, const sc_dir_conf_t *d,
                            apr_table_t *out)
{
    apr_array_header_t *deps = header_deps(r, d, out);
    const request_rec *client = sc_client_request(r);

    /* The client's method counts: a POST answered with a CGI-style local
     * redirect ends as an internal GET of the redirect's target. */
    if (d->invalidate_unsafe == 1 && r->status >= 200 && r->status < 400
        && unsafe_method(sc_client_method(r))) {
        sc_url_t self;

        sc_request_url(r, &self); /* the client's URL */
        APR_ARRAY_PUSH(deps, const char *) = sc_key_url_dep(r->pool, &self);
        if (client != r && r->uri && r->uri[0] == '/') {
            sc_url_t target = self; /* where it was redirected, same host */

            target.path = r->uri;
            target.query = r->args;
            APR_ARRAY_PUSH(deps, const char *) = sc_key_url_dep(r->pool,
                                                                &target);
        }
        push_header_dep(r, deps, &self, out, "Content-Location");
        if (r->status == HTTP_CREATED) {
            push_header_dep(r, deps, &self, out, "Location");
        }
    }
    bump_deps(r, deps);
}
