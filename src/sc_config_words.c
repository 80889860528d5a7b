/*
 * sc_config_words.c: one word of a directive, read and checked: numbers,
 * sizes, statuses, and the .parse functions of sc_directives.def (cookie
 * and header names, parameter globs, expressions, ESI modes and tokens).
 * An error names the directive.
 */
#include "sc_config.h"
#include "sc_config_int.h"
#include "sc_local.h"
#include "sc_pending.h"
#include "sc_key.h"
#include "sc_log.h"

#include "http_log.h"
#include <apr_lib.h>
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

const char *sc_word_int(cmd_parms *cmd, const char *arg, apr_int64_t min,
                        apr_int64_t max, apr_int64_t *out)
{
    char *end;
    apr_int64_t v = 0;

    if (!*arg) {
        return apr_psprintf(cmd->pool, "%s: a number is required",
                            cmd->cmd->name);
    }
    v = apr_strtoi64(arg, &end, 10);
    if (*end || v < min || v > max) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a whole number "
                            "from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, min, max);
    }
    *out = v;
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

const char *sc_word_size(cmd_parms *cmd, const char *arg, apr_off_t *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    apr_int64_t unit = 1;

    if (end != arg && *end) {
        switch (*end) {
        case 'k':
        case 'K':
            unit = 1024;
            end++;
            break;
        case 'm':
        case 'M':
            unit = 1024 * 1024;
            end++;
            break;
        case 'g':
        case 'G':
            unit = 1024 * 1024 * 1024;
            end++;
            break;
        }
    }
    if (end == arg || *end || v < 1 || v > ((apr_int64_t)1 << 40) / unit) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a size in bytes (a "
                            "number, optionally with K, M or G)",
                            cmd->cmd->name, arg);
    }
    *out = (apr_off_t)(v * unit);
    return NULL;
}

const char *sc_word_statuses(cmd_parms *cmd, const char *arg,
                             unsigned char **table)
{
    apr_int64_t code = 0;
    const char *err = sc_word_int(cmd, arg, 100, SC_MAX_STATUS, &code);

    if (err) {
        return err;
    }
    /* Errors the cache must never store, whatever is configured
     * (THREATS 12): 5xx, 206 Partial Content, 304 Not Modified. */
    if (code >= 500 || code == 206 || code == 304) {
        return apr_psprintf(cmd->pool,
                            "%s: %s may never be stored (5xx, "
                            "206 and 304 are refused)",
                            cmd->cmd->name, arg);
    }
    if (!*table) {
        *table = apr_pcalloc(cmd->pool, SC_MAX_STATUS + 1);
    }
    (*table)[code] = 1;
    return NULL;
}

void sc_word_push(cmd_parms *cmd, void *field, const char *text)
{
    apr_array_header_t **list = field;

    if (!*list) {
        *list = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    APR_ARRAY_PUSH(*list, const char *) = text;
}

/* The .parse functions of sc_directives.def: field is the directive's
 * field in the directory config. */

const char *sc_word_cookie(cmd_parms *cmd, void *field, const char *arg)
{
    if (!is_token(arg)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a cookie name",
                            cmd->cmd->name, arg);
    }
    sc_word_push(cmd, field, arg);
    return NULL;
}

const char *sc_word_header(cmd_parms *cmd, void *field, const char *arg)
{
    char *name;

    if (!is_token(arg) || strlen(arg) > SC_HEADER_NAME_MAX) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a header name (a "
                            "token of at most %d characters)",
                            cmd->cmd->name, arg, SC_HEADER_NAME_MAX);
    }
    name = apr_pstrdup(cmd->pool, arg);
    ap_str_tolower(name);
    sc_word_push(cmd, field, name);
    return NULL;
}

const char *sc_word_glob(cmd_parms *cmd, void *field, const char *arg)
{
    const char *s;

    for (s = arg; *s; s++) {
        if (!apr_isgraph(*s) || *s == '&' || *s == '=') {
            return apr_psprintf(cmd->pool,
                                "%s: '%s' is not a parameter "
                                "name or glob",
                                cmd->cmd->name, arg);
        }
    }
    sc_word_push(cmd, field, arg);
    return NULL;
}

const char *sc_word_expr(cmd_parms *cmd, void *field, const char *arg)
{
    apr_array_header_t **list = field;
    const char *err = NULL;
    sc_vary_expr_t *v;

    if (!*list) {
        *list = apr_array_make(cmd->pool, 2, sizeof(sc_vary_expr_t));
    }
    v = apr_array_push(*list);
    v->text = arg;
    v->expr = ap_expr_parse_cmd(cmd, arg, AP_EXPR_FLAG_STRING_RESULT, &err,
                                NULL);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: cannot parse '%s': %s",
                            cmd->cmd->name, arg, err);
    }
    return NULL;
}

const char *sc_word_header_name(cmd_parms *cmd, void *field, const char *arg)
{
    if (!is_token(arg)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a header name",
                            cmd->cmd->name, arg);
    }
    *(const char **)field = arg;
    return NULL;
}

const char *sc_word_namespace(cmd_parms *cmd, void *field, const char *arg)
{
    if (!sc_key_tag_ok(arg)) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' must be 1 to %d printable "
                            "characters without spaces",
                            cmd->cmd->name, arg, SC_TAG_MAX);
    }
    *(const char **)field = arg;
    return NULL;
}

/* SharedCacheLocalTTL: whole seconds, 0 to SC_LOCAL_TTL_MAX. */
const char *sc_word_local_ttl(cmd_parms *cmd, void *field, const char *arg)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (end == arg || *end || v < 0 || v > SC_LOCAL_TTL_MAX) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a whole number of seconds from "
                            "0 to %d (the local tier serves without asking "
                            "memcached: other hosts' invalidations wait that "
                            "long)",
                            cmd->cmd->name, arg, SC_LOCAL_TTL_MAX);
    }
    *(apr_int64_t *)field = v;
    return NULL;
}

/* SharedCacheESI: stored as one of the three spellings below, so a
 * request compares pointers (sc_config.h). */
const char sc_esi_off[] = "Off", sc_esi_on[] = "On", sc_esi_force[] = "Force";

const char *sc_word_esi_mode(cmd_parms *cmd, void *field, const char *arg)
{
    const char *const modes[] = { sc_esi_off, sc_esi_on, sc_esi_force };
    int i;

    for (i = 0; i < 3; i++) {
        if (!strcasecmp(arg, modes[i])) {
            *(const char **)field = modes[i];
            return NULL;
        }
    }
    return apr_psprintf(cmd->pool, "%s: '%s' is not Off, On or Force",
                        cmd->cmd->name, arg);
}

/* SharedCacheESIToken: a token of Surrogate-Capability's grammar. */
const char *sc_word_esi_token(cmd_parms *cmd, void *field, const char *arg)
{
    if (!is_token(arg)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a token",
                            cmd->cmd->name, arg);
    }
    *(const char **)field = arg;
    return NULL;
}
