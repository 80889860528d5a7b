/*
 * sc_entry: the versioned binary record stored in memcached.
 *
 * Pure code (APR only).  Never a raw C struct: every field is written
 * big-endian with explicit lengths, and sc_entry_decode() checks every
 * length against the buffer, so a truncated, foreign or hostile record is
 * reported as SC_EBADREC (a miss), never a crash.
 *
 * Layout (format 2):
 *   magic "SCE" version(1)  type(1) local(1) status(2)
 *   stored_at(8) fresh_until(8) stale_until(8) error_until(8)
 *                                                 [unix seconds, signed]
 *   flags(4)
 *   key_len(4) key
 *   nheaders(2) { name_len(2) name value_len(4) value }
 *   ndeps(2)    { name_len(2) name generation(8) }
 *   [format 3 only: ncodings(1) { coding(1) offset(8) length(8) }
 *                   identity_len(8)]
 *   body_kind(1)
 *     SC_BODY_INLINE:  body_len(8) body            (ends the record)
 *     SC_BODY_CHUNKED: body_len(8) chunk_size(4) nchunks(4) version(8)
 *
 * local is the entry's SharedCacheLocalTTL in seconds (0: a host's local
 * tier never keeps it; hosts of versions before the local tier wrote 0
 * and ignore it).
 *
 * stale_until ends the grace period (served STALE while one request
 * refreshes), error_until the stale-on-error window.
 *
 * A chunk is "SCC" version(1) entry-version(8) index(4) data.
 *
 * Format 3 is format 2 with codings: the body (inline or chunked) is the
 * stored codings' bytes one after the other (sc_codec.h), gzip first and
 * always, br after it if any, filling the body exactly; identity_len is
 * the length of the body they decode to.
 * A record without codings is written as format 2, which hosts of the
 * previous version still read.
 *
 * Format 4 is format 2 with deflate pieces (sc_codec.h: what a gzip client
 * of an ESI page gets) after the dependencies:
 *   npieces(2) { piece_len(4) piece }      1..SC_ENTRY_MAX_PIECES pieces,
 *                                          piece_len >= 1
 * one for a fragment a page takes directly (its body's), one per literal
 * run for an ESI page (its parsed form stays the one sc_esi.h writes, so
 * a host of an earlier version reads the record as a miss, never as a
 * page it cannot decode).  It has no codings and an inline body; a piece
 * is checked where it is used.
 */
#ifndef SC_ENTRY_H
#define SC_ENTRY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>

#include "sc_codec.h"

#define SC_EBADREC (APR_OS_START_USERERR + 1701)
/* A well-formed record of another canonical key (sc_entry_match). */
#define SC_EOTHERKEY (APR_OS_START_USERERR + 1704)

#define SC_ENTRY_FORMAT 2
#define SC_ENTRY_FORMAT_CODED 3
#define SC_ENTRY_FORMAT_PIECE 4
#define SC_CHUNK_FORMAT 1
#define SC_REC_ENTRY 1 /* a stored response */
#define SC_REC_VARY 2  /* reserved: which headers a URL varies on */

#define SC_BODY_INLINE 0
#define SC_BODY_CHUNKED 1

/* flags */
#define SC_EF_NO_STALE 0x01 /* must-revalidate, proxy-revalidate, s-maxage */
#define SC_EF_QUICK \
    0x02 /* stored where SharedCacheQuickHandler is On: \
            may be served before access control */

#define SC_EF_ESI \
    0x04 /* the body is an ESI page's parsed form (sc_esi.h), \
            assembled on every hit */
#define SC_EF_DIRECT \
    0x10 /* SC_EF_QUICK, and stored by an ESI include whose key as a \
            subrequest is its direct key: a page may take it without a \
            subrequest (sc_incdirect.c) */
#define SC_EF_RECODED \
    0x20 /* a filter after the cache changed the MISS's body (mod_deflate \
            coded it): its client has other bytes than a hit's */
#define SC_EF_OWN_FIELDS \
    0x40 /* the handler replaced the response fields set before it ran \
            (mod_proxy): a hit drops those of its own request too */
/* Bits 8 to 31: with SC_EF_QUICK, the tag of the configuration under
 * which the entry was found quick-servable (sc_rules_config_tag): under
 * another one (a reload that added an access rule, a Redirect) it is not. */
#define SC_EF_CONF_SHIFT 8
#define SC_EF_CONF(flags) ((apr_uint32_t)(flags) >> SC_EF_CONF_SHIFT)
#define SC_EF_ASSEMBLED \
    0x08 /* the body holds what subrequests (SSI includes) made: a 304 \
            to the page says nothing of them, never revalidated */

#define SC_CHUNK_HEAD_LEN 16
#define SC_ENTRY_MAX_HEADERS 1000
#define SC_ENTRY_MAX_DEPS 1000
#define SC_ENTRY_MAX_PIECES 1001 /* an ESI page's literal runs at most */
#define SC_ENTRY_MAX_BODY ((apr_uint64_t)1 << 40)
#define SC_CHUNK_MIN (64 * 1024) /* chunks are this large at least */
#define SC_ENTRY_MAX_CHUNKS 65536
#define SC_TIME_MAX ((apr_int64_t)1 << 40) /* unix seconds, 34,000 years */

typedef struct {
    const char *name;
    const char *value;
} sc_header_t;

/* A deflate piece of the body (format 4). */
typedef struct {
    const char *data;
    apr_size_t len;
} sc_entry_piece_t;

/* A generation the entry depends on: a tag, its URL, its namespace. */
typedef struct {
    const char *name;
    apr_uint64_t gen;
} sc_dep_t;

typedef struct {
    int type;
    int status;
    apr_int64_t stored_at;
    apr_int64_t fresh_until;
    apr_int64_t stale_until;
    apr_int64_t error_until;
    apr_uint32_t flags;
    unsigned local; /* SharedCacheLocalTTL where it was stored, seconds */
    const char *key;
    apr_size_t key_len;
    apr_array_header_t *headers; /* of sc_header_t */
    apr_array_header_t *deps;    /* of sc_dep_t */
    int body_kind;
    apr_uint64_t body_len;
    const char *body;        /* SC_BODY_INLINE: points into the buffer */
    apr_uint32_t chunk_size; /* SC_BODY_CHUNKED */
    apr_uint32_t nchunks;
    apr_uint64_t version;
    /* format 3: the codings the body holds (SC_CODING_BIT; 0: the body is
     * the response's as it is), each at body [coding_off, + coding_len) */
    unsigned codings;
    apr_uint64_t coding_off[SC_CODINGS];
    apr_uint64_t coding_len[SC_CODINGS];
    apr_uint64_t identity_len; /* the body decoded */
    /* format 4: of sc_entry_piece_t, pointing into the buffer; NULL:
     * none */
    apr_array_header_t *pieces;
} sc_entry_t;

/* One more deflate piece (data, len) in *pieces, an array of
 * sc_entry_piece_t made in p by the first one added. */
void sc_entry_piece_add(apr_pool_t *p, apr_array_header_t **pieces,
                        const char *data, apr_size_t len);

/* Encode everything but an inline body's bytes.  For SC_BODY_INLINE the
 * record is the returned head followed by body_len body bytes; for
 * SC_BODY_CHUNKED the head is the whole record.  Fails with SC_EBADREC
 * if a header name or value holds CR, LF or NUL. */
/* The value of the first field name (any case) of a list of sc_header_t
 * (hs may be NULL), or NULL. */
const char *sc_header_value(const apr_array_header_t *hs, const char *name);

apr_status_t sc_entry_encode_head(apr_pool_t *p, const sc_entry_t *e,
                                  char **out, apr_size_t *len);

/* Decode buf.  Names, values and the key are copied into p; an inline
 * body points into buf. */
apr_status_t sc_entry_decode(apr_pool_t *p, const char *buf, apr_size_t len,
                             sc_entry_t *e);

/*
 * Reading a record back: what a lookup (the module) and an inspection
 * (sharedcachectl) both decide about it.
 */

/* Decode the record fetched for canonical key (buf NULL: nothing was
 * stored) and check that it is that key's: APR_SUCCESS, APR_ENOENT when
 * buf is NULL, SC_EBADREC when it does not decode, SC_EOTHERKEY when it
 * holds another key.  The memcached key is only a digest: a hash
 * collision or a misdirected reply can never serve another page. */
apr_status_t sc_entry_match(apr_pool_t *p, const char *buf, apr_size_t len,
                            const char *key, apr_size_t key_len, sc_entry_t *e);

/* Is a Vary record (SC_REC_VARY) still followed at now?  Until its
 * stale_until (written as the time memcached keeps the variant: its
 * last stale window or keep), after which the URL is a miss. */
int sc_entry_vary_live(const sc_entry_t *e, apr_int64_t now);

/* The request header names a Vary record lists (of const char *, in the
 * record's order: the order of the variant key's "V" fields). */
apr_array_header_t *sc_entry_vary_names(apr_pool_t *p, const sc_entry_t *e);

/* One generation an entry recorded, against its counter now. */
typedef enum {
    SC_DEP_CURRENT, /* unchanged */
    SC_DEP_MOVED,   /* a URL or tag counter was incremented: a soft
                       invalidation (SharedCacheSoftInvalidate may
                       still serve the entry STALE) */
    SC_DEP_GONE     /* the counter is missing or not a number (purged
                       hard, evicted), or a namespace counter moved
                       (a flush): the entry is never served */
} sc_dep_state_t;

/* have: the counter exists and holds a number, gen its value. */
sc_dep_state_t sc_entry_dep_state(const sc_dep_t *d, int have,
                                  apr_uint64_t gen);

/* How a stored response (whose dependencies are none GONE) may be
 * served at now. */
typedef struct {
    int fresh;    /* a HIT: not expired and no generation moved */
    int grace_ok; /* else STALE while one request refreshes it */
    int error_ok; /* else STALE in place of a 5xx */
} sc_usable_t;

/* moved: some generation is SC_DEP_MOVED; soft_ok: the location has
 * SharedCacheSoftInvalidate On; quick: asked by the quick handler, which
 * never serves STALE.  Neither STALE window applies to a fresh entry, to
 * a quick lookup, to an entry stored with SC_EF_NO_STALE or to a moved
 * one without soft_ok. */
void sc_entry_usable(const sc_entry_t *e, apr_int64_t now, int moved,
                     int soft_ok, int quick, sc_usable_t *out);

/* Does the stored response carry a validator (ETag, Last-Modified)? */
int sc_entry_validated(const sc_entry_t *e);

/* The memcached keys of every chunk of a chunked entry, in order (an
 * array of e->nchunks keys, sc_chunk_key). */
const char **sc_entry_chunk_keys(apr_pool_t *p, const char *prefix,
                                 const sc_entry_t *e);

/* How many body bytes chunk index of a chunked entry holds: chunk_size,
 * the rest of the body for the last one (0 past the last). */
apr_size_t sc_entry_chunk_len(const sc_entry_t *e, apr_uint32_t index);

/* Check chunk index of a chunked entry as fetched (buf NULL: missing):
 * APR_SUCCESS with *data and *data_len the body bytes it holds inside
 * buf, APR_ENOENT when missing, SC_EBADREC when it is not that chunk of
 * that version with exactly sc_entry_chunk_len bytes. */
apr_status_t sc_entry_chunk(const sc_entry_t *e, apr_uint32_t index,
                            const char *buf, apr_size_t len, const char **data,
                            apr_size_t *data_len);

/* Write the head of chunk index of an entry version into out. */
void sc_chunk_head(char out[SC_CHUNK_HEAD_LEN], apr_uint64_t version,
                   apr_uint32_t index);

/* Check that buf is chunk index of version with the expected data length;
 * on success *data points at the data inside buf. */
apr_status_t sc_chunk_check(const char *buf, apr_size_t len,
                            apr_uint64_t version, apr_uint32_t index,
                            apr_size_t expect, const char **data);

/* Number of chunks for a body. */
apr_uint32_t sc_chunk_count(apr_uint64_t body_len, apr_uint32_t chunk_size);

#endif
