/*
 * sc_place: which memcached server holds a URL's keys (pure, APR only;
 * the module, sharedcachectl and the Python package compute the same,
 * checked against t/unit/place_vectors.txt).
 *
 * Everything that belongs to one URL (its entries and variants, Vary
 * record, chunks, fill lease and URL counter) lives on one server, chosen
 * by the URL's group: the memcached key of its URL counter.  A lookup then
 * talks to one server in one round trip, and losing one of N servers
 * loses the URLs placed on it, about 1/N, nothing more.  Counters that
 * many URLs share (namespace, tags) have a copy on every server, read
 * with the entry from the entry's own server.
 *
 * Placement is rendezvous (highest random weight) hashing: each server
 * scores SHA-1(name "\n" group), its first 8 bytes read big-endian; the
 * highest score wins, the lower index on a tie.  Names are the servers as
 * written in SharedCacheServers ("host:port", a default port written out,
 * or a socket path), so every host of a farm must list them alike (in any
 * order).  Adding a server moves only the groups it now wins; removing
 * one moves only its own.
 */
#ifndef SC_PLACE_H
#define SC_PLACE_H

#include <apr.h>

/* The index in names[0..n) of the server that holds group's keys (0 when
 * n is 1). */
int sc_place(const char *const *names, int n, const char *group,
             apr_size_t len);

#endif
