/*
 * sc_ring: the local tier's store (sc_local.h), in one shared-memory
 * segment: records written one after the other into a ring (the oldest
 * overwritten first), found through a small set-associative index.
 *
 * Pure code (APR only).  Writers must be serialized by the caller (a
 * global mutex: a write is rare, once per URL and SharedCacheLocalTTL);
 * readers take no lock at all.  A reader copies a record out and then
 * checks that no writer reached it meanwhile: every writer first
 * announces how far it will write (the ring's reserved end, a 64-bit
 * count of bytes ever reserved), and a record at logical position pos is
 * intact while that end is at most pos + ring size.  An index slot is
 * read under a sequence count (odd while a writer changes it).  The
 * record holds its id, which the reader compares with the one it asked
 * for: a hash collision or a slot reused meanwhile is a miss, never
 * another record.
 *
 * Memory is exactly the segment: nothing is allocated per record.
 */
#ifndef SC_RING_H
#define SC_RING_H

#include <apr_errno.h>
#include <apr_time.h>

typedef struct sc_ring_t sc_ring_t;

/* The smallest segment sc_ring_init takes. */
#define SC_RING_MIN (64 * 1024)

/* Lay a ring out in size bytes of (shared) memory at mem: NULL when
 * size is below SC_RING_MIN. */
sc_ring_t *sc_ring_init(void *mem, apr_size_t size);

/* The ring's hash of an id (32 bits, word by word): what places a
 * record, and what places a key among the local tier's change counters.
 * Every child of a server and its next generation must agree on it (a
 * graceful restart onto a build with another hash would let the old
 * children miss this host's invalidations for the tier's time, 1 s by
 * default). */
apr_uint32_t sc_ring_hash(const void *id, apr_size_t len);

/* The largest id + data a record may hold (a quarter of the ring). */
apr_size_t sc_ring_max_record(const sc_ring_t *ring);

/* Write a record (writers serialized by the caller), found until the
 * time until (apr_time_t).  APR_ENOSPC when it is too large. */
apr_status_t sc_ring_put(sc_ring_t *ring, const void *id, apr_size_t idlen,
                         const void *data, apr_size_t len, apr_time_t until);

/* Copy the record of id out into buf (cap bytes: room for the id and
 * the data) without a lock: APR_SUCCESS with *data and *len its data
 * inside buf, else APR_NOTFOUND (none, expired at now, too large for
 * buf, or overwritten while it was read). */
apr_status_t sc_ring_get(sc_ring_t *ring, const void *id, apr_size_t idlen,
                         apr_time_t now, void *buf, apr_size_t cap,
                         const char **data, apr_size_t *len);

typedef struct {
    apr_uint64_t size;        /* the segment, bytes */
    apr_uint64_t ring;        /* of which records, bytes */
    apr_uint64_t slots;       /* index slots */
    apr_uint64_t entries;     /* records findable now */
    apr_uint64_t stores;      /* records written */
    apr_uint64_t overwritten; /* lookups that found theirs overwritten */
} sc_ring_stats_t;

void sc_ring_stats(const sc_ring_t *ring, apr_time_t now, sc_ring_stats_t *st);

#endif
