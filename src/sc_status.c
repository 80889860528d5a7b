/*
 * sc_status.c: shared counters and the status page (see sc_status.h).
 */
#include "sc_status.h"
#include "sc_config.h"
#include "sc_log.h"
#include "sc_store.h"
#include "sc_vhoststat.h"

#include "http_log.h"
#include "http_protocol.h"
#include <apr_atomic.h>
#include <apr_strings.h>
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

APLOG_USE_MODULE(sharedcache);

/* The children's view of the memcached servers: one slot per child
 * process (claimed at child_init, given back at its exit or taken over
 * from a dead one), one entry per server name, written only on a mark
 * down or up (sc_store's state hook), read by the status page of any
 * child. */
#define SC_VIEW_CHILDREN 256
#define SC_VIEW_SERVERS 16
#define SC_VIEW_NAME 64

typedef struct {
    char name[SC_VIEW_NAME];
    volatile apr_uint64_t down_since; /* us, 0 when up */
    volatile apr_uint64_t retry_at;   /* us */
} sc_view_server_t;

typedef struct {
    volatile apr_uint32_t pid; /* 0: free */
    apr_uint32_t nservers;
    sc_view_server_t s[SC_VIEW_SERVERS];
} sc_view_child_t;

typedef struct {
    apr_time_t started; /* when the counters started (the first start) */
    volatile apr_uint64_t n[SC_STAT_COUNT];
    sc_view_child_t child[SC_VIEW_CHILDREN];
} sc_counters_t;

static sc_counters_t *counters;
static sc_view_child_t *mine; /* this child's slot, or NULL */

/* Counted per virtual host too (sc_stat_add_r) */
#define SC_PER_VHOST 1

static const struct {
    const char *name;   /* JSON and HTML */
    const char *metric; /* Prometheus */
    const char *label;  /* status="..." for decisions, else NULL */
    const char *help;
    int per_vhost; /* SC_PER_VHOST: its call sites have the request */
} stat_info[SC_STAT_COUNT] = {
    { "hits", "sharedcache_responses_total", "HIT",
      "responses by cache decision", SC_PER_VHOST },
    { "misses", "sharedcache_responses_total", "MISS", NULL, SC_PER_VHOST },
    { "stale", "sharedcache_responses_total", "STALE", NULL, SC_PER_VHOST },
    { "bypass", "sharedcache_responses_total", "BYPASS", NULL, SC_PER_VHOST },
    { "uncacheable", "sharedcache_responses_total", "UNCACHEABLE", NULL,
      SC_PER_VHOST },
    { "errors", "sharedcache_responses_total", "ERROR", NULL, SC_PER_VHOST },
    { "stores", "sharedcache_stores_total", NULL, "entries stored in memcached",
      SC_PER_VHOST },
    { "stored_bytes", "sharedcache_stored_bytes_total", NULL,
      "body bytes stored", SC_PER_VHOST },
    { "served_bytes", "sharedcache_served_bytes_total", NULL,
      "body bytes served from the cache", SC_PER_VHOST },
    { "lock_waits", "sharedcache_lock_waits_total", NULL,
      "requests that waited for another's render", SC_PER_VHOST },
    { "invalidations", "sharedcache_invalidations_total", NULL,
      "counters incremented (tags, URLs, namespaces)", SC_PER_VHOST },
    { "no_handle", "sharedcache_handle_pool_exhausted_total", NULL,
      "memcached accesses that found no free handle (served uncached)", 0 },
    { "invalidations_failed", "sharedcache_invalidations_failed_total", NULL,
      "invalidations that failed and were kept to be tried again",
      SC_PER_VHOST },
    { "memcached_calls", "sharedcache_memcached_calls_total", NULL,
      "memcached round trips (get, multi-get, set, add, incr, delete)", 0 },
};

apr_status_t sc_status_init(apr_pool_t *pproc)
{
    void *mem;

    /* Counted from the first start: a graceful restart (Debian's
     * logrotate does one a day) keeps the counters.  httpd unloads and
     * reloads the module at a restart: the address is kept with the
     * process pool, which lives on. */
    apr_pool_userdata_get((void **)&counters, "sharedcache-status", pproc);
    if (counters) {
        return APR_SUCCESS;
    }
    /* Shared anonymous memory that nothing unmaps: a child that exits
     * tears its pools down while threads may still count. */
    mem = mmap(NULL, sizeof(sc_counters_t), PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        counters = NULL;
        return APR_ENOMEM;
    }
    counters = mem;
    memset((void *)counters, 0, sizeof(*counters));
    counters->started = apr_time_now();
    apr_pool_userdata_set(counters, "sharedcache-status", NULL, pproc);
    return APR_SUCCESS;
}

void sc_stat_add(sc_stat_t which, apr_uint64_t n)
{
    if (counters) {
        apr_atomic_add64(&counters->n[which], n);
    }
}

apr_status_t sc_status_vhosts_init(apr_pool_t *pproc, apr_pool_t *pconf,
                                   server_rec *s)
{
    return sc_vhoststat_init(pproc, pconf, s, SC_STAT_COUNT);
}

void sc_stat_add_r(const request_rec *r, sc_stat_t which, apr_uint64_t n)
{
    sc_stat_add(which, n);
    if (stat_info[which].per_vhost) {
        sc_vhoststat_add(r->server, (int)which, n);
    }
}

/* Is the process of a slot gone (a crashed child never gave it back)? */
static int gone(apr_uint32_t pid)
{
    return pid && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static apr_status_t give_slot_back(void *data)
{
    sc_view_child_t *v = data;

    apr_atomic_set32(&v->pid, 0);
    mine = NULL;
    return APR_SUCCESS;
}

void sc_status_child_init(apr_pool_t *pchild, const char *const *names, int n)
{
    apr_uint32_t me = (apr_uint32_t)getpid();
    int i, j;

    for (i = 0; counters && i < SC_VIEW_CHILDREN && !mine; i++) {
        sc_view_child_t *v = &counters->child[i];
        apr_uint32_t pid = apr_atomic_read32(&v->pid);

        if ((pid == 0 || gone(pid))
            && apr_atomic_cas32(&v->pid, me, pid) == pid) {
            mine = v;
        }
    }
    if (!mine) {
        return; /* more children than slots: not shown */
    }
    mine->nservers = 0;
    for (j = 0; j < n && j < SC_VIEW_SERVERS; j++) {
        sc_view_server_t *e = &mine->s[j];

        apr_cpystrn(e->name, names[j], sizeof(e->name));
        e->down_since = 0;
        e->retry_at = 0;
    }
    mine->nservers = (apr_uint32_t)j;
    apr_pool_cleanup_register(pchild, mine, give_slot_back,
                              apr_pool_cleanup_null);
}

void sc_status_server_state(const char *server, apr_uint64_t down_since,
                            apr_uint64_t retry_at)
{
    sc_view_child_t *v = mine;
    apr_uint32_t i;

    for (i = 0; v && i < v->nservers; i++) {
        if (!strncmp(v->s[i].name, server, sizeof(v->s[i].name))) {
            apr_atomic_set64(&v->s[i].retry_at, retry_at);
            apr_atomic_set64(&v->s[i].down_since, down_since);
            return;
        }
    }
}

/* How many live children have the server marked down, since when (the
 * earliest) and until when (the latest retry); *children: live slots. */
static int children_down(const char *server, int *children, apr_uint64_t *since,
                         apr_uint64_t *retry)
{
    int i, down = 0;
    apr_uint32_t j;

    *children = 0;
    *since = *retry = 0;
    for (i = 0; counters && i < SC_VIEW_CHILDREN; i++) {
        sc_view_child_t *v = &counters->child[i];
        apr_uint32_t pid = apr_atomic_read32(&v->pid);

        if (!pid || gone(pid)) {
            continue;
        }
        ++*children;
        for (j = 0; j < v->nservers && j < SC_VIEW_SERVERS; j++) {
            apr_uint64_t d = apr_atomic_read64(&v->s[j].down_since);

            if (d && !strncmp(v->s[j].name, server, sizeof(v->s[j].name))) {
                apr_uint64_t t = apr_atomic_read64(&v->s[j].retry_at);

                down++;
                *since = !*since || d < *since ? d : *since;
                *retry = t > *retry ? t : *retry;
            }
        }
    }
    return down;
}

void sc_stat_no_handle(void)
{
    sc_stat_add(SC_STAT_NO_HANDLE, 1);
}

void sc_stat_mc_call(void)
{
    sc_stat_add(SC_STAT_MC_CALLS, 1);
}

/* When the counters started (us; 0 without the segment), in seconds. */
static apr_time_t started(void)
{
    return counters ? counters->started : 0;
}

static apr_time_t started_s(void)
{
    return apr_time_sec(started());
}

static apr_uint64_t get(int i)
{
    return counters ? apr_atomic_read64(&counters->n[i]) : 0;
}

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
    int n, down = children_down(server, &n, &since, &retry);

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
            if (stat_info[i].per_vhost) {
                ap_rprintf(r, ", \"%s\": %" APR_UINT64_T_FMT, stat_info[i].name,
                           sc_vhoststat_get(v, i));
            }
        }
        ap_rputs("}", r);
    }
    ap_rputs("], ", r);
}

static void json(request_rec *r, apr_array_header_t *servers)
{
    int i;

    ap_set_content_type(r, "application/json");
    ap_rprintf(r,
               "{\"started\": %" APR_TIME_T_FMT
               ", \"uptime_s\": %" APR_TIME_T_FMT ", ",
               started_s(), since_s((apr_uint64_t)started()));
    for (i = 0; i < SC_STAT_COUNT; i++) {
        ap_rprintf(r, "\"%s\": %" APR_UINT64_T_FMT ", ", stat_info[i].name,
                   get(i));
    }
    json_vhosts(r);
    ap_rputs("\"servers\": [", r);
    for (i = 0; i < servers->nelts; i++) {
        const sc_server_stats_t *s = &APR_ARRAY_IDX(servers, i,
                                                    sc_server_stats_t);
        apr_uint64_t since, retry;
        int n, down = children_down(s->name, &n, &since, &retry);

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
        const char *metric = stat_info[i].metric + strlen("sharedcache_");

        if (!stat_info[i].per_vhost) {
            continue;
        }
        if (stat_info[i].help) {
            ap_rprintf(r,
                       "# HELP sharedcache_vhost_%s %s, by virtual host\n"
                       "# TYPE sharedcache_vhost_%s counter\n",
                       metric, stat_info[i].help, metric);
        }
        for (v = 0; v < sc_vhoststat_count(); v++) {
            ap_rprintf(
                r,
                "sharedcache_vhost_%s{vhost=\"%s\"%s%s%s} %" APR_UINT64_T_FMT
                "\n",
                metric, quoted(r, sc_vhoststat_label(v)),
                stat_info[i].label ? ",status=\"" : "",
                stat_info[i].label ? stat_info[i].label : "",
                stat_info[i].label ? "\"" : "", sc_vhoststat_get(v, i));
        }
    }
}

static void prometheus(request_rec *r, apr_array_header_t *servers)
{
    int i;

    ap_set_content_type(r, "text/plain; version=0.0.4");
    for (i = 0; i < SC_STAT_COUNT; i++) {
        if (stat_info[i].help) {
            ap_rprintf(r, "# HELP %s %s\n# TYPE %s counter\n",
                       stat_info[i].metric, stat_info[i].help,
                       stat_info[i].metric);
        }
        if (stat_info[i].label) {
            ap_rprintf(r, "%s{status=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       stat_info[i].metric, stat_info[i].label, get(i));
        }
        else {
            ap_rprintf(r, "%s %" APR_UINT64_T_FMT "\n", stat_info[i].metric,
                       get(i));
        }
    }
    prometheus_vhosts(r);
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
               started_s());
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
                   s->name, children_down(s->name, &n, &since, &retry));
    }
}

/* One row per virtual host, one column per counter it has. */
static void html_vhosts(request_rec *r)
{
    int v, i;

    ap_rputs("<h2>virtual hosts</h2>\n<table>\n<tr><th>virtual host</th>", r);
    for (i = 0; i < SC_STAT_COUNT; i++) {
        if (stat_info[i].per_vhost) {
            ap_rprintf(r, "<th>%s</th>", stat_info[i].name);
        }
    }
    ap_rputs("</tr>\n", r);
    for (v = 0; v < sc_vhoststat_count(); v++) {
        ap_rprintf(r, "<tr><td>%s</td>",
                   ap_escape_html(r->pool, sc_vhoststat_label(v)));
        for (i = 0; i < SC_STAT_COUNT; i++) {
            if (stat_info[i].per_vhost) {
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
    apr_uint64_t looked = get(SC_STAT_HIT) + get(SC_STAT_MISS)
                          + get(SC_STAT_STALE);
    int i;

    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rputs("<!DOCTYPE html>\n<html><head><title>mod_sharedcache status"
             "</title></head><body>\n<h1>mod_sharedcache</h1>\n"
             "<p>Counters of all processes since ",
             r);
    ap_rputs(ap_ht_time(r->pool, started(), "%Y-%m-%d %H:%M:%S %Z", 0), r);
    ap_rprintf(r,
               " (%" APR_TIME_T_FMT " s; graceful restarts keep them)."
               "</p>\n<table>\n",
               since_s((apr_uint64_t)started()));
    for (i = 0; i < SC_STAT_COUNT; i++) {
        ap_rprintf(r, "<tr><th>%s</th><td>%" APR_UINT64_T_FMT "</td></tr>\n",
                   stat_info[i].name, get(i));
    }
    ap_rprintf(r, "<tr><th>hit ratio</th><td>%.1f%%</td></tr>\n</table>\n",
               looked ? 100.0 * (double)(get(SC_STAT_HIT) + get(SC_STAT_STALE))
                            / (double)looked
                      : 0.0);
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
        int n, down = children_down(b->names[i], &n, &since, &retry);

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
