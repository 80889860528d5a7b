/*
 * sc_config: server and directory configuration of mod_sharedcache.
 *
 * Every field starts unset; merges take the more specific value; the
 * defaults are filled in by sc_config_resolve() on each server's base
 * directory config in post_config.  Every request's directory config is a
 * merge over that base, so request code reads plain values.
 */
#ifndef SC_CONFIG_H
#define SC_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "ap_expr.h"
#include "sc_store.h"
#include "sc_policy.h"

#define SC_UNSET (-1)
#define SC_AUTO 2

#define SC_DEFAULT_PREFIX "sc"
#define SC_DEFAULT_TIMEOUT_MS 100
#define SC_DEFAULT_RETRY_S 2
#define SC_DEFAULT_MAX_TTL 86400
#define SC_DEFAULT_MAX_SIZE (8 * 1024 * 1024)
#define SC_DEFAULT_TAG_HEADER "Surrogate-Key"
#define SC_DEFAULT_INVALIDATE_HEADER "X-SharedCache-Invalidate"
#define SC_DEFAULT_NAMESPACE "default"
#define SC_DEFAULT_LOCK_TIMEOUT 10

/* Longest header name SharedCacheVaryByHeader/SharedCacheBypassHeader take */
#define SC_HEADER_NAME_MAX 200

typedef struct {
    const char *servers;         /* NULL: unset */
    int timeout_ms;
    int retry_s;
    const char *prefix;
    sc_backend_t *backend;       /* built in post_config, opened per child */
    int quick;                   /* a section of this server set
                                    SharedCacheQuickHandler On */
} sc_server_conf_t;

typedef struct {
    int enabled;
    apr_int64_t ttl;
    int force_ttl;
    apr_int64_t max_ttl;
    unsigned char *statuses;     /* [SC_MAX_STATUS + 1] or NULL: unset */
    apr_off_t max_size;
    int header;
    /* variance and bypass lists: NULL arrays are unset; a section adds to
     * what it inherits (never drops a cookie or header the site keys or
     * bypasses on) */
    apr_array_header_t *vary_cookies;   /* of const char * */
    apr_array_header_t *vary_headers;   /* of const char *, lower case */
    apr_array_header_t *vary_exprs;     /* of sc_vary_expr_t */
    int vary_user;
    apr_array_header_t *bypass_cookies; /* of const char * */
    apr_array_header_t *bypass_headers; /* of const char *, lower case */
    apr_array_header_t *ignore_query;   /* of const char * (globs): a set
                                           list replaces the parent's */
    int quick;                          /* SharedCacheQuickHandler */
    /* invalidation */
    const char *tag_header;             /* NULL: unset */
    const char *invalidate_header;
    int invalidate_unsafe;
    int purge;
    const char *namespace;
    /* one render per page: lease, grace, stale on error */
    int lock;
    apr_int64_t lock_timeout;
    apr_int64_t grace;
    apr_int64_t stale_on_error;
    int soft_invalidate;
    int require_length;                 /* SharedCacheRequireLength:
                                           1, 0 or SC_AUTO (mod_wsgi) */
} sc_dir_conf_t;

typedef struct {
    const char *text;                   /* as written: part of the key */
    ap_expr_info_t *expr;
} sc_vary_expr_t;

extern module AP_MODULE_DECLARE_DATA sharedcache_module;
extern const command_rec sc_config_cmds[];

void *sc_config_create_server(apr_pool_t *p, server_rec *s);
void *sc_config_merge_server(apr_pool_t *p, void *base, void *add);
void *sc_config_create_dir(apr_pool_t *p, char *dir);
void *sc_config_merge_dir(apr_pool_t *p, void *base, void *add);

/* Fill the defaults of unset fields. */
void sc_config_resolve(sc_dir_conf_t *d);

/* True when d keys and bypasses exactly as the virtual host base does
 * (inherited, not set by a section): only then can the quick handler,
 * which sees the base alone, compute the same key. */
int sc_config_same_variance(const sc_dir_conf_t *d,
                            const sc_dir_conf_t *base);

/* True when a fragment's location keys on nothing the page's does not
 * (cookies, headers, user, expressions): only then may a page that
 * includes it be stored as one entry. */
int sc_config_variance_within(const sc_dir_conf_t *frag,
                              const sc_dir_conf_t *page);

/* The effective settings, as "Directive=value ..." (trace logs, tests). */
const char *sc_config_describe(apr_pool_t *p, const sc_server_conf_t *s,
                               const sc_dir_conf_t *d);

/* SharedCacheQuickHandler next to access rules for the same URLs: an
 * error message, or NULL (src/sc_quickcheck.c). */
const char *sc_config_check_quick(apr_pool_t *p, server_rec *s);

/* post_config: resolve every server's base directory config and give
 * each server a backend (servers with equal settings share one). */
int sc_config_post(apr_pool_t *pconf, server_rec *s);

#endif
