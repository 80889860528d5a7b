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
    static const char *const same_for_all[] = { "REQUEST_URI",
                                                "REQUEST_FILENAME",
                                                "SCRIPT_FILENAME",
                                                "QUERY_STRING",
                                                "HTTP_HOST",
                                                "SERVER_NAME",
                                                "SERVER_PORT",
                                                "SERVER_ADMIN",
                                                "SERVER_SOFTWARE",
                                                "DOCUMENT_ROOT",
                                                "REQUEST_SCHEME",
                                                "PATH_INFO",
                                                "IS_SUBREQ",
                                                "API_VERSION",

                                                "CONTEXT_PREFIX",
                                                "CONTEXT_DOCUMENT_ROOT",
                                                NULL };
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
        || !strncasecmp(name, "HTTP:", 5)) {
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

apr_size_t sc_reads_own_file(const char *s)
{
    static const char *const own[] = { "%{REQUEST_FILENAME}",
                                       "%{SCRIPT_FILENAME}",
                                       "%{DOCUMENT_ROOT}%{REQUEST_URI}",
                                       "%{DOCUMENT_ROOT}/%{REQUEST_URI}",
                                       NULL };
    const char *const *o;

    for (o = own; *o; o++) {
        apr_size_t n = strlen(*o);
        if (!strncasecmp(s, *o, n)) {
            return n;
        }
    }
    return 0;
}

/* Is the file an ap_expr file test names, at then, the request's own:
 * bare or quoted, with nothing glued after it ("%{REQUEST_FILENAME}x")
 * nor joined to it by the "." operator ("%{REQUEST_FILENAME} . '.flag'":
 * another file)? */
static int own_file(const char *then)
{
    const char *end;
    char quote = 0;
    apr_size_t n;

    while (apr_isspace(*then)) {
        then++;
    }
    if (*then == '\'' || *then == '"') {
        quote = *then++;
    }
    if (!(n = sc_reads_own_file(then))) {
        return 0;
    }
    end = then + n;
    if (quote ? *end++ != quote : (*end && !apr_isspace(*end) && *end != ')')) {
        return 0;
    }
    while (apr_isspace(*end)) {
        end++;
    }
    return *end != '.';
}

sc_reads_t sc_reads_operator(const char *op, apr_size_t len)
{
    static const char *const string_op[] = {
        "n", "z",        "eq",        "ne",      "lt", "le",      "gt", "ge",
        "T", "strmatch", "strcmatch", "fnmatch", "in", "ipmatch", NULL
    };

    return sc_reads_word_in(op, len, string_op) ? SC_READS_NOTHING
                                                : SC_READS_IS;
}

/* What an operator read token by token reads (then: what follows it): as
 * sc_reads_operator, but a file test of the request's own file nothing (a
 * front controller's). */
static sc_reads_t operator_reads(const char *op, apr_size_t len,
                                 const char *then)
{
    if (len == 1 && strchr("defsLhx", *op) && own_file(then)) {
        return SC_READS_NOTHING;
    }
    return sc_reads_operator(op, len);
}

/* httpd's scanner of ap_expr (server/util_expr_scan.l), as far as what a
 * condition reads depends on it: a string in '...' or "..." (the other
 * quote is a character of it; a backslash escapes the next one), a
 * regular expression in /.../ or m followed by any of the delimiters
 * below (no escapes: it ends at the next delimiter) and an "i".  Past the
 * one that starts at c, or NULL where it does not end (then nothing is
 * known of what follows). */
#define REGEX_DELIMITERS "/#$%^,;:_?|-!.'\""

static const char *past_string(const char *c)
{
    char quote = *c++;

    for (; *c && *c != quote && *c != '\n'; c++) {
        if (*c == '\\' && c[1]) {
            c++;
        }
    }
    return *c == quote ? c + 1 : NULL;
}

static const char *past_regex(const char *c)
{
    char delimiter = *c == 'm' ? *++c : *c;
    const char *end = strchr(c + 1, delimiter);

    if (!end) {
        return NULL;
    }
    return end[1] == 'i' ? end + 2 : end + 1;
}

/* Does a regular expression start at c, a token's first character?  ("m_"
 * and an identifier's character is the identifier: the scanner takes the
 * longest token.) */
static int regex_at(const char *c)
{
    if (*c == '/') {
        return 1;
    }
    return *c == 'm' && c[1] && strchr(REGEX_DELIMITERS, c[1])
           && !(c[1] == '_' && (apr_isalnum(c[2]) || c[2] == '_'));
}

/* Past the variable %{...} that starts at c, or NULL where it does not
 * end.  Its argument (after a ':') may hold others (%{HTTP:%{X}}) and
 * takes backslash escapes: "\\}" and "\\%" do not end or start one. */
static const char *past_var(const char *c)
{
    int depth = 0, arg = 0; /* arg: in the innermost one's argument */

    for (; *c; c++) {
        if (arg && *c == '\\' && c[1]) {
            c++;
        }
        else if (c[0] == '%' && c[1] == '{') {
            depth++;
            arg = 0;
            c++;
        }
        else if (*c == ':' && !arg) {
            arg = 1;
        }
        else if (*c == '}') {
            if (--depth == 0) {
                return c + 1;
            }
            arg = 1; /* back in the argument that held it */
        }
    }
    return NULL;
}

sc_reads_t sc_reads_function(const char *name, apr_size_t len)
{
    static const char *const sent_fn[] = { "req", "http", "req_novary", NULL };
    static const char *const string_fn[] = { "tolower",  "toupper", "escape",
                                             "unescape", "base64",  "unbase64",
                                             "md5",      "sha1",    NULL };

    if (sc_reads_word_in(name, len, sent_fn)) {
        return SC_READS_SENT;
    }
    return sc_reads_word_in(name, len, string_fn) ? SC_READS_NOTHING
                                                  : SC_READS_IS;
}

/* The file tests an expression makes (-d -e -f -s -L -h -x), as counted
 * by scan(): all of them, and those of the request's own file. */
typedef struct {
    int all, own;
    int open; /* a string, regex or variable did not end */
} file_tests_t;

/* What an expression reads, token by token; its file tests counted into
 * *ft. */
static sc_reads_t scan(const char *expr, const char *const *url_vars,
                       file_tests_t *ft)
{
    sc_reads_t most = sc_reads_text(expr, url_vars), r;
    const char *c = expr;

    while (c && *c) {
        r = SC_READS_NOTHING;
        if (*c == '\'' || *c == '"') {
            c = past_string(c);
        }
        else if (regex_at(c)) {
            c = past_regex(c);
        }
        else if (c[0] == '%' && c[1] == '{') {
            c = past_var(c);
        }
        else if (*c == '-' && (apr_isalpha(c[1]) || c[1] == '_')) {
            /* an operator: outside strings, regexes and variables, "-"
             * and a letter is nothing else (the scanner takes the longest
             * token: "and-R" is "and", "-R") */
            const char *op = ++c;
            while (apr_isalnum(*c) || *c == '_') {
                c++;
            }
            if (c - op == 1 && strchr("defsLhx", *op)) {
                ft->all++;
                ft->own += own_file(c);
            }
            r = operator_reads(op, (apr_size_t)(c - op), c);
        }
        else if (apr_isalpha(*c)) {
            const char *name = c, *after;
            while (apr_isalnum(*c) || *c == '_') {
                c++;
            }
            for (after = c; apr_isspace(*after); after++) {
            }
            /* a function ("and (", "not (" are no calls) */
            if (*after == '(') {
                static const char *const keyword[] = { "and", "or", "not", "in",
                                                       NULL };
                apr_size_t len = (apr_size_t)(c - name);
                if (!sc_reads_word_in(name, len, keyword)) {
                    r = sc_reads_function(name, len);
                }
            }
        }
        else {
            c++;
        }
        most = r > most ? r : most;
    }
    /* a string, a regex or a variable that does not end: nothing is known
     * of what follows */
    ft->open = !c;
    return c ? most : SC_READS_IS;
}

sc_reads_t sc_reads_expr(const char *expr, const char *const *url_vars)
{
    file_tests_t ft = { 0, 0, 0 };

    return scan(expr, url_vars, &ft);
}

int sc_reads_file_tests(const char *expr, int *own)
{
    file_tests_t ft = { 0, 0, 0 };

    (void)scan(expr, NULL, &ft);
    *own = ft.own;
    return ft.open ? -1 : ft.all;
}
