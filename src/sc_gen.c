/*
 * sc_gen.c: generation counters (see sc_gen.h).
 */
#include "sc_gen.h"
#include "sc_key.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

void sc_gen_init(apr_pool_t *p, const char *prefix, const char *dep,
                 sc_gen_t *g)
{
    g->dep = dep;
    g->key = sc_key_counter(p, prefix, dep);
    g->gen = 0;
    g->have = 0;
}

int sc_gen_parse(const sc_value_t *v, apr_uint64_t *gen)
{
    char buf[24];
    char *end;

    /* strtoull would also take blanks and a sign: a counter is digits. */
    if (!v->data || v->len == 0 || v->len >= sizeof(buf)
        || v->data[0] < '0' || v->data[0] > '9') {
        return 0;
    }
    memcpy(buf, v->data, v->len);
    buf[v->len] = '\0';
    /* memcached's incr may leave trailing spaces after shrinking digits */
    *gen = (apr_uint64_t)strtoull(buf, &end, 10);
    while (*end == ' ') {
        end++;
    }
    return end != buf && *end == '\0';
}

apr_status_t sc_gen_fetch(sc_conn_t *c, apr_pool_t *p, sc_gen_t *g, int n)
{
    const char **keys = apr_palloc(p, (apr_size_t)n * sizeof(char *));
    sc_value_t *vals;
    apr_status_t rv;
    int i;

    for (i = 0; i < n; i++) {
        keys[i] = g[i].key;
    }
    rv = sc_store_mget(c, p, keys, (apr_size_t)n, &vals);
    for (i = 0; rv == APR_SUCCESS && i < n; i++) {
        g[i].have = sc_gen_parse(&vals[i], &g[i].gen);
    }
    return rv;
}

apr_status_t sc_gen_ensure(sc_conn_t *c, apr_pool_t *p, sc_gen_t *g, int n)
{
    apr_status_t rv = APR_SUCCESS;
    int i, again = 0;

    for (i = 0; i < n; i++) {
        apr_uint64_t r;
        const char *val;

        if (g[i].have) {
            continue;
        }
        /* 62 random bits: incr can never wrap it in practice, and a new
         * counter never meets the value an old entry recorded. */
        apr_generate_random_bytes((unsigned char *)&r, sizeof(r));
        r &= ((apr_uint64_t)1 << 62) - 1;
        val = apr_psprintf(p, "%" APR_UINT64_T_FMT, r);
        rv = sc_store_add(c, g[i].key, val, strlen(val), 0);
        if (rv == APR_SUCCESS) {
            g[i].gen = r;
            g[i].have = 1;
        }
        else if (rv == SC_EEXISTS) {
            again = 1;
        }
        else {
            return rv;
        }
    }
    if (again) {
        /* Someone created it at the same time: use theirs. */
        rv = sc_gen_fetch(c, p, g, n);
        for (i = 0; rv == APR_SUCCESS && i < n; i++) {
            if (!g[i].have) {
                return SC_ENOTFOUND;
            }
        }
    }
    return rv;
}

apr_status_t sc_gen_incr(sc_conn_t *c, apr_pool_t *p, const char *prefix,
                         const char *dep, int *existed, apr_uint64_t *gen)
{
    sc_gen_t g;
    apr_uint64_t v = 0;
    apr_status_t rv;

    sc_gen_init(p, prefix, dep, &g);
    rv = sc_store_incr(c, g.key, &v);
    *existed = rv == APR_SUCCESS;
    if (gen) {
        *gen = *existed ? v : 0;
    }
    return rv == SC_ENOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t sc_gen_bump(sc_conn_t *c, apr_pool_t *p, const char *prefix,
                         const char *dep, int *existed)
{
    return sc_gen_incr(c, p, prefix, dep, existed, NULL);
}

apr_status_t sc_gen_drop(sc_conn_t *c, apr_pool_t *p, const char *prefix,
                         const char *dep, int *existed)
{
    sc_gen_t g;
    apr_status_t rv;

    sc_gen_init(p, prefix, dep, &g);
    rv = sc_store_delete(c, g.key);
    *existed = rv == APR_SUCCESS;
    return rv == SC_ENOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t sc_gen_invalidate(sc_backend_t *b, apr_pool_t *p,
                               const char *prefix, const char *dep, int hard,
                               int *existed, apr_array_header_t *unreached,
                               const char **error)
{
    apr_status_t result = APR_SUCCESS;
    int i, from = 0, to = sc_store_count(b);
    sc_gen_t g;

    *existed = 0;
    sc_gen_init(p, prefix, dep, &g);
    if (dep[0] == SC_DEP_URL) {
        from = sc_store_place(b, g.key);
        to = from + 1;
    }
    for (i = from; i < to; i++) {
        sc_conn_t *c = sc_store_acquire(b, i);
        apr_status_t rv;
        int here = 0;

        rv = !c ? APR_EGENERAL
             : hard ? sc_gen_drop(c, p, prefix, dep, &here)
             : sc_gen_bump(c, p, prefix, dep, &here);
        if (rv != APR_SUCCESS) {
            result = rv;
            *error = c && c->error
                     ? apr_psprintf(p, "%s: %s", b->names[i], c->error)
                     : apr_psprintf(p, "%s: marked down or no free handle",
                                    b->names[i]);
            if (unreached) {
                APR_ARRAY_PUSH(unreached, int) = i;
            }
        }
        *existed |= here;
        if (c) {
            sc_store_release(c);
        }
    }
    return result;
}
