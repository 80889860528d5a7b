/*
 * sc_unzipped: a child's recently decoded bodies.
 *
 * An entry stored gzip'd (sc_coding.c) is inflated for every hit of a
 * client that accepts no stored coding (curl, monitors, API clients,
 * caches that strip Accept-Encoding): for a hot page, the same input
 * decoded again and again to the same output.  This keeps the child's
 * last decoded bodies, each with the exact gzip bytes it came from; a hit
 * whose gzip member is byte for byte a kept one's (and decodes to as many
 * bytes) takes the kept output instead of inflating.  The output is a
 * pure function of those bytes: nothing to invalidate, never stale.
 *
 * SC_UNZIPPED_SLOTS slots per child, chosen by the member's CRC; bodies
 * of at most SC_UNZIPPED_MAX bytes (larger ones are decoded per hit), and
 * at most the child's budget (SharedCacheKeepDecoded) of bodies and their
 * gzip forms in all.  A newly decoded body takes the room of kept ones
 * not taken since they were kept (or since a newcomer last passed them
 * over: a second chance, as in a CLOCK page cache); one that would need
 * the room of a body taken since is decoded for its hit only, as is a
 * body above the budget alone.  Memory: that budget per child, plus what
 * hits still being written hold.
 *
 * A kept body is shared by reference, never copied: each hit gets a
 * bucket of its own read-only type (a filter that appends to a heap
 * bucket in place, apr_brigade_write, cannot write into it); the slot
 * holds one reference and each bucket one, the last frees it, from any
 * thread.  Pure code (APR and APR-util only).
 */
#ifndef SC_UNZIPPED_H
#define SC_UNZIPPED_H

#include <apr_buckets.h>

#define SC_UNZIPPED_SLOTS 16
#define SC_UNZIPPED_MAX (256 * 1024)

/* child_init (or a test): the slots' lock and the budget, in bytes, of
 * what is kept (what was kept before is let go).  With a budget of 0, or
 * without the lock (when it could not be made), every call decodes. */
apr_status_t sc_unzipped_init(apr_pool_t *p, apr_size_t budget);

/* Told what the slots hold, in bytes, each time it changes (under the
 * slots' lock: it must not block).  NULL: told nothing. */
void sc_unzipped_on_kept(void (*tell)(apr_size_t kept));

/* The most a budget can use: every slot holding a body of the largest
 * size kept and a gzip form as long (SharedCacheKeepDecoded's bound). */
#define SC_UNZIPPED_BUDGET_MAX \
    ((apr_size_t)SC_UNZIPPED_SLOTS * 2 * SC_UNZIPPED_MAX)

/* The identity body of the gzip member in[0, len), which must decode to
 * exactly expect bytes (sc_codec_gunzip's checks), as one bucket of
 * list: APR_SUCCESS with *b, *reused 1 when it was a kept body;
 * APR_EINVAL (or APR_ENOMEM) and no bucket otherwise. */
apr_status_t sc_unzipped_bucket(const char *in, apr_size_t len,
                                apr_size_t expect, apr_bucket_alloc_t *list,
                                apr_bucket **b, int *reused);

/* The bucket type (tests). */
extern const apr_bucket_type_t sc_unzipped_type;

#endif
