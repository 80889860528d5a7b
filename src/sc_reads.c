/*
 * sc_reads.c: what a configured variable, text or ap_expr condition
 * reads of the client (see sc_reads.h).
 */
#include "sc_reads.h"

#include <apr_lib.h>
#include <string.h>
#include <strings.h>

int sc_reads_word_in(const char *w, apr_size_t len, const char *const *list)
{
    for (; list && *list; list++) {
        if (strlen(*list) == len && !strncasecmp(w, *list, len)) {
            return 1;
        }
    }
    return 0;
}

sc_reads_t sc_reads_var(const char *name, apr_size_t len,
                        const char *const *url_vars)
{
    static const char *const same_for_all[] = {
        "REQUEST_URI",   "REQUEST_FILENAME", "SCRIPT_FILENAME",
        "QUERY_STRING",  "HTTP_HOST",        "SERVER_NAME",
        "SERVER_PORT",   "SERVER_ADMIN",     "SERVER_SOFTWARE",
        "DOCUMENT_ROOT", "REQUEST_SCHEME",   "PATH_INFO",
        "IS_SUBREQ",     "API_VERSION",      NULL
    };
    static const char *const sent[] = { "THE_REQUEST", "REQUEST_METHOD",
                                        "SERVER_PROTOCOL", "HTTPS", NULL };
    /* what httpd sets for an internal redirect (a front controller's
     * loop guard) */
    static const char *const redirect[] = { "REDIRECT_STATUS", "REDIRECT_URL",
                                            "REDIRECT_QUERY_STRING", NULL };

    if (sc_reads_word_in(name, len, same_for_all)) {
        return SC_READS_NOTHING;
    }
    if (sc_reads_word_in(name, len, sent) || !strncasecmp(name, "HTTP_", 5)
        || !strncasecmp(name, "HTTP:", 5) || !strncasecmp(name, "TIME", 4)) {
        return SC_READS_SENT;
    }
    if (len > 4 && !strncasecmp(name, "ENV:", 4)
        && (sc_reads_word_in(name + 4, len - 4, redirect)
            || sc_reads_word_in(name + 4, len - 4, url_vars))) {
        return SC_READS_NOTHING;
    }
    return SC_READS_IS;
}

sc_reads_t sc_reads_text(const char *s, const char *const *url_vars)
{
    sc_reads_t most = SC_READS_NOTHING;
    const char *at;

    for (at = strstr(s, "%{"); at; at = strstr(at + 2, "%{")) {
        const char *name = at + 2, *close = strchr(name, '}');
        sc_reads_t r = close ? sc_reads_var(name, (apr_size_t)(close - name),
                                            url_vars)
                             : SC_READS_IS;
        if (r > most) {
            most = r;
        }
    }
    return most;
}

/* What an operator of an ap_expr condition reads (op: its name after
 * "-", len long; then: what follows it): a comparison of strings or
 * numbers nothing; a file test of the request's own file nothing (a
 * front controller's); anything else (-R, -ipmatch, another file, -U and
 * -A, whose subrequests meet access rules) what a client is. */
static sc_reads_t operator_reads(const char *op, apr_size_t len,
                                 const char *then)
{
    static const char *const string_op[] = {
        "n",  "z", "eq",       "ne",        "lt",      "le", "gt",
        "ge", "T", "strmatch", "strcmatch", "fnmatch", NULL
    };

    if (sc_reads_word_in(op, len, string_op)) {
        return SC_READS_NOTHING;
    }
    if (len == 1 && strchr("defsLhx", *op)) { /* a file test */
        while (apr_isspace(*then)) {
            then++;
        }
        if (!strncasecmp(then, "%{REQUEST_FILENAME}", 19)
            || !strncasecmp(then, "%{SCRIPT_FILENAME}", 18)) {
            return SC_READS_NOTHING;
        }
    }
    return SC_READS_IS;
}

/* Past the string that starts at c (a quote): after its closing quote. */
static const char *past_string(const char *c)
{
    for (c++; *c && *c != '\''; c++) {
        if (*c == '\\' && c[1]) {
            c++;
        }
    }
    return c + (*c != '\0');
}

sc_reads_t sc_reads_expr(const char *expr, const char *const *url_vars)
{
    static const char *const sent_fn[] = { "req", "http", "req_novary", NULL };
    static const char *const string_fn[] = { "tolower",  "toupper", "escape",
                                             "unescape", "base64",  "unbase64",
                                             "md5",      "sha1",    NULL };
    static const char *const keyword[] = { "and",   "or", "not", "true",
                                           "false", "in", NULL };
    sc_reads_t most = sc_reads_text(expr, url_vars);
    const char *c = expr, *word = NULL;
    apr_size_t word_len = 0;

    while (*c) {
        if (*c == '\'') {
            c = past_string(c);
            word = NULL;
        }
        else if (c[0] == '%' && c[1] == '{') {
            const char *close = strchr(c, '}');
            c = close ? close + 1 : c + strlen(c);
            word = NULL;
        }
        else if (*c == '-' && apr_isalpha(c[1])
                 && (c == expr || !apr_isalnum(c[-1])
                     || (word && sc_reads_word_in(word, word_len, keyword)))) {
            const char *op = ++c;
            while (apr_isalnum(*c) || *c == '_') {
                c++;
            }
            if (operator_reads(op, (apr_size_t)(c - op), c) == SC_READS_IS) {
                return SC_READS_IS;
            }
            word = NULL;
        }
        else if (apr_isalpha(*c) || *c == '_') {
            const char *after;
            word = c;
            while (apr_isalnum(*c) || *c == '_') {
                c++;
            }
            word_len = (apr_size_t)(c - word);
            for (after = c; apr_isspace(*after); after++) {
            }
            if (*after != '(' || sc_reads_word_in(word, word_len, keyword)) {
                continue;
            }
            /* a function */
            if (sc_reads_word_in(word, word_len, sent_fn)) {
                if (most < SC_READS_SENT) {
                    most = SC_READS_SENT;
                }
            }
            else if (!sc_reads_word_in(word, word_len, string_fn)) {
                return SC_READS_IS;
            }
        }
        else {
            if (!apr_isspace(*c)) {
                word = NULL;
            }
            c++;
        }
    }
    return most;
}
