/*
 * sc_status_page.c: the status page (SetHandler sharedcache-status): the
 * shared counters, per virtual host, and each memcached server's state as
 * this child and all children see it, in HTML, JSON (?json), Prometheus
 * (?prometheus), one line per server (?servers) and the local tier's
 * store (?local).
 */
#include "sc_status.h"
#include "sc_status_int.h"
#include "sc_config.h"
#include "sc_local.h"
#include "sc_pending.h"
#include "sc_store.h"
#include "sc_vhoststat.h"

#include "http_protocol.h"
#include <apr_strings.h>

static apr_array_header_t *server_states(request_rec *r)
{
    sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                               &sharedcache_module);
    apr_array_header_t *out = NULL;

    if (s->backend) {
        sc_store_stats(s->backend, r->pool, &out);
    }
    return out ? out : apr_array_make(r->pool, 1, sizeof(sc_server_stats_t));
}

/* Seconds since / until a time in microseconds (0 for none). */
static apr_time_t since_s(apr_uint64_t t)
{
    return t ? apr_time_sec(apr_time_now() - (apr_time_t)t) : 0;
}

static apr_time_t until_s(apr_uint64_t t)
{
    apr_time_t now = apr_time_now();

    return t && (apr_time_t)t > now ? apr_time_sec((apr_time_t)t - now) : 0;
}

/* The server's state as this child sees it. */
static const char *state(request_rec *r, const sc_server_stats_t *s)
{
    if (s->down_since) {
        return apr_psprintf(r->pool,
                            "marked down %" APR_TIME_T_FMT " s ago"
                            ", retried in %" APR_TIME_T_FMT " s",
                            since_s(s->down_since), until_s(s->retry_at));
    }
    return s->up ? "up" : "DOWN";
}

/* The children's view of one server, for the HTML page. */
static const char *children_state(request_rec *r, const char *server)
{
    apr_uint64_t since, retry;
    int n, down = sc_status_children_down(server, &n, &since, &retry);

    if (!down) {
        return apr_psprintf(r->pool, "up in all %d children", n);
    }
    return apr_psprintf(r->pool,
                        "marked down in %d of %d children, the first "
                        "%" APR_TIME_T_FMT " s ago; retried within "
                        "%" APR_TIME_T_FMT " s",
                        down, n, since_s(since), until_s(retry));
}

/* A string as a JSON or Prometheus label value ('"', '\\' escaped; control
 * characters, which a label never holds, dropped). */
static const char *quoted(request_rec *r, const char *in)
{
    char *out = apr_palloc(r->pool, 2 * strlen(in) + 1), *o = out;

    for (; *in; in++) {
        if (*in == '"' || *in == '\\') {
            *o++ = '\\';
        }
        if ((unsigned char)*in >= 0x20) {
            *o++ = *in;
        }
    }
    *o = '\0';
    return out;
}

/* "vhosts": [{"vhost": "name:port", "hits": N, ...}, ...] */
static void json_vhosts(request_rec *r)
{
    int v, i;

    ap_rputs("\"vhosts\": [", r);
    for (v = 0; v < sc_vhoststat_count(); v++) {
        ap_rprintf(r, "%s{\"vhost\": \"%s\"", v ? ", " : "",
                   quoted(r, sc_vhoststat_label(v)));
        for (i = 0; i < SC_STAT_COUNT; i++) {
            if (sc_stat_info[i].per_vhost) {
                ap_rprintf(r, ", \"%s\": %" APR_UINT64_T_FMT,
                           sc_stat_info[i].name, sc_vhoststat_get(v, i));
            }
        }
        ap_rputs("}", r);
    }
    ap_rputs("], ", r);
}

static void json(request_rec *r, apr_array_header_t *servers)
{
    apr_uint64_t kept;
    int i, children;

    ap_set_content_type(r, "application/json");
    ap_rprintf(r,
               "{\"started\": %" APR_TIME_T_FMT
               ", \"uptime_s\": %" APR_TIME_T_FMT ", ",
               apr_time_sec(sc_stat_started()),
               since_s((apr_uint64_t)sc_stat_started()));
    for (i = 0; i < SC_STAT_COUNT; i++) {
        ap_rprintf(r, "\"%s\": %" APR_UINT64_T_FMT ", ", sc_stat_info[i].name,
                   sc_stat_get(i));
    }
    kept = sc_status_decoded_kept_sum(&children);
    ap_rprintf(r,
               "\"decoded_kept_bytes\": %" APR_UINT64_T_FMT
               ", \"decoded_kept_children\": %d, "
               "\"invalidations_waiting\": %d, \"leases_kept\": %d, ",
               kept, children, sc_pending_count(), sc_pending_lease_count());
    json_vhosts(r);
    ap_rputs("\"servers\": [", r);
    for (i = 0; i < servers->nelts; i++) {
        const sc_server_stats_t *s = &APR_ARRAY_IDX(servers, i,
                                                    sc_server_stats_t);
        apr_uint64_t since, retry;
        int n, down = sc_status_children_down(s->name, &n, &since, &retry);

        ap_rprintf(
            r,
            "%s{\"server\": \"%s\", \"up\": %s, \"items\": %" APR_UINT64_T_FMT
            ", \"bytes\": %" APR_UINT64_T_FMT
            ", \"limit_bytes\": %" APR_UINT64_T_FMT
            ", \"evictions\": %" APR_UINT64_T_FMT
            ", \"marked_down\": %s, \"down_for_s\": %" APR_TIME_T_FMT
            ", \"retry_in_s\": %" APR_TIME_T_FMT ", \"children\": %d"
            ", \"children_marked_down\": %d"
            ", \"children_down_for_s\": %" APR_TIME_T_FMT
            ", \"children_retry_in_s\": %" APR_TIME_T_FMT "}",
            i ? ", " : "", ap_escape_html(r->pool, s->name),
            s->up ? "true" : "false", s->curr_items, s->bytes,
            s->limit_maxbytes, s->evictions, s->down_since ? "true" : "false",
            since_s(s->down_since), until_s(s->retry_at), n, down,
            since_s(since), until_s(retry));
    }
    ap_rputs("]}\n", r);
}

/* What memcached says of itself, as Prometheus series per server. */
static const struct {
    const char *metric;
    const char *help;
    apr_size_t offset; /* an apr_uint64_t of sc_server_stats_t */
    int counter;
} gauges[] = {
    { "sharedcache_memcached_items", "items stored (curr_items)",
      APR_OFFSETOF(sc_server_stats_t, curr_items), 0 },
    { "sharedcache_memcached_bytes", "bytes stored",
      APR_OFFSETOF(sc_server_stats_t, bytes), 0 },
    { "sharedcache_memcached_limit_bytes", "memory limit (limit_maxbytes)",
      APR_OFFSETOF(sc_server_stats_t, limit_maxbytes), 0 },
    { "sharedcache_memcached_evictions_total", "items evicted",
      APR_OFFSETOF(sc_server_stats_t, evictions), 1 },
};

/* sharedcache_vhost_<metric>{vhost="name:port"[,status="..."]} */
static void prometheus_vhosts(request_rec *r)
{
    int v, i;

    for (i = 0; i < SC_STAT_COUNT; i++) {
        const char *metric = sc_stat_info[i].metric + strlen("sharedcache_");

        if (!sc_stat_info[i].per_vhost) {
            continue;
        }
        if (sc_stat_info[i].help) {
            ap_rprintf(r,
                       "# HELP sharedcache_vhost_%s %s, by virtual host\n"
                       "# TYPE sharedcache_vhost_%s counter\n",
                       metric, sc_stat_info[i].help, metric);
        }
        for (v = 0; v < sc_vhoststat_count(); v++) {
            ap_rprintf(
                r,
                "sharedcache_vhost_%s{vhost=\"%s\"%s%s%s} %" APR_UINT64_T_FMT
                "\n",
                metric, quoted(r, sc_vhoststat_label(v)),
                sc_stat_info[i].label ? ",status=\"" : "",
                sc_stat_info[i].label ? sc_stat_info[i].label : "",
                sc_stat_info[i].label ? "\"" : "", sc_vhoststat_get(v, i));
        }
    }
}

static void prometheus(request_rec *r, apr_array_header_t *servers)
{
    int i, children;

    ap_set_content_type(r, "text/plain; version=0.0.4");
    for (i = 0; i < SC_STAT_COUNT; i++) {
        if (sc_stat_info[i].help) {
            ap_rprintf(r, "# HELP %s %s\n# TYPE %s counter\n",
                       sc_stat_info[i].metric, sc_stat_info[i].help,
                       sc_stat_info[i].metric);
        }
        if (sc_stat_info[i].label) {
            ap_rprintf(r, "%s{status=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       sc_stat_info[i].metric, sc_stat_info[i].label,
                       sc_stat_get(i));
        }
        else {
            ap_rprintf(r, "%s %" APR_UINT64_T_FMT "\n", sc_stat_info[i].metric,
                       sc_stat_get(i));
        }
    }
    prometheus_vhosts(r);
    ap_rprintf(r,
               "# HELP sharedcache_decoded_kept_bytes bytes of decoded bodies "
               "the live children keep (SharedCacheKeepDecoded)\n"
               "# TYPE sharedcache_decoded_kept_bytes gauge\n"
               "sharedcache_decoded_kept_bytes %" APR_UINT64_T_FMT "\n"
               "# HELP sharedcache_invalidations_waiting invalidations kept "
               "to be tried again\n"
               "# TYPE sharedcache_invalidations_waiting gauge\n"
               "sharedcache_invalidations_waiting %d\n"
               "# HELP sharedcache_leases_kept fill leases kept to be let go "
               "of\n"
               "# TYPE sharedcache_leases_kept gauge\n"
               "sharedcache_leases_kept %d\n",
               sc_status_decoded_kept_sum(&children), sc_pending_count(),
               sc_pending_lease_count());
    ap_rputs("# HELP sharedcache_memcached_up memcached server answering\n"
             "# TYPE sharedcache_memcached_up gauge\n",
             r);
    for (i = 0; i < servers->nelts; i++) {
        const sc_server_stats_t *s = &APR_ARRAY_IDX(servers, i,
                                                    sc_server_stats_t);
        ap_rprintf(r, "sharedcache_memcached_up{server=\"%s\"} %d\n", s->name,
                   s->up);
    }
    ap_rprintf(r,
               "# HELP sharedcache_start_time_seconds when the counters "
               "started (graceful restarts keep them)\n"
               "# TYPE sharedcache_start_time_seconds gauge\n"
               "sharedcache_start_time_seconds %" APR_TIME_T_FMT "\n",
               apr_time_sec(sc_stat_started()));
    for (i = 0; i < (int)(sizeof(gauges) / sizeof(gauges[0])); i++) {
        int j;

        ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", gauges[i].metric,
                   gauges[i].help, gauges[i].metric,
                   gauges[i].counter ? "counter" : "gauge");
        for (j = 0; j < servers->nelts; j++) {
            const sc_server_stats_t *s = &APR_ARRAY_IDX(servers, j,
                                                        sc_server_stats_t);

            ap_rprintf(
                r, "%s{server=\"%s\"} %" APR_UINT64_T_FMT "\n",
                gauges[i].metric, s->name,
                *(const apr_uint64_t *)((const char *)s + gauges[i].offset));
        }
    }
    ap_rputs("# HELP sharedcache_memcached_down_children children that "
             "have the server marked down\n"
             "# TYPE sharedcache_memcached_down_children gauge\n",
             r);
    for (i = 0; i < servers->nelts; i++) {
        const sc_server_stats_t *s = &APR_ARRAY_IDX(servers, i,
                                                    sc_server_stats_t);
        apr_uint64_t since, retry;
        int n;

        ap_rprintf(r, "sharedcache_memcached_down_children{server=\"%s\"} %d\n",
                   s->name,
                   sc_status_children_down(s->name, &n, &since, &retry));
    }
}

/* One row per virtual host, one column per counter it has. */
static void html_vhosts(request_rec *r)
{
    int v, i;

    ap_rputs("<h2>virtual hosts</h2>\n<table>\n<tr><th>virtual host</th>", r);
    for (i = 0; i < SC_STAT_COUNT; i++) {
        if (sc_stat_info[i].per_vhost) {
            ap_rprintf(r, "<th>%s</th>", sc_stat_info[i].name);
        }
    }
    ap_rputs("</tr>\n", r);
    for (v = 0; v < sc_vhoststat_count(); v++) {
        ap_rprintf(r, "<tr><td>%s</td>",
                   ap_escape_html(r->pool, sc_vhoststat_label(v)));
        for (i = 0; i < SC_STAT_COUNT; i++) {
            if (sc_stat_info[i].per_vhost) {
                ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td>",
                           sc_vhoststat_get(v, i));
            }
        }
        ap_rputs("</tr>\n", r);
    }
    ap_rputs("</table>\n", r);
}

static void html(request_rec *r, apr_array_header_t *servers)
{
    apr_uint64_t looked = sc_stat_get(SC_STAT_HIT) + sc_stat_get(SC_STAT_MISS)
                          + sc_stat_get(SC_STAT_STALE),
                 kept;
    int i, children;

    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rputs("<!DOCTYPE html>\n<html><head><title>mod_sharedcache status"
             "</title></head><body>\n<h1>mod_sharedcache</h1>\n"
             "<p>Counters of all processes since ",
             r);
    ap_rputs(ap_ht_time(r->pool, sc_stat_started(), "%Y-%m-%d %H:%M:%S %Z", 0),
             r);
    ap_rprintf(r,
               " (%" APR_TIME_T_FMT " s; graceful restarts keep them)."
               "</p>\n<table>\n",
               since_s((apr_uint64_t)sc_stat_started()));
    for (i = 0; i < SC_STAT_COUNT; i++) {
        ap_rprintf(r, "<tr><th>%s</th><td>%" APR_UINT64_T_FMT "</td></tr>\n",
                   sc_stat_info[i].name, sc_stat_get(i));
    }
    ap_rprintf(r, "<tr><th>hit ratio</th><td>%.1f%%</td></tr>\n",
               looked ? 100.0
                            * (double)(sc_stat_get(SC_STAT_HIT)
                                       + sc_stat_get(SC_STAT_STALE))
                            / (double)looked
                      : 0.0);
    kept = sc_status_decoded_kept_sum(&children);
    ap_rprintf(r,
               "<tr><th>decoded bodies kept</th><td>%" APR_UINT64_T_FMT
               " bytes in %d children</td></tr>\n"
               "<tr><th>invalidations waiting</th><td>%d</td></tr>\n"
               "<tr><th>fill leases kept</th><td>%d</td></tr>\n</table>\n",
               kept, children, sc_pending_count(), sc_pending_lease_count());
    html_vhosts(r);
    ap_rputs("<h2>memcached</h2>\n<table>\n<tr><th>server</th><th>state"
             "</th><th>children</th><th>items</th><th>bytes</th>"
             "<th>evictions</th></tr>\n",
             r);
    for (i = 0; i < servers->nelts; i++) {
        const sc_server_stats_t *s = &APR_ARRAY_IDX(servers, i,
                                                    sc_server_stats_t);
        ap_rprintf(r,
                   "<tr><td>%s</td><td>%s</td><td>%s</td><td>%" APR_UINT64_T_FMT
                   "</td><td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                   "</td></tr>\n",
                   ap_escape_html(r->pool, s->name), state(r, s),
                   children_state(r, s->name), s->curr_items, s->bytes,
                   s->evictions);
    }
    ap_rputs("</table>\n</body></html>\n", r);
}

/* ?servers: the children's view of each server this child's virtual
 * host talks to, one line each, without asking memcached anything (what
 * sharedcachectl stats --status prints). */
static void children_text(request_rec *r)
{
    sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                               &sharedcache_module);
    const sc_backend_t *b = s->backend;
    int i;

    ap_set_content_type(r, "text/plain; charset=utf-8");
    for (i = 0; b && b->names && i < b->servers->nelts; i++) {
        apr_uint64_t since, retry;
        int n, down = sc_status_children_down(b->names[i], &n, &since, &retry);

        ap_rprintf(r,
                   "%s children=%d marked_down=%d down_for_s=%" APR_TIME_T_FMT
                   " retry_in_s=%" APR_TIME_T_FMT "\n",
                   b->names[i], n, down, down ? since_s(since) : 0,
                   down ? until_s(retry) : 0);
    }
}

int sc_status_handler(request_rec *r)
{
    apr_array_header_t *servers;

    if (!r->handler || strcmp(r->handler, SC_STATUS_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    if (r->args && !strcmp(r->args, "servers")) {
        children_text(r);
        return OK;
    }
    if (r->args && !strcmp(r->args, "local")) {
        /* the local tier's store */
        ap_set_content_type(r, "text/plain; charset=utf-8");
        sc_local_status(r);
        return OK;
    }
    servers = server_states(r);
    if (r->args && !strcmp(r->args, "json")) {
        json(r, servers);
    }
    else if (r->args && !strcmp(r->args, "prometheus")) {
        prometheus(r, servers);
    }
    else {
        html(r, servers);
    }
    return OK;
}
