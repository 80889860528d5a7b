/*
 * sc_reads: what a text of the configuration may differ by from client
 * to client for one URL: a variable's name (RewriteRule's and ap_expr's
 * %{NAME}), a text holding %{NAME}s, an ap_expr condition (an <If>'s).
 * Quick mode's start-up check (sc_quickrules.c, sc_quickcheck.c) reads
 * the configuration with these: a rule on what a client *is* next to a
 * quick location fails start-up, one on what it *sends* warns.
 *
 * Pure code (APR only): unit-tested in t/unit/test_reads.c.
 */
#ifndef SC_READS_H
#define SC_READS_H

#include <apr.h>

/* What a rule's condition (a RewriteCond's, an <If>'s) may differ by
 * from client to client (or over time) for one URL; ordered: the most a
 * text reads is the largest. */
typedef enum {
    SC_READS_NOTHING, /* the URL, the host, the server */
    SC_READS_SENT,    /* what any client may send or choose: request headers
                      but Host, cookies, the request line, method and
                      protocol, TLS or not (HTTPS) */
    SC_READS_IS       /* what a client is: its address, the local address
                      (one virtual host may listen on an internal and a
                      public one), TLS, the user, the environment (which
                      may hold any of them), a lookahead, any other name;
                      or what changes without a reload as a flag file
                      does, whoever asks: the time */
} sc_reads_t;

/* Is the word [w, w + len) one of list (NULL ended, in any case)? */
int sc_reads_word_in(const char *w, apr_size_t len, const char *const *list);

/* What the variable name [name, name + len) of a %{NAME} reads.
 * url_vars (NULL ended; NULL: none known): the environment variables
 * only rules on the URL set (Symfony's BASE): %{ENV:NAME} of one of them
 * reads nothing. */
sc_reads_t sc_reads_var(const char *name, apr_size_t len,
                        const char *const *url_vars);

/* What calling the ap_expr function [name, name + len) reads: a request
 * header's (req, http, req_novary) what a client sends, a string's
 * (tolower, md5 ...) nothing, any other (env, reqenv, osenv, note, resp,
 * file, filesize, a module's) what a client is. */
sc_reads_t sc_reads_function(const char *name, apr_size_t len);

/* What an ap_expr operator [op, op + len) (its name after "-") reads of
 * its own: a comparison or match of strings, numbers or addresses given
 * (-n -z -T -eq ... -in -strmatch -ipmatch) nothing (its operands read
 * what they read); -R (the client's address), a file or URL test (-f
 * ... -F -U -A) or a module's operator what a client is. */
sc_reads_t sc_reads_operator(const char *op, apr_size_t len);

/* The most any %{NAME} of s reads (an unclosed one: what a client is). */
sc_reads_t sc_reads_text(const char *s, const char *const *url_vars);

/* What an ap_expr condition reads: the most its %{NAME}s read (also
 * inside a string); a function other than those of a request header
 * (req, http, req_novary) or of a string, or an operator other than a
 * comparison of strings or numbers or a file test of the request's own
 * file, may read what a client is.  Strings in quotes are no operators
 * ('www.my-site.example'); an operator may be glued to a keyword
 * ("not-R"). */
sc_reads_t sc_reads_expr(const char *expr, const char *const *url_vars);

/* The length of the name of the request's own file that s starts with
 * (%{REQUEST_FILENAME}, %{SCRIPT_FILENAME}, %{DOCUMENT_ROOT}%{REQUEST_URI}
 * with or without a "/"), in any case; 0: none.  A file test of it is a
 * front controller's: the same for every client. */
apr_size_t sc_reads_own_file(const char *s);

/* How many file tests (-d -e -f -s -L -h -x) the expression makes, as
 * the reader above tokenizes it, and (*own) how many of them test the
 * request's own file; -1 where a string, regex or variable does not end.
 * (httpd's own parser names the operators but not which file a test
 * reads: sc_quickrules.c asks this for that, and checks the counts.) */
int sc_reads_file_tests(const char *expr, int *own);

#endif
