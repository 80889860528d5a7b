/*
 * sc_store_ops.c: the commands on a borrowed handle (see sc_store.h):
 * multi-get, set and add checked by reading back, incr, delete, stats;
 * replies that answer something else than was asked are errors, and an
 * error that says the server is in trouble marks it down.
 */
#include "sc_store.h"
#include "sc_store_int.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

/* Does this error say the server itself is unreachable or broken (rather
 * than this command failing: an item too large, out of memory)? */
static int server_trouble(memcached_return_t rc)
{
    switch (rc) {
    case MEMCACHED_TIMEOUT:
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_CONNECTION_SOCKET_CREATE_FAILURE:
    case MEMCACHED_HOST_LOOKUP_FAILURE:
    case MEMCACHED_ERRNO:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_PROTOCOL_ERROR:
    case MEMCACHED_SERVER_MARKED_DEAD:
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_NO_SERVERS:
        return 1;
    default:
        return 0;
    }
}

/* Any error other than a plain miss: close the handle's connections now.
 * detail: what was wrong, or NULL for libmemcached's own message. */
static apr_status_t fail_with(sc_conn_t *c, memcached_return_t rc,
                              const char *detail)
{
    const char *msg = detail ? detail : memcached_last_error_message(c->mc);

    /* Copied: memcached_quit() frees libmemcached's error state.  The
     * return code's own name first: the last error may be older. */
    apr_snprintf(c->errbuf, sizeof(c->errbuf), "%s (%s)",
                 memcached_strerror(c->mc, rc), msg && *msg ? msg : "-");
    c->error = c->errbuf;
    c->failed = 1;
    memcached_quit(c->mc);
    if (server_trouble(rc)) {
        sc_store_mark_down(c);
    }
    return APR_EGENERAL;
}

static apr_status_t fail(sc_conn_t *c, memcached_return_t rc)
{
    return fail_with(c, rc, NULL);
}

/* A reply that is not the answer to the command just sent: the
 * connection is out of step with its commands (or the server is broken),
 * and whatever it says next may answer something else.  Closed, and the
 * server marked down like one that sends garbage. */
static apr_status_t out_of_step(sc_conn_t *c, const char *what)
{
    return fail_with(c, MEMCACHED_PROTOCOL_ERROR, what);
}

/* Does libmemcached still wait for replies on the handle's connection
 * after a command it considers answered?  (A get's VALUE line read as the
 * answer to another command leaves it expecting the END.) */
static int replies_owed(const sc_conn_t *c)
{
    const memcached_instance_st *in = memcached_server_instance_by_position(
        c->mc, 0);

    return in && memcached_server_response_count(in) != 0;
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

void sc_value_move(apr_pool_t *p, sc_value_t *from, sc_value_t *to)
{
    *to = *from;
    from->data = NULL;
    if (to->data) {
        apr_pool_cleanup_register(p, to, free_value, apr_pool_cleanup_null);
    }
}

static void free_values(sc_value_t *vals, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        free(vals[i].data);
        vals[i].data = NULL;
    }
}

/* Send a multi-get of n keys and read its replies into vals (data
 * malloc'd, NULL when missing).  Every reply must answer a key asked, at
 * most once: a reply for another key or a second one for the same key is
 * another command's (an earlier reply still unread, a server answering
 * out of order), and nothing more read on that connection can be
 * trusted.  It fails the handle and no value is kept. */
static apr_status_t fetch(sc_conn_t *c, const char *const *keys,
                          const size_t *lens, apr_size_t n, sc_value_t *vals)
{
    unsigned char *seen = calloc(n ? n : 1, 1);
    const char *wrong = NULL;
    memcached_result_st result;
    memcached_return_t rc;
    apr_size_t i, from = 0;

    if (!seen) {
        return fail(c, MEMCACHED_MEMORY_ALLOCATION_FAILURE);
    }
    rc = memcached_mget(c->mc, keys, lens, n);
    if (rc != MEMCACHED_SUCCESS) {
        free(seen);
        return fail(c, rc);
    }
    if (!memcached_result_create(c->mc, &result)) {
        free(seen);
        return fail(c, MEMCACHED_MEMORY_ALLOCATION_FAILURE);
    }
    while (memcached_fetch_result(c->mc, &result, &rc)) {
        const char *k = memcached_result_key_value(&result);
        size_t klen = memcached_result_key_length(&result);
        apr_size_t j;

        /* memcached answers in the order asked (misses left out): look
         * from the key after the last one answered */
        for (j = 0, i = from; j < n; j++, i = i + 1 < n ? i + 1 : 0) {
            if (klen == lens[i] && memcmp(k, keys[i], klen) == 0) {
                break;
            }
        }
        if (j == n) {
            i = n;
        }
        from = i + 1 < n ? i + 1 : 0;
        if (i == n || seen[i]) {
            wrong = i == n ? "a reply for a key not asked"
                           : "a second reply for a key";
            break;
        }
        seen[i] = 1;
        vals[i].len = memcached_result_length(&result);
        vals[i].flags = memcached_result_flags(&result);
        vals[i].data = memcached_result_take_value(&result);
    }
    memcached_result_free(&result);
    free(seen);
    if (wrong) {
        /* The rest of the reply is left unread: the handle is closed. */
        free_values(vals, n);
        return out_of_step(c, wrong);
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS
        && rc != MEMCACHED_NOTFOUND) {
        free_values(vals, n);
        return fail(c, rc);
    }
    if (replies_owed(c)) {
        free_values(vals, n);
        return out_of_step(c, "the reply to a get left unfinished");
    }
    return APR_SUCCESS;
}

static apr_status_t do_mget(sc_conn_t *c, apr_pool_t *p,
                            const char *const *keys, apr_size_t n,
                            sc_value_t **values)
{
    size_t *lens = apr_palloc(p, n * sizeof(size_t));
    sc_value_t *vals = apr_pcalloc(p, n * sizeof(sc_value_t));
    apr_status_t rv;
    apr_size_t i;

    *values = vals;
    for (i = 0; i < n; i++) {
        lens[i] = strlen(keys[i]);
        vals[i].key = keys[i];
    }
    rv = fetch(c, keys, lens, n, vals);
    for (i = 0; rv == APR_SUCCESS && i < n; i++) {
        if (vals[i].data) {
            apr_pool_cleanup_register(p, &vals[i], free_value,
                                      apr_pool_cleanup_null);
        }
    }
    return rv;
}

/* set or add.  libmemcached reads a storage command's reply itself and,
 * in Debian's build (its asserts on), aborts the process when that reply
 * is of another command's kind (END, DELETED, a number, a VALUE block):
 * what a connection out of step or a broken server sends.  So the
 * command goes with noreply and is checked by reading the key back in the
 * same round trip, through the checks of fetch().  Stored: the key holds
 * a value now (for add: this one, so an add's value must be unique to its
 * caller when it matters whose add won: a lease's token, a counter's
 * random start). */
static apr_status_t do_store(sc_conn_t *c, int add, const char *key,
                             const char *data, apr_size_t len,
                             apr_int64_t exptime)
{
    size_t klen = strlen(key);
    sc_value_t v = { key, NULL, 0, 0 };
    memcached_return_t rc;
    apr_status_t rv;
    int same;

    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_NOREPLY, 1);
    rc = add ? memcached_add(c->mc, key, klen, data, len, (time_t)exptime, 0)
             : memcached_set(c->mc, key, klen, data, len, (time_t)exptime, 0);
    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_NOREPLY, 0);
    if (rc != MEMCACHED_SUCCESS) {
        return fail(c, rc);
    }
    rv = fetch(c, &key, &klen, 1, &v);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!v.data) {
        /* Deleted between the write and the read (another request's
         * PURGE, a lease let go: for an add, maybe a value that was there
         * before and refused ours), or refused (too large, out of memory:
         * noreply hides which).  Memcached answered in step: the
         * connection stays. */
        apr_snprintf(c->errbuf, sizeof(c->errbuf),
                     "%s not there once written (deleted at once, or "
                     "refused)",
                     key);
        c->error = c->errbuf;
        return SC_ENOTSTORED;
    }
    same = v.len == len && !memcmp(v.data, data, len);
    free(v.data);
    return same || !add ? APR_SUCCESS : SC_EEXISTS;
}

static apr_status_t do_set(sc_conn_t *c, const char *key, const char *data,
                           apr_size_t len, apr_int64_t exptime)
{
    return do_store(c, 0, key, data, len, exptime);
}

static apr_status_t do_add(sc_conn_t *c, const char *key, const char *data,
                           apr_size_t len, apr_int64_t exptime)
{
    return do_store(c, 1, key, data, len, exptime);
}

/* incr and delete: libmemcached takes a VALUE block for their answer
 * (then waits for its END: replies_owed); a number or a DELETED repeated
 * from before cannot be told from the true answer, and is harmless: the
 * command itself was sent and carried out. */
static apr_status_t do_incr(sc_conn_t *c, const char *key, apr_uint64_t *value)
{
    uint64_t v = 0;
    memcached_return_t rc = memcached_increment(c->mc, key, strlen(key), 1, &v);

    if (replies_owed(c)) {
        return out_of_step(c, "incr answered by the reply to a get");
    }
    if (rc == MEMCACHED_NOTFOUND) {
        return SC_ENOTFOUND;
    }
    if (rc != MEMCACHED_SUCCESS) {
        return fail(c, rc);
    }
    *value = v;
    return APR_SUCCESS;
}

static apr_status_t do_delete(sc_conn_t *c, const char *key)
{
    memcached_return_t rc = memcached_delete(c->mc, key, strlen(key), 0);

    if (replies_owed(c)) {
        return out_of_step(c, "delete answered by the reply to a get");
    }
    if (rc == MEMCACHED_NOTFOUND) {
        return SC_ENOTFOUND;
    }
    return rc == MEMCACHED_SUCCESS ? APR_SUCCESS : fail(c, rc);
}

/* Every call on a handle: refused at once while another call of this
 * thread is in progress (see sc_store_depth), counted (the backend's hook). */
static int enter(sc_conn_t *c)
{
    if (sc_store_depth) {
        return 0;
    }
    sc_store_depth++;
    if (c->backend->counted) {
        c->backend->counted();
    }
    return 1;
}

static apr_status_t leave(apr_status_t rv)
{
    sc_store_depth--;
    return rv;
}

#define CALL(c, call) (enter(c) ? leave(call) : APR_EGENERAL)

apr_status_t sc_store_mget(sc_conn_t *c, apr_pool_t *p, const char *const *keys,
                           apr_size_t n, sc_value_t **values)
{
    return CALL(c, do_mget(c, p, keys, n, values));
}

/* A key was written (set, incr, delete), whether or not it took: the
 * backend's hook (the local tier's change counters) runs after the
 * write, so a lookup that read the key before it is never kept. */
static apr_status_t written(sc_conn_t *c, const char *key, apr_status_t rv)
{
    if (c->backend->changed) {
        c->backend->changed(key);
    }
    return rv;
}

apr_status_t sc_store_set(sc_conn_t *c, const char *key, const char *data,
                          apr_size_t len, apr_int64_t exptime)
{
    return written(c, key, CALL(c, do_set(c, key, data, len, exptime)));
}

apr_status_t sc_store_add(sc_conn_t *c, const char *key, const char *data,
                          apr_size_t len, apr_int64_t exptime)
{
    return CALL(c, do_add(c, key, data, len, exptime));
}

apr_status_t sc_store_incr(sc_conn_t *c, const char *key, apr_uint64_t *value)
{
    return written(c, key, CALL(c, do_incr(c, key, value)));
}

apr_status_t sc_store_delete(sc_conn_t *c, const char *key)
{
    return written(c, key, CALL(c, do_delete(c, key)));
}

apr_status_t sc_store_stats(sc_backend_t *b, apr_pool_t *p,
                            apr_array_header_t **out)
{
    int i;

    *out = apr_array_make(p, b->servers->nelts, sizeof(sc_server_stats_t));
    for (i = 0; i < b->servers->nelts; i++) {
        sc_server_stats_t *o = apr_array_push(*out);
        sc_conn_t *c = sc_store_acquire(b, i);
        memcached_stat_st *st = NULL;
        memcached_return_t rc = MEMCACHED_FAILURE;

        memset(o, 0, sizeof(*o));
        o->name = b->names[i];
        if (c) {
            sc_store_depth++;
            st = memcached_stat(c->mc, NULL, &rc);
            sc_store_depth--;
        }
        /* memcached_stat() fills one slot per server; a server that did
         * not answer keeps a zero pid. */
        if (st && rc == MEMCACHED_SUCCESS && st[0].pid > 0) {
            o->up = 1;
            o->curr_items = st[0].curr_items;
            o->bytes = st[0].bytes;
            o->limit_maxbytes = st[0].limit_maxbytes;
            o->evictions = st[0].evictions;
            o->get_hits = st[0].get_hits;
            o->get_misses = st[0].get_misses;
            o->curr_connections = st[0].curr_connections;
            o->uptime = st[0].uptime;
        }
        if (st) {
            memcached_stat_free(c->mc, st);
        }
        if (c && !o->up) {
            fail(c, rc == MEMCACHED_SUCCESS ? MEMCACHED_FAILURE : rc);
        }
        if (c) {
            sc_store_release(c);
        }
        sc_store_down(b, i, &o->down_since, &o->retry_at);
    }
    return APR_SUCCESS;
}
