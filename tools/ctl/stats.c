/*
 * stats.c: the stats command: each memcached server of --servers asked
 * on its own connection, reachable or not, with its numbers; with
 * --status, each server as the children of an Apache see it (its status
 * page's ?servers lines).
 */
#include "ctl.h"

#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_uri.h>
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

/* --status URL: the status page's ?servers lines, each server as the
 * children of that Apache see it (marked down or not), printed as
 * "children: <line>".  Plain HTTP/1.0 over APR: http:// URLs only. */
static int children_view(ctl_t *ctl, const char *url)
{
    apr_pool_t *p = ctl->pool;
    apr_uri_t u;
    apr_sockaddr_t *sa;
    apr_socket_t *sock;
    apr_size_t len;
    const char *req, *body;
    char buf[8192];
    char *resp = "";
    apr_status_t rv;

    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme
        || strcmp(u.scheme, "http") || !u.hostname) {
        return ctl_complain(EXIT_USAGE,
                            "--status '%s': give an http:// URL "
                            "of the status page",
                            url);
    }
    req = apr_psprintf(p,
                       "GET %s?servers HTTP/1.0\r\nHost: %s\r\n"
                       "Connection: close\r\n\r\n",
                       u.path && *u.path ? u.path : "/",
                       u.port_str
                           ? apr_pstrcat(p, u.hostname, ":", u.port_str, NULL)
                           : u.hostname);
    rv = apr_sockaddr_info_get(&sa, u.hostname, APR_UNSPEC,
                               u.port ? u.port : 80, 0, p);
    if (rv == APR_SUCCESS) {
        rv = apr_socket_create(&sock, sa->family, SOCK_STREAM, APR_PROTO_TCP,
                               p);
    }
    if (rv == APR_SUCCESS) {
        apr_socket_timeout_set(sock,
                               (apr_interval_time_t)ctl->timeout_ms * 1000);
        rv = apr_socket_connect(sock, sa);
    }
    if (rv == APR_SUCCESS) {
        len = strlen(req);
        rv = apr_socket_send(sock, req, &len);
    }
    while (rv == APR_SUCCESS) {
        len = sizeof(buf);
        rv = apr_socket_recv(sock, buf, &len);
        if (len) {
            resp = apr_pstrcat(p, resp, apr_pstrmemdup(p, buf, len), NULL);
        }
    }
    if (rv != APR_EOF) {
        char err[120];
        return ctl_complain(EXIT_BACKEND, "--status %s: %s", url,
                            apr_strerror(rv, err, sizeof(err)));
    }
    body = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.", 7) || strncmp(resp + 8, " 200", 4) || !body) {
        return ctl_complain(EXIT_BACKEND,
                            "--status %s: not the status page (%.40s)", url,
                            ctl_tidy(p, resp));
    }
    for (body += 4; *body;) {
        const char *nl = strchr(body, '\n');
        apr_size_t n = nl ? (apr_size_t)(nl - body) : strlen(body);

        printf("children: %.*s\n", (int)n, body);
        body += n + (nl ? 1 : 0);
    }
    return EXIT_OK;
}

int ctl_stats(ctl_t *ctl, int argc, const char *const *argv)
{
    apr_array_header_t *servers;
    const char *err, *status = NULL;
    int i, r, result = EXIT_OK;

    for (i = 0; i < argc; i++) {
        if ((r = ctl_option(argc, argv, &i, "--status", &status)) < 0) {
            return ctl_usage("stats: --status needs the status page's URL");
        }
        if (r == 0) {
            return ctl_usage("stats: unknown argument '%s'", argv[i]);
        }
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
    if (status && children_view(ctl, status) != EXIT_OK) {
        result = result == EXIT_OK ? EXIT_BACKEND : result;
    }
    return result;
}
