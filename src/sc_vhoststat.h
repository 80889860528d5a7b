/*
 * sc_vhoststat: the status counters of each virtual host, in one shared
 * memory segment sized in post_config from the number of virtual hosts.
 * A virtual host is its "name:port" (virtual hosts with the same one
 * share a slot); a graceful restart keeps the segment while it has room,
 * and each virtual host finds its counts again by that label.
 */
#ifndef SC_VHOSTSTAT_H
#define SC_VHOSTSTAT_H

#include "httpd.h"
#include <apr_pools.h>

/* post_config: a slot for each virtual host's label, recorded in its
 * server config (sc_server_conf_t.stat_slot).  Fails (APR_ENOMEM) when
 * the shared memory cannot be had: then nothing is counted per host. */
apr_status_t sc_vhoststat_init(apr_pool_t *pproc, apr_pool_t *pconf,
                               server_rec *s, int nstats);

/* Count n for the virtual host of s (counter number which). */
void sc_vhoststat_add(const server_rec *s, int which, apr_uint64_t n);

/* The virtual hosts of the configuration, each label once, in the order
 * of the configuration: how many, and the label and counters of each. */
int sc_vhoststat_count(void);
const char *sc_vhoststat_label(int i);
apr_uint64_t sc_vhoststat_get(int i, int which);

#endif
