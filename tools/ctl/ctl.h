/*
 * ctl.h: what the files of sharedcachectl share: the exit codes, the
 * command's state (ctl_t), a URL as the module keys it (ctl_url_t), the
 * helpers of common.c and url.c, and one entry point per command.
 *
 * sharedcachectl invalidates and inspects mod_sharedcache's memcached
 * contents from the command line (DESIGN sections 5-7).  It links the
 * module's pure key and entry code (src/sc_key.c, src/sc_entry.c) and its
 * memcached layer (src/sc_store.c, src/sc_store_ops.c, src/sc_gen.c) and
 * computes nothing those compute: every key, record check, chunk check and
 * validity rule is theirs, so what it reports is what the module does.
 *
 *   main.c     arguments, global options, dispatch (and --help)
 *   common.c   messages, the report's lines, option parsing, connecting
 *   url.c      URLs given on the command line
 *   purge.c    purge, invalidate and flush (generation counters)
 *   stats.c    stats
 *   inspect.c  inspect
 *   migrate.c  migrate (counters of an old cluster into the new one)
 *
 * Exit status: 0 done, 1 nothing cached / not cached, 2 usage or bad
 * input, 3 memcached error.
 */
#ifndef SC_CTL_H
#define SC_CTL_H

#include "sc_key.h"
#include "sc_store.h"

#include <apr_pools.h>

#define EXIT_OK 0
#define EXIT_NOTFOUND 1
#define EXIT_USAGE 2
#define EXIT_BACKEND 3

#define CTL_DEFAULT_TIMEOUT_MS 1000
#define CTL_DEFAULT_NAMESPACE "default"

typedef struct {
    apr_pool_t *pool;
    const char *servers;
    const char *prefix;
    int timeout_ms;
    sc_backend_t backend;
    sc_conn_t **conns; /* per server, borrowed when first used */
    sc_conn_t *conn;   /* inspect: the server of the URL's keys */
} ctl_t;

/* A URL as the module keys it. */
typedef struct {
    sc_url_t url;
    const char *authority; /* host[:port] as written: default Host */
    const char *raw_path;  /* the path as written: what entries are
                              keyed on (url.path is decoded, as URL
                              invalidation names pages) */
} ctl_url_t;

/* ---- common.c ---------------------------------------------------------- */

/* "sharedcachectl: <message>" on stderr; returns code. */
int ctl_complain(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same, pointing at --help; returns EXIT_USAGE. */
int ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* libmemcached's message without its "(0x...) " handle address and
 * " -> file:line" source position. */
const char *ctl_tidy(apr_pool_t *p, const char *msg);

/* Report why a memcached request failed; returns EXIT_BACKEND. */
int ctl_backend_error(ctl_t *ctl, const char *what);

/* One "label:      value" line of inspect's report. */
void ctl_field(const char *label, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* s for a terminal: control bytes written as \xHH. */
const char *ctl_shown(apr_pool_t *p, const char *s);

/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 and *val when it is
 * that option, 0 when not, -1 when its value is missing. */
int ctl_option(int argc, const char *const *argv, int *i, const char *name,
               const char **val);

/* Open the servers (handles are borrowed per server, by ctl_conn). */
int ctl_connect(ctl_t *ctl);

/* The handle for server i (NULL when it cannot be had). */
sc_conn_t *ctl_conn(ctl_t *ctl, int i);

/* Give every handle back (the next ctl_conn borrows again). */
void ctl_release_all(ctl_t *ctl);

/* ---- url.c ------------------------------------------------------------- */

/* Split an absolute http(s) URL into what the module keys on; NULL or
 * why not. */
const char *ctl_parse_url(apr_pool_t *p, const char *s, ctl_url_t *out);

/* ---- the commands: argc and argv are the command's arguments ---------- */

int ctl_purge(ctl_t *ctl, int argc, const char *const *argv);
int ctl_invalidate(ctl_t *ctl, int argc, const char *const *argv);
int ctl_flush(ctl_t *ctl, int argc, const char *const *argv);
int ctl_stats(ctl_t *ctl, int argc, const char *const *argv);
int ctl_inspect(ctl_t *ctl, int argc, const char *const *argv);
int ctl_migrate(ctl_t *ctl, int argc, const char *const *argv);

#endif
