/*
 * sc_config.c: directives, create/merge, validation (see sc_config.h).
 */
#include "sc_config.h"
#include "sc_key.h"
#include "sc_log.h"

#include "http_log.h"
#include <apr_lib.h>
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

#define MERGE(field) \
    (add->field != SC_UNSET ? add->field : base->field)

static const apr_int64_t ttl_limit = (apr_int64_t)10 * 365 * 24 * 3600;

/* The default SharedCacheStatuses. */
static const int default_statuses[] = {
    200, 203, 204, 300, 301, 308, 404, 410
};

void *sc_config_create_server(apr_pool_t *p, server_rec *s)
{
    sc_server_conf_t *c = apr_pcalloc(p, sizeof(*c));

    (void)s;
    c->timeout_ms = SC_UNSET;
    c->retry_s = SC_UNSET;
    return c;
}

void *sc_config_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    sc_server_conf_t *base = basev, *add = addv;
    sc_server_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->servers = add->servers ? add->servers : base->servers;
    c->timeout_ms = MERGE(timeout_ms);
    c->retry_s = MERGE(retry_s);
    c->prefix = add->prefix ? add->prefix : base->prefix;
    c->quick = add->quick || base->quick;
    return c;
}

void *sc_config_create_dir(apr_pool_t *p, char *dir)
{
    sc_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    (void)dir;
    d->enabled = SC_UNSET;
    d->ttl = SC_UNSET;
    d->force_ttl = SC_UNSET;
    d->max_ttl = SC_UNSET;
    d->statuses = NULL;
    d->max_size = SC_UNSET;
    d->header = SC_UNSET;
    d->vary_user = SC_UNSET;
    d->quick = SC_UNSET;
    d->invalidate_unsafe = SC_UNSET;
    d->purge = SC_UNSET;
    d->lock = SC_UNSET;
    d->lock_timeout = SC_UNSET;
    d->grace = SC_UNSET;
    d->stale_on_error = SC_UNSET;
    d->soft_invalidate = SC_UNSET;
    d->require_length = SC_UNSET;
    return d;
}

void sc_config_resolve(sc_dir_conf_t *d)
{
    if (d->enabled == SC_UNSET) {
        d->enabled = 0;
    }
    if (d->ttl == SC_UNSET) {
        d->ttl = 0;
    }
    if (d->force_ttl == SC_UNSET) {
        d->force_ttl = 0;
    }
    if (d->max_ttl == SC_UNSET) {
        d->max_ttl = SC_DEFAULT_MAX_TTL;
    }
    if (d->max_size == SC_UNSET) {
        d->max_size = SC_DEFAULT_MAX_SIZE;
    }
    if (d->header == SC_UNSET) {
        d->header = 1;
    }
    if (d->vary_user == SC_UNSET) {
        d->vary_user = 0;
    }
    if (d->quick == SC_UNSET) {
        d->quick = 0;
    }
    if (!d->tag_header) {
        d->tag_header = SC_DEFAULT_TAG_HEADER;
    }
    if (!d->invalidate_header) {
        d->invalidate_header = SC_DEFAULT_INVALIDATE_HEADER;
    }
    if (d->invalidate_unsafe == SC_UNSET) {
        d->invalidate_unsafe = 1;
    }
    if (d->purge == SC_UNSET) {
        d->purge = 0;
    }
    if (!d->namespace) {
        d->namespace = SC_DEFAULT_NAMESPACE;
    }
    if (d->lock == SC_UNSET) {
        d->lock = 1;
    }
    if (d->lock_timeout == SC_UNSET) {
        d->lock_timeout = SC_DEFAULT_LOCK_TIMEOUT;
    }
    if (d->grace == SC_UNSET) {
        d->grace = 0;
    }
    if (d->stale_on_error == SC_UNSET) {
        d->stale_on_error = 0;
    }
    if (d->soft_invalidate == SC_UNSET) {
        d->soft_invalidate = 0;
    }
    if (d->require_length == SC_UNSET) {
        d->require_length = SC_AUTO;
    }
}

static unsigned char *default_status_table(apr_pool_t *p)
{
    unsigned char *t = apr_pcalloc(p, SC_MAX_STATUS + 1);
    apr_size_t i;

    for (i = 0; i < sizeof(default_statuses) / sizeof(int); i++) {
        t[default_statuses[i]] = 1;
    }
    return t;
}

/* The text of element i of a list: the elements are names (const char *)
 * or structs whose first member is their text as written (sc_vary_expr_t),
 * so lists of either kind merge, compare and print alike. */
static const char *elt_text(const apr_array_header_t *a, int i)
{
    return *(const char *const *)(a->elts + (apr_size_t)i * a->elt_size);
}

static int has_name(const apr_array_header_t *a, const char *name)
{
    int i;

    for (i = 0; i < a->nelts; i++) {
        if (!strcmp(elt_text(a, i), name)) {
            return 1;
        }
    }
    return 0;
}

/* base followed by what add has that base lacks; an unset side (NULL)
 * leaves the other as it is, so an untouched section keeps the very
 * array it inherits (sc_config_same_variance compares pointers). */
static apr_array_header_t *union_list(apr_pool_t *p,
                                      apr_array_header_t *base,
                                      apr_array_header_t *add)
{
    apr_array_header_t *out;
    int i;

    if (!add || !base || add == base) {
        return add ? add : base;
    }
    out = apr_array_copy(p, base);
    for (i = 0; i < add->nelts; i++) {
        if (!has_name(out, elt_text(add, i))) {
            memcpy(apr_array_push(out),
                   add->elts + (apr_size_t)i * add->elt_size, add->elt_size);
        }
    }
    return out;
}

void *sc_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    sc_dir_conf_t *base = basev, *add = addv;
    sc_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    d->enabled = MERGE(enabled);
    d->ttl = MERGE(ttl);
    d->force_ttl = MERGE(force_ttl);
    d->max_ttl = MERGE(max_ttl);
    d->statuses = add->statuses ? add->statuses : base->statuses;
    d->max_size = MERGE(max_size);
    d->header = MERGE(header);
    d->vary_user = MERGE(vary_user);
    d->quick = MERGE(quick);
    d->invalidate_unsafe = MERGE(invalidate_unsafe);
    d->purge = MERGE(purge);
    d->lock = MERGE(lock);
    d->lock_timeout = MERGE(lock_timeout);
    d->grace = MERGE(grace);
    d->stale_on_error = MERGE(stale_on_error);
    d->soft_invalidate = MERGE(soft_invalidate);
    d->require_length = MERGE(require_length);
#define MERGE_STR(field) d->field = add->field ? add->field : base->field
    MERGE_STR(tag_header);
    MERGE_STR(invalidate_header);
    MERGE_STR(namespace);
#undef MERGE_STR
    /* A section adds to the variance and bypass lists it inherits: a
     * <Location> keying on "currency" must not stop keying on the site's
     * "sessionid" (one user's page would reach another). */
    d->vary_cookies = union_list(p, base->vary_cookies, add->vary_cookies);
    d->vary_headers = union_list(p, base->vary_headers, add->vary_headers);
    d->vary_exprs = union_list(p, base->vary_exprs, add->vary_exprs);
    d->bypass_cookies = union_list(p, base->bypass_cookies,
                                   add->bypass_cookies);
    d->bypass_headers = union_list(p, base->bypass_headers,
                                   add->bypass_headers);
    /* Ignoring is the narrowing direction: a section's list replaces. */
    d->ignore_query = add->ignore_query ? add->ignore_query
                                        : base->ignore_query;
    /* No defaults here: httpd merges matching sections with each other
     * before merging the result over the server's base, and a default
     * filled in that first merge would override what the base sets.  The
     * bases get their defaults in post_config, so every request's final
     * merge is complete. */
    return d;
}

/* ---- setters ---------------------------------------------------------- */

static const char *parse_int(cmd_parms *cmd, const char *arg,
                             apr_int64_t min, apr_int64_t max,
                             apr_int64_t *out)
{
    char *end;
    apr_int64_t v = 0;

    if (!*arg) {
        return apr_psprintf(cmd->pool, "%s: a number is required",
                            cmd->cmd->name);
    }
    v = apr_strtoi64(arg, &end, 10);
    if (*end || v < min || v > max) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number "
                            "from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, min, max);
    }
    *out = v;
    return NULL;
}

static sc_server_conf_t *server_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &sharedcache_module);
}

static const char *set_servers(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_array_header_t *list;
    const char *err = sc_store_parse(cmd->pool, arg, &list);

    (void)dummy;
    if (err) {
        return apr_psprintf(cmd->pool, "SharedCacheServers: %s", err);
    }
    server_conf(cmd)->servers = arg;
    return NULL;
}

static const char *set_timeout(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_int64_t v = 0;
    const char *err = parse_int(cmd, arg, 1, 60000, &v);

    (void)dummy;
    if (!err) {
        server_conf(cmd)->timeout_ms = (int)v;
    }
    return err;
}

static const char *set_retry(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_int64_t v = 0;
    const char *err = parse_int(cmd, arg, 0, 3600, &v);

    (void)dummy;
    if (!err) {
        server_conf(cmd)->retry_s = (int)v;
    }
    return err;
}

static const char *set_prefix(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    if (!sc_key_prefix_ok(arg)) {
        return apr_psprintf(cmd->pool, "SharedCachePrefix: '%s' must be 1 "
                            "to %d printable characters without spaces",
                            arg, SC_PREFIX_MAX);
    }
    server_conf(cmd)->prefix = arg;
    return NULL;
}

static const char *set_ttl(cmd_parms *cmd, void *dv, const char *arg)
{
    sc_dir_conf_t *d = dv;

    return parse_int(cmd, arg, 0, ttl_limit, &d->ttl);
}

static const char *set_max_ttl(cmd_parms *cmd, void *dv, const char *arg)
{
    sc_dir_conf_t *d = dv;

    return parse_int(cmd, arg, 1, ttl_limit, &d->max_ttl);
}

/* A seconds directive of the directory config (cmd->info: the field). */
static const char *set_seconds(cmd_parms *cmd, void *dv, const char *arg)
{
    apr_int64_t *field = (apr_int64_t *)((char *)dv
                                         + (apr_size_t)cmd->info);
    apr_int64_t v = 0;
    apr_int64_t min = field == &((sc_dir_conf_t *)dv)->lock_timeout ? 1 : 0;
    const char *err = parse_int(cmd, arg, min, ttl_limit, &v);

    if (!err) {
        *field = v;
    }
    return err;
}

static const char *set_statuses(cmd_parms *cmd, void *dv, const char *arg)
{
    sc_dir_conf_t *d = dv;
    apr_int64_t code = 0;
    const char *err = parse_int(cmd, arg, 100, SC_MAX_STATUS, &code);

    if (err) {
        return err;
    }
    /* Errors the cache must never store, whatever is configured
     * (THREATS 12): 5xx, 206 Partial Content, 304 Not Modified. */
    if (code >= 500 || code == 206 || code == 304) {
        return apr_psprintf(cmd->pool, "SharedCacheStatuses: %s may never "
                            "be stored (5xx, 206 and 304 are refused)", arg);
    }
    if (!d->statuses) {
        d->statuses = apr_pcalloc(cmd->pool, SC_MAX_STATUS + 1);
    }
    d->statuses[code] = 1;
    return NULL;
}

static const char *set_max_size(cmd_parms *cmd, void *dv, const char *arg)
{
    sc_dir_conf_t *d = dv;
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    apr_int64_t unit = 1;

    if (end != arg && *end) {
        switch (*end) {
        case 'k': case 'K': unit = 1024; end++; break;
        case 'm': case 'M': unit = 1024 * 1024; end++; break;
        case 'g': case 'G': unit = 1024 * 1024 * 1024; end++; break;
        }
    }
    if (end == arg || *end || v < 1 || v > ((apr_int64_t)1 << 40) / unit) {
        return apr_psprintf(cmd->pool, "SharedCacheMaxSize: '%s' is not a "
                            "size in bytes (a number, optionally with K, M "
                            "or G)", arg);
    }
    d->max_size = (apr_off_t)(v * unit);
    return NULL;
}

static const char *set_flag(cmd_parms *cmd, void *dv, int on)
{
    sc_dir_conf_t *d = dv;
    int *field = (int *)((char *)d + (apr_size_t)cmd->info);

    *field = on ? 1 : 0;
    return NULL;
}

static int is_token(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isalnum(*s) && !strchr("!#$%&'*+-.^_`|~", *s)) {
            return 0;
        }
    }
    return 1;
}

/* In a section, quick mode and the section's own variance exclude each
 * other: the quick handler runs before sections are merged. */
static const char *quick_conflict(cmd_parms *cmd, const sc_dir_conf_t *d)
{
    if (!cmd->path) {
        return NULL;
    }
    if (d->quick == 1 && (d->vary_cookies || d->vary_headers
                          || d->vary_exprs || d->bypass_cookies
                          || d->bypass_headers || d->ignore_query || d->vary_user != SC_UNSET)) {
        return apr_psprintf(cmd->pool, "%s: a section with "
                            "SharedCacheQuickHandler On cannot set its own "
                            "SharedCacheVaryBy*, SharedCacheVary, "
                            "SharedCacheBypassCookie/Header or "
                            "SharedCacheIgnoreQuery: the quick handler runs "
                            "before sections are merged.  Set them for the "
                            "whole virtual host instead", cmd->cmd->name);
    }
    return NULL;
}

static apr_array_header_t *list_of(cmd_parms *cmd, sc_dir_conf_t *d)
{
    apr_array_header_t **field =
        (apr_array_header_t **)((char *)d + (apr_size_t)cmd->info);

    if (!*field) {
        *field = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    return *field;
}

static const char *add_cookie(cmd_parms *cmd, void *dv, const char *arg)
{
    if (!is_token(arg)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a cookie name",
                            cmd->cmd->name, arg);
    }
    APR_ARRAY_PUSH(list_of(cmd, dv), const char *) = arg;
    return quick_conflict(cmd, dv);
}

static const char *add_header(cmd_parms *cmd, void *dv, const char *arg)
{
    if (!is_token(arg) || strlen(arg) > SC_HEADER_NAME_MAX) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a header name (a "
                            "token of at most %d characters)",
                            cmd->cmd->name, arg, SC_HEADER_NAME_MAX);
    }
    APR_ARRAY_PUSH(list_of(cmd, dv), const char *) =
        apr_pstrdup(cmd->pool, arg);
    ap_str_tolower(APR_ARRAY_IDX(list_of(cmd, dv),
                                 list_of(cmd, dv)->nelts - 1, char *));
    return quick_conflict(cmd, dv);
}

static const char *add_glob(cmd_parms *cmd, void *dv, const char *arg)
{
    const char *s;

    for (s = arg; *s; s++) {
        if (!apr_isgraph(*s) || *s == '&' || *s == '=') {
            return apr_psprintf(cmd->pool, "SharedCacheIgnoreQuery: '%s' "
                                "is not a parameter name or glob", arg);
        }
    }
    APR_ARRAY_PUSH(list_of(cmd, dv), const char *) = arg;
    return quick_conflict(cmd, dv);
}

static const char *add_expr(cmd_parms *cmd, void *dv, const char *arg)
{
    sc_dir_conf_t *d = dv;
    const char *err = NULL;
    sc_vary_expr_t *v;

    if (!d->vary_exprs) {
        d->vary_exprs = apr_array_make(cmd->pool, 2, sizeof(sc_vary_expr_t));
    }
    v = apr_array_push(d->vary_exprs);
    v->text = arg;
    v->expr = ap_expr_parse_cmd(cmd, arg, AP_EXPR_FLAG_STRING_RESULT, &err,
                                NULL);
    if (err) {
        return apr_psprintf(cmd->pool, "SharedCacheVary: cannot parse "
                            "'%s': %s", arg, err);
    }
    return quick_conflict(cmd, dv);
}

static const char *set_quick(cmd_parms *cmd, void *dv, int on)
{
    sc_dir_conf_t *d = dv;
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIRECTORY
                                                | NOT_IN_FILES);

    if (err) {
        return apr_pstrcat(cmd->pool, err, " (the quick handler runs "
                           "before the URL is mapped to a file)", NULL);
    }
    d->quick = on;
    if (on) {
        server_conf(cmd)->quick = 1;
    }
    return quick_conflict(cmd, d);
}

static const char *set_vary_user(cmd_parms *cmd, void *dv, int on)
{
    sc_dir_conf_t *d = dv;

    d->vary_user = on;
    return quick_conflict(cmd, d);
}

static const char *set_header_name(cmd_parms *cmd, void *dv,
                                   const char *arg)
{
    const char **field = (const char **)((char *)dv + (apr_size_t)cmd->info);

    if (!is_token(arg)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a header name",
                            cmd->cmd->name, arg);
    }
    *field = arg;
    return NULL;
}

static const char *set_namespace(cmd_parms *cmd, void *dv, const char *arg)
{
    sc_dir_conf_t *d = dv;

    if (!sc_key_tag_ok(arg)) {
        return apr_psprintf(cmd->pool, "SharedCacheNamespace: '%s' must be "
                            "1 to %d printable characters without spaces",
                            arg, SC_TAG_MAX);
    }
    d->namespace = arg;
    return NULL;
}

#define DIR_LIST(name, fn, field, help) \
    AP_INIT_ITERATE(name, fn, (void *)APR_OFFSETOF(sc_dir_conf_t, field), \
                    RSRC_CONF | ACCESS_CONF, help)

#define DIR_FLAG(name, field, help) \
    AP_INIT_FLAG(name, set_flag, \
                 (void *)APR_OFFSETOF(sc_dir_conf_t, field), \
                 RSRC_CONF | ACCESS_CONF, help)

const command_rec sc_config_cmds[] = {
    /* server context */
    AP_INIT_RAW_ARGS("SharedCacheServers", set_servers, NULL, RSRC_CONF,
                     "memcached servers: host:port ... or a unix socket "
                     "path"),
    AP_INIT_TAKE1("SharedCacheTimeout", set_timeout, NULL, RSRC_CONF,
                  "memcached connect and I/O timeout in milliseconds"),
    AP_INIT_TAKE1("SharedCacheRetryInterval", set_retry, NULL, RSRC_CONF,
                  "seconds a failed memcached server is skipped"),
    AP_INIT_TAKE1("SharedCachePrefix", set_prefix, NULL, RSRC_CONF,
                  "prefix of every memcached key"),
    /* directory context */
    DIR_FLAG("SharedCache", enabled, "cache responses here: On or Off"),
    AP_INIT_TAKE1("SharedCacheTTL", set_ttl, NULL, RSRC_CONF | ACCESS_CONF,
                  "seconds of freshness when the response gives none"),
    DIR_FLAG("SharedCacheForceTTL", force_ttl,
             "use SharedCacheTTL even when the response gives freshness"),
    AP_INIT_TAKE1("SharedCacheMaxTTL", set_max_ttl, NULL,
                  RSRC_CONF | ACCESS_CONF, "cap on any freshness, seconds"),
    AP_INIT_ITERATE("SharedCacheStatuses", set_statuses, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "HTTP statuses that may be stored"),
    AP_INIT_TAKE1("SharedCacheMaxSize", set_max_size, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "largest response body stored, bytes (K, M, G allowed)"),
    DIR_FLAG("SharedCacheHeader", header,
             "add the X-SharedCache decision header: On or Off"),
    DIR_LIST("SharedCacheVaryByCookie", add_cookie, vary_cookies,
             "cookies whose values are part of the key"),
    DIR_LIST("SharedCacheVaryByHeader", add_header, vary_headers,
             "request headers whose values are part of the key"),
    AP_INIT_FLAG("SharedCacheVaryByUser", set_vary_user, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "the authenticated user is part of the key: On or Off"),
    AP_INIT_ITERATE("SharedCacheVary", add_expr, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "ap_expr strings whose values are part of the key"),
    DIR_LIST("SharedCacheBypassCookie", add_cookie, bypass_cookies,
             "cookies whose presence bypasses the cache"),
    DIR_LIST("SharedCacheBypassHeader", add_header, bypass_headers,
             "request headers whose presence bypasses the cache, in "
             "addition to the built-in list of reflected headers"),
    DIR_LIST("SharedCacheIgnoreQuery", add_glob, ignore_query,
             "query parameters (globs) left out of the key; * drops all"),
    AP_INIT_TAKE1("SharedCacheTagHeader", set_header_name,
                  (void *)APR_OFFSETOF(sc_dir_conf_t, tag_header),
                  RSRC_CONF | ACCESS_CONF,
                  "response header listing the entry's tags"),
    AP_INIT_TAKE1("SharedCacheInvalidateHeader", set_header_name,
                  (void *)APR_OFFSETOF(sc_dir_conf_t, invalidate_header),
                  RSRC_CONF | ACCESS_CONF,
                  "response header listing tags to invalidate"),
    DIR_FLAG("SharedCacheInvalidateOnUnsafe", invalidate_unsafe,
             "a successful POST/PUT/PATCH/DELETE invalidates its URL"),
    DIR_FLAG("SharedCachePurge", purge, "accept the PURGE method: On or Off"),
    AP_INIT_TAKE1("SharedCacheNamespace", set_namespace, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "namespace of the entries; flushing it drops them all"),
    DIR_FLAG("SharedCacheLock", lock,
             "only one request in the farm renders a missing entry"),
    AP_INIT_TAKE1("SharedCacheLockTimeout", set_seconds,
                  (void *)APR_OFFSETOF(sc_dir_conf_t, lock_timeout),
                  RSRC_CONF | ACCESS_CONF,
                  "longest a waiter waits for the render, seconds"),
    AP_INIT_TAKE1("SharedCacheGrace", set_seconds,
                  (void *)APR_OFFSETOF(sc_dir_conf_t, grace),
                  RSRC_CONF | ACCESS_CONF,
                  "seconds an expired entry is served while one request "
                  "refreshes it"),
    AP_INIT_TAKE1("SharedCacheStaleOnError", set_seconds,
                  (void *)APR_OFFSETOF(sc_dir_conf_t, stale_on_error),
                  RSRC_CONF | ACCESS_CONF,
                  "seconds a stale entry may replace a 5xx or failure"),
    DIR_FLAG("SharedCacheSoftInvalidate", soft_invalidate,
             "entries invalidated by tag or URL are served stale within "
             "the grace period while one request refreshes them"),
    DIR_FLAG("SharedCacheRequireLength", require_length,
             "store only responses whose Content-Length was verified"),
    AP_INIT_FLAG("SharedCacheQuickHandler", set_quick, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "serve hits of this location before access control: "
                 "On or Off"),
    { NULL }
};

int sc_config_same_variance(const sc_dir_conf_t *d,
                            const sc_dir_conf_t *base)
{
    return d->vary_cookies == base->vary_cookies
           && d->vary_headers == base->vary_headers
           && d->vary_exprs == base->vary_exprs
           && d->bypass_cookies == base->bypass_cookies
           && d->bypass_headers == base->bypass_headers
           && d->ignore_query == base->ignore_query
           && d->vary_user == base->vary_user;
}

/* Is every name of list also in within? */
static int names_within(const apr_array_header_t *list,
                        const apr_array_header_t *within)
{
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        if (!within || !has_name(within, elt_text(list, i))) {
            return 0;
        }
    }
    return 1;
}

int sc_config_variance_within(const sc_dir_conf_t *frag,
                              const sc_dir_conf_t *page)
{
    if (frag->vary_user == 1 && page->vary_user != 1) {
        return 0;
    }
    return names_within(frag->vary_cookies, page->vary_cookies)
           && names_within(frag->vary_headers, page->vary_headers)
           && names_within(frag->vary_exprs, page->vary_exprs);
}

static const char *statuses_text(apr_pool_t *p, const unsigned char *t)
{
    const char *out = "";
    int i;

    for (i = 100; t && i <= SC_MAX_STATUS; i++) {
        if (t[i]) {
            out = apr_psprintf(p, "%s%s%d", out, *out ? "," : "", i);
        }
    }
    return out;
}

static const char *list_text(apr_pool_t *p, const apr_array_header_t *a)
{
    const char *out = "";
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        out = apr_pstrcat(p, out, i ? "," : "", elt_text(a, i), NULL);
    }
    return *out ? out : "-";
}

const char *sc_config_describe(apr_pool_t *p, const sc_server_conf_t *s,
                               const sc_dir_conf_t *d)
{
    const sc_backend_t *b = s->backend;
    char *servers = apr_pstrdup(p, b ? b->spec : "-"), *c;

    for (c = servers; *c; c++) {
        if (apr_isspace(*c)) {
            *c = ',';
        }
    }
    return apr_psprintf(p,
        "SharedCacheServers=%s SharedCacheTimeout=%d "
        "SharedCacheRetryInterval=%d SharedCachePrefix=%s "
        "SharedCache=%s SharedCacheTTL=%" APR_INT64_T_FMT " "
        "SharedCacheForceTTL=%s SharedCacheMaxTTL=%" APR_INT64_T_FMT " "
        "SharedCacheStatuses=%s SharedCacheMaxSize=%" APR_OFF_T_FMT " "
        "SharedCacheHeader=%s SharedCacheVaryByCookie=%s "
        "SharedCacheVaryByHeader=%s SharedCacheVaryByUser=%s "
        "SharedCacheVary=%s SharedCacheBypassCookie=%s "
        "SharedCacheBypassHeader=%s SharedCacheIgnoreQuery=%s SharedCacheQuickHandler=%s "
        "SharedCacheTagHeader=%s SharedCacheInvalidateHeader=%s "
        "SharedCacheInvalidateOnUnsafe=%s SharedCachePurge=%s "
        "SharedCacheNamespace=%s SharedCacheLock=%s "
        "SharedCacheLockTimeout=%" APR_INT64_T_FMT " "
        "SharedCacheGrace=%" APR_INT64_T_FMT " "
        "SharedCacheStaleOnError=%" APR_INT64_T_FMT " "
        "SharedCacheSoftInvalidate=%s SharedCacheRequireLength=%s",
        servers,
        b ? b->timeout_ms : -1, b ? b->retry_s : -1, s->prefix,
        d->enabled ? "On" : "Off", d->ttl, d->force_ttl ? "On" : "Off",
        d->max_ttl, statuses_text(p, d->statuses), d->max_size,
        d->header ? "On" : "Off", list_text(p, d->vary_cookies),
        list_text(p, d->vary_headers), d->vary_user == 1 ? "On" : "Off",
        list_text(p, d->vary_exprs), list_text(p, d->bypass_cookies),
        list_text(p, d->bypass_headers), list_text(p, d->ignore_query), d->quick == 1 ? "On" : "Off",
        d->tag_header, d->invalidate_header,
        d->invalidate_unsafe == 1 ? "On" : "Off",
        d->purge == 1 ? "On" : "Off", d->namespace,
        d->lock == 1 ? "On" : "Off", d->lock_timeout, d->grace,
        d->stale_on_error, d->soft_invalidate == 1 ? "On" : "Off",
        d->require_length == SC_AUTO ? "auto"
        : d->require_length == 1 ? "On" : "Off");
}

/* ---- post_config ------------------------------------------------------ */

static sc_backend_t *find_or_make_backend(apr_pool_t *p,
                                          apr_array_header_t *made,
                                          const sc_server_conf_t *c)
{
    const char *spec = c->servers ? c->servers : SC_DEFAULT_SERVERS;
    int timeout = c->timeout_ms != SC_UNSET ? c->timeout_ms
                                            : SC_DEFAULT_TIMEOUT_MS;
    int retry = c->retry_s != SC_UNSET ? c->retry_s : SC_DEFAULT_RETRY_S;
    sc_backend_t *b;
    int i;

    for (i = 0; i < made->nelts; i++) {
        b = APR_ARRAY_IDX(made, i, sc_backend_t *);
        if (!strcmp(b->spec, spec) && b->timeout_ms == timeout
            && b->retry_s == retry) {
            return b;
        }
    }
    b = apr_pcalloc(p, sizeof(*b));
    b->spec = spec;
    b->timeout_ms = timeout;
    b->retry_s = retry;
    /* validated when the directive was read */
    if (sc_store_parse(p, spec, &b->servers) != NULL) {
        return NULL;
    }
    APR_ARRAY_PUSH(made, sc_backend_t *) = b;
    return b;
}

int sc_config_post(apr_pool_t *pconf, server_rec *s)
{
    apr_array_header_t *made = apr_array_make(pconf, 2,
                                              sizeof(sc_backend_t *));

    for (; s; s = s->next) {
        sc_server_conf_t *c = ap_get_module_config(s->module_config,
                                                   &sharedcache_module);
        sc_dir_conf_t *d = ap_get_module_config(s->lookup_defaults,
                                                &sharedcache_module);

        if (!c->prefix) {
            c->prefix = SC_DEFAULT_PREFIX;
        }
        c->backend = find_or_make_backend(pconf, made, c);
        if (!c->backend) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SC_LOGNO(0101)
                         "SharedCacheServers: cannot be parsed");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (d) {
            sc_config_resolve(d);
            if (!d->statuses) {
                d->statuses = default_status_table(pconf);
            }
        }
    }
    return OK;
}
