/*
 * sc_config: server and directory configuration of mod_sharedcache.
 *
 * The directory directives are declared in one table, sc_directives.def:
 * adding one is adding its entry there (that file says how); this header
 * makes sc_dir_conf_t from it, sc_config.c everything else.  The four
 * server directives are sc_server_conf_t and sc_config.c alone.
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
    const char *servers; /* NULL: unset */
    int timeout_ms;
    int retry_s;
    const char *prefix;
    sc_backend_t *backend;        /* built in post_config, opened per child */
    const char *fallback_servers; /* SharedCacheFallbackServers, or NULL */
    sc_backend_t *fallback;       /* the old cluster: read on a miss, never
                                     written; NULL when none */
    int quick;                    /* a section of this server set
                                     SharedCacheQuickHandler On */
    int stat_slot;                /* its slot of the per-virtual-host
                                     counters (sc_vhoststat.h), -1: none */
    apr_off_t local_size;         /* SharedCacheLocal (main server only):
                                     bytes of the local tier, 0: none */
    apr_off_t keep_decoded;       /* SharedCacheKeepDecoded (main server
                                     only): bytes of decoded bodies a
                                     child keeps, 0: none, SC_UNSET */
    const char *code_hook;        /* a hook whose code may change its
                                     requests before the handler ("the
                                     LuaHookFixups at file:line"), or NULL
                                     (sc_config_mark_servers) */
    int denies;                   /* a rule of its own or the main
                                     server's denies some clients by what
                                     they send or are (Require not,
                                     Require expr, Deny, an access rule
                                     inside <If>, a RewriteRule [F] on
                                     the client ...), or a module checks
                                     access by rules start-up cannot
                                     read: an anonymous client passes a
                                     denial of others
                                     (sc_config_check_quick) */
    int local_routes;             /* its files are chosen by the local
                                     address the client connected to
                                     (mod_vhost_alias's
                                     VirtualDocumentRootIP): the key
                                     holds it (sc_config_mark_servers) */
    int expr_routes;              /* an expression picks files or handlers
                                     of its requests (Alias "/%{...}" in
                                     a <Location>, SetHandler "%{...}"):
                                     the key holds the file and handler
                                     (sc_config_mark_servers) */
} sc_server_conf_t;

/* The C type of each kind of directive (sc_directives.def). */
#define SC_TYPE_FLAG int
#define SC_TYPE_SECONDS apr_int64_t
#define SC_TYPE_SIZE apr_off_t
#define SC_TYPE_STRING const char *
#define SC_TYPE_LIST apr_array_header_t *
#define SC_TYPE_LIST_REPLACE apr_array_header_t *
#define SC_TYPE_STATUSES unsigned char *

/* One field per directory directive, named and typed in
 * sc_directives.def (which says what each holds). */
typedef struct {
#define SC_DIR(name, kind, field, help, ...) SC_TYPE_##kind field;
#include "sc_directives.def"
#undef SC_DIR
} sc_dir_conf_t;

typedef struct {
    const char *text; /* as written: part of the key;
                         first, so that a list reads it
                         as the element's text */
    ap_expr_info_t *expr;
} sc_vary_expr_t;

extern module AP_MODULE_DECLARE_DATA sharedcache_module;

/* The values of SharedCacheESI (d->esi is one of these pointers). */
extern const char sc_esi_off[], sc_esi_on[], sc_esi_force[];
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
int sc_config_same_variance(const sc_dir_conf_t *d, const sc_dir_conf_t *base);

/* True when a fragment's location keys on nothing the page's does not
 * (cookies, headers, user, expressions): only then may a page that
 * includes it be stored as one entry. */
int sc_config_variance_within(const sc_dir_conf_t *frag,
                              const sc_dir_conf_t *page);

/* SharedCacheKeepDecoded of the main server s, in bytes (its default
 * when unset: 4 MiB a child). */
#define SC_KEEP_DECODED_DEFAULT ((apr_size_t)4 * 1024 * 1024)
apr_size_t sc_config_keep_decoded(const sc_server_conf_t *s);

/* The effective settings, as "Directive=value ..." (trace logs, tests). */
const char *sc_config_describe(apr_pool_t *p, const sc_server_conf_t *s,
                               const sc_dir_conf_t *d);

/* SharedCacheQuickHandler next to access rules for the same URLs: an
 * error message, or NULL (src/sc_quickcheck.c). */
const char *sc_config_check_quick(apr_pool_t *p, server_rec *s);

/* Start-up: a notice for each "SharedCache On" with no positive
 * SharedCacheTTL (nor SharedCacheForceTTL) in any section that may apply
 * to the same URLs (sc_ttlcheck.c). */
void sc_config_notice_ttl(apr_pool_t *p, server_rec *s);

/* Start-up: a warning where quick mode meets what it does not see:
 * RewriteRules that route by the client's headers, a Header's condition,
 * ... (sc_quickwarn.c). */
void sc_config_warn_quick_routes(apr_pool_t *p, server_rec *s);

/* Mark each server with what its configuration, or the main server's,
 * does to its requests that no section's rules show: a hook of code
 * (mod_lua's LuaHook*, but LuaHookLog, which runs after the response)
 * serves its requests uncached, said at warn level once per hook when
 * say is true. */
void sc_config_mark_servers(apr_pool_t *p, server_rec *s, int say);

/* post_config: resolve every server's base directory config and give
 * each server a backend (servers with equal settings share one). */
int sc_config_post(apr_pool_t *pconf, server_rec *s);

#endif
