/*
 * main.c: sharedcachectl's entry point: --help, the global options
 * (--servers, --prefix, --timeout and their environment defaults) and
 * the dispatch to one command (purge.c, stats.c, inspect.c, migrate.c).  See
 * ctl.h for the layout of the tool.
 */
#include "ctl.h"

#include <apr_general.h>
#include <apr_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: the usage as it is printed */
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
    "              [--vary-cookie NAME]... [--vary-header NAME]...\n"
    "              [--vary-user USER] [-H 'Name: value']...\n"
    "                      show the entry stored for URL and whether it is\n"
    "                      valid; -H gives request headers (Cookie too) a\n"
    "                      response or the location varies on\n"
    "  stats [--status URL]  state of each memcached server; with the\n"
    "                      status page's URL, also as Apache's children\n"
    "                      see it (marked down in how many, until when)\n"
    "  migrate --from OLD  copy the old cluster's counters into --servers\n"
    "                      (before SharedCacheFallbackServers OLD)\n"
    "\n"
    "Options:\n"
    "  --servers LIST      memcached servers, as SharedCacheServers:\n"
    "                      \"host:port host2:port\" or /path/to.sock\n"
    "                      (default $SHAREDCACHE_SERVERS, else "
    "127.0.0.1:11211)\n"
    "  --prefix STRING     SharedCachePrefix (default $SHAREDCACHE_PREFIX,\n"
    "                      else sc)\n"
    "  --timeout MS        connect and I/O timeout, 1..60000 (default 1000)\n"
    "  -h, --help          show this help\n"
    "\n"
    "inspect options:\n"
    "  --vhost NAME:PORT   ServerName and port of the virtual host that "
    "serves\n"
    "                      URL (default: the URL's host and port; with\n"
    "                      UseCanonicalPhysicalPort On, the port clients\n"
    "                      connect to)\n"
    "  --vhost-addresses LIST  for a <VirtualHost>: its addresses as "
    "declared,\n"
    "                      \"*:80\" or \"192.0.2.1:80 [2001:db8::1]:80\"\n"
    "                      (IPs as httpd prints them, space separated)\n"
    "  --backend URL       for a page mod_proxy serves: the backend URL it is\n"
    "                      sent to (ProxyPass / http://b:8080/ makes /x\n"
    "                      http://b:8080/x)\n"
    "  --host-header VALUE the Host header clients send (default: the URL's\n"
    "                      host, with :port only if the URL names a port)\n"
    "  -H 'Name: value'    a request header (repeat a name for several "
    "values)\n"
    "  --vary-cookie NAME  the location has SharedCacheVaryByCookie NAME (in\n"
    "                      the same order); the value from -H 'Cookie: ...'\n"
    "  --vary-header NAME  the location has SharedCacheVaryByHeader NAME;\n"
    "                      the value from -H\n"
    "  --vary-user USER    the location has SharedCacheVaryByUser On; the\n"
    "                      user (\"\" for an anonymous request)\n"
    "                      (SharedCacheVary expressions: not computed)\n"
    "\n"
    "URLs are http:// or https://; host and port are those of the request\n"
    "(the port defaults to 80 or 443); purge takes the path percent-decoded\n"
    "and normalised, inspect exactly as written (as clients send it).\n"
    "\n"
    "Exit status: 0 done (inspect: cached and valid; invalidate and flush\n"
    "also when nothing depended on a tag or namespace: they say \"not\n"
    "found\"), 1 nothing was cached (purge) or not cached / invalid\n"
    "(inspect), 2 usage or bad input, 3 memcached error.\n";
/* clang-format on */

typedef int (*command_fn)(ctl_t *ctl, int argc, const char *const *argv);

static const struct {
    const char *name;
    command_fn fn;
} commands[] = { { "purge", ctl_purge }, { "invalidate", ctl_invalidate },
                 { "flush", ctl_flush }, { "inspect", ctl_inspect },
                 { "stats", ctl_stats }, { "migrate", ctl_migrate },
                 { NULL, NULL } };

/* Global options before the command; returns the index of the command
 * or -1 after an error (already reported). */
static int global_options(ctl_t *ctl, int argc, const char *const *argv)
{
    const char *timeout = NULL, *val = NULL;
    int i, r;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if ((r = ctl_option(argc, argv, &i, "--servers", &val)) > 0) {
            ctl->servers = val;
        }
        else if (r == 0
                 && (r = ctl_option(argc, argv, &i, "--prefix", &val)) > 0) {
            ctl->prefix = val;
        }
        else if (r == 0
                 && (r = ctl_option(argc, argv, &i, "--timeout", &val)) > 0) {
            timeout = val;
        }
        else if (r < 0) {
            ctl_usage("%s needs a value", argv[i]);
            return -1;
        }
        else {
            ctl_usage("unknown option '%s'", argv[i]);
            return -1;
        }
    }
    if (timeout) {
        char *end;
        long v = strtol(timeout, &end, 10);

        if (!apr_isdigit(*timeout) || *end || v < 1 || v > 60000) {
            ctl_usage("--timeout '%s': milliseconds, 1 to 60000", timeout);
            return -1;
        }
        ctl->timeout_ms = (int)v;
    }
    if (!sc_key_prefix_ok(ctl->prefix)) {
        ctl_complain(EXIT_USAGE,
                     "prefix '%s': 1 to %d printable ASCII "
                     "characters without spaces",
                     ctl->prefix, SC_PREFIX_MAX);
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
        return ctl_usage("no command given");
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
    return ctl_usage("unknown command '%s'", argv[cmd]);
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
