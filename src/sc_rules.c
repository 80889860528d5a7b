/*
 * sc_rules.c: the configuration's rules that derive request state, as the
 * key and the fragment check need to know them.  Read at start-up from
 * the configuration tree (the headers RequestHeader directives name, a
 * RequestHeader that depends on the request, a server-level RewriteRule
 * that applies to subrequests) and per request from the .htaccess files
 * httpd read for it; whether such rules may reach a fragment; which
 * filters are still the modules' own (not an administrator's of the same
 * name).
 */
#include "sc_request.h"
#include "sc_conftree.h"
#include "sc_log.h"

#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "util_cfgtree.h"
#include <apr_sha1.h>
#include <apr_strings.h>

APLOG_USE_MODULE(sharedcache);

/* Request headers that a RequestHeader directive names anywhere in the
 * configuration (lower case; read at start-up): their values are keyed
 * whoever set them, the client or the configuration. */
static apr_array_header_t *configured_headers;

static void collect_request_headers(apr_pool_t *p, ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "RequestHeader") && d->args) {
            const char *args = d->args;
            char *action = ap_getword_conf(p, &args);
            char *name = ap_getword_conf(p, &args);
            (void)action;
            if (*name) {
                ap_str_tolower(name);
                APR_ARRAY_PUSH(configured_headers, const char *) = name;
            }
        }
        if (d->first_child) {
            collect_request_headers(p, d->first_child);
        }
    }
}

/* mod_headers' formats that differ on (almost) every request and that
 * the key cannot mark (sc_derive.c marks %t and %{UNIQUE_ID}e): the time
 * the request has taken (%D), the load (%l), idle and busy workers (%i,
 * %b).  The first found in a value, or NULL. */
static const char *changing_format(const char *value)
{
    static const char *const formats[] = { "%D", "%l", "%i", "%b", NULL };
    const char *const *f;

    for (f = formats; *f; f++) {
        if (ap_strstr_c(value, *f)) {
            return *f;
        }
    }
    return NULL;
}

static void warn_changing(apr_pool_t *p, server_rec *s, ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "RequestHeader") && d->args) {
            const char *args = d->args;
            char *action = ap_getword_conf(p, &args);
            char *name = ap_getword_conf(p, &args);
            char *value = ap_getword_conf(p, &args);
            const char *f = changing_format(value);

            if (f && strcasecmp(action, "unset") && *name) {
                ap_log_error(
                    APLOG_MARK, APLOG_WARNING, 0, s,
                    SC_LOGNO(0116) "RequestHeader %s %s (%s:%d): %s differs "
                                   "on every request, and the header is "
                                   "keyed: pages it is set for are rendered "
                                   "and stored each time, never a hit",
                    action, name, d->filename, d->line_num, f);
            }
        }
        if (d->first_child) {
            warn_changing(p, s, d->first_child);
        }
    }
}

void sc_rules_warn_changing_headers(apr_pool_t *p, server_rec *s)
{
    warn_changing(p, s, ap_conftree);
}

/* What may derive request state for a subrequest that its parent's
 * request did not (sc_rules_reach): the modules whose
 * per-directory configuration holds such rules, whether a RequestHeader
 * anywhere depends on the request (a condition, a %-variable in its
 * value) and whether a server-level RewriteRule applies to subrequests
 * (no [NS]). */
static module *setenvif_module_p, *rewrite_module_p, *headers_module_p;
static module *proxy_fcgi_module_p;
/* ProxyFCGISetEnvIf in the main server, outside any section (its virtual
 * hosts inherit it; their own are seen in their lookup defaults). */
static int fcgi_env_main;
static int request_header_rules, server_rewrites;
/* SSIStartTag or SSIEndTag somewhere: SSI the watch cannot read. */
static int ssi_tags;
/* ProxyHTMLInterp On somewhere: mod_proxy_html's URL maps may read the
 * request (a condition, ${VAR}). */
static int proxy_html_interp;
/* A FilterDeclare or FilterProvider of a "BYTYPE:" filter somewhere:
 * AddOutputFilterByType's chains may run another filter than they name. */
static int bytype_declared;
/* an AllowOverrideList other than None anywhere (not allowed in
 * .htaccess files) */
static int override_lists;

static int dir_section(const char *name)
{
    static const char *const sections[] = {
        "<Location", "<LocationMatch", "<Directory",  "<DirectoryMatch",
        "<Files",    "<FilesMatch",    "<If",         "<ElseIf",
        "<Else",     "<Proxy",         "<ProxyMatch", NULL
    };
    const char *const *s;

    for (s = sections; *s; s++) {
        if (!strcasecmp(name, *s)) {
            return 1;
        }
    }
    return 0;
}

/* Does a RewriteRule's flag list ("[L,NS]") hold NS or nosubreq? */
static int rewrite_flags_ns(apr_pool_t *p, const char *flags)
{
    static const char *const ns[] = { "ns", "nosubreq", NULL };

    return sc_tree_rewrite_flag(p, flags, ns);
}

static int in_main_server(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "ProxyFCGISetEnvIf")) {
            return 1;
        }
        if (d->first_child && !dir_section(d->directive)
            && !sc_tree_is(d, "<VirtualHost")
            && in_main_server(d->first_child)) {
            return 1;
        }
    }
    return 0;
}

static void find_derivers(apr_pool_t *p, ap_directive_t *d, int in_dir)
{
    for (; d; d = d->next) {
        int dir = in_dir || dir_section(d->directive);
        if (!strcasecmp(d->directive, "RequestHeader") && d->args
            && (ap_strstr_c(d->args, "env=") || ap_strstr_c(d->args, "expr=")
                || strchr(d->args, '%'))) {
            request_header_rules = 1;
        }
        if (!strcasecmp(d->directive, "SSIStartTag")
            || !strcasecmp(d->directive, "SSIEndTag")) {
            ssi_tags = 1;
        }
        /* (not in .htaccess: mod_proxy_html allows it in the server's
         * files only) */
        if (!strcasecmp(d->directive, "ProxyHTMLInterp") && d->args
            && strcasecmp(d->args, "off")) {
            proxy_html_interp = 1;
        }
        if (!strcasecmp(d->directive, "AllowOverrideList") && d->args) {
            const char *args = d->args;
            if (strcasecmp(ap_getword_conf(p, &args), "None")) {
                override_lists = 1;
            }
        }
        if ((!strcasecmp(d->directive, "FilterDeclare")
             || !strcasecmp(d->directive, "FilterProvider"))
            && d->args) {
            const char *args = d->args; /* (the name may be quoted) */
            if (!strncasecmp(ap_getword_conf(p, &args), "BYTYPE:", 7)) {
                bytype_declared = 1;
            }
        }
        if (!strcasecmp(d->directive, "RewriteRule") && !in_dir && d->args) {
            const char *word[3]; /* pattern, substitution, flags */
            sc_tree_rewrite_args(p, d->args, word);
            if (!rewrite_flags_ns(p, word[2])) {
                server_rewrites = 1;
            }
        }
        if (d->first_child) {
            find_derivers(p, d->first_child, dir);
        }
    }
}

/* The configuration's tag: 24 bits of a digest of the whole parsed tree
 * (directives, arguments, sections; Include'd files, <IfModule> and
 * Define already resolved), made at each start and reload. */
static apr_uint32_t config_tag;

static void digest_tree(apr_sha1_ctx_t *c, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        const char *args = d->args ? d->args : "";

        apr_sha1_update_binary(c, (const unsigned char *)d->directive,
                               (unsigned int)strlen(d->directive) + 1);
        apr_sha1_update_binary(c, (const unsigned char *)args,
                               (unsigned int)strlen(args) + 1);
        if (d->first_child) {
            apr_sha1_update_binary(c, (const unsigned char *)"{", 1);
            digest_tree(c, d->first_child);
            apr_sha1_update_binary(c, (const unsigned char *)"}", 1);
        }
    }
}

static apr_uint32_t make_config_tag(void)
{
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    apr_sha1_ctx_t c;
    apr_uint32_t tag;

    apr_sha1_init(&c);
    digest_tree(&c, ap_conftree);
    apr_sha1_final(digest, &c);
    tag = (apr_uint32_t)digest[0] << 16 | (apr_uint32_t)digest[1] << 8
          | digest[2];
    return tag ? tag : 1; /* 0: an entry stored before tags */
}

apr_uint32_t sc_rules_config_tag(void)
{
    return config_tag;
}

void sc_rules_post_config(apr_pool_t *pconf)
{
    config_tag = make_config_tag();
    configured_headers = apr_array_make(pconf, 4, sizeof(const char *));
    collect_request_headers(pconf, ap_conftree);
    setenvif_module_p = ap_find_linked_module("mod_setenvif.c");
    rewrite_module_p = ap_find_linked_module("mod_rewrite.c");
    headers_module_p = ap_find_linked_module("mod_headers.c");
    proxy_fcgi_module_p = ap_find_linked_module("mod_proxy_fcgi.c");
    fcgi_env_main = proxy_fcgi_module_p && in_main_server(ap_conftree);
    request_header_rules = server_rewrites = ssi_tags = 0;
    proxy_html_interp = bytype_declared = override_lists = 0;
    find_derivers(pconf, ap_conftree, 0);
}

/* Has a section (a <Location>, <Directory>, .htaccess ...) given r rules
 * of module m beyond the virtual host's own? */
static int section_rules(const request_rec *r, module *m)
{
    return m
           && ap_get_module_config(r->per_dir_config, m)
                  != ap_get_module_config(r->server->lookup_defaults, m);
}

int sc_rules_fcgi_env(const request_rec *r)
{
    module *m = proxy_fcgi_module_p;

    /* (a section's or an .htaccess file's ProxyFCGIBackendType counts
     * too: its settings are one record) */
    return m
           && (fcgi_env_main || section_rules(r, m)
               || ap_get_module_config(r->server->lookup_defaults, m)
                      != ap_get_module_config(ap_server_conf->lookup_defaults,
                                              m));
}

static const char *htaccess_request_headers(request_rec *r,
                                            apr_array_header_t *out);

const char *sc_rules_reach(request_rec *r)
{
    core_dir_config *cr = ap_get_core_module_config(r->per_dir_config);
    apr_array_header_t *named;
    const char *why;

    if (server_rewrites) {
        return "a server-level RewriteRule without [NS] applies to it";
    }
    if (section_rules(r, setenvif_module_p)) {
        return "SetEnvIf rules of a section";
    }
    if (section_rules(r, rewrite_module_p)) {
        return "RewriteRules of a section";
    }
    if (request_header_rules) {
        return "a RequestHeader that depends on the request";
    }
    if (cr && cr->sec_if && cr->sec_if->nelts) {
        return "<If> sections";
    }
    named = apr_array_make(r->pool, 2, sizeof(const char *));
    why = htaccess_request_headers(r, named);
    if (why || named->nelts) {
        return "RequestHeader rules of an .htaccess file";
    }
    return NULL;
}

/* The header names RequestHeader lines name in the .htaccess files httpd
 * read for r (the start-up walk cannot see them), read again here as
 * httpd itself reads them for every request; why they cannot be known,
 * or NULL.  Continuation lines are joined; a NUL ends a line. */
static const char *htaccess_text_headers(request_rec *r, char *text,
                                         apr_size_t len,
                                         apr_array_header_t *out)
{
    apr_size_t i, j;
    char *line, *last;

    for (i = 0; i < len; i++) {
        if (text[i] == '\0' || text[i] == '\r') {
            text[i] = '\n';
        }
    }
    /* "\" at the end of a line continues it */
    for (i = 0, j = 0; i < len; i++) {
        if (text[i] == '\\' && i + 1 < len && text[i + 1] == '\n') {
            i++;
            continue;
        }
        text[j++] = text[i];
    }
    text[j] = '\0';
    for (line = apr_strtok(text, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        const char *args = line;
        char *word = ap_getword_conf(r->pool, &args);
        if (!strcasecmp(word, "Use") || !strcasecmp(word, "Include")
            || !strcasecmp(word, "IncludeOptional")) {
            return "an .htaccess file includes text the module cannot read";
        }
        if (sc_code_hook(word + (*word == '<'))) {
            return "an .htaccess file runs a mod_lua hook, which may change "
                   "the request";
        }
        if (!strcasecmp(word, "RequestHeader")) {
            (void)ap_getword_conf(r->pool, &args); /* the action */
            word = ap_getword_conf(r->pool, &args);
            if (*word) {
                ap_str_tolower(word);
                APR_ARRAY_PUSH(out, const char *) = word;
            }
        }
    }
    return NULL;
}

static const char *htaccess_request_headers(request_rec *r,
                                            apr_array_header_t *out)
{
    core_server_config *sc = ap_get_core_module_config(
        r->server->module_config);
    const struct htaccess_result *h;

    for (h = r->htaccess; h; h = h->next) {
        const char *names = sc->access_name;
        char *name;

        if (!h->htaccess || !h->dir) {
            continue; /* no file there */
        }
        while (*(name = ap_getword_conf(r->pool, &names))) {
            apr_file_t *f;
            apr_finfo_t fi;
            apr_size_t len;
            char *text;
            const char *why;
            const char *path = apr_pstrcat(r->pool, h->dir, name, NULL);

            if (apr_file_open(&f, path, APR_READ, 0, r->pool) != APR_SUCCESS) {
                continue; /* httpd did not read it either */
            }
            if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS
                || fi.size > 4 * 1024 * 1024) {
                apr_file_close(f);
                return "an .htaccess file too large to read again";
            }
            len = (apr_size_t)fi.size;
            text = apr_palloc(r->pool, len + 1);
            if (apr_file_read_full(f, text, len, &len) != APR_SUCCESS
                && len != (apr_size_t)fi.size) {
                apr_file_close(f);
                return "an .htaccess file that could not be read again";
            }
            apr_file_close(f);
            why = htaccess_text_headers(r, text, len, out);
            if (why) {
                return why;
            }
        }
    }
    return NULL;
}

const char *sc_rules_request_headers(request_rec *r, apr_array_header_t *named)
{
    if (configured_headers) {
        apr_array_cat(named, configured_headers);
    }
    return htaccess_request_headers(r, named);
}

/* The filters trusted before the cache (sc_snapshot.c says which and
 * why); mod_include only right behind the SSI watch (sc_fragment.c). */
static const char *const known[] = { "substitute", "sed",      "proxy-html",
                                     "xml2enc",    "inflate",  "buffer",
                                     "old_write",  "includes", NULL };
/* What each module registered for its name, seen at pre_config: the
 * configuration is read after it, and ExtFilterDefine, LuaOutputFilter
 * and FilterDeclare register the administrator's names in the same
 * registry (httpd then keeps the record of the name and replaces its
 * function: an ext filter called "sed" is not mod_sed). */
static ap_out_filter_func known_func[sizeof(known) / sizeof(known[0])];

void sc_filters_pre_config(void)
{
    int i;

    for (i = 0; known[i]; i++) {
        ap_filter_rec_t *frec = ap_get_output_filter_handle(known[i]);
        known_func[i] = frec ? frec->filter_func.out_func : NULL;
    }
}

ap_filter_rec_t *sc_filter_genuine(const char *name)
{
    int i;

    for (i = 0; known[i]; i++) {
        if (!strcasecmp(name, known[i])) {
            ap_filter_rec_t *frec = ap_get_output_filter_handle(known[i]);
            return frec && known_func[i]
                           && frec->filter_func.out_func == known_func[i]
                       ? frec
                       : NULL;
        }
    }
    return NULL;
}

int sc_htaccess_applies(const request_rec *r, int may)
{
    const struct htaccess_result *h;

    /* httpd looks for a file (and keeps a result) only in directories
     * where AllowOverride or AllowOverrideList allows something (or
     * where AllowOverride is not set: OR_UNSET, nothing allowed); the
     * result has the directory's AllowOverride bits but not its list,
     * and a subdirectory's "AllowOverrideList None" does not stop the
     * parent's file from applying */
    for (h = r->htaccess; h; h = h->next) {
        if (h->htaccess
            || (may
                && ((h->override & OR_ALL) || !(h->override & OR_UNSET)
                    || override_lists))) {
            return 1;
        }
    }
    return 0;
}

int sc_rules_ssi_tags(void)
{
    return ssi_tags;
}

int sc_rules_proxy_html_interp(void)
{
    return proxy_html_interp;
}

int sc_rules_bytype_declared(void)
{
    return bytype_declared;
}
