/*
 * sc_store_int.h: what the two files of the memcached access share
 * (private to sc_store.c and sc_store_ops.c).
 */
#ifndef SC_STORE_INT_H
#define SC_STORE_INT_H

#include "sc_store.h"

/* How deep this thread is inside a libmemcached or handle pool call.  The
 * module never nests them; a cleanup that runs while it is not zero was
 * entered from a signal handler that interrupted the call (prefork's
 * SIGTERM handler destroys the child pool, THREATS 40): it must not touch
 * memcached, the handle or the pool, which are in the middle of that
 * call (the process is exiting; the lease expires by itself). */
extern __thread int sc_store_depth;

/* The server of c failed: skip it in this process for the retry
 * interval. */
void sc_store_mark_down(sc_conn_t *c);

#endif
