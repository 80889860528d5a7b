/*
 * sc_before.c: the response fields set before the handler ran.
 *
 * What r->headers_out and r->err_headers_out hold when the handler is let
 * run (mod_headers' "early", mod_negotiation's Vary, TCN and
 * Content-Location, mod_cern_meta, any module's hook) is made again, for
 * its own request, by whatever set it: an entry never keeps it.  Each
 * such field is taken off the response once, in the table it stood in,
 * also where httpd merged a later field of the same name into it (mod_cgi
 * and mod_proxy_fcgi merge a script's fields into err_headers_out: "early,
 * app" keeps "app").  A handler that replaced r->headers_out (mod_proxy)
 * left none of those it held: a field of its table is its own, unless it
 * is the very one set before (a table copied or overlaid keeps them).
 */
#include "sc_request.h"

#include <apr_strings.h>

typedef struct {
    apr_pool_t *p;
    const char *text;
} lines_t;

static int field_line(void *data, const char *name, const char *value)
{
    lines_t *l = data;

    l->text = apr_pstrcat(l->p, l->text, name, ": ", value, "\n", NULL);
    return 1;
}

const char *sc_fields_now(request_rec *r)
{
    lines_t l = { r->pool, "out\n" };

    if (apr_is_empty_table(r->headers_out)
        && apr_is_empty_table(r->err_headers_out)) {
        return NULL;
    }
    apr_table_do(field_line, &l, r->headers_out, NULL);
    l.text = apr_pstrcat(r->pool, l.text, "err\n", NULL);
    apr_table_do(field_line, &l, r->err_headers_out, NULL);
    return l.text;
}

void sc_note_fields_before(request_rec *r, sc_req_t *ctx)
{
    const char *now = sc_fields_now(r);
    const char *quick = apr_table_get(r->notes, SC_NOTE_QUICK_FIELDS);

    ctx->before_out = apr_table_copy(r->pool, r->headers_out);
    ctx->before_err = apr_table_copy(r->pool, r->err_headers_out);
    ctx->out_at_handler = r->headers_out;
    ctx->before_not_quick = now && (!quick || strcmp(now, quick));
}

/* Where b stands in v as a member of its comma-separated list (the
 * whole of it, the first, the last or one between), or NULL. */
static const char *member_at(const char *v, const char *b)
{
    apr_size_t vl = strlen(v), bl = strlen(b);
    const char *mid;

    if (!strcmp(v, b)) {
        return v;
    }
    if (!bl || vl < bl + 2) {
        return NULL;
    }
    if (!strncmp(v, b, bl) && !strncmp(v + bl, ", ", 2)) {
        return v;
    }
    for (mid = ap_strstr_c(v, ", "); mid; mid = ap_strstr_c(mid + 2, ", ")) {
        if (!strncmp(mid + 2, b, bl)
            && (!mid[2 + bl] || !strncmp(mid + 2 + bl, ", ", 2))) {
            return mid + 2;
        }
    }
    return NULL;
}

/* How a field of the response is matched with one set before: as the
 * very same (a table copied or overlaid keeps its values: one equal to
 * it in a table the handler made is the handler's, mod_proxy's backend
 * sending the same X-Frame-Options), or also by its value where it stands
 * in the table it was set in (httpd merges a later field into it there:
 * a member is enough). */
typedef enum { BY_IDENTITY, BY_VALUE } match_t;

typedef struct {
    const char *value;
    match_t how;
    int found;
} pair_t;

static int value_is(void *data, const char *name, const char *value)
{
    pair_t *p = data;

    (void)name;
    p->found = value == p->value
               || (p->how == BY_VALUE && member_at(value, p->value));
    return !p->found;
}

typedef struct {
    const apr_table_t *t;
    match_t how;
} kept_t;

static int kept(const kept_t *k, const char *name, const char *value)
{
    pair_t p = { value, k->how, 0 };

    apr_table_do(value_is, &p, k->t, name, NULL);
    return p.found;
}

static int present(void *data, const char *name, const char *value)
{
    return kept(data, name, value);
}

static int absent(void *data, const char *name, const char *value)
{
    return !kept(data, name, value);
}

static int same_table(request_rec *r, const sc_req_t *ctx)
{
    return r->headers_out == ctx->out_at_handler;
}

int sc_fields_replaced(request_rec *r, const sc_req_t *ctx)
{
    const apr_table_t *before = ctx->before_out;
    kept_t k = { r->headers_out, same_table(r, ctx) ? BY_VALUE : BY_IDENTITY };

    if (!before || apr_is_empty_table(before)) {
        return 0;
    }
    /* all gone; or some, with the table (one the handler made) */
    return apr_table_do(absent, &k, before, NULL)
           || (k.how == BY_IDENTITY
               && !apr_table_do(present, &k, before, NULL));
}

/* A pass over a response's fields: each field set before the handler is
 * taken off once, in its table. */
typedef struct {
    const apr_array_header_t *fields; /* of apr_table_entry_t */
    char *taken;
    match_t how;
} side_t;

typedef struct {
    apr_pool_t *p;
    side_t err, out;
    int in_err; /* the table walked: r->err_headers_out */
    apr_table_t *own;
} own_t;

static void side_start(apr_pool_t *p, side_t *side, const apr_table_t *t,
                       match_t how)
{
    side->how = how;
    side->fields = t ? apr_table_elts(t) : NULL;
    side->taken = side->fields && side->fields->nelts
                      ? apr_pcalloc(p, side->fields->nelts)
                      : NULL;
}

/* v less the member b of its list ("" when it is the whole), or NULL
 * where b is not one. */
static const char *less_member(apr_pool_t *p, const char *v, const char *b)
{
    const char *at = member_at(v, b);
    apr_size_t bl = strlen(b);

    if (!at) {
        return NULL;
    }
    if (at == v) {
        return v[bl] ? v + bl + 2 : "";
    }
    /* after ", ": the separator before it goes with it */
    return apr_pstrcat(p, apr_pstrmemdup(p, v, at - 2 - v), at + bl, NULL);
}

static const char *own_value(own_t *own, const char *name, const char *value)
{
    side_t *side = own->in_err ? &own->err : &own->out;
    const apr_table_entry_t *f;
    int i;

    for (i = 0; side->fields && i < side->fields->nelts && *value; i++) {
        const char *less;
        f = &APR_ARRAY_IDX(side->fields, i, apr_table_entry_t);
        if (side->taken[i] || strcasecmp(f->key, name)) {
            continue;
        }
        if (value == f->val) {
            side->taken[i] = 1;
            return NULL;
        }
        if (side->how == BY_VALUE
            && (less = less_member(own->p, value, f->val)) != NULL) {
            side->taken[i] = 1;
            value = less;
        }
    }
    return *value ? value : NULL;
}

static int add_own(void *data, const char *name, const char *value)
{
    own_t *own = data;

    if ((value = own_value(own, name, value)) != NULL) {
        apr_table_addn(own->own, name, value);
    }
    return 1;
}

apr_table_t *sc_own_fields(request_rec *r, const sc_req_t *ctx, int replaced)
{
    own_t own;

    own.p = r->pool;
    side_start(r->pool, &own.err, ctx->before_err, BY_VALUE);
    /* where the handler replaced them, one still there is one a table
     * took over as it was (never stored either) */
    side_start(r->pool, &own.out, ctx->before_out,
               same_table(r, ctx) && !replaced ? BY_VALUE : BY_IDENTITY);
    own.own = apr_table_make(r->pool, 16);
    own.in_err = 1;
    apr_table_do(add_own, &own, r->err_headers_out, NULL);
    own.in_err = 0;
    apr_table_do(add_own, &own, r->headers_out, NULL);
    return own.own;
}
