/*
 * sc_store.c: libmemcached pool, get/set and error mapping (see sc_store.h).
 */
#include "sc_store.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *sc_store_parse(apr_pool_t *p, const char *spec,
                           apr_array_header_t **servers)
{
    char *copy = apr_pstrdup(p, spec), *last, *tok;

    *servers = apr_array_make(p, 4, sizeof(sc_server_t));
    for (tok = apr_strtok(copy, " \t,", &last); tok;
         tok = apr_strtok(NULL, " \t,", &last)) {
        sc_server_t *s = apr_array_push(*servers);
        char *colon;

        if (tok[0] == '/') {
            s->host = tok;
            s->port = 0;
            continue;
        }
        s->port = 11211;
        if (tok[0] == '[') {
            /* [IPv6] or [IPv6]:port */
            char *close = strchr(tok, ']');
            if (!close || close == tok + 1
                || (close[1] && close[1] != ':')) {
                return apr_psprintf(p, "'%s': bad address", tok);
            }
            *close = '\0';
            s->host = tok + 1;
            colon = close[1] == ':' ? close + 1 : NULL;
        }
        else {
            colon = strchr(tok, ':');
            if (colon && strchr(colon + 1, ':')) {
                return apr_psprintf(p, "'%s': write IPv6 addresses as "
                                    "[addr]:port", tok);
            }
            s->host = tok;
        }
        if (colon) {
            char *end;
            long port = strtol(colon + 1, &end, 10);
            if (*end || colon[1] == '\0' || port < 1 || port > 65535) {
                return apr_psprintf(p, "'%s': bad port", tok);
            }
            *colon = '\0';
            s->port = (unsigned int)port;
        }
        if (!*s->host) {
            return apr_psprintf(p, "'%s': missing host", tok);
        }
    }
    if ((*servers)->nelts == 0) {
        return "no server given";
    }
    return NULL;
}

apr_status_t sc_store_open(sc_backend_t *b, apr_pool_t *pchild,
                           unsigned int max_handles, const char **err)
{
    memcached_st *mc;
    int i;

    if (b->pool) {
        return APR_SUCCESS;     /* shared by several virtual hosts */
    }
    mc = memcached_create(NULL);
    if (!mc) {
        *err = "memcached_create failed";
        return APR_ENOMEM;
    }
    for (i = 0; i < b->servers->nelts; i++) {
        const sc_server_t *s = &APR_ARRAY_IDX(b->servers, i, sc_server_t);
        memcached_return_t rc = s->port
            ? memcached_server_add(mc, s->host, (in_port_t)s->port)
            : memcached_server_add_unix_socket(mc, s->host);
        if (rc != MEMCACHED_SUCCESS) {
            *err = apr_psprintf(pchild, "adding server %s: %s", s->host,
                                memcached_strerror(mc, rc));
            memcached_free(mc);
            return APR_EGENERAL;
        }
    }
    /* Consistent hashing so adding a server moves few keys; text protocol
     * (THREATS 28); keys checked by libmemcached as well as by us; short
     * timeouts everywhere (THREATS 19); a failed server is skipped for the
     * retry interval but its keys are not silently rehashed (THREATS 20). */
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_VERIFY_KEY, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NO_BLOCK, 0);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
                           (uint64_t)b->timeout_ms);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
                           (uint64_t)b->timeout_ms);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT,
                           (uint64_t)b->timeout_ms * 1000);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
                           (uint64_t)b->timeout_ms * 1000);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT,
                           (uint64_t)b->retry_s);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS, 0);

    b->master = mc;
    b->pool = memcached_pool_create(mc, 1, max_handles ? max_handles : 1);
    if (!b->pool) {
        *err = "memcached_pool_create failed";
        memcached_free(mc);
        b->master = NULL;
        return APR_ENOMEM;
    }
    /* Not destroyed with the child pool: at an immediate stop, worker
     * threads may still be giving handles back while that pool is torn
     * down, and a freed pool would crash them.  The process is exiting;
     * its sockets close with it. */
    return APR_SUCCESS;
}

sc_conn_t *sc_store_acquire(sc_backend_t *b)
{
    struct timespec no_wait = { 0, 0 };
    memcached_return_t rc;
    memcached_st *mc;
    sc_conn_t *c;

    if (!b || !b->pool) {
        return NULL;
    }
    mc = memcached_pool_fetch(b->pool, &no_wait, &rc);
    if (!mc) {
        if (rc == MEMCACHED_NOTFOUND && b->exhausted) {
            b->exhausted();     /* every handle is lent out */
        }
        return NULL;
    }
    /* The handle's own sc_conn_t, made the first time it is lent out
     * (the pool clones handles as it grows) and kept as long as it. */
    c = memcached_get_user_data(mc);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c) {
            memcached_pool_release(b->pool, mc);
            return NULL;
        }
        c->magic = SC_CONN_MAGIC;
        c->backend = b;
        c->mc = mc;
        memcached_set_user_data(mc, c);
    }
    if (c->magic != SC_CONN_MAGIC || c->mc != mc) {
        abort();                /* someone else's user data: a bug */
    }
    c->failed = 0;
    c->error = NULL;
    return c;
}

void sc_store_release(sc_conn_t *c)
{
    if (c->failed) {
        memcached_quit(c->mc);
    }
    memcached_pool_release(c->backend->pool, c->mc);
}

/* The borrower's pool is cleared and it never gave the handle back: that
 * pool may be destroyed in the middle of a command (prefork's SIGTERM
 * handler destroys the child pool, THREATS 40), with a reply still to be
 * read.  Close the connections before anyone else uses the handle: the
 * lease release that the same cleanups run next would get it, and read
 * that reply ("STORED" for its delete). */
static apr_status_t give_back_late(void *data)
{
    sc_conn_t *c = data;

    c->failed = 1;
    sc_store_release(c);
    return APR_SUCCESS;
}

sc_conn_t *sc_store_borrow(sc_backend_t *b, apr_pool_t *p)
{
    sc_conn_t *c = sc_store_acquire(b);

    if (c) {
        apr_pool_cleanup_register(p, c, give_back_late,
                                  apr_pool_cleanup_null);
    }
    return c;
}

void sc_store_return(sc_conn_t *c, apr_pool_t *p)
{
    apr_pool_cleanup_kill(p, c, give_back_late);
    sc_store_release(c);
}

/* Any error other than a plain miss: close the handle's connections now. */
static apr_status_t fail(sc_conn_t *c, memcached_return_t rc)
{
    const char *msg = memcached_last_error_message(c->mc);

    /* Copied: memcached_quit() frees libmemcached's error state.  The
     * return code's own name first: the last error may be older. */
    apr_snprintf(c->errbuf, sizeof(c->errbuf), "%s (%s)",
                 memcached_strerror(c->mc, rc), msg && *msg ? msg : "-");
    c->error = c->errbuf;
    c->failed = 1;
    memcached_quit(c->mc);
    return APR_EGENERAL;
}

static apr_status_t free_value(void *data)
{
    sc_value_t *v = data;

    free(v->data);
    v->data = NULL;
    return APR_SUCCESS;
}

char *sc_value_take(sc_value_t *v)
{
    char *d = v->data;

    v->data = NULL;
    return d;
}

apr_status_t sc_store_mget(sc_conn_t *c, apr_pool_t *p,
                           const char *const *keys, apr_size_t n,
                           sc_value_t **values)
{
    size_t *lens = apr_palloc(p, n * sizeof(size_t));
    sc_value_t *vals = apr_pcalloc(p, n * sizeof(sc_value_t));
    memcached_result_st result;
    memcached_return_t rc;
    apr_size_t i;

    *values = vals;
    for (i = 0; i < n; i++) {
        lens[i] = strlen(keys[i]);
        vals[i].key = keys[i];
    }
    rc = memcached_mget(c->mc, keys, lens, n);
    if (rc != MEMCACHED_SUCCESS) {
        return fail(c, rc);
    }
    if (!memcached_result_create(c->mc, &result)) {
        return fail(c, MEMCACHED_MEMORY_ALLOCATION_FAILURE);
    }
    while (memcached_fetch_result(c->mc, &result, &rc)) {
        const char *k = memcached_result_key_value(&result);
        size_t klen = memcached_result_key_length(&result);

        /* Match by key: a reply for a key we did not ask is dropped. */
        for (i = 0; i < n; i++) {
            if (klen == lens[i] && !vals[i].data
                && memcmp(k, keys[i], klen) == 0) {
                vals[i].len = memcached_result_length(&result);
                vals[i].flags = memcached_result_flags(&result);
                vals[i].data = memcached_result_take_value(&result);
                if (vals[i].data) {
                    apr_pool_cleanup_register(p, &vals[i], free_value,
                                              apr_pool_cleanup_null);
                }
                break;
            }
        }
    }
    memcached_result_free(&result);
    if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS
        && rc != MEMCACHED_NOTFOUND) {
        return fail(c, rc);
    }
    return APR_SUCCESS;
}

apr_status_t sc_store_set(sc_conn_t *c, const char *key, const char *data,
                          apr_size_t len, apr_int64_t exptime)
{
    memcached_return_t rc = memcached_set(c->mc, key, strlen(key), data,
                                          len, (time_t)exptime, 0);

    return rc == MEMCACHED_SUCCESS ? APR_SUCCESS : fail(c, rc);
}

apr_status_t sc_store_add(sc_conn_t *c, const char *key, const char *data,
                          apr_size_t len, apr_int64_t exptime)
{
    memcached_return_t rc = memcached_add(c->mc, key, strlen(key), data,
                                          len, (time_t)exptime, 0);

    if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS) {
        return SC_EEXISTS;
    }
    return rc == MEMCACHED_SUCCESS ? APR_SUCCESS : fail(c, rc);
}

apr_status_t sc_store_incr(sc_conn_t *c, const char *key,
                           apr_uint64_t *value)
{
    uint64_t v = 0;
    memcached_return_t rc = memcached_increment(c->mc, key, strlen(key), 1,
                                                &v);

    if (rc == MEMCACHED_NOTFOUND) {
        return SC_ENOTFOUND;
    }
    if (rc != MEMCACHED_SUCCESS) {
        return fail(c, rc);
    }
    *value = v;
    return APR_SUCCESS;
}

apr_status_t sc_store_delete(sc_conn_t *c, const char *key)
{
    memcached_return_t rc = memcached_delete(c->mc, key, strlen(key), 0);

    if (rc == MEMCACHED_NOTFOUND) {
        return SC_ENOTFOUND;
    }
    return rc == MEMCACHED_SUCCESS ? APR_SUCCESS : fail(c, rc);
}

apr_status_t sc_store_stats(sc_conn_t *c, apr_pool_t *p,
                            apr_array_header_t **out)
{
    sc_backend_t *b = c->backend;
    memcached_return_t rc;
    memcached_stat_st *st = memcached_stat(c->mc, NULL, &rc);
    int i;

    *out = apr_array_make(p, b->servers->nelts, sizeof(sc_server_stats_t));
    for (i = 0; i < b->servers->nelts; i++) {
        const sc_server_t *s = &APR_ARRAY_IDX(b->servers, i, sc_server_t);
        sc_server_stats_t *o = apr_array_push(*out);
        memset(o, 0, sizeof(*o));
        o->name = s->port ? apr_psprintf(p, "%s:%u", s->host, s->port)
                          : s->host;
        /* memcached_stat() fills one slot per server, in order; a server
         * that did not answer keeps a zero pid. */
        if (st && st[i].pid > 0) {
            o->up = 1;
            o->curr_items = st[i].curr_items;
            o->bytes = st[i].bytes;
            o->limit_maxbytes = st[i].limit_maxbytes;
            o->evictions = st[i].evictions;
            o->get_hits = st[i].get_hits;
            o->get_misses = st[i].get_misses;
            o->curr_connections = st[i].curr_connections;
            o->uptime = st[i].uptime;
        }
    }
    if (st) {
        memcached_stat_free(c->mc, st);
    }
    if (rc != MEMCACHED_SUCCESS) {
        /* Some server did not answer: its connections are suspect. */
        c->failed = 1;
        memcached_quit(c->mc);
    }
    return APR_SUCCESS;
}
