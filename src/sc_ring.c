/*
 * sc_ring.c: records in a ring with a set-associative index, lock-free
 * readers (see sc_ring.h).
 *
 * Segment layout: the header, then the index (nslots slots, WAYS per
 * bucket), then the ring.  A record is its id then its data, at a
 * logical position (a count of bytes since the segment was made; the
 * byte is at position % ring), never split by the ring's end (a writer
 * skips to the start instead).
 */
#include "sc_ring.h"

#include <string.h>

#define RING_MAGIC 0x31474e49524c4353ULL /* "SCLRING1" */
#define WAYS 4

typedef struct {
    apr_uint32_t seq; /* odd while a writer changes the slot */
    apr_uint32_t hash;
    apr_uint32_t idlen;
    apr_uint32_t len;  /* of the data */
    apr_uint64_t pos;  /* logical position of the record */
    apr_int64_t until; /* found until then */
} slot_t;

struct sc_ring_t {
    apr_uint64_t magic;
    apr_uint64_t size;
    apr_uint64_t ring;        /* bytes of the ring */
    apr_uint64_t nslots;      /* a power of two, at least WAYS */
    apr_uint64_t reserved;    /* logical end of what writers reserved */
    apr_uint64_t stores;      /* written by writers only */
    apr_uint64_t overwritten; /* counted by readers (atomically) */
};

#define ALIGN(n) (((n) + 63) & ~(apr_size_t)63)

static slot_t *slots_of(const sc_ring_t *r)
{
    return (slot_t *)((char *)r + ALIGN(sizeof(*r)));
}

static unsigned char *data_of(const sc_ring_t *r)
{
    return (unsigned char *)slots_of(r) + r->nslots * sizeof(slot_t);
}

apr_uint32_t sc_ring_hash(const void *id, apr_size_t len)
{
    /* Eight bytes a step (a lookup's id is four memcached keys, some 200
     * bytes, hashed on every hit of the tier: byte-wise FNV-1a was 4 % of
     * an ESI page's CPU), each mixed by a multiply and a shift, the end
     * by a 64-bit finaliser. */
    const unsigned char *p = id;
    apr_uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;

    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    w = 0;
    memcpy(&w, p, len);
    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (apr_uint32_t)h;
}

sc_ring_t *sc_ring_init(void *mem, apr_size_t size)
{
    sc_ring_t *r = mem;
    apr_uint64_t n = WAYS;

    if (size < SC_RING_MIN) {
        return NULL;
    }
    /* a slot per 2 KiB of segment: more records than that are small */
    while (n * 2 <= size / 2048 && n < ((apr_uint64_t)1 << 20)) {
        n *= 2;
    }
    memset(r, 0, sizeof(*r));
    r->size = size;
    r->nslots = n;
    r->ring = size - ALIGN(sizeof(*r)) - n * sizeof(slot_t);
    r->ring &= ~(apr_uint64_t)7;
    memset(slots_of(r), 0, n * sizeof(slot_t));
    r->magic = RING_MAGIC;
    return r;
}

apr_size_t sc_ring_max_record(const sc_ring_t *r)
{
    return (apr_size_t)(r->ring / 4);
}

/* The slot of a bucket a new record takes: the one of the same id (by
 * hash and length: a reader compares the id itself), else an empty,
 * expired or overwritten one, else the oldest. */
static slot_t *slot_for(sc_ring_t *r, apr_uint32_t hash, apr_uint32_t idlen,
                        apr_time_t now)
{
    slot_t *b = slots_of(r) + (hash & (r->nslots / WAYS - 1)) * WAYS;
    slot_t *pick = b;
    int i;

    for (i = 0; i < WAYS; i++) {
        if (b[i].hash == hash && b[i].idlen == idlen) {
            return &b[i];
        }
    }
    for (i = 0; i < WAYS; i++) {
        if (b[i].until <= now || b[i].pos + r->ring < r->reserved) {
            return &b[i];
        }
        if (b[i].pos < pick->pos) {
            pick = &b[i];
        }
    }
    return pick;
}

apr_status_t sc_ring_put(sc_ring_t *r, const void *id, apr_size_t idlen,
                         const void *data, apr_size_t len, apr_time_t until)
{
    apr_uint64_t total = (idlen + len + 7) & ~(apr_uint64_t)7;
    apr_uint64_t pos = r->reserved, off;
    apr_uint32_t hash = sc_ring_hash(id, idlen), odd;
    unsigned char *at;
    slot_t *s;

    if (idlen + len > sc_ring_max_record(r) || idlen > 0xffffffffU) {
        return APR_ENOSPC;
    }
    off = pos % r->ring;
    if (off + total > r->ring) {
        pos += r->ring - off; /* a record is never split */
    }
    /* Announce the bytes about to be overwritten before writing them. */
    __atomic_store_n(&r->reserved, pos + total, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    at = data_of(r) + pos % r->ring;
    memcpy(at, id, idlen);
    memcpy(at + idlen, data, len);

    s = slot_for(r, hash, (apr_uint32_t)idlen, apr_time_now());
    /* Odd while it changes (still odd if a writer died changing it). */
    odd = s->seq | 1;
    __atomic_store_n(&s->seq, odd, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    s->hash = hash;
    s->idlen = (apr_uint32_t)idlen;
    s->len = (apr_uint32_t)len;
    s->pos = pos;
    s->until = until;
    __atomic_store_n(&s->seq, odd + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&r->stores, r->stores + 1, __ATOMIC_RELAXED);
    return APR_SUCCESS;
}

/* A consistent copy of a slot, or 0 while a writer changes it. */
static int read_slot(const slot_t *s, slot_t *out)
{
    apr_uint32_t before = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

    if (before & 1) {
        return 0;
    }
    out->hash = __atomic_load_n(&s->hash, __ATOMIC_RELAXED);
    out->idlen = __atomic_load_n(&s->idlen, __ATOMIC_RELAXED);
    out->len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
    out->pos = __atomic_load_n(&s->pos, __ATOMIC_RELAXED);
    out->until = __atomic_load_n(&s->until, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(&s->seq, __ATOMIC_RELAXED) == before;
}

/* Has a writer reserved bytes over a record at pos? */
static int reached(sc_ring_t *r, apr_uint64_t pos)
{
    return __atomic_load_n(&r->reserved, __ATOMIC_ACQUIRE) > pos + r->ring;
}

apr_status_t sc_ring_get(sc_ring_t *r, const void *id, apr_size_t idlen,
                         apr_time_t now, void *buf, apr_size_t cap,
                         const char **data, apr_size_t *len)
{
    apr_uint32_t hash = sc_ring_hash(id, idlen);
    const slot_t *b = slots_of(r) + (hash & (r->nslots / WAYS - 1)) * WAYS;
    int i;

    for (i = 0; i < WAYS; i++) {
        slot_t s;

        if (!read_slot(&b[i], &s) || s.hash != hash || s.idlen != idlen
            || s.until <= now || (apr_uint64_t)idlen + s.len > cap) {
            continue;
        }
        if (reached(r, s.pos)) {
            __atomic_add_fetch(&r->overwritten, 1, __ATOMIC_RELAXED);
            continue;
        }
        memcpy(buf, data_of(r) + s.pos % r->ring, idlen + s.len);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (reached(r, s.pos) || memcmp(buf, id, idlen) != 0) {
            continue; /* overwritten while copied, or another id */
        }
        *data = (const char *)buf + idlen;
        *len = s.len;
        return APR_SUCCESS;
    }
    return APR_NOTFOUND;
}

void sc_ring_stats(const sc_ring_t *r, apr_time_t now, sc_ring_stats_t *st)
{
    apr_uint64_t reserved = __atomic_load_n(&r->reserved, __ATOMIC_ACQUIRE);
    const slot_t *s = slots_of(r);
    apr_uint64_t i;

    memset(st, 0, sizeof(*st));
    st->size = r->size;
    st->ring = r->ring;
    st->slots = r->nslots;
    st->stores = __atomic_load_n(&r->stores, __ATOMIC_RELAXED);
    st->overwritten = __atomic_load_n(&r->overwritten, __ATOMIC_RELAXED);
    for (i = 0; i < r->nslots; i++) {
        slot_t c;
        if (read_slot(&s[i], &c) && c.until > now && c.len + c.idlen > 0
            && c.pos + r->ring >= reserved) {
            st->entries++;
        }
    }
}
