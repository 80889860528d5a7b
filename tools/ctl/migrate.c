/*
 * migrate.c: the migrate command, the first step of moving to another
 * memcached cluster (README, "Moving to another cluster"): every
 * generation counter of the old cluster (--from) is copied into every
 * server of the new one (--servers), where it is not there yet.  With
 * SharedCacheFallbackServers naming the old cluster, an old entry is then
 * served only while its counters in the new cluster still hold the copied
 * values.  The old cluster is only read: its keys are listed with
 * memcached's "lru_crawler metadump all" (memcached 1.4.31 or later) and
 * read with get.
 */
#include "ctl.h"
#include "sc_gen.h"

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* metadump writes keys URL-encoded: decode in place. */
static void unescape_key(char *k)
{
    char *o = k;

    for (; *k; k++) {
        if (k[0] == '%' && apr_isxdigit(k[1]) && apr_isxdigit(k[2])) {
            char hex[3] = { k[1], k[2], '\0' };
            *o++ = (char)strtol(hex, NULL, 16);
            k += 2;
        }
        else {
            *o++ = *k;
        }
    }
    *o = '\0';
}

/* The keys of one old server (TCP only): NULL and *err on failure. */
static apr_array_header_t *list_keys(apr_pool_t *p, const sc_server_t *s,
                                     int timeout_ms, const char **err)
{
    apr_array_header_t *keys = apr_array_make(p, 64, sizeof(char *));
    apr_sockaddr_t *sa;
    apr_socket_t *sock;
    char buf[8192], *line = apr_pstrdup(p, "");
    apr_size_t n;
    apr_status_t rv;

    if (!s->port) {
        *err = "listing keys needs a TCP server";
        return NULL;
    }
    rv = apr_sockaddr_info_get(&sa, s->host, APR_UNSPEC, (apr_port_t)s->port, 0,
                               p);
    if (rv == APR_SUCCESS) {
        rv = apr_socket_create(&sock, sa->family, SOCK_STREAM, APR_PROTO_TCP,
                               p);
    }
    if (rv == APR_SUCCESS) {
        apr_socket_timeout_set(sock, apr_time_from_msec(timeout_ms) * 10);
        rv = apr_socket_connect(sock, sa);
    }
    n = strlen("lru_crawler metadump all\r\n");
    if (rv == APR_SUCCESS) {
        rv = apr_socket_send(sock, "lru_crawler metadump all\r\n", &n);
    }
    while (rv == APR_SUCCESS) {
        char *nl;

        n = sizeof(buf) - 1;
        rv = apr_socket_recv(sock, buf, &n);
        if (rv != APR_SUCCESS && !(APR_STATUS_IS_EOF(rv) && n > 0)) {
            break;
        }
        buf[n] = '\0';
        line = apr_pstrcat(p, line, buf, NULL);
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            if (!strncmp(line, "END", 3)) {
                apr_socket_close(sock);
                return keys;
            }
            if (!strncmp(line, "ERROR", 5) || !strncmp(line, "BUSY", 4)
                || !strncmp(line, "CLIENT_ERROR", 12)) {
                *err = apr_pstrdup(p, line);
                apr_socket_close(sock);
                return NULL;
            }
            if (!strncmp(line, "key=", 4)) {
                char *k = apr_pstrndup(p, line + 4, strcspn(line + 4, " "));
                unescape_key(k);
                APR_ARRAY_PUSH(keys, char *) = k;
            }
            line = nl + 1;
        }
    }
    *err = "reading the key list failed";
    apr_socket_close(sock);
    return NULL;
}

/* Keys that belong to one server and are never copied: its incarnation,
 * the record of the fence marks it applied, and the marks it holds (for
 * any server of either cluster). */
static apr_hash_t *server_local(apr_pool_t *p, const char *prefix,
                                const sc_backend_t *a, const sc_backend_t *b)
{
    const sc_backend_t *both[2] = { a, b };
    apr_hash_t *keys = apr_hash_make(p);
    int i, j;

    apr_hash_set(keys, sc_key_counter(p, prefix, SC_DEP_SERVER_NAME),
                 APR_HASH_KEY_STRING, "");
    apr_hash_set(keys, sc_key_counter(p, prefix, SC_DEP_APPLIED_NAME),
                 APR_HASH_KEY_STRING, "");
    for (j = 0; j < 2; j++) {
        for (i = 0; i < sc_store_count(both[j]); i++) {
            const char *m = apr_pstrcat(p, "m:", both[j]->names[i], NULL);
            apr_hash_set(keys, sc_key_counter(p, prefix, m),
                         APR_HASH_KEY_STRING, "");
        }
    }
    return keys;
}

int ctl_migrate(ctl_t *ctl, int argc, const char *const *argv)
{
    sc_backend_t *old = apr_pcalloc(ctl->pool, sizeof(*old));
    const char *from = NULL, *err = NULL;
    const char *want = apr_pstrcat(ctl->pool, ctl->prefix, ":g:", NULL);
    apr_hash_t *local;
    int i, o, rc, copied = 0, there = 0, result = EXIT_OK;

    for (i = 0; i < argc; i++) {
        int r = ctl_option(argc, argv, &i, "--from", &from);
        if (r <= 0) {
            return ctl_usage("migrate: --from OLD-SERVERS, nothing else");
        }
    }
    if (!from) {
        return ctl_usage("migrate: give the old cluster with --from");
    }
    if ((err = sc_store_parse(ctl->pool, from, &old->servers)) != NULL) {
        return ctl_complain(EXIT_USAGE, "--from '%s': %s", from, err);
    }
    if ((rc = ctl_connect(ctl)) != EXIT_OK) {
        return rc;
    }
    old->spec = from;
    old->timeout_ms = ctl->timeout_ms;
    if (sc_store_open(old, ctl->pool, 1, &err) != APR_SUCCESS) {
        return ctl_complain(EXIT_BACKEND, "memcached (%s): %s", from,
                            err ? err : "cannot open");
    }
    local = server_local(ctl->pool, ctl->prefix, old, &ctl->backend);
    for (o = 0; o < sc_store_count(old); o++) {
        const sc_server_t *s = &APR_ARRAY_IDX(old->servers, o, sc_server_t);
        apr_array_header_t *keys = list_keys(ctl->pool, s, ctl->timeout_ms,
                                             &err);
        sc_conn_t *oc = sc_store_borrow(old, o, ctl->pool);

        if (!keys || !oc) {
            result = ctl_complain(EXIT_BACKEND, "memcached %s: %s",
                                  old->names[o], err ? err : "no handle");
            continue;
        }
        for (i = 0; i < keys->nelts; i++) {
            const char *key = APR_ARRAY_IDX(keys, i, const char *);
            sc_value_t *v;
            int n;

            if (strncmp(key, want, strlen(want))
                || apr_hash_get(local, key, APR_HASH_KEY_STRING)
                || sc_store_mget(oc, ctl->pool, &key, 1, &v) != APR_SUCCESS
                || !v[0].data) {
                continue;
            }
            /* every new server: a URL's counter is read on one of them,
             * a namespace's or tag's copy on each */
            for (n = 0; n < sc_store_count(&ctl->backend); n++) {
                sc_conn_t *nc = ctl_conn(ctl, n);
                apr_status_t rv = nc ? sc_store_add(nc, key, v[0].data,
                                                    v[0].len, 0)
                                     : APR_EGENERAL;
                if (rv == APR_SUCCESS) {
                    copied++;
                }
                else if (rv == SC_EEXISTS) {
                    there++;
                }
                else {
                    result = ctl_complain(EXIT_BACKEND,
                                          "memcached %s: "
                                          "cannot copy %s",
                                          ctl->backend.names[n], key);
                }
            }
        }
        sc_store_return(oc, ctl->pool);
    }
    printf("migrated %d counter copies from %s (%d were there already)\n",
           copied, from, there);
    return result;
}
