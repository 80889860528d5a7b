/*
 * sc_origin.c: the dates a proxied response had when its backend sent
 * them.  mod_proxy_http rewrites a backend's Date, Expires and
 * Last-Modified into IMF-fixdate whenever APR's lenient parser reads them:
 * it ignores the zone name ("UTC", "AEST") and accepts a missing comma.
 * RFC 9110 5.6.7 makes those values invalid, and RFC 9111 5.3 an invalid
 * Expires "already expired"; after the rewrite the cache would take them
 * for valid dates.  So mod_proxy's create_req hook puts a protocol filter
 * on the backend's response, which notes the raw Date and Expires lines of
 * the final header block for the client's request; sc_origin_field() gives
 * the raw value back as long as the header still holds what mod_proxy
 * made of it (a later mod_headers edit wins).  And what the backend
 * receives: the X-Forwarded-* fields mod_proxy adds to its request, which
 * a Vary naming them is keyed on (sc_origin_headers_in()).
 */
#include "sc_request.h"

#include "http_config.h"
#include "util_filter.h"
#include <apr_date.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

ap_filter_rec_t *sc_origin_filter_handle;

#define NOTE_PREFIX "sharedcache-origin-"

#define NOTE_FRAMING "sharedcache-origin-framing"

typedef struct {
    request_rec *client; /* whose notes get the raw lines */
    int status;          /* of the header block being read; 0: none yet */
    int in_headers;      /* between a status line and its empty line */
    const char *last;    /* the field the previous line noted (folding) */
    int chunked;         /* one Transfer-Encoding: chunked, nothing else */
    int te;              /* Transfer-Encoding fields seen */
    int length;          /* Content-Length seen */
    char *partial;       /* a line read in pieces, so far */
} origin_ctx_t;

static const char *const watched[] = { "Date", "Expires", NULL };

static const char *note_name(apr_pool_t *p, const char *field)
{
    return apr_pstrcat(p, NOTE_PREFIX, field, NULL);
}

/* One line of the backend's response head (without CRLF). */
static void origin_line(origin_ctx_t *ctx, const char *line)
{
    request_rec *r = ctx->client;
    const char *colon;
    int i;

    if (!strncmp(line, "HTTP/", 5)) {
        const char *sp = strchr(line, ' ');
        ctx->status = sp ? atoi(sp + 1) : 0;
        ctx->in_headers = 1;
        ctx->last = NULL;
        ctx->chunked = ctx->te = ctx->length = 0;
        for (i = 0; watched[i]; i++) {
            apr_table_unset(r->notes, note_name(r->pool, watched[i]));
        }
        return;
    }
    if (!ctx->in_headers) {
        return;
    }
    if (*line == ' ' || *line == '\t') {
        /* A folded value: mod_proxy joins it; the raw line alone is not
         * the value, so the field is judged as mod_proxy left it. */
        if (ctx->last) {
            apr_table_setn(r->notes, note_name(r->pool, ctx->last), "");
        }
        return;
    }
    ctx->last = NULL;
    colon = strchr(line, ':');
    if (!colon) {
        return;
    }
    if ((colon - line) == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
        /* mod_proxy_http reads any other coding to the close */
        const char *v = colon + 1;
        apr_size_t n;
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        n = strlen(v);
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
            n--;
        }
        ctx->chunked = ++ctx->te == 1 && n == 7
                       && !strncasecmp(v, "chunked", 7);
    }
    if ((colon - line) == 14 && !strncasecmp(line, "Content-Length", 14)) {
        ctx->length = 1;
    }
    for (i = 0; watched[i]; i++) {
        apr_size_t n = strlen(watched[i]);
        const char *name = note_name(r->pool, watched[i]);
        if ((apr_size_t)(colon - line) == n && !strncasecmp(line, watched[i], n)
            && !apr_table_get(r->notes, name)) {
            const char *v = colon + 1;
            const char *end = v + strlen(v);
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }
            apr_table_setn(r->notes, name, apr_pstrmemdup(r->pool, v, end - v));
            ctx->last = watched[i];
        }
    }
}

apr_status_t sc_origin_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                              ap_input_mode_t mode, apr_read_type_e block,
                              apr_off_t readbytes)
{
    origin_ctx_t *ctx = f->ctx;
    apr_status_t rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
    char *line;
    apr_size_t len;

    if (rv != APR_SUCCESS || mode != AP_MODE_GETLINE) {
        return rv;
    }
    if (apr_brigade_pflatten(bb, &line, &len, f->r->pool) != APR_SUCCESS) {
        return rv;
    }
    if (!len || line[len - 1] != '\n') {
        /* A line longer than one read: the rest comes with the next
         * calls; a piece is never taken for a line of its own. */
        ctx->partial = apr_pstrcat(ctx->client->pool,
                                   ctx->partial ? ctx->partial : "",
                                   apr_pstrmemdup(f->r->pool, line, len), NULL);
        return rv;
    }
    if (ctx->partial) {
        line = apr_pstrcat(f->r->pool, ctx->partial,
                           apr_pstrmemdup(f->r->pool, line, len), NULL);
        len = strlen(line);
        ctx->partial = NULL;
    }
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }
    line[len] = '\0';
    if (ctx->in_headers && len == 0) {
        /* The end of a header block: an interim 1xx is followed by
         * another one; after the final one there is nothing more to see. */
        ctx->in_headers = 0;
        if (ctx->status >= 200) {
            /* (a 204 and a 304 have no body to frame) */
            apr_table_setn(ctx->client->notes, NOTE_FRAMING,
                           ctx->status == 204 || ctx->status == 304 ? "none"
                           : ctx->chunked                           ? "chunked"
                           : ctx->length                            ? "length"
                                                                    : "close");
            ap_remove_input_filter(f);
        }
        return rv;
    }
    if (memchr(line, '\0', len)) {
        return rv;
    }
    origin_line(ctx, line);
    return rv;
}

/* mod_proxy's create_req: backend_r is the request mod_proxy_http reads
 * the backend's response with, for the client's request r. */
int sc_origin_proxy_req(request_rec *r, request_rec *backend_r)
{
    const sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                                  &sharedcache_module);
    origin_ctx_t *ctx;

    if (!d || d->enabled != 1) {
        return DECLINED;
    }
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->client = r;
    ap_add_input_filter_handle(sc_origin_filter_handle, ctx, backend_r,
                               backend_r->connection);
    return DECLINED;
}

int sc_origin_framed(const request_rec *r)
{
    const char *framing = apr_table_get(r->notes, NOTE_FRAMING);

    /* mod_proxy_http ends a chunked body or one shorter than its length
     * with an error bucket; a body that ends where the backend closed the
     * connection ends the same way whole or cut.  The other schemes
     * (fcgi, scgi, uwsgi, ajp) end a body cut short like a whole one
     * (PHP-FPM after a fatal error that followed a flush; an AJP
     * container's END_RESPONSE after less than the Content-Length it
     * declared, which httpd drops unless ap_trust_cgilike_cl is set:
     * outside attack round 83 M1). */
    return r->filename
           && (!strncmp(r->filename, "proxy:http", 10)
               || !strncmp(r->filename, "proxy:h2", 8))
           && framing && strcmp(framing, "close");
}

const char *sc_origin_field(request_rec *r, apr_table_t *out, const char *field)
{
    const char *value = apr_table_get(out, field);
    const char *raw;
    apr_time_t t;
    char canon[APR_RFC822_DATE_LEN];

    if (!value) {
        return NULL;
    }
    raw = apr_table_get(r->notes, note_name(r->pool, field));
    if (!raw || !*raw || !strcmp(raw, value)) {
        return value;
    }
    /* Still what mod_proxy_http made of the backend's line? */
    t = apr_date_parse_http(raw);
    if (!t || apr_rfc822_date(canon, t) != APR_SUCCESS
        || strcmp(canon, value)) {
        return value;
    }
    return raw;
}

/* ---- What the origin receives ------------------------------------------
 *
 * mod_proxy_http and mod_proxy_http2 add to the request they send a
 * backend (ProxyAddHeaders On, the default) what the client's request
 * does not hold: the address the client came from (X-Forwarded-For), its
 * Host header (X-Forwarded-Host) and the server's name
 * (X-Forwarded-Server), each merged after what the client sent; with
 * ProxyVia On, mod_proxy_http merges the client's protocol version and
 * the server's name and port into Via.  A response that varies on one
 * varies on what the backend received, so the key holds a value that
 * tells it: the X-Forwarded-* ones as mod_proxy makes them, Via with the
 * protocol version (its other parts are the virtual host's, in the key),
 * whether or not the request goes through mod_proxy: a key finer than
 * what the origin read never shares more. */
static const char *const proxy_added[] = { "X-Forwarded-For",
                                           "X-Forwarded-Host",
                                           "X-Forwarded-Server", "Via", NULL };

int sc_origin_added(const char *name)
{
    const char *const *n;

    for (n = proxy_added; *n; n++) {
        if (!strcasecmp(*n, name)) {
            return 1;
        }
    }
    return 0;
}

apr_table_t *sc_origin_headers_in(request_rec *r, apr_table_t *in)
{
    apr_table_t *t = apr_table_copy(r->pool, in);
    const char *host = apr_table_get(in, "Host");

    /* (mod_proxy merges the same values, with ", ", into the first field
     * of each name: the merged value tells what the client sent apart
     * from what mod_proxy added, an address holding no comma) */
    apr_table_mergen(t, "X-Forwarded-For",
                     r->useragent_ip ? r->useragent_ip : "");
    if (host) {
        apr_table_mergen(t, "X-Forwarded-Host", host);
    }
    apr_table_mergen(t, "X-Forwarded-Server",
                     r->server->server_hostname ? r->server->server_hostname
                                                : "");
    apr_table_mergen(t, "Via",
                     apr_psprintf(r->pool, "%d.%d",
                                  HTTP_VERSION_MAJOR(r->proto_num),
                                  HTTP_VERSION_MINOR(r->proto_num)));
    return t;
}
