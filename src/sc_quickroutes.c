/*
 * sc_quickroutes.c: the sections quick mode cannot key as httpd would
 * route: RewriteRules that route by what the client sends, and sections
 * that derive variables or headers from it (read from the configuration
 * tree at start-up, for sc_quickcheck.c's warnings and refusals).
 */
#include "sc_conftree.h"

#include "http_core.h"
#include "util_cfgtree.h"
#include <apr_strings.h>

/* A RewriteCond whose test may differ from client to client (or over
 * time) for one URL: anything but the URL, the host and the server (an
 * expr= condition may read anything).  Request headers but Host, cookies,
 * the client's and the connection's address, TLS, the environment, the
 * time, lookaheads all count. */
static int cond_reads_client(const char *test)
{
    static const char *const same_for_all[] = {
        "REQUEST_URI",     "REQUEST_FILENAME", "SCRIPT_FILENAME",
        "QUERY_STRING",    "HTTP_HOST",        "SERVER_NAME",
        "SERVER_ADDR",     "SERVER_PORT",      "SERVER_ADMIN",
        "SERVER_PROTOCOL", "SERVER_SOFTWARE",  "DOCUMENT_ROOT",
        "REQUEST_SCHEME",  "REQUEST_METHOD",   "PATH_INFO",
        "IS_SUBREQ",       "API_VERSION",      NULL
    };
    const char *at;

    if (!strcasecmp(test, "expr")) {
        return 1;
    }
    for (at = strstr(test, "%{"); at; at = strstr(at + 2, "%{")) {
        const char *name = at + 2, *close = strchr(name, '}');
        const char *const *v;
        if (!close) {
            return 1;
        }
        for (v = same_for_all; *v; v++) {
            if (strlen(*v) == (apr_size_t)(close - name)
                && !strncasecmp(name, *v, strlen(*v))) {
                break;
            }
        }
        if (!*v) {
            return 1;
        }
    }
    return 0;
}

/* A RewriteCond that reads what may change without a reload: a
 * RewriteMap (its file, database or program) or the file system (-f, -d,
 * -s, -l, -L, -h, -x, -F, -U).  A refusal on it may start to refuse a URL
 * whose quick-servable entries were marked before (t/quick_reload.t): the
 * configuration's tag cannot see it. */
static int cond_reads_state(const char *test, const char *pattern)
{
    static const char tests[] = "dfslLhxFUH";

    if (strstr(test, "${")) {
        return 1;
    }
    if (*pattern == '!') {
        pattern++;
    }
    return pattern[0] == '-' && pattern[1] && strchr(tests, pattern[1])
           && pattern[2] == '\0';
}

/* Does a RewriteRule's flag list refuse the request: [F], [G], or a
 * redirect with a 4xx or 5xx status ([R=403])? */
static int refusing_flags(const char *flags)
{
    const char *r;

    if (ap_strcasestr(flags, "forbidden") || ap_strcasestr(flags, "gone")) {
        return 1;
    }
    for (r = flags; *r; r++) {
        if ((*r == 'F' || *r == 'f' || *r == 'G' || *r == 'g')
            && (r == flags || r[-1] == '[' || r[-1] == ',')
            && (r[1] == ']' || r[1] == ',' || r[1] == '\0')) {
            return 1;
        }
    }
    for (r = ap_strcasestr(flags, "R="); r; r = ap_strcasestr(r + 1, "R=")) {
        if (r[2] == '4' || r[2] == '5') {
            return 1;
        }
    }
    return 0;
}

/* Does a RewriteRule's flag list decide whether the rules after it run:
 * [C] (a chain: the next rule runs only if this one matched), [S=n],
 * [L], [END], [N]? */
static int flow_flags(apr_pool_t *p, const char *flags)
{
    static const char *const flow[] = {
        "c", "chain", "s=", "skip=", "l", "last", "end", "n", "n=", "next", NULL
    };

    return sc_tree_rewrite_flag(p, flags, flow);
}

/* RewriteRules that send a request elsewhere (not [F], [G]) depending on
 * what cond_reads_client names, anywhere in the configuration: the quick
 * handler keys a request before they run. */
void sc_quick_routes(apr_pool_t *p, const ap_directive_t *d,
                     const ap_directive_t *vhost, apr_array_header_t *routes,
                     apr_array_header_t *denying)
{
    /* flow: an earlier rule of this list that decides whether later ones
     * run ([C], [S], [L], [END], [N]) on what a client sends or on a map
     * or the file system: a refusal after it is reached by some clients
     * and not others, whatever its own conditions read */
    int reads = 0, state = 0, flow = 0;

    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "RewriteCond")) {
            const char *args = d->args;
            const char *test = ap_getword_conf(p, &args);
            const char *pattern = ap_getword_conf(p, &args);
            reads |= cond_reads_client(test);
            state |= cond_reads_state(test, pattern);
        }
        else if (!strcasecmp(d->directive, "RewriteRule")) {
            const char *args = d->args, *flags;
            ap_getword_conf(p, &args); /* pattern */
            ap_getword_conf(p, &args); /* substitution */
            flags = ap_getword_conf(p, &args);
            /* a refusal on a map or the file system: it may refuse an
             * anonymous client later, without a reload */
            if (!reads && (state || flow) && denying && refusing_flags(flags)) {
                sc_tree_push(p, denying, d, vhost);
            }
            if (reads) {
                int deny = refusing_flags(flags);
                if (!deny && routes) {
                    sc_tree_push(p, routes, d, vhost);
                }
                /* a refusal on what a client sends or is: whether it
                 * refuses an anonymous client too cannot be told from
                 * here (a hotlink rule refuses only a foreign Referer) */
                if (deny && denying) {
                    sc_tree_push(p, denying, d, vhost);
                }
            }
            if ((reads || state) && flow_flags(p, flags)) {
                flow = 1;
            }
            reads = state = 0;
        }
        else if (d->first_child) {
            sc_quick_routes(p, d->first_child,
                            sc_tree_is(d, "<VirtualHost") ? d : vhost, routes,
                            denying);
        }
    }
}

/* What a section derives from the request after the quick phase: a
 * per-directory SetEnvIf or BrowserMatch, a RequestHeader with env=,
 * expr= or a %-variable (anywhere: it runs at fixups).  The quick phase
 * keys a request before they run. */
void sc_quick_derivers(apr_pool_t *p, const ap_directive_t *d,
                       const ap_directive_t *vhost, int in_section,
                       apr_array_header_t *derivers)
{
    for (; d; d = d->next) {
        const char *n = d->directive;
        int derives = (in_section
                       && (!strncasecmp(n, "SetEnvIf", 8)
                           || !strncasecmp(n, "BrowserMatch", 12)))
                      || (!strcasecmp(n, "RequestHeader") && d->args
                          && !ap_strstr_c(d->args, "early")
                          && (ap_strstr_c(d->args, "env=")
                              || ap_strstr_c(d->args, "expr=")
                              || strchr(d->args, '%')));
        if (derives) {
            sc_tree_push(p, derivers, d, vhost);
        }
        if (d->first_child && sc_tree_is(d, "<VirtualHost")) {
            sc_quick_derivers(p, d->first_child, d, 0, derivers);
        }
        else if (d->first_child) {
            /* <IfModule> and <IfDefine> only wrap what they hold */
            int wraps = sc_tree_is(d, "<IfModule")
                        || sc_tree_is(d, "<IfDefine");
            sc_quick_derivers(p, d->first_child, vhost, in_section || !wraps,
                              derivers);
        }
    }
}

/* mod_headers' Header with a condition (env=, expr=): evaluated for each
 * response, so for a stored entry only for the client whose request
 * stored it; a quick hit (or a page that includes the fragment directly)
 * carries the stored headers to any other client. */
void sc_quick_header_conditions(apr_pool_t *p, const ap_directive_t *d,
                                const ap_directive_t *vhost,
                                apr_array_header_t *found)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "Header") && d->args
            && (ap_strstr_c(d->args, "env=")
                || ap_strstr_c(d->args, "expr="))) {
            sc_tree_push(p, found, d, vhost);
        }
        if (d->first_child) {
            sc_quick_header_conditions(
                p, d->first_child, sc_tree_is(d, "<VirtualHost") ? d : vhost,
                found);
        }
    }
}
