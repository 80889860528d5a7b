/*
 * sc_config.c: the directory directives, their defaults, merges and
 * validation, and the "Directive=value" text (see sc_config.h).  One word
 * of a directive is read in sc_config_words.c; the server directives and
 * the backends made in post_config are in sc_config_server.c.
 *
 * The directory directives are the table in sc_directives.def; to add
 * one, add its entry there (that file says how).  Here that table becomes
 * the array "directives" (one sc_directive_t each) and the command table,
 * whose entries point at them (cmd->info); creating, resolving, merging
 * and describing a directory config, and the variance checks, are loops
 * over the array that go by each entry's kind.  A word with rules of its
 * own is read by a .parse function (sc_config_words.c).
 */
#include "sc_config.h"
#include "sc_config_int.h"
#include "sc_pending.h"
#include "sc_key.h"
#include "sc_local.h"
#include "sc_log.h"

#include "http_log.h"
#include <apr_lib.h>
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

static const apr_int64_t ttl_limit = (apr_int64_t)10 * 365 * 24 * 3600;

/* The default SharedCacheStatuses (never written: a section that sets
 * statuses makes its own table). */
static unsigned char default_statuses[SC_MAX_STATUS + 1] = {
    [200] = 1, [203] = 1, [204] = 1, [300] = 1, [301] = 1, [302] = 1,
    [303] = 1, [307] = 1, [308] = 1, [404] = 1, [410] = 1
};

static const char *quick_conflict(cmd_parms *cmd, const sc_dir_conf_t *d);

/* The .check of SharedCacheQuickHandler. */
static const char *check_quick(cmd_parms *cmd, sc_dir_conf_t *d)
{
    const char *err = ap_check_cmd_context(cmd,
                                           NOT_IN_DIRECTORY | NOT_IN_FILES);

    if (err) {
        return apr_pstrcat(cmd->pool, err,
                           " (the quick handler runs "
                           "before the URL is mapped to a file)",
                           NULL);
    }
    if (d->quick == 1) {
        sc_server_conf_of(cmd)->quick = 1;
    }
    return quick_conflict(cmd, d);
}

/* ---- the table of directory directives -------------------------------- */

/* The kinds (sc_directives.def): numbers first. */
enum {
    SC_KIND_FLAG,
    SC_KIND_SECONDS,
    SC_KIND_SIZE,
    SC_KIND_STRING,
    SC_KIND_LIST,
    SC_KIND_LIST_REPLACE,
    SC_KIND_STATUSES
};

/* The roles (sc_directives.def): SC_VARIES includes SC_SHAPES_KEY. */
#define SC_SHAPES_KEY 1
#define SC_VARIES (2 | SC_SHAPES_KEY)

typedef struct {
    const char *name;
    int kind;
    apr_size_t offset; /* of the field in sc_dir_conf_t */
    apr_int64_t def;
    const char *def_str;
    apr_int64_t min;
    const char *(*parse)(cmd_parms *cmd, void *field, const char *arg);
    const char *(*check)(cmd_parms *cmd, sc_dir_conf_t *d);
    int role;
} sc_directive_t;

enum {
#define SC_DIR(d_name, d_kind, d_field, d_help, ...) DIR_##d_field,
#include "sc_directives.def"
#undef SC_DIR
    DIR_COUNT
};

static const sc_directive_t directives[DIR_COUNT] = {
#define SC_DIR(d_name, d_kind, d_field, d_help, ...) \
    { .name = d_name, \
      .kind = SC_KIND_##d_kind, \
      .offset = APR_OFFSETOF(sc_dir_conf_t, d_field), \
      __VA_ARGS__ },
#include "sc_directives.def"
#undef SC_DIR
};

/* The field of directive e in the directory config c, of type t. */
#define AT(t, c, e) (*(t *)((char *)(c) + (e)->offset))

static int is_number(const sc_directive_t *e)
{
    return e->kind <= SC_KIND_SIZE;
}

static apr_int64_t num_get(const sc_dir_conf_t *d, const sc_directive_t *e)
{
    switch (e->kind) {
    case SC_KIND_FLAG:
        return AT(int, d, e);
    case SC_KIND_SECONDS:
        return AT(apr_int64_t, d, e);
    default:
        return AT(apr_off_t, d, e);
    }
}

static void num_set(sc_dir_conf_t *d, const sc_directive_t *e, apr_int64_t v)
{
    switch (e->kind) {
    case SC_KIND_FLAG:
        AT(int, d, e) = (int)v;
        break;
    case SC_KIND_SECONDS:
        AT(apr_int64_t, d, e) = v;
        break;
    default:
        AT(apr_off_t, d, e) = (apr_off_t)v;
        break;
    }
}

static const void *ptr_get(const sc_dir_conf_t *d, const sc_directive_t *e)
{
    switch (e->kind) {
    case SC_KIND_STRING:
        return AT(const char *, d, e);
    case SC_KIND_STATUSES:
        return AT(unsigned char *, d, e);
    default:
        return AT(apr_array_header_t *, d, e);
    }
}

static void ptr_set(sc_dir_conf_t *d, const sc_directive_t *e, const void *v)
{
    switch (e->kind) {
    case SC_KIND_STRING:
        AT(const char *, d, e) = v;
        break;
    case SC_KIND_STATUSES:
        AT(unsigned char *, d, e) = (void *)v;
        break;
    default:
        AT(apr_array_header_t *, d, e) = (void *)v;
    }
}

static int is_set(const sc_dir_conf_t *d, const sc_directive_t *e)
{
    return is_number(e) ? num_get(d, e) != SC_UNSET : ptr_get(d, e) != NULL;
}

static int same_value(const sc_dir_conf_t *a, const sc_dir_conf_t *b,
                      const sc_directive_t *e)
{
    return is_number(e) ? num_get(a, e) == num_get(b, e)
                        : ptr_get(a, e) == ptr_get(b, e);
}

/* In a section, quick mode and the section's own variance exclude each
 * other: the quick handler runs before sections are merged. */
static const char *quick_conflict(cmd_parms *cmd, const sc_dir_conf_t *d)
{
    int i;

    if (!cmd->path || d->quick != 1) {
        return NULL;
    }
    for (i = 0; i < DIR_COUNT; i++) {
        if ((directives[i].role & SC_SHAPES_KEY) && is_set(d, &directives[i])) {
            return apr_psprintf(cmd->pool,
                                "%s: a section with "
                                "SharedCacheQuickHandler On cannot set its "
                                "own SharedCacheVaryBy*, SharedCacheVary, "
                                "SharedCacheBypassCookie/Header, "
                                "SharedCacheIgnoreQuery or "
                                "SharedCacheNamespace: the quick handler "
                                "runs before sections are merged.  Set them "
                                "for the whole virtual host instead",
                                cmd->cmd->name);
        }
    }
    return NULL;
}

/* After directive e is stored in d: its own check, and quick mode. */
static const char *stored(cmd_parms *cmd, sc_dir_conf_t *d,
                          const sc_directive_t *e)
{
    const char *err = e->check ? e->check(cmd, d) : NULL;

    if (!err && (e->role & SC_SHAPES_KEY)) {
        err = quick_conflict(cmd, d);
    }
    return err;
}

/* A FLAG directive (cmd->info: its entry). */
static const char *set_flag(cmd_parms *cmd, void *dv, int on)
{
    const sc_directive_t *e = cmd->info;

    AT(int, dv, e) = on ? 1 : 0;
    return stored(cmd, dv, e);
}

/* One word of any other directive (cmd->info: its entry). */
static const char *set_word(cmd_parms *cmd, void *dv, const char *arg)
{
    const sc_directive_t *e = cmd->info;
    void *field = (char *)dv + e->offset;
    const char *err = NULL;

    if (e->parse) {
        err = e->parse(cmd, field, arg);
    }
    else {
        switch (e->kind) {
        case SC_KIND_SECONDS:
            err = sc_word_int(cmd, arg, e->min, ttl_limit, field);
            break;
        case SC_KIND_SIZE:
            err = sc_word_size(cmd, arg, field);
            break;
        case SC_KIND_STATUSES:
            err = sc_word_statuses(cmd, arg, field);
            break;
        case SC_KIND_STRING:
            *(const char **)field = arg;
            break;
        default:
            sc_word_push(cmd, field, arg);
        }
    }
    return err ? err : stored(cmd, dv, e);
}

#define SC_CMD_FLAG(name, info, help) \
    AP_INIT_FLAG(name, set_flag, info, RSRC_CONF | ACCESS_CONF, help)
#define SC_CMD_TAKE1(name, info, help) \
    AP_INIT_TAKE1(name, set_word, info, RSRC_CONF | ACCESS_CONF, help)
#define SC_CMD_ITERATE(name, info, help) \
    AP_INIT_ITERATE(name, set_word, info, RSRC_CONF | ACCESS_CONF, help)
#define SC_CMD_SECONDS SC_CMD_TAKE1
#define SC_CMD_SIZE SC_CMD_TAKE1
#define SC_CMD_STRING SC_CMD_TAKE1
#define SC_CMD_LIST SC_CMD_ITERATE
#define SC_CMD_LIST_REPLACE SC_CMD_ITERATE
#define SC_CMD_STATUSES SC_CMD_ITERATE

const command_rec sc_config_cmds[] = {
    /* server context */
    AP_INIT_RAW_ARGS("SharedCacheFallbackServers", sc_server_servers,
                     (void *)APR_OFFSETOF(sc_server_conf_t, fallback_servers),
                     RSRC_CONF,
                     "the old memcached cluster during a "
                     "migration: read on a miss, never written"),
    AP_INIT_RAW_ARGS("SharedCacheServers", sc_server_servers,
                     (void *)APR_OFFSETOF(sc_server_conf_t, servers), RSRC_CONF,
                     "memcached servers: host:port ... or a unix socket "
                     "path"),
    AP_INIT_TAKE1("SharedCacheTimeout", sc_server_timeout, NULL, RSRC_CONF,
                  "memcached connect and I/O timeout in milliseconds"),
    AP_INIT_TAKE1("SharedCacheRetryInterval", sc_server_retry, NULL, RSRC_CONF,
                  "seconds a failed memcached server is skipped"),
    AP_INIT_TAKE1("SharedCachePrefix", sc_server_prefix, NULL, RSRC_CONF,
                  "prefix of every memcached key"),
    AP_INIT_TAKE1("SharedCacheLocal", sc_server_local, NULL, RSRC_CONF,
                  "size of this host's local tier in shared memory (K, M, "
                  "G allowed), or Off"),
    AP_INIT_TAKE1("SharedCacheKeepDecoded", sc_server_keep_decoded, NULL,
                  RSRC_CONF,
                  "bytes of decoded bodies each child keeps for identity "
                  "clients (K, M allowed, at most 8M), or Off (not 0)"),
/* directory context */
#define SC_DIR(d_name, d_kind, d_field, d_help, ...) \
    SC_CMD_##d_kind(d_name, (void *)&directives[DIR_##d_field], d_help),
#include "sc_directives.def"
#undef SC_DIR
    { NULL }
};

/* ---- directory config: create, resolve, merge ------------------------- */

void *sc_config_create_dir(apr_pool_t *p, char *dir)
{
    sc_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));
    int i;

    (void)dir;
    for (i = 0; i < DIR_COUNT; i++) {
        if (is_number(&directives[i])) {
            num_set(d, &directives[i], SC_UNSET);
        }
    }
    return d;
}

void sc_config_resolve(sc_dir_conf_t *d)
{
    int i;

    for (i = 0; i < DIR_COUNT; i++) {
        const sc_directive_t *e = &directives[i];

        if (is_set(d, e)) {
            continue;
        }
        if (is_number(e)) {
            num_set(d, e, e->def);
        }
        else if (e->kind == SC_KIND_STRING) {
            ptr_set(d, e, e->def_str);
        }
        else if (e->kind == SC_KIND_STATUSES) {
            ptr_set(d, e, default_statuses);
        }
        /* an unset list is an empty one */
    }
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
static apr_array_header_t *union_list(apr_pool_t *p, apr_array_header_t *base,
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
    int i;

    for (i = 0; i < DIR_COUNT; i++) {
        const sc_directive_t *e = &directives[i];

        if (e->kind == SC_KIND_LIST) {
            /* A section adds to the variance and bypass lists it
             * inherits: a <Location> keying on "currency" must not stop
             * keying on the site's "sessionid" (one user's page would
             * reach another). */
            ptr_set(d, e,
                    union_list(p, AT(apr_array_header_t *, base, e),
                               AT(apr_array_header_t *, add, e)));
        }
        else if (is_number(e)) {
            num_set(d, e, num_get(is_set(add, e) ? add : base, e));
        }
        else {
            ptr_set(d, e, ptr_get(is_set(add, e) ? add : base, e));
        }
    }
    /* No defaults here: httpd merges matching sections with each other
     * before merging the result over the server's base, and a default
     * filled in that first merge would override what the base sets.  The
     * bases get their defaults in post_config, so every request's final
     * merge is complete. */
    return d;
}

/* ---- variance --------------------------------------------------------- */

int sc_config_same_variance(const sc_dir_conf_t *d, const sc_dir_conf_t *base)
{
    int i;

    for (i = 0; i < DIR_COUNT; i++) {
        if ((directives[i].role & SC_SHAPES_KEY)
            && !same_value(d, base, &directives[i])) {
            return 0;
        }
    }
    return 1;
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
    int i;

    for (i = 0; i < DIR_COUNT; i++) {
        const sc_directive_t *e = &directives[i];

        if (e->role != SC_VARIES) {
            continue;
        }
        if (e->kind == SC_KIND_FLAG) {
            if (num_get(frag, e) == 1 && num_get(page, e) != 1) {
                return 0;
            }
        }
        else if (e->kind == SC_KIND_LIST || e->kind == SC_KIND_LIST_REPLACE) {
            if (!names_within(AT(apr_array_header_t *, frag, e),
                              AT(apr_array_header_t *, page, e))) {
                return 0;
            }
        }
        else if (!same_value(frag, page, e)) {
            return 0;
        }
    }
    return 1;
}

/* ---- describe --------------------------------------------------------- */

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

static const char *value_text(apr_pool_t *p, const sc_dir_conf_t *d,
                              const sc_directive_t *e)
{
    switch (e->kind) {
    case SC_KIND_FLAG:
        return num_get(d, e) == SC_AUTO ? "auto"
               : num_get(d, e) == 1     ? "On"
                                        : "Off";
    case SC_KIND_STRING:
        return AT(const char *, d, e) ? AT(const char *, d, e) : "-";
    case SC_KIND_STATUSES:
        return statuses_text(p, AT(unsigned char *, d, e));
    case SC_KIND_LIST:
    case SC_KIND_LIST_REPLACE:
        return list_text(p, AT(apr_array_header_t *, d, e));
    default:
        return apr_psprintf(p, "%" APR_INT64_T_FMT, num_get(d, e));
    }
}

/* A server list as one word. */
static char *commas(apr_pool_t *p, const char *spec)
{
    char *out = apr_pstrdup(p, spec), *c;

    for (c = out; *c; c++) {
        if (apr_isspace(*c)) {
            *c = ',';
        }
    }
    return out;
}

const char *sc_config_describe(apr_pool_t *p, const sc_server_conf_t *s,
                               const sc_dir_conf_t *d)
{
    const sc_backend_t *b = s->backend;
    char *servers = apr_pstrdup(p, b ? b->spec : "-"), *c;
    apr_array_header_t *out = apr_array_make(p, DIR_COUNT + 1,
                                             sizeof(const char *));
    int i;

    for (c = servers; *c; c++) {
        if (apr_isspace(*c)) {
            *c = ',';
        }
    }
    APR_ARRAY_PUSH(out, const char *) = apr_psprintf(
        p,
        "SharedCacheServers=%s SharedCacheTimeout=%d "
        "SharedCacheRetryInterval=%d SharedCachePrefix=%s",
        servers, b ? b->timeout_ms : -1, b ? b->retry_s : -1, s->prefix);
    APR_ARRAY_PUSH(out, const char *) = apr_psprintf(
        p, "SharedCacheFallbackServers=%s",
        s->fallback ? commas(p, s->fallback->spec) : "-");
    APR_ARRAY_PUSH(out, const char *) =
        s->local_size > 0
            ? apr_psprintf(p, "SharedCacheLocal=%" APR_OFF_T_FMT, s->local_size)
            : "SharedCacheLocal=Off";
    APR_ARRAY_PUSH(out, const char *) =
        sc_config_keep_decoded(s) > 0
            ? apr_psprintf(p, "SharedCacheKeepDecoded=%" APR_SIZE_T_FMT,
                           sc_config_keep_decoded(s))
            : "SharedCacheKeepDecoded=Off";
    for (i = 0; i < DIR_COUNT; i++) {
        APR_ARRAY_PUSH(out, const char *) = apr_psprintf(
            p, "%s=%s", directives[i].name, value_text(p, d, &directives[i]));
    }
    return apr_array_pstrcat(p, out, ' ');
}

int sc_config_post(apr_pool_t *pconf, server_rec *s)
{
    int rv = sc_server_post(pconf, s);

    for (; rv == OK && s; s = s->next) {
        sc_dir_conf_t *d = ap_get_module_config(s->lookup_defaults,
                                                &sharedcache_module);
        if (d) {
            sc_config_resolve(d);
        }
    }
    return rv;
}
