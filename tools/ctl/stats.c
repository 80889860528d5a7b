/*
 * stats.c: the stats command: each memcached server of --servers asked
 * on its own connection, reachable or not, with its numbers.
 */
#include "ctl.h"

#include <apr_strings.h>
#include <stdio.h>

/* Print one server's state; EXIT_OK or EXIT_BACKEND. */
static int server_stats(ctl_t *ctl, const sc_server_t *s)
{
    sc_backend_t *b = apr_pcalloc(ctl->pool, sizeof(*b));
    sc_conn_t *c;
    memcached_stat_st *st;
    memcached_return_t mrc;
    const char *err = NULL;
    const char *name = s->port
                           ? apr_psprintf(ctl->pool, "%s:%u", s->host, s->port)
                           : s->host;

    /* In the pool: its cleanups close it when the pool goes. */
    b->spec = name;
    b->timeout_ms = ctl->timeout_ms;
    b->servers = apr_array_make(ctl->pool, 1, sizeof(sc_server_t));
    *(sc_server_t *)apr_array_push(b->servers) = *s;
    if (sc_store_open(b, ctl->pool, 1, &err) != APR_SUCCESS
        || !(c = sc_store_borrow(b, 0, ctl->pool))) {
        printf("%s unreachable\n", name);
        return ctl_complain(EXIT_BACKEND, "memcached %s: %s", name,
                            err ? err : "cannot open");
    }
    st = memcached_stat(c->mc, NULL, &mrc);
    if (!st || mrc != MEMCACHED_SUCCESS) {
        c->failed = 1;
        err = memcached_last_error_message(c->mc);
        err = ctl_tidy(ctl->pool,
                       err && *err ? err : memcached_strerror(c->mc, mrc));
        if (st) {
            memcached_stat_free(c->mc, st);
        }
        printf("%s unreachable\n", name);
        return ctl_complain(EXIT_BACKEND, "memcached %s: %s", name, err);
    }
    printf("%s reachable version=%s uptime=%lu curr_items=%lu bytes=%llu "
           "limit_maxbytes=%llu evictions=%llu curr_connections=%lu\n",
           name, st->version, st->uptime, st->curr_items, st->bytes,
           st->limit_maxbytes, st->evictions, st->curr_connections);
    memcached_stat_free(c->mc, st);
    return EXIT_OK;
}

int ctl_stats(ctl_t *ctl, int argc, const char *const *argv)
{
    apr_array_header_t *servers;
    const char *err;
    int i, result = EXIT_OK;

    (void)argv;
    if (argc > 0) {
        return ctl_usage("stats: takes no arguments");
    }
    err = sc_store_parse(ctl->pool, ctl->servers, &servers);
    if (err) {
        return ctl_complain(EXIT_USAGE, "--servers '%s': %s", ctl->servers,
                            err);
    }
    for (i = 0; i < servers->nelts; i++) {
        if (server_stats(ctl, &APR_ARRAY_IDX(servers, i, sc_server_t))
            != EXIT_OK) {
            result = EXIT_BACKEND;
        }
    }
    return result;
}
