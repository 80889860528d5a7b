/*
 * inspect.c: the inspect command: the level-1 key of a URL as the module
 * computes it for a request that no rewrite touched (sc_key_request), the
 * record stored there, the variant a Vary record selects (-H), the
 * location's variance (--vary-cookie, --vary-header, --vary-user), and
 * whether the module would serve it: the record, generation, freshness
 * and chunk checks are sc_entry.c's, the module's own.
 */
#include "ctl.h"
#include "sc_entry.h"
#include "sc_gen.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    ctl_url_t u;
    const char *vhost;
    const char *vhost_addresses;
    const char *backend;
    const char *host_header;
    apr_table_t *headers; /* -H, for Vary and the location's variance */
    /* the location's variance, as configured (SharedCacheVaryBy*): the
     * values come from -H (Cookie, the headers) and --vary-user */
    apr_array_header_t *vary_cookies, *vary_headers;
    const char *vary_user;
    int by_user;
} inspect_t;

typedef enum { REC_FOUND, REC_MISSING, REC_BAD, REC_OTHER, REC_ERROR } rec_t;

/* Add one -H "Name: value" (value trimmed as httpd trims it). */
static int add_header(inspect_t *in, apr_pool_t *p, const char *arg)
{
    const char *colon = strchr(arg, ':'), *s, *e;
    char *name;

    if (!colon || colon == arg) {
        return ctl_usage("-H '%s': write 'Name: value'", arg);
    }
    name = apr_pstrmemdup(p, arg, (apr_size_t)(colon - arg));
    for (s = name; *s; s++) {
        if (!apr_isgraph(*s)) {
            return ctl_usage("-H '%s': bad header name", arg);
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
    apr_table_add(in->headers, name, apr_pstrmemdup(p, s, (apr_size_t)(e - s)));
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
            return apr_psprintf(p, "'%s': give each address as IP:PORT", tok);
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
    in->vary_cookies = apr_array_make(ctl->pool, 2, sizeof(const char *));
    in->vary_headers = apr_array_make(ctl->pool, 2, sizeof(const char *));
    for (i = 0; i < argc; i++) {
        if ((r = ctl_option(argc, argv, &i, "--vhost", &val)) != 0) {
            in->vhost = val;
        }
        else if ((r = ctl_option(argc, argv, &i, "--vhost-addresses", &val))
                 != 0) {
            in->vhost_addresses = val;
        }
        else if ((r = ctl_option(argc, argv, &i, "--backend", &val)) != 0) {
            in->backend = val;
        }
        else if ((r = ctl_option(argc, argv, &i, "--host-header", &val)) != 0) {
            in->host_header = val;
        }
        else if ((r = ctl_option(argc, argv, &i, "--vary-cookie", &val)) != 0) {
            if (r > 0) {
                APR_ARRAY_PUSH(in->vary_cookies, const char *) = val;
            }
        }
        else if ((r = ctl_option(argc, argv, &i, "--vary-header", &val)) != 0) {
            if (r > 0) {
                /* as the directive keeps it: lower case */
                char *name = apr_pstrdup(ctl->pool, val), *c;

                for (c = name; *c; c++) {
                    *c = (char)apr_tolower(*c);
                }
                APR_ARRAY_PUSH(in->vary_headers, const char *) = name;
            }
        }
        else if ((r = ctl_option(argc, argv, &i, "--vary-user", &val)) != 0) {
            in->vary_user = val;
            in->by_user = 1;
        }
        else if ((r = ctl_option(argc, argv, &i, "-H", &val)) != 0) {
            if (r > 0 && add_header(in, ctl->pool, val) != EXIT_OK) {
                return EXIT_USAGE;
            }
        }
        else if (argv[i][0] == '-') {
            return ctl_usage("inspect: unknown option '%s'", argv[i]);
        }
        else if (url) {
            return ctl_usage("inspect: one URL only ('%s')", argv[i]);
        }
        else {
            url = argv[i];
        }
        if (r < 0) {
            return ctl_usage("inspect: %s needs a value", argv[i]);
        }
    }
    if (!url) {
        return ctl_usage("inspect: give a URL");
    }
    if ((err = ctl_parse_url(ctl->pool, url, &in->u)) != NULL) {
        return ctl_complain(EXIT_USAGE, "bad URL '%s': %s", url, err);
    }
    if (in->vhost_addresses
        && (err = vhost_addresses(ctl->pool, in->vhost_addresses,
                                  &in->vhost_addresses))
               != NULL) {
        return ctl_complain(EXIT_USAGE, "--vhost-addresses: %s", err);
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
        ctl_field("cached", "no (%s)", why);
        return EXIT_NOTFOUND;
    }
    ctl_field("cached", "yes (fresh and valid)");
    return EXIT_OK;
}

/* Report a record that was not found; returns the exit code. */
static int not_found(ctl_t *ctl, rec_t rec, const char *mkey, int level)
{
    if (rec == REC_ERROR) {
        return ctl_backend_error(ctl, apr_psprintf(ctl->pool, "get %s", mkey));
    }
    ctl_field("record", "%s", mkey);
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
        ctl_field("deps", "none (stored without generation counters)");
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
            state = apr_psprintf(
                ctl->pool, "INVALIDATED (counter now %" APR_UINT64_T_FMT ")",
                cur);
        }
        invalid += strcmp(state, "valid") != 0;
        tags += d->name[0] == SC_DEP_TAG;
        ctl_field(
            label, "%s generation %" APR_UINT64_T_FMT ": %s",
            ctl_shown(ctl->pool, strcmp(label, "dep") ? d->name + 2 : d->name),
            d->gen, state);
    }
    if (!tags) {
        ctl_field("tags", "none");
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
        apr_status_t rv = sc_entry_chunk(e, i, vals[i].data, vals[i].len, &data,
                                         &n);

        if (rv != APR_SUCCESS) {
            ctl_field("chunk", "%u of %u %s", i, e->nchunks,
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

    ctl_field("record", "entry %s", mkey);
    ctl_field("status", "%d", e->status);
    ctl_field("stored", "%s (age %" APR_INT64_T_FMT " s)",
              when(ctl->pool, e->stored_at), now - e->stored_at);
    ctl_field("ttl", "%" APR_INT64_T_FMT " s left (fresh until %s)",
              e->fresh_until - now, when(ctl->pool, e->fresh_until));
    ctl_field("stale", "%" APR_INT64_T_FMT " s window%s",
              e->stale_until - e->fresh_until,
              (e->flags & SC_EF_NO_STALE) ? " (never served stale)" : "");
    ctl_field("size", "%" APR_UINT64_T_FMT " bytes (%s)", e->body_len,
              e->body_kind == SC_BODY_CHUNKED ? "chunked" : "inline");
    if (e->body_kind == SC_BODY_CHUNKED) {
        ctl_field("chunks", "%u of %u bytes, version %016" APR_UINT64_T_HEX_FMT,
                  e->nchunks, e->chunk_size, e->version);
    }
    else {
        ctl_field("chunks", "0");
    }
    if (e->codings) {
        int c;
        ctl_field("decoded", "%" APR_UINT64_T_FMT " bytes", e->identity_len);
        for (c = SC_CODING_GZIP; c < SC_CODINGS; c++) {
            if (e->codings & SC_CODING_BIT(c)) {
                ctl_field("coding",
                          "%s: %" APR_UINT64_T_FMT
                          " bytes at %" APR_UINT64_T_FMT,
                          sc_codec_name((sc_coding_t)c), e->coding_len[c],
                          e->coding_off[c]);
            }
        }
    }
    ctl_field("flags", "%s%s%s", e->flags & SC_EF_QUICK ? "quick " : "",
              e->flags & SC_EF_NO_STALE ? "no-stale " : "",
              e->flags & (SC_EF_QUICK | SC_EF_NO_STALE) ? "" : "none");
    for (i = 0; e->headers && i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        ctl_field("header", "%s: %s", ctl_shown(ctl->pool, h->name),
                  ctl_shown(ctl->pool, h->value));
    }
}

/* Report a stored response and whether the module would serve it. */
static int report_entry(ctl_t *ctl, const char *mkey, const sc_entry_t *e,
                        apr_int64_t now)
{
    sc_usable_t use;
    int invalid, bad;

    if (e->type != SC_REC_ENTRY) {
        ctl_field("record", "type %d %s", e->type, mkey);
        return verdict("not a stored response");
    }
    print_entry(ctl, mkey, e, now);
    if ((invalid = check_deps(ctl, e)) < 0
        || (bad = check_chunks(ctl, e)) < 0) {
        return ctl_backend_error(ctl, "get of counters or chunks");
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

/* The location's variance fields, in the module's order (cookies,
 * headers, the user: sc_keying.c), from -H and --vary-user. */
static void add_variance(apr_pool_t *p, const inspect_t *in, sc_key_t *k)
{
    const char *cookies = apr_table_get(in->headers, "Cookie");
    int i;

    for (i = 0; i < in->vary_cookies->nelts; i++) {
        const char *name = APR_ARRAY_IDX(in->vary_cookies, i, const char *);
        const char *v = sc_key_cookie(p, cookies, name);

        sc_key_add(k, 'c', name, v);
        ctl_field("variance", "cookie %s: %s", ctl_shown(p, name),
                  v ? ctl_shown(p, v) : "(absent)");
    }
    for (i = 0; i < in->vary_headers->nelts; i++) {
        const char *name = APR_ARRAY_IDX(in->vary_headers, i, const char *);
        const char *v = apr_table_getm(p, in->headers, name);

        sc_key_add(k, 'h', name, v);
        ctl_field("variance", "header %s: %s", ctl_shown(p, name),
                  v ? ctl_shown(p, v) : "(absent)");
    }
    if (in->by_user) {
        const char *u = *in->vary_user ? in->vary_user : NULL;

        sc_key_add(k, 'u', "user", u);
        ctl_field("variance", "user: %s", u ? ctl_shown(p, u) : "(anonymous)");
    }
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
    ctl_field("record", "vary %s", vkey);
    ctl_field("vary", "%s (for %" APR_INT64_T_FMT " s more)",
              ctl_shown(ctl->pool, list), vary->stale_until - now);
    if (!sc_entry_vary_live(vary, now)) {
        return verdict("the Vary record expired");
    }
    for (i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const char *v = apr_table_getm(ctl->pool, in->headers, name);

        ctl_field("variant", "%s: %s", ctl_shown(ctl->pool, name),
                  v ? ctl_shown(ctl->pool, v) : "(absent)");
    }
    key = sc_key_variant(k1, names, in->headers, &len);
    rec = fetch_record(ctl, key, len, &mkey, &e);
    if (rec != REC_FOUND) {
        return not_found(ctl, rec, mkey, 2);
    }
    return report_entry(ctl, mkey, &e, now);
}

int ctl_inspect(ctl_t *ctl, int argc, const char *const *argv)
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
    rq.route_backend = in.backend
                           ? apr_pstrcat(ctl->pool, "proxy:", in.backend, NULL)
                           : NULL;
    sc_key_request(&k, ctl->pool, &rq);
    add_variance(ctl->pool, &in, &k);
    key = sc_key_bytes(&k, &len);
    if ((rc = ctl_connect(ctl)) != EXIT_OK) {
        return rc;
    }
    /* Every key of the URL is on the server placement picks for it. */
    {
        const char *group = sc_key_counter(
            ctl->pool, ctl->prefix, sc_key_url_dep(ctl->pool, &in.u.url));
        int at = sc_store_place(&ctl->backend, group);

        ctl->conn = ctl_conn(ctl, at);
        if (!ctl->conn) {
            return ctl_complain(EXIT_BACKEND, "memcached %s: no handle",
                                ctl->backend.names[at]);
        }
        if (sc_store_count(&ctl->backend) > 1) {
            ctl_field("server", "%s", ctl->backend.names[at]);
        }
    }
    ctl_field("url", "%s://%s:%u%s%s%s", in.u.url.scheme, in.u.url.host,
              in.u.url.port, ctl_shown(ctl->pool, in.u.url.path),
              in.u.url.query ? "?" : "",
              in.u.url.query ? ctl_shown(ctl->pool, in.u.url.query) : "");
    ctl_field("vhost", "%s", ctl_shown(ctl->pool, in.vhost));
    ctl_field("host", "%s", ctl_shown(ctl->pool, in.host_header));
    rec = fetch_record(ctl, key, len, &mkey, &e);
    if (rec != REC_FOUND) {
        return not_found(ctl, rec, mkey, 1);
    }
    if (e.type == SC_REC_VARY) {
        return follow_vary(ctl, &in, &k, &e, mkey, now);
    }
    return report_entry(ctl, mkey, &e, now);
}
