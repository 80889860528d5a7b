/*
 * sharedcachectl: invalidate and inspect mod_sharedcache's memcached
 * contents from the command line (DESIGN sections 5-7).
 *
 * It links the module's pure key and entry code and its memcached layer,
 * so every key it computes is the one the module computes: generation
 * counters "<prefix>:g:<sha1 of the dependency>" for purge, invalidate and
 * flush, and the level-1 canonical key (plus Vary variant) for inspect.
 *
 * Exit status: 0 done, 1 nothing cached / not cached, 2 usage or bad
 * input, 3 memcached error.
 */
#include "sc_key.h"
#include "sc_entry.h"
#include "sc_gen.h"
#include "sc_store.h"

#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <apr_uri.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_OK       0
#define EXIT_NOTFOUND 1
#define EXIT_USAGE    2
#define EXIT_BACKEND  3

#define CTL_DEFAULT_TIMEOUT_MS 1000
#define CTL_DEFAULT_NAMESPACE "default"

static const char usage_text[] =
"Usage: sharedcachectl [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Invalidate and inspect what mod_sharedcache stored in memcached.\n"
"\n"
"Commands:\n"
"  purge URL...        invalidate every query and variant of each URL's\n"
"                      path (the query of URL is ignored)\n"
"  invalidate TAG...   invalidate every entry tagged TAG (Surrogate-Key)\n"
"  flush [NAMESPACE]   invalidate a whole namespace (default \"default\")\n"
"  inspect URL [--vhost NAME:PORT] [--vhost-addresses LIST]\n"
"              [--host-header VALUE] [--backend URL]\n"
"              [-H 'Name: value']...\n"
"                      show the entry stored for URL and whether it is\n"
"                      valid; -H gives request headers a response varies\n"
"                      on (a location with SharedCacheVaryBy* or\n"
"                      SharedCacheVary keys on more than inspect knows)\n"
"  stats               state of each memcached server\n"
"\n"
"Options:\n"
"  --servers LIST      memcached servers, as SharedCacheServers:\n"
"                      \"host:port host2:port\" or /path/to.sock\n"
"                      (default $SHAREDCACHE_SERVERS, else 127.0.0.1:11211)\n"
"  --prefix STRING     SharedCachePrefix (default $SHAREDCACHE_PREFIX,\n"
"                      else sc)\n"
"  --timeout MS        connect and I/O timeout, 1..60000 (default 1000)\n"
"  -h, --help          show this help\n"
"\n"
"inspect options:\n"
"  --vhost NAME:PORT   ServerName and port of the virtual host that serves\n"
"                      URL (default: the URL's host and port)\n"
"  --vhost-addresses LIST  for a <VirtualHost>: its addresses as declared,\n"
"                      \"*:80\" or \"192.0.2.1:80 [2001:db8::1]:80\"\n"
"                      (IPs as httpd prints them, space separated)\n"
"  --backend URL       for a page mod_proxy serves: the backend URL it is\n"
"                      sent to (ProxyPass / http://b:8080/ makes /x\n"
"                      http://b:8080/x)\n"
"  --host-header VALUE the Host header clients send (default: the URL's\n"
"                      host, with :port only if the URL names a port)\n"
"  -H 'Name: value'    a request header (repeat a name for several values)\n"
"\n"
"URLs are http:// or https://; host and port are those of the request\n"
"(the port defaults to 80 or 443); purge takes the path percent-decoded\n"
"and normalised, inspect exactly as written (as clients send it).\n"
"\n"
"Exit status: 0 done (inspect: cached and valid), 1 nothing was cached\n"
"(purge) or not cached / invalid (inspect), 2 usage or bad input,\n"
"3 memcached error.\n";

typedef struct {
    apr_pool_t *pool;
    const char *servers;
    const char *prefix;
    int timeout_ms;
    sc_backend_t backend;
    sc_conn_t *conn;
} ctl_t;

/* A URL as the module keys it. */
typedef struct {
    sc_url_t url;
    const char *authority;      /* host[:port] as written: default Host */
    const char *raw_path;       /* the path as written: what entries are
                                   keyed on (url.path is decoded, as URL
                                   invalidation names pages) */
} ctl_url_t;

typedef struct {
    ctl_url_t u;
    const char *vhost;
    const char *vhost_addresses;
    const char *backend;
    const char *host_header;
    apr_table_t *headers;       /* -H, for Vary */
} inspect_t;

typedef enum { REC_FOUND, REC_MISSING, REC_BAD, REC_OTHER, REC_ERROR } rec_t;

/* ---- messages ---------------------------------------------------------- */

static int complain(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int complain(int code, const char *fmt, ...)
{
    va_list ap;

    fputs("sharedcachectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("sharedcachectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see sharedcachectl --help)\n", stderr);
    return EXIT_USAGE;
}

/* libmemcached's message without its "(0x...) " handle address and
 * " -> file:line" source position. */
static const char *tidy(apr_pool_t *p, const char *msg)
{
    char *s, *arrow, *end;
    apr_size_t n;

    if (!msg || !*msg) {
        return "unknown error";
    }
    s = apr_pstrdup(p, msg);
    if (s[0] == '(' && s[1] == '0' && s[2] == 'x'
        && (end = strstr(s, ") ")) != NULL) {
        s = end + 2;
    }
    if ((arrow = strstr(s, " -> ")) != NULL) {
        *arrow = '\0';
    }
    for (end = s; (end = strstr(end, ",  ")) != NULL; ) {
        memmove(end + 1, end + 2, strlen(end + 2) + 1);
    }
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == ',')) {
        s[--n] = '\0';
    }
    return s;
}

/* Why an sc_store call failed.  Its c->error points into libmemcached's
 * error state, which the memcached_quit() that sc_store does after every
 * error frees: ask the servers again on a fresh clone of the handle (the
 * failed one skips the server until its retry time) and copy
 * libmemcached's message while it is valid. */
static const char *failure(ctl_t *ctl)
{
    memcached_st *mc = memcached_clone(NULL, ctl->backend.nodes[0].master);
    memcached_return_t rc;
    const char *msg;

    if (!mc) {
        return "no connection";
    }
    rc = memcached_version(mc);
    if (rc == MEMCACHED_SUCCESS) {
        msg = "the request failed or timed out (the servers answer now)";
    }
    else {
        msg = memcached_last_error_message(mc);
        msg = tidy(ctl->pool, msg && *msg ? msg
                                          : memcached_strerror(mc, rc));
    }
    memcached_free(mc);
    return msg;
}

static int backend_error(ctl_t *ctl, const char *what)
{
    return complain(EXIT_BACKEND, "memcached %s (%s): %s", what,
                    ctl->servers, failure(ctl));
}

static void field(const char *label, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One "label:      value" line of inspect's report. */
static void field(const char *label, const char *fmt, ...)
{
    int pad = 11 - (int)strlen(label);
    va_list ap;

    printf("%s:%*s", label, pad > 1 ? pad : 1, "");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* s for a terminal: control bytes written as \xHH (a decoded path or a
 * stored header may hold any byte). */
static const char *shown(apr_pool_t *p, const char *s)
{
    const char *c;
    char *out, *o;

    c = s;
    while (*c && !apr_iscntrl(*c)) {
        c++;
    }
    if (!*c) {
        return s;
    }
    o = out = apr_palloc(p, strlen(s) * 4 + 1);
    for (c = s; *c; c++) {
        if (apr_iscntrl(*c)) {
            o += apr_snprintf(o, 5, "\\x%02x", (unsigned char)*c);
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

/* ---- input ------------------------------------------------------------- */

/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 and *val when it is
 * that option, 0 when not, -1 when its value is missing. */
static int option(int argc, const char *const *argv, int *i,
                  const char *name, const char **val)
{
    const char *a = argv[*i];
    apr_size_t n = strlen(name);

    if (strncmp(a, name, n) != 0) {
        return 0;
    }
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

static int hexval(char c)
{
    return apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10;
}

/* Percent-decode a path as httpd does for r->uri; NULL and *err on an
 * invalid escape or an encoded NUL. */
static char *unescape_path(apr_pool_t *p, const char *in, const char **err)
{
    char *out = apr_palloc(p, strlen(in) + 1), *o = out;

    for (; *in; in++) {
        int c;

        if (*in != '%') {
            *o++ = *in;
            continue;
        }
        if (!apr_isxdigit(in[1]) || !apr_isxdigit(in[2])) {
            *err = "invalid %-escape in the path";
            return NULL;
        }
        c = hexval(in[1]) * 16 + hexval(in[2]);
        if (c == 0) {
            *err = "%00 in the path";
            return NULL;
        }
        *o++ = (char)c;
        in += 2;
    }
    *o = '\0';
    return out;
}

static const char *parse_port(const char *s, unsigned int *port)
{
    char *end;
    long v;

    if (!apr_isdigit(*s)) {
        return "bad port";
    }
    v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 65535) {
        return "bad port";
    }
    *port = (unsigned int)v;
    return NULL;
}

/* Split an absolute http(s) URL into what the module keys on: scheme,
 * host (lower case, no trailing dot, as httpd normalises the Host), port
 * (explicit or the scheme's), decoded path and raw query. */
static const char *parse_url(apr_pool_t *p, const char *s, ctl_url_t *out)
{
    apr_uri_t uri;
    const char *err = NULL;
    char *host, *c;
    apr_size_t n;

    memset(out, 0, sizeof(*out));
    if (apr_uri_parse(p, s, &uri) != APR_SUCCESS || !uri.scheme
        || !uri.hostname || !*uri.hostname) {
        return "not an absolute http:// or https:// URL";
    }
    out->url.scheme = apr_pstrdup(p, uri.scheme);
    for (c = (char *)out->url.scheme; *c; c++) {
        *c = apr_tolower(*c);
    }
    if (strcmp(out->url.scheme, "http") && strcmp(out->url.scheme, "https")) {
        return "only http:// and https:// URLs are cached";
    }
    out->url.port = apr_uri_port_of_scheme(out->url.scheme);
    if (uri.port_str && *uri.port_str
        && (err = parse_port(uri.port_str, &out->url.port)) != NULL) {
        return err;
    }
    host = apr_pstrdup(p, uri.hostname);
    for (c = host; *c; c++) {
        *c = apr_tolower(*c);
    }
    n = strlen(host);
    if (n > 1 && host[n - 1] == '.') {
        host[n - 1] = '\0';
    }
    out->url.host = host;
    out->authority = apr_pstrcat(p, strchr(uri.hostname, ':') ? "[" : "",
                                 uri.hostname,
                                 strchr(uri.hostname, ':') ? "]" : "",
                                 uri.port_str && *uri.port_str ? ":" : "",
                                 uri.port_str && *uri.port_str
                                     ? uri.port_str : "", NULL);
    if (uri.path && *uri.path && *uri.path != '/') {
        return "the path must start with '/'";
    }
    out->raw_path = uri.path && *uri.path ? uri.path : "/";
    out->url.path = unescape_path(p, out->raw_path, &err);
    out->url.query = uri.query;
    return out->url.path ? NULL : err;
}

/* ---- memcached --------------------------------------------------------- */

/* Open the servers and borrow the one handle this process uses. */
static int connect_backend(ctl_t *ctl)
{
    const char *err = NULL;

    memset(&ctl->backend, 0, sizeof(ctl->backend));
    ctl->backend.spec = ctl->servers;
    ctl->backend.timeout_ms = ctl->timeout_ms;
    ctl->backend.retry_s = 0;
    err = sc_store_parse(ctl->pool, ctl->servers, &ctl->backend.servers);
    if (err) {
        return complain(EXIT_USAGE, "--servers '%s': %s", ctl->servers,
                        err);
    }
    if (sc_store_open(&ctl->backend, ctl->pool, 1, &err) != APR_SUCCESS) {
        return complain(EXIT_BACKEND, "memcached (%s): %s", ctl->servers,
                        err ? err : "cannot open");
    }
    ctl->conn = sc_store_borrow(&ctl->backend, 0, ctl->pool);
    if (!ctl->conn) {
        return complain(EXIT_BACKEND, "memcached (%s): no handle",
                        ctl->servers);
    }
    return EXIT_OK;
}

/* Increment the counter of one dependency and say what happened: EXIT_OK,
 * EXIT_NOTFOUND (no counter: nothing cached depends on it) or
 * EXIT_BACKEND. */
static int bump(ctl_t *ctl, const char *verb, const char *dep)
{
    const char *key = sc_key_counter(ctl->pool, ctl->prefix, dep);
    apr_uint64_t gen = 0;
    int existed = 0;
    apr_status_t rv = sc_gen_incr(ctl->conn, ctl->pool, ctl->prefix, dep,
                                  &existed, &gen);

    if (rv != APR_SUCCESS) {
        return backend_error(ctl, apr_psprintf(ctl->pool, "incr %s", key));
    }
    if (!existed) {
        printf("not found %s (%s: no counter, nothing cached depends on "
               "it)\n", shown(ctl->pool, dep), key);
        return EXIT_NOTFOUND;
    }
    printf("%s %s (%s: generation %" APR_UINT64_T_FMT ")\n", verb,
           shown(ctl->pool, dep), key, gen);
    return EXIT_OK;
}

/* Delete the counter of one dependency (a hard invalidation: what depended
 * on it is a miss, never STALE) and say what happened, as bump() does. */
static int drop(ctl_t *ctl, const char *verb, const char *dep)
{
    const char *key = sc_key_counter(ctl->pool, ctl->prefix, dep);
    int existed = 0;
    apr_status_t rv = sc_gen_drop(ctl->conn, ctl->pool, ctl->prefix, dep,
                                  &existed);

    if (rv != APR_SUCCESS) {
        return backend_error(ctl, apr_psprintf(ctl->pool, "delete %s", key));
    }
    if (!existed) {
        printf("not found %s (%s: no counter, nothing cached depends on "
               "it)\n", shown(ctl->pool, dep), key);
        return EXIT_NOTFOUND;
    }
    printf("%s %s (%s: counter dropped)\n", verb, shown(ctl->pool, dep),
           key);
    return EXIT_OK;
}

/* ---- purge, invalidate, flush ------------------------------------------ */

static int cmd_purge(ctl_t *ctl, int argc, const char *const *argv)
{
    const char **deps;
    int i, rc, result = EXIT_OK;

    if (argc < 1) {
        return usage_error("purge: give at least one URL");
    }
    deps = apr_palloc(ctl->pool, sizeof(char *) * (apr_size_t)argc);
    for (i = 0; i < argc; i++) {
        ctl_url_t u;
        const char *err = parse_url(ctl->pool, argv[i], &u);

        if (err) {
            return complain(EXIT_USAGE, "bad URL '%s': %s", argv[i], err);
        }
        deps[i] = sc_key_url_dep(ctl->pool, &u.url);
    }
    if ((rc = connect_backend(ctl)) != EXIT_OK) {
        return rc;
    }
    for (i = 0; i < argc; i++) {
        /* hard, as the PURGE method: never served STALE afterwards */
        rc = drop(ctl, "purged", deps[i]);
        if (rc == EXIT_BACKEND) {
            return rc;
        }
        if (rc == EXIT_NOTFOUND) {
            result = EXIT_NOTFOUND;
        }
    }
    return result;
}

/* An argument of invalidate names one tag: read as a tag list (what the
 * module reads from a response's tag and invalidate headers), it is one
 * token, all of it, and a valid one.  "a,b" is refused rather than taken
 * as one tag no response can carry or silently as two. */
static int one_tag(apr_pool_t *p, const char *arg)
{
    const char *cursor = arg, *tag;
    int valid;

    return sc_key_tag_next(p, &cursor, &tag, &valid) && valid
           && !strcmp(tag, arg);
}

static int cmd_invalidate(ctl_t *ctl, int argc, const char *const *argv)
{
    int i, rc;

    if (argc < 1) {
        return usage_error("invalidate: give at least one tag");
    }
    for (i = 0; i < argc; i++) {
        if (!one_tag(ctl->pool, argv[i])) {
            return complain(EXIT_USAGE, "invalid tag '%s': a tag is 1 to %d "
                            "printable ASCII characters without spaces or "
                            "commas", argv[i], SC_TAG_MAX);
        }
    }
    if ((rc = connect_backend(ctl)) != EXIT_OK) {
        return rc;
    }
    for (i = 0; i < argc; i++) {
        rc = bump(ctl, "invalidated",
                  sc_key_dep(ctl->pool, SC_DEP_TAG, argv[i]));
        if (rc == EXIT_BACKEND) {
            return rc;
        }
    }
    return EXIT_OK;
}

static int cmd_flush(ctl_t *ctl, int argc, const char *const *argv)
{
    const char *ns = argc > 0 ? argv[0] : CTL_DEFAULT_NAMESPACE;
    int rc;

    if (argc > 1) {
        return usage_error("flush: give at most one namespace");
    }
    if (!sc_key_tag_ok(ns)) {
        return complain(EXIT_USAGE, "invalid namespace '%s': 1 to %d "
                        "printable ASCII characters without spaces", ns,
                        SC_TAG_MAX);
    }
    if ((rc = connect_backend(ctl)) != EXIT_OK) {
        return rc;
    }
    rc = bump(ctl, "flushed", sc_key_dep(ctl->pool, SC_DEP_NAMESPACE, ns));
    return rc == EXIT_NOTFOUND ? EXIT_OK : rc;
}

/* ---- stats ------------------------------------------------------------- */

/* Print one server's state; EXIT_OK or EXIT_BACKEND. */
static int server_stats(ctl_t *ctl, const sc_server_t *s)
{
    sc_backend_t *b = apr_pcalloc(ctl->pool, sizeof(*b));
    sc_conn_t *c;
    memcached_stat_st *st;
    memcached_return_t mrc;
    const char *err = NULL;
    const char *name = s->port ? apr_psprintf(ctl->pool, "%s:%u", s->host,
                                              s->port)
                               : s->host;

    /* In the pool: its cleanups close it when the pool goes. */
    b->spec = name;
    b->timeout_ms = ctl->timeout_ms;
    b->servers = apr_array_make(ctl->pool, 1, sizeof(sc_server_t));
    *(sc_server_t *)apr_array_push(b->servers) = *s;
    if (sc_store_open(b, ctl->pool, 1, &err) != APR_SUCCESS
        || !(c = sc_store_borrow(b, 0, ctl->pool))) {
        printf("%s unreachable\n", name);
        return complain(EXIT_BACKEND, "memcached %s: %s", name,
                        err ? err : "cannot open");
    }
    st = memcached_stat(c->mc, NULL, &mrc);
    if (!st || mrc != MEMCACHED_SUCCESS) {
        c->failed = 1;
        err = memcached_last_error_message(c->mc);
        err = tidy(ctl->pool, err && *err ? err
                                          : memcached_strerror(c->mc, mrc));
        if (st) {
            memcached_stat_free(c->mc, st);
        }
        printf("%s unreachable\n", name);
        return complain(EXIT_BACKEND, "memcached %s: %s", name, err);
    }
    printf("%s reachable version=%s uptime=%lu curr_items=%lu bytes=%llu "
           "limit_maxbytes=%llu evictions=%llu curr_connections=%lu\n",
           name, st->version, st->uptime, st->curr_items, st->bytes,
           st->limit_maxbytes, st->evictions, st->curr_connections);
    memcached_stat_free(c->mc, st);
    return EXIT_OK;
}

static int cmd_stats(ctl_t *ctl, int argc, const char *const *argv)
{
    apr_array_header_t *servers;
    const char *err;
    int i, result = EXIT_OK;

    (void)argv;
    if (argc > 0) {
        return usage_error("stats: takes no arguments");
    }
    err = sc_store_parse(ctl->pool, ctl->servers, &servers);
    if (err) {
        return complain(EXIT_USAGE, "--servers '%s': %s", ctl->servers,
                        err);
    }
    for (i = 0; i < servers->nelts; i++) {
        if (server_stats(ctl, &APR_ARRAY_IDX(servers, i, sc_server_t))
            != EXIT_OK) {
            result = EXIT_BACKEND;
        }
    }
    return result;
}

/* ---- inspect ----------------------------------------------------------- */

/* Add one -H "Name: value" (value trimmed as httpd trims it). */
static int add_header(inspect_t *in, apr_pool_t *p, const char *arg)
{
    const char *colon = strchr(arg, ':'), *s, *e;
    char *name;

    if (!colon || colon == arg) {
        return usage_error("-H '%s': write 'Name: value'", arg);
    }
    name = apr_pstrmemdup(p, arg, (apr_size_t)(colon - arg));
    for (s = name; *s; s++) {
        if (!apr_isgraph(*s)) {
            return usage_error("-H '%s': bad header name", arg);
        }
    }
    s = colon + 1;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }
    apr_table_add(in->headers, name,
                  apr_pstrmemdup(p, s, (apr_size_t)(e - s)));
    return EXIT_OK;
}

/* A virtual host's addresses as declared ("*:80 192.0.2.1:80
 * [2001:db8::1]:80", as apachectl -S prints them) written as the module
 * writes its own in the key (sc_key_vhost_address_add): every address a
 * name resolves to, as httpd takes them, and a port of "*" as 0. */
static const char *vhost_addresses(apr_pool_t *p, const char *list,
                                   const char **out)
{
    char *copy = apr_pstrdup(p, list), *last, *tok;
    const char *addrs = "";

    for (tok = apr_strtok(copy, " \t", &last); tok;
         tok = apr_strtok(NULL, " \t", &last)) {
        apr_size_t n = strlen(tok);
        char *host = NULL, *scope = NULL;
        apr_port_t port = 0;
        apr_sockaddr_t *sa = NULL;

        if (n > 2 && !strcmp(tok + n - 2, ":*")) {
            tok[n - 2] = '\0';
        }
        else if (!strchr(tok, ':') || tok[n - 1] == ']') {
            return apr_psprintf(p, "'%s': give each address as IP:PORT",
                                tok);
        }
        if (apr_parse_addr_port(&host, &scope, &port, tok, p) != APR_SUCCESS
            || !host || scope) {
            return apr_psprintf(p, "'%s': not an address and port", tok);
        }
        if (strcmp(host, "*") && strcasecmp(host, "_default_")
            && apr_sockaddr_info_get(&sa, host, APR_UNSPEC, port, 0, p)
               != APR_SUCCESS) {
            return apr_psprintf(p, "'%s': cannot resolve %s", tok, host);
        }
        do {
            addrs = sc_key_vhost_address_add(p, addrs, sa, port);
            sa = sa ? sa->next : NULL;
        } while (sa);
    }
    *out = addrs;
    return NULL;
}

static int parse_inspect(ctl_t *ctl, int argc, const char *const *argv,
                         inspect_t *in)
{
    const char *url = NULL, *val = NULL, *err;
    int i, r;

    memset(in, 0, sizeof(*in));
    in->headers = apr_table_make(ctl->pool, 4);
    for (i = 0; i < argc; i++) {
        if ((r = option(argc, argv, &i, "--vhost", &val)) != 0) {
            in->vhost = val;
        }
        else if ((r = option(argc, argv, &i, "--vhost-addresses", &val))
                 != 0) {
            in->vhost_addresses = val;
        }
        else if ((r = option(argc, argv, &i, "--backend", &val)) != 0) {
            in->backend = val;
        }
        else if ((r = option(argc, argv, &i, "--host-header", &val)) != 0) {
            in->host_header = val;
        }
        else if ((r = option(argc, argv, &i, "-H", &val)) != 0) {
            if (r > 0 && add_header(in, ctl->pool, val) != EXIT_OK) {
                return EXIT_USAGE;
            }
        }
        else if (argv[i][0] == '-') {
            return usage_error("inspect: unknown option '%s'", argv[i]);
        }
        else if (url) {
            return usage_error("inspect: one URL only ('%s')", argv[i]);
        }
        else {
            url = argv[i];
        }
        if (r < 0) {
            return usage_error("inspect: %s needs a value", argv[i]);
        }
    }
    if (!url) {
        return usage_error("inspect: give a URL");
    }
    if ((err = parse_url(ctl->pool, url, &in->u)) != NULL) {
        return complain(EXIT_USAGE, "bad URL '%s': %s", url, err);
    }
    if (in->vhost_addresses
        && (err = vhost_addresses(ctl->pool, in->vhost_addresses,
                                  &in->vhost_addresses)) != NULL) {
        return complain(EXIT_USAGE, "--vhost-addresses: %s", err);
    }
    if (!in->vhost) {
        in->vhost = sc_key_vhost(ctl->pool, in->u.url.host, in->u.url.port);
    }
    if (!in->host_header) {
        in->host_header = in->u.authority;
    }
    return EXIT_OK;
}

/* Get and decode the record of a canonical key. */
static rec_t fetch_record(ctl_t *ctl, const char *key, apr_size_t len,
                          const char **mkey, sc_entry_t *e)
{
    sc_value_t *v;

    *mkey = sc_key_digest(ctl->pool, ctl->prefix, SC_KIND_ENTRY, key, len);
    if (sc_store_mget(ctl->conn, ctl->pool, mkey, 1, &v) != APR_SUCCESS) {
        return REC_ERROR;
    }
    switch (sc_entry_match(ctl->pool, v[0].data, v[0].len, key, len, e)) {
    case APR_SUCCESS:
        return REC_FOUND;
    case APR_ENOENT:
        return REC_MISSING;
    case SC_EOTHERKEY:
        return REC_OTHER;
    default:
        return REC_BAD;
    }
}

/* The verdict line; returns the exit code. */
static int verdict(const char *why)
{
    if (why) {
        field("cached", "no (%s)", why);
        return EXIT_NOTFOUND;
    }
    field("cached", "yes (fresh and valid)");
    return EXIT_OK;
}

/* Report a record that was not found; returns the exit code. */
static int not_found(ctl_t *ctl, rec_t rec, const char *mkey, int level)
{
    if (rec == REC_ERROR) {
        return backend_error(ctl, apr_psprintf(ctl->pool, "get %s", mkey));
    }
    field("record", "%s", mkey);
    switch (rec) {
    case REC_BAD:
        return verdict("the record is corrupt: the module treats it as a "
                       "miss");
    case REC_OTHER:
        return verdict("the record holds another key: a miss");
    default:
        break;
    }
    return verdict(level == 1
                   ? "nothing stored under this key; if the location keys "
                     "on cookies, headers, the user or expressions, or "
                     "serves another virtual host (--vhost), its key has "
                     "fields inspect does not know"
                   : "nothing stored for this variant: give the request "
                     "headers it varies on with -H");
}

static const char *when(apr_pool_t *p, apr_int64_t t)
{
    char *buf = apr_palloc(p, APR_RFC822_DATE_LEN);

    if (apr_rfc822_date(buf, apr_time_from_sec(t)) != APR_SUCCESS) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT, t);
    }
    return buf;
}

static const char *dep_label(const char *name)
{
    if (name[0] && name[1] == ':') {
        switch (name[0]) {
        case SC_DEP_TAG:
            return "tag";
        case SC_DEP_NAMESPACE:
            return "namespace";
        case SC_DEP_URL:
            return "url dep";
        }
    }
    return "dep";
}

/* Compare every dependency with its counter (one multi-get).  Returns
 * how many are invalid, -1 on a memcached error. */
static int check_deps(ctl_t *ctl, const sc_entry_t *e)
{
    int n = e->deps ? e->deps->nelts : 0, i, invalid = 0, tags = 0;
    const char **keys;
    sc_value_t *vals;

    if (n == 0) {
        field("deps", "none (stored without generation counters)");
        return 0;
    }
    keys = apr_palloc(ctl->pool, sizeof(char *) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        keys[i] = sc_key_counter(ctl->pool, ctl->prefix,
                                 APR_ARRAY_IDX(e->deps, i, sc_dep_t).name);
    }
    if (sc_store_mget(ctl->conn, ctl->pool, keys, (apr_size_t)n, &vals)
        != APR_SUCCESS) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        const sc_dep_t *d = &APR_ARRAY_IDX(e->deps, i, sc_dep_t);
        const char *label = dep_label(d->name);
        const char *state = "valid";
        apr_uint64_t cur = 0;
        int have = sc_gen_parse(&vals[i], &cur);

        if (sc_entry_dep_state(d, have, cur) == SC_DEP_CURRENT) {
            state = "valid";
        }
        else if (!vals[i].data) {
            state = "INVALIDATED (counter missing)";
        }
        else if (!have) {
            state = "INVALID (counter is not a number)";
        }
        else {
            state = apr_psprintf(ctl->pool, "INVALIDATED (counter now %"
                                 APR_UINT64_T_FMT ")", cur);
        }
        invalid += strcmp(state, "valid") != 0;
        tags += d->name[0] == SC_DEP_TAG;
        field(label, "%s generation %" APR_UINT64_T_FMT ": %s",
              shown(ctl->pool, strcmp(label, "dep") ? d->name + 2 : d->name),
              d->gen, state);
    }
    if (!tags) {
        field("tags", "none");
    }
    return invalid;
}

/* Check that every chunk of a large body is there (one multi-get).
 * Returns the number missing or corrupt, -1 on a memcached error. */
static int check_chunks(ctl_t *ctl, const sc_entry_t *e)
{
    const char **keys;
    sc_value_t *vals;
    apr_uint32_t i;
    int bad = 0;

    if (e->body_kind != SC_BODY_CHUNKED || e->nchunks == 0) {
        return 0;
    }
    keys = sc_entry_chunk_keys(ctl->pool, ctl->prefix, e);
    if (sc_store_mget(ctl->conn, ctl->pool, keys, e->nchunks, &vals)
        != APR_SUCCESS) {
        return -1;
    }
    for (i = 0; i < e->nchunks; i++) {
        const char *data;
        apr_size_t n;
        apr_status_t rv = sc_entry_chunk(e, i, vals[i].data, vals[i].len,
                                         &data, &n);

        if (rv != APR_SUCCESS) {
            field("chunk", "%u of %u %s", i, e->nchunks,
                  rv == APR_ENOENT ? "missing" : "corrupt");
            bad++;
        }
    }
    return bad;
}

static void print_entry(ctl_t *ctl, const char *mkey, const sc_entry_t *e,
                        apr_int64_t now)
{
    int i;

    field("record", "entry %s", mkey);
    field("status", "%d", e->status);
    field("stored", "%s (age %" APR_INT64_T_FMT " s)",
          when(ctl->pool, e->stored_at), now - e->stored_at);
    field("ttl", "%" APR_INT64_T_FMT " s left (fresh until %s)",
          e->fresh_until - now, when(ctl->pool, e->fresh_until));
    field("stale", "%" APR_INT64_T_FMT " s window%s",
          e->stale_until - e->fresh_until,
          (e->flags & SC_EF_NO_STALE) ? " (never served stale)" : "");
    field("size", "%" APR_UINT64_T_FMT " bytes (%s)", e->body_len,
          e->body_kind == SC_BODY_CHUNKED ? "chunked" : "inline");
    if (e->body_kind == SC_BODY_CHUNKED) {
        field("chunks", "%u of %u bytes, version %016" APR_UINT64_T_HEX_FMT,
              e->nchunks, e->chunk_size, e->version);
    }
    else {
        field("chunks", "0");
    }
    field("flags", "%s%s%s", e->flags & SC_EF_QUICK ? "quick " : "",
          e->flags & SC_EF_NO_STALE ? "no-stale " : "",
          e->flags & (SC_EF_QUICK | SC_EF_NO_STALE) ? "" : "none");
    for (i = 0; e->headers && i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        field("header", "%s: %s", shown(ctl->pool, h->name),
              shown(ctl->pool, h->value));
    }
}

/* Report a stored response and whether the module would serve it. */
static int report_entry(ctl_t *ctl, const char *mkey, const sc_entry_t *e,
                        apr_int64_t now)
{
    sc_usable_t use;
    int invalid, bad;

    if (e->type != SC_REC_ENTRY) {
        field("record", "type %d %s", e->type, mkey);
        return verdict("not a stored response");
    }
    print_entry(ctl, mkey, e, now);
    if ((invalid = check_deps(ctl, e)) < 0
        || (bad = check_chunks(ctl, e)) < 0) {
        return backend_error(ctl, "get of counters or chunks");
    }
    if (invalid) {
        return verdict("invalidated: a generation changed");
    }
    /* what the module serves as a HIT (no generation moved) */
    sc_entry_usable(e, now, 0, 0, 0, &use);
    if (!use.fresh) {
        return verdict("expired");
    }
    if (bad) {
        return verdict("chunks missing or corrupt");
    }
    return verdict(NULL);
}

/* Level 1 held a Vary record: show it and look up the variant that the
 * -H headers select. */
static int follow_vary(ctl_t *ctl, const inspect_t *in, const sc_key_t *k1,
                       const sc_entry_t *vary, const char *vkey,
                       apr_int64_t now)
{
    apr_array_header_t *names = sc_entry_vary_names(ctl->pool, vary);
    const char *list = "", *key, *mkey;
    sc_entry_t e;
    apr_size_t len;
    rec_t rec;
    int i;

    for (i = 0; i < names->nelts; i++) {
        list = apr_pstrcat(ctl->pool, list, i ? ", " : "",
                           APR_ARRAY_IDX(names, i, const char *), NULL);
    }
    field("record", "vary %s", vkey);
    field("vary", "%s (for %" APR_INT64_T_FMT " s more)",
          shown(ctl->pool, list),
          vary->stale_until - now);
    if (!sc_entry_vary_live(vary, now)) {
        return verdict("the Vary record expired");
    }
    for (i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const char *v = apr_table_getm(ctl->pool, in->headers, name);

        field("variant", "%s: %s", shown(ctl->pool, name),
              v ? shown(ctl->pool, v) : "(absent)");
    }
    key = sc_key_variant(k1, names, in->headers, &len);
    rec = fetch_record(ctl, key, len, &mkey, &e);
    if (rec != REC_FOUND) {
        return not_found(ctl, rec, mkey, 2);
    }
    return report_entry(ctl, mkey, &e, now);
}

static int cmd_inspect(ctl_t *ctl, int argc, const char *const *argv)
{
    apr_int64_t now = apr_time_sec(apr_time_now());
    const char *key, *mkey;
    inspect_t in;
    sc_entry_t e;
    sc_key_t k;
    sc_key_request_t rq;
    apr_size_t len;
    rec_t rec;
    int rc;

    if ((rc = parse_inspect(ctl, argc, argv, &in)) != EXIT_OK) {
        return rc;
    }
    memset(&rq, 0, sizeof(rq));
    rq.url = in.u.url;
    rq.url.path = in.u.raw_path;
    rq.vhost = in.vhost;
    rq.vhost_addresses = in.vhost_addresses;
    rq.host = in.host_header;
    /* where httpd routes a request that no rewrite touched: its decoded
     * path and its query */
    rq.route_path = in.u.url.path;
    rq.route_query = in.u.url.query;
    rq.route_backend = in.backend ? apr_pstrcat(ctl->pool, "proxy:",
                                                in.backend, NULL) : NULL;
    sc_key_request(&k, ctl->pool, &rq);
    key = sc_key_bytes(&k, &len);
    if ((rc = connect_backend(ctl)) != EXIT_OK) {
        return rc;
    }
    field("url", "%s://%s:%u%s%s%s", in.u.url.scheme, in.u.url.host,
          in.u.url.port, shown(ctl->pool, in.u.url.path),
          in.u.url.query ? "?" : "",
          in.u.url.query ? shown(ctl->pool, in.u.url.query) : "");
    field("vhost", "%s", shown(ctl->pool, in.vhost));
    field("host", "%s", shown(ctl->pool, in.host_header));
    rec = fetch_record(ctl, key, len, &mkey, &e);
    if (rec != REC_FOUND) {
        return not_found(ctl, rec, mkey, 1);
    }
    if (e.type == SC_REC_VARY) {
        return follow_vary(ctl, &in, &k, &e, mkey, now);
    }
    return report_entry(ctl, mkey, &e, now);
}

/* ---- main -------------------------------------------------------------- */

typedef int (*command_fn)(ctl_t *ctl, int argc, const char *const *argv);

static const struct {
    const char *name;
    command_fn fn;
} commands[] = {
    { "purge", cmd_purge },
    { "invalidate", cmd_invalidate },
    { "flush", cmd_flush },
    { "inspect", cmd_inspect },
    { "stats", cmd_stats },
    { NULL, NULL }
};

/* Global options before the command; returns the index of the command
 * or -1 after an error (already reported). */
static int global_options(ctl_t *ctl, int argc, const char *const *argv)
{
    const char *timeout = NULL, *val = NULL;
    int i, r;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if ((r = option(argc, argv, &i, "--servers", &val)) > 0) {
            ctl->servers = val;
        }
        else if (r == 0
                 && (r = option(argc, argv, &i, "--prefix", &val)) > 0) {
            ctl->prefix = val;
        }
        else if (r == 0
                 && (r = option(argc, argv, &i, "--timeout", &val)) > 0) {
            timeout = val;
        }
        else if (r < 0) {
            usage_error("%s needs a value", argv[i]);
            return -1;
        }
        else {
            usage_error("unknown option '%s'", argv[i]);
            return -1;
        }
    }
    if (timeout) {
        char *end;
        long v = strtol(timeout, &end, 10);

        if (!apr_isdigit(*timeout) || *end || v < 1 || v > 60000) {
            usage_error("--timeout '%s': milliseconds, 1 to 60000", timeout);
            return -1;
        }
        ctl->timeout_ms = (int)v;
    }
    if (!sc_key_prefix_ok(ctl->prefix)) {
        complain(EXIT_USAGE, "prefix '%s': 1 to %d printable ASCII "
                 "characters without spaces", ctl->prefix, SC_PREFIX_MAX);
        return -1;
    }
    return i;
}

static int run(ctl_t *ctl, int argc, const char *const *argv)
{
    int i, cmd;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
    }
    if ((cmd = global_options(ctl, argc, argv)) < 0) {
        return EXIT_USAGE;
    }
    if (cmd >= argc) {
        return usage_error("no command given");
    }
    if (!strcmp(argv[cmd], "help")) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    for (i = 0; commands[i].name; i++) {
        if (!strcmp(argv[cmd], commands[i].name)) {
            return commands[i].fn(ctl, argc - cmd - 1, argv + cmd + 1);
        }
    }
    return usage_error("unknown command '%s'", argv[cmd]);
}

int main(int argc, const char *const *argv)
{
    const char *env;
    apr_pool_t *pool;
    ctl_t ctl;
    int rc;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS
        || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fputs("sharedcachectl: cannot initialise APR\n", stderr);
        return EXIT_BACKEND;
    }
    memset(&ctl, 0, sizeof(ctl));
    ctl.pool = pool;
    env = getenv("SHAREDCACHE_SERVERS");
    ctl.servers = env && *env ? env : SC_DEFAULT_SERVERS;
    env = getenv("SHAREDCACHE_PREFIX");
    ctl.prefix = env && *env ? env : "sc";
    ctl.timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
    rc = run(&ctl, argc, argv);
    fflush(stdout);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
