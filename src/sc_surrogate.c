/*
 * sc_surrogate.c: the Edge Architecture handshake of an ESI page (DESIGN
 * sections 2 and 4): Surrogate-Capability on the requests this cache
 * forwards, which responses are processed (Surrogate-Control:
 * content="ESI/1.0", or SharedCacheESI On), the filter put in place, and
 * the client's Range held back until the page is assembled.  What an
 * include is (sc_esi_include), and how deep.
 */
#include "sc_assemble.h"
#include "sc_esi.h"
#include "sc_log.h"
#include "sc_store.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_hash.h>
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

ap_filter_rec_t *sc_esi_filter_handle;

int sc_esi_include(const request_rec *r)
{
    return r->main
           && (apr_table_get(r->notes, NOTE_INCLUDE)
               || apr_table_get(r->main->notes, NOTE_CREATING));
}

/* How many includes deep r is (0: a page the client asked for). */
int sc_inc_depth(const request_rec *r)
{
    int n = 0;

    for (; r->main; r = r->main) {
        n += sc_esi_include(r);
    }
    return n;
}

const char *sc_esi_token(request_rec *r, const sc_dir_conf_t *d)
{
    return d->esi_token ? d->esi_token : r->server->server_hostname;
}

/* Does Surrogate-Control ask this cache for ESI: a directive named
 * exactly "content" whose value lists ESI/1.0, targeted at no device or
 * at ours (content="ESI/1.0";token)?  Directives are split at commas
 * outside quotes. */
static int asks_for_esi(request_rec *r, const char *sc, const char *token)
{
    const char *s = sc;

    while (*s) {
        const char *name, *v, *vend, *end;
        apr_size_t nlen;

        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        name = s;
        nlen = strcspn(s, "=,; \t");
        s += nlen;
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        v = vend = s;
        if (*s == '=') {
            s++;
            while (*s == ' ' || *s == '\t') {
                s++;
            }
            if (*s == '"') {
                v = ++s;
                vend = strchr(s, '"');
                if (!vend) {
                    return 0; /* unclosed: not guessed at */
                }
                s = vend + 1;
            }
            else {
                v = s;
                s += strcspn(s, ",; \t");
                vend = s;
            }
        }
        /* the target: ";token", up to the next comma */
        end = s + strcspn(s, ",");
        if (nlen == 7 && !strncasecmp(name, "content", 7) && vend > v
            && ap_find_token(r->pool,
                             apr_pstrmemdup(r->pool, v, (apr_size_t)(vend - v)),
                             "ESI/1.0")) {
            const char *t = s;
            while (*t == ' ' || *t == '\t') {
                t++;
            }
            if (*t != ';') {
                return 1;
            }
            t++;
            while (*t == ' ' || *t == '\t') {
                t++;
            }
            if ((apr_size_t)(end - t) >= strlen(token)
                && !strncasecmp(t, token, strlen(token))
                && strspn(t + strlen(token), " \t")
                       == (apr_size_t)(end - t) - strlen(token)) {
                return 1;
            }
        }
        s = end;
    }
    return 0;
}

int sc_esi_wanted(request_rec *r, const sc_dir_conf_t *d, apr_table_t *out)
{
    const char *ce = apr_table_get(out, "Content-Encoding");
    const char *sc;

    if (!d || d->esi == sc_esi_off || r->status == 204 || r->status == 304
        || r->status < 200) {
        return 0;
    }
    /* A compressed body cannot be read: passed through (and logged). */
    if (ce && strcasecmp(ce, "identity")) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      SC_LOGNO(0501) "ESI not processed: the response is "
                                     "compressed (Content-Encoding: %s)",
                      ce);
        return 0;
    }
    if (d->esi == sc_esi_force) {
        return 1;
    }
    sc = apr_table_getm(r->pool, out, "Surrogate-Control");
    return sc && asks_for_esi(r, sc, sc_esi_token(r, d));
}

void sc_esi_insert(request_rec *r)
{
    const sc_dir_conf_t *d = ap_get_module_config(r->per_dir_config,
                                                  &sharedcache_module);

    if (!d) {
        return;
    }
    if (d->esi == sc_esi_off) {
        /* A client's own Surrogate-Capability would have the application
         * send ESI markup that nobody here processes, and the cache keep
         * it for everyone. */
        if (d->enabled == 1) {
            apr_table_unset(r->headers_in, "Surrogate-Capability");
        }
        return;
    }
    apr_table_setn(
        r->headers_in, "Surrogate-Capability",
        apr_pstrcat(r->pool, sc_esi_token(r, d), "=\"ESI/1.0\"", NULL));
    /* An assembled page has no validators of its own: the application is
     * never asked for a 304 of the shell (its fragments may have changed
     * meanwhile), and the client gets the whole page. */
    apr_table_unset(r->headers_in, "If-None-Match");
    apr_table_unset(r->headers_in, "If-Modified-Since");
    /* A Range is the assembled page's (httpd's byterange filter applies it
     * to the page, If-Range too, which no validator of the page matches):
     * the application is never asked for part of the shell. */
    if (!r->main && apr_table_get(r->headers_in, "Range")) {
        apr_table_setn(r->notes, NOTE_RANGE,
                       apr_table_get(r->headers_in, "Range"));
        if (apr_table_get(r->headers_in, "If-Range")) {
            apr_table_setn(r->notes, NOTE_IF_RANGE,
                           apr_table_get(r->headers_in, "If-Range"));
        }
        apr_table_unset(r->headers_in, "Range");
        apr_table_unset(r->headers_in, "If-Range");
    }
    ap_add_output_filter_handle(sc_esi_filter_handle, NULL, r, r->connection);
}

/* The client's Range and If-Range, back for httpd's byterange filter
 * (after ours), whether the page was assembled or not. */
void sc_surrogate_range_back(request_rec *r)
{
    const char *range = apr_table_get(r->notes, NOTE_RANGE);
    const char *if_range = apr_table_get(r->notes, NOTE_IF_RANGE);

    if (range) {
        apr_table_setn(r->headers_in, "Range", range);
        apr_table_unset(r->notes, NOTE_RANGE);
    }
    if (if_range) {
        apr_table_setn(r->headers_in, "If-Range", if_range);
        apr_table_unset(r->notes, NOTE_IF_RANGE);
    }
}
