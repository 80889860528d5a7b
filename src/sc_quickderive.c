/*
 * sc_quickderive.c: the sections that derive variables or headers from a
 * request after the quick phase (SetEnvIf, BrowserMatch, RequestHeader)
 * and mod_headers' conditional Header directives (read from the
 * configuration tree at start-up, for sc_quickcheck.c).
 */
#include "sc_conftree.h"

#include <apr_lib.h>
#include <apr_strings.h>

/* What mod_setenvif's attribute (SetEnvIf's first word) reads: the
 * client's or the local address, a variable (mod_geoip's country, one an
 * earlier SetEnvIf set), or what the client sends (a header, a regex of
 * header names, the request line). */
static sc_reads_t setenvif_reads(apr_pool_t *p, const ap_directive_t *d)
{
    static const char *const is[] = { "Remote_Addr", "Remote_Host",
                                      "Server_Addr", NULL };
    const char *args = d->args ? d->args : "";
    const char *attr = ap_getword_conf(p, &args);
    const char *const *v;
    const char *c;

    if (!strcasecmp(d->directive, "SetEnvIfExpr")) {
        return SC_READS_IS;
    }
    if (!strncasecmp(d->directive, "BrowserMatch", 12)) {
        return SC_READS_SENT;
    }
    for (v = is; *v; v++) {
        if (!strcasecmp(attr, *v)) {
            return SC_READS_IS;
        }
    }
    for (c = attr; *c && (apr_isalnum(*c) || *c == '_'); c++) {
    }
    return !*c && strchr(attr, '_') && strncasecmp(attr, "Request_", 8)
               ? SC_READS_IS
               : SC_READS_SENT;
}

/* What mod_headers' RequestHeader derives from: a condition (its last
 * word, after the value and an edit's replacement) that is an expression
 * may pick the clients it marks by what they are; a value of the client
 * (a %-variable, an expression: "expr=%{REMOTE_ADDR}") or a condition on
 * a variable differs from client to client like what they send: the
 * probe's own value is not the storing client's, and keeps the entry out
 * of the quick phase. */
static sc_reads_t request_header_reads(apr_pool_t *p, const char *args)
{
    const char *word[5] = { "", "", "", "", "" };
    const char *cond;
    int n, at;

    for (n = 0; n < 5 && *args; n++) {
        word[n] = ap_getword_conf(p, &args);
    }
    at = !strcasecmp(word[0], "unset")      ? 2
         : !strncasecmp(word[0], "edit", 4) ? 4
                                            : 3;
    cond = word[at];
    if (!strcasecmp(cond, "early")) {
        return SC_READS_NOTHING; /* before the quick phase: in its key */
    }
    if (!strncasecmp(cond, "expr=", 5)) {
        return SC_READS_IS;
    }
    if (!strncasecmp(cond, "env=", 4) || strchr(word[2], '%')
        || !strncasecmp(word[2], "expr=", 5)
        || (at == 4 && strchr(word[3], '%'))) {
        return SC_READS_SENT;
    }
    return SC_READS_NOTHING;
}

/* What a section derives from the request after the quick phase: a
 * per-directory SetEnvIf or BrowserMatch, a RequestHeader with env=,
 * expr= or a %-variable (anywhere: it runs at fixups).  The quick phase
 * keys a request before they run: those on what a client sends go into
 * said, those on what it is (marking, perhaps, the clients an application
 * refuses) into refused. */
void sc_quick_derivers(apr_pool_t *p, const ap_directive_t *d,
                       const ap_directive_t *vhost, int in_section,
                       apr_array_header_t *said, apr_array_header_t *refused)
{
    for (; d; d = d->next) {
        const char *n = d->directive;
        sc_reads_t reads = SC_READS_NOTHING;

        if (in_section
            && (!strncasecmp(n, "SetEnvIf", 8)
                || !strncasecmp(n, "BrowserMatch", 12))) {
            reads = setenvif_reads(p, d);
        }
        else if (!strcasecmp(n, "RequestHeader") && d->args) {
            reads = request_header_reads(p, d->args);
        }
        if (reads != SC_READS_NOTHING) {
            apr_array_header_t *list = reads == SC_READS_IS ? refused : said;
            if (list) {
                sc_tree_push(p, list, d, vhost);
            }
        }
        if (d->first_child && sc_tree_is(d, "<VirtualHost")) {
            sc_quick_derivers(p, d->first_child, d, 0, said, refused);
        }
        else if (d->first_child) {
            /* <IfModule> and <IfDefine> only wrap what they hold */
            int wraps = sc_tree_is(d, "<IfModule")
                        || sc_tree_is(d, "<IfDefine");
            sc_quick_derivers(p, d->first_child, vhost, in_section || !wraps,
                              said, refused);
        }
    }
}

/* The last word of a directive's arguments ("" when none). */
static const char *last_word(apr_pool_t *p, const char *args)
{
    const char *w, *last = "";

    while (*(w = ap_getword_conf(p, &args))) {
        last = w;
    }
    return last;
}

/* mod_headers' Header with a condition (env=, expr=): evaluated for each
 * response, so for a stored entry only for the client whose request
 * stored it; a quick hit (or a page that includes the fragment directly)
 * carries the stored headers to any other client.  Not one set early:
 * it runs for each request, before the quick phase, and its field is
 * never stored (sc_parity.c). */
void sc_quick_header_conditions(apr_pool_t *p, const ap_directive_t *d,
                                const ap_directive_t *vhost,
                                apr_array_header_t *found)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "Header") && d->args
            && (ap_strstr_c(d->args, "env=") || ap_strstr_c(d->args, "expr="))
            && strcasecmp(last_word(p, d->args), "early")) {
            sc_tree_push(p, found, d, vhost);
        }
        if (d->first_child) {
            sc_quick_header_conditions(
                p, d->first_child, sc_tree_is(d, "<VirtualHost") ? d : vhost,
                found);
        }
    }
}
