/*
 * sc_store.c: the memcached servers of a backend and the handles to them
 * (see sc_store.h): parsing the server list, one pool of handles per
 * server and child, borrowing and returning them, servers marked down
 * for the retry interval.  The commands are sc_store_ops.c's.
 */
#include "sc_store.h"
#include "sc_store_int.h"
#include "sc_place.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* (sc_store_int.h) */
__thread int sc_store_depth;

int sc_store_interrupted(void)
{
    return sc_store_depth > 0;
}

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
            if (!close || close == tok + 1 || (close[1] && close[1] != ':')) {
                return apr_psprintf(p, "'%s': bad address", tok);
            }
            *close = '\0';
            s->host = tok + 1;
            colon = close[1] == ':' ? close + 1 : NULL;
        }
        else {
            colon = strchr(tok, ':');
            if (colon && strchr(colon + 1, ':')) {
                return apr_psprintf(p,
                                    "'%s': write IPv6 addresses as "
                                    "[addr]:port",
                                    tok);
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

const char **sc_store_names(apr_pool_t *p, const apr_array_header_t *servers)
{
    const char **names = apr_palloc(p, (apr_size_t)(servers->nelts + 1)
                                           * sizeof(char *));
    int i;

    for (i = 0; i < servers->nelts; i++) {
        const sc_server_t *s = &APR_ARRAY_IDX(servers, i, sc_server_t);
        names[i] = !s->port ? s->host
                   : strchr(s->host, ':')
                       ? apr_psprintf(p, "[%s]:%u", s->host, s->port)
                       : apr_psprintf(p, "%s:%u", s->host, s->port);
    }
    names[i] = NULL;
    return names;
}

int sc_store_count(const sc_backend_t *b)
{
    return b->servers->nelts;
}

int sc_store_place(const sc_backend_t *b, const char *group)
{
    return sc_place(b->names, b->servers->nelts, group, strlen(group));
}

static apr_uint64_t now_us(void)
{
    return (apr_uint64_t)apr_time_now();
}

/* A handle for one server. */
static memcached_st *make_handle(const sc_backend_t *b, const sc_server_t *s,
                                 apr_pool_t *p, const char **err)
{
    memcached_st *mc = memcached_create(NULL);
    memcached_return_t rc;

    if (!mc) {
        *err = "memcached_create failed";
        return NULL;
    }
    rc = s->port ? memcached_server_add(mc, s->host, (in_port_t)s->port)
                 : memcached_server_add_unix_socket(mc, s->host);
    if (rc != MEMCACHED_SUCCESS) {
        *err = apr_psprintf(p, "adding server %s: %s", s->host,
                            memcached_strerror(mc, rc));
        memcached_free(mc);
        return NULL;
    }
    /* Text protocol (THREATS 28); keys checked by libmemcached as well as
     * by us; short timeouts everywhere (THREATS 19); a failed server is
     * skipped for the retry interval (here and in sc_node_t). */
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
    return mc;
}

apr_status_t sc_store_open(sc_backend_t *b, apr_pool_t *pchild,
                           unsigned int max_handles, const char **err)
{
    int i, n = b->servers->nelts;
    sc_node_t *nodes;

    if (b->nodes) {
        return APR_SUCCESS; /* shared by several virtual hosts */
    }
    if (!b->names) {
        b->names = sc_store_names(pchild, b->servers);
    }
    nodes = apr_pcalloc(pchild, (apr_size_t)n * sizeof(*nodes));
    for (i = 0; i < n; i++) {
        sc_node_t *node = &nodes[i];

        node->name = b->names[i];
        node->master = make_handle(
            b, &APR_ARRAY_IDX(b->servers, i, sc_server_t), pchild, err);
        if (!node->master) {
            return APR_EGENERAL;
        }
        node->pool = memcached_pool_create(node->master, 1,
                                           max_handles ? max_handles : 1);
        if (!node->pool) {
            *err = "memcached_pool_create failed";
            return APR_ENOMEM;
        }
    }
    /* Not destroyed with the child pool: at an immediate stop, worker
     * threads may still be giving handles back while that pool is torn
     * down, and a freed pool would crash them.  The process is exiting;
     * its sockets close with it. */
    b->fence_pending = apr_pcalloc(pchild, (apr_size_t)n);
    b->nodes = nodes;
    return APR_SUCCESS;
}

int sc_store_down(const sc_backend_t *b, int server, apr_uint64_t *since,
                  apr_uint64_t *retry)
{
    sc_node_t *node = b->nodes ? &b->nodes[server] : NULL;
    apr_uint64_t d = node ? apr_atomic_read64(&node->down_since) : 0;

    if (since) {
        *since = d;
    }
    if (retry) {
        *retry = d ? apr_atomic_read64(&node->retry_at) : 0;
    }
    return d != 0;
}

void sc_store_mark_down(sc_conn_t *c)
{
    sc_backend_t *b = c->backend;
    sc_node_t *node = &b->nodes[c->server];
    apr_uint64_t now = now_us();

    apr_atomic_set64(&node->retry_at,
                     now + (apr_uint64_t)b->retry_s * APR_USEC_PER_SEC);
    if (apr_atomic_cas64(&node->down_since, now, 0) == 0 && b->event) {
        b->event(node->name, 0, c->error);
    }
    if (b->state) {
        b->state(node->name, apr_atomic_read64(&node->down_since),
                 apr_atomic_read64(&node->retry_at));
    }
}

/* A call on the server succeeded. */
static void mark_up(sc_conn_t *c)
{
    sc_backend_t *b = c->backend;
    sc_node_t *node = &b->nodes[c->server];

    if (apr_atomic_read64(&node->down_since)
        && apr_atomic_xchg64(&node->down_since, 0) != 0) {
        if (b->event) {
            b->event(node->name, 1, NULL);
        }
        if (b->state) {
            b->state(node->name, 0, 0);
        }
    }
}

sc_conn_t *sc_store_acquire(sc_backend_t *b, int server)
{
    struct timespec no_wait = { 0, 0 };
    memcached_return_t rc;
    memcached_st *mc;
    sc_node_t *node;
    sc_conn_t *c;

    if (!b || !b->nodes || server < 0 || server >= b->servers->nelts
        || sc_store_depth) {
        return NULL;
    }
    node = &b->nodes[server];
    if (apr_atomic_read64(&node->down_since)) {
        apr_uint64_t retry = apr_atomic_read64(&node->retry_at);
        apr_uint64_t now = now_us();

        /* Marked down: nobody before the retry time, then one borrower
         * (the one that moves the retry time on) tries it. */
        if (now < retry
            || apr_atomic_cas64(
                   &node->retry_at,
                   now + (apr_uint64_t)b->retry_s * APR_USEC_PER_SEC, retry)
                   != retry) {
            return NULL;
        }
    }
    sc_store_depth++;
    mc = memcached_pool_fetch(node->pool, &no_wait, &rc);
    sc_store_depth--;
    if (!mc) {
        if (rc == MEMCACHED_NOTFOUND && b->exhausted) {
            b->exhausted(); /* every handle is lent out */
        }
        return NULL;
    }
    /* The handle's own sc_conn_t, made the first time it is lent out
     * (the pool clones handles as it grows) and kept as long as it. */
    c = memcached_get_user_data(mc);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c) {
            memcached_pool_release(node->pool, mc);
            return NULL;
        }
        c->magic = SC_CONN_MAGIC;
        c->backend = b;
        c->server = server;
        c->mc = mc;
        memcached_set_user_data(mc, c);
    }
    if (c->magic != SC_CONN_MAGIC || c->mc != mc || c->server != server) {
        abort(); /* someone else's user data: a bug */
    }
    c->failed = 0;
    c->error = NULL;
    return c;
}

void sc_store_release(sc_conn_t *c)
{
    if (sc_store_depth) {
        return; /* interrupted a call: leave the handle as it is */
    }
    sc_store_depth++;
    if (c->failed) {
        memcached_quit(c->mc);
    }
    else {
        mark_up(c);
    }
    memcached_pool_release(c->backend->nodes[c->server].pool, c->mc);
    sc_store_depth--;
}

/* The borrower's pool is cleared and it never gave the handle back.  If
 * that happens in the middle of a call on it (a signal handler destroying
 * the pool: sc_store_depth), sc_store_release leaves the handle alone;
 * otherwise its connections are closed before anyone else uses it, in case a
 * reply is still unread. */
static apr_status_t give_back_late(void *data)
{
    sc_conn_t *c = data;

    c->failed = 1;
    sc_store_release(c);
    return APR_SUCCESS;
}

sc_conn_t *sc_store_borrow(sc_backend_t *b, int server, apr_pool_t *p)
{
    sc_conn_t *c = sc_store_acquire(b, server);

    if (c) {
        apr_pool_cleanup_register(p, c, give_back_late, apr_pool_cleanup_null);
    }
    return c;
}

void sc_store_return(sc_conn_t *c, apr_pool_t *p)
{
    apr_pool_cleanup_kill(p, c, give_back_late);
    sc_store_release(c);
}
