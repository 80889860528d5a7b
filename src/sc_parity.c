/*
 * sc_parity.c: quick mode's header parity.  A quick hit runs none of the
 * filters after SHAREDCACHE_SAVE, a normal hit runs them all: an entry is
 * quick-servable only if those filters left the client's headers as they
 * are stored (less the fields set before the handler ran: sc_before.c).
 */
#include "sc_request.h"

#include "http_core.h"
#include <apr_strings.h>

/* Headers that may differ between what the client got and what is stored
 * without a quick hit and a normal hit differing: recomputed per response,
 * or set with the body by a filter that runs on normal hits only and
 * whose work the label check keeps consistent (mod_deflate). */
static const char *const parity_ignored[] = {
    "Content-Type", "Content-Encoding", "Vary", "ETag", "Cache-Status", NULL
};

static const char *stored_value(const sc_req_t *ctx, const char *name)
{
    int i;

    for (i = 0; ctx->headers && i < ctx->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(ctx->headers, i, sc_header_t);
        if (!strcasecmp(h->name, name)) {
            return h->value;
        }
    }
    return NULL;
}

/* Content-Type and Vary, compared apart: a Content-Type a filter set, and
 * a Vary other than the one a compression filter adds, differ. */
static int type_or_vary_changed(request_rec *r, const sc_req_t *ctx,
                                apr_table_t *out)
{
    const char *ct = apr_table_get(out, "Content-Type");
    const char *stored_ct = stored_value(ctx, "Content-Type");
    apr_array_header_t *now = sc_effective_vary(
        r, ctx, apr_table_getm(r->pool, out, "Vary"));
    apr_array_header_t *before = sc_effective_vary(r, ctx,
                                                   stored_value(ctx, "Vary"));

    if (ct && (!stored_ct || strcasecmp(ct, stored_ct))) {
        return 1;
    }
    return !sc_names_equal(now, before);
}

typedef struct {
    const sc_req_t *ctx;
    int differ;
    int seen;
} parity_t;

static int parity_ignores(const sc_req_t *ctx, const char *name)
{
    return sc_header_unstored(ctx, name) || sc_header_cache_only(name)
           || sc_name_listed(name, parity_ignored);
}

static int stored_as(void *data, const char *name, const char *value)
{
    parity_t *p = data;
    int i;

    if (parity_ignores(p->ctx, name)) {
        return 1;
    }
    p->seen++;
    for (i = 0; i < p->ctx->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(p->ctx->headers, i, sc_header_t);
        if (!strcasecmp(h->name, name) && !strcmp(h->value, value)) {
            return 1;
        }
    }
    p->differ = 1;
    return 0;
}

/* Did filters after SHAREDCACHE_SAVE (mod_headers' Header set/unset) make
 * the client's headers differ from the stored ones (those set before the
 * handler ran taken off as they were when it was stored)?  A normal hit
 * runs them again; a quick hit cannot, so such an entry is not
 * quick-servable (a quick hit and a normal hit carry the same headers). */
static int headers_changed(request_rec *r, const sc_req_t *ctx)
{
    parity_t p;
    int i, stored = 0;

    p.ctx = ctx;
    p.differ = 0;
    p.seen = 0;
    apr_table_do(stored_as, &p, sc_own_fields(r, ctx, ctx->before_replaced),
                 NULL);
    for (i = 0; ctx->headers && i < ctx->headers->nelts; i++) {
        stored += !parity_ignores(
            ctx, APR_ARRAY_IDX(ctx->headers, i, sc_header_t).name);
    }
    return p.differ || p.seen != stored;
}

/* Quick mode's parity: did filters after SHAREDCACHE_SAVE change what
 * the client gets from what is stored (headers, type, variance)? */
int sc_parity_changed(request_rec *r, const sc_req_t *ctx, apr_table_t *out)
{
    return headers_changed(r, ctx) || type_or_vary_changed(r, ctx, out);
}
