/*
 * sc_config_server.c: the server directives (SharedCacheServers,
 * -FallbackServers, -Timeout, -RetryInterval, -Prefix, -Local and
 * -KeepDecoded are written out: they fill sc_server_conf_t), the server
 * config's create and merge, and post_config's backends, one per distinct
 * server list.
 */
#include "sc_config.h"
#include "sc_config_int.h"
#include "sc_pending.h"
#include "sc_key.h"
#include "sc_log.h"
#include "sc_unzipped.h"

#include "http_log.h"
#include <apr_lib.h>
#include <apr_strings.h>
#include <unistd.h>

APLOG_USE_MODULE(sharedcache);

void *sc_config_create_server(apr_pool_t *p, server_rec *s)
{
    sc_server_conf_t *c = apr_pcalloc(p, sizeof(*c));

    (void)s;
    c->timeout_ms = SC_UNSET;
    c->retry_s = SC_UNSET;
    c->stat_slot = -1;
    c->keep_decoded = SC_UNSET;
    return c;
}

void *sc_config_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    sc_server_conf_t *base = basev, *add = addv;
    sc_server_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->servers = add->servers ? add->servers : base->servers;
    c->fallback_servers = add->fallback_servers ? add->fallback_servers
                                                : base->fallback_servers;
    c->timeout_ms = add->timeout_ms != SC_UNSET ? add->timeout_ms
                                                : base->timeout_ms;
    c->retry_s = add->retry_s != SC_UNSET ? add->retry_s : base->retry_s;
    c->prefix = add->prefix ? add->prefix : base->prefix;
    c->quick = add->quick || base->quick;
    c->local_size = base->local_size; /* the main server's only */
    c->keep_decoded = base->keep_decoded;
    c->stat_slot = -1; /* given in post_config */
    return c;
}

sc_server_conf_t *sc_server_conf_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &sharedcache_module);
}

/* SharedCacheLocal: the size of the host's local tier, or Off; one for
 * the whole server (one segment, whatever the virtual host). */
const char *sc_server_local(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_off_t size = 0;
    apr_off_t phys = (apr_off_t)sysconf(_SC_PHYS_PAGES)
                     * (apr_off_t)sysconf(_SC_PAGESIZE);

    (void)dummy;
    if (err) {
        return err;
    }
    if (strcasecmp(arg, "off")) {
        err = sc_word_size(cmd, arg, &size);
        if (!err && size < 64 * 1024) {
            err = "SharedCacheLocal: at least 64K (or Off)";
        }
        /* The segment is only made at start-up: a size that cannot be
         * would pass configtest and stop a graceful restart. */
        if (!err && phys > 0 && size > phys / 2) {
            err = apr_psprintf(cmd->pool,
                               "SharedCacheLocal: %s is more than half of "
                               "this machine's memory (%" APR_INT64_T_FMT
                               " MiB)",
                               arg, (apr_int64_t)(phys >> 20));
        }
    }
    if (!err) {
        sc_server_conf_of(cmd)->local_size = size;
    }
    return err;
}

/* SharedCacheKeepDecoded: how much of the bodies it decoded for identity
 * clients a child keeps (sc_unzipped.h), or Off; one for the whole
 * server.  At most what the child's slots can hold. */
const char *sc_server_keep_decoded(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_off_t size = 0;

    (void)dummy;
    if (err) {
        return err;
    }
    if (strcasecmp(arg, "off")) {
        /* (0 and a size too large to parse: their own words, with Off) */
        if (sc_word_size(cmd, arg, &size)) {
            return apr_psprintf(cmd->pool,
                                "SharedCacheKeepDecoded: '%s' is not a size "
                                "(bytes, optionally with K or M, at most "
                                "%" APR_OFF_T_FMT "M) or Off",
                                arg, (apr_off_t)(SC_UNZIPPED_BUDGET_MAX >> 20));
        }
        if (size > (apr_off_t)SC_UNZIPPED_BUDGET_MAX) {
            err = apr_psprintf(cmd->pool,
                               "SharedCacheKeepDecoded: %s is more than a "
                               "child can keep (%d bodies of at most %d KiB "
                               "with their gzip forms: at most %" APR_OFF_T_FMT
                               "M, or Off)",
                               arg, SC_UNZIPPED_SLOTS, SC_UNZIPPED_MAX / 1024,
                               (apr_off_t)(SC_UNZIPPED_BUDGET_MAX >> 20));
        }
    }
    if (!err) {
        sc_server_conf_of(cmd)->keep_decoded = size;
    }
    return err;
}

apr_size_t sc_config_keep_decoded(const sc_server_conf_t *s)
{
    return s->keep_decoded == SC_UNSET ? SC_KEEP_DECODED_DEFAULT
                                       : (apr_size_t)s->keep_decoded;
}

/* SharedCacheServers and SharedCacheFallbackServers: a server list, checked
 * now, into the server config field the command table's entry names. */
const char *sc_server_servers(cmd_parms *cmd, void *field, const char *arg)
{
    apr_array_header_t *list;
    const char *err = sc_store_parse(cmd->pool, arg, &list);

    (void)field;
    if (err) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->directive->directive,
                            err);
    }
    *(const char **)((char *)sc_server_conf_of(cmd)
                     + (apr_size_t)cmd->info) = arg;
    return NULL;
}

const char *sc_server_timeout(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_int64_t v = 0;
    const char *err = sc_word_int(cmd, arg, 1, 60000, &v);

    (void)dummy;
    if (!err) {
        sc_server_conf_of(cmd)->timeout_ms = (int)v;
    }
    return err;
}

const char *sc_server_retry(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_int64_t v = 0;
    const char *err = sc_word_int(cmd, arg, 0, 3600, &v);

    (void)dummy;
    if (!err) {
        sc_server_conf_of(cmd)->retry_s = (int)v;
    }
    return err;
}

const char *sc_server_prefix(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    if (!sc_key_prefix_ok(arg)) {
        return apr_psprintf(cmd->pool,
                            "SharedCachePrefix: '%s' must be 1 "
                            "to %d printable characters without spaces",
                            arg, SC_PREFIX_MAX);
    }
    sc_server_conf_of(cmd)->prefix = arg;
    return NULL;
}

/* post_config: each server's backends, made once per distinct list. */
static sc_backend_t *find_or_make_backend(apr_pool_t *p,
                                          apr_array_header_t *made,
                                          const sc_server_conf_t *c,
                                          const char *spec)
{
    int timeout = c->timeout_ms != SC_UNSET ? c->timeout_ms
                                            : SC_DEFAULT_TIMEOUT_MS;
    int retry = c->retry_s != SC_UNSET ? c->retry_s : SC_DEFAULT_RETRY_S;
    sc_backend_t *b;
    int i;

    for (i = 0; i < made->nelts; i++) {
        b = APR_ARRAY_IDX(made, i, sc_backend_t *);
        /* the fence state of a backend is of one prefix's marks */
        if (!strcmp(b->spec, spec) && b->timeout_ms == timeout
            && b->retry_s == retry && !strcmp(b->prefix, c->prefix)) {
            return b;
        }
    }
    b = apr_pcalloc(p, sizeof(*b));
    b->spec = spec;
    b->prefix = c->prefix;
    b->timeout_ms = timeout;
    b->retry_s = retry;
    /* validated when the directive was read */
    if (sc_store_parse(p, spec, &b->servers) != NULL) {
        return NULL;
    }
    b->names = sc_store_names(p, b->servers);
    b->cluster = sc_pending_cluster(b->names, b->servers->nelts, b->prefix);
    APR_ARRAY_PUSH(made, sc_backend_t *) = b;
    return b;
}

int sc_server_post(apr_pool_t *pconf, server_rec *s)
{
    apr_array_header_t *made = apr_array_make(pconf, 2, sizeof(sc_backend_t *));

    for (; s; s = s->next) {
        sc_server_conf_t *c = ap_get_module_config(s->module_config,
                                                   &sharedcache_module);

        if (!c->prefix) {
            c->prefix = SC_DEFAULT_PREFIX;
        }
        c->backend = find_or_make_backend(
            pconf, made, c, c->servers ? c->servers : SC_DEFAULT_SERVERS);
        c->fallback = c->fallback_servers ? find_or_make_backend(
                          pconf, made, c, c->fallback_servers)
                                          : NULL;
        if (!c->backend) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         SC_LOGNO(0101) "SharedCacheServers: cannot be parsed");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}
