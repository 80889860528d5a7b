/*
 * sc_gen.c: generation counters (see sc_gen.h).
 */
#include "sc_gen.h"
#include "sc_key.h"

#include <apr_atomic.h>
#include <apr_strings.h>
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
    return sc_key_counter_value(v->data, v->len, gen);
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
        else if (rv == SC_EEXISTS || rv == SC_ENOTSTORED) {
            again = 1; /* (or created and deleted at once) */
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

void sc_gen_copies(const sc_backend_t *b, const char *key, int url, int *from,
                   int *to)
{
    *from = url ? sc_store_place(b, key) : 0;
    *to = url ? *from + 1 : sc_store_count(b);
}

apr_status_t sc_gen_invalidate_key(sc_backend_t *b, apr_pool_t *p,
                                   const char *key, int url, int hard,
                                   int *existed, apr_array_header_t *unreached,
                                   const char **error)
{
    apr_status_t result = APR_SUCCESS;
    int i, from, to;

    *existed = 0;
    sc_gen_copies(b, key, url, &from, &to);
    for (i = from; i < to; i++) {
        sc_conn_t *c = sc_store_acquire(b, i);
        apr_status_t rv = APR_EGENERAL;
        int here = 0;

        if (c && hard) {
            rv = sc_store_delete(c, key);
        }
        else if (c) {
            apr_uint64_t v;
            rv = sc_store_incr(c, key, &v);
        }
        here = rv == APR_SUCCESS;
        rv = rv == SC_ENOTFOUND ? APR_SUCCESS : rv;
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

apr_status_t sc_gen_invalidate(sc_backend_t *b, apr_pool_t *p,
                               const char *prefix, const char *dep, int hard,
                               int *existed, apr_array_header_t *unreached,
                               const char **error)
{
    sc_gen_t g;

    sc_gen_init(p, prefix, dep, &g);
    return sc_gen_invalidate_key(b, p, g.key, dep[0] == SC_DEP_URL, hard,
                                 existed, unreached, error);
}

static const char *mark_key(apr_pool_t *p, const char *prefix,
                            const char *server)
{
    const char *dep = apr_pstrcat(p, "m:", server, NULL);

    return sc_key_digest(p, prefix, SC_KIND_GEN, dep, strlen(dep));
}

static const char *applied_key(apr_pool_t *p, const char *prefix)
{
    return sc_key_digest(p, prefix, SC_KIND_GEN, SC_DEP_APPLIED_NAME,
                         strlen(SC_DEP_APPLIED_NAME));
}

int sc_fence_mark(sc_backend_t *b, apr_pool_t *p, const char *prefix,
                  const apr_array_header_t *unreached)
{
    unsigned char raw[12];
    char token[sizeof(raw) * 2 + 1];
    int i, j, y, n = sc_store_count(b), took = 0;

    apr_generate_random_bytes(raw, sizeof(raw));
    for (i = 0; i < (int)sizeof(raw); i++) {
        apr_snprintf(token + 2 * i, 3, "%02x", raw[i]);
    }
    for (y = 0; y < n; y++) {
        sc_conn_t *c;
        int ok = 1;

        for (j = 0; j < unreached->nelts; j++) {
            if (APR_ARRAY_IDX(unreached, j, int) == y) {
                break;
            }
        }
        if (j < unreached->nelts || !(c = sc_store_acquire(b, y))) {
            continue;
        }
        for (j = 0; ok && j < unreached->nelts; j++) {
            int x = APR_ARRAY_IDX(unreached, j, int);
            ok = sc_store_set(c, mark_key(p, prefix, b->names[x]), token,
                              strlen(token), 0)
                 == APR_SUCCESS;
        }
        took += ok;
        sc_store_release(c);
    }
    return took;
}

/* Is "name=token" a line of applied? */
static int has_line(const char *applied, const char *line)
{
    apr_size_t n = strlen(line);
    const char *s = applied;

    while (s && *s) {
        if (!strncmp(s, line, n) && s[n] == '\n') {
            return 1;
        }
        s = strchr(s, '\n');
        s = s ? s + 1 : NULL;
    }
    return 0;
}

/* The line of applied for server name, or "" (with its newline). */
static const char *line_of(apr_pool_t *p, const char *applied, const char *name)
{
    apr_size_t n = strlen(name);
    const char *s = applied, *end;

    while (s && *s) {
        end = strchr(s, '\n');
        if (!end) {
            break;
        }
        if (!strncmp(s, name, n) && s[n] == '=') {
            return apr_pstrmemdup(p, s, (apr_size_t)(end - s + 1));
        }
        s = end + 1;
    }
    return "";
}

int sc_fence_reconcile(sc_backend_t *b, apr_pool_t *p, const char *prefix,
                       unsigned char *pending)
{
    int n = sc_store_count(b), x, y, fenced = 0;
    const char **keys = apr_palloc(p, (apr_size_t)(n + 1) * sizeof(char *));
    char **marks = apr_pcalloc(p, (apr_size_t)(n * n) * sizeof(char *));
    char **applied = apr_pcalloc(p, (apr_size_t)n * sizeof(char *));
    int *reached = apr_pcalloc(p, (apr_size_t)n * sizeof(int));

    for (x = 0; x < n; x++) {
        keys[x] = mark_key(p, prefix, b->names[x]);
    }
    keys[n] = applied_key(p, prefix);
    for (y = 0; y < n; y++) {
        sc_conn_t *c = sc_store_acquire(b, y);
        sc_value_t *v;

        if (!c) {
            continue;
        }
        if (sc_store_mget(c, p, keys, (apr_size_t)(n + 1), &v) == APR_SUCCESS) {
            reached[y] = 1;
            for (x = 0; x < n; x++) {
                if (v[x].data) {
                    marks[y * n + x] = apr_pstrmemdup(p, v[x].data, v[x].len);
                }
            }
            applied[y] = v[n].data ? apr_pstrmemdup(p, v[n].data, v[n].len)
                                   : "";
        }
        sc_store_release(c);
    }
    for (x = 0; x < n; x++) {
        const char *now = "", *keep = "", *record;
        int fresh = 0;
        sc_conn_t *c;
        apr_status_t rv;

        /* The marks for x as the servers that answered hold them; those of
         * servers that did not answer stay as x last applied them. */
        for (y = 0; y < n; y++) {
            const char *m = marks[y * n + x];
            const char *line;

            if (y == x) {
                continue;
            }
            if (!reached[y]) {
                keep = apr_pstrcat(p, keep, line_of(p, applied[x], b->names[y]),
                                   NULL);
                continue;
            }
            if (!m) {
                continue;
            }
            line = apr_pstrcat(p, b->names[y], "=", m, NULL);
            fresh |= !applied[x] || !has_line(applied[x], line);
            now = apr_pstrcat(p, now, line, "\n", NULL);
        }
        /* A fence this process found owed stays owed until it is given,
         * even if the marks that told of it are gone meanwhile (their
         * server restarted empty, or evicted them). */
        if (!fresh && !(pending && pending[x])) {
            continue;
        }
        /* A mark x has not applied: every entry on x may have missed an
         * invalidation.  Delete its incarnation, then record the marks. */
        c = reached[x] ? sc_store_acquire(b, x) : NULL;
        rv = APR_EGENERAL;
        if (c) {
            rv = sc_store_delete(c, sc_key_digest(p, prefix, SC_KIND_GEN,
                                                  SC_DEP_SERVER_NAME,
                                                  strlen(SC_DEP_SERVER_NAME)));
            rv = rv == SC_ENOTFOUND ? APR_SUCCESS : rv;
            record = apr_pstrcat(p, now, keep, NULL);
            if (rv == APR_SUCCESS) {
                rv = sc_store_set(c, keys[n], record, strlen(record), 0);
            }
            sc_store_release(c);
        }
        fenced += rv == APR_SUCCESS;
        if (pending) {
            pending[x] = rv != APR_SUCCESS;
        }
    }
    return fenced;
}

int sc_fence_allows(sc_backend_t *b, apr_pool_t *p, const char *prefix,
                    int server)
{
    apr_uint64_t now = (apr_uint64_t)apr_time_now();
    apr_uint64_t last = apr_atomic_read64(&b->fence_checked);
    apr_uint64_t every = (apr_uint64_t)(b->retry_s > 0 ? b->retry_s : 1)
                         * APR_USEC_PER_SEC;
    int ran = 0;

    if (!b->fence_pending) {
        return 1;
    }
    if (now - last >= every
        && apr_atomic_cas64(&b->fence_checked, now, last) == last) {
        sc_fence_reconcile(b, p, prefix, b->fence_pending);
        ran = 1;
    }
    if (b->fence_pending[server] && !ran
        && !sc_store_down(b, server, NULL, NULL)) {
        sc_fence_reconcile(b, p, prefix, b->fence_pending);
    }
    return !b->fence_pending[server];
}

apr_status_t sc_fence_all(sc_backend_t *b, apr_pool_t *p, const char *prefix)
{
    const char *inc = sc_key_digest(p, prefix, SC_KIND_GEN, SC_DEP_SERVER_NAME,
                                    strlen(SC_DEP_SERVER_NAME));
    apr_status_t result = APR_SUCCESS;
    int i;

    for (i = 0; i < sc_store_count(b); i++) {
        sc_conn_t *c = sc_store_acquire(b, i);
        apr_status_t rv = c ? sc_store_delete(c, inc) : APR_EGENERAL;

        if (rv != APR_SUCCESS && rv != SC_ENOTFOUND) {
            result = APR_EGENERAL;
        }
        if (c) {
            sc_store_release(c);
        }
    }
    return result;
}
