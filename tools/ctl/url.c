/*
 * url.c: a URL given on the command line as the module sees the request
 * for it: scheme, host and port as httpd normalises them, the path as
 * written (what entries are keyed on) and percent-decoded (what URL
 * invalidation names), the raw query.
 */
#include "ctl.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    return apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10;
}

/* The path as httpd's defaults normalise it before decoding (and as the
 * Python package's keys.normalize_path does): %XX of unreserved
 * characters decoded, "." and ".." segments resolved (never above the
 * root), runs of slashes merged (MergeSlashes On).  A URL counter, and so
 * the server that holds a URL's keys, are named by this path. */
static char *normalize_path(apr_pool_t *p, const char *in)
{
    apr_size_t n = strlen(in);
    char *dec = apr_palloc(p, n + 2), *d = dec;
    char *out = apr_palloc(p, n + 3), *o;
    const char *seg;

    if (*in != '/') {
        *d++ = '/';
    }
    for (; *in; in++) {
        if (in[0] == '%' && apr_isxdigit(in[1]) && apr_isxdigit(in[2])) {
            int c = hexval(in[1]) * 16 + hexval(in[2]);
            if (apr_isalnum(c) || c == '-' || c == '.' || c == '_'
                || c == '~') {
                *d++ = (char)c;
                in += 2;
                continue;
            }
        }
        *d++ = *in;
    }
    *d = '\0';
    o = out;
    for (seg = dec + 1;;) {
        const char *end = strchr(seg, '/');
        apr_size_t len = end ? (apr_size_t)(end - seg) : strlen(seg);
        int last = end == NULL;

        if ((len == 1 && seg[0] == '.')
            || (len == 2 && !strncmp(seg, "..", 2))) {
            if (len == 2 && o > out) {
                while (o > out && *--o != '/') {
                }
            }
            if (last) {
                *o++ = '/';
            }
        }
        else if (len == 0 && !last) {
            /* merge slashes */
        }
        else {
            *o++ = '/';
            memcpy(o, seg, len);
            o += len;
        }
        if (last) {
            break;
        }
        seg = end + 1;
    }
    if (o == out) {
        *o++ = '/';
    }
    *o = '\0';
    return out;
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
const char *ctl_parse_url(apr_pool_t *p, const char *s, ctl_url_t *out)
{
    apr_uri_t uri;
    const char *err = NULL;
    char *host, *c;
    apr_size_t n;

    memset(out, 0, sizeof(*out));
    if (apr_uri_parse(p, s, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname
        || !*uri.hostname) {
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
    out->authority = apr_pstrcat(
        p, strchr(uri.hostname, ':') ? "[" : "", uri.hostname,
        strchr(uri.hostname, ':') ? "]" : "",
        uri.port_str && *uri.port_str ? ":" : "",
        uri.port_str && *uri.port_str ? uri.port_str : "", NULL);
    if (uri.path && *uri.path && *uri.path != '/') {
        return "the path must start with '/'";
    }
    out->raw_path = uri.path && *uri.path ? uri.path : "/";
    out->url.path = unescape_path(p, normalize_path(p, out->raw_path), &err);
    out->url.query = uri.query;
    return out->url.path ? NULL : err;
}
