/*
 * sc_status_int.h: what the counters (sc_status.c) give the status page
 * (sc_status_page.c).
 */
#ifndef SC_STATUS_INT_H
#define SC_STATUS_INT_H

#include "sc_status.h"

/* Counted per virtual host too (sc_stat_add_r) */
#define SC_PER_VHOST 1

typedef struct {
    const char *name;   /* JSON and HTML */
    const char *metric; /* Prometheus */
    const char *label;  /* status="..." for decisions, else NULL */
    const char *help;
    int per_vhost; /* SC_PER_VHOST: its call sites have the request */
} sc_stat_info_t;

/* Each counter's names and help, in sc_stat_t order. */
extern const sc_stat_info_t sc_stat_info[SC_STAT_COUNT];

/* A counter's value (0 without the shared segment). */
apr_uint64_t sc_stat_get(int i);
/* When the counters started (us; 0 without the segment). */
apr_time_t sc_stat_started(void);
/* How many live children have the server marked down, since when (the
 * earliest) and until when (the latest retry); *children: live slots. */
int sc_status_children_down(const char *server, int *children,
                            apr_uint64_t *since, apr_uint64_t *retry);

#endif
