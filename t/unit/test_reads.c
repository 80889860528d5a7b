/*
 * test_reads.c: what quick mode's start-up check reads of a configured
 * text (src/sc_reads.c): the expressions, variables and texts of the
 * outside attacks that found the check too weak or too strict (rounds
 * 60-68), as a table: each row what it reads of a client.
 */
#include "unit.h"
#include "sc_reads.h"

#include <stdio.h>
#include <string.h>

#define N SC_READS_NOTHING
#define S SC_READS_SENT
#define I SC_READS_IS

typedef struct {
    const char *text;
    sc_reads_t reads;
} row_t;

static const char *const symfony[] = { "BASE", NULL };

static int check(const char *what, const row_t *rows, apr_size_t n,
                 sc_reads_t (*f)(const char *, const char *const *),
                 const char *const *url_vars)
{
    apr_size_t i;
    int wrong = 0;

    for (i = 0; i < n; i++) {
        sc_reads_t got = f(rows[i].text, url_vars);
        if (got != rows[i].reads) {
            print_message("%s \"%s\": reads %d, expected %d\n", what,
                          rows[i].text, got, rows[i].reads);
            wrong++;
        }
    }
    return wrong;
}

#define CHECK(what, rows, f, vars) \
    assert_int_equal( \
        check(what, rows, sizeof(rows) / sizeof(rows[0]), f, vars), 0)

/* an <If>'s condition */
static void test_expressions(void **state)
{
    static const row_t rows[] = {
        /* the URL, the host, the server: nothing */
        { "%{HTTP_HOST} == 'www.example.com'", N },
        { "%{HTTP_HOST} != 'www.my-site.example'", N },
        { "%{REQUEST_URI} =~ m#^/admin#", N },
        { "%{QUERY_STRING} -strmatch '*a*'", N },
        { "tolower(%{HTTP_HOST}) == 'a.example'", N },
        { "%{ENV:REDIRECT_STATUS} == '200'", N },
        /* a file test of the request's own file (a front controller) */
        { "-f %{REQUEST_FILENAME}", N },
        { "! -f %{REQUEST_FILENAME}", N },
        { "-d %{SCRIPT_FILENAME}", N },
        /* an operator or a variable inside a string is text */
        { "%{HTTP_HOST} == 'a -R b'", N },
        { "%{HTTP_HOST} == 'it\\'s -ipmatch x'", N },
        /* what a client sends */
        { "%{HTTP:X-Variant} == 'raw'", S },
        { "req('X-Variant') == 'raw'", S },
        { "http ('Accept') =~ /json/", S },
        { "req_novary('X') == '1'", S },
        { "%{HTTPS} == 'on'", S },
        { "-T %{HTTP:X-Beta}", S },
        { "%{HTTP_COOKIE} =~ /beta=1/", S },
        { "%{HTTP:X} in { 'a', 'b' }", S },
        { "%{REQUEST_METHOD} == 'POST'", S },
        /* what a client is, or what changes without a reload: the
         * time (outside attack round 84 H1) */
        { "%{TIME_HOUR} -lt 12", I },
        { "-R '10.0.0.0/8'", I },
        { "! -R '10.0.0.0/8'", I },
        { "true and-R '10.0.0.0/8'", I },
        { "not-R '10.0.0.0/8'", I },
        { "%{HTTP_HOST} == 'a' || %{REMOTE_ADDR} -ipmatch '10.0.0.0/8'", I },
        { "%{HTTP:X-Real-IP} -ipmatch '10.0.0.0/8'", S },
        { "%{REMOTE_ADDR} == '10.0.0.1'", I },
        { "%{REMOTE_USER} == 'alice'", I },
        { "%{SSL_CLIENT_S_DN_CN} == 'mallory'", I },
        { "env('X') == '1'", I },
        { "env ('X') == '1'", I },
        { "reqenv('beta') == '1'", I },
        { "-f '/srv/maintenance.flag'", I },
        { "-U '/private/'", I },
        { "%{ENV:BASE} == '/app'", I },
        { "%{CONN_REMOTE_ADDR} -ipmatch '10.0.0.0/8'", I },
        { "%{REMOTE_ADDR", I }, /* unclosed */
        /* httpd's scanner: "..." strings, /.../ and m#...# regexes hide
         * no quote that would hide an operator from the reader (round 74
         * H1), and nothing inside them is read as a call or an operator
         * (round 74 L1) */
        { "%{HTTP_HOST} =~ /'/ || -R '127.0.0.5/32'", I },
        { "(\"'\"==\"x\"||-R'127.0.0.5/32')", I },
        { "%{HTTP_HOST} =~ m#'# || env('X') == '1'", I },
        { "%{HTTP_HOST} =~ m'x' || -R '10.0.0.0/8'", I },
        { "%{HTTP_HOST} =~ /a/i && -R '1.2.3.4'", I },
        /* no escapes in a regex: it ends at the second "/" */
        { "%{HTTP_HOST} =~ /a\\/ -R '1.2.3.4' || true", I },
        { "\"it\\\" -R\" == %{HTTP_HOST}", N },
        { "%{HTTP_HOST} =~ m#^/app/old(/|$)#", N },
        { "%{HTTP_HOST} =~ /^www(2)?\\.old\\.example$/", N },
        { "%{REQUEST_URI} =~ m#/-data/#", N },
        { "%{REQUEST_URI} =~ m_x_", N },
        { "md5(%{HTTP_HOST}) == 'x'", N },
        { "%{HTTP_HOST} == 'x' || %{HTTP:%{SERVER_NAME}/} == 'a' || -R "
          "'10.0.0.0/8'",
          I },
        /* a variable's argument takes backslash escapes: "\\}" does not
         * end it (round 75 H1) */
        { "%{HTTP:X-A\\}/} == 'on' || -R '127.0.0.66' || %{HTTP:X-B\\}/} == "
          "'on'",
          I },
        { "%{HTTP:X-A\\%{/} == 'on' || env('X') == '1' || %{HTTP:B/} == 'a'",
          I },
        { "%{HTTP:X-A\\}/} == 'on' || %{HTTP:X-B\\}/} == 'on'", S },
        /* list membership compares strings (round 75 M1) */
        { "%{REQUEST_URI} -in { '/a', '/b' }", N },
        { "%{REQUEST_METHOD} -in { 'GET', 'HEAD' }", S },
        { "%{CONTEXT_PREFIX} == '/app'", N },
        /* httpd reads DOCUMENT_URI from the environment first (round 77) */
        { "%{DOCUMENT_URI} == '/x'", I },
        /* what does not end: nothing known of what follows */
        { "%{HTTP_HOST} =~ /x", I },
        { "%{HTTP_HOST} == 'x", I },
        { "%{HTTP_HOST} == \"x", I },
        /* a file test: the request's own file, bare or quoted, or another */
        { "! -f '%{DOCUMENT_ROOT}%{REQUEST_URI}'", N },
        { "-f \"%{DOCUMENT_ROOT}/%{REQUEST_URI}\"", N },
        { "-f %{REQUEST_FILENAME}.'.flag'", I },
        { "-f '%{DOCUMENT_ROOT}%{REQUEST_URI}.flag'", I },
        { "-f %{REQUEST_FILENAME}x", I },
        /* "." joins another word to the file's name (round 76 H1) */
        { "-f %{REQUEST_FILENAME} . '.gone'", I },
        { "-f '%{REQUEST_FILENAME}' . '.gone'", I },
        { "-f %{REQUEST_FILENAME} && %{HTTP_HOST} == 'a'", N },
    };

    (void)state;
    CHECK("expr", rows, sc_reads_expr, NULL);
}

/* A variable only URL rules set (sc_quick_routes_prepare) reads nothing;
 * others still what a client is. */
static void test_url_only_variables(void **state)
{
    static const row_t rows[] = {
        { "%{ENV:BASE} == '/app'", N },
        { "%{ENV:base} == '/app'", N },
        { "%{ENV:BASEX} == '/app'", I },
        { "%{ENV:GEOIP_COUNTRY_CODE} == 'DE'", I },
    };

    (void)state;
    CHECK("expr with BASE", rows, sc_reads_expr, symfony);
}

/* a RewriteRule's substitution or flags, a RewriteCond's test */
static void test_texts(void **state)
{
    static const row_t rows[] = {
        { "", N },
        { "/index.php?q=%{REQUEST_URI}", N },
        { "%{DOCUMENT_ROOT}/%{REQUEST_URI}", N },
        { "/%{SERVER_NAME}/%{SERVER_PORT}", N },
        { "E=HTTP_AUTHORIZATION:%{HTTP:Authorization}", S },
        { "%{HTTP_USER_AGENT}", S },
        { "%{http_user_agent}", S },
        { "%{THE_REQUEST}", S },
        { "/geo/%{ENV:GEOIP_COUNTRY_CODE}", I },
        { "%{REMOTE_ADDR}", I },
        { "%{REMOTE_HOST}", I },
        { "%{LA-U:REMOTE_USER}", I },
        { "%{HTTP_HOST}%{REMOTE_ADDR}", I }, /* the most of all */
        { "/x/%{HTTP_HOST", I },             /* unclosed */
    };

    (void)state;
    CHECK("text", rows, sc_reads_text, NULL);
}

static void test_word_in(void **state)
{
    static const char *const list[] = { "and", "or", NULL };

    (void)state;
    assert_true(sc_reads_word_in("AND", 3, list));
    assert_true(sc_reads_word_in("order", 2, list));
    assert_false(sc_reads_word_in("order", 5, list));
    assert_false(sc_reads_word_in("an", 2, list));
    assert_false(sc_reads_word_in("and", 3, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_expressions),
        UNIT_TEST(test_url_only_variables),
        UNIT_TEST(test_texts),
        UNIT_TEST(test_word_in),
    };

    return UNIT_RUN(tests);
}
